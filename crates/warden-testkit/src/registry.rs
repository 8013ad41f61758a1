//! The loopback registry: an npm registry under `/npm/` and a Python index
//! (Simple API under `/simple/`, JSON API under `/pypi/`, files under
//! `/files/`, PEP 740 provenance under `/integrity/`) on one port.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::build::{self, Files};
use crate::scenario::{NpmPackage, PypiPackage, Scenario, SourceRef, collect_files};
use crate::server::{Fault, Logged, Server, Variant};
use crate::sigstore;

/// What was built for one npm version, for tests to compare against.
#[derive(Debug, Clone)]
pub struct BuiltNpm {
    pub tarball: Arc<Vec<u8>>,
    pub integrity: String,
    pub tarball_url: String,
}

/// What was built for one Python file.
#[derive(Debug, Clone)]
pub struct BuiltFile {
    pub filename: String,
    pub bytes: Arc<Vec<u8>>,
    pub sha256: String,
}

pub struct TestRegistry {
    server: Server,
    now: Timestamp,
    pub npm_built: BTreeMap<(String, String), BuiltNpm>,
    pub pypi_built: BTreeMap<String, Vec<BuiltFile>>,
    pypi_projects: Vec<String>,
    /// npm package -> advisories, served by the bulk advisory endpoint.
    advisories: serde_json::Map<String, Value>,
}

const SIMPLE_JSON: &str = "application/vnd.pypi.simple.v1+json";

impl TestRegistry {
    /// An empty registry on a random loopback port. Its npm side signs
    /// every version and publishes its keys, as the public registry does.
    pub fn start() -> Self {
        let registry = Self {
            server: Server::start().expect("binding 127.0.0.1"),
            now: Timestamp::now(),
            npm_built: BTreeMap::new(),
            pypi_built: BTreeMap::new(),
            pypi_projects: Vec::new(),
            advisories: serde_json::Map::new(),
        };
        let expired = registry.published(24.0 * 365.0 * 5.0).to_string();
        registry.serve_json(
            "/npm/-/npm/v1/keys",
            &json!({"keys": [
                signing::public(signing::REGISTRY, None),
                signing::public(signing::EXPIRED, Some(&expired)),
            ]}),
        );
        registry
    }

    /// A registry serving the named scenarios from `testdata/scenarios/`.
    pub fn with_scenarios(names: &[&str]) -> Self {
        let mut registry = Self::start();
        for name in names {
            registry.load(&Scenario::load(name));
        }
        registry
    }

    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The npm registry URL (`--registry`).
    pub fn npm_url(&self) -> String {
        format!("{}/npm/", self.base_url())
    }

    /// The Simple API URL (`--index-url`).
    pub fn simple_url(&self) -> String {
        format!("{}/simple/", self.base_url())
    }

    /// Sends `Cache-Control: public, max-age=<seconds>` with every
    /// document, as public registries do.
    pub fn set_max_age(&self, seconds: u64) {
        self.server.set_max_age(seconds);
    }

    /// Sends no `ETag`, `Last-Modified` or `Cache-Control`, as some mirrors
    /// and proxies do.
    pub fn set_no_validators(&self, none: bool) {
        self.server.set_no_validators(none);
    }

    pub fn fault(&self, path_prefix: &str, fault: Fault, times: Option<u32>) {
        self.server.fault(path_prefix, fault, times);
    }

    pub fn clear_faults(&self) {
        self.server.clear_faults();
    }

    pub fn log(&self) -> Vec<Logged> {
        self.server.log()
    }

    /// Requests whose path starts with `prefix`.
    pub fn requests_to(&self, prefix: &str) -> Vec<Logged> {
        self.log()
            .into_iter()
            .filter(|l| l.path.starts_with(prefix))
            .collect()
    }

    pub fn bytes_served(&self) -> u64 {
        self.server.bytes_served()
    }

    /// Serves `body` at `path` as-is (for hand-made documents).
    pub fn serve_raw(&self, path: &str, content_type: &str, body: Vec<u8>) {
        self.server.route(
            path,
            vec![Variant {
                accept: None,
                content_type: content_type.to_owned(),
                body: Arc::new(body),
            }],
        );
    }

    pub fn load(&mut self, scenario: &Scenario) {
        for package in &scenario.npm {
            self.add_npm(package);
        }
        for package in &scenario.pypi {
            self.add_pypi(package);
        }
        self.serve_simple_root();
        // npm's bulk advisory endpoint is a POST; the server answers it by
        // path with every advisory it knows, and clients read their names.
        self.serve_json(
            "/npm/-/npm/v1/security/advisories/bulk",
            &Value::Object(self.advisories.clone()),
        );
    }

    /// Serves a generated package document of about `megabytes` MB under
    /// `/npm/<name>`: many versions, each with the fields a real document
    /// carries (a long per-version readme as old packages have). For
    /// measuring how warden copes with very large documents.
    pub fn serve_large_packument(&self, name: &str, megabytes: usize) -> usize {
        let base = self.base_url();
        let readme = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(160);
        let mut versions = serde_json::Map::new();
        let mut time = serde_json::Map::new();
        let mut size = 0;
        let mut i = 0usize;
        while size < megabytes * 1024 * 1024 {
            let version = format!("{}.{}.{}", i / 1000, (i / 10) % 100, i % 10);
            let manifest = json!({
                "name": name, "version": version, "description": "a large package document",
                "readme": readme, "license": "MIT",
                "scripts": {"test": "node test.js", "build": "tsc -p ."},
                "dependencies": {"dep-a": "^1.0.0", "dep-b": "~2.3.0", "dep-c": ">=3 <5"},
                "devDependencies": {"typescript": "^5.0.0", "mocha": "^10.0.0"},
                "_npmUser": {"name": "alice", "email": "alice@example.org"},
                "maintainers": [{"name": "alice", "email": "alice@example.org"}],
                "dist": {"tarball": format!("{base}/npm/{name}/-/{name}-{version}.tgz"),
                         "integrity": format!("sha512-{}", "A".repeat(86)), "shasum": "0".repeat(40),
                         "fileCount": 12, "unpackedSize": 40960},
                "_id": format!("{name}@{version}"),
            });
            size += serde_json::to_vec(&manifest).map(|v| v.len()).unwrap_or(0);
            time.insert(
                version.clone(),
                json!(self.published((10000 - i % 10000) as f64).to_string()),
            );
            versions.insert(version, manifest);
            i += 1;
        }
        let latest = versions.keys().next_back().cloned();
        let doc = json!({"name": name, "dist-tags": {"latest": latest}, "versions": versions, "time": time,
                         "maintainers": [{"name": "alice"}]});
        let body = serde_json::to_vec(&doc).expect("serialising JSON");
        let len = body.len();
        self.serve_raw(&format!("/npm/{name}"), "application/json", body);
        len
    }

    /// Generates a benchmark-sized npm project: `count` packages
    /// `bench-pkg-<i>` in a binary dependency tree under `bench-root`, with
    /// tarballs from a few KB to several MB (incompressible filler), and
    /// every 40th package with 30 versions of history. Returns the root's
    /// name.
    pub fn add_bench_npm(&mut self, count: usize) -> String {
        self.add_bench_npm_named("bench-pkg", count, false)
    }

    /// The same project under `<prefix>-<i>` names; with `attested`, every
    /// version carries Sigstore provenance signed by the testkit's CA for
    /// `bench/<name>`, as releases built in CI do.
    pub fn add_bench_npm_named(&mut self, prefix: &str, count: usize, attested: bool) -> String {
        let mut scenario = Scenario::default();
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        for i in 0..count {
            let roll = next() % 100;
            let size = match roll {
                0 => 2_000_000 + (next() % 3_000_000) as usize,
                1..=9 => 100_000 + (next() % 900_000) as usize,
                _ => 2_000 + (next() % 48_000) as usize,
            };
            let filler = hex_filler(size, &mut next);
            let mut dependencies = BTreeMap::new();
            for child in [2 * i + 1, 2 * i + 2] {
                if child < count {
                    dependencies.insert(format!("{prefix}-{child}"), "^1.0.0".to_owned());
                }
            }
            let provenance = attested.then(|| SourceRef {
                repository: format!("https://github.com/bench/{prefix}-{i}"),
                workflow: ".github/workflows/release.yml".to_owned(),
                r#ref: None,
                kind: None,
                environment: None,
                attestation: None,
            });
            let history = if i % 40 == 0 { 30 } else { 1 };
            let versions = (0..history)
                .map(|h| crate::scenario::NpmVersion {
                    version: if h + 1 == history {
                        "1.0.0".to_owned()
                    } else {
                        format!("0.{h}.0")
                    },
                    age_hours: 3000.0 + f64::from(30 - h) * 100.0,
                    publisher: Some("bench".to_owned()),
                    maintainers: None,
                    source: None,
                    files: BTreeMap::from([
                        ("index.js".to_owned(), format!("module.exports = {i};\n")),
                        ("data.txt".to_owned(), filler.clone()),
                    ]),
                    scripts: BTreeMap::new(),
                    dependencies: dependencies.clone(),
                    optional_dependencies: BTreeMap::new(),
                    bin: None,
                    gypfile: None,
                    deprecated: None,
                    provenance: provenance.clone(),
                    trusted_publisher: None,
                    malware: false,
                    signature: None,
                })
                .collect();
            scenario.npm.push(NpmPackage {
                name: format!("{prefix}-{i}"),
                maintainers: None,
                latest: Some("1.0.0".to_owned()),
                strip: Vec::new(),
                relative_tarballs: false,
                versions,
            });
        }
        self.load(&scenario);
        format!("{prefix}-0")
    }

    /// Generates `count` projects `bench-py-<i>` in a binary dependency
    /// tree under `bench-py-0`, from a few KB to a few MB: wheels, and
    /// every 20th only an sdist (so some sdists need others: two rounds).
    pub fn add_bench_pypi(&mut self, count: usize) -> String {
        let mut scenario = Scenario::default();
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
        for i in 0..count {
            let size = if next() % 10 == 0 {
                500_000 + (next() % 2_500_000) as usize
            } else {
                2_000 + (next() % 60_000) as usize
            };
            let filler = hex_filler(size, &mut next);
            let requires_dist = [2 * i + 1, 2 * i + 2]
                .iter()
                .filter(|c| **c < count)
                .map(|c| format!("bench-py-{c}>=1.0"))
                .collect();
            scenario.pypi.push(PypiPackage {
                name: format!("bench-py-{i}"),
                json_api: true,
                status: None,
                versions: vec![crate::scenario::PypiVersion {
                    version: "1.0".to_owned(),
                    age_hours: 3000.0,
                    source: None,
                    files: BTreeMap::from([
                        (
                            format!("bench_py_{i}/__init__.py"),
                            format!("VALUE = {i}\n"),
                        ),
                        (format!("bench_py_{i}/data.txt"), filler),
                    ]),
                    dists: vec![if i % 20 == 19 { "sdist" } else { "wheel" }.to_owned()],
                    requires_dist,
                    requires_python: None,
                    entry_points: None,
                    yanked: None,
                    provenance: None,
                    summary: None,
                    malware: false,
                }],
            });
        }
        self.load(&scenario);
        "bench-py-0".to_owned()
    }

    fn published(&self, age_hours: f64) -> Timestamp {
        let age = SignedDuration::from_secs_f64(age_hours * 3600.0);
        self.now.checked_sub(age).unwrap_or(self.now)
    }

    fn add_npm(&mut self, package: &NpmPackage) {
        let base = self.base_url();
        let name = &package.name;
        let short = name.rsplit('/').next().unwrap_or(name);
        let strip = |field: &str| package.strip.iter().any(|s| s == field);
        let mut versions = serde_json::Map::new();
        let mut time = serde_json::Map::new();
        let mut last_maintainers = Vec::new();
        for v in &package.versions {
            let mut manifest = serde_json::Map::new();
            manifest.insert("name".into(), json!(name));
            manifest.insert("version".into(), json!(v.version));
            if !v.scripts.is_empty() {
                manifest.insert("scripts".into(), json!(v.scripts));
            }
            if !v.dependencies.is_empty() {
                manifest.insert("dependencies".into(), json!(v.dependencies));
            }
            if !v.optional_dependencies.is_empty() {
                manifest.insert(
                    "optionalDependencies".into(),
                    json!(v.optional_dependencies),
                );
            }
            if let Some(bin) = &v.bin {
                manifest.insert(
                    "bin".into(),
                    serde_json::to_value(bin).unwrap_or(Value::Null),
                );
            }
            if let Some(gyp) = v.gypfile {
                manifest.insert("gypfile".into(), json!(gyp));
            }
            let mut files: Files = collect_files(v.source.as_deref(), &v.files);
            let package_json = serde_json::to_vec_pretty(&Value::Object(manifest.clone()))
                .expect("serialising a map");
            files.insert("package.json".into(), package_json);
            let tarball = build::tar_gz("package", &files);
            let digests = build::npm_digests(&tarball);
            let tarball_path = format!("/npm/{name}/-/{short}-{}.tgz", v.version);
            let tarball_url = if package.relative_tarballs {
                format!("{short}/-/{short}-{}.tgz", v.version)
            } else {
                format!("{base}{tarball_path}")
            };

            if let Some(deprecated) = &v.deprecated {
                manifest.insert("deprecated".into(), json!(deprecated));
            }
            let install = v
                .scripts
                .keys()
                .any(|k| matches!(k.as_str(), "preinstall" | "install" | "postinstall"));
            if install || v.gypfile == Some(true) {
                manifest.insert("hasInstallScript".into(), json!(true));
            }
            let maintainers: Vec<String> = v
                .maintainers
                .clone()
                .or_else(|| v.publisher.clone().map(|p| vec![p]))
                .unwrap_or_default();
            if !strip("maintainers") {
                manifest.insert("maintainers".into(), people(&maintainers));
            }
            last_maintainers = maintainers;
            if !strip("_npmUser") {
                if let Some(tp) = &v.trusted_publisher {
                    manifest.insert(
                        "_npmUser".into(),
                        json!({"name": "GitHub Actions", "email": "npm-oidc-no-reply@example.org",
                               "trustedPublisher": {"id": tp, "oidcConfigId": format!("oidc:{short}")}}),
                    );
                } else if let Some(p) = &v.publisher {
                    manifest.insert(
                        "_npmUser".into(),
                        json!({"name": p, "email": format!("{p}@example.org")}),
                    );
                }
            }
            let mut dist = json!({
                "tarball": tarball_url,
                "integrity": digests.integrity,
                "shasum": digests.shasum,
                "fileCount": files.len(),
                "unpackedSize": files.values().map(Vec::len).sum::<usize>(),
            });
            if !strip("dist.signatures") {
                let signed = |key, integrity: &str| {
                    json!([signing::sign(
                        key,
                        &format!("{name}@{}:{integrity}", v.version)
                    )])
                };
                match v.signature.as_deref() {
                    None | Some("valid") => {
                        dist["signatures"] = signed(signing::REGISTRY, &digests.integrity);
                    }
                    // Signed for other bytes: a tarball swapped after signing.
                    Some("other-bytes") => {
                        dist["signatures"] = signed(signing::REGISTRY, "sha512-swapped");
                    }
                    Some("unknown-key") => {
                        dist["signatures"] = signed(signing::UNKNOWN, &digests.integrity);
                    }
                    Some("expired-key") => {
                        dist["signatures"] = signed(signing::EXPIRED, &digests.integrity);
                    }
                    Some("none") => {}
                    Some(other) => panic!("{name}@{}: no signature kind `{other}`", v.version),
                }
            }
            if let Some(source) = &v.provenance {
                let att_path = format!("/npm/-/npm/v1/attestations/{name}@{}", v.version);
                if !strip("dist.attestations") {
                    dist["attestations"] = json!({
                        "url": format!("{base}{att_path}"),
                        "provenance": {"predicateType": "https://slsa.dev/provenance/v1"}
                    });
                }
                let statement = npm_provenance_statement(name, &v.version, source, &tarball);
                self.serve_json(&att_path, &statement);
            }
            manifest.insert("dist".into(), dist);
            if v.malware {
                let list = self
                    .advisories
                    .entry(name.clone())
                    .or_insert_with(|| json!([]));
                if let Value::Array(items) = list {
                    items.push(json!({
                        "id": 1_000_000 + items.len(),
                        "title": format!("Malware in {name}"),
                        "severity": "critical",
                        "vulnerable_versions": format!("={}", v.version),
                        "cwe": ["CWE-506"],
                        "url": format!("{base}/advisories/{name}"),
                    }));
                }
            }
            manifest.insert("_id".into(), json!(format!("{name}@{}", v.version)));
            versions.insert(v.version.clone(), Value::Object(manifest));
            time.insert(
                v.version.clone(),
                json!(self.published(v.age_hours).to_string()),
            );

            self.server.route(
                &tarball_path,
                vec![Variant {
                    accept: None,
                    content_type: "application/octet-stream".into(),
                    body: Arc::new(tarball.clone()),
                }],
            );
            self.npm_built.insert(
                (name.clone(), v.version.clone()),
                BuiltNpm {
                    tarball: Arc::new(tarball),
                    integrity: digests.integrity,
                    tarball_url: format!("{base}{tarball_path}"),
                },
            );
        }
        let mut times: Vec<&str> = time.values().filter_map(Value::as_str).collect();
        times.sort();
        if let (Some(first), Some(last)) = (times.first(), times.last()) {
            let (first, last) = (first.to_string(), last.to_string());
            if !strip("created") {
                time.insert("created".into(), json!(first));
            }
            time.insert("modified".into(), json!(last));
        }
        let latest = package
            .latest
            .clone()
            .or_else(|| {
                package
                    .versions
                    .iter()
                    .rev()
                    .map(|v| v.version.clone())
                    .find(|v| !v.contains('-'))
            })
            .or_else(|| package.versions.last().map(|v| v.version.clone()));
        let mut doc = json!({
            "_id": name,
            "name": name,
            "dist-tags": {"latest": latest},
            "versions": versions,
            "maintainers": people(package.maintainers.as_ref().unwrap_or(&last_maintainers)),
            "readme": "",
        });
        if !strip("time") {
            doc["time"] = Value::Object(time);
        }
        self.serve_json(&format!("/npm/{name}"), &doc);
    }

    fn add_pypi(&mut self, package: &PypiPackage) {
        let base = self.base_url();
        let norm = normalize(&package.name);
        let mut json_files = Vec::new();
        let mut html =
            format!("<!DOCTYPE html>\n<html><head><title>Links for {norm}</title></head><body>\n");
        let mut releases = serde_json::Map::new();
        for v in &package.versions {
            let files = collect_files(v.source.as_deref(), &v.files);
            let summary = v
                .summary
                .clone()
                .unwrap_or_else(|| format!("{} test package", package.name));
            let metadata =
                build::core_metadata(&package.name, &v.version, &v.requires_dist, &summary);
            let mut built = Vec::new();
            for kind in &v.dists {
                let (kind, tag) = kind.split_once(':').unwrap_or((kind, "py3-none-any"));
                let (filename, bytes, metadata_file) = match kind {
                    "wheel" => {
                        let wheel_files: Files = files
                            .iter()
                            .filter(|(p, _)| {
                                !matches!(p.as_str(), "setup.py" | "setup.cfg" | "pyproject.toml")
                            })
                            .map(|(p, c)| (p.clone(), c.clone()))
                            .collect();
                        let (f, b) = build::wheel_tagged(
                            &package.name,
                            &v.version,
                            &metadata,
                            v.entry_points.as_deref(),
                            &wheel_files,
                            tag,
                        );
                        (f, b, Some(metadata.clone()))
                    }
                    "sdist" => {
                        let (f, b) = build::sdist(&package.name, &v.version, &metadata, &files);
                        (f, b, None)
                    }
                    other => panic!("unknown dist kind `{other}` for {}", package.name),
                };
                built.push((filename, bytes, metadata_file));
            }
            let mut release_files = Vec::new();
            for (filename, bytes, metadata_file) in built {
                let sha256 = build::sha256_hex(&bytes);
                let upload_time = self.published(v.age_hours).to_string();
                let provenance_path =
                    format!("/integrity/{norm}/{}/{filename}/provenance", v.version);
                let mut file = json!({
                    "filename": filename,
                    "url": format!("../../files/{filename}"),
                    "hashes": {"sha256": sha256},
                    "size": bytes.len(),
                    "upload-time": upload_time,
                    "yanked": v.yanked.clone().map_or(json!(false), |r| if r.is_empty() { json!(true) } else { json!(r) }),
                    "provenance": Value::Null,
                });
                let mut attrs = String::new();
                if let Some(rp) = &v.requires_python {
                    file["requires-python"] = json!(rp);
                    attrs.push_str(&format!(" data-requires-python=\"{}\"", html_escape(rp)));
                }
                if let Some(meta) = &metadata_file {
                    let meta_sha = build::sha256_hex(meta.as_bytes());
                    // PEP 714's name and the older one, as PyPI serves both
                    // (pip before 23.3 reads only `dist-info-metadata`).
                    file["core-metadata"] = json!({"sha256": meta_sha});
                    file["dist-info-metadata"] = json!({"sha256": meta_sha});
                    attrs.push_str(&format!(" data-dist-info-metadata=\"sha256={meta_sha}\" data-core-metadata=\"sha256={meta_sha}\""));
                    self.serve_bytes(
                        &format!("/files/{filename}.metadata"),
                        "text/plain",
                        meta.as_bytes().to_vec(),
                    );
                }
                if let Some(y) = &v.yanked {
                    attrs.push_str(&format!(" data-yanked=\"{}\"", html_escape(y)));
                }
                if let Some(source) = &v.provenance {
                    file["provenance"] = json!(format!("{base}{provenance_path}"));
                    attrs.push_str(&format!(" data-provenance=\"{base}{provenance_path}\""));
                    self.serve_json(
                        &provenance_path,
                        &pypi_provenance(source, &filename, &sha256),
                    );
                }
                html.push_str(&format!(
                    "<a href=\"../../files/{filename}#sha256={sha256}\"{attrs}>{filename}</a><br/>\n"
                ));
                release_files.push(json!({
                    "filename": filename,
                    "url": format!("{base}/files/{filename}"),
                    "digests": {"sha256": sha256},
                    "packagetype": if filename.ends_with(".whl") { "bdist_wheel" } else { "sdist" },
                    "upload_time_iso_8601": upload_time,
                    "yanked": v.yanked.is_some(),
                    "size": bytes.len(),
                }));
                json_files.push(file);
                self.serve_bytes(
                    &format!("/files/{filename}"),
                    "application/octet-stream",
                    bytes.clone(),
                );
                self.pypi_built
                    .entry(norm.clone())
                    .or_default()
                    .push(BuiltFile {
                        filename,
                        sha256,
                        bytes: Arc::new(bytes),
                    });
            }
            let vulnerabilities = if v.malware {
                json!([{"id": format!("MAL-2026-{}", 1000 + releases.len()), "aliases": [], "fixed_in": [], "withdrawn": null}])
            } else {
                json!([])
            };
            if package.json_api {
                self.serve_json(
                    &format!("/pypi/{norm}/{}/json", v.version),
                    &json!({"info": {"name": package.name, "version": v.version}, "urls": release_files, "vulnerabilities": vulnerabilities}),
                );
            }
            releases.insert(v.version.clone(), Value::Array(release_files));
        }
        html.push_str("</body></html>\n");
        let mut simple = json!({
            "meta": {"api-version": "1.1"},
            "name": norm,
            "versions": package.versions.iter().map(|v| v.version.clone()).collect::<Vec<_>>(),
            "files": json_files,
        });
        if let Some(status) = &package.status {
            simple["project-status"] = json!({"status": status});
        }
        self.server.route(
            &format!("/simple/{norm}/"),
            vec![
                Variant {
                    accept: Some(SIMPLE_JSON.into()),
                    content_type: SIMPLE_JSON.into(),
                    body: Arc::new(serde_json::to_vec(&simple).expect("serialising JSON")),
                },
                Variant {
                    accept: None,
                    content_type: "text/html".into(),
                    body: Arc::new(html.into_bytes()),
                },
            ],
        );
        if package.json_api {
            let last = package.versions.last();
            let doc = json!({
                "info": {
                    "name": package.name,
                    "version": last.map(|v| v.version.clone()),
                    "summary": last.and_then(|v| v.summary.clone()),
                    "author": "Test Author",
                    "requires_dist": last.map(|v| v.requires_dist.clone()),
                },
                "releases": releases,
                "urls": [],
                "vulnerabilities": [],
            });
            self.serve_json(&format!("/pypi/{norm}/json"), &doc);
        }
        if !self.pypi_projects.contains(&norm) {
            self.pypi_projects.push(norm);
        }
    }

    fn serve_simple_root(&self) {
        let mut html = String::from("<!DOCTYPE html>\n<html><body>\n");
        for p in &self.pypi_projects {
            html.push_str(&format!("<a href=\"{p}/\">{p}</a><br/>\n"));
        }
        html.push_str("</body></html>\n");
        self.serve_bytes("/simple/", "text/html", html.into_bytes());
    }

    fn serve_json(&self, path: &str, value: &Value) {
        self.serve_bytes(
            path,
            "application/json",
            serde_json::to_vec(value).expect("serialising JSON"),
        );
    }

    fn serve_bytes(&self, path: &str, content_type: &str, body: Vec<u8>) {
        self.serve_raw(path, content_type, body);
    }
}

/// A small deterministic generator (xorshift64) for generated projects.
fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// `size` bytes of hex digits: compresses only 2:1, like real code does.
fn hex_filler(size: usize, next: &mut impl FnMut() -> u64) -> String {
    (0..size / 2)
        .map(|_| char::from(b"0123456789abcdef"[(next() % 16) as usize]))
        .collect()
}

fn people(names: &[String]) -> Value {
    Value::Array(
        names
            .iter()
            .map(|n| json!({"name": n, "email": format!("{n}@example.org")}))
            .collect(),
    )
}

fn normalize(name: &str) -> String {
    build::dist_name(name).replace('_', "-")
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The Sigstore bundle a scenario asks for, over `statement`.
fn attest(
    statement: &Value,
    source: &SourceRef,
    identity: &sigstore::Identity,
    pep740: bool,
) -> Value {
    let flaw = match source.attestation.as_deref() {
        None | Some("valid") => sigstore::Flaw::None,
        Some("other-digest") => sigstore::Flaw::OtherDigest,
        Some("unknown-ca") => sigstore::Flaw::UnknownCa,
        Some("unsigned") => {
            let payload = base64::engine::general_purpose::STANDARD
                .encode(serde_json::to_vec(statement).expect("serialising JSON"));
            return if pep740 {
                json!({"version": 1, "verification_material": {"certificate": "", "transparency_entries": []},
                       "envelope": {"statement": payload, "signature": ""}})
            } else {
                json!({"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                       "dsseEnvelope": {"payload": payload, "payloadType": "application/vnd.in-toto+json", "signatures": []}})
            };
        }
        Some(other) => panic!("no attestation kind `{other}`"),
    };
    let world = sigstore::world();
    if pep740 {
        world.pep740(statement, identity, flaw)
    } else {
        world.bundle(statement, identity, flaw)
    }
}

/// An npm attestations response: a SLSA v1 statement naming the source
/// repository and workflow, in a Sigstore bundle signed by the testkit's
/// CA for that repository's workflow.
fn npm_provenance_statement(
    name: &str,
    version: &str,
    source: &SourceRef,
    tarball: &[u8],
) -> Value {
    use sha2::Digest;
    let git_ref = source
        .r#ref
        .clone()
        .unwrap_or_else(|| "refs/heads/main".into());
    let statement = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": format!("pkg:npm/{name}@{version}"),
                     "digest": {"sha512": build::hex(&sha2::Sha512::digest(tarball))}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"buildDefinition": {
            "buildType": "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
            "externalParameters": {"workflow": {
                "repository": source.repository,
                "path": source.workflow,
                "ref": git_ref,
            }}
        }}
    });
    let identity = sigstore::Identity {
        repository: source.repository.clone(),
        workflow: source.workflow.clone(),
        git_ref,
    };
    json!({"attestations": [{
        "predicateType": "https://slsa.dev/provenance/v1",
        "bundle": attest(&statement, source, &identity, false),
    }]})
}

/// A PEP 740 provenance object naming a Trusted Publisher, with one
/// attestation over `filename`'s digest signed for that publisher.
fn pypi_provenance(source: &SourceRef, filename: &str, sha256: &str) -> Value {
    // The index's own predicate type is a URI on its documentation host;
    // warden does not read it, so an example one stands in.
    let statement = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": filename, "digest": {"sha256": sha256}}],
        "predicateType": "https://attestations.example.org/publish/v1",
        "predicate": null,
    });
    // Trusted Publishers name `owner/repo` and the workflow's file name;
    // the certificate names the forge's URL and the workflow's path.
    let identity = sigstore::Identity {
        repository: format!("https://github.com/{}", source.repository),
        workflow: format!(".github/workflows/{}", source.workflow),
        git_ref: source
            .r#ref
            .clone()
            .unwrap_or_else(|| "refs/heads/main".into()),
    };
    json!({
        "version": 1,
        "attestation_bundles": [{
            "publisher": {
                "kind": source.kind.clone().unwrap_or_else(|| "GitHub".into()),
                "repository": source.repository,
                "workflow": source.workflow,
                "environment": source.environment,
            },
            "attestations": [attest(&statement, source, &identity, true)]
        }]
    })
}

/// The testkit registry's signing keys: fixed test keys, made at run time
/// from constant scalars (they sign nothing outside tests).
mod signing {
    use base64::Engine as _;
    use p256::ecdsa::signature::Signer as _;
    use p256::ecdsa::{Signature, SigningKey};
    use p256::pkcs8::EncodePublicKey as _;
    use serde_json::{Value, json};

    /// (key id, scalar byte)
    pub type Key = (&'static str, u8);
    /// The key the registry signs with.
    pub const REGISTRY: Key = ("SHA256:warden-testkit-2026", 0x5a);
    /// A key the registry published once; it expired years ago.
    pub const EXPIRED: Key = ("SHA256:warden-testkit-2019", 0x3c);
    /// A key the registry never published.
    pub const UNKNOWN: Key = ("SHA256:someone-else", 0x77);

    fn secret((_, scalar): Key) -> SigningKey {
        SigningKey::from_slice(&[scalar; 32]).expect("a valid P-256 scalar")
    }

    /// The key as `/-/npm/v1/keys` lists it.
    pub fn public(key: Key, expires: Option<&str>) -> Value {
        let der = p256::PublicKey::from(secret(key).verifying_key())
            .to_public_key_der()
            .expect("encoding a public key");
        json!({
            "expires": expires,
            "keyid": key.0,
            "keytype": "ecdsa-sha2-nistp256",
            "scheme": "ecdsa-sha2-nistp256",
            "key": base64::engine::general_purpose::STANDARD.encode(der.as_bytes()),
        })
    }

    /// A `dist.signatures` entry over `message`.
    pub fn sign(key: Key, message: &str) -> Value {
        let sig: Signature = secret(key).sign(message.as_bytes());
        json!({
            "keyid": key.0,
            "sig": base64::engine::general_purpose::STANDARD.encode(sig.to_der().as_bytes()),
        })
    }
}
