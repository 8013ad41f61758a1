//! npm package documents ("packuments").

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::lenient;
use crate::{Error, RedactedUrl};

/// The `Accept` header for the full document. The abbreviated form lacks
/// publishers, maintainers and publish times, which warden needs.
pub const FULL_DOCUMENT: &str = "application/json";

/// An account, as npm lists maintainers and publishers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl<'de> Deserialize<'de> for Person {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Either `{name, email}` or the legacy string `"name <email>"`.
        #[derive(Deserialize)]
        struct Object {
            #[serde(default, deserialize_with = "lenient::string")]
            name: Option<String>,
            #[serde(default, deserialize_with = "lenient::string")]
            email: Option<String>,
        }
        let value = serde_json::Value::deserialize(d)?;
        if let serde_json::Value::String(s) = &value {
            let (name, email) = match s.split_once('<') {
                Some((n, rest)) => (n.trim(), rest.split('>').next().map(str::trim)),
                None => (s.trim(), None),
            };
            return Ok(Self {
                name: name.to_owned(),
                email: email.map(str::to_owned),
            });
        }
        let object = Object::deserialize(value).map_err(serde::de::Error::custom)?;
        Ok(Self {
            name: object.name.unwrap_or_default(),
            email: object.email,
        })
    }
}

fn people<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Person>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Array(items) => items
            .into_iter()
            .filter_map(|v| Person::deserialize(v).ok())
            .filter(|p| !p.name.is_empty())
            .collect(),
        _ => Vec::new(),
    })
}

/// The OIDC identity of a trusted-publishing release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedPublisher {
    /// The provider: `github`, `gitlab`, ...
    #[serde(default, deserialize_with = "lenient::string")]
    pub id: Option<String>,
    #[serde(default, rename = "oidcConfigId", deserialize_with = "lenient::string")]
    pub oidc_config_id: Option<String>,
}

/// `_npmUser`: the account that published a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publisher {
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub email: Option<String>,
    #[serde(
        default,
        rename = "trustedPublisher",
        deserialize_with = "lenient::opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub trusted_publisher: Option<TrustedPublisher>,
    /// With staged publishing, the human who approved the release.
    #[serde(
        default,
        deserialize_with = "lenient::opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub approver: Option<Person>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    #[serde(default, deserialize_with = "lenient::string")]
    pub keyid: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub sig: Option<String>,
}

/// The registry's public keys for its version signatures
/// (`{registry}/-/npm/v1/keys`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKeys {
    #[serde(default)]
    pub keys: Vec<SigningKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKey {
    #[serde(default, deserialize_with = "lenient::string")]
    pub keyid: Option<String>,
    /// Base64 of the DER SubjectPublicKeyInfo of an ECDSA P-256 key.
    #[serde(default, deserialize_with = "lenient::string")]
    pub key: Option<String>,
    /// When the key stopped counting; signatures on versions published
    /// after it are not the registry's.
    #[serde(default, deserialize_with = "lenient::string")]
    pub expires: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub scheme: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvenanceRef {
    #[serde(
        default,
        rename = "predicateType",
        deserialize_with = "lenient::string"
    )]
    pub predicate_type: Option<String>,
}

/// `dist.attestations`: where the Sigstore bundles of a version are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attestations {
    #[serde(default, deserialize_with = "lenient::string")]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub provenance: Option<ProvenanceRef>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dist {
    /// As published; may be relative on some mirrors, see
    /// [`Packument::tarball_url`].
    #[serde(default, deserialize_with = "lenient::string")]
    pub tarball: Option<String>,
    /// Subresource Integrity, usually `sha512-...`.
    #[serde(default, deserialize_with = "lenient::string")]
    pub integrity: Option<String>,
    /// sha1, hex.
    #[serde(default, deserialize_with = "lenient::string")]
    pub shasum: Option<String>,
    #[serde(default, rename = "fileCount", deserialize_with = "lenient::number")]
    pub file_count: Option<u64>,
    #[serde(default, rename = "unpackedSize", deserialize_with = "lenient::number")]
    pub unpacked_size: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub signatures: Option<Vec<Signature>>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub attestations: Option<Attestations>,
}

/// One published version's manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionManifest {
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub version: Option<String>,
    #[serde(default, deserialize_with = "lenient::string_map")]
    pub scripts: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "lenient::string_map")]
    pub dependencies: BTreeMap<String, String>,
    #[serde(
        default,
        rename = "optionalDependencies",
        deserialize_with = "lenient::string_map"
    )]
    pub optional_dependencies: BTreeMap<String, String>,
    #[serde(
        default,
        rename = "peerDependencies",
        deserialize_with = "lenient::string_map"
    )]
    pub peer_dependencies: BTreeMap<String, String>,
    #[serde(
        default,
        rename = "devDependencies",
        deserialize_with = "lenient::string_map"
    )]
    pub dev_dependencies: BTreeMap<String, String>,
    /// `bundleDependencies` or `bundledDependencies`: names, or `true` for all.
    #[serde(
        default,
        rename = "bundleDependencies",
        alias = "bundledDependencies",
        deserialize_with = "lenient::opt"
    )]
    pub bundle_dependencies: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub os: Vec<String>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub cpu: Vec<String>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub libc: Vec<String>,
    /// A single path, or command name -> path.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub bin: Option<serde_json::Value>,
    /// The deprecation message; `None` when not deprecated.
    #[serde(default, deserialize_with = "lenient::string")]
    pub deprecated: Option<String>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub gypfile: Option<bool>,
    #[serde(default, rename = "gitHead", deserialize_with = "lenient::string")]
    pub git_head: Option<String>,
    #[serde(
        default,
        rename = "_hasShrinkwrap",
        deserialize_with = "lenient::boolean"
    )]
    pub has_shrinkwrap: Option<bool>,
    /// Only in the abbreviated document and some mirrors.
    #[serde(
        default,
        rename = "hasInstallScript",
        deserialize_with = "lenient::boolean"
    )]
    pub has_install_script: Option<bool>,
    #[serde(default, rename = "_npmUser", deserialize_with = "lenient::opt")]
    pub npm_user: Option<Publisher>,
    #[serde(default, deserialize_with = "people")]
    pub maintainers: Vec<Person>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub dist: Option<Dist>,
}

/// Lifecycle scripts npm runs when it installs a package.
pub const INSTALL_SCRIPTS: [&str; 3] = ["preinstall", "install", "postinstall"];

impl VersionManifest {
    /// The install-time scripts declared in the manifest, in the order npm
    /// runs them. A `binding.gyp` build shows as `install: node-gyp rebuild`
    /// when the registry normalised it, or only as `gypfile: true`.
    pub fn install_scripts(&self) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = INSTALL_SCRIPTS
            .iter()
            .filter_map(|k| self.scripts.get(*k).map(|v| (*k, v.as_str())))
            .collect();
        if out.is_empty() && self.gypfile == Some(true) {
            out.push(("install", "node-gyp rebuild"));
        }
        out
    }

    /// Whether installing runs code, as far as the metadata tells. `None`
    /// when the metadata cannot say (no scripts listed, but the document is
    /// a form that may leave them out and says nothing else).
    pub fn runs_install_scripts(&self) -> bool {
        !self.install_scripts().is_empty() || self.has_install_script == Some(true)
    }

    pub fn has_provenance(&self) -> bool {
        self.dist
            .as_ref()
            .and_then(|d| d.attestations.as_ref())
            .is_some_and(|a| a.provenance.is_some())
    }

    pub fn trusted_publisher(&self) -> Option<&TrustedPublisher> {
        self.npm_user.as_ref()?.trusted_publisher.as_ref()
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum MaybeVersion {
    Manifest(Box<VersionManifest>),
    Other(serde::de::IgnoredAny),
}

fn versions<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, VersionManifest>, D::Error> {
    // One malformed entry must not hide every other version; the map is read
    // entry by entry so a large document is never copied whole.
    struct Visitor;
    impl<'de> serde::de::Visitor<'de> for Visitor {
        type Value = BTreeMap<String, VersionManifest>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a map of versions")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((key, value)) = map.next_entry::<String, MaybeVersion>()? {
                if let MaybeVersion::Manifest(m) = value {
                    out.insert(key, *m);
                }
            }
            Ok(out)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(BTreeMap::new())
        }
    }
    d.deserialize_any(Visitor)
}

fn timestamps<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, Timestamp>, D::Error> {
    // `time` maps versions (and `created`, `modified`) to ISO-8601 strings;
    // unpublished packages add an object under `unpublished`. Anything that
    // is not a parsable time is absent, never guessed.
    Ok(lenient::string_map(d)?
        .into_iter()
        .filter_map(|(k, v)| Some((k, v.parse::<Timestamp>().ok()?)))
        .collect())
}

#[derive(Debug, Deserialize)]
struct RawPackument {
    #[serde(default, deserialize_with = "lenient::string")]
    name: Option<String>,
    #[serde(
        default,
        rename = "dist-tags",
        deserialize_with = "lenient::string_map"
    )]
    dist_tags: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "versions")]
    versions: BTreeMap<String, VersionManifest>,
    #[serde(default, deserialize_with = "timestamps")]
    time: BTreeMap<String, Timestamp>,
    #[serde(default, deserialize_with = "people")]
    maintainers: Vec<Person>,
    #[serde(default, deserialize_with = "lenient::opt")]
    repository: Option<serde_json::Value>,
}

/// A package document, as the registry published it.
#[derive(Debug, Clone, Serialize)]
pub struct Packument {
    pub name: String,
    pub dist_tags: BTreeMap<String, String>,
    /// Version -> manifest, in no particular order; see [`Self::sorted_versions`].
    pub versions: BTreeMap<String, VersionManifest>,
    /// Version -> publish time, for the versions whose time is known.
    pub publish_times: BTreeMap<String, Timestamp>,
    pub created: Option<Timestamp>,
    pub modified: Option<Timestamp>,
    /// The current maintainers.
    pub maintainers: Vec<Person>,
    pub repository: Option<String>,
    /// The document's own URL, which relative tarball links resolve against.
    pub url: RedactedUrl,
}

impl Packument {
    /// Parses a package document fetched from `url` for `package`.
    pub fn from_slice(package: &str, url: &RedactedUrl, body: &[u8]) -> Result<Self, Error> {
        let malformed = |message: String| Error::Malformed {
            package: format!("npm:{package}"),
            url: url.clone(),
            what: "package document",
            message,
        };
        let raw: RawPackument = lenient::object(body).map_err(malformed)?;
        let mut time = raw.time;
        let created = time.remove("created");
        let modified = time.remove("modified");
        let name = raw.name.unwrap_or_else(|| package.to_owned());
        if name != package {
            return Err(malformed(format!("it describes `{name}`, not `{package}`")));
        }
        let repository = raw.repository.and_then(|r| match r {
            serde_json::Value::String(s) => Some(s),
            serde_json::Value::Object(o) => {
                o.get("url").and_then(|u| u.as_str()).map(str::to_owned)
            }
            _ => None,
        });
        Ok(Self {
            name,
            dist_tags: raw.dist_tags,
            versions: raw.versions,
            publish_times: time,
            created,
            modified,
            maintainers: raw.maintainers,
            repository,
            url: url.clone(),
        })
    }

    /// Versions in semver order, oldest first; versions that are not valid
    /// semver come first, in text order.
    pub fn sorted_versions(&self) -> Vec<&str> {
        let mut versions: Vec<(Option<semver::Version>, &str)> = self
            .versions
            .keys()
            .map(|v| (semver::Version::parse(v).ok(), v.as_str()))
            .collect();
        versions.sort();
        versions.into_iter().map(|(_, v)| v).collect()
    }

    /// The version `spec` names: an exact version, a dist-tag, or (when
    /// `None`) the `latest` tag.
    pub fn resolve(&self, spec: Option<&str>) -> Result<&str, Error> {
        let wanted = spec.unwrap_or("latest");
        let version = self
            .dist_tags
            .get(wanted)
            .map(String::as_str)
            .unwrap_or(wanted);
        self.versions
            .get_key_value(version)
            .map(|(k, _)| k.as_str())
            .ok_or_else(|| Error::NoSuchVersion {
                package: format!("npm:{}", self.name),
                requested: wanted.to_owned(),
            })
    }

    /// The tarball URL of `version`, resolved against the document's URL.
    pub fn tarball_url(&self, version: &str) -> Option<RedactedUrl> {
        let tarball = self
            .versions
            .get(version)?
            .dist
            .as_ref()?
            .tarball
            .as_deref()?;
        self.url.join(tarball).ok()
    }
}

/// An entry of the registry's advisory data (`/-/npm/v1/security/advisories/bulk`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advisory {
    #[serde(default, deserialize_with = "lenient::opt")]
    pub id: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub severity: Option<String>,
    /// An npm semver range.
    #[serde(default, deserialize_with = "lenient::string")]
    pub vulnerable_versions: Option<String>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub cwe: Vec<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub url: Option<String>,
}

impl Advisory {
    /// npm publishes malware as advisories titled "Malware in ..." with
    /// CWE-506 (embedded malicious code).
    pub fn is_malware(&self) -> bool {
        self.cwe.iter().any(|c| c == "CWE-506")
            || self
                .title
                .as_deref()
                .is_some_and(|t| t.starts_with("Malware in"))
    }
}

/// The path of a package document under a registry: scoped names keep the
/// `@` and encode the `/`, as npm requests them.
pub fn document_path(name: &str) -> String {
    name.replacen('/', "%2f", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> RedactedUrl {
        RedactedUrl::parse("http://127.0.0.1:1/npm/demo").unwrap()
    }

    #[test]
    fn parses_a_realistic_document_and_ignores_unknown_fields() {
        let body = br#"{
          "_id": "demo", "_rev": "3-abc", "name": "demo", "readme": "big text",
          "dist-tags": {"latest": "1.1.0", "next": "2.0.0-rc.1"},
          "time": {"created": "2020-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
                   "1.0.0": "2020-01-01T00:00:00.000Z", "1.1.0": "2021-06-01T12:30:00.000Z",
                   "2.0.0-rc.1": "not a date", "unpublished": {"time": "x"}},
          "maintainers": [{"name": "alice", "email": "a@example.org"}, "bob <b@example.org>"],
          "repository": {"type": "git", "url": "git+https://example.org/demo.git"},
          "users": {"someone": true},
          "versions": {
            "1.0.0": {"name": "demo", "version": "1.0.0", "scripts": {"test": "x", "postinstall": "node i.js"},
                      "bin": "cli.js", "deprecated": false, "_npmUser": "alice <a@example.org>",
                      "maintainers": "garbage",
                      "dist": {"tarball": "http://127.0.0.1:1/npm/demo/-/demo-1.0.0.tgz",
                               "integrity": "sha512-AAAA", "shasum": "abc", "fileCount": 3}},
            "1.1.0": {"name": "demo", "version": "1.1.0", "gypfile": true,
                      "bundleDependencies": true, "os": "linux",
                      "_npmUser": {"name": "GitHub Actions", "email": "ci@example.org",
                                   "trustedPublisher": {"id": "github", "oidcConfigId": "oidc:1"}},
                      "dist": {"tarball": "../files/demo-1.1.0.tgz", "attestations":
                               {"url": "http://x/att", "provenance": {"predicateType": "https://slsa.dev/provenance/v1"}}}},
            "2.0.0-rc.1": {"name": "demo", "version": "2.0.0-rc.1", "deprecated": "use 3", "hasInstallScript": true},
            "9.9.9": "not an object"
          }
        }"#;
        let p = Packument::from_slice("demo", &url(), body).unwrap();
        assert_eq!(p.sorted_versions(), ["1.0.0", "1.1.0", "2.0.0-rc.1"]);
        assert_eq!(p.resolve(None).unwrap(), "1.1.0");
        assert_eq!(p.resolve(Some("next")).unwrap(), "2.0.0-rc.1");
        assert!(p.resolve(Some("3.0.0")).is_err());
        assert_eq!(p.maintainers[1].name, "bob");
        assert_eq!(p.maintainers[1].email.as_deref(), Some("b@example.org"));
        assert_eq!(
            p.repository.as_deref(),
            Some("git+https://example.org/demo.git")
        );
        assert!(p.created.is_some());
        assert!(p.publish_times.contains_key("1.1.0"));
        assert!(
            !p.publish_times.contains_key("2.0.0-rc.1"),
            "bad times are absent, not guessed"
        );

        let v1 = &p.versions["1.0.0"];
        assert_eq!(v1.install_scripts(), [("postinstall", "node i.js")]);
        assert_eq!(v1.deprecated, None);
        assert!(v1.npm_user.is_none(), "a string publisher is not an object");
        assert!(v1.maintainers.is_empty());
        assert_eq!(v1.dist.as_ref().unwrap().file_count, Some(3));

        let v11 = &p.versions["1.1.0"];
        assert_eq!(v11.install_scripts(), [("install", "node-gyp rebuild")]);
        assert!(v11.has_provenance());
        assert_eq!(
            v11.trusted_publisher().unwrap().id.as_deref(),
            Some("github")
        );
        assert_eq!(v11.os, ["linux"]);
        assert_eq!(
            p.tarball_url("1.1.0").unwrap().to_string(),
            "http://127.0.0.1:1/files/demo-1.1.0.tgz"
        );

        let rc = &p.versions["2.0.0-rc.1"];
        assert_eq!(rc.deprecated.as_deref(), Some("use 3"));
        assert!(rc.runs_install_scripts());
    }

    #[test]
    fn mirror_documents_missing_everything_optional() {
        let body = br#"{"name": "demo", "versions": {"1.0.0": {}}}"#;
        let p = Packument::from_slice("demo", &url(), body).unwrap();
        assert!(p.created.is_none());
        assert!(p.publish_times.is_empty());
        assert!(p.versions["1.0.0"].npm_user.is_none());
        assert!(p.tarball_url("1.0.0").is_none());
        assert!(
            p.resolve(None).is_err(),
            "no dist-tags: nothing is `latest`"
        );
    }

    #[test]
    fn malformed_documents_name_package_and_url() {
        for body in [&b"{\"name\": "[..], b"[]", b"<html>", b""] {
            let err = Packument::from_slice("demo", &url(), body).unwrap_err();
            let text = err.to_string();
            assert!(text.contains("npm:demo"), "{text}");
            assert!(text.contains("http://127.0.0.1:1/npm/demo"), "{text}");
        }
        let err = Packument::from_slice("demo", &url(), br#"{"name": "other"}"#).unwrap_err();
        assert!(err.to_string().contains("describes `other`"));
    }

    #[test]
    fn scoped_document_path() {
        assert_eq!(document_path("@corp/lib"), "@corp%2flib");
        assert_eq!(document_path("lib"), "lib");
    }
}
