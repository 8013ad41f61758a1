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
    crate::npm_project(&sandbox);
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
    crate::npm_project(&sandbox);
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

/// What an approved install script or build recorded of its environment.
fn seen_env(sandbox: &Sandbox, canary: &str) -> serde_json::Map<String, serde_json::Value> {
    let text = std::fs::read_to_string(sandbox.canary(&format!("{canary}.env")))
        .unwrap_or_else(|e| panic!("{canary} did not run: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn assert_no_secret(env: &serde_json::Map<String, serde_json::Value>, what: &str) {
    let all = serde_json::Value::Object(env.clone()).to_string();
    for secret in ["hunter2", "jwt-s3cret", "dsn-key"] {
        assert!(!all.contains(secret), "{what} saw {secret}: {all}");
    }
    assert!(env.contains_key("PATH"), "{what} got what builds need");
    assert!(!env.contains_key("CI_JOB_JWT") && !env.contains_key("SENTRY_DSN"));
}

#[test]
fn approved_scripts_and_builds_see_no_credentials() {
    let registry = TestRegistry::with_scenarios(&["realism", "npm-guard", "pypi-guard"]);
    let sandbox = Sandbox::new();
    crate::npm_project(&sandbox);
    // The probes collect the environment: allowed here, scripts and all.
    std::fs::write(
        sandbox.project().join("warden.toml"),
        "[[allow]]\npackage = \"npm:env-probe\"\nscripts = true\nreason = \"test probe\"\nexpires = \"2099-01-01\"\n\n[[allow]]\npackage = \"pypi:env-probe\"\nreason = \"test probe\"\nexpires = \"2099-01-01\"\n",
    )
    .unwrap();
    let with_user = |url: String| url.replace("http://", "http://ci-user:hunter2@");
    Output::of(
        warden(&sandbox)
            .env("npm_config_registry", with_user(registry.npm_url()))
            .env("CI_JOB_JWT", "jwt-s3cret")
            .env("SENTRY_DSN", "https://dsn-key@sentry.example.org/1")
            .args(["npm", "install", "env-probe"]),
    )
    .expect_code(0);
    let env = seen_env(&sandbox, "env-probe");
    assert_no_secret(&env, "the approved postinstall");
    assert!(
        env.get("npm_config_registry")
            .and_then(|v| v.as_str())
            .is_some_and(|r| r.contains("127.0.0.1")),
        "the registry, without its password: {env:?}"
    );

    let venv = sandbox.venv();
    let path = std::env::var("PATH").unwrap_or_default();
    Output::of(
        warden(&sandbox)
            .env("PATH", format!("{}:{path}", venv.join("bin").display()))
            .env("PIP_INDEX_URL", with_user(registry.simple_url()))
            .env("CI_JOB_JWT", "jwt-s3cret")
            .env("SENTRY_DSN", "https://dsn-key@sentry.example.org/1")
            .args(["-y", "pip", "install", "env-probe"]),
    )
    .expect_code(0);
    assert_no_secret(&seen_env(&sandbox, "env-probe-build"), "the approved build");
}
