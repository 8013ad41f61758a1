//! The loopback registry is only useful if the real tools accept it: these
//! tests install from it with the real `npm` and `pip`, and show that
//! install-time code in a test package really runs under the bare tools.
//! Later tests rely on that to prove warden stopped it.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use warden_testkit::{Fault, Output, Sandbox, TestRegistry};

#[test]
fn real_npm_installs_and_runs_postinstall() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    std::fs::write(
        sandbox.project().join("package.json"),
        r#"{"name": "app", "version": "1.0.0", "private": true}"#,
    )
    .unwrap();
    Output::of(
        sandbox
            .command("npm")
            .args([
                "install",
                "canary-postinstall",
                "@corp/internal-lib",
                "--registry",
            ])
            .arg(registry.npm_url()),
    )
    .expect_code(0);

    let modules = sandbox.project().join("node_modules");
    assert!(modules.join("canary-postinstall/postinstall.js").exists());
    assert!(modules.join("@corp/internal-lib/index.js").exists());
    // The range `^1.0.0` resolved to the newest 1.x.
    let dep: serde_json::Value =
        serde_json::from_slice(&std::fs::read(modules.join("benign-lib/package.json")).unwrap())
            .unwrap();
    assert_eq!(dep["version"], "1.1.0");
    assert!(
        sandbox.canary("canary-postinstall").exists(),
        "npm ran the postinstall script"
    );
    let lock: serde_json::Value = serde_json::from_slice(
        &std::fs::read(sandbox.project().join("package-lock.json")).unwrap(),
    )
    .unwrap();
    let entry = &lock["packages"]["node_modules/canary-postinstall"];
    let built = &registry.npm_built[&("canary-postinstall".to_owned(), "1.0.0".to_owned())];
    assert_eq!(entry["integrity"], built.integrity.as_str());
    assert_eq!(entry["hasInstallScript"], true);
}

#[test]
fn real_pip_installs_wheel_and_builds_sdist() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    let venv = sandbox.venv();
    Output::of(
        sandbox
            .command(venv.join("bin/pip"))
            .args(["install", "--index-url"])
            .arg(registry.simple_url())
            .args(["benign-wheel", "canary-setup"]),
    )
    .expect_code(0);
    assert!(
        sandbox.canary("canary-setup").exists(),
        "pip's sdist build ran setup.py"
    );
    let out = Output::of(sandbox.command(venv.join("bin/python")).args([
        "-c",
        "import benign_wheel, canary_setup; print(benign_wheel.add(2, 3), canary_setup.VALUE)",
    ]))
    .expect_code(0);
    assert_eq!(out.stdout.trim(), "5 built from source");
    // pip checked the hashes the index published and preferred the wheel.
    let files: Vec<String> = registry
        .requests_to("/files/")
        .iter()
        .map(|l| l.path.clone())
        .collect();
    assert!(
        files
            .iter()
            .any(|p| p.ends_with("benign_wheel-1.1-py3-none-any.whl")),
        "{files:?}"
    );
    assert!(
        !files.iter().any(|p| p.ends_with("benign_wheel-1.1.tar.gz")),
        "{files:?}"
    );
}

#[test]
fn simple_html_form_is_served_beside_json() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    let venv = sandbox.venv();
    // Clients that do not ask for PEP 691 JSON get PEP 503 HTML with the
    // same hashes and PEP 658 metadata flags.
    let html = raw_get(
        &format!("{}benign-wheel/", registry.simple_url()),
        "text/html",
    );
    assert!(html.contains("data-dist-info-metadata"), "{html}");
    assert!(html.contains("#sha256="), "{html}");
    let dest = sandbox.root().join("dl");
    Output::of(
        sandbox
            .command(venv.join("bin/pip"))
            .args(["download", "--no-deps", "-d"])
            .arg(&dest)
            .args(["--index-url"])
            .arg(registry.simple_url())
            .arg("benign-wheel==1.0"),
    )
    .expect_code(0);
    assert!(dest.join("benign_wheel-1.0-py3-none-any.whl").exists());
}

/// A plain HTTP GET over a socket, so the test does not depend on an HTTP
/// client crate.
fn raw_get(url: &str, accept: &str) -> String {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nAccept: {accept}\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn real_npm_refuses_a_tarball_that_does_not_match_its_integrity() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    registry.fault("/npm/benign-lib/-/", Fault::Corrupt, None);
    let sandbox = Sandbox::new();
    std::fs::write(
        sandbox.project().join("package.json"),
        r#"{"name": "app", "version": "1.0.0", "private": true}"#,
    )
    .unwrap();
    let out = Output::of(
        sandbox
            .command("npm")
            .args([
                "install",
                "benign-lib",
                "--fetch-retries",
                "0",
                "--registry",
            ])
            .arg(registry.npm_url()),
    );
    assert_ne!(out.code, Some(0));
    // Where the flipped byte lands decides which check of npm's sees it
    // first: the digest, or the gzip stream it unpacks while hashing.
    assert!(
        out.stderr.contains("EINTEGRITY")
            || out.stderr.contains("integrity")
            || out.stderr.contains("corrupted"),
        "{}",
        out.stderr
    );
    assert!(
        !sandbox
            .project()
            .join("node_modules/benign-lib/index.js")
            .exists()
    );
}
