//! `warden inspect` for both ecosystems.

use serde_json::Value;
use warden_testkit::{Fault, Output, Sandbox, TestRegistry};

use crate::{json, warden};

fn version<'a>(report: &'a Value, v: &str) -> &'a Value {
    report["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["version"] == v)
        .unwrap_or_else(|| panic!("no version {v} in {report}"))
}

#[test]
fn npm_versions_publishers_trust_and_scripts() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    let out = Output::of(
        warden(&sandbox)
            .env("npm_config_registry", registry.npm_url())
            .args(["inspect", "npm:canary-postinstall", "--format", "json"]),
    )
    .expect_code(0);
    let report = json(&out);
    assert_eq!(report["package"], "npm:canary-postinstall");
    assert_eq!(report["registry"], registry.npm_url());
    let v = version(&report, "1.0.0");
    assert_eq!(v["install_scripts"]["postinstall"], "node postinstall.js");
    assert_eq!(v["publisher"]["name"], "mallory");
    assert_eq!(v["trust"], "none");
    assert!(v["published"].is_string());
    assert_eq!(v["dependencies"]["benign-lib"], "^1.0.0");

    let out = Output::of(
        warden(&sandbox)
            .env("npm_config_registry", registry.npm_url())
            .args(["inspect", "npm:benign-lib@1.0.0", "--format", "json"]),
    )
    .expect_code(0);
    let report = json(&out);
    assert_eq!(report["selected"], "1.0.0");
    assert_eq!(version(&report, "1.0.0")["trust"], "none");
    assert_eq!(version(&report, "1.1.0")["trust"], "attested");
    assert_eq!(
        version(&report, "1.1.0")["provenance"],
        "https://slsa.dev/provenance/v1"
    );
    assert!(
        version(&report, "1.1.0")["install_scripts"]
            .as_object()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn npm_scoped_registry_from_project_npmrc_and_human_output() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.project().join("package.json"), "{}").unwrap();
    // The default registry is unreachable: only the scope's registry is used.
    std::fs::write(
        sandbox.project().join(".npmrc"),
        format!(
            "registry=http://127.0.0.1:9/\n@corp:registry={}\n",
            registry.npm_url()
        ),
    )
    .unwrap();
    let out =
        Output::of(warden(&sandbox).args(["inspect", "npm:@corp/internal-lib"])).expect_code(0);
    assert!(out.stdout.contains("VERSION"), "{}", out.stdout);
    assert!(
        out.stdout.contains("trusted publishing: github"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("2.0.0"), "{}", out.stdout);
}

#[test]
fn pypi_upload_times_trusted_publisher_and_sdist_builds() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    let run = |spec: &str| {
        json(
            &Output::of(
                warden(&sandbox)
                    .env("PIP_INDEX_URL", registry.simple_url())
                    .args(["inspect", spec, "--format", "json"]),
            )
            .expect_code(0),
        )
    };
    let report = run("pypi:Benign_Wheel");
    assert_eq!(report["selected"], "1.1");
    assert_eq!(report["json_api"], true);
    let v11 = version(&report, "1.1");
    assert_eq!(v11["trust"], "attested");
    assert_eq!(
        v11["trusted_publishers"][0]["repository"],
        "example/benign-wheel"
    );
    assert_eq!(v11["trusted_publishers"][0]["workflow"], "release.yml");
    assert!(v11["published"].is_string());
    assert_eq!(v11["files"].as_array().unwrap().len(), 2);
    assert_eq!(version(&report, "1.0")["trust"], "none");
    assert_eq!(
        v11["install_time"]["runs_code"],
        Value::Null,
        "a wheel's .pth is unknown until read"
    );

    let report = run("pypi:canary-setup==0.1");
    assert_eq!(version(&report, "0.1")["install_time"]["runs_code"], true);
}

#[test]
fn mirror_leaving_facts_out_shows_unknown_never_clean() {
    let registry = TestRegistry::with_scenarios(&["mirror"]);
    let sandbox = Sandbox::new();
    let report = json(
        &Output::of(
            warden(&sandbox)
                .env("npm_config_registry", registry.npm_url())
                .args(["inspect", "npm:stripped-lib", "--format", "json"]),
        )
        .expect_code(0),
    );
    let v = version(&report, "1.0.0");
    assert_eq!(v["published"], Value::Null);
    assert_eq!(v["publisher"], Value::Null);
    assert_eq!(v["trust"], "unknown");
    assert_eq!(
        v["tarball"],
        format!(
            "{}stripped-lib/-/stripped-lib-1.0.0.tgz",
            registry.npm_url()
        ),
        "relative tarball links resolve against the document"
    );

    let report = json(
        &Output::of(
            warden(&sandbox)
                .env("PIP_INDEX_URL", registry.simple_url())
                .args(["inspect", "pypi:no-json-api", "--format", "json"]),
        )
        .expect_code(0),
    );
    assert_eq!(report["json_api"], false);
    assert_eq!(report["selected"], "2.1", "2.0 is yanked");
    assert_eq!(version(&report, "2.0")["yanked"], "broken metadata");
}

#[test]
fn second_run_revalidates_and_offline_uses_the_cache() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    let run = |extra: &[&str]| {
        Output::of(
            warden(&sandbox)
                .env("npm_config_registry", registry.npm_url())
                .args(["inspect", "npm:benign-lib"])
                .args(extra),
        )
    };
    let first = run(&[]).expect_code(0);
    let second = run(&[]).expect_code(0);
    assert_eq!(first.stdout, second.stdout);
    let document = |registry: &TestRegistry| -> Vec<u16> {
        registry
            .log()
            .iter()
            .filter(|l| l.path == "/npm/benign-lib")
            .map(|l| l.status)
            .collect()
    };
    assert_eq!(document(&registry), [200, 304]);

    let before = registry.log().len();
    let offline = run(&["--offline"]).expect_code(0);
    // Everything cached is shown as before; the advisory query, which
    // cannot be cached, is reported as unknown rather than skipped.
    assert!(
        offline.stdout.starts_with(first.stdout.trim_end()),
        "{}",
        offline.stdout
    );
    assert!(
        offline.stdout.contains("unknown known-malicious"),
        "{}",
        offline.stdout
    );
    assert_eq!(registry.log().len(), before, "offline sent nothing");

    let missing = Output::of(
        warden(&sandbox)
            .env("npm_config_registry", registry.npm_url())
            .args(["--offline", "inspect", "npm:canary-postinstall"]),
    )
    .expect_code(69);
    assert!(
        missing.stderr.contains("not in the cache"),
        "{}",
        missing.stderr
    );
    assert!(
        missing.stderr.contains("canary-postinstall"),
        "{}",
        missing.stderr
    );
}

#[test]
fn exit_codes_for_unreachable_missing_and_bad_input() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    // Nothing listens on the discard port.
    let down = Output::of(warden(&sandbox).args([
        "--timeout",
        "2",
        "inspect",
        "npm:benign-lib",
        "--registry",
        "http://127.0.0.1:9/",
    ]))
    .expect_code(69);
    assert!(down.stderr.contains("could not reach"), "{}", down.stderr);
    assert!(down.stderr.contains("hint:"), "{}", down.stderr);

    let missing = Output::of(
        warden(&sandbox)
            .env("npm_config_registry", registry.npm_url())
            .args(["inspect", "npm:no-such-package"]),
    )
    .expect_code(69);
    assert!(
        missing.stderr.contains("npm:no-such-package was not found"),
        "{}",
        missing.stderr
    );

    let no_version = Output::of(
        warden(&sandbox)
            .env("npm_config_registry", registry.npm_url())
            .args(["inspect", "npm:benign-lib@9.9.9"]),
    )
    .expect_code(69);
    assert!(
        no_version.stderr.contains("no version `9.9.9`"),
        "{}",
        no_version.stderr
    );

    Output::of(warden(&sandbox).args(["inspect", "left-pad"])).expect_code(64);
    Output::of(warden(&sandbox).args(["inspect"])).expect_code(64);
    Output::of(warden(&sandbox).args(["--help"])).expect_code(0);

    registry.fault("/npm/benign-lib", Fault::MalformedJson, None);
    let broken = Output::of(
        warden(&sandbox)
            .env("npm_config_registry", registry.npm_url())
            .args(["inspect", "npm:benign-lib", "--no-cache"]),
    )
    .expect_code(69);
    assert!(
        broken.stderr.contains("malformed package document"),
        "{}",
        broken.stderr
    );

    std::fs::write(sandbox.home().join(".npmrc"), "registry=not a url\n").unwrap();
    let bad = Output::of(warden(&sandbox).args(["inspect", "npm:benign-lib"])).expect_code(78);
    assert!(bad.stderr.contains("registry"), "{}", bad.stderr);
    assert!(bad.stderr.contains(".npmrc"), "{}", bad.stderr);
}

#[test]
fn credentials_never_appear_in_output_or_logs() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    let dart = registry.npm_url().trim_start_matches("http:").to_owned();
    std::fs::write(
        sandbox.home().join(".npmrc"),
        format!(
            "registry={}\n{dart}:_authToken=npm_SECRETTOKEN123\n",
            registry.npm_url()
        ),
    )
    .unwrap();
    let ok =
        Output::of(warden(&sandbox).args(["-vv", "inspect", "npm:benign-lib", "--format", "json"]))
            .expect_code(0);
    assert_eq!(
        registry.requests_to("/npm/benign-lib")[0]
            .authorization
            .as_deref(),
        Some("Bearer npm_SECRETTOKEN123"),
        "the token is sent to its registry"
    );
    registry.fault("/npm/benign-lib", Fault::Status(503), None);
    let failed =
        Output::of(warden(&sandbox).args(["-vv", "--no-cache", "inspect", "npm:benign-lib"]))
            .expect_code(69);
    for text in [&ok.stdout, &ok.stderr, &failed.stdout, &failed.stderr] {
        assert!(!text.contains("SECRETTOKEN"), "{text}");
    }
    assert!(
        failed.stderr.contains("GET"),
        "verbose logging was on: {}",
        failed.stderr
    );

    let with_password = registry
        .simple_url()
        .replace("http://", "http://ci:hunter22pass@");
    let out = Output::of(warden(&sandbox).env("PIP_INDEX_URL", &with_password).args([
        "-vv",
        "inspect",
        "pypi:benign-wheel",
        "--format",
        "json",
    ]))
    .expect_code(0);
    registry.fault("/simple/", Fault::Status(500), None);
    let failed = Output::of(warden(&sandbox).env("PIP_INDEX_URL", &with_password).args([
        "-vv",
        "--no-cache",
        "inspect",
        "pypi:benign-wheel",
    ]))
    .expect_code(69);
    for text in [&out.stdout, &out.stderr, &failed.stdout, &failed.stderr] {
        assert!(!text.contains("hunter22pass"), "{text}");
    }
    assert!(failed.stderr.contains("****"), "{}", failed.stderr);
}

#[test]
fn versions_are_listed_latest_first_and_limit_keeps_the_latest() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    let listed = |args: &[&str]| -> Vec<String> {
        let out = Output::of(
            warden(&sandbox)
                .env("npm_config_registry", registry.npm_url())
                .env("PIP_INDEX_URL", registry.simple_url())
                .arg("inspect")
                .args(args)
                .args(["--format", "json"]),
        )
        .expect_code(0);
        json(&out)["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["version"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(listed(&["npm:benign-lib"]), ["1.1.0", "1.0.0"]);
    assert_eq!(listed(&["npm:benign-lib", "--limit", "1"]), ["1.1.0"]);
    // The version asked about is shown even past the limit.
    assert_eq!(
        listed(&["npm:benign-lib@1.0.0", "--limit", "1"]),
        ["1.1.0", "1.0.0"]
    );
    assert_eq!(listed(&["pypi:benign-wheel", "--limit", "1"]), ["1.1"]);
}

#[test]
fn inspect_says_whether_the_registry_signature_verifies() {
    let registry = TestRegistry::with_scenarios(&["signatures"]);
    let sandbox = Sandbox::new();
    let inspect = |package: &str| {
        let out = Output::of(
            warden(&sandbox)
                .env("npm_config_registry", registry.npm_url())
                .args(["inspect", package]),
        )
        .expect_code(0);
        out.stdout
            .lines()
            .find(|l| l.trim_start().starts_with("signature"))
            .map(str::trim)
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        inspect("npm:signed-lib"),
        "signature    verified (SHA256:warden-testkit-2026)"
    );
    assert!(
        inspect("npm:swapped-lib").starts_with("signature    invalid:"),
        "{}",
        inspect("npm:swapped-lib")
    );
    assert!(inspect("npm:unsigned-release@1.0.1").contains("missing"));
    assert!(inspect("npm:mirrored-lib").contains("not verified"));
}

#[test]
fn inspect_says_whether_provenance_verifies_and_who_built_it() {
    let registry = TestRegistry::with_scenarios(&["provenance"]);
    let sandbox = Sandbox::new();
    let inspect = |target: &str| {
        json(
            &Output::of(
                warden(&sandbox)
                    .env("npm_config_registry", registry.npm_url())
                    .env("PIP_INDEX_URL", registry.simple_url())
                    .args(["inspect", target, "--format", "json"]),
            )
            .expect_code(0),
        )["provenance"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        inspect("npm:prov-lib"),
        "verified: built by https://github.com/example/prov-lib .github/workflows/release.yml at refs/tags/v1.1.0 (push)"
    );
    assert!(inspect("pypi:prov-wheel").starts_with(
        "verified: built by https://github.com/example/prov-wheel .github/workflows/release.yml"
    ));
    assert!(inspect("npm:prov-unknown-ca").starts_with("claimed, does not verify:"));
    assert!(inspect("pypi:prov-wheel-other-digest").starts_with("claimed, does not verify:"));
    assert_eq!(inspect("npm:prov-dropped"), "none");
    // Without the testkit's trusted root, Sigstore's own does not vouch for
    // the testkit's CA: never "verified".
    let out = Output::of(
        warden(&sandbox)
            .env("npm_config_registry", registry.npm_url())
            .env_remove("WARDEN_TRUST_ROOT")
            .args(["inspect", "npm:prov-lib", "--format", "json"]),
    )
    .expect_code(0);
    let line = json(&out)["provenance"].as_str().unwrap().to_owned();
    assert!(line.starts_with("claimed, does not verify:"), "{line}");
    // A trusted root that is not one is a configuration error.
    std::fs::write(sandbox.root().join("bad-root.json"), "{}").unwrap();
    Output::of(
        warden(&sandbox)
            .env("npm_config_registry", registry.npm_url())
            .args(["--trust-root", "bad-root.json", "inspect", "npm:prov-lib"])
            .current_dir(sandbox.root()),
    )
    .expect_code(78);
}
