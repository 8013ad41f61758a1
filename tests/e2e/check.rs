//! `warden check`: a lockfile or requirements file judged without
//! installing, in every output format; and `--format json` keeping stdout
//! one document, valid against `docs/json.md`, in every mode.

use std::path::Path;

use serde_json::Value;
use warden_testkit::{Output, Sandbox, TestRegistry};

use crate::{json, warden};

/// A lockfile for `deps`, written by the real npm without running
/// anything (`--package-lock-only --ignore-scripts`).
fn npm_lockfile(registry: &TestRegistry, sandbox: &Sandbox, deps: &[&str]) {
    crate::npm_project(sandbox);
    Output::of(
        sandbox
            .command("npm")
            .env("npm_config_registry", registry.npm_url())
            .args([
                "install",
                "--package-lock-only",
                "--ignore-scripts",
                "--no-audit",
            ])
            .args(deps),
    )
    .expect_code(0);
}

fn check(registry: &TestRegistry, sandbox: &Sandbox, args: &[&str]) -> Output {
    Output::of(
        warden(sandbox)
            .env("npm_config_registry", registry.npm_url())
            .env("PIP_INDEX_URL", registry.simple_url())
            .arg("check")
            .args(args),
    )
}

/// The schema in `docs/json.md`.
pub fn report_schema() -> jsonschema::Validator {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/json.md"))
        .unwrap();
    let start = doc.find("```json\n").unwrap() + "```json\n".len();
    let end = start + doc[start..].find("```").unwrap();
    let schema: Value = serde_json::from_str(&doc[start..end]).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

pub fn assert_valid(validator: &jsonschema::Validator, doc: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}\n{doc:#}");
}

fn sarif_schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/sarif/sarif-schema-2.1.0.json"
    ))
    .unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

/// The 1-based line of `needle` in the file.
fn line_of(path: &Path, needle: &str) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not in {text}"));
    text[..at].matches('\n').count() + 1
}

#[test]
fn an_npm_lockfile_is_judged_in_every_format_and_nothing_installs() {
    let registry = TestRegistry::with_scenarios(&["realism", "malicious"]);
    let sandbox = Sandbox::new();
    npm_lockfile(&registry, &sandbox, &["benign-lib", "evil-dropper@1.0.1"]);
    let lock = sandbox.project().join("package-lock.json");
    let lock_text = std::fs::read(&lock).unwrap();

    // For people: the denied package, its finding, why, and the exit code.
    let out = check(&registry, &sandbox, &["package-lock.json"]).expect_code(77);
    assert!(
        out.stdout.contains("npm:evil-dropper@1.0.1  deny"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("why: "), "{}", out.stdout);
    assert!(
        out.stdout.contains("see docs/findings.md#"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("installing this would be refused"),
        "{}",
        out.stdout
    );

    // SARIF: valid 2.1.0, a rule per code, results at the lockfile line.
    let out = check(
        &registry,
        &sandbox,
        &["--format", "sarif", "package-lock.json"],
    )
    .expect_code(77);
    let log = json(&out);
    assert_valid(&sarif_schema(), &log, "SARIF");
    let run = &log["runs"][0];
    let results = run["results"].as_array().unwrap();
    let evil: Vec<&Value> = results
        .iter()
        .filter(|r| {
            r["message"]["text"]
                .as_str()
                .unwrap()
                .starts_with("npm:evil-dropper@1.0.1")
        })
        .collect();
    assert!(evil.iter().any(|r| r["level"] == "error"), "{results:#?}");
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    for r in &evil {
        let index = usize::try_from(r["ruleIndex"].as_u64().unwrap()).unwrap();
        assert_eq!(rules[index], r["ruleId"].as_str().unwrap());
        let location = &r["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uri"], "package-lock.json");
        assert_eq!(
            location["region"]["startLine"],
            line_of(&lock, "\"node_modules/evil-dropper\": {"),
            "{r:#}"
        );
    }
    assert_eq!(run["invocations"][0]["exitCode"], 77);

    // GitHub annotations: an error at the same line, and the outcome.
    let out = check(&registry, &sandbox, &["--format", "github", "."]).expect_code(77);
    let line = line_of(&lock, "\"node_modules/evil-dropper\": {");
    assert!(
        out.stdout.lines().any(|l| l.starts_with(&format!(
            "::error file=./package-lock.json,line={line},title=warden "
        ))),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("::error title=warden::"),
        "{}",
        out.stdout
    );

    // JSON: one document, `checked`'s sibling `blocked`, valid by docs/json.md.
    let out = check(
        &registry,
        &sandbox,
        &["--format", "json", "package-lock.json"],
    )
    .expect_code(77);
    let report = json(&out);
    assert_valid(&report_schema(), &report, "check --format json");
    assert_eq!(report["outcome"], "blocked");
    assert_eq!(report["exit_code"], 77);

    // Nothing was installed, nothing ran, the lockfile is untouched, and a
    // check decides no install, so nothing is logged.
    assert!(!sandbox.project().join("node_modules").exists());
    assert!(!sandbox.canary("evil-dropper").exists());
    assert_eq!(std::fs::read(&lock).unwrap(), lock_text);
    assert!(!sandbox.project().join(".warden/decisions.jsonl").exists());
}

#[test]
fn a_clean_lockfile_is_checked_with_exit_0() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    npm_lockfile(&registry, &sandbox, &["benign-lib"]);
    let out = check(
        &registry,
        &sandbox,
        &["--format", "json", "package-lock.json"],
    )
    .expect_code(0);
    let report = json(&out);
    assert_valid(&report_schema(), &report, "check, clean");
    assert_eq!(report["outcome"], "checked");
    assert_eq!(report["packages"][0]["package"], "npm:benign-lib");
    let out = check(
        &registry,
        &sandbox,
        &["--format", "sarif", "package-lock.json"],
    )
    .expect_code(0);
    let log = json(&out);
    assert_valid(&sarif_schema(), &log, "SARIF, clean");
    assert_eq!(log["runs"][0]["results"].as_array().unwrap().len(), 0);
    assert!(!sandbox.project().join("node_modules").exists());
}

#[test]
fn requirements_are_judged_without_building_or_installing() {
    let registry = TestRegistry::with_scenarios(&["realism", "malicious"]);
    let sandbox = Sandbox::new();
    let venv = sandbox.venv();
    let path = format!(
        "{}:{}",
        venv.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let requirements = sandbox.project().join("requirements.txt");
    std::fs::write(
        &requirements,
        "benign-wheel==1.1\n# a comment\nevil-setup==0.1\n",
    )
    .unwrap();
    let out = Output::of(
        warden(&sandbox)
            .env("PATH", &path)
            .env("PIP_INDEX_URL", registry.simple_url())
            .args(["check", "--format", "sarif", "requirements.txt"]),
    )
    .expect_code(77);
    let log = json(&out);
    assert_valid(&sarif_schema(), &log, "SARIF, requirements");
    let results = log["runs"][0]["results"].as_array().unwrap();
    let evil = results
        .iter()
        .find(|r| {
            r["level"] == "error"
                && r["message"]["text"]
                    .as_str()
                    .unwrap()
                    .starts_with("pypi:evil-setup@0.1")
        })
        .unwrap_or_else(|| panic!("{results:#?}"));
    assert_eq!(
        evil["locations"][0]["physicalLocation"]["region"]["startLine"],
        3
    );
    // The sdist was judged from its sources, never built: its setup.py
    // would have written the canary.
    assert!(!sandbox.canary("evil-setup").exists());

    // With hashes, clean: `checked`, and nothing installed in the venv.
    let wheel_hash = {
        let out = Output::of(
            warden(&sandbox)
                .env("PIP_INDEX_URL", registry.simple_url())
                .args(["inspect", "pypi:benign-wheel==1.1", "--format", "json"]),
        );
        let report = json(&out);
        let files = report["versions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["version"] == "1.1")
            .unwrap()["files"]
            .clone();
        files
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["sha256"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let hashes: String = wheel_hash
        .iter()
        .map(|h| format!(" --hash=sha256:{h}"))
        .collect();
    std::fs::write(&requirements, format!("benign-wheel==1.1{hashes}\n")).unwrap();
    let out = Output::of(
        warden(&sandbox)
            .env("PATH", &path)
            .env("PIP_INDEX_URL", registry.simple_url())
            .args(["check", "--format", "json", "requirements.txt"]),
    )
    .expect_code(0);
    let report = json(&out);
    assert_valid(&report_schema(), &report, "check requirements, hashes");
    assert_eq!(report["outcome"], "checked");
    let listed = Output::of(
        sandbox
            .command(venv.join("bin/python"))
            .args(["-m", "pip", "list"]),
    );
    assert!(
        !listed.stdout.to_lowercase().contains("benign"),
        "{}",
        listed.stdout
    );
}

#[test]
fn every_mode_prints_one_document_that_matches_docs_json() {
    let registry = TestRegistry::with_scenarios(&["realism", "malicious"]);
    let validator = report_schema();
    let run = |sandbox: &Sandbox, args: &[&str], code: i32| -> Value {
        let out = Output::of(
            warden(sandbox)
                .env("npm_config_registry", registry.npm_url())
                .arg("--format")
                .arg("json")
                .args(args),
        )
        .expect_code(code);
        let doc = json(&out);
        assert_valid(&validator, &doc, &args.join(" "));
        assert_eq!(doc["exit_code"], code, "{doc}");
        doc
    };
    let sandbox = Sandbox::new();
    crate::npm_project(&sandbox);
    assert_eq!(
        run(&sandbox, &["--dry-run", "npm", "install", "benign-lib"], 0)["outcome"],
        "dry-run"
    );
    assert_eq!(
        run(&sandbox, &["npm", "install", "evil-dropper@1.0.1"], 77)["outcome"],
        "blocked"
    );
    assert_eq!(
        run(&sandbox, &["npm", "install", "benign-lib"], 0)["outcome"],
        "installed"
    );
    assert_eq!(run(&sandbox, &["check", "."], 0)["outcome"], "checked");

    // npm itself fails after the checks: its own code, in the document.
    let fake = sandbox.root().join("failing-npm");
    std::fs::write(
        &fake,
        "#!/bin/sh\ncase \"$*\" in\n  *--package-lock-only*|config*|*\" ls\"*) exec npm \"$@\" ;;\n  *) exit 3 ;;\nesac\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Output::of(
        warden(&sandbox)
            .env("npm_config_registry", registry.npm_url())
            .env("WARDEN_NPM", &fake)
            .args(["--format", "json", "npm", "install", "benign-lib"]),
    );
    let doc = json(&out);
    assert_valid(&validator, &doc, "failed");
    assert_eq!(doc["outcome"], "failed", "{doc}");
    assert_eq!(doc["exit_code"], 3, "{doc}");
    assert_eq!(out.code, Some(3));

    // A broken policy: no report, but still one document that says so.
    std::fs::write(sandbox.project().join("warden.toml"), "[settings\n").unwrap();
    let doc = run(&sandbox, &["npm", "install", "benign-lib"], 78);
    assert_eq!(doc["outcome"], "error");
    assert!(
        doc["message"].as_str().unwrap().contains("warden.toml"),
        "{doc}"
    );
}

#[test]
fn one_v_shows_warden_s_steps_with_timings_and_no_library_debug() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    crate::npm_project(&sandbox);
    let host = registry.npm_url();
    let host = host
        .trim_start_matches("http:")
        .trim_end_matches("npm/")
        .to_owned();
    let out = Output::of(
        warden(&sandbox)
            .env("npm_config_registry", registry.npm_url())
            .args(["-v", "--dry-run", "npm", "install", "benign-lib"])
            .arg(format!("--{host}:_authToken=sekrit-token-value")),
    )
    .expect_code(0);
    for step in [
        "planning: npm resolves the install",
        "done in ",
        "checking 1 package (at ",
        "running: npm ",
        "registry: ",
        "decided on 1 package: ",
    ] {
        assert!(out.stderr.contains(step), "{step}:\n{}", out.stderr);
    }
    assert!(!out.stderr.contains("sekrit-token-value"), "{}", out.stderr);
    assert!(
        !out.stderr.contains('\u{1b}'),
        "no colour in a pipe:\n{}",
        out.stderr
    );
    for library in ["hyper", "reqwest", "h2::", "rustls", "DEBUG"] {
        assert!(!out.stderr.contains(library), "{library}:\n{}", out.stderr);
    }
    // The report itself is unchanged by -v: it is on stdout.
    assert!(out.stdout.contains("allowed (dry run"), "{}", out.stdout);
}
