//! The per-version timeline of a package, from registry metadata.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::Serialize;
use warden_registry::npm::Packument;
use warden_registry::pypi::{Provenance, SimpleProject};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ecosystem {
    Npm,
    Pypi,
}

impl Ecosystem {
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Npm => "npm",
            Self::Pypi => "pypi",
        }
    }
}

/// How a version was published. npm provenance, npm trusted publishing
/// and a PyPI Trusted Publisher attestation are the same level: moving
/// between them is not a downgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trust {
    Attested,
    None,
    /// The metadata leaves out what would tell (a mirror that strips it).
    Unknown,
}

/// Where an attested build came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    pub repository: String,
    pub workflow: Option<String>,
}

impl Source {
    /// `owner/repo`, lower case, whatever URL form it was written in.
    pub fn repository_key(&self) -> String {
        let r = self
            .repository
            .trim()
            .trim_end_matches('/')
            .trim_end_matches(".git");
        let parts: Vec<&str> = r.split(['/', ':']).filter(|p| !p.is_empty()).collect();
        parts[parts.len().saturating_sub(2)..]
            .join("/")
            .to_ascii_lowercase()
    }

    fn workflow_key(&self) -> Option<String> {
        self.workflow.as_deref().map(|w| {
            w.rsplit('/')
                .next()
                .unwrap_or(w)
                .split('@')
                .next()
                .unwrap_or(w)
                .to_ascii_lowercase()
        })
    }

    /// The repository, and the workflow when there is one.
    pub fn label(&self) -> String {
        match &self.workflow {
            Some(w) => format!("{} {w}", self.repository),
            None => self.repository.clone(),
        }
    }

    /// Same repository and (when both name one) the same workflow.
    pub fn same_as(&self, other: &Source) -> bool {
        self.repository_key() == other.repository_key()
            && match (self.workflow_key(), other.workflow_key()) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }
}

/// What is known about one version. `None` means unknown, never "no".
#[derive(Debug, Clone, Serialize)]
pub struct VersionFacts {
    pub version: String,
    pub published: Option<Timestamp>,
    /// The account that published it (with staged publishing, the approver).
    pub publisher: Option<String>,
    pub maintainers: Option<Vec<String>>,
    pub trust: Trust,
    /// `provenance`, `trusted-publishing`, or `trusted-publisher-attestation`.
    pub attestation: Vec<&'static str>,
    pub source: Option<Source>,
    /// Whether installing runs code (scripts, gyp, sdist builds, start-up hooks).
    pub install_time: Option<bool>,
    pub install_detail: Vec<String>,
    /// npm: the install hooks the registry's manifest names, with their
    /// commands (`None` where the metadata does not say, and for PyPI).
    pub install_scripts: Option<BTreeMap<String, String>>,
    pub dependencies: Option<BTreeMap<String, String>>,
    pub deprecated: Option<String>,
    pub yanked: Option<String>,
    /// From the registry's advisory data; `None` when it offers none.
    pub malware: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    pub ecosystem: Ecosystem,
    pub name: String,
    /// Oldest first, in version order.
    pub versions: Vec<VersionFacts>,
}

impl Timeline {
    pub fn from_npm(doc: &Packument) -> Self {
        let versions = doc
            .sorted_versions()
            .into_iter()
            .filter_map(|v| {
                let m = doc.versions.get(v)?;
                let mut attestation = Vec::new();
                if m.has_provenance() {
                    attestation.push("provenance");
                }
                if m.trusted_publisher().is_some() {
                    attestation.push("trusted-publishing");
                }
                let trust = if !attestation.is_empty() {
                    Trust::Attested
                } else if m.npm_user.is_none() {
                    Trust::Unknown
                } else {
                    Trust::None
                };
                let publisher = m.npm_user.as_ref().and_then(|u| {
                    u.approver
                        .as_ref()
                        .map(|a| a.name.clone())
                        .or_else(|| u.name.clone())
                });
                let scripts = m.install_scripts();
                let install_time = if !scripts.is_empty() || m.has_install_script == Some(true) {
                    Some(true)
                } else {
                    Some(false)
                };
                let mut dependencies = m.dependencies.clone();
                dependencies.extend(m.optional_dependencies.clone());
                Some(VersionFacts {
                    version: v.to_owned(),
                    published: doc.publish_times.get(v).copied(),
                    publisher,
                    // The registry writes `maintainers` when it records a
                    // publish (`_npmUser`); without that record, the field is
                    // whatever the package.json said (a mirror that strips
                    // the registry's fields leaves the author's).
                    maintainers: m
                        .npm_user
                        .is_some()
                        .then(|| m.maintainers.iter().map(|p| p.name.clone()).collect()),
                    trust,
                    attestation,
                    source: None,
                    install_time,
                    install_detail: scripts.iter().map(|(k, s)| format!("{k}: {s}")).collect(),
                    install_scripts: Some(
                        scripts
                            .iter()
                            .map(|(k, s)| ((*k).to_owned(), (*s).to_owned()))
                            .collect(),
                    ),
                    dependencies: Some(dependencies),
                    deprecated: m.deprecated.clone(),
                    yanked: None,
                    malware: None,
                })
            })
            .collect();
        Self {
            ecosystem: Ecosystem::Npm,
            name: doc.name.clone(),
            versions,
        }
    }

    /// `provenance` maps file names to the provenance fetched for them.
    pub fn from_pypi(project: &SimpleProject, provenance: &BTreeMap<String, Provenance>) -> Self {
        let versions = project
            .versions()
            .into_iter()
            .map(|version| {
                let files = project.files_of(&version);
                let mut publishers = Vec::new();
                for f in &files {
                    for p in provenance
                        .get(&f.filename)
                        .iter()
                        .flat_map(|p| &p.publishers)
                    {
                        if !publishers.contains(p) {
                            publishers.push(p.clone());
                        }
                    }
                }
                let trust = if !publishers.is_empty() {
                    Trust::Attested
                } else if files
                    .iter()
                    .all(|f| f.provenance_listed && f.provenance.is_none())
                {
                    Trust::None
                } else {
                    Trust::Unknown
                };
                let source = publishers.first().and_then(|p| {
                    Some(Source {
                        repository: p.repository.clone()?,
                        workflow: p.workflow.clone(),
                    })
                });
                let sdist_only = !files.is_empty()
                    && files
                        .iter()
                        .all(|f| f.kind == warden_registry::pypi::DistKind::Sdist);
                VersionFacts {
                    published: files.iter().filter_map(|f| f.upload_time).min(),
                    // No public API names the uploading account: the Trusted
                    // Publisher is the publisher identity when there is one.
                    publisher: source
                        .as_ref()
                        .map(|s| format!("trusted-publisher:{}", s.repository_key())),
                    maintainers: None,
                    trust,
                    attestation: if trust == Trust::Attested {
                        vec!["trusted-publisher-attestation"]
                    } else {
                        vec![]
                    },
                    source,
                    install_time: sdist_only.then_some(true),
                    install_scripts: None,
                    install_detail: if sdist_only {
                        vec!["sdist only: pip builds it".to_owned()]
                    } else {
                        vec![]
                    },
                    dependencies: None,
                    deprecated: None,
                    yanked: (!files.is_empty() && files.iter().all(|f| f.yanked.is_some())).then(
                        || {
                            files
                                .iter()
                                .find_map(|f| f.yanked.clone())
                                .unwrap_or_default()
                        },
                    ),
                    malware: None,
                    version,
                }
            })
            .collect();
        Self {
            ecosystem: Ecosystem::Pypi,
            name: project.name.clone(),
            versions,
        }
    }

    pub fn get(&self, version: &str) -> Option<&VersionFacts> {
        self.versions.iter().find(|v| v.version == version)
    }

    pub fn get_mut(&mut self, version: &str) -> Option<&mut VersionFacts> {
        self.versions.iter_mut().find(|v| v.version == version)
    }

    /// Whether `a` was released after `b`, in version order.
    pub fn is_later(&self, a: &str, b: &str) -> bool {
        matches!((self.index(a), self.index(b)), (Some(x), Some(y)) if x > y)
    }

    fn index(&self, version: &str) -> Option<usize> {
        self.versions.iter().position(|v| v.version == version)
    }

    /// The major line of a version: semver major (`0.x` lines by minor), or
    /// the first PEP 440 release number.
    pub fn major(&self, version: &str) -> Option<(u64, u64)> {
        match self.ecosystem {
            Ecosystem::Npm => semver::Version::parse(version).ok().map(|v| {
                if v.major == 0 {
                    (0, v.minor)
                } else {
                    (v.major, 0)
                }
            }),
            Ecosystem::Pypi => version
                .parse::<pep440_rs::Version>()
                .ok()
                .and_then(|v| v.release().first().map(|r| (*r, 0))),
        }
    }

    /// Versions before `version` in version order, nearest first.
    pub fn earlier(&self, version: &str) -> Vec<&VersionFacts> {
        let Some(i) = self.index(version) else {
            return Vec::new();
        };
        self.versions[..i].iter().rev().collect()
    }

    /// The version to judge `version` against: the preceding release of its
    /// major line, else the preceding release.
    pub fn previous(&self, version: &str) -> Option<&VersionFacts> {
        let major = self.major(version);
        let earlier = self.earlier(version);
        earlier
            .iter()
            .find(|v| major.is_some() && self.major(&v.version) == major)
            .or_else(|| earlier.first())
            .copied()
    }

    /// Versions published before `version` (by time when both times are
    /// known, else by version order).
    pub fn published_before(&self, version: &str) -> Vec<&VersionFacts> {
        let Some(this) = self.get(version) else {
            return Vec::new();
        };
        let i = self.index(version).unwrap_or(0);
        self.versions
            .iter()
            .enumerate()
            .filter(|(j, v)| {
                v.version != version
                    && match (v.published, this.published) {
                        (Some(a), Some(b)) => a < b,
                        _ => *j < i,
                    }
            })
            .map(|(_, v)| v)
            .collect()
    }

    /// The earliest publish time of any version.
    pub fn first_published(&self) -> Option<Timestamp> {
        self.versions.iter().filter_map(|v| v.published).min()
    }

    pub fn publishers_before(&self, version: &str) -> BTreeSet<String> {
        self.published_before(version)
            .iter()
            .filter_map(|v| v.publisher.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use warden_registry::RedactedUrl;
    use warden_registry::npm::Packument;

    use super::*;

    #[test]
    fn maintainers_count_only_where_the_registry_recorded_the_publish() {
        // A mirror that strips `_npmUser` leaves the `maintainers` the
        // author wrote into package.json (ansi-regex 1.1.1 to 2.1.1): not
        // the registry's word, so not facts to compare.
        let doc = br#"{"name":"a","versions":{
            "1.0.0":{"name":"a","version":"1.0.0","maintainers":["Someone <s@example.org>"]},
            "1.1.0":{"name":"a","version":"1.1.0","maintainers":[{"name":"alice","email":"a@example.org"}],
                     "_npmUser":{"name":"alice","email":"a@example.org"}}}}"#;
        let url = RedactedUrl::parse("http://127.0.0.1:1/a").unwrap();
        let timeline = Timeline::from_npm(&Packument::from_slice("a", &url, doc).unwrap());
        assert_eq!(timeline.get("1.0.0").unwrap().maintainers, None);
        assert_eq!(
            timeline.get("1.1.0").unwrap().maintainers,
            Some(vec!["alice".to_owned()])
        );
    }
}
