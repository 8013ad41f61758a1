//! The words every part of the guard speaks.

use serde::Serialize;
use warden_policy::Level;

/// The package world a plan belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    Npm,
    Pypi,
}

impl Ecosystem {
    /// The prefix of package names in reports and policy (`npm:`, `pypi:`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Npm => "npm",
            Self::Pypi => "pypi",
        }
    }

    /// Whether install-time code runs in a step of its own that can be
    /// skipped per package (npm's lifecycle scripts). pip has none: what
    /// runs (a build, a start-up hook) runs when the package is installed
    /// at all, so it is governed by the package's verdict alone.
    pub fn has_script_step(self) -> bool {
        matches!(self, Self::Npm)
    }
}

impl std::fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The package (one artifact of it) a check is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub version: String,
    /// Where it lands: `node_modules/a/node_modules/b`, or a file name.
    pub path: String,
    /// The digest it is pinned by (`sha512-…`, `sha256:…`, `git:…`).
    pub integrity: Option<String>,
    /// The plan says installing it runs code (npm's `hasInstallScript`,
    /// an sdist).
    pub has_install_script: bool,
}

/// One thing a check found, before policy: its level is the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The stable code, as in `docs/findings.md`.
    pub code: String,
    pub default: Level,
    pub summary: String,
    pub evidence: String,
}

impl Finding {
    pub fn new(
        code: impl Into<String>,
        default: Level,
        summary: impl Into<String>,
        evidence: impl Into<String>,
    ) -> Self {
        Self {
            code: code.into(),
            default,
            summary: summary.into(),
            evidence: evidence.into(),
        }
    }
}

/// What checking one package established, before policy.
#[derive(Debug, Clone, Default)]
pub struct Assessment {
    pub package: Package,
    pub findings: Vec<Finding>,
    /// Checks that could not be completed, each with its reason. Never
    /// dropped: a package with any is `unknown`, whatever else was found.
    pub unknown: Vec<String>,
    /// Archives that could not be read (not bytes that failed their
    /// digest): `unknown`, unless an allow entry for the package names
    /// `archive-unreadable`.
    pub unreadable: Vec<String>,
    /// Checks the registry gives no facts for, for any version (a mirror
    /// that strips publishers, no advisory service): `unknown` unless the
    /// policy's `registry-gaps = "note"` accepts them as noted.
    pub unpublished: Vec<String>,
    /// The account that published this version, when the registry says.
    pub publisher: Option<String>,
    /// The repository and workflow an attestation names, when attested.
    pub attested: Option<(String, Option<String>)>,
    /// Reading the artifact showed code that runs at install (or start-up).
    pub runs_install_code: bool,
}

impl Assessment {
    /// A package before anything is known about it.
    pub fn of(package: Package) -> Self {
        Self {
            package,
            ..Self::default()
        }
    }

    pub fn finding(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    pub fn unknown(&mut self, reason: impl Into<String>) {
        self.unknown.push(reason.into());
    }

    /// An artifact that could not be read: bytes that are not the ones
    /// pinned stay `unknown` whatever the policy; an archive warden cannot
    /// read may be accepted by an allow entry.
    pub fn archive_error(&mut self, e: &warden_archive::Error) {
        use warden_archive::ErrorKind as K;
        match e.kind {
            K::Integrity { .. } | K::BadDigest(_) => self.unknown(e.to_string()),
            _ => self.unreadable.push(e.to_string()),
        }
    }
}
