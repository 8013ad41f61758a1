//! Python package indexes: the Simple API (PEP 503 HTML and PEP 691 JSON,
//! with PEP 658/700/740/792 fields), PyPI's own JSON API, and PEP 740
//! provenance objects.
//!
//! Mirrors serve subsets: every field is optional, and a mirror without the
//! JSON API or provenance simply yields `None` for them.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use jiff::Timestamp;
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::lenient;
use crate::{Error, RedactedUrl};

/// What warden asks an index for: JSON first, HTML from older indexes.
pub const SIMPLE_ACCEPT: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

/// PEP 503 name normalisation: lower case, runs of `-`, `_`, `.` as one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !last_sep {
                out.push('-');
            }
            last_sep = true;
        } else {
            out.push(c.to_ascii_lowercase());
            last_sep = false;
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DistKind {
    Wheel,
    Sdist,
    Other,
}

/// One file of a project, as an index lists it.
#[derive(Debug, Clone, Serialize)]
pub struct DistFile {
    pub filename: String,
    /// Resolved against the page that listed it.
    pub url: RedactedUrl,
    pub kind: DistKind,
    /// The version the file name carries, when it can be read.
    pub version: Option<String>,
    /// Algorithm -> hex digest.
    pub hashes: BTreeMap<String, String>,
    pub requires_python: Option<String>,
    /// PEP 658/714: the METADATA file is served at `url + ".metadata"`.
    pub has_metadata_file: bool,
    /// `Some(reason)` when yanked; the reason may be empty.
    pub yanked: Option<String>,
    pub size: Option<u64>,
    /// PEP 700; only the JSON form carries it.
    pub upload_time: Option<Timestamp>,
    /// PEP 740: the provenance object's URL.
    pub provenance: Option<RedactedUrl>,
    /// Whether the index said anything about provenance for this file. When
    /// it did not (HTML pages, mirrors that strip the field), the absence of
    /// `provenance` means "unknown", not "none".
    pub provenance_listed: bool,
}

/// The tags a wheel's file name declares (`py3-none-any`), each compressed
/// set (`py2.py3`, `manylinux1_x86_64.manylinux2014_x86_64`) expanded.
pub fn wheel_tags(filename: &str) -> Vec<String> {
    let Some(stem) = filename.strip_suffix(".whl") else {
        return Vec::new();
    };
    let parts: Vec<&str> = stem.split('-').collect();
    let [.., python, abi, platform] = parts.as_slice() else {
        return Vec::new();
    };
    if parts.len() < 5 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for p in python.split('.') {
        for a in abi.split('.') {
            for pl in platform.split('.') {
                out.push(format!("{p}-{a}-{pl}"));
            }
        }
    }
    out
}

/// A project page of the Simple API.
#[derive(Debug, Clone, Serialize)]
pub struct SimpleProject {
    pub name: String,
    pub files: Vec<DistFile>,
    /// PEP 792 status (`active`, `archived`, `quarantined`, `deprecated`).
    pub status: Option<String>,
    pub status_reason: Option<String>,
    pub url: RedactedUrl,
}

impl SimpleProject {
    /// Parses a project page in whichever form the index answered.
    pub fn from_response(
        project: &str,
        url: &RedactedUrl,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Self, Error> {
        let is_json = content_type.is_some_and(|t| t.contains("json"))
            || body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        if is_json {
            Self::from_json(project, url, body)
        } else {
            Self::from_html(project, url, body)
        }
    }

    pub fn from_json(project: &str, url: &RedactedUrl, body: &[u8]) -> Result<Self, Error> {
        #[derive(Deserialize)]
        struct Status {
            #[serde(default, deserialize_with = "lenient::string")]
            status: Option<String>,
            #[serde(default, deserialize_with = "lenient::string")]
            reason: Option<String>,
        }
        #[derive(Deserialize)]
        struct RawFile {
            #[serde(default, deserialize_with = "lenient::string")]
            filename: Option<String>,
            #[serde(default, deserialize_with = "lenient::string")]
            url: Option<String>,
            #[serde(default, deserialize_with = "lenient::string_map")]
            hashes: BTreeMap<String, String>,
            #[serde(
                default,
                rename = "requires-python",
                deserialize_with = "lenient::string"
            )]
            requires_python: Option<String>,
            #[serde(default, rename = "core-metadata")]
            core_metadata: Option<serde_json::Value>,
            #[serde(default, rename = "dist-info-metadata")]
            dist_info_metadata: Option<serde_json::Value>,
            #[serde(default)]
            yanked: Option<serde_json::Value>,
            #[serde(default, deserialize_with = "lenient::number")]
            size: Option<u64>,
            #[serde(default, rename = "upload-time", deserialize_with = "lenient::string")]
            upload_time: Option<String>,
            #[serde(default, deserialize_with = "present")]
            provenance: Option<serde_json::Value>,
        }
        #[derive(Deserialize)]
        struct Raw {
            #[serde(default, deserialize_with = "lenient::string")]
            name: Option<String>,
            #[serde(default, deserialize_with = "lenient::opt")]
            files: Option<Vec<RawFile>>,
            #[serde(default, rename = "project-status", deserialize_with = "lenient::opt")]
            project_status: Option<Status>,
        }
        let raw: Raw = lenient::object(body).map_err(|message| Error::Malformed {
            package: format!("pypi:{project}"),
            url: url.clone(),
            what: "project page",
            message,
        })?;
        let flag = |v: &Option<serde_json::Value>| match v {
            Some(serde_json::Value::Bool(b)) => *b,
            Some(serde_json::Value::Object(_)) => true,
            _ => false,
        };
        let files = raw
            .files
            .unwrap_or_default()
            .into_iter()
            .filter_map(|f| {
                let filename = f.filename?;
                let file_url = url.join(f.url.as_deref()?).ok()?;
                let yanked = match f.yanked {
                    Some(serde_json::Value::Bool(true)) => Some(String::new()),
                    Some(serde_json::Value::String(reason)) => Some(reason),
                    _ => None,
                };
                Some(DistFile {
                    kind: dist_kind(&filename),
                    version: version_from_filename(&filename, project),
                    url: file_url,
                    hashes: f.hashes,
                    requires_python: f.requires_python,
                    has_metadata_file: flag(&f.core_metadata) || flag(&f.dist_info_metadata),
                    yanked,
                    size: f.size,
                    upload_time: f.upload_time.and_then(|t| t.parse().ok()),
                    provenance_listed: f.provenance.is_some(),
                    provenance: f
                        .provenance
                        .as_ref()
                        .and_then(|p| p.as_str())
                        .and_then(|p| url.join(p).ok()),
                    filename,
                })
            })
            .collect();
        let (status, status_reason) = raw
            .project_status
            .map(|s| (s.status, s.reason))
            .unwrap_or_default();
        Ok(Self {
            name: raw.name.unwrap_or_else(|| project.to_owned()),
            files,
            status,
            status_reason,
            url: url.clone(),
        })
    }

    /// PEP 503 HTML: one anchor per file, the hash in the URL fragment,
    /// the rest in `data-*` attributes.
    pub fn from_html(project: &str, url: &RedactedUrl, body: &[u8]) -> Result<Self, Error> {
        static ANCHOR: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"(?is)<a\s([^>]*)>(.*?)</a\s*>").unwrap_or_else(|_| unreachable!())
        });
        static ATTR: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(
                r#"(?s)([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))"#,
            )
            .unwrap_or_else(|_| unreachable!())
        });
        let text = std::str::from_utf8(body).map_err(|e| Error::Malformed {
            package: format!("pypi:{project}"),
            url: url.clone(),
            what: "project page",
            message: e.to_string(),
        })?;
        let lower = text.to_ascii_lowercase();
        if !lower.contains("<html") && !lower.contains("<a") && !lower.contains("<!doctype") {
            return Err(Error::Malformed {
                package: format!("pypi:{project}"),
                url: url.clone(),
                what: "project page",
                message: "it is neither JSON nor HTML".to_owned(),
            });
        }
        let mut files = Vec::new();
        for anchor in ANCHOR.captures_iter(text) {
            let mut attrs = BTreeMap::new();
            for a in ATTR.captures_iter(&anchor[1]) {
                let value = a
                    .get(2)
                    .or(a.get(3))
                    .or(a.get(4))
                    .map_or("", |m| m.as_str());
                attrs.insert(a[1].to_ascii_lowercase(), unescape_html(value));
            }
            let Some(href) = attrs.get("href") else {
                continue;
            };
            let (link, fragment) = href.split_once('#').unwrap_or((href, ""));
            let Ok(file_url) = url.join(link) else {
                continue;
            };
            let filename = file_url
                .path()
                .rsplit('/')
                .next()
                .map(percent_decode)
                .unwrap_or_default();
            if filename.is_empty() {
                continue;
            }
            let hashes = fragment
                .split_once('=')
                .map(|(alg, digest)| BTreeMap::from([(alg.to_owned(), digest.to_owned())]))
                .unwrap_or_default();
            let metadata_flag = |name: &str| attrs.get(name).is_some_and(|v| v != "false");
            files.push(DistFile {
                kind: dist_kind(&filename),
                version: version_from_filename(&filename, project),
                url: file_url,
                hashes,
                requires_python: attrs.get("data-requires-python").cloned(),
                has_metadata_file: metadata_flag("data-core-metadata")
                    || metadata_flag("data-dist-info-metadata"),
                yanked: attrs.get("data-yanked").cloned(),
                size: None,
                upload_time: None,
                provenance_listed: attrs.contains_key("data-provenance"),
                provenance: attrs.get("data-provenance").and_then(|p| url.join(p).ok()),
                filename,
            });
        }
        Ok(Self {
            name: project.to_owned(),
            files,
            status: None,
            status_reason: None,
            url: url.clone(),
        })
    }

    /// Versions that have files, in PEP 440 order (oldest first); file
    /// names whose version cannot be read are left out.
    pub fn versions(&self) -> Vec<String> {
        let mut versions: Vec<(pep440_rs::Version, String)> = self
            .files
            .iter()
            .filter_map(|f| f.version.as_ref())
            .filter_map(|v| Some((v.parse::<pep440_rs::Version>().ok()?, v.clone())))
            .collect();
        versions.sort_by(|a, b| a.0.cmp(&b.0));
        versions.dedup_by(|a, b| a.0 == b.0);
        versions.into_iter().map(|(_, v)| v).collect()
    }

    /// The files of `version` (compared as PEP 440 versions).
    pub fn files_of(&self, version: &str) -> Vec<&DistFile> {
        let wanted = version.parse::<pep440_rs::Version>().ok();
        self.files
            .iter()
            .filter(|f| {
                let v = f
                    .version
                    .as_deref()
                    .and_then(|v| v.parse::<pep440_rs::Version>().ok());
                match (&wanted, v) {
                    (Some(w), Some(v)) => *w == v,
                    _ => f.version.as_deref() == Some(version),
                }
            })
            .collect()
    }

    /// The newest version that is not a pre-release and has a file that is
    /// not yanked.
    pub fn latest(&self) -> Option<String> {
        self.versions().into_iter().rev().find(|v| {
            v.parse::<pep440_rs::Version>()
                .is_ok_and(|p| !p.any_prerelease())
                && self.files_of(v).iter().any(|f| f.yanked.is_none())
        })
    }
}

/// `Some(value)` whenever the field is present, `null` included.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

fn dist_kind(filename: &str) -> DistKind {
    let lower = filename.to_ascii_lowercase();
    if lower.ends_with(".whl") {
        DistKind::Wheel
    } else if [".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar"]
        .iter()
        .any(|ext| lower.ends_with(ext))
    {
        DistKind::Sdist
    } else {
        DistKind::Other
    }
}

/// Reads the version out of a wheel or sdist file name.
pub fn version_from_filename(filename: &str, project: &str) -> Option<String> {
    let lower = filename.to_ascii_lowercase();
    if lower.ends_with(".whl") {
        return filename.split('-').nth(1).map(str::to_owned);
    }
    let stem = [".tar.gz", ".tar.bz2", ".tar.xz", ".zip", ".tgz", ".tar"]
        .iter()
        .find_map(|ext| {
            lower
                .ends_with(ext)
                .then(|| &filename[..filename.len() - ext.len()])
        })?;
    let wanted = normalize_name(project);
    // The name may itself contain `-`: split where the prefix is the project.
    stem.match_indices('-')
        .map(|(i, _)| i)
        .find(|&i| normalize_name(&stem[..i]) == wanted)
        .map(|i| stem[i + 1..].to_owned())
        .filter(|v| v.parse::<pep440_rs::Version>().is_ok())
}

fn unescape_html(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';').filter(|&e| e <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_owned())
}

/// The Trusted Publisher a PEP 740 attestation bundle names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedPublisher {
    /// `GitHub`, `GitLab`, `Google`, `ActiveState`.
    #[serde(default, deserialize_with = "lenient::string")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub repository: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub workflow: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub environment: Option<String>,
}

/// A PEP 740 provenance object: who built and uploaded a file.
#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    pub publishers: Vec<TrustedPublisher>,
    pub attestations: usize,
    /// The object as served, for verifying its attestations.
    #[serde(skip)]
    pub body: Vec<u8>,
}

impl Provenance {
    pub fn from_slice(project: &str, url: &RedactedUrl, body: &[u8]) -> Result<Self, Error> {
        #[derive(Deserialize)]
        struct Bundle {
            #[serde(default, deserialize_with = "lenient::opt")]
            publisher: Option<TrustedPublisher>,
            #[serde(default, deserialize_with = "lenient::opt")]
            attestations: Option<Vec<serde::de::IgnoredAny>>,
        }
        #[derive(Deserialize)]
        struct Raw {
            #[serde(default, deserialize_with = "lenient::opt")]
            attestation_bundles: Option<Vec<Bundle>>,
        }
        let raw: Raw = lenient::object(body).map_err(|message| Error::Malformed {
            package: format!("pypi:{project}"),
            url: url.clone(),
            what: "provenance object",
            message,
        })?;
        let bundles = raw.attestation_bundles.unwrap_or_default();
        Ok(Self {
            attestations: bundles
                .iter()
                .map(|b| b.attestations.as_ref().map_or(0, Vec::len))
                .sum(),
            publishers: bundles.into_iter().filter_map(|b| b.publisher).collect(),
            body: body.to_vec(),
        })
    }
}

/// The parts of PyPI's JSON API (`/pypi/<project>/json`) warden reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JsonProject {
    #[serde(default)]
    pub info: JsonInfo,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub vulnerabilities: Option<Vec<Vulnerability>>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub ownership: Option<Ownership>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct JsonInfo {
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub summary: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub author: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub author_email: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub maintainer: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub maintainer_email: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub project_urls: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub requires_dist: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Vulnerability {
    #[serde(default, deserialize_with = "lenient::string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub aliases: Vec<String>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub fixed_in: Vec<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub withdrawn: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ownership {
    #[serde(default, deserialize_with = "lenient::string")]
    pub organization: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub roles: Option<Vec<Role>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Role {
    #[serde(default, deserialize_with = "lenient::string")]
    pub role: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub user: Option<String>,
}

impl Vulnerability {
    /// OSV publishes malicious packages under `MAL-` identifiers.
    pub fn is_malware(&self) -> bool {
        self.id.as_deref().is_some_and(|i| i.starts_with("MAL-"))
            || self.aliases.iter().any(|a| a.starts_with("MAL-"))
    }
}

impl JsonProject {
    pub fn from_slice(project: &str, url: &RedactedUrl, body: &[u8]) -> Result<Self, Error> {
        lenient::object(body).map_err(|message| Error::Malformed {
            package: format!("pypi:{project}"),
            url: url.clone(),
            what: "JSON API document",
            message,
        })
    }
}

/// Where PyPI's JSON API would be for an index URL: beside `/simple/`. An
/// index that is not laid out that way has none.
pub fn json_api_url(index: &RedactedUrl, project: &str) -> Option<RedactedUrl> {
    let path = index.path();
    let base = path
        .strip_suffix("simple/")
        .or_else(|| path.strip_suffix("simple"))?;
    index
        .join(&format!("{base}pypi/{}/json", normalize_name(project)))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> RedactedUrl {
        RedactedUrl::parse("http://127.0.0.1:1/simple/demo-pkg/").unwrap()
    }

    #[test]
    fn simple_json_with_every_pep_field() {
        let body = br#"{
          "meta": {"api-version": "1.4"}, "name": "demo-pkg", "versions": ["1.0", "1.1", "2.0rc1"],
          "project-status": {"status": "archived", "reason": "moved"},
          "files": [
            {"filename": "demo_pkg-1.0-py3-none-any.whl", "url": "../../files/demo_pkg-1.0-py3-none-any.whl",
             "hashes": {"sha256": "aa"}, "requires-python": ">=3.8", "core-metadata": {"sha256": "bb"},
             "yanked": false, "size": 1234, "upload-time": "2024-03-01T10:00:00.123456Z",
             "provenance": "http://127.0.0.1:1/integrity/demo-pkg/1.0/demo_pkg-1.0-py3-none-any.whl/provenance"},
            {"filename": "demo-pkg-1.1.tar.gz", "url": "http://127.0.0.1:1/files/demo-pkg-1.1.tar.gz",
             "hashes": {"sha256": "cc"}, "yanked": "broken build", "dist-info-metadata": true, "future": 1},
            {"filename": "demo_pkg-2.0rc1.zip", "url": "/files/demo_pkg-2.0rc1.zip", "hashes": {}},
            {"url": "no filename"}
          ]}"#;
        let p = SimpleProject::from_response(
            "demo-pkg",
            &page(),
            Some("application/vnd.pypi.simple.v1+json"),
            body,
        )
        .unwrap();
        assert_eq!(p.files.len(), 3);
        assert_eq!(p.versions(), ["1.0", "1.1", "2.0rc1"]);
        assert_eq!(
            p.latest().as_deref(),
            Some("1.0"),
            "1.1 is yanked, 2.0rc1 a pre-release"
        );
        let whl = &p.files[0];
        assert_eq!(whl.kind, DistKind::Wheel);
        assert_eq!(
            whl.url.to_string(),
            "http://127.0.0.1:1/files/demo_pkg-1.0-py3-none-any.whl"
        );
        assert!(whl.has_metadata_file);
        assert_eq!(
            whl.upload_time.unwrap().to_string(),
            "2024-03-01T10:00:00.123456Z"
        );
        assert!(whl.provenance.is_some());
        assert_eq!(whl.yanked, None);
        assert_eq!(p.files[1].yanked.as_deref(), Some("broken build"));
        assert_eq!(p.files[1].kind, DistKind::Sdist);
        assert_eq!(
            p.files[2].url.to_string(),
            "http://127.0.0.1:1/files/demo_pkg-2.0rc1.zip"
        );
        assert_eq!(p.status.as_deref(), Some("archived"));
    }

    #[test]
    fn simple_html_anchors() {
        let body = br#"<!DOCTYPE html><html><body>
          <a href="../../files/demo_pkg-1.0-py3-none-any.whl#sha256=aa" data-requires-python="&gt;=3.8"
             data-dist-info-metadata="sha256=bb" data-provenance="/integrity/p">demo_pkg-1.0-py3-none-any.whl</a><br/>
          <A HREF='/files/demo-pkg-1.1.tar.gz#sha256=cc' data-yanked="">demo-pkg-1.1.tar.gz</A>
          <a>no href</a>
        </body></html>"#;
        let p = SimpleProject::from_response("demo-pkg", &page(), Some("text/html"), body).unwrap();
        assert_eq!(p.files.len(), 2);
        let whl = &p.files[0];
        assert_eq!(whl.hashes["sha256"], "aa");
        assert_eq!(whl.requires_python.as_deref(), Some(">=3.8"));
        assert!(whl.has_metadata_file);
        assert_eq!(
            whl.provenance.as_ref().unwrap().to_string(),
            "http://127.0.0.1:1/integrity/p"
        );
        assert_eq!(p.files[1].yanked.as_deref(), Some(""));
        assert_eq!(p.files[1].version.as_deref(), Some("1.1"));
    }

    #[test]
    fn garbage_is_malformed_with_package_and_url() {
        for body in [&b"{\"files\": "[..], b"\x00\x01binary", b"plain text"] {
            let err = SimpleProject::from_response("demo-pkg", &page(), None, body).unwrap_err();
            let text = err.to_string();
            assert!(
                text.contains("pypi:demo-pkg") && text.contains("/simple/demo-pkg/"),
                "{text}"
            );
        }
    }

    #[test]
    fn versions_from_file_names() {
        assert_eq!(
            version_from_filename("my_pkg-1.0.post1-py3-none-any.whl", "my-pkg").as_deref(),
            Some("1.0.post1")
        );
        assert_eq!(
            version_from_filename("my-pkg-2.0.tar.gz", "my.pkg").as_deref(),
            Some("2.0")
        );
        assert_eq!(
            version_from_filename("my-pkg-extra-2.0.tar.gz", "my-pkg").as_deref(),
            None
        );
        assert_eq!(normalize_name("Foo.Bar__baz"), "foo-bar-baz");
    }

    #[test]
    fn provenance_names_trusted_publisher() {
        let body = br#"{"version": 1, "attestation_bundles": [{"publisher": {"kind": "GitHub",
           "repository": "example/demo", "workflow": "release.yml", "environment": "pypi", "claims": {}},
           "attestations": [{"version": 1, "verification_material": {}, "envelope": {}}]}]}"#;
        let url = page();
        let p = Provenance::from_slice("demo-pkg", &url, body).unwrap();
        assert_eq!(p.attestations, 1);
        assert_eq!(p.publishers[0].repository.as_deref(), Some("example/demo"));
        assert_eq!(p.publishers[0].workflow.as_deref(), Some("release.yml"));
    }

    #[test]
    fn json_api_beside_simple() {
        let index = RedactedUrl::parse("http://127.0.0.1:1/mirror/simple/").unwrap();
        assert_eq!(
            json_api_url(&index, "Demo_Pkg").unwrap().to_string(),
            "http://127.0.0.1:1/mirror/pypi/demo-pkg/json"
        );
        let other = RedactedUrl::parse("http://127.0.0.1:1/devpi/root/").unwrap();
        assert!(json_api_url(&other, "x").is_none());
    }
}
