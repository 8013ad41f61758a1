//! `warden pip` with the real pip in fresh virtual environments against the
//! loopback index: exit codes, what got installed, which canary never fired.

use std::path::PathBuf;

use warden_testkit::{Fault, Output, Sandbox, TestRegistry};

use crate::warden;

/// `warden ...` with the venv's pip first on `PATH`, as an activated
/// virtual environment has it.
fn in_venv(sandbox: &Sandbox, venv: &std::path::Path) -> std::process::Command {
    let mut cmd = warden(sandbox);
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.env("PATH", format!("{}:{path}", venv.join("bin").display()));
    cmd.env("VIRTUAL_ENV", venv);
    cmd
}

fn pip(
    registry: &TestRegistry,
    sandbox: &Sandbox,
    venv: &std::path::Path,
    args: &[&str],
) -> Output {
    Output::of(
        in_venv(sandbox, venv)
            .env("PIP_INDEX_URL", registry.simple_url())
            .arg("pip")
            .args(args),
    )
}

fn python(sandbox: &Sandbox, venv: &std::path::Path, code: &str) -> Output {
    Output::of(sandbox.command(venv.join("bin/python")).args(["-c", code]))
}

fn venv(sandbox: &Sandbox) -> PathBuf {
    sandbox.venv()
}

#[test]
fn a_malicious_pth_is_blocked_and_never_runs() {
    let registry = TestRegistry::with_scenarios(&["malicious"]);
    let sandbox = Sandbox::new();
    let venv = venv(&sandbox);
    let out = pip(&registry, &sandbox, &venv, &["install", "evil-pth"]).expect_code(77);
    assert!(out.stdout.contains("startup-hook"), "{}", out.stdout);
    // Start the environment's Python: a planted .pth would run now.
    python(&sandbox, &venv, "import sys").expect_code(0);
    assert!(
        !sandbox.canary("evil-pth").exists(),
        "the start-up hook never ran"
    );
    python(&sandbox, &venv, "import evil_pth").expect_code(1);
}

#[test]
fn a_benign_wheel_is_installed_and_importable() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    let venv = venv(&sandbox);
    pip(&registry, &sandbox, &venv, &["install", "benign-wheel"]).expect_code(0);
    let out = python(
        &sandbox,
        &venv,
        "import benign_wheel; print(benign_wheel.add(40, 2))",
    )
    .expect_code(0);
    assert_eq!(out.stdout.trim(), "42");
    // `python -m pip` works the same.
    let out = Output::of(
        in_venv(&sandbox, &venv)
            .env("PIP_INDEX_URL", registry.simple_url())
            .args([
                "--dry-run",
                "python",
                "-m",
                "pip",
                "install",
                "benign-wheel",
            ]),
    )
    .expect_code(0);
    assert!(out.stdout.contains("dry run"), "{}", out.stdout);
}

#[test]
fn a_malicious_setup_py_is_blocked_without_building() {
    let registry = TestRegistry::with_scenarios(&["malicious"]);
    let sandbox = Sandbox::new();
    let venv = venv(&sandbox);
    let out = pip(&registry, &sandbox, &venv, &["install", "evil-setup"]).expect_code(77);
    assert!(
        out.stdout.contains("download-and-execute"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("sdist-build"), "{}", out.stdout);
    assert!(!sandbox.canary("evil-setup").exists(), "setup.py never ran");
}

#[test]
fn a_warning_in_build_code_is_a_deny_because_building_runs_it() {
    // A packed blob in setup.py is only a warning elsewhere; in code pip
    // runs to build, a warning would let it run, so it stops the install
    // (without a terminal nobody would be asked).
    let registry = TestRegistry::with_scenarios(&["malicious"]);
    let sandbox = Sandbox::new();
    let venv = venv(&sandbox);
    let out = pip(&registry, &sandbox, &venv, &["install", "packed-setup"]).expect_code(77);
    assert!(out.stdout.contains("high-entropy-string"), "{}", out.stdout);
    assert!(
        out.stdout.contains("in code pip runs to build the sdist"),
        "{}",
        out.stdout
    );
    assert!(
        !sandbox.canary("packed-setup").exists(),
        "setup.py never ran"
    );
}

#[test]
fn requirement_hashes_are_honoured_and_a_wrong_one_refused() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    let venv = venv(&sandbox);
    let built = registry.pypi_built["benign-wheel"]
        .iter()
        .find(|b| b.filename == "benign_wheel-1.1-py3-none-any.whl")
        .unwrap();
    let reqs = sandbox.project().join("requirements.txt");
    std::fs::write(
        &reqs,
        format!("benign-wheel==1.1 --hash=sha256:{}\n", "0".repeat(64)),
    )
    .unwrap();
    let out = pip(
        &registry,
        &sandbox,
        &venv,
        &["install", "-r", "requirements.txt"],
    );
    let out = out.expect_code(77);
    assert!(out.stdout.contains("integrity-mismatch"), "{}", out.stdout);
    python(&sandbox, &venv, "import benign_wheel").expect_code(1);
    // A verdict like any other: in the JSON report and the decision log.
    let out = Output::of(
        in_venv(&sandbox, &venv)
            .env("PIP_INDEX_URL", registry.simple_url())
            .args([
                "--format",
                "json",
                "pip",
                "install",
                "-r",
                "requirements.txt",
            ]),
    )
    .expect_code(77);
    let report = crate::json(&out);
    assert_eq!(report["outcome"], "blocked", "{report}");
    assert_eq!(
        report["packages"][0]["findings"][0]["code"],
        "integrity-mismatch"
    );
    let log = std::fs::read_to_string(sandbox.project().join(".warden/decisions.jsonl")).unwrap();
    assert!(
        log.lines().last().is_some_and(
            |l| l.contains("integrity-mismatch") && l.contains("\"outcome\":\"blocked\"")
        ),
        "{log}"
    );

    std::fs::write(
        &reqs,
        format!("benign-wheel==1.1 --hash=sha256:{}\n", built.sha256),
    )
    .unwrap();
    pip(
        &registry,
        &sandbox,
        &venv,
        &["install", "-r", "requirements.txt"],
    )
    .expect_code(0);
    python(&sandbox, &venv, "import benign_wheel").expect_code(0);
}

#[test]
fn release_age_steers_ranges_and_blocks_exact_pins() {
    let registry = TestRegistry::with_scenarios(&["pypi-guard"]);
    let sandbox = Sandbox::new();
    let venv = venv(&sandbox);
    pip(&registry, &sandbox, &venv, &["install", "py-fresh"]).expect_code(0);
    let out = Output::of(
        sandbox
            .command(venv.join("bin/pip"))
            .args(["show", "py-fresh"]),
    )
    .expect_code(0);
    assert!(out.stdout.contains("Version: 1.0"), "{}", out.stdout);
    let out = pip(&registry, &sandbox, &venv, &["install", "py-fresh==1.1"]).expect_code(77);
    assert!(out.stdout.contains("release-too-fresh"), "{}", out.stdout);
}

#[test]
fn extra_index_dependency_confusion_is_caught() {
    let public = TestRegistry::with_scenarios(&["pypi-guard"]);
    let private = TestRegistry::with_scenarios(&["private-index"]);
    let sandbox = Sandbox::new();
    let venv = venv(&sandbox);
    let out = Output::of(
        in_venv(&sandbox, &venv)
            .env("PIP_INDEX_URL", public.simple_url())
            .args(["pip", "install", "--extra-index-url"])
            .arg(private.simple_url())
            .arg("corp-utils"),
    )
    .expect_code(77);
    assert!(
        out.stdout.contains("dependency-confusion"),
        "{}",
        out.stdout
    );
    python(&sandbox, &venv, "import corp_utils").expect_code(1);
}

#[test]
fn the_index_down_is_69() {
    let sandbox = Sandbox::new();
    let venv = venv(&sandbox);
    let out = Output::of(
        in_venv(&sandbox, &venv)
            .env("PIP_INDEX_URL", "http://127.0.0.1:9/simple/")
            .env("PIP_RETRIES", "0")
            .env("PIP_TIMEOUT", "2")
            .args(["pip", "install", "benign-wheel"]),
    )
    .expect_code(69);
    assert!(out.stderr.contains("error:"), "{}", out.stderr);
}

#[test]
fn a_benign_sdist_is_built_and_installed_only_once_allowed() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    let venv = venv(&sandbox);
    // A dry run judges the sdist from its sources and builds nothing.
    let out = Output::of(
        in_venv(&sandbox, &venv)
            .env("PIP_INDEX_URL", registry.simple_url())
            .args(["--dry-run", "pip", "install", "canary-setup"]),
    );
    assert!(out.stdout.contains("sdist-build"), "{}", out.stdout);
    assert!(
        !sandbox.canary("canary-setup").exists(),
        "judging ran no setup.py"
    );
    // Under --format json the report is one JSON document: the sdist,
    // judged, stands in the plan by what its PKG-INFO declares.
    let out = Output::of(
        in_venv(&sandbox, &venv)
            .env("PIP_INDEX_URL", registry.simple_url())
            .args([
                "--dry-run",
                "--format",
                "json",
                "pip",
                "install",
                "canary-setup",
            ]),
    );
    let out = out.expect_code(0);
    let report = crate::json(&out);
    crate::check::assert_valid(&crate::check::report_schema(), &report, "pip dry run");
    assert_eq!(report["outcome"], "dry-run", "{report}");
    assert_eq!(report["summary"]["unknown"], 0, "{report}");
    assert!(report.to_string().contains("sdist-build"), "{report}");

    pip(&registry, &sandbox, &venv, &["install", "canary-setup"]).expect_code(0);
    assert!(
        sandbox.canary("canary-setup").exists(),
        "the allowed build ran"
    );
    let out = python(
        &sandbox,
        &venv,
        "import canary_setup; print(canary_setup.VALUE)",
    )
    .expect_code(0);
    assert_eq!(out.stdout.trim(), "built from source");
}

/// A project directory as a user has it: the testkit's in-tree build
/// backend, `build_requires` installed before building, a runtime
/// dependency on `benign-wheel`, and a `setup.py` that leaves a canary
/// named after the project when its build runs.
fn local_project(dir: &std::path::Path, name: &str, build_requires: &str) {
    use warden_testkit::build;
    let module = name.replace('-', "_");
    let metadata = build::core_metadata(name, "1.0", &["benign-wheel".to_owned()], "a project");
    let files = build::Files::from([
        (
            format!("{module}/__init__.py"),
            b"VALUE = 'local'\n".to_vec(),
        ),
        (
            "setup.py".to_owned(),
            format!(
                "import os, pathlib\npathlib.Path(os.environ['WARDEN_CANARY_DIR'], '{name}').write_text('built')\n"
            )
            .into_bytes(),
        ),
    ]);
    let mut tree = build::sdist_files(&metadata, &files);
    tree.insert(
        "pyproject.toml".to_owned(),
        format!(
            "[build-system]\nrequires = [\"{build_requires}\"]\nbuild-backend = \"_testkit_backend\"\nbackend-path = [\".\"]\n"
        )
        .into_bytes(),
    );
    build::write_tree(dir, &tree);
}

#[test]
fn a_local_project_is_built_only_with_checked_build_requirements() {
    let registry = TestRegistry::with_scenarios(&["realism", "malicious"]);
    let sandbox = Sandbox::new();
    let venv = venv(&sandbox);
    let app = sandbox.project().join("app");
    local_project(&app, "app", "benign-wheel");
    std::fs::write(sandbox.project().join("requirements.txt"), "-e ./app\n").unwrap();
    let out = pip(
        &registry,
        &sandbox,
        &venv,
        &["install", "-r", "requirements.txt"],
    )
    .expect_code(0);
    assert!(out.stdout.contains("benign-wheel"), "{}", out.stdout);
    let out = python(
        &sandbox,
        &venv,
        "import app, benign_wheel; print(app.VALUE, benign_wheel.add(1, 1))",
    )
    .expect_code(0);
    assert_eq!(out.stdout.trim(), "local 2");
    // Editable: the installed project is the directory itself.
    std::fs::write(app.join("app/__init__.py"), "VALUE = 'edited'\n").unwrap();
    let out = python(&sandbox, &venv, "import app; print(app.VALUE)").expect_code(0);
    assert_eq!(out.stdout.trim(), "edited");

    // A build requirement that fails the checks stops the install before
    // the project's own build starts.
    local_project(&sandbox.project().join("tool"), "tool", "evil-pth");
    let out = pip(&registry, &sandbox, &venv, &["install", "./tool"]).expect_code(77);
    assert!(out.stdout.contains("startup-hook"), "{}", out.stdout);
    assert!(
        !sandbox.canary("tool").exists(),
        "the project was not built"
    );
    python(&sandbox, &venv, "import sys").expect_code(0);
    assert!(!sandbox.canary("evil-pth").exists());
}

/// A git repository holding a source tree from `testdata/sources/pypi/`.
fn git_repo(sandbox: &Sandbox, name: &str) -> String {
    use warden_testkit::build;
    let dir = sandbox.root().join("repos").join(name);
    let files =
        warden_testkit::scenario::collect_files(Some(&format!("pypi/{name}")), &Default::default());
    let metadata = build::core_metadata(name, "0.1", &[], "from git");
    build::write_tree(&dir, &build::sdist_files(&metadata, &files));
    for args in [
        &["init", "--quiet", "-b", "main"][..],
        &["add", "."],
        &["commit", "--quiet", "-m", "release"],
        &["tag", "v0.1"],
    ] {
        Output::of(
            sandbox
                .command("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@example.org", "-C"])
                .arg(&dir)
                .args(args),
        )
        .expect_code(0);
    }
    format!("git+file://{}@v0.1", dir.display())
}

#[test]
fn a_git_requirement_is_judged_from_its_checkout_and_built_once_allowed() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    let venv = venv(&sandbox);
    let url = git_repo(&sandbox, "canary-setup");
    let out = Output::of(
        in_venv(&sandbox, &venv)
            .env("PIP_INDEX_URL", registry.simple_url())
            .args(["--dry-run", "pip", "install", &url]),
    );
    assert!(out.stdout.contains("non-registry-source"), "{}", out.stdout);
    assert!(out.stdout.contains("sdist-build"), "{}", out.stdout);
    assert!(
        out.stdout.contains("pypi:canary-setup") && out.stdout.contains("at commit"),
        "pinned by commit: {}",
        out.stdout
    );
    assert!(
        !sandbox.canary("canary-setup").exists(),
        "judging built nothing"
    );

    pip(&registry, &sandbox, &venv, &["install", &url]).expect_code(0);
    assert!(
        sandbox.canary("canary-setup").exists(),
        "the allowed build ran"
    );
    let out = python(
        &sandbox,
        &venv,
        "import canary_setup; print(canary_setup.VALUE)",
    )
    .expect_code(0);
    assert_eq!(out.stdout.trim(), "built from source");

    let url = git_repo(&sandbox, "evil-setup");
    let out = pip(
        &registry,
        &sandbox,
        &venv,
        &["install", &format!("evil-setup @ {url}")],
    )
    .expect_code(77);
    assert!(
        out.stdout.contains("download-and-execute"),
        "{}",
        out.stdout
    );
    assert!(!sandbox.canary("evil-setup").exists(), "setup.py never ran");
}

#[test]
fn an_sdist_named_by_path_or_url_is_judged_before_anything_builds() {
    let registry = TestRegistry::with_scenarios(&["malicious"]);
    let sandbox = Sandbox::new();
    let venv = venv(&sandbox);
    let sdist = &registry.pypi_built["evil-setup"][0];
    std::fs::write(
        sandbox.project().join(&sdist.filename),
        sdist.bytes.as_slice(),
    )
    .unwrap();
    let url = format!("{}/files/{}", registry.base_url(), sdist.filename);
    for requirement in [format!("./{}", sdist.filename), url] {
        let out = pip(&registry, &sandbox, &venv, &["install", &requirement]).expect_code(77);
        assert!(
            out.stdout.contains("download-and-execute"),
            "{}",
            out.stdout
        );
        assert!(out.stdout.contains("non-registry-source"), "{}", out.stdout);
        assert!(
            !sandbox.canary("evil-setup").exists(),
            "{requirement}: setup.py never ran"
        );
    }
    // What warden cannot check is refused, not passed to pip.
    let out = pip(&registry, &sandbox, &venv, &["install", "./no-such-dir/"]).expect_code(69);
    assert!(out.stderr.contains("no-such-dir"), "{}", out.stderr);
}

#[test]
fn sdists_needed_by_other_sdists_are_found_ahead_judged_and_built() {
    let registry = TestRegistry::with_scenarios(&["realism", "pypi-guard"]);
    let sandbox = Sandbox::new();
    let venv = venv(&sandbox);
    let out = pip(&registry, &sandbox, &venv, &["install", "chain-a"]).expect_code(0);
    assert!(out.stdout.contains("chain-b"), "{}", out.stdout);
    let out = python(
        &sandbox,
        &venv,
        "import chain_a, chain_b, benign_wheel; print(chain_a.VALUE + chain_b.VALUE)",
    )
    .expect_code(0);
    assert_eq!(out.stdout.trim(), "ab");
}

#[test]
fn a_dry_run_with_sdists_checks_the_whole_plan_and_builds_nothing() {
    let registry = TestRegistry::with_scenarios(&["realism", "pypi-guard", "malicious"]);
    let sandbox = Sandbox::new();
    let venv = venv(&sandbox);
    let dry = |specs: &[&str]| {
        let mut args = vec![
            "--no-cache",
            "--format",
            "json",
            "--dry-run",
            "pip",
            "install",
        ];
        args.extend(specs);
        Output::of(
            in_venv(&sandbox, &venv)
                .env("PIP_INDEX_URL", registry.simple_url())
                .args(args),
        )
    };
    // Two sdist-only releases (one needed by the other) and a wheel: every
    // package is in the one report, and the exit code agrees with it.
    let out = dry(&["chain-a", "benign-wheel"]).expect_code(0);
    let report = crate::json(&out);
    let names: std::collections::BTreeSet<&str> = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["package"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["pypi:benign-wheel", "pypi:chain-a", "pypi:chain-b"].into(),
        "{report}"
    );
    assert_eq!(report["outcome"], "dry-run", "{report}");
    // A denied wheel beside an sdist is found by the same dry run.
    let out = dry(&["chain-a", "evil-pth"]).expect_code(77);
    let report = crate::json(&out);
    assert!(
        report["packages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["package"] == "pypi:evil-pth" && p["verdict"] == "deny"),
        "{report}"
    );
    python(&sandbox, &venv, "import chain_a").expect_code(1);
}

#[test]
fn an_sdist_whose_build_adds_dependencies_is_planned_again() {
    // Its PKG-INFO declares nothing; its setup.py adds `benign-wheel` to
    // the metadata of the wheel it builds. The placeholder guessed wrong:
    // warden must notice and install the dependency, checked.
    let registry = TestRegistry::with_scenarios(&["realism", "pypi-guard"]);
    let sandbox = Sandbox::new();
    let venv = venv(&sandbox);
    let out = pip(&registry, &sandbox, &venv, &["install", "dyn-deps"]).expect_code(0);
    assert!(out.stdout.contains("benign-wheel"), "{}", out.stdout);
    python(&sandbox, &venv, "import dyn_deps, benign_wheel").expect_code(0);
}

#[test]
fn a_local_find_links_directory_is_checked_file_by_file() {
    let registry = TestRegistry::with_scenarios(&["realism", "malicious"]);
    let sandbox = Sandbox::new();
    let venv = venv(&sandbox);
    let wheels = sandbox.project().join("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    for name in ["benign-wheel", "evil-pth"] {
        for f in registry.pypi_built[name]
            .iter()
            .filter(|f| f.filename.ends_with(".whl"))
        {
            std::fs::write(wheels.join(&f.filename), f.bytes.as_slice()).unwrap();
        }
    }
    let local = ["install", "--no-index", "--find-links", "./wheels"];
    let out = pip(
        &registry,
        &sandbox,
        &venv,
        &[&local[..], &["benign-wheel"]].concat(),
    )
    .expect_code(0);
    assert!(out.stdout.contains("non-registry-source"), "{}", out.stdout);
    python(&sandbox, &venv, "import benign_wheel").expect_code(0);

    let out = pip(
        &registry,
        &sandbox,
        &venv,
        &[&local[..], &["evil-pth"]].concat(),
    )
    .expect_code(77);
    assert!(out.stdout.contains("startup-hook"), "{}", out.stdout);
    python(&sandbox, &venv, "import sys").expect_code(0);
    assert!(!sandbox.canary("evil-pth").exists());
}

#[test]
fn nothing_builds_while_any_known_package_is_denied() {
    let registry = TestRegistry::with_scenarios(&["realism", "malicious", "pypi-guard"]);
    let sandbox = Sandbox::new();
    let venv = venv(&sandbox);
    let sdist = registry.pypi_built["canary-setup"]
        .iter()
        .find(|b| !b.filename.ends_with(".whl"))
        .unwrap();
    std::fs::write(
        sandbox.project().join(&sdist.filename),
        sdist.bytes.as_slice(),
    )
    .unwrap();
    local_project(&sandbox.project().join("app"), "app", "benign-wheel");
    let sdist_path = format!("./{}", sdist.filename);
    // A benign sdist or project of the user's beside a denied package, or
    // an exact pin to a release too fresh: the build would run code
    // before the verdict on the rest.
    let cases: [&[&str]; 4] = [
        &[&sdist_path, "evil-pth"],
        &[&sdist_path, "py-fresh==1.1"],
        &["./app", "evil-pth"],
        &["-e", "./app", "evil-pth"],
    ];
    for case in cases {
        let out = Output::of(
            in_venv(&sandbox, &venv)
                .env("PIP_INDEX_URL", registry.simple_url())
                .args(["-y", "pip", "install"])
                .args(case),
        )
        .expect_code(77);
        assert!(
            out.stdout.contains("startup-hook") || out.stdout.contains("release-too-fresh"),
            "{case:?}: {}",
            out.stdout
        );
        for canary in ["canary-setup", "app", "evil-pth"] {
            assert!(
                !sandbox.canary(canary).exists(),
                "{case:?}: {canary} ran before the verdict"
            );
        }
    }
}

#[test]
fn an_index_that_fails_pip_never_turns_a_wheel_into_a_build() {
    let registry = TestRegistry::with_scenarios(&["realism", "pypi-guard"]);
    let sandbox = Sandbox::new();
    let venv = venv(&sandbox);
    let install = |sandbox: &Sandbox| {
        Output::of(
            in_venv(sandbox, &venv)
                .env("PIP_INDEX_URL", registry.simple_url())
                .env("PIP_TIMEOUT", "1")
                .env("PIP_RETRIES", "0")
                .args(["-y", "pip", "install", "both-dists"]),
        )
    };
    // The page answers too slowly for pip, in time for warden: pip finds
    // no version at all, while the index lists a wheel.
    registry.fault(
        "/simple/both-dists/",
        Fault::Delay(std::time::Duration::from_secs(3)),
        None,
    );
    let out = install(&sandbox).expect_code(69);
    assert!(out.stderr.contains("index lists one"), "{}", out.stderr);
    assert!(
        !sandbox.canary("both-dists").exists(),
        "the sdist was never built"
    );
    registry.clear_faults();
    install(&sandbox).expect_code(0);
    python(&sandbox, &venv, "import both_dists").expect_code(0);
    assert!(
        !sandbox.canary("both-dists").exists(),
        "the wheel was installed"
    );
}

#[test]
fn a_payload_in_init_py_is_blocked_though_nothing_runs_at_install() {
    let registry = TestRegistry::with_scenarios(&["malicious"]);
    let sandbox = Sandbox::new();
    let venv = venv(&sandbox);
    let out = pip(
        &registry,
        &sandbox,
        &venv,
        &["install", "runtime-payload==1.1"],
    )
    .expect_code(77);
    assert!(out.stdout.contains("decode-and-execute"), "{}", out.stdout);
    assert!(
        out.stdout.contains("when the package is loaded"),
        "{}",
        out.stdout
    );
    python(&sandbox, &venv, "import runtime_payload").expect_code(1);
    assert!(!sandbox.canary("runtime-payload-py").exists());
}

#[test]
fn a_release_that_starts_sending_the_environment_on_import_is_blocked() {
    // Plain code, no encoded blob, nothing at install: `__init__.py` of 1.1
    // posts `os.environ` on import, which 1.0's did not.
    let registry = TestRegistry::with_scenarios(&["malicious"]);
    let sandbox = Sandbox::new();
    let venv = venv(&sandbox);
    let out = pip(&registry, &sandbox, &venv, &["install", "hijacked-py==1.1"]).expect_code(77);
    for needle in ["runtime-code-added", "environment-dump", "new since 1.0"] {
        assert!(out.stdout.contains(needle), "{needle}: {}", out.stdout);
    }
    python(&sandbox, &venv, "import env_beacon").expect_code(1);
    assert!(!sandbox.canary("env-beacon").exists());
    // The release before it installs.
    pip(&registry, &sandbox, &venv, &["install", "hijacked-py==1.0"]).expect_code(0);
    python(&sandbox, &venv, "import benign_wheel").expect_code(0);
}

#[test]
fn pep740_attestations_are_verified_and_the_publisher_held_to_the_history() {
    let registry = TestRegistry::with_scenarios(&["provenance"]);
    let sandbox = Sandbox::new();
    let venv = venv(&sandbox);
    let version_of = |project: &str| {
        python(
            &sandbox,
            &venv,
            &format!("import importlib.metadata as m; print(m.version('{project}'))"),
        )
    };
    // An attestation for a file's other bytes, one from a CA the trusted
    // root does not hold, one from a fork's workflow: blocked, nothing
    // installed.
    for (project, code) in [
        ("prov-wheel-other-digest", "attestation-invalid"),
        ("prov-wheel-unknown-ca", "attestation-invalid"),
        ("prov-wheel-forked", "provenance-identity-changed"),
    ] {
        let out = pip(&registry, &sandbox, &venv, &["install", project]).expect_code(77);
        assert!(out.stdout.contains(code), "{project}: {}", out.stdout);
        version_of(project).expect_code(1);
    }
    // Verified for the wheel pip installs, from the same Trusted Publisher
    // as before: installed.
    let out = pip(&registry, &sandbox, &venv, &["install", "prov-wheel"]).expect_code(0);
    assert!(!out.stdout.contains("attestation-"), "{}", out.stdout);
    assert_eq!(version_of("prov-wheel").expect_code(0).stdout.trim(), "1.1");
}

#[test]
fn a_warm_install_builds_no_checked_sdist_again() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    let venv = venv(&sandbox);
    std::fs::write(sandbox.project().join("requirements.txt"), "canary-setup\n").unwrap();
    let install = || {
        let out = Output::of(
            in_venv(&sandbox, &venv)
                .env("PIP_INDEX_URL", registry.simple_url())
                .args(["-v", "--yes", "pip", "install", "-r", "requirements.txt"]),
        )
        .expect_code(0);
        let kept = out.stderr.contains("plan kept from an earlier run");
        // The sdist's setup.py leaves the canary whenever it is built.
        let canary = sandbox.canary("canary-setup");
        let built = canary.exists();
        let _ = std::fs::remove_file(&canary);
        let value = python(
            &sandbox,
            &venv,
            "import canary_setup; print(canary_setup.VALUE)",
        )
        .expect_code(0)
        .stdout
        .trim()
        .to_owned();
        python(&sandbox, &venv, "import subprocess, sys; subprocess.run([sys.executable, '-m', 'pip', 'uninstall', '-y', '-q', 'canary-setup'], check=True)")
            .expect_code(0);
        (kept, built, value)
    };
    let from_source = "built from source".to_owned();
    // The first run plans with the sdist's placeholder, then builds it.
    assert_eq!(install(), (false, true, from_source.clone()));
    // The second keeps both: the plan, and the wheel that pip built from
    // the same checked sdist. Nothing is built, the same is installed.
    assert_eq!(install(), (true, false, from_source));
}

#[test]
fn a_warm_install_reuses_pips_plan_until_the_index_changes() {
    let project = |versions: &[&str]| {
        let mut text = String::from("[[pypi]]\nname = \"plan-kept\"\n");
        for v in versions {
            text.push_str(&format!(
                "[[pypi.versions]]\nversion = \"{v}\"\nage-hours = 3000\nsource = \"pypi/benign-wheel\"\n"
            ));
        }
        warden_testkit::Scenario::from_toml(&text)
    };
    let mut registry = TestRegistry::start();
    registry.load(&project(&["1.0"]));
    let sandbox = Sandbox::new();
    let venv = venv(&sandbox);
    std::fs::write(sandbox.project().join("requirements.txt"), "plan-kept\n").unwrap();
    let install = |registry: &TestRegistry| {
        let out = Output::of(
            in_venv(&sandbox, &venv)
                .env("PIP_INDEX_URL", registry.simple_url())
                .args(["-v", "--yes", "pip", "install", "-r", "requirements.txt"]),
        )
        .expect_code(0);
        let kept = out.stderr.contains("plan kept from an earlier run");
        let version = python(
            &sandbox,
            &venv,
            "import importlib.metadata as m; print(m.version('plan-kept'))",
        )
        .expect_code(0)
        .stdout
        .trim()
        .to_owned();
        python(&sandbox, &venv, "import subprocess, sys; subprocess.run([sys.executable, '-m', 'pip', 'uninstall', '-y', '-q', 'plan-kept'], check=True)")
            .expect_code(0);
        (kept, version)
    };
    // The first run resolves; the second, with nothing changed, uses the
    // kept plan and installs the same.
    assert_eq!(install(&registry), (false, "1.0".to_owned()));
    assert_eq!(install(&registry), (true, "1.0".to_owned()));
    // A release on the index changes its page: pip plans again and the
    // new release is installed.
    registry.load(&project(&["1.0", "1.1"]));
    assert_eq!(install(&registry), (false, "1.1".to_owned()));
    assert_eq!(install(&registry), (true, "1.1".to_owned()));
    // Another requirements file: planned again.
    std::fs::write(
        sandbox.project().join("requirements.txt"),
        "plan-kept==1.0\n",
    )
    .unwrap();
    assert_eq!(install(&registry), (false, "1.0".to_owned()));
}
