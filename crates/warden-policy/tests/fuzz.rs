//! `warden.toml`, mutated: every mistake is an error with its place, never
//! a panic.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::path::Path;

use warden_policy::Policy;
use warden_testkit::fuzz;

#[test]
fn policy_files() {
    let policy = br#"[settings]
min-release-age = "48h"
on-error = "warn"
hide-env = ["A"]
keep-env = ["B"]
project-scripts = false

[findings]
publisher-new = "deny"

[[allow]]
package = "npm:@scope/*"
version = ">=1.0"
findings = ["publisher-new"]
publisher = "alice"
trusted-publisher = { repository = "o/r", workflow = "release.yml" }
scripts = true
reason = "reviewed"
expires = "2027-01-01"

[internal]
"pypi:corp-*" = "https://i.example.org/simple/"
"#;
    let codes = ["publisher-new", "install-script-added"];
    fuzz::run(
        &[policy, warden_policy::TEMPLATE.as_bytes()],
        fuzz::iterations(3000),
        |b| {
            let mut p = Policy::default();
            let _ = p.layer(
                Path::new("warden.toml"),
                &String::from_utf8_lossy(b),
                &codes,
            );
        },
    );
}
