//! The fetcher against the loopback registry: faults, retries, the cache,
//! offline mode, scoped registries and where credentials go.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use warden_registry::http::Origin;
use warden_registry::{
    Environment, Error, HttpClient, HttpOptions, IndexArgs, NpmClient, NpmConfig, PipConfig,
    PypiClient,
};
use warden_testkit::{Fault, TestRegistry};

fn options(cache: Option<&Path>) -> HttpOptions {
    HttpOptions {
        timeout: Duration::from_millis(800),
        retries: 2,
        backoff: Duration::from_millis(10),
        cache_dir: cache.map(Path::to_path_buf),
        ..HttpOptions::default()
    }
}

fn env(vars: &[(&str, String)], dir: &Path) -> Environment {
    let mut map: BTreeMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    map.insert(
        "npm_config_userconfig".into(),
        dir.join("none").display().to_string(),
    );
    map.insert(
        "npm_config_globalconfig".into(),
        dir.join("none").display().to_string(),
    );
    Environment {
        vars: map,
        cwd: dir.to_path_buf(),
        home: Some(dir.to_path_buf()),
    }
}

fn npm_client(registry: &TestRegistry, opts: HttpOptions, dir: &Path) -> NpmClient {
    let config = NpmConfig::discover(
        &env(&[("npm_config_registry", registry.npm_url())], dir),
        &[],
        "npm",
    )
    .unwrap();
    NpmClient::new(HttpClient::new(opts).unwrap(), config)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn fetches_and_parses_a_packument() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let dir = tempfile::tempdir().unwrap();
    let client = npm_client(&registry, options(None), dir.path());
    let doc = rt().block_on(client.packument("benign-lib")).unwrap();
    assert_eq!(doc.sorted_versions(), ["1.0.0", "1.1.0"]);
    assert_eq!(doc.resolve(None).unwrap(), "1.1.0");
    assert!(doc.versions["1.1.0"].has_provenance());
    assert_eq!(
        doc.versions["1.0.0"]
            .npm_user
            .as_ref()
            .unwrap()
            .name
            .as_deref(),
        Some("alice")
    );
    let built = &registry.npm_built[&("benign-lib".to_owned(), "1.0.0".to_owned())];
    assert_eq!(
        doc.versions["1.0.0"]
            .dist
            .as_ref()
            .unwrap()
            .integrity
            .as_deref(),
        Some(built.integrity.as_str())
    );
    assert_eq!(
        doc.tarball_url("1.0.0").unwrap().to_string(),
        built.tarball_url
    );
}

#[test]
fn transient_5xx_is_retried_then_served() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    registry.fault("/npm/benign-lib", Fault::Status(503), Some(2));
    let dir = tempfile::tempdir().unwrap();
    let client = npm_client(&registry, options(None), dir.path());
    let doc = rt().block_on(client.packument("benign-lib")).unwrap();
    assert_eq!(doc.name, "benign-lib");
    let statuses: Vec<u16> = registry
        .requests_to("/npm/benign-lib")
        .iter()
        .map(|l| l.status)
        .collect();
    assert_eq!(statuses, [503, 503, 200]);
    assert_eq!(client.http.stats.retries.load(Ordering::Relaxed), 2);
}

fn assert_names_package_and_url(err: &Error, registry: &TestRegistry) {
    let text = err.to_string();
    assert!(text.contains("npm:benign-lib"), "{text}");
    assert!(
        text.contains(&format!("{}benign-lib", registry.npm_url())),
        "{text}"
    );
    assert!(err.hint().is_some(), "{text}");
}

#[test]
fn persistent_5xx_gives_up_with_status() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    registry.fault("/npm/benign-lib", Fault::Status(502), None);
    let dir = tempfile::tempdir().unwrap();
    let client = npm_client(&registry, options(None), dir.path());
    let err = rt().block_on(client.packument("benign-lib")).unwrap_err();
    assert!(matches!(err, Error::Status { status: 502, .. }), "{err}");
    assert_names_package_and_url(&err, &registry);
    assert_eq!(
        registry.requests_to("/npm/benign-lib").len(),
        3,
        "one try and two retries"
    );
}

#[test]
fn truncated_body_is_an_error_not_a_short_document() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    registry.fault("/npm/benign-lib", Fault::Truncate, None);
    let dir = tempfile::tempdir().unwrap();
    let client = npm_client(&registry, options(None), dir.path());
    let err = rt().block_on(client.packument("benign-lib")).unwrap_err();
    assert!(matches!(err, Error::Truncated { .. }), "{err}");
    assert_names_package_and_url(&err, &registry);
}

#[test]
fn stalled_registry_times_out() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    registry.fault(
        "/npm/benign-lib",
        Fault::Delay(Duration::from_secs(3)),
        None,
    );
    let dir = tempfile::tempdir().unwrap();
    let client = npm_client(
        &registry,
        HttpOptions {
            retries: 0,
            ..options(None)
        },
        dir.path(),
    );
    let err = rt().block_on(client.packument("benign-lib")).unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert_names_package_and_url(&err, &registry);
}

#[test]
fn reset_connection_and_malformed_json() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    registry.fault("/npm/benign-lib", Fault::Reset, None);
    let dir = tempfile::tempdir().unwrap();
    let client = npm_client(&registry, options(None), dir.path());
    let err = rt().block_on(client.packument("benign-lib")).unwrap_err();
    assert!(
        matches!(err, Error::Network { .. } | Error::Truncated { .. }),
        "{err}"
    );
    assert_names_package_and_url(&err, &registry);

    registry.clear_faults();
    registry.fault("/npm/benign-lib", Fault::MalformedJson, None);
    let err = rt().block_on(client.packument("benign-lib")).unwrap_err();
    assert!(matches!(err, Error::Malformed { .. }), "{err}");
    assert_names_package_and_url(&err, &registry);
}

#[test]
fn missing_package_is_not_found() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let dir = tempfile::tempdir().unwrap();
    let client = npm_client(&registry, options(None), dir.path());
    let err = rt()
        .block_on(client.packument("no-such-package"))
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    assert_eq!(
        registry.requests_to("/npm/no-such-package").len(),
        1,
        "404 is not retried"
    );
}

#[test]
fn second_fetch_revalidates_and_is_answered_304() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let rt = rt();
    let first = npm_client(&registry, options(Some(&cache)), dir.path());
    rt.block_on(first.packument("benign-lib")).unwrap();
    // A new client, as a second run of warden would make.
    let second = npm_client(&registry, options(Some(&cache)), dir.path());
    let url = second.document_url("benign-lib").unwrap();
    let response = rt
        .block_on(second.get("benign-lib", &url, "application/json"))
        .unwrap();
    assert_eq!(response.origin, Origin::Revalidated);
    let statuses: Vec<u16> = registry
        .requests_to("/npm/benign-lib")
        .iter()
        .map(|l| l.status)
        .collect();
    assert_eq!(statuses, [200, 304]);
    assert_eq!(second.http.stats.not_modified.load(Ordering::Relaxed), 1);
}

#[test]
fn a_document_the_server_calls_fresh_is_not_asked_for_again() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    registry.set_max_age(300);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let rt = rt();
    let first = npm_client(&registry, options(Some(&cache)), dir.path());
    rt.block_on(first.packument("benign-lib")).unwrap();
    let second = npm_client(&registry, options(Some(&cache)), dir.path());
    let url = second.document_url("benign-lib").unwrap();
    let response = rt
        .block_on(second.get("benign-lib", &url, "application/json"))
        .unwrap();
    assert_eq!(response.origin, Origin::Cache);
    assert_eq!(registry.requests_to("/npm/benign-lib").len(), 1);

    // Without a max-age (or with no-cache), every run revalidates.
    registry.set_max_age(0);
    let other = tempfile::tempdir().unwrap();
    let third = npm_client(&registry, options(Some(other.path())), dir.path());
    rt.block_on(third.packument("benign-lib")).unwrap();
    let fourth = npm_client(&registry, options(Some(other.path())), dir.path());
    let response = rt
        .block_on(fourth.get("benign-lib", &url, "application/json"))
        .unwrap();
    assert_eq!(response.origin, Origin::Revalidated);
}

#[test]
fn damaged_cache_entry_is_refetched() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let rt = rt();
    rt.block_on(npm_client(&registry, options(Some(&cache)), dir.path()).packument("benign-lib"))
        .unwrap();
    for entry in walk(&cache) {
        if entry.extension().is_some_and(|e| e == "body") {
            std::fs::write(&entry, b"{\"name\": \"benign-lib\", \"versions\": {}}").unwrap();
        }
    }
    let doc = rt
        .block_on(npm_client(&registry, options(Some(&cache)), dir.path()).packument("benign-lib"))
        .unwrap();
    assert_eq!(doc.versions.len(), 2, "the tampered body was not served");
    let statuses: Vec<u16> = registry
        .requests_to("/npm/benign-lib")
        .iter()
        .map(|l| l.status)
        .collect();
    assert_eq!(statuses, [200, 200]);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn offline_serves_the_cache_and_names_what_is_missing() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let rt = rt();
    rt.block_on(npm_client(&registry, options(Some(&cache)), dir.path()).packument("benign-lib"))
        .unwrap();
    let before = registry.log().len();
    let offline = npm_client(
        &registry,
        HttpOptions {
            offline: true,
            ..options(Some(&cache))
        },
        dir.path(),
    );
    let doc = rt.block_on(offline.packument("benign-lib")).unwrap();
    assert_eq!(doc.sorted_versions(), ["1.0.0", "1.1.0"]);
    let err = rt
        .block_on(offline.packument("canary-postinstall"))
        .unwrap_err();
    assert!(matches!(err, Error::NotCached { .. }), "{err}");
    assert!(err.to_string().contains("canary-postinstall"), "{err}");
    assert_eq!(registry.log().len(), before, "offline sends nothing");
}

#[test]
fn scoped_registry_gets_its_token_and_no_other_host_does() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let dir = tempfile::tempdir().unwrap();
    let private = registry.npm_url();
    // The same server under another host name stands for the public registry.
    let public = private.replace("127.0.0.1", "localhost");
    let dart = private.trim_start_matches("http:");
    std::fs::write(
        dir.path().join(".npmrc"),
        format!("registry={public}\n@corp:registry={private}\n{dart}:_authToken=${{CORP_TOKEN}}\n"),
    )
    .unwrap();
    let environment = Environment {
        vars: [
            ("CORP_TOKEN".to_owned(), "s3cret-token".to_owned()),
            (
                "npm_config_userconfig".to_owned(),
                dir.path().join(".npmrc").display().to_string(),
            ),
            (
                "npm_config_globalconfig".to_owned(),
                dir.path().join("none").display().to_string(),
            ),
        ]
        .into(),
        cwd: dir.path().to_path_buf(),
        home: Some(dir.path().to_path_buf()),
    };
    let config = NpmConfig::discover(&environment, &[], "npm").unwrap();
    let client = NpmClient::new(HttpClient::new(options(None)).unwrap(), config);
    let rt = rt();
    rt.block_on(client.packument("@corp/internal-lib")).unwrap();
    rt.block_on(client.packument("benign-lib")).unwrap();
    let log = registry.log();
    let scoped = log
        .iter()
        .find(|l| l.path == "/npm/@corp/internal-lib")
        .unwrap();
    assert_eq!(scoped.authorization.as_deref(), Some("Bearer s3cret-token"));
    let public = log.iter().find(|l| l.path == "/npm/benign-lib").unwrap();
    assert_eq!(
        public.authorization, None,
        "the private token never goes to another host"
    );
}

#[test]
fn pypi_project_provenance_and_json_api() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let dir = tempfile::tempdir().unwrap();
    let environment = env(&[("PIP_INDEX_URL", registry.simple_url())], dir.path());
    let config =
        PipConfig::discover(&environment, "install", &IndexArgs::default(), "python3").unwrap();
    let client = PypiClient::new(HttpClient::new(options(None)).unwrap(), config);
    let index = client.config.index_url.clone().unwrap();
    let rt = rt();
    let project = rt.block_on(client.project(&index, "Benign_Wheel")).unwrap();
    assert_eq!(project.versions(), ["1.0", "1.1"]);
    let files = project.files_of("1.1");
    assert_eq!(files.len(), 2);
    let wheel = files.iter().find(|f| f.filename.ends_with(".whl")).unwrap();
    assert!(wheel.upload_time.is_some());
    assert!(wheel.has_metadata_file);
    let built = registry.pypi_built["benign-wheel"]
        .iter()
        .find(|b| b.filename == wheel.filename)
        .unwrap();
    assert_eq!(wheel.hashes["sha256"], built.sha256);
    assert_eq!(
        wheel.url.to_string(),
        format!("{}/files/{}", registry.base_url(), wheel.filename)
    );

    let provenance = rt
        .block_on(client.provenance("benign-wheel", wheel))
        .unwrap()
        .unwrap();
    assert_eq!(
        provenance.publishers[0].repository.as_deref(),
        Some("example/benign-wheel")
    );
    let old = project.files_of("1.0")[0];
    assert!(
        old.provenance_listed && old.provenance.is_none(),
        "the index said: no provenance"
    );

    let json = rt
        .block_on(client.json_api(&index, "benign-wheel"))
        .unwrap()
        .unwrap();
    assert_eq!(json.info.name.as_deref(), Some("benign-wheel"));
    assert!(
        rt.block_on(client.json_api(&index, "no-such"))
            .unwrap()
            .is_none()
    );
}

#[test]
fn pypi_credentials_in_index_url_are_sent_and_never_shown() {
    let registry = TestRegistry::with_scenarios(&["realism"]);
    let dir = tempfile::tempdir().unwrap();
    let url = registry
        .simple_url()
        .replace("http://", "http://ci:hunter22@");
    let environment = env(&[("PIP_INDEX_URL", url)], dir.path());
    let config =
        PipConfig::discover(&environment, "install", &IndexArgs::default(), "python3").unwrap();
    let client = PypiClient::new(HttpClient::new(options(None)).unwrap(), config);
    let index = client.config.index_url.clone().unwrap();
    registry.fault("/simple/benign-wheel/", Fault::Status(500), None);
    let err = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(client.project(&index, "benign-wheel"))
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains("hunter22"), "{text}");
    assert!(text.contains("****"), "{text}");
    let sent = registry.requests_to("/simple/benign-wheel/");
    // base64("ci:hunter22")
    assert_eq!(
        sent[0].authorization.as_deref(),
        Some("Basic Y2k6aHVudGVyMjI=")
    );
}

#[test]
fn the_bytes_held_by_responses_in_flight_are_bounded_in_total() {
    let registry = TestRegistry::start();
    let names: Vec<String> = (0..4).map(|i| format!("large-{i}")).collect();
    let mut size = 0;
    for name in &names {
        size = registry.serve_large_packument(name, 2) as u64;
    }
    let dir = tempfile::tempdir().unwrap();
    let small = 64 * 1024;
    let client = npm_client(
        &registry,
        HttpOptions {
            max_body: 8 * 1024 * 1024,
            large_body: small,
            large_bodies: 1,
            timeout: Duration::from_secs(30),
            ..options(None)
        },
        dir.path(),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for name in names.clone() {
            let client = client.clone();
            tasks.spawn(async move { client.packument(&name).await.map(|d| d.name) });
        }
        while let Some(done) = tasks.join_next().await {
            assert!(done.unwrap().is_ok(), "every document arrives");
        }
    });
    let peak = client.http.stats.peak_in_flight.load(Ordering::Relaxed);
    // One large body at a time, the others held at the threshold (a chunk
    // past it at most, while they wait their turn).
    let bound = size + 4 * (small + 64 * 1024);
    assert!(
        peak <= bound,
        "peak {peak} bytes held across responses, bound {bound}"
    );
    assert!(peak >= size, "the largest body was held whole: {peak}");
    assert_eq!(client.http.stats.in_flight.load(Ordering::Relaxed), 0);
}
