//! Registry metadata for warden: where the registries are (read from npm's
//! and pip's own configuration), what they publish (typed, leniently parsed
//! models), and how to fetch it (bounded, retried, cached, offline-capable).

mod client;
mod env;
mod error;
pub mod http;
mod lenient;
pub mod npm;
pub mod npmrc;
pub mod pipconf;
pub mod pypi;
mod redact;

pub use client::{NpmClient, PypiClient};
pub use env::Environment;
pub use error::Error;
pub use http::{HttpClient, HttpOptions};
pub use npmrc::{Credentials, NpmConfig};
pub use pipconf::{IndexArgs, PipConfig};
pub use redact::{RedactedUrl, redact_secrets, redact_text};
