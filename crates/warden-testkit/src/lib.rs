//! Test kit for warden: a loopback npm registry and Python index that the
//! real `npm` and `pip` accept, package archives built at test time from
//! scenario files under `testdata/`, fault injection per route, and a
//! sandbox for running the real tools in isolation.

pub mod build;
pub mod fuzz;
pub mod registry;
pub mod sandbox;
pub mod scenario;
pub mod server;
pub mod sigstore;

pub use registry::TestRegistry;
pub use sandbox::{Output, Sandbox};
pub use scenario::{Scenario, testdata_dir};
pub use server::Fault;
