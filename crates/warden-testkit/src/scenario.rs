//! Scenario files: package histories described in TOML under
//! `testdata/scenarios/`, turned into registry documents and archives.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One scenario file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Scenario {
    /// What the scenario is for, shown nowhere but read by people.
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub npm: Vec<NpmPackage>,
    #[serde(default)]
    pub pypi: Vec<PypiPackage>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NpmPackage {
    pub name: String,
    /// Current maintainers; defaults to the last version's.
    #[serde(default)]
    pub maintainers: Option<Vec<String>>,
    /// The `latest` dist-tag; defaults to the highest version listed last.
    #[serde(default)]
    pub latest: Option<String>,
    /// Top-level or per-version fields left out of the document, as some
    /// mirrors do: `time`, `created`, `maintainers`, `_npmUser`, `dist.attestations`.
    #[serde(default)]
    pub strip: Vec<String>,
    /// Serve tarball links relative to the document.
    #[serde(default)]
    pub relative_tarballs: bool,
    pub versions: Vec<NpmVersion>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NpmVersion {
    pub version: String,
    /// How long ago it was published.
    #[serde(default = "default_age")]
    pub age_hours: f64,
    #[serde(default)]
    pub publisher: Option<String>,
    /// Maintainers at publish time; defaults to the publisher.
    #[serde(default)]
    pub maintainers: Option<Vec<String>>,
    /// A directory under `testdata/sources/` whose files go into the tarball.
    #[serde(default)]
    pub source: Option<String>,
    /// Files given inline (path -> text), added after `source`.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    #[serde(default)]
    pub scripts: BTreeMap<String, String>,
    #[serde(default)]
    pub dependencies: BTreeMap<String, String>,
    #[serde(default)]
    pub optional_dependencies: BTreeMap<String, String>,
    #[serde(default)]
    pub bin: Option<toml::Value>,
    #[serde(default)]
    pub gypfile: Option<bool>,
    #[serde(default)]
    pub deprecated: Option<String>,
    /// npm provenance: the repository and workflow the attestation names.
    #[serde(default)]
    pub provenance: Option<SourceRef>,
    /// npm trusted publishing: the OIDC provider id (`github`).
    #[serde(default)]
    pub trusted_publisher: Option<String>,
    /// The registry's advisory data marks this version as malware.
    #[serde(default)]
    pub malware: bool,
    /// The registry's signature: `valid` (the default), `none`,
    /// `other-bytes` (made for another integrity: a tarball swapped after
    /// signing), `unknown-key`, `expired-key` (a key that expired before
    /// this version was published). `strip = ["dist.signatures"]` leaves
    /// them out of every version, as mirrors do.
    #[serde(default)]
    pub signature: Option<String>,
}

/// Where an attested build came from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SourceRef {
    pub repository: String,
    pub workflow: String,
    #[serde(default)]
    pub r#ref: Option<String>,
    /// PyPI only: `GitHub`, `GitLab`, ...
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub environment: Option<String>,
    /// How the Sigstore bundle is made: `valid` (the default, by the
    /// testkit's CA and log), `other-digest` (its statement names other
    /// bytes), `unknown-ca` (a certificate from a CA warden does not
    /// trust), `unsigned` (the claim with no signature at all).
    #[serde(default)]
    pub attestation: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PypiPackage {
    pub name: String,
    /// Serve PyPI's JSON API for it (mirrors often do not).
    #[serde(default = "yes")]
    pub json_api: bool,
    /// PEP 792 project status.
    #[serde(default)]
    pub status: Option<String>,
    pub versions: Vec<PypiVersion>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PypiVersion {
    pub version: String,
    #[serde(default = "default_age")]
    pub age_hours: f64,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Which distributions to build: `wheel`, `sdist`, or `wheel:TAG` for a
    /// wheel of one platform (`wheel:cp311-cp311-win_amd64`).
    #[serde(default = "default_dists")]
    pub dists: Vec<String>,
    #[serde(default)]
    pub requires_dist: Vec<String>,
    #[serde(default)]
    pub requires_python: Option<String>,
    /// The text of `entry_points.txt`.
    #[serde(default)]
    pub entry_points: Option<String>,
    #[serde(default)]
    pub yanked: Option<String>,
    /// PEP 740 provenance naming this Trusted Publisher.
    #[serde(default)]
    pub provenance: Option<SourceRef>,
    #[serde(default)]
    pub summary: Option<String>,
    /// The index's vulnerability data names this version as malware (an
    /// OSV `MAL-` entry).
    #[serde(default)]
    pub malware: bool,
}

fn default_age() -> f64 {
    24.0 * 365.0
}

fn default_dists() -> Vec<String> {
    vec!["wheel".to_owned()]
}

fn yes() -> bool {
    true
}

/// The repository's `testdata/` directory.
pub fn testdata_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

impl Scenario {
    /// A scenario written in the test itself, in the files' TOML.
    pub fn from_toml(text: &str) -> Self {
        toml::from_str(text).unwrap_or_else(|e| panic!("scenario: {e}\n{text}"))
    }

    /// Loads `testdata/scenarios/<name>.toml`.
    pub fn load(name: &str) -> Self {
        let path = testdata_dir()
            .join("scenarios")
            .join(format!("{name}.toml"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading scenario {}: {e}", path.display()));
        toml::from_str(&text).unwrap_or_else(|e| panic!("scenario {}: {e}", path.display()))
    }
}

/// Reads every file under `testdata/sources/<dir>` plus the inline files.
pub fn collect_files(
    source: Option<&str>,
    inline: &BTreeMap<String, String>,
) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    if let Some(dir) = source {
        let root = testdata_dir().join("sources").join(dir);
        walk(&root, &root, &mut files);
        assert!(
            !files.is_empty(),
            "source {} is empty or missing",
            root.display()
        );
    }
    for (path, text) in inline {
        files.insert(path.clone(), text.clone().into_bytes());
    }
    files
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            walk(root, &path, out);
        } else {
            let rel = path
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .replace('\\', "/");
            out.insert(rel, std::fs::read(&path).expect("reading source file"));
        }
    }
}
