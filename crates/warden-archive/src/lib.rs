//! Reading npm tarballs, sdists and wheels safely, and finding their
//! install surface: everything that runs at install time or at interpreter
//! start.

mod error;
pub mod integrity;
mod pack;
pub mod read;
mod runtime;
pub mod surface;

pub use error::{Error, ErrorKind};
pub use integrity::{Expected, sri_sha512, verify};
pub use pack::pack_tree;
pub use read::{Archive, Entry, Format, Limits, detect, read};
pub use surface::{ArtifactKind, Item, Runs, Surface, SurfaceText, surface};
