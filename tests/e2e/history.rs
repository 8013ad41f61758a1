//! History findings, each where it fires and in a near miss where it must
//! not, asserted through `warden inspect --format json`.

use serde_json::Value;
use warden_testkit::{Output, Sandbox, TestRegistry};

use crate::{json, warden};

fn history(registry: &TestRegistry, sandbox: &Sandbox, spec: &str) -> Value {
    let out = Output::of(
        warden(sandbox)
            .env("npm_config_registry", registry.npm_url())
            .env("PIP_INDEX_URL", registry.simple_url())
            .args(["inspect", spec, "--format", "json"]),
    )
    .expect_code(0);
    json(&out)["history"].clone()
}

fn codes(h: &Value) -> Vec<(String, String)> {
    h["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_owned(),
                f["level"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn finding<'a>(h: &'a Value, code: &str) -> &'a Value {
    h["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no {code} in {h}"))
}

/// `(spec, expected findings)`: exactly these codes fire, at these levels.
const CASES: &[(&str, &[(&str, &str)])] = &[
    ("npm:hist-prov-dropped", &[("provenance-dropped", "deny")]),
    ("npm:hist-prov-kept", &[]),
    ("npm:hist-prov-to-tp", &[]),
    (
        "npm:hist-source-changed",
        &[("provenance-identity-changed", "deny")],
    ),
    ("npm:hist-publisher-new", &[("publisher-new", "warn")]),
    ("npm:hist-same-publisher", &[]),
    ("npm:hist-maintainer-added", &[("maintainer-added", "warn")]),
    ("npm:hist-maintainer-attested", &[]),
    ("npm:hist-script-added", &[("install-script-added", "warn")]),
    ("npm:hist-script-kept", &[]),
    ("npm:hist-fresh", &[("release-too-fresh", "deny")]),
    ("npm:hist-fresh@1.0.0", &[]),
    ("npm:hist-dormant", &[("dormant-revival", "warn")]),
    ("npm:hist-steady", &[]),
    ("npm:hist-dormant-old", &[]),
    ("npm:hist-first", &[("first-release", "warn")]),
    ("npm:expresss", &[("typosquat-suspect", "warn")]),
    ("npm:lodahs", &[("typosquat-suspect", "deny")]),
    ("npm:express", &[]),
    ("npm:expres", &[]),
    ("npm:hist-malware", &[("known-malicious", "deny")]),
    ("npm:hist-malware@1.0.0", &[]),
    ("npm:hist-deprecated", &[("deprecated", "warn")]),
    ("npm:hist-backport@1.0.1", &[]),
    (
        "pypi:hist-py-prov-dropped",
        &[("provenance-dropped", "deny")],
    ),
    ("pypi:hist-py-prov-dropped==1.0", &[]),
    ("pypi:hist-py-flags==1.1", &[("yanked", "warn")]),
    ("pypi:hist-py-platform==1.1", &[]),
    ("pypi:hist-py-flags==1.2", &[("known-malicious", "deny")]),
    // A start-up hook appears, with content findings: escalated to deny.
    (
        "pypi:hist-py-pth-added",
        &[("install-script-added", "deny")],
    ),
];

#[test]
fn each_finding_fires_where_it_should_and_not_in_its_near_miss() {
    let registry = TestRegistry::with_scenarios(&["history"]);
    let sandbox = Sandbox::new();
    for (spec, expected) in CASES {
        let h = history(&registry, &sandbox, spec);
        let mut got = codes(&h);
        got.sort();
        let mut want: Vec<(String, String)> = expected
            .iter()
            .map(|(c, l)| ((*c).to_owned(), (*l).to_owned()))
            .collect();
        want.sort();
        assert_eq!(got, want, "{spec}: {h}");
        if spec.starts_with("npm:") {
            assert!(
                h["unknown"].as_array().unwrap().is_empty(),
                "{spec}: the loopback registry publishes everything: {h}"
            );
        }
    }
}

#[test]
fn evidence_names_versions_accounts_and_sources() {
    let registry = TestRegistry::with_scenarios(&["history", "malicious"]);
    let sandbox = Sandbox::new();

    let h = history(&registry, &sandbox, "npm:hist-prov-dropped");
    assert_eq!(h["previous"], "1.1.0");
    let f = finding(&h, "provenance-dropped");
    assert_eq!(f["evidence"]["attested_version"], "1.1.0");
    assert_eq!(
        f["allow"],
        "[[allow]] package = \"npm:hist-prov-dropped\" version = \"1.2.0\" findings = [\"provenance-dropped\"] reason = \"…\" expires = \"YYYY-MM-DD\""
    );

    let h = history(&registry, &sandbox, "npm:hist-source-changed");
    let f = finding(&h, "provenance-identity-changed");
    assert_eq!(
        f["evidence"]["repository"],
        "https://github.com/someone-else/evil"
    );
    assert_eq!(
        f["evidence"]["earlier_repository"],
        "https://github.com/example/r"
    );

    let h = history(&registry, &sandbox, "npm:hist-publisher-new");
    assert_eq!(
        finding(&h, "publisher-new")["evidence"]["publisher"],
        "mallory"
    );
    assert_eq!(
        finding(&h, "publisher-new")["evidence"]["earlier_publishers"],
        "alice"
    );

    let h = history(&registry, &sandbox, "npm:expresss");
    assert_eq!(
        finding(&h, "typosquat-suspect")["evidence"]["imitates"],
        "express"
    );

    // A git dependency is denied, a fresh first release warned, a plain
    // registry dependency allowed.
    let h = history(&registry, &sandbox, "npm:hist-deps");
    let deps: Vec<(String, String)> = h["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["evidence"]["dependency"].as_str().unwrap().to_owned(),
                f["level"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        deps.contains(&("payload".into(), "deny".into())),
        "{deps:?}"
    );
    assert!(
        deps.contains(&("fresh-dep".into(), "warn".into())),
        "{deps:?}"
    );
    assert!(
        deps.contains(&("benign-lib".into(), "allow".into())),
        "{deps:?}"
    );

    // A new publisher adds an install script whose code the rules deny.
    let h = history(&registry, &sandbox, "npm:evil-dropper");
    let f = finding(&h, "install-script-added");
    assert_eq!(f["level"], "deny");
    assert!(
        f["evidence"]["escalated_by"]
            .as_str()
            .unwrap()
            .contains("publisher-new"),
        "{f}"
    );

    // `--from` judges against the version the project has.
    let out = Output::of(
        warden(&sandbox)
            .env("npm_config_registry", registry.npm_url())
            .args([
                "inspect",
                "npm:hist-prov-dropped@1.2.0",
                "--from",
                "1.0.0",
                "--format",
                "json",
            ]),
    )
    .expect_code(0);
    assert_eq!(json(&out)["history"]["previous"], "1.0.0");
}

#[test]
fn a_mirror_that_leaves_facts_out_gets_unknown_not_clean() {
    let registry = TestRegistry::with_scenarios(&["mirror"]);
    let sandbox = Sandbox::new();
    let h = history(&registry, &sandbox, "npm:stripped-lib");
    let unknown: Vec<&str> = h["unknown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["code"].as_str().unwrap())
        .collect();
    assert!(unknown.contains(&"release-too-fresh"), "{h}");
    assert!(
        unknown.contains(&"publisher-new") || h["previous"].is_null(),
        "{h}"
    );
    assert!(
        codes(&h).iter().all(|(c, _)| c != "release-too-fresh"),
        "no time, no freshness verdict: {h}"
    );
}
