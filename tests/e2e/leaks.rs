//! Credentials typed on the command line never appear in what warden
//! prints or records.

use warden_testkit::{Output, Sandbox, TestRegistry};

use crate::warden;

fn everything(out: &Output, sandbox: &Sandbox) -> String {
    let log = std::fs::read_to_string(sandbox.project().join(".warden/decisions.jsonl"))
        .unwrap_or_default();
    format!("{}\n{}\n{log}", out.stdout, out.stderr)
}

#[test]
fn npm_credentials_on_the_command_line_are_never_shown_or_logged() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    std::fs::write(
        sandbox.project().join("package.json"),
        r#"{"name": "app", "version": "1.0.0", "private": true}"#,
    )
    .unwrap();
    let with_user = registry
        .npm_url()
        .replace("http://", "http://npm-user:npm-hunter2@");
    let nerf = registry.npm_url().replace("http:", "");
    for format in ["human", "json"] {
        let out = Output::of(warden(&sandbox).args([
            "--format",
            format,
            "--dry-run",
            "npm",
            "install",
            "benign-lib",
            &format!("--registry={with_user}"),
            &format!("--{nerf}:_authToken=npm-token-s3cret"),
        ]))
        .expect_code(0);
        let all = everything(&out, &sandbox);
        for secret in ["npm-hunter2", "npm-token-s3cret"] {
            assert!(!all.contains(secret), "{format}: {secret} leaked:\n{all}");
        }
        assert!(all.contains(":_authToken=****"), "{all}");
    }
}

#[test]
fn pip_credentials_on_the_command_line_are_never_shown_or_logged() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    let venv = sandbox.venv();
    let index = registry
        .simple_url()
        .replace("http://", "http://pip-user:pip-hunter2@");
    let path = std::env::var("PATH").unwrap_or_default();
    let out = Output::of(
        warden(&sandbox)
            .env("PATH", format!("{}:{path}", venv.join("bin").display()))
            .args([
                "--format",
                "json",
                "--dry-run",
                "pip",
                "install",
                "--index-url",
                &index,
                "benign-wheel",
            ]),
    )
    .expect_code(0);
    let all = everything(&out, &sandbox);
    assert!(!all.contains("pip-hunter2"), "leaked:\n{all}");
    assert!(all.contains("****"), "{all}");
}

#[test]
fn npm_says_why_it_could_not_plan() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    std::fs::write(
        sandbox.project().join("package.json"),
        r#"{"name": "app", "version": "1.0.0", "private": true}"#,
    )
    .unwrap();
    let out = Output::of(
        warden(&sandbox)
            .env("npm_config_registry", registry.npm_url())
            .args(["npm", "install", "no-such-package-anywhere"]),
    )
    .expect_code(69);
    assert!(out.stderr.contains("404"), "{}", out.stderr);
    assert!(
        out.stderr.contains("no-such-package-anywhere"),
        "{}",
        out.stderr
    );
}
