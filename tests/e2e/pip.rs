//! `warden pip` with the real pip in fresh virtual environments against the
//! loopback index: exit codes, what got installed, which canary never fired.

use std::path::PathBuf;

use warden_testkit::{Output, Sandbox, TestRegistry};

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
