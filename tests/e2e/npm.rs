//! `warden npm` with the real npm against the loopback registry: what a
//! user sees — exit codes, what got installed, which canary never fired.

use std::path::Path;

use warden_testkit::{Fault, Output, Sandbox, TestRegistry};

use crate::{json, warden};

use crate::npm_project as project;

fn npm(registry: &TestRegistry, sandbox: &Sandbox, args: &[&str]) -> Output {
    Output::of(
        warden(sandbox)
            .env("npm_config_registry", registry.npm_url())
            .arg("npm")
            .args(args),
    )
}

fn installed(sandbox: &Sandbox, name: &str) -> Option<String> {
    let manifest = sandbox
        .project()
        .join("node_modules")
        .join(name)
        .join("package.json");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(manifest).ok()?).ok()?;
    doc["version"].as_str().map(str::to_owned)
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_benign_install_really_installs() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    project(&sandbox);
    let out = npm(&registry, &sandbox, &["install", "benign-lib"]).expect_code(0);
    assert!(out.stdout.contains("allowed"), "{}", out.stdout);
    assert_eq!(installed(&sandbox, "benign-lib").as_deref(), Some("1.1.0"));
    assert_eq!(
        registry.requests_to("/npm/benign-lib/-/").len(),
        1,
        "npm installed the bytes warden verified, from its cache, without fetching them again"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sandbox.project().join("package.json")).unwrap())
            .unwrap();
    assert!(
        manifest["dependencies"]["benign-lib"].is_string(),
        "{manifest}"
    );
    let lock = std::fs::read_to_string(sandbox.project().join("package-lock.json")).unwrap();
    assert!(
        lock.contains(
            &registry.npm_built[&("benign-lib".to_owned(), "1.1.0".to_owned())].integrity
        )
    );
    let log = std::fs::read_to_string(sandbox.project().join(".warden/decisions.jsonl")).unwrap();
    // 1.1.0 added a maintainer: a warning, recorded with the decision.
    let line = log
        .lines()
        .find(|l| l.contains("\"npm:benign-lib\""))
        .unwrap();
    assert!(
        line.contains("\"verdict\":\"warn\"") && line.contains("maintainer-added"),
        "{line}"
    );
}

#[test]
fn json_reports_stay_parseable_while_npm_runs() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    project(&sandbox);
    let out = Output::of(
        warden(&sandbox)
            .env("npm_config_registry", registry.npm_url())
            .args(["--format", "json", "npm", "install", "benign-lib"]),
    )
    .expect_code(0);
    let report = json(&out);
    assert_eq!(report["outcome"], "installed", "{report}");
    assert_eq!(report["exit_code"], 0, "{report}");
    assert_eq!(installed(&sandbox, "benign-lib").as_deref(), Some("1.1.0"));
}

#[test]
fn a_second_run_over_an_unchanged_lockfile_downloads_no_archive() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    project(&sandbox);
    npm(&registry, &sandbox, &["install", "benign-lib"]).expect_code(0);
    let tarballs = |r: &TestRegistry| r.requests_to("/npm/benign-lib/-/").len();
    let after_first = tarballs(&registry);
    assert!(after_first >= 1);
    std::fs::remove_dir_all(sandbox.project().join("node_modules")).unwrap();
    npm(&registry, &sandbox, &["ci"]).expect_code(0);
    assert_eq!(installed(&sandbox, "benign-lib").as_deref(), Some("1.1.0"));
    assert_eq!(
        tarballs(&registry),
        after_first,
        "verdicts are cached by integrity; npm uses its own cache"
    );
}

#[test]
fn an_unchanged_version_is_judged_from_its_kept_judgement_without_its_document() {
    let registry = TestRegistry::with_scenarios(&["history"]);
    let sandbox = Sandbox::new();
    project(&sandbox);
    npm(&registry, &sandbox, &["install", "hist-deprecated"]).expect_code(0);
    // The first `npm ci` judges 1.0.0 against the lockfile's own version
    // and keeps the judgement: complete, nothing in it the clock changes.
    std::fs::remove_dir_all(sandbox.project().join("node_modules")).unwrap();
    npm(&registry, &sandbox, &["ci"]).expect_code(0);
    let documents = |r: &TestRegistry| {
        r.log()
            .iter()
            .filter(|l| l.path == "/npm/hist-deprecated")
            .count()
    };
    let asked = documents(&registry);
    // The registry now fails every request for the document: the kept
    // judgement answers, with what the document said (deprecated).
    registry.fault("/npm/hist-deprecated", Fault::Status(503), None);
    std::fs::remove_dir_all(sandbox.project().join("node_modules")).unwrap();
    let out = npm(&registry, &sandbox, &["ci"]).expect_code(0);
    assert_eq!(
        installed(&sandbox, "hist-deprecated").as_deref(),
        Some("1.0.0")
    );
    assert!(
        out.stdout.contains("deprecated: use benign-lib instead"),
        "{}",
        out.stdout
    );
    assert_eq!(
        documents(&registry),
        asked,
        "no request for the document of an unchanged version"
    );
    // With `history-max-age = "0h"` every run asks, and the failure is
    // one: exit 69, nothing installed.
    std::fs::write(
        sandbox.project().join("warden.toml"),
        "[settings]\nhistory-max-age = \"0h\"\n",
    )
    .unwrap();
    std::fs::remove_dir_all(sandbox.project().join("node_modules")).unwrap();
    let out = npm(&registry, &sandbox, &["ci"]).expect_code(69);
    assert!(out.stdout.contains("npm:hist-deprecated"), "{}", out.stdout);
    assert!(documents(&registry) > asked);
    assert_eq!(installed(&sandbox, "hist-deprecated"), None);
}

#[test]
fn a_fresh_release_is_judged_again_every_run() {
    let registry = TestRegistry::with_scenarios(&["history"]);
    let sandbox = Sandbox::new();
    project(&sandbox);
    std::fs::write(
        sandbox.project().join("warden.toml"),
        "[findings]\nrelease-too-fresh = \"warn\"\n",
    )
    .unwrap();
    npm(&registry, &sandbox, &["install", "hist-fresh@1.1.0"]).expect_code(0);
    std::fs::remove_dir_all(sandbox.project().join("node_modules")).unwrap();
    npm(&registry, &sandbox, &["ci"]).expect_code(0);
    // `release-too-fresh` goes away with time: such a judgement is not
    // kept, so a run with the document unavailable cannot complete.
    registry.fault("/npm/hist-fresh", Fault::Status(503), None);
    std::fs::remove_dir_all(sandbox.project().join("node_modules")).unwrap();
    let out = npm(&registry, &sandbox, &["ci"]).expect_code(69);
    assert!(out.stdout.contains("npm:hist-fresh"), "{}", out.stdout);
}

#[test]
fn a_malicious_transitive_dependency_is_blocked_before_anything_runs() {
    let registry = TestRegistry::with_scenarios(&["realism", "malicious", "npm-guard"]);
    let sandbox = Sandbox::new();
    let manifest = project(&sandbox);
    let before = files(&sandbox.project());
    let out = Output::of(
        warden(&sandbox)
            .env("npm_config_registry", registry.npm_url())
            .args(["npm", "install", "app-helper"]),
    )
    .expect_code(77);
    assert!(
        out.stdout.contains("npm:evil-dropper@1.0.1  deny"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("download-and-execute"),
        "{}",
        out.stdout
    );
    assert!(
        !sandbox.canary("evil-dropper").exists(),
        "the malicious script never ran"
    );
    assert_eq!(
        std::fs::read(sandbox.project().join("package.json")).unwrap(),
        manifest,
        "package.json unchanged"
    );
    let mut after = files(&sandbox.project());
    after.retain(|f| f != ".warden");
    assert_eq!(after, before, "no lockfile, no node_modules");

    let report = json(&Output::of(
        warden(&sandbox)
            .env("npm_config_registry", registry.npm_url())
            .args(["--format", "json", "npm", "install", "app-helper"]),
    ));
    assert_eq!(report["outcome"], "blocked", "{report}");
    assert_eq!(report["exit_code"], 77, "{report}");
    let evil = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["package"] == "npm:evil-dropper")
        .unwrap();
    assert_eq!(evil["verdict"], "deny");
}

#[test]
fn allowed_scripts_run_without_secrets_and_others_are_skipped() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    project(&sandbox);
    // Not allowed: canary-postinstall is a young package (a warning), so its
    // script is skipped by default.
    npm(&registry, &sandbox, &["install", "canary-postinstall"]).expect_code(0);
    assert_eq!(
        installed(&sandbox, "canary-postinstall").as_deref(),
        Some("1.0.0")
    );
    assert!(
        !sandbox.canary("canary-postinstall").exists(),
        "skipped without an allow entry"
    );

    std::fs::write(
        sandbox.project().join("warden.toml"),
        "[[allow]]\npackage = \"npm:canary-postinstall\"\nscripts = true\nreason = \"reviewed\"\nexpires = \"2099-01-01\"\n",
    )
    .unwrap();
    Output::of(
        warden(&sandbox)
            .env("npm_config_registry", registry.npm_url())
            .env("WARDEN_TEST_SECRET", "hunter2")
            .args(["npm", "install"]),
    )
    .expect_code(0);
    let canary = std::fs::read_to_string(sandbox.canary("canary-postinstall")).unwrap();
    assert_eq!(canary.trim(), "postinstall ran: no secret");
}

#[test]
fn npm_ci_with_a_lockfile_pointing_off_registry_is_blocked() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    project(&sandbox);
    npm(&registry, &sandbox, &["install", "benign-lib"]).expect_code(0);
    // Someone edits the lockfile to fetch from another host.
    let lock_path = sandbox.project().join("package-lock.json");
    let lock = std::fs::read_to_string(&lock_path).unwrap();
    let elsewhere = registry.npm_url().replace("127.0.0.1", "localhost");
    let built = &registry.npm_built[&("benign-lib".to_owned(), "1.1.0".to_owned())];
    let tampered = if lock.contains("\"resolved\"") {
        lock.replace(&registry.npm_url(), &elsewhere)
    } else {
        lock.replacen(
            &format!("\"integrity\": \"{}\"", built.integrity),
            &format!("\"resolved\": \"{elsewhere}benign-lib/-/benign-lib-1.1.0.tgz\",\n      \"integrity\": \"{}\"", built.integrity),
            1,
        )
    };
    assert_ne!(tampered, lock);
    std::fs::write(&lock_path, &tampered).unwrap();
    std::fs::remove_dir_all(sandbox.project().join("node_modules")).unwrap();
    let out = npm(&registry, &sandbox, &["ci"]).expect_code(77);
    assert!(
        out.stdout.contains("lockfile-source-mismatch"),
        "{}",
        out.stdout
    );
    assert!(!sandbox.project().join("node_modules").exists());
    assert_eq!(
        std::fs::read_to_string(&lock_path).unwrap(),
        tampered,
        "the lockfile is the user's: untouched"
    );
}

#[test]
fn release_age_steers_ranges_and_blocks_exact_pins() {
    let registry = TestRegistry::with_scenarios(&["history"]);
    let sandbox = Sandbox::new();
    project(&sandbox);
    npm(&registry, &sandbox, &["install", "hist-fresh"]).expect_code(0);
    assert_eq!(
        installed(&sandbox, "hist-fresh").as_deref(),
        Some("1.0.0"),
        "1.1.0 is two hours old"
    );

    let out = npm(&registry, &sandbox, &["install", "hist-fresh@1.1.0"]).expect_code(77);
    assert!(out.stdout.contains("release-too-fresh"), "{}", out.stdout);
    assert_eq!(
        installed(&sandbox, "hist-fresh").as_deref(),
        Some("1.0.0"),
        "nothing changed"
    );
}

#[test]
fn an_allow_entry_counts_until_it_expires() {
    let registry = TestRegistry::with_scenarios(&["history"]);
    let sandbox = Sandbox::new();
    project(&sandbox);
    let policy = |expires: &str| {
        format!(
            "[findings]\npublisher-new = \"deny\"\n[[allow]]\npackage = \"npm:hist-publisher-new\"\nfindings = [\"publisher-new\"]\nreason = \"new maintainer, vouched for\"\nexpires = \"{expires}\"\n"
        )
    };
    std::fs::write(sandbox.project().join("warden.toml"), policy("2020-01-01")).unwrap();
    let out = npm(
        &registry,
        &sandbox,
        &["install", "hist-publisher-new@1.2.0"],
    )
    .expect_code(77);
    assert!(
        out.stdout.contains("expired allow entry at"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("publisher-new"), "{}", out.stdout);
    std::fs::write(sandbox.project().join("warden.toml"), policy("2099-01-01")).unwrap();
    let out = npm(
        &registry,
        &sandbox,
        &["install", "hist-publisher-new@1.2.0"],
    )
    .expect_code(0);
    assert!(out.stdout.contains("allowed by"), "{}", out.stdout);
    assert!(!out.stdout.contains("unused allow entry"), "{}", out.stdout);
    // An entry for a package that is not in the plan is reported as unused.
    let extra =
        "[[allow]]\npackage = \"npm:not-installed\"\nreason = \"old\"\nexpires = \"2099-01-01\"\n";
    std::fs::write(
        sandbox.project().join("warden.toml"),
        format!("{}{extra}", policy("2099-01-01")),
    )
    .unwrap();
    let out = npm(&registry, &sandbox, &["install"]).expect_code(0);
    assert!(
        out.stdout.contains("unused allow entry at"),
        "{}",
        out.stdout
    );
    assert_eq!(
        installed(&sandbox, "hist-publisher-new").as_deref(),
        Some("1.2.0")
    );
}

#[test]
fn a_private_scope_resolved_from_another_registry_is_dependency_confusion() {
    let registry = TestRegistry::with_scenarios(&["npm-guard"]);
    let sandbox = Sandbox::new();
    project(&sandbox);
    std::fs::write(
        sandbox.project().join("warden.toml"),
        "[internal]\n\"npm:@corp/*\" = \"http://npm.corp.example.org/\"\n",
    )
    .unwrap();
    let out = npm(&registry, &sandbox, &["install", "@corp/internal-lib"]).expect_code(77);
    assert!(
        out.stdout.contains("dependency-confusion"),
        "{}",
        out.stdout
    );
    assert!(installed(&sandbox, "@corp/internal-lib").is_none());
}

#[test]
fn registry_down_is_69_and_a_bad_policy_is_78() {
    let sandbox = Sandbox::new();
    let manifest = project(&sandbox);
    let out = Output::of(
        warden(&sandbox)
            .env("npm_config_registry", "http://127.0.0.1:9/")
            .env("npm_config_fetch_retries", "0")
            .args(["npm", "install", "benign-lib"]),
    )
    .expect_code(69);
    assert!(!out.stderr.is_empty());
    assert_eq!(
        std::fs::read(sandbox.project().join("package.json")).unwrap(),
        manifest
    );

    std::fs::write(
        sandbox.project().join("warden.toml"),
        "[settings]\nmin-release-age = 48\n",
    )
    .unwrap();
    let out = Output::of(warden(&sandbox).args(["npm", "install", "benign-lib"])).expect_code(78);
    assert!(out.stderr.contains("warden.toml:2:19"), "{}", out.stderr);
}

#[test]
fn npx_runs_only_what_was_checked() {
    let registry = TestRegistry::with_scenarios(&["realism", "malicious", "npm-guard"]);
    let sandbox = Sandbox::new();
    let manifest = project(&sandbox);
    let out = Output::of(
        warden(&sandbox)
            .env("npm_config_registry", registry.npm_url())
            .args(["npx", "hello-cli", "the", "guard"]),
    )
    .expect_code(0);
    assert!(
        out.stdout.contains("hello from the guard"),
        "{}",
        out.stdout
    );
    assert!(
        !sandbox.project().join("node_modules").exists(),
        "installed in a scratch project"
    );
    assert_eq!(
        std::fs::read(sandbox.project().join("package.json")).unwrap(),
        manifest
    );

    let out = npm(&registry, &sandbox, &["exec", "--", "evil-dropper"]).expect_code(77);
    assert!(
        out.stdout.contains("download-and-execute"),
        "{}",
        out.stdout
    );
    assert!(!sandbox.canary("evil-dropper").exists());
}

#[test]
fn a_blocked_install_leaves_an_existing_lockfile_and_node_modules_alone() {
    let registry = TestRegistry::with_scenarios(&["realism", "malicious", "npm-guard"]);
    let sandbox = Sandbox::new();
    project(&sandbox);
    npm(&registry, &sandbox, &["install", "benign-lib"]).expect_code(0);
    let manifest = std::fs::read(sandbox.project().join("package.json")).unwrap();
    let lock = std::fs::read(sandbox.project().join("package-lock.json")).unwrap();
    npm(&registry, &sandbox, &["install", "app-helper"]).expect_code(77);
    assert_eq!(
        std::fs::read(sandbox.project().join("package.json")).unwrap(),
        manifest
    );
    assert_eq!(
        std::fs::read(sandbox.project().join("package-lock.json")).unwrap(),
        lock
    );
    assert_eq!(installed(&sandbox, "benign-lib").as_deref(), Some("1.1.0"));
    assert!(installed(&sandbox, "evil-dropper").is_none());
    assert!(!sandbox.canary("evil-dropper").exists());
}

#[test]
fn a_workspace_project_is_planned_with_its_members() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    std::fs::write(
        sandbox.project().join("package.json"),
        r#"{"name": "mono", "version": "1.0.0", "private": true, "workspaces": ["packages/*"]}"#,
    )
    .unwrap();
    let member = sandbox.project().join("packages/a");
    std::fs::create_dir_all(&member).unwrap();
    std::fs::write(
        member.join("package.json"),
        r#"{"name": "a", "version": "1.0.0", "dependencies": {"benign-lib": "^1.0.0"}}"#,
    )
    .unwrap();
    npm(&registry, &sandbox, &["install"]).expect_code(0);
    assert_eq!(installed(&sandbox, "benign-lib").as_deref(), Some("1.1.0"));
    assert!(
        sandbox.project().join("node_modules/a").exists(),
        "the member is linked"
    );
}

#[test]
fn global_installs_are_checked_and_pinned() {
    let registry = TestRegistry::with_scenarios(&["realism", "malicious", "npm-guard"]);
    let sandbox = Sandbox::new();
    let prefix = sandbox.root().join("global");
    let global = |args: &[&str]| {
        Output::of(
            warden(&sandbox)
                .env("npm_config_registry", registry.npm_url())
                .env("npm_config_prefix", &prefix)
                .arg("npm")
                .args(args),
        )
    };
    global(&["install", "-g", "app-helper"]).expect_code(77);
    assert!(!prefix.join("lib/node_modules/app-helper").exists());
    assert!(!sandbox.canary("evil-dropper").exists());

    global(&["install", "-g", "hello-cli"]).expect_code(0);
    let out = Output::of(sandbox.command(prefix.join("bin/hello-cli")).arg("world")).expect_code(0);
    assert_eq!(out.stdout.trim(), "hello from world");
}

#[test]
fn flags_with_separate_values_never_turn_install_scripts_back_on() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let url = registry.npm_url();
    // canary-postinstall is young (a warning), so its script is skipped: a
    // flag whose value stood apart once let it run.
    let cases: [&[&str]; 4] = [
        &["--registry", &url],
        &["--omit", "dev"],
        &["--loglevel", "warn"],
        &["--ignore-scripts=false", "--registry"],
    ];
    for extra in cases {
        let sandbox = Sandbox::new();
        project(&sandbox);
        let mut args = vec!["install", "canary-postinstall"];
        args.extend_from_slice(extra);
        let out = npm(&registry, &sandbox, &args).expect_code(0);
        assert!(
            out.stdout.contains("install scripts skipped"),
            "{extra:?}: {}",
            out.stdout
        );
        assert_eq!(
            installed(&sandbox, "canary-postinstall").as_deref(),
            Some("1.0.0"),
            "{extra:?}"
        );
        assert!(
            !sandbox.canary("canary-postinstall").exists(),
            "{extra:?}: the skipped script ran"
        );
    }
}

fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = e.path();
            out.push(path.strip_prefix(dir).unwrap().display().to_string());
            if path.is_dir() && !path.is_symlink() {
                dirs.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The project as it stood: what a failed or interrupted install must put
/// back.
struct Before {
    manifest: Vec<u8>,
    lock: Vec<u8>,
    modules: Vec<String>,
}

/// A project with benign-lib installed, and hello-cli's verdict already
/// cached, so warden will not download hello-cli again (npm, with an
/// empty cache, must).
fn installed_with_hello_cli_checked(registry: &TestRegistry, sandbox: &Sandbox) -> Before {
    project(sandbox);
    npm(registry, sandbox, &["install", "benign-lib"]).expect_code(0);
    Output::of(
        warden(sandbox)
            .env("npm_config_registry", registry.npm_url())
            .args(["--dry-run", "npm", "install", "hello-cli"]),
    )
    .expect_code(0);
    let modules = tree(&sandbox.project().join("node_modules"));
    assert!(modules.iter().any(|m| m == "benign-lib/package.json"));
    Before {
        manifest: std::fs::read(sandbox.project().join("package.json")).unwrap(),
        lock: std::fs::read(sandbox.project().join("package-lock.json")).unwrap(),
        modules,
    }
}

fn assert_as_before(sandbox: &Sandbox, before: &Before) {
    assert_eq!(
        std::fs::read(sandbox.project().join("package.json")).unwrap(),
        before.manifest,
        "package.json put back"
    );
    assert_eq!(
        std::fs::read(sandbox.project().join("package-lock.json")).unwrap(),
        before.lock,
        "the lockfile put back"
    );
    assert_eq!(
        tree(&sandbox.project().join("node_modules")),
        before.modules,
        "node_modules put back"
    );
    let mut left = files(&sandbox.project());
    left.retain(|f| f != ".warden");
    assert_eq!(left, ["node_modules", "package-lock.json", "package.json"]);
}

#[test]
fn a_failed_install_leaves_the_project_as_it_was() {
    let registry = TestRegistry::with_scenarios(&["realism", "npm-guard"]);
    let sandbox = Sandbox::new();
    let before = installed_with_hello_cli_checked(&registry, &sandbox);
    npm(&registry, &sandbox, &["install", "hello-cli", "--dry-run"]).expect_code(64);
    // npm, with an empty cache, must fetch hello-cli's tarball: that fails.
    registry.fault("/npm/hello-cli/-/", Fault::Status(503), None);
    let out = Output::of(
        warden(&sandbox)
            .env("npm_config_registry", registry.npm_url())
            .env("npm_config_cache", sandbox.root().join("cache/npm-empty"))
            .env("npm_config_fetch_retries", "0")
            .args(["-y", "npm", "install", "hello-cli"]),
    );
    assert!(
        !matches!(out.code, Some(0 | 64 | 69 | 77 | 78)),
        "npm's own failure code: {:?}\n{}\n{}",
        out.code,
        out.stdout,
        out.stderr
    );
    assert_as_before(&sandbox, &before);
    let log = std::fs::read_to_string(sandbox.project().join(".warden/decisions.jsonl")).unwrap();
    let last = log.lines().last().unwrap();
    assert!(last.contains("\"outcome\":\"failed\""), "{last}");
    assert!(last.contains("\"approval\":\"not-needed\""), "{last}");
}

#[test]
fn the_projects_own_scripts_run_after_the_dependencies_unless_turned_off() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    let script = "node -e \"const fs=require('fs');fs.writeFileSync(process.env.WARDEN_CANARY_DIR+'/own-'+process.env.npm_lifecycle_event, fs.existsSync('node_modules/benign-lib/package.json')?'after':'before')\"";
    let manifest = serde_json::json!({
        "name": "app", "version": "1.0.0", "private": true,
        "scripts": {"postinstall": script, "prepare": script}
    });
    std::fs::create_dir_all(sandbox.canary_dir()).unwrap();
    std::fs::write(sandbox.project().join("package.json"), manifest.to_string()).unwrap();
    let out = npm(&registry, &sandbox, &["install", "benign-lib"]).expect_code(0);
    assert!(
        out.stderr.contains("the project's own scripts run"),
        "{}",
        out.stderr
    );
    for event in ["postinstall", "prepare"] {
        let canary = sandbox.canary(&format!("own-{event}"));
        assert_eq!(
            std::fs::read_to_string(&canary).ok().as_deref(),
            Some("after"),
            "{event} ran after the dependencies"
        );
        std::fs::remove_file(canary).unwrap();
    }
    npm(&registry, &sandbox, &["ci"]).expect_code(0);
    assert!(
        sandbox.canary("own-postinstall").exists(),
        "npm ci runs them too"
    );
    std::fs::remove_file(sandbox.canary("own-postinstall")).unwrap();

    std::fs::write(
        sandbox.project().join("warden.toml"),
        "[settings]\nproject-scripts = false\n",
    )
    .unwrap();
    npm(&registry, &sandbox, &["ci"]).expect_code(0);
    assert!(!sandbox.canary("own-postinstall").exists(), "turned off");
}

#[test]
fn a_declined_prompt_is_not_a_policy_block() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    project(&sandbox);
    // A terminal to ask on: `script` gives warden one; the answer is "n".
    let command = format!(
        "{} npm install canary-postinstall",
        env!("CARGO_BIN_EXE_warden")
    );
    let out = Output::of(
        sandbox
            .command("sh")
            .env("npm_config_registry", registry.npm_url())
            .args([
                "-c",
                &format!("printf 'n\\n' | script -qec '{command}' /dev/null"),
            ]),
    );
    assert_eq!(out.code, Some(77), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("2 packages have warnings: install anyway? [y/N]"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("declined at the prompt"),
        "{}",
        out.stdout
    );
    // Nothing said it was going on before the answer.
    assert!(
        !out.stdout.contains("allowed: running npm"),
        "{}",
        out.stdout
    );
    assert!(installed(&sandbox, "canary-postinstall").is_none());
    let log = std::fs::read_to_string(sandbox.project().join(".warden/decisions.jsonl")).unwrap();
    let line = log.lines().last().unwrap();
    assert!(
        line.contains("\"outcome\":\"declined\"") && line.contains("\"approval\":\"prompt\""),
        "{line}"
    );

    // Blocked by policy, and installed without a terminal: each says so.
    npm(&registry, &sandbox, &["install", "canary-postinstall"]).expect_code(0);
    let log = std::fs::read_to_string(sandbox.project().join(".warden/decisions.jsonl")).unwrap();
    let line = log.lines().last().unwrap();
    assert!(
        line.contains("\"outcome\":\"installed\"")
            && line.contains("\"approval\":\"non-interactive\""),
        "{line}"
    );
    assert!(line.contains("\"scripts\":\"skipped\""), "{line}");
}

#[test]
fn a_declined_prompt_under_json_keeps_stdout_one_document() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    project(&sandbox);
    // The prompt's terminal is stdin and stderr; stdout goes to a file.
    let report = sandbox.root().join("report.json");
    let command = format!(
        "{} --format json npm install canary-postinstall > {}",
        env!("CARGO_BIN_EXE_warden"),
        report.display()
    );
    let out = Output::of(
        sandbox
            .command("sh")
            .env("npm_config_registry", registry.npm_url())
            .args([
                "-c",
                &format!("printf 'n\\n' | script -qec '{command}' /dev/null"),
            ]),
    );
    assert_eq!(out.code, Some(77), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("install anyway? [y/N]"),
        "{}",
        out.stdout
    );
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    crate::check::assert_valid(&crate::check::report_schema(), &doc, "declined");
    assert_eq!(doc["outcome"], "declined", "{doc}");
    assert_eq!(doc["approval"], "prompt", "{doc}");
    assert_eq!(doc["exit_code"], 77, "{doc}");
    assert!(installed(&sandbox, "canary-postinstall").is_none());
}

/// Interrupts warden as Ctrl-C would: it exits 130 promptly, having
/// stopped what it ran.
fn interrupt(child: std::process::Child) {
    let interrupted = std::time::Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        interrupted.elapsed().as_secs() < 10,
        "the package manager was interrupted, not waited out"
    );
}

#[test]
fn an_interrupted_install_stops_npm_and_puts_the_project_back() {
    let registry = TestRegistry::with_scenarios(&["realism", "npm-guard"]);
    let sandbox = Sandbox::new();
    let before = installed_with_hello_cli_checked(&registry, &sandbox);
    // npm's download of hello-cli hangs; warden is interrupted meanwhile.
    registry.fault(
        "/npm/hello-cli/-/",
        Fault::Delay(std::time::Duration::from_secs(30)),
        None,
    );
    let child = warden(&sandbox)
        .env("npm_config_registry", registry.npm_url())
        .env("npm_config_cache", sandbox.root().join("cache/npm-empty"))
        .args(["-y", "npm", "install", "hello-cli"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    // npm ci is running once warden has set node_modules aside.
    let aside = || {
        files(&sandbox.project())
            .iter()
            .any(|f| f.starts_with(".node_modules.warden-"))
    };
    while !aside() {
        assert!(started.elapsed().as_secs() < 60, "npm ci never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    interrupt(child);
    assert_as_before(&sandbox, &before);
}

#[test]
fn an_interrupt_while_npm_plans_leaves_no_copy_of_the_npmrc() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    project(&sandbox);
    std::fs::write(
        sandbox.project().join(".npmrc"),
        "//127.0.0.1/:_authToken=not-a-real-token\n",
    )
    .unwrap();
    let tmp = sandbox.root().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    // npm's planning run hangs on the package document.
    registry.fault(
        "/npm/benign-lib",
        Fault::Delay(std::time::Duration::from_secs(30)),
        None,
    );
    let child = warden(&sandbox)
        .env("npm_config_registry", registry.npm_url())
        .env("TMPDIR", &tmp)
        .args(["npm", "install", "benign-lib"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let copies = || {
        tree(&tmp)
            .into_iter()
            .filter(|f| f.ends_with(".npmrc"))
            .count()
    };
    let started = std::time::Instant::now();
    while copies() == 0 {
        assert!(started.elapsed().as_secs() < 60, "npm never planned");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    interrupt(child);
    assert_eq!(copies(), 0, "{:?}", tree(&tmp));
    let mut left = files(&sandbox.project());
    left.retain(|f| f != ".warden");
    assert_eq!(left, [".npmrc", "package.json"]);
}

/// The project's lockfile with `integrity` taken out of benign-lib's entries.
fn strip_integrity(sandbox: &Sandbox) -> Vec<u8> {
    let path = sandbox.project().join("package-lock.json");
    let mut lock: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for pointer in [
        "/packages/node_modules~1benign-lib",
        "/dependencies/benign-lib",
    ] {
        if let Some(entry) = lock.pointer_mut(pointer).and_then(|e| e.as_object_mut()) {
            entry.remove("integrity");
        }
    }
    let bytes = serde_json::to_vec_pretty(&lock).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    bytes
}

#[test]
fn a_lockfile_without_integrity_installs_only_the_bytes_checked() {
    let registry = TestRegistry::with_scenarios(&["realism", "malicious"]);
    let sandbox = Sandbox::new();
    project(&sandbox);
    npm(&registry, &sandbox, &["install", "benign-lib"]).expect_code(0);
    let lock = strip_integrity(&sandbox);
    std::fs::remove_dir_all(sandbox.project().join("node_modules")).unwrap();
    let ci = |cache: &str| {
        Output::of(
            warden(&sandbox)
                .env("npm_config_registry", registry.npm_url())
                .env("npm_config_cache", sandbox.root().join(cache))
                .env("npm_config_fetch_retries", "0")
                .args(["-y", "npm", "ci"]),
        )
    };
    // After warden's check, the registry serves other bytes for the same
    // version: npm, held to the digest warden checked, refuses them.
    let path = "/npm/benign-lib/-/benign-lib-1.1.0.tgz";
    let evil = &registry.npm_built[&("evil-dropper".to_owned(), "1.0.1".to_owned())];
    registry.serve_raw(path, "application/octet-stream", evil.tarball.to_vec());
    let out = ci("cache/npm-a");
    assert!(
        !matches!(out.code, Some(0 | 64 | 69 | 77 | 78)),
        "npm refused the swapped bytes: {:?}\n{}\n{}",
        out.code,
        out.stdout,
        out.stderr
    );
    assert!(out.stderr.contains("integrity"), "{}", out.stderr);
    assert!(installed(&sandbox, "benign-lib").is_none());
    assert!(!sandbox.canary("evil-dropper").exists());
    assert_eq!(
        std::fs::read(sandbox.project().join("package-lock.json")).unwrap(),
        lock,
        "the lockfile is the user's"
    );
    // With the checked bytes served, the install goes through, and the
    // lockfile is left as the user wrote it.
    let good = &registry.npm_built[&("benign-lib".to_owned(), "1.1.0".to_owned())];
    registry.serve_raw(path, "application/octet-stream", good.tarball.to_vec());
    ci("cache/npm-b").expect_code(0);
    assert_eq!(installed(&sandbox, "benign-lib").as_deref(), Some("1.1.0"));
    assert_eq!(
        std::fs::read(sandbox.project().join("package-lock.json")).unwrap(),
        lock
    );
}

#[test]
fn a_lockfile_path_to_a_local_tarball_is_checked_as_that_file() {
    let registry = TestRegistry::with_scenarios(&["realism", "malicious"]);
    let sandbox = Sandbox::new();
    // benign-lib 1.1.0 on the registry is clean; the lockfile installs a
    // file beside the project under its name.
    let evil = &registry.npm_built[&("evil-dropper".to_owned(), "1.0.1".to_owned())];
    std::fs::write(sandbox.root().join("x.tgz"), evil.tarball.as_slice()).unwrap();
    std::fs::write(
        sandbox.project().join("package.json"),
        r#"{"name": "app", "version": "1.0.0", "private": true, "dependencies": {"benign-lib": "1.1.0"}}"#,
    )
    .unwrap();
    std::fs::write(
        sandbox.project().join("package-lock.json"),
        r#"{"name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": true, "packages": {
          "": {"name": "app", "version": "1.0.0", "dependencies": {"benign-lib": "1.1.0"}},
          "node_modules/benign-lib": {"version": "1.1.0", "resolved": "../x.tgz", "hasInstallScript": true}}}"#,
    )
    .unwrap();
    let out = npm(&registry, &sandbox, &["ci"]).expect_code(77);
    assert!(out.stdout.contains("non-registry-source"), "{}", out.stdout);
    assert!(
        out.stdout.contains("download-and-execute"),
        "{}",
        out.stdout
    );
    assert!(!sandbox.canary("evil-dropper").exists());
    assert!(!sandbox.project().join("node_modules").exists());
}

#[test]
fn a_file_dependency_outside_the_project_installs_as_with_npm() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    let lib = sandbox.root().join("libs/x");
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::write(
        lib.join("package.json"),
        r#"{"name": "x", "version": "1.0.0", "main": "index.js"}"#,
    )
    .unwrap();
    std::fs::write(lib.join("index.js"), "module.exports = 'x, linked';\n").unwrap();
    std::fs::write(
        sandbox.project().join("package.json"),
        format!(
            r#"{{"name": "app", "version": "1.0.0", "private": true, "dependencies": {{"x": "file:{}", "benign-lib": "^1.0.0"}}}}"#,
            lib.display()
        ),
    )
    .unwrap();
    npm(&registry, &sandbox, &["install"]).expect_code(0);
    let out = Output::of(
        sandbox
            .command("node")
            .args(["-e", "console.log(require('x'))"]),
    )
    .expect_code(0);
    assert_eq!(out.stdout.trim(), "x, linked");
    assert_eq!(installed(&sandbox, "benign-lib").as_deref(), Some("1.1.0"));
    // The lockfile leads to the folder from the project: npm ci agrees.
    std::fs::remove_dir_all(sandbox.project().join("node_modules")).unwrap();
    npm(&registry, &sandbox, &["ci"]).expect_code(0);
    assert_eq!(installed(&sandbox, "benign-lib").as_deref(), Some("1.1.0"));
}

#[test]
fn npms_own_script_allow_list_agrees_with_warden() {
    // npm 11.16 and later keep an allow-list of their own: the script
    // warden approves runs (npm 12 would block it), and npm does not
    // advise approving the one warden skipped.
    let registry = TestRegistry::with_scenarios(&["realism", "npm-guard"]);
    let sandbox = Sandbox::new();
    project(&sandbox);
    std::fs::write(
        sandbox.project().join("warden.toml"),
        "[[allow]]\npackage = \"npm:env-probe\"\nscripts = true\nreason = \"test probe\"\nexpires = \"2099-01-01\"\n",
    )
    .unwrap();
    let out = Output::of(
        warden(&sandbox)
            .env("npm_config_registry", registry.npm_url())
            .args(["-y", "npm", "install", "canary-postinstall", "env-probe"]),
    )
    .expect_code(0);
    assert!(
        sandbox.canary("env-probe.env").exists(),
        "the approved script ran"
    );
    assert!(
        !sandbox.canary("canary-postinstall").exists(),
        "the script warden did not approve did not run"
    );
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(
        !said.contains("allowScripts") && !said.contains("install-scripts approve"),
        "npm's advice contradicts warden's report: {said}"
    );
    assert!(
        said.contains("install scripts skipped"),
        "warden says what it skipped: {said}"
    );
}

#[test]
fn a_payload_in_the_main_module_is_blocked_though_nothing_runs_at_install() {
    // The chalk/debug shape: no install script, a release past the minimum
    // age from the usual publisher, and code that runs on `require`.
    let registry = TestRegistry::with_scenarios(&["malicious"]);
    let sandbox = Sandbox::new();
    project(&sandbox);
    let out = npm(&registry, &sandbox, &["install", "runtime-payload@1.0.1"]).expect_code(77);
    assert!(out.stdout.contains("decode-and-execute"), "{}", out.stdout);
    assert!(
        out.stdout.contains("when the package is loaded"),
        "{}",
        out.stdout
    );
    assert!(installed(&sandbox, "runtime-payload").is_none());
    // Loading it now finds nothing to load, so nothing ran.
    Output::of(
        sandbox
            .command("node")
            .args(["-e", "require('runtime-payload')"])
            .current_dir(sandbox.project()),
    );
    assert!(!sandbox.canary("runtime-payload").exists());
    // The version before it, without the payload, installs.
    npm(&registry, &sandbox, &["install", "runtime-payload@1.0.0"]).expect_code(0);
}

#[test]
fn a_release_that_adds_obfuscated_code_on_load_is_blocked_against_the_version_installed() {
    // The chalk/debug shape with nothing a rule denies on its own: a patch
    // release whose main module gains obfuscator-style code, from the usual
    // publisher, past the minimum age, no install script. Only comparing it
    // with the version the project has finds it.
    let registry = TestRegistry::with_scenarios(&["malicious"]);
    let sandbox = Sandbox::new();
    project(&sandbox);
    npm(&registry, &sandbox, &["install", "hijacked-lib@1.0.0"]).expect_code(0);
    let lockfile = sandbox.project().join("package-lock.json");
    let locked = std::fs::read(&lockfile).unwrap();
    let out = npm(&registry, &sandbox, &["install", "hijacked-lib@1.0.1"]).expect_code(77);
    for needle in [
        "runtime-code-added",
        "obfuscated-identifiers",
        "index.js",
        "new since 1.0.0",
    ] {
        assert!(out.stdout.contains(needle), "{needle}: {}", out.stdout);
    }
    // The project keeps what it had, and loading it runs no payload.
    assert_eq!(
        installed(&sandbox, "hijacked-lib").as_deref(),
        Some("1.0.0")
    );
    assert_eq!(std::fs::read(&lockfile).unwrap(), locked);
    Output::of(
        sandbox
            .command("node")
            .args(["-e", "require('hijacked-lib')"])
            .current_dir(sandbox.project()),
    )
    .expect_code(0);
    assert!(!sandbox.canary("obfuscated-payload").exists());
    // A fresh project has no version to compare with: the release before
    // is the baseline, and the verdict is the same.
    let fresh = Sandbox::new();
    project(&fresh);
    let out = npm(&registry, &fresh, &["install", "hijacked-lib@1.0.1"]).expect_code(77);
    assert!(out.stdout.contains("runtime-code-added"), "{}", out.stdout);
    assert!(installed(&fresh, "hijacked-lib").is_none());
}

#[test]
fn a_first_release_whose_install_script_uses_the_network_is_blocked() {
    // Nothing earlier to compare with: a new package's install code that
    // talks to the network is judged on its own.
    let registry = TestRegistry::with_scenarios(&["malicious"]);
    let sandbox = Sandbox::new();
    project(&sandbox);
    let out = npm(&registry, &sandbox, &["install", "fresh-fetcher"]).expect_code(77);
    assert!(out.stdout.contains("first-release"), "{}", out.stdout);
    assert!(out.stdout.contains("network-send"), "{}", out.stdout);
    assert!(installed(&sandbox, "fresh-fetcher").is_none());
    assert!(
        !sandbox.canary("fresh-fetcher").exists(),
        "postinstall never ran"
    );
}

#[test]
fn a_changed_install_command_is_a_warning_and_its_script_does_not_run() {
    let registry = TestRegistry::with_scenarios(&["malicious"]);
    let sandbox = Sandbox::new();
    project(&sandbox);
    let out = npm(&registry, &sandbox, &["install", "hook-changed@1.0.1"]).expect_code(0);
    assert!(
        out.stdout.contains("install-script-changed"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "postinstall: `node postinstall.js` -> `node postinstall.js && node index.js`"
        ),
        "{}",
        out.stdout
    );
    // Installed without a terminal to ask: the warned package's script is skipped.
    assert_eq!(
        installed(&sandbox, "hook-changed").as_deref(),
        Some("1.0.1")
    );
    assert!(
        !sandbox.canary("canary-postinstall").exists(),
        "postinstall never ran"
    );
}

#[test]
fn a_hook_whose_file_now_reaches_the_network_is_a_changed_install_script() {
    // `postinstall` runs `node postinstall.js` in both releases; the file is
    // what changed.
    let registry = TestRegistry::with_scenarios(&["malicious"]);
    let sandbox = Sandbox::new();
    project(&sandbox);
    let out = npm(&registry, &sandbox, &["install", "hook-file-changed@1.0.1"]).expect_code(0);
    for needle in [
        "install-script-changed",
        "network-send: postinstall.js",
        "new since 1.0.0",
    ] {
        assert!(out.stdout.contains(needle), "{needle}: {}", out.stdout);
    }
    // Installed without a terminal to ask: the warned package's script is skipped.
    assert_eq!(
        installed(&sandbox, "hook-file-changed").as_deref(),
        Some("1.0.1")
    );
    assert!(
        !sandbox.canary("hook-fetcher").exists(),
        "postinstall never ran"
    );
}

#[test]
fn a_git_dependency_is_read_from_its_checkout_prepare_included() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    project(&sandbox);
    // A repository made from testdata/sources/npm/git-prepare.
    let repo = sandbox.root().join("repos/git-prepare");
    std::fs::create_dir_all(&repo).unwrap();
    let source =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sources/npm/git-prepare");
    for f in files(&source) {
        std::fs::copy(source.join(&f), repo.join(&f)).unwrap();
    }
    for args in [
        &["init", "--quiet", "-b", "main"][..],
        &["add", "."],
        &["commit", "--quiet", "-m", "release"],
    ] {
        Output::of(
            sandbox
                .command("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@example.org", "-C"])
                .arg(&repo)
                .args(args),
        )
        .expect_code(0);
    }
    // npm 12 fetches git dependencies only when the project opts in.
    std::fs::write(sandbox.project().join(".npmrc"), "allow-git=root\n").unwrap();
    let spec = format!("git+file://{}", repo.display());
    let out = npm(&registry, &sandbox, &["install", &spec]).expect_code(77);
    assert!(out.stdout.contains("non-registry-source"), "{}", out.stdout);
    assert!(out.stdout.contains("decode-and-execute"), "{}", out.stdout);
    assert!(out.stdout.contains("prepare"), "{}", out.stdout);
    assert!(installed(&sandbox, "git-prepare").is_none());
    assert!(!sandbox.canary("git-prepare").exists(), "prepare never ran");
}

#[test]
fn a_tarball_url_dependency_is_downloaded_and_read() {
    // npm installs `https://host/any.tgz` as it is: the tarball, not the
    // registry's document, is what runs. warden fetches and reads it.
    let registry = TestRegistry::with_scenarios(&["malicious"]);
    let serve = |path: &str, name: &str, version: &str| {
        let built = &registry.npm_built[&(name.to_owned(), version.to_owned())];
        registry.serve_raw(
            path,
            "application/octet-stream",
            built.tarball.as_slice().to_vec(),
        );
        format!("{}{path}", registry.base_url())
    };
    let evil = serve("/downloads/helper.tgz", "evil-dropper", "1.0.1");
    // (hijacked-lib 1.0.0 is the plain library before its bad release.)
    let benign = serve("/downloads/adder.tgz", "hijacked-lib", "1.0.0");
    let sandbox = Sandbox::new();
    project(&sandbox);
    // npm 12 fetches remote tarballs only when the project opts in.
    std::fs::write(sandbox.project().join(".npmrc"), "allow-remote=root\n").unwrap();
    let out = npm(&registry, &sandbox, &["install", &evil]).expect_code(77);
    for needle in ["non-registry-source", "download-and-execute", "helper.tgz"] {
        assert!(out.stdout.contains(needle), "{needle}: {}", out.stdout);
    }
    assert!(installed(&sandbox, "evil-dropper").is_none());
    assert!(
        !sandbox.canary("evil-dropper").exists(),
        "postinstall never ran"
    );
    // A clean tarball from a URL is a warning (it bypasses the registry's
    // history), and installs.
    let out = npm(&registry, &sandbox, &["install", &benign]).expect_code(0);
    assert!(out.stdout.contains("non-registry-source"), "{}", out.stdout);
    assert_eq!(
        installed(&sandbox, "hijacked-lib").as_deref(),
        Some("1.0.0")
    );
}

#[test]
fn registry_signatures_are_verified_before_anything_installs() {
    let registry = TestRegistry::with_scenarios(&["signatures"]);
    // Signed by the registry's key over the integrity npm installs: clean.
    let sandbox = Sandbox::new();
    project(&sandbox);
    let out = npm(&registry, &sandbox, &["install", "signed-lib"]).expect_code(0);
    assert!(!out.stdout.contains("signature-"), "{}", out.stdout);
    assert_eq!(installed(&sandbox, "signed-lib").as_deref(), Some("1.0.0"));
    // Bytes swapped after signing, a key the registry never published, a
    // key that had expired: blocked, and the swapped package's
    // postinstall never runs.
    for (package, why) in [
        ("swapped-lib", "does not verify"),
        ("foreign-key-lib", "a key the registry does not publish"),
        ("expired-key-lib", "expired"),
    ] {
        let sandbox = Sandbox::new();
        project(&sandbox);
        let out = npm(&registry, &sandbox, &["install", package]).expect_code(77);
        assert!(
            out.stdout.contains("signature-invalid"),
            "{package}: {}",
            out.stdout
        );
        assert!(out.stdout.contains(why), "{package}: {}", out.stdout);
        assert!(installed(&sandbox, package).is_none(), "{package}");
        // (swapped-lib's postinstall writes this canary when it runs.)
        assert!(
            !sandbox.canary("canary-postinstall").exists(),
            "{package}: postinstall never ran"
        );
    }
    // One release the registry did not sign, where it signs the others: a
    // warning.
    let sandbox = Sandbox::new();
    project(&sandbox);
    let out = npm(&registry, &sandbox, &["install", "unsigned-release@1.0.1"]).expect_code(0);
    assert!(out.stdout.contains("signature-missing"), "{}", out.stdout);
    // A mirror that serves no signatures: never "verified". The default
    // policy fails closed on what a registry leaves out; `registry-gaps =
    // "note"` goes on and says so.
    let sandbox = Sandbox::new();
    project(&sandbox);
    let out = npm(&registry, &sandbox, &["install", "mirrored-lib"]).expect_code(69);
    assert!(out.stdout.contains("serves no signature"), "{}", out.stdout);
    assert!(installed(&sandbox, "mirrored-lib").is_none());
    std::fs::write(
        sandbox.project().join("warden.toml"),
        "[settings]\nregistry-gaps = \"note\"\n",
    )
    .unwrap();
    let out = npm(&registry, &sandbox, &["install", "mirrored-lib"]).expect_code(0);
    assert!(out.stdout.contains("serves no signature"), "{}", out.stdout);
    assert_eq!(
        installed(&sandbox, "mirrored-lib").as_deref(),
        Some("1.0.0")
    );
}

#[test]
fn provenance_is_verified_and_its_signer_held_to_the_history() {
    let registry = TestRegistry::with_scenarios(&["provenance"]);
    // Bundles that verify for the bytes npm installs, signed by the same
    // repository as before: clean, and installed.
    let sandbox = Sandbox::new();
    project(&sandbox);
    let out = npm(&registry, &sandbox, &["install", "prov-lib"]).expect_code(0);
    assert!(!out.stdout.contains("attestation-"), "{}", out.stdout);
    assert!(!out.stdout.contains("provenance-"), "{}", out.stdout);
    assert_eq!(installed(&sandbox, "prov-lib").as_deref(), Some("1.1.0"));
    // A tarball swapped after signing, a bundle for another digest, a
    // certificate from a CA the trusted root does not hold, a claim with
    // no signature, a release signed from a fork, a bundle dropped: each
    // blocked, and no postinstall ran.
    for (package, code, why) in [
        ("prov-swapped", "attestation-invalid", "does not match"),
        ("prov-other-digest", "attestation-invalid", "does not match"),
        ("prov-unknown-ca", "attestation-invalid", "certificate"),
        ("prov-unsigned", "attestation-invalid", ""),
        (
            "prov-forked",
            "provenance-identity-changed",
            "https://github.com/attacker/prov-forked",
        ),
        ("prov-dropped", "provenance-dropped", "1.0.0 had"),
    ] {
        let sandbox = Sandbox::new();
        project(&sandbox);
        let out = npm(&registry, &sandbox, &["install", package]).expect_code(77);
        assert!(out.stdout.contains(code), "{package}: {}", out.stdout);
        assert!(
            out.stdout.to_lowercase().contains(&why.to_lowercase()),
            "{package}: {}",
            out.stdout
        );
        assert!(installed(&sandbox, package).is_none(), "{package}");
        assert!(
            !sandbox.canary("canary-postinstall").exists(),
            "{package}: postinstall never ran"
        );
    }
    // The registry keeps the claim and stops serving the bundle (a mirror
    // that does not proxy attestations): unknown, never "verified".
    registry.fault("/npm/-/npm/v1/attestations/", Fault::Status(404), None);
    let sandbox = Sandbox::new();
    project(&sandbox);
    let out = npm(&registry, &sandbox, &["install", "prov-lib"]).expect_code(69);
    assert!(out.stdout.contains("names no source"), "{}", out.stdout);
    assert!(installed(&sandbox, "prov-lib").is_none());
    registry.clear_faults();
    // A policy that pins the package to its repository accepts it; pinned
    // to another, the verified signer does not match and it is blocked.
    for (repository, exit) in [("example/prov-lib", 0), ("example/elsewhere", 77)] {
        let sandbox = Sandbox::new();
        project(&sandbox);
        std::fs::write(
            sandbox.project().join("warden.toml"),
            format!(
                "[[trust]]\npackage = \"npm:prov-lib\"\nrepository = \"{repository}\"\nworkflow = \".github/workflows/release.yml\"\n"
            ),
        )
        .unwrap();
        let out = npm(&registry, &sandbox, &["install", "prov-lib"]).expect_code(exit);
        assert_eq!(
            out.stdout.contains("provenance-pinned"),
            exit == 77,
            "{repository}: {}",
            out.stdout
        );
    }
}
