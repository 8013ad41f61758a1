//! The benchmark harness still starts: its generated projects install with
//! the real npm and pip, and the registry counts what it serves. (The
//! harness itself, `scripts/bench`, is not part of the test run.)

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use warden_testkit::{Output, Sandbox, TestRegistry};

#[test]
fn generated_projects_install_and_bytes_are_counted() {
    let mut registry = TestRegistry::start();
    let npm_root = registry.add_bench_npm(15);
    let py_root = registry.add_bench_pypi(7);
    let sandbox = Sandbox::new();
    std::fs::write(
        sandbox.project().join("package.json"),
        r#"{"name": "b", "version": "1.0.0", "private": true}"#,
    )
    .unwrap();
    Output::of(
        sandbox
            .command("npm")
            .args(["install", &npm_root, "--ignore-scripts", "--registry"])
            .arg(registry.npm_url()),
    )
    .expect_code(0);
    let lock: serde_json::Value = serde_json::from_slice(
        &std::fs::read(sandbox.project().join("package-lock.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        lock["packages"].as_object().unwrap().len(),
        16,
        "the whole tree of 15, and the root"
    );

    let venv = sandbox.venv();
    Output::of(
        sandbox
            .command(venv.join("bin/pip"))
            .args(["install", "--index-url"])
            .arg(registry.simple_url())
            .arg(&py_root),
    )
    .expect_code(0);
    Output::of(
        sandbox
            .command(venv.join("bin/python"))
            .args(["-c", "import bench_py_6"]),
    )
    .expect_code(0);
    assert!(registry.bytes_served() > 0);

    // The harness script itself at least parses.
    let script = warden_testkit::testdata_dir().join("../scripts/bench");
    Output::of(
        sandbox
            .command("python3")
            .args(["-c", "import ast, sys; ast.parse(open(sys.argv[1]).read())"])
            .arg(&script),
    )
    .expect_code(0);
}
