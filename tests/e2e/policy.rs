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
            "[[allow]]\npackage = \"npm:hist-source-changed\"\nfindings = [\"provenance-identity-changed\"]\ntrusted-publisher = {{ repository = \"{repository}\", workflow = \"release.yml\" }}\nreason = \"the project moved, confirmed upstream\"\nexpires = \"2099-01-01\"\n"
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

/// The allow entry printed under a finding, as a person copies it: the
/// indented lines after "to allow, add to warden.toml".
fn printed_entry(stdout: &str) -> String {
    let mut lines = stdout
        .lines()
        .skip_while(|l| !l.contains("to allow, add to warden.toml"))
        .skip(1);
    let mut entry = String::new();
    for line in lines.by_ref() {
        if !line.starts_with("          ") {
            break;
        }
        entry.push_str(line);
        entry.push('\n');
    }
    assert!(!entry.is_empty(), "no allow entry in:\n{stdout}");
    entry
}

#[test]
fn a_printed_allow_entry_pasted_as_shown_is_accepted_and_allows() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    crate::npm_project(&sandbox);
    let run = |sandbox: &Sandbox| {
        Output::of(
            warden(sandbox)
                .env("npm_config_registry", registry.npm_url())
                .args(["--dry-run", "npm", "install", "canary-postinstall"]),
        )
    };
    let out = run(&sandbox).expect_code(0);
    let entry = printed_entry(&out.stdout);
    // A real date about 90 days ahead, not a placeholder.
    let expires = entry
        .lines()
        .find_map(|l| l.trim().strip_prefix("expires = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_owned();
    let date: jiff::civil::Date = expires.parse().unwrap();
    let days = jiff::Zoned::now().date().until(date).unwrap().get_days();
    assert!((89..=91).contains(&days), "{expires}");
    // Pasted below a template's comments, indentation and all.
    Output::of(warden(&sandbox).args(["policy", "init"])).expect_code(0);
    let file = sandbox.project().join("warden.toml");
    let template = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("{template}\n{entry}")).unwrap();
    Output::of(warden(&sandbox).args(["policy", "check"])).expect_code(0);
    let out = run(&sandbox).expect_code(0);
    assert!(out.stdout.contains("(allowed by "), "{}", out.stdout);
}

#[test]
fn policy_allow_writes_an_entry_that_keeps_the_file_and_counts() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let sandbox = Sandbox::new();
    crate::npm_project(&sandbox);
    let file = sandbox.project().join("warden.toml");
    let before = "# our team's policy\n[settings]\nmin-release-age = \"48h\"  # two days\nallow-expiry = \"30d\"\n";
    std::fs::write(&file, before).unwrap();
    let out = Output::of(warden(&sandbox).args([
        "policy",
        "allow",
        "npm:canary-postinstall@1.0.0",
        "--finding",
        "first-release",
        "--reason",
        "reviewed: \"the\" postinstall only prints",
    ]))
    .expect_code(0);
    let after = std::fs::read_to_string(&file).unwrap();
    // It says where: the line of the new entry.
    let line = after
        .lines()
        .position(|l| l == "[[allow]]")
        .map(|i| i + 1)
        .unwrap();
    assert!(
        out.stdout.contains(&format!("warden.toml:{line},"))
            && out.stdout.contains("npm:canary-postinstall 1.0.0"),
        "{}",
        out.stdout
    );
    // Comments and layout are kept; the entry is appended.
    assert!(after.starts_with(before), "{after}");
    assert!(after.contains("version = \"1.0.0\""), "{after}");
    // The policy's own expiry: 30 days.
    let expected = jiff::Zoned::now()
        .date()
        .checked_add(jiff::Span::new().days(30))
        .unwrap();
    assert!(
        after.contains(&format!("expires = \"{expected}\"")),
        "{after}"
    );
    Output::of(warden(&sandbox).args(["policy", "check"])).expect_code(0);
    let out = Output::of(
        warden(&sandbox)
            .env("npm_config_registry", registry.npm_url())
            .args(["--dry-run", "npm", "install", "canary-postinstall"]),
    )
    .expect_code(0);
    assert!(out.stdout.contains("(allowed by "), "{}", out.stdout);

    // Bad input changes nothing: an unknown code, an empty reason, a date
    // in the past.
    for bad in [
        &["npm:x", "--finding", "no-such-code", "--reason", "r"][..],
        &["npm:x", "--reason", " "],
        &["npm:x", "--reason", "r", "--expires", "2020-01-01"],
        &["x", "--reason", "r"],
    ] {
        let out = Output::of(warden(&sandbox).args(["policy", "allow"]).args(bad)).expect_code(64);
        assert!(out.stderr.contains("error:"), "{}", out.stderr);
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), after);

    // With `--policy`, that file is the one written.
    let extra = sandbox.root().join("team.toml");
    Output::of(warden(&sandbox).arg("--policy").arg(&extra).args([
        "policy",
        "allow",
        "pypi:Foo_Bar",
        "--reason",
        "vendored",
        "--expires",
        "2w",
    ]))
    .expect_code(0);
    let written = std::fs::read_to_string(&extra).unwrap();
    assert!(written.contains("package = \"pypi:Foo_Bar\""), "{written}");
    assert!(!written.contains("version"), "{written}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), after);
}
