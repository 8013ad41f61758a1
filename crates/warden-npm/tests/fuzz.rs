//! npm lockfiles and command lines, mutated: no parser may panic.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::path::Path;

use warden_testkit::fuzz;

#[test]
fn lockfiles() {
    let v3 = br#"{"name":"app","lockfileVersion":3,"packages":{"":{"dependencies":{"a":"^1","alias":"npm:real@^1"}},"node_modules/a":{"version":"1.0.0","resolved":"http://r/a/-/a-1.0.0.tgz","integrity":"sha512-x","hasInstallScript":true},"node_modules/a/node_modules/@s/b":{"version":"2.0.0","dev":true},"node_modules/g":{"resolved":"git+ssh://git@h/u/r.git#abc"},"node_modules/l":{"resolved":"../x.tgz"},"node_modules/w":{"resolved":"packages/w","link":true},"../../work/libs/x":{"version":"1.0.0"},"node_modules/x":{"resolved":"../../work/libs/x","link":true}}}"#;
    let v1 = br#"{"lockfileVersion":1,"dependencies":{"a":{"version":"1.0.0","integrity":"sha1-x","dependencies":{"b":{"version":"2.0.0","resolved":"file:../b"}}}}}"#;
    let pins = [
        ("node_modules/a".to_owned(), "sha512-A".to_owned()),
        (
            "node_modules/a/node_modules/b".to_owned(),
            "sha512-B".to_owned(),
        ),
    ];
    fuzz::run(&[v3, v1], fuzz::iterations(3000), |b| {
        let _ = warden_npm::parse_lockfile(Path::new("package-lock.json"), b);
        let _ = warden_npm::pin_integrity(Path::new("package-lock.json"), b, &pins);
        let _ = warden_npm::relocate_paths(b, Path::new("/tmp/.tmpA"), Path::new("/work/app"));
    });
}

#[test]
fn command_lines() {
    let line = b"install --registry http://r/ a@1 --omit dev -C /p --no-audit --ignore-scripts=false -- --x";
    let exec = b"exec --package=typescript -p x -- tsc --version";
    fuzz::run(&[line, exec], fuzz::iterations(3000), |b| {
        let args: Vec<String> = String::from_utf8_lossy(b)
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let parsed = warden_npm::parse_args(&args);
        let _ = parsed.install_flags();
        let _ = parsed.plan_args();
        let _ = warden_npm::NpmRequest::parse(&args);
        let _ = warden_npm::npx_to_exec(&args);
    });
}
