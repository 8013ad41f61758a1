//! `warden policy init` and `warden policy check`.

use warden_testkit::{Output, Sandbox, TestRegistry};

use crate::warden;

#[test]
fn init_writes_a_valid_template_and_never_overwrites() {
    let sandbox = Sandbox::new();
    let file = sandbox.project().join("warden.toml");
    Output::of(warden(&sandbox).args(["policy", "init"])).expect_code(0);
    let template = std::fs::read_to_string(&file).unwrap();
    assert!(template.contains("min-release-age = \"48h\""));
    let ok = Output::of(warden(&sandbox).args(["policy", "check"])).expect_code(0);
    assert!(ok.stdout.contains("ok: "), "{}", ok.stdout);

    // The user's edits survive a second init.
    std::fs::write(&file, format!("{template}\n# mine\n")).unwrap();
    let again = Output::of(warden(&sandbox).args(["policy", "init"])).expect_code(64);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .ends_with("# mine\n")
    );
}

#[test]
fn a_bad_policy_is_exit_78_with_file_line_and_column() {
    let sandbox = Sandbox::new();
    std::fs::write(
        sandbox.project().join("warden.toml"),
        "[settings]\nmin-release-age = \"7d\"\non-eror = \"deny\"\n",
    )
    .unwrap();
    let out = Output::of(warden(&sandbox).args(["policy", "check"])).expect_code(78);
    assert!(out.stderr.contains("warden.toml:3:1"), "{}", out.stderr);
    assert!(out.stderr.contains("on-eror"), "{}", out.stderr);
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);

    // Every problem at once, each with its line.
    std::fs::write(
        sandbox.project().join("warden.toml"),
        "[findings]\npublisher-neww = \"deny\"\n\n[[allow]]\npackage = \"npm:x\"\nreason = \"ok\"\nexpires = \"someday\"\n",
    )
    .unwrap();
    let out = Output::of(warden(&sandbox).args(["policy", "check"])).expect_code(78);
    assert!(out.stderr.contains("publisher-neww"), "{}", out.stderr);
    assert!(
        out.stderr.contains("warden.toml:4") && out.stderr.contains("expires"),
        "{}",
        out.stderr
    );

    std::fs::remove_file(sandbox.project().join("warden.toml")).unwrap();
    let missing = Output::of(warden(&sandbox).args(["--policy", "nope.toml", "policy", "check"]))
        .expect_code(78);
    assert!(missing.stderr.contains("nope.toml"), "{}", missing.stderr);
}

#[test]
fn check_reports_expired_trust() {
    let sandbox = Sandbox::new();
    std::fs::write(
        sandbox.root().join("extra.toml"),
        "[[allow]]\npackage = \"npm:esbuild\"\nscripts = true\nreason = \"binary installer\"\nexpires = \"2020-01-01\"\n",
    )
    .unwrap();
    let out = Output::of(
        warden(&sandbox)
            .arg("--policy")
            .arg(sandbox.root().join("extra.toml"))
            .args(["policy", "check"]),
    )
    .expect_code(0);
    assert!(
        out.stdout.contains("expired: ") && out.stdout.contains("npm:esbuild"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_trusted_publisher_entry_matches_what_npm_attests() {
    let registry = TestRegistry::with_scenarios(&["history"]);
    let sandbox = Sandbox::new();
    crate::npm_project(&sandbox);
    let run = |sandbox: &Sandbox| {
        Output::of(
            warden(sandbox)
                .env("npm_config_registry", registry.npm_url())
                .args(["--dry-run", "npm", "install", "hist-source-changed@1.1.0"]),
        )
    };
    let entry = |repository: &str| {
        format!(
            "[[allow]]\npackage = \"npm:hist-source-changed\"\nfindings = [\"provenance-source-changed\"]\ntrusted-publisher = {{ repository = \"{repository}\", workflow = \"release.yml\" }}\nreason = \"the project moved, confirmed upstream\"\nexpires = \"2099-01-01\"\n"
        )
    };
    run(&sandbox).expect_code(77);
    // 1.1.0 is attested as built by someone-else/evil: an entry naming
    // another repository does not match; one naming it does.
    std::fs::write(sandbox.project().join("warden.toml"), entry("example/r")).unwrap();
    run(&sandbox).expect_code(77);
    std::fs::write(
        sandbox.project().join("warden.toml"),
        entry("someone-else/evil"),
    )
    .unwrap();
    let out = run(&sandbox).expect_code(0);
    assert!(out.stdout.contains("warden.toml:1)"), "{}", out.stdout);
}

#[test]
fn configuration_that_cannot_be_read_is_78_with_the_file_named() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    crate::npm_project(&sandbox);
    // A policy saved as UTF-16 is not "no policy".
    let utf16: Vec<u8> = "[findings]\nmaintainer-added = \"deny\"\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    std::fs::write(
        sandbox.project().join("warden.toml"),
        [&[0xFF, 0xFE][..], &utf16].concat(),
    )
    .unwrap();
    let out = Output::of(
        warden(&sandbox)
            .env("npm_config_registry", registry.npm_url())
            .args(["--dry-run", "npm", "install", "benign-lib"]),
    )
    .expect_code(78);
    assert!(out.stderr.contains("warden.toml"), "{}", out.stderr);
    std::fs::remove_file(sandbox.project().join("warden.toml")).unwrap();

    // An .npmrc with one bad byte is read as npm reads it: the rest counts.
    std::fs::write(
        sandbox.project().join(".npmrc"),
        [
            b"; caf\xe9 mirror\n".as_slice(),
            format!("registry={}\n", registry.npm_url()).as_bytes(),
        ]
        .concat(),
    )
    .unwrap();
    Output::of(warden(&sandbox).args(["--dry-run", "npm", "install", "benign-lib"])).expect_code(0);

    // A pip.conf pip refuses is refused, naming the file and the line.
    let conf = sandbox.root().join("pip.conf");
    std::fs::write(
        &conf,
        format!("[global\nindex-url = {}\n", registry.simple_url()),
    )
    .unwrap();
    let out = Output::of(warden(&sandbox).env("PIP_CONFIG_FILE", &conf).args([
        "--dry-run",
        "pip",
        "install",
        "benign-wheel",
    ]))
    .expect_code(78);
    assert!(
        out.stderr.contains("pip.conf") && out.stderr.contains("line 1"),
        "{}",
        out.stderr
    );
}
