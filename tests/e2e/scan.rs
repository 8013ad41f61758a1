//! `warden scan` and `warden diff` on archives built from the scenarios.

use std::path::PathBuf;

use serde_json::Value;
use warden_testkit::{Fault, Output, Sandbox, TestRegistry};

use crate::{json, warden};

/// Writes the built archive of a scenario package to the sandbox.
fn npm_archive(
    registry: &TestRegistry,
    sandbox: &Sandbox,
    name: &str,
    version: &str,
    file: &str,
) -> PathBuf {
    let path = sandbox.root().join(file);
    std::fs::write(
        &path,
        registry.npm_built[&(name.to_owned(), version.to_owned())]
            .tarball
            .as_slice(),
    )
    .unwrap();
    path
}

fn pypi_archive(
    registry: &TestRegistry,
    sandbox: &Sandbox,
    project: &str,
    suffix: &str,
    file: &str,
) -> PathBuf {
    let built = registry.pypi_built[project]
        .iter()
        .find(|b| b.filename.ends_with(suffix))
        .unwrap();
    let path = sandbox.root().join(file);
    std::fs::write(&path, built.bytes.as_slice()).unwrap();
    path
}

fn rules_of(artifact: &Value) -> Vec<(String, String)> {
    artifact["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["level"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn scan(sandbox: &Sandbox, path: &PathBuf, code: i32) -> Value {
    let out = Output::of(
        warden(sandbox)
            .arg("scan")
            .arg(path)
            .args(["--format", "json"]),
    )
    .expect_code(code);
    json(&out)["artifacts"][0].clone()
}

#[test]
fn malicious_install_surfaces_are_denied_with_evidence() {
    let registry = TestRegistry::with_scenarios(&["malicious"]);
    let sandbox = Sandbox::new();

    let dropper = npm_archive(
        &registry,
        &sandbox,
        "evil-dropper",
        "1.0.1",
        "evil-dropper.tgz",
    );
    let a = scan(&sandbox, &dropper, 77);
    assert_eq!(a["verdict"], "deny");
    assert_eq!(a["surface"]["kind"], "npm-package");
    let rules = rules_of(&a);
    for rule in [
        "download-and-execute",
        "credential-files",
        "environment-dump",
        "raw-ip-url",
    ] {
        assert!(
            rules.contains(&(rule.to_owned(), "deny".to_owned())),
            "{rule} in {rules:?}"
        );
    }
    // The evidence points into the file a required module, two steps from
    // the script, at the right line.
    let f = a["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "download-and-execute")
        .unwrap();
    assert_eq!(f["file"], "lib/stage.js");
    assert_eq!(f["line"], 5);
    assert!(f["excerpt"].as_str().unwrap().contains("| sh"));

    let pth = pypi_archive(
        &registry,
        &sandbox,
        "evil-pth",
        ".whl",
        "evil_pth-1.0-py3-none-any.whl",
    );
    let a = scan(&sandbox, &pth, 77);
    let rules = rules_of(&a);
    assert!(
        rules.contains(&("startup-hook".into(), "deny".into())),
        "{rules:?}"
    );
    assert!(
        rules.contains(&("decode-and-execute".into(), "deny".into())),
        "{rules:?}"
    );
    let hook = a["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "decode-and-execute")
        .unwrap();
    assert_eq!(
        (hook["file"].as_str(), hook["line"].as_u64()),
        (Some("evil_pth_hook.pth"), Some(1))
    );

    let setup = pypi_archive(
        &registry,
        &sandbox,
        "evil-setup",
        ".tar.gz",
        "evil_setup-0.1.tar.gz",
    );
    let a = scan(&sandbox, &setup, 77);
    assert_eq!(a["surface"]["kind"], "sdist");
    assert!(rules_of(&a).contains(&("download-and-execute".into(), "deny".into())));

    let shadow = pypi_archive(&registry, &sandbox, "shadow-pip", ".whl", "shadow.whl");
    let a = scan(&sandbox, &shadow, 77);
    assert!(rules_of(&a).contains(&("command-shadowing".into(), "deny".into())));
}

#[test]
fn legitimate_install_time_behaviour_is_never_denied() {
    let registry = TestRegistry::with_scenarios(&["legitimate", "realism"]);
    let sandbox = Sandbox::new();
    let gyp = npm_archive(
        &registry,
        &sandbox,
        "native-addon",
        "2.0.0",
        "native-addon.tgz",
    );
    let a = scan(&sandbox, &gyp, 0);
    let kinds: Vec<&str> = a["surface"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"implicit-gyp-build"), "{kinds:?}");

    let downloader = npm_archive(
        &registry,
        &sandbox,
        "binary-downloader",
        "0.20.0",
        "downloader.tgz",
    );
    let a = scan(&sandbox, &downloader, 0);
    assert_eq!(a["verdict"], "warn");
    let rules = rules_of(&a);
    assert!(
        rules.contains(&("network-send".into(), "warn".into())),
        "{rules:?}"
    );

    let pth = pypi_archive(&registry, &sandbox, "legit-pth", ".whl", "legit.whl");
    let a = scan(&sandbox, &pth, 0);
    assert_eq!(a["verdict"], "allow");
    let hook = a["surface"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "pth-code")
        .unwrap();
    assert_eq!(hook["known"], "setuptools-distutils-precedence");

    let plain = npm_archive(&registry, &sandbox, "benign-lib", "1.0.0", "benign.tgz");
    let a = scan(&sandbox, &plain, 0);
    assert!(a["surface"]["items"].as_array().unwrap().is_empty());
}

#[test]
fn format_is_read_from_bytes_and_unreadable_archives_are_not_clean() {
    let registry = TestRegistry::with_scenarios(&["malicious"]);
    let sandbox = Sandbox::new();
    // A wheel disguised as an sdist by its name.
    let disguised = pypi_archive(
        &registry,
        &sandbox,
        "evil-pth",
        ".whl",
        "evil_pth-1.0.tar.gz",
    );
    let a = scan(&sandbox, &disguised, 77);
    assert_eq!(a["surface"]["kind"], "wheel");

    // A tarball that climbs out of its directory.
    let hostile = sandbox.root().join("hostile.tgz");
    let mut header = tar_header(b"package/../../../etc/cron.d/x");
    let mut tar = header.to_vec();
    tar.extend_from_slice(&[b'x'; 512]);
    tar.extend_from_slice(&[0u8; 1024]);
    header.fill(0);
    std::fs::write(&hostile, gzip(&tar)).unwrap();
    let out = Output::of(warden(&sandbox).arg("scan").arg(&hostile)).expect_code(69);
    assert!(out.stdout.contains("hostile.tgz"), "{}", out.stdout);
    assert!(out.stdout.contains("unsafe path"), "{}", out.stdout);
    assert!(
        out.stdout.contains("unknown (not checked)"),
        "{}",
        out.stdout
    );

    // A block outranks an unreadable archive; both are reported.
    let both = Output::of(
        warden(&sandbox)
            .arg("scan")
            .arg(&hostile)
            .arg(&disguised)
            .args(["--format", "json"]),
    )
    .expect_code(77);
    let report = json(&both);
    assert_eq!(report["summary"]["errors"], 1);
    assert_eq!(report["summary"]["deny"], 1);

    let missing = Output::of(
        warden(&sandbox)
            .arg("scan")
            .arg(sandbox.root().join("nope.tgz")),
    )
    .expect_code(69);
    assert!(missing.stdout.contains("nope.tgz"), "{}", missing.stdout);
    Output::of(warden(&sandbox).arg("scan")).expect_code(64);
}

fn tar_header(name: &[u8]) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name);
    h[100..108].copy_from_slice(b"0000644\0");
    h[124..136].copy_from_slice(b"00000001000\0");
    h[156] = b'0';
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    h
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

#[test]
fn diff_shows_the_new_install_script_and_its_findings() {
    let registry = TestRegistry::with_scenarios(&["malicious", "realism"]);
    let sandbox = Sandbox::new();
    let out = Output::of(
        warden(&sandbox)
            .env("npm_config_registry", registry.npm_url())
            .args([
                "diff",
                "npm:evil-dropper",
                "1.0.0",
                "1.0.1",
                "--format",
                "json",
            ]),
    )
    .expect_code(0);
    let d = json(&out);
    assert_eq!(d["scripts"]["added"]["postinstall"], "node install.js");
    let added: Vec<&str> = d["surface_added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["file"].as_str().unwrap())
        .collect();
    assert!(
        added.contains(&"install.js") && added.contains(&"lib/stage.js"),
        "{added:?}"
    );
    let stage = d["changed_files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "lib/stage.js")
        .unwrap();
    assert!(
        stage["diff"]
            .as_str()
            .unwrap()
            .contains("+  require(\"child_process\")"),
        "{stage}"
    );
    assert!(
        d["new_findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "download-and-execute")
    );

    let human = Output::of(
        warden(&sandbox)
            .env("PIP_INDEX_URL", registry.simple_url())
            .args(["diff", "pypi:benign-wheel", "1.0", "1.1"]),
    )
    .expect_code(0);
    assert!(
        human.stdout.contains("install scripts: unchanged"),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains("install surface: unchanged"),
        "{}",
        human.stdout
    );
}

#[test]
fn inspect_reads_the_surface_and_refuses_a_tarball_with_the_wrong_digest() {
    let registry = TestRegistry::with_scenarios(&["malicious"]);
    let sandbox = Sandbox::new();
    let out = Output::of(
        warden(&sandbox)
            .env("npm_config_registry", registry.npm_url())
            .args(["inspect", "npm:evil-dropper", "--format", "json"]),
    )
    .expect_code(0);
    let report = json(&out);
    let findings = report["install_surface"]["analysis"]["findings"]
        .as_array()
        .unwrap();
    assert!(findings.iter().any(|f| f["rule"] == "download-and-execute"));

    registry.fault("/npm/evil-dropper/-/", Fault::Corrupt, None);
    let out = Output::of(
        warden(&sandbox)
            .env("npm_config_registry", registry.npm_url())
            .args([
                "--no-cache",
                "inspect",
                "npm:evil-dropper",
                "--format",
                "json",
            ]),
    )
    .expect_code(69);
    let report = json(&out);
    let error = report["install_surface"]["error"].as_str().unwrap();
    assert!(
        error.contains("npm:evil-dropper@1.0.1: integrity check failed"),
        "{error}"
    );
    assert!(
        report["install_surface"]["analysis"].is_null(),
        "an unread archive is not clean"
    );
}

#[test]
fn a_release_is_judged_against_the_one_before_in_scan_and_diff() {
    let registry = TestRegistry::with_scenarios(&["malicious"]);
    let sandbox = Sandbox::new();
    let old = npm_archive(&registry, &sandbox, "hijacked-lib", "1.0.0", "old.tgz");
    let new = npm_archive(&registry, &sandbox, "hijacked-lib", "1.0.1", "new.tgz");
    // On its own, obfuscator-style code on load is no finding: libraries
    // ship minified and obfuscated bundles.
    assert!(rules_of(&scan(&sandbox, &new, 0)).is_empty());
    // New since the release before, it is how a hijacked package turns bad.
    let out = Output::of(
        warden(&sandbox)
            .arg("scan")
            .args([new.as_os_str(), "--previous".as_ref(), old.as_os_str()])
            .args(["--format", "json"]),
    )
    .expect_code(77);
    let artifact = &json(&out)["artifacts"][0];
    assert_eq!(
        rules_of(artifact),
        [("runtime-code-added".to_owned(), "deny".to_owned())]
    );
    let excerpt = artifact["findings"][0]["excerpt"].as_str().unwrap();
    assert!(
        excerpt.contains("obfuscated-identifiers: index.js:") && excerpt.contains("old.tgz"),
        "{excerpt}"
    );
    // The same code on both sides is not news.
    let out = Output::of(warden(&sandbox).arg("scan").args([
        new.as_os_str(),
        "--previous".as_ref(),
        new.as_os_str(),
    ]))
    .expect_code(0);
    assert!(out.stdout.contains("findings: none"), "{}", out.stdout);
    // One archive only, and an earlier one that cannot be read is no pass.
    Output::of(warden(&sandbox).arg("scan").args([
        new.as_os_str(),
        old.as_os_str(),
        "--previous".as_ref(),
        old.as_os_str(),
    ]))
    .expect_code(64);
    let missing = sandbox.root().join("missing.tgz");
    Output::of(warden(&sandbox).arg("scan").args([
        new.as_os_str(),
        "--previous".as_ref(),
        missing.as_os_str(),
    ]))
    .expect_code(69);
    // `warden diff` shows the changed main module and the finding.
    let out = Output::of(
        warden(&sandbox)
            .env("npm_config_registry", registry.npm_url())
            .args(["diff", "npm:hijacked-lib", "1.0.0", "1.0.1"]),
    )
    .expect_code(0);
    assert!(
        out.stdout.contains("code that runs on load") && out.stdout.contains("+var _0x3a1f"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("deny  runtime-code-added: obfuscated-identifiers"),
        "{}",
        out.stdout
    );
}
