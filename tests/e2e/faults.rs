//! A check that could not be completed is `unknown`, never clean: a fault
//! on each endpoint warden asks ends in `unknown`, and `on-error` decides
//! (69 by default; with `on-error = "warn"` the run goes on and says so).

use warden_testkit::{Fault, Output, Sandbox, TestRegistry};

use crate::{json, warden};

/// The faults a registry or a proxy in front of it produces.
fn faults() -> [Fault; 4] {
    [
        Fault::Status(500),
        Fault::Reset,
        Fault::Status(404),
        Fault::MalformedJson,
    ]
}

fn npm_dry_run(registry: &TestRegistry, sandbox: &Sandbox, spec: &str) -> Output {
    crate::npm_project(sandbox);
    Output::of(
        warden(sandbox)
            .env("npm_config_registry", registry.npm_url())
            .args([
                "--no-cache",
                "--format",
                "json",
                "--dry-run",
                "npm",
                "install",
                spec,
            ]),
    )
}

fn pip_dry_run(registry: &TestRegistry, sandbox: &Sandbox, spec: &str) -> Output {
    let venv = sandbox.venv();
    let path = std::env::var("PATH").unwrap_or_default();
    Output::of(
        warden(sandbox)
            .env("PATH", format!("{}:{path}", venv.join("bin").display()))
            .env("VIRTUAL_ENV", &venv)
            .env("PIP_INDEX_URL", registry.simple_url())
            .args([
                "--no-cache",
                "--format",
                "json",
                "--dry-run",
                "pip",
                "install",
                spec,
            ]),
    )
}

/// The package's entry in a JSON report.
fn package<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["package"] == name)
        .unwrap_or_else(|| panic!("{name} is not in {report}"))
}

/// With the fault, `name` is unknown for a reason that names `what`, the
/// run stops with 69, and the log says why.
fn assert_unknown(out: &Output, name: &str, what: &str, context: &str) {
    let out = Output {
        code: out.code,
        stdout: out.stdout.clone(),
        stderr: out.stderr.clone(),
    };
    let out = out.expect_code(69);
    let report = json(&out);
    crate::check::assert_valid(&crate::check::report_schema(), &report, context);
    let p = package(&report, name);
    assert_eq!(p["verdict"], "unknown", "{context}: {report}");
    let reasons = p["unknown"].to_string();
    assert!(reasons.contains(what), "{context}: {reasons}");
    assert_eq!(report["outcome"], "incomplete", "{context}");
}

/// Each fault in turn on `path`: `run` ends with `name` unknown for a
/// reason naming `what`; `after` checks more of each run.
fn each_fault(
    registry: &TestRegistry,
    path: &str,
    run: impl Fn() -> Output,
    (name, what): (&str, &str),
    after: impl Fn(),
) {
    for fault in faults() {
        registry.fault(path, fault.clone(), None);
        assert_unknown(&run(), name, what, &format!("{path} {fault:?}"));
        after();
        registry.clear_faults();
    }
}

/// The last decision-log line, which says why the package was unknown.
fn last_logged(sandbox: &Sandbox) -> String {
    std::fs::read_to_string(sandbox.project().join(".warden/decisions.jsonl"))
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_owned()
}

#[test]
fn advisory_faults_make_a_known_malicious_version_unknown_never_allowed() {
    let registry = TestRegistry::with_scenarios(&["history"]);
    let sandbox = Sandbox::new();
    let out = npm_dry_run(&registry, &sandbox, "hist-malware@1.0.1").expect_code(77);
    assert!(out.stdout.contains("known-malicious"), "{}", out.stdout);
    each_fault(
        &registry,
        "/npm/-/npm/v1/security/advisories",
        || npm_dry_run(&registry, &sandbox, "hist-malware@1.0.1"),
        ("npm:hist-malware", "known-malicious"),
        || {
            let line = last_logged(&sandbox);
            assert!(
                line.contains("\"verdict\":\"unknown\"")
                    && line.contains("known-malicious: ")
                    && line.contains("\"outcome\":\"incomplete\""),
                "{line}"
            );
        },
    );
    // `on-error = "warn"`: the run goes on, and still says unknown.
    std::fs::write(
        sandbox.project().join("warden.toml"),
        "[settings]\non-error = \"warn\"\n",
    )
    .unwrap();
    registry.fault(
        "/npm/-/npm/v1/security/advisories",
        Fault::Status(500),
        None,
    );
    let out = npm_dry_run(&registry, &sandbox, "hist-malware@1.0.1").expect_code(0);
    let report = json(&out);
    assert_eq!(package(&report, "npm:hist-malware")["verdict"], "unknown");
    assert_eq!(report["summary"]["unknown"], 1);
}

#[test]
fn attestation_faults_leave_the_source_unknown() {
    let registry = TestRegistry::with_scenarios(&["history"]);
    let sandbox = Sandbox::new();
    let out = npm_dry_run(&registry, &sandbox, "hist-backport@1.0.1").expect_code(0);
    assert_eq!(
        package(&json(&out), "npm:hist-backport")["verdict"],
        "allow",
        "{}",
        out.stdout
    );
    each_fault(
        &registry,
        "/npm/-/npm/v1/attestations/",
        || npm_dry_run(&registry, &sandbox, "hist-backport@1.0.1"),
        ("npm:hist-backport", "attestation"),
        || {},
    );
}

#[test]
fn packument_and_tarball_faults_under_npm_ci_are_unknown() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    npm_dry_run(&registry, &sandbox, "benign-lib").expect_code(0);
    // Plan with npm, keep the lockfile, then check it under faults.
    Output::of(
        warden(&sandbox)
            .env("npm_config_registry", registry.npm_url())
            .args(["-y", "npm", "install", "benign-lib"]),
    )
    .expect_code(0);
    for (path, fault) in [
        ("/npm/benign-lib", Fault::Status(503)),
        ("/npm/benign-lib", Fault::MalformedJson),
        ("/npm/benign-lib/-/", Fault::Reset),
        ("/npm/benign-lib/-/", Fault::Corrupt),
    ] {
        registry.fault(path, fault.clone(), None);
        let out = Output::of(
            warden(&sandbox)
                .env("npm_config_registry", registry.npm_url())
                .args(["--no-cache", "--format", "json", "--dry-run", "npm", "ci"]),
        );
        assert_unknown(
            &out,
            "npm:benign-lib",
            "benign-lib",
            &format!("{path} {fault:?}"),
        );
        registry.clear_faults();
    }
}

#[test]
fn json_api_provenance_and_page_faults_under_pip_are_unknown() {
    let registry = TestRegistry::with_scenarios(&["history"]);
    let sandbox = Sandbox::new();
    // PyPI's JSON API carries the advisory data.
    let out = pip_dry_run(&registry, &sandbox, "hist-py-flags==1.2").expect_code(77);
    assert!(out.stdout.contains("known-malicious"), "{}", out.stdout);
    each_fault(
        &registry,
        "/pypi/hist-py-flags/1.2/json",
        || pip_dry_run(&registry, &sandbox, "hist-py-flags==1.2"),
        ("pypi:hist-py-flags", "known-malicious"),
        || {},
    );
    // PEP 740 provenance the page lists.
    pip_dry_run(&registry, &sandbox, "hist-py-prov-dropped==1.0").expect_code(0);
    each_fault(
        &registry,
        "/integrity/",
        || pip_dry_run(&registry, &sandbox, "hist-py-prov-dropped==1.0"),
        ("pypi:hist-py-prov-dropped", "provenance"),
        || {},
    );
    // The project page, failing for warden's four tries (its look-ahead
    // reads it first), then served to pip.
    registry.fault("/simple/hist-py-prov-dropped/", Fault::Status(502), Some(4));
    let out = pip_dry_run(&registry, &sandbox, "hist-py-prov-dropped==1.0");
    assert_unknown(&out, "pypi:hist-py-prov-dropped", "index", "page 502");
}

#[test]
fn what_failed_once_is_not_kept_to_fail_again() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    let run = |sandbox: &Sandbox| {
        crate::npm_project(sandbox);
        Output::of(
            warden(sandbox)
                .env("npm_config_registry", registry.npm_url())
                .args(["--dry-run", "npm", "install", "benign-lib@1.1.0"]),
        )
    };
    // A flipped byte in the tarball, once: unknown, then fine, with the
    // cache in use throughout.
    registry.fault("/npm/benign-lib/-/", Fault::Corrupt, Some(1));
    let out = run(&sandbox).expect_code(69);
    assert!(out.stdout.contains("unknown"), "{}", out.stdout);
    run(&sandbox).expect_code(0);

    // A broken package document under `npm ci` (warden is the only reader).
    Output::of(
        warden(&sandbox)
            .env("npm_config_registry", registry.npm_url())
            .args(["npm", "install", "benign-lib@1.1.0"]),
    )
    .expect_code(0);
    let ci = |sandbox: &Sandbox| {
        Output::of(
            warden(sandbox)
                .env("npm_config_registry", registry.npm_url())
                .args(["--dry-run", "npm", "ci"]),
        )
    };
    std::fs::remove_dir_all(sandbox.warden_cache()).unwrap();
    registry.fault("/npm/benign-lib", Fault::MalformedJson, Some(1));
    let out = ci(&sandbox).expect_code(69);
    assert!(out.stdout.contains("unknown"), "{}", out.stdout);
    ci(&sandbox).expect_code(0);
}

#[test]
fn a_corrupt_wheel_is_unknown_like_a_corrupt_tarball() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    // One flipped byte in the wheel the index lists: whichever reads it
    // first, pip (its plan downloads it) or warden, it cannot be verified.
    registry.fault(
        "/files/benign_wheel-1.1-py3-none-any.whl",
        Fault::Corrupt,
        None,
    );
    let out = pip_dry_run(&registry, &sandbox, "benign-wheel==1.1");
    assert_unknown(&out, "pypi:benign-wheel", "sha256", "corrupt wheel");
}

#[test]
fn facts_a_registry_never_publishes_are_said_once_and_the_policy_decides() {
    // A mirror that strips publish times, publishers and maintainers, and
    // takes no POST on the advisory service.
    let registry = TestRegistry::with_scenarios(&["mirror"]);
    let sandbox = Sandbox::new();
    registry.fault(
        "/npm/-/npm/v1/security/advisories",
        Fault::Status(405),
        None,
    );
    let human = |sandbox: &Sandbox| {
        crate::npm_project(sandbox);
        Output::of(
            warden(sandbox)
                .env("npm_config_registry", registry.npm_url())
                .args(["--no-cache", "--dry-run", "npm", "install", "stripped-abs"]),
        )
    };
    let out = human(&sandbox).expect_code(69);
    assert_eq!(
        out.stdout
            .matches("not checked: the registry publishes nothing")
            .count(),
        1,
        "{}",
        out.stdout
    );
    for gap in ["publisher-new", "known-malicious", "release-too-fresh"] {
        assert!(
            out.stdout.contains(&format!("  {gap}: ")),
            "{gap}: {}",
            out.stdout
        );
    }
    assert!(
        !out.stdout.contains("could not be fetched") && !out.stdout.contains("  unknown: "),
        "no service is not a failed fetch, and is said once, not per package: {}",
        out.stdout
    );
    assert!(
        out.stdout.contains("registry-gaps = \"note\""),
        "{}",
        out.stdout
    );
    let report = json(&npm_dry_run(&registry, &sandbox, "stripped-abs").expect_code(69));
    let p = package(&report, "npm:stripped-abs");
    assert_eq!(p["verdict"], "unknown");
    assert_eq!(p["unknown"], p["registry_gaps"], "{report}");

    // The policy accepts them as not checked: the run goes on, and the
    // report still lists them.
    std::fs::write(
        sandbox.project().join("warden.toml"),
        "[settings]\nregistry-gaps = \"note\"\n",
    )
    .unwrap();
    let report = json(&npm_dry_run(&registry, &sandbox, "stripped-abs").expect_code(0));
    let p = package(&report, "npm:stripped-abs");
    assert_eq!(p["verdict"], "allow", "{report}");
    assert_eq!(p["unknown"], serde_json::json!([]));
    assert!(
        p["registry_gaps"].to_string().contains("known-malicious"),
        "{report}"
    );
    let out = human(&sandbox).expect_code(0);
    assert!(
        out.stdout
            .contains("accepted as not checked (policy: registry-gaps = \"note\")"),
        "{}",
        out.stdout
    );
    // A service that fails is not a gap: unknown whatever the setting.
    registry.clear_faults();
    registry.fault(
        "/npm/-/npm/v1/security/advisories",
        Fault::Status(500),
        None,
    );
    assert_unknown(
        &npm_dry_run(&registry, &sandbox, "stripped-abs"),
        "npm:stripped-abs",
        "could not be fetched",
        "500 under registry-gaps = note",
    );
}
