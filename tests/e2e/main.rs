//! End-to-end tests: the built `warden` binary, run as a user would, against
//! the loopback registry.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod check;
mod faults;
mod history;
mod inspect;
mod leaks;
mod npm;
mod pip;
mod policy;
mod scan;

use std::process::Command;

use warden_testkit::Sandbox;

/// The built `warden`, in the sandbox's clean environment.
pub fn warden(sandbox: &Sandbox) -> Command {
    sandbox.command(env!("CARGO_BIN_EXE_warden"))
}

/// A private npm project in the sandbox, as `npm init` leaves one; its
/// `package.json`.
pub fn npm_project(sandbox: &Sandbox) -> Vec<u8> {
    let manifest = br#"{"name": "app", "version": "1.0.0", "private": true}"#.to_vec();
    std::fs::write(sandbox.project().join("package.json"), &manifest).unwrap();
    manifest
}

/// Parses stdout as JSON, showing both streams when it is not.
pub fn json(out: &warden_testkit::Output) -> serde_json::Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}\n--- stdout\n{}\n--- stderr\n{}",
            out.stdout, out.stderr
        )
    })
}
