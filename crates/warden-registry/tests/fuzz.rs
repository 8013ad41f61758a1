//! Every parser of what a registry or a configuration file holds, fed
//! mutated documents: none may panic. `WARDEN_FUZZ_ITERATIONS` sets the
//! mutations per seed (see `docs/reliability.md`).

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use warden_registry::pypi::{JsonProject, Provenance, SimpleProject};
use warden_registry::{Environment, RedactedUrl, npm, npmrc, pipconf};
use warden_testkit::fuzz;

fn url() -> RedactedUrl {
    RedactedUrl::parse("http://127.0.0.1/doc").unwrap()
}

#[test]
fn npm_documents() {
    let packument = br#"{"name":"a","dist-tags":{"latest":"1.0.1"},"time":{"created":"2020-01-01T00:00:00Z","1.0.0":"2020-01-01T00:00:00Z","1.0.1":"2021-01-01T00:00:00.000Z"},"maintainers":[{"name":"alice","email":"a@example.org"}],"versions":{"1.0.0":{"name":"a","version":"1.0.0","_npmUser":{"name":"alice"},"dist":{"tarball":"http://r/a/-/a-1.0.0.tgz","integrity":"sha512-AA==","shasum":"00","attestations":{"url":"http://r/att","provenance":{"predicateType":"https://slsa.dev/provenance/v1"}}},"scripts":{"postinstall":"node x.js"},"dependencies":{"b":"^1"}},"1.0.1":{"name":"a","version":"1.0.1","deprecated":"no","maintainers":[{"name":"bob"}]}}}"#;
    let runs = fuzz::run(&[packument], fuzz::iterations(3000), |b| {
        let _ = npm::Packument::from_slice("a", &url(), b);
    });
    assert!(runs >= 2);
}

#[test]
fn pypi_documents() {
    let json = br#"{"meta":{"api-version":"1.1"},"name":"a","versions":["1.0"],"files":[{"filename":"a-1.0-py3-none-any.whl","url":"../../files/a-1.0-py3-none-any.whl","hashes":{"sha256":"00"},"upload-time":"2020-01-01T00:00:00Z","yanked":false,"core-metadata":{"sha256":"11"},"provenance":"http://i/prov"}]}"#;
    let html = br#"<!DOCTYPE html><html><body><a href="../../files/a-1.0.tar.gz#sha256=00" data-requires-python="&gt;=3.8" data-yanked="">a-1.0.tar.gz</a><a href="a-1.0-py3-none-any.whl">a-1.0-py3-none-any.whl</a></body></html>"#;
    let api = br#"{"info":{"name":"a","version":"1.0"},"vulnerabilities":[{"id":"MAL-1","aliases":["MAL-2"]}],"urls":[]}"#;
    let provenance = br#"{"version":1,"attestation_bundles":[{"publisher":{"kind":"GitHub","repository":"o/r","workflow":"release.yml","environment":null},"attestations":[{}]}]}"#;
    fuzz::run(
        &[json, html, api, provenance],
        fuzz::iterations(3000),
        |b| {
            let _ = SimpleProject::from_json("a", &url(), b);
            let _ = SimpleProject::from_html("a", &url(), b);
            let _ = JsonProject::from_slice("a", &url(), b);
            let _ = Provenance::from_slice("a", &url(), b);
        },
    );
}

#[test]
fn npmrc_and_pip_conf() {
    let npmrc = b"registry=http://r/\n@corp:registry=https://c/\n//r/:_authToken=${NPM_TOKEN}\n//c/:_auth=dXNlcjpwYXNz\nalways-auth=true\n; comment\n# comment\nkey[]=a\n";
    let ini = b"[global]\nindex-url = http://i/simple\nextra-index-url =\n    http://a/\n    http://b/\n[install]\ntimeout: 5\n# c\n; c\n";
    let env = Environment {
        vars: [("NPM_TOKEN".to_owned(), "t".to_owned())]
            .into_iter()
            .collect(),
        ..Environment::default()
    };
    fuzz::run(&[npmrc, ini], fuzz::iterations(3000), |b| {
        let text = String::from_utf8_lossy(b);
        let _ = npmrc::parse_npmrc(&text, &env);
        let _ = pipconf::parse_ini(&text);
    });
}
