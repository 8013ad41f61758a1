//! The policy file, `warden.toml`, and the decision it drives.
//!
//! Parsing is strict, as for any configuration a security tool relies on:
//! an unknown key or a bad value is an error that names the file, the line
//! and the column. Files are layered — the user's, then the project's (found
//! from the working directory upward), then `--policy` — each later file
//! overriding settings and finding levels and adding allow entries.
//!
//! Trust is written down with a reason and an end date: an `[[allow]]`
//! entry past its `expires` date stops counting and is reported, and one
//! that matched nothing in a run is reported as unused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    Allow,
    Warn,
    Deny,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Warn => "warn",
            Self::Deny => "deny",
        }
    }
}

/// What happens when a check cannot be completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnError {
    Deny,
    Warn,
}

/// What happens when the registry publishes no facts for a check, for
/// any version (a mirror that strips publishers, no advisory service).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegistryGaps {
    /// Each such check is unknown, as a check that failed: `on-error`
    /// decides.
    Unknown,
    /// Reported as not checked, once per run and in the report of each
    /// package; the verdict does not count it.
    Note,
}

/// A policy file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("the policy in `{}` has {} problem(s):\n  {}", path.display(), problems.len(), problems.join("\n  "))]
    Rules {
        path: PathBuf,
        problems: Vec<String>,
    },
}

impl Error {
    pub fn hint(&self) -> &'static str {
        match self {
            Self::Read { .. } => "check the path given with `--policy`",
            _ => {
                "`warden policy init` writes a commented template with every key; `warden policy check` validates a file"
            }
        }
    }
}

/// `[settings]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawSettings {
    min_release_age: Option<String>,
    on_error: Option<OnError>,
    registry_gaps: Option<RegistryGaps>,
    /// Variables taken away from what approved scripts and builds get.
    hide_env: Option<Vec<String>>,
    /// Variables approved scripts and builds get as they are.
    keep_env: Option<Vec<String>>,
    /// Whether the project's own lifecycle scripts run after an install.
    project_scripts: Option<bool>,
    /// How long a suggested or `policy allow` entry lasts.
    allow_expiry: Option<String>,
    /// How long a complete judgement of an unchanged version is used
    /// without its registry document.
    history_max_age: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawTrustedPublisher {
    repository: String,
    workflow: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawAllow {
    package: String,
    version: Option<String>,
    findings: Option<Vec<String>>,
    publisher: Option<String>,
    trusted_publisher: Option<RawTrustedPublisher>,
    #[serde(default)]
    scripts: bool,
    reason: String,
    expires: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawTrust {
    package: String,
    repository: String,
    workflow: Option<String>,
    reason: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    settings: Option<RawSettings>,
    findings: Option<BTreeMap<String, Level>>,
    allow: Option<Vec<RawAllow>>,
    trust: Option<Vec<RawTrust>>,
    internal: Option<BTreeMap<String, String>>,
}

/// A package pattern: `npm:name`, `npm:@scope/*`, `pypi:name`, `npm:prefix-*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pattern {
    pub ecosystem: String,
    pub name: String,
}

impl Pattern {
    fn parse(s: &str) -> Result<Self, String> {
        let (eco, name) = s
            .split_once(':')
            .ok_or_else(|| format!("`{s}` needs an ecosystem: `npm:{s}` or `pypi:{s}`"))?;
        if eco != "npm" && eco != "pypi" {
            return Err(format!(
                "`{s}`: the ecosystem is `npm` or `pypi`, not `{eco}`"
            ));
        }
        if name.is_empty() || name.trim_end_matches('*').contains('*') || name.ends_with("**") {
            return Err(format!("`{s}`: a `*` may only end the pattern"));
        }
        Ok(Self {
            ecosystem: eco.to_owned(),
            name: if eco == "pypi" {
                normalize_pypi(name)
            } else {
                name.to_owned()
            },
        })
    }

    pub fn matches(&self, ecosystem: &str, name: &str) -> bool {
        if ecosystem != self.ecosystem {
            return false;
        }
        let name = if ecosystem == "pypi" {
            normalize_pypi(name)
        } else {
            name.to_owned()
        };
        match self.name.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == self.name,
        }
    }
}

fn normalize_pypi(name: &str) -> String {
    let mut out = String::new();
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !sep {
                out.push('-');
            }
            sep = true;
        } else {
            out.push(c.to_ascii_lowercase());
            sep = false;
        }
    }
    out
}

/// An `[[allow]]` entry, validated.
#[derive(Debug, Clone, Serialize)]
pub struct AllowEntry {
    pub package: Pattern,
    pub version: Option<String>,
    pub findings: Option<Vec<String>>,
    pub publisher: Option<String>,
    pub trusted_publisher: Option<(String, Option<String>)>,
    pub scripts: bool,
    pub reason: String,
    pub expires: Date,
    /// `file:line` of the entry, for reports.
    pub origin: String,
}

/// The package a decision is about.
#[derive(Debug, Clone, Default)]
pub struct Subject {
    pub ecosystem: String,
    pub name: String,
    pub version: String,
    pub publisher: Option<String>,
    /// Repository and workflow of the attestation, when attested.
    pub attested_source: Option<(String, Option<String>)>,
}

impl AllowEntry {
    fn version_matches(&self, ecosystem: &str, version: &str) -> bool {
        let Some(req) = &self.version else {
            return true;
        };
        match ecosystem {
            "npm" => match (
                nodejs_semver::Range::parse(req),
                nodejs_semver::Version::parse(version),
            ) {
                (Ok(r), Ok(v)) => r.satisfies(&v),
                _ => false,
            },
            _ => {
                let spec = if req.starts_with(|c: char| c.is_ascii_digit()) {
                    format!("=={req}")
                } else {
                    req.clone()
                };
                match (
                    spec.parse::<pep440_rs::VersionSpecifiers>(),
                    version.parse::<pep440_rs::Version>(),
                ) {
                    (Ok(s), Ok(v)) => s.contains(&v),
                    _ => false,
                }
            }
        }
    }

    /// Whether the entry covers this package (whatever the finding).
    pub fn covers(&self, subject: &Subject) -> bool {
        self.package.matches(&subject.ecosystem, &subject.name)
            && self.version_matches(&subject.ecosystem, &subject.version)
            && self
                .publisher
                .as_ref()
                .is_none_or(|p| subject.publisher.as_ref() == Some(p))
            && self
                .trusted_publisher
                .as_ref()
                .is_none_or(|(repo, workflow)| built_by(subject, repo, workflow.as_deref()))
    }

    fn covers_finding(&self, code: &str) -> bool {
        self.findings
            .as_ref()
            .is_none_or(|f| f.iter().any(|c| c == code))
    }
}

/// Whether the subject's verified provenance names `repository` (by its
/// last two path parts, so `owner/repo` matches the forge's URL) and, when
/// given, a workflow path ending in `workflow`.
fn built_by(subject: &Subject, repository: &str, workflow: Option<&str>) -> bool {
    subject.attested_source.as_ref().is_some_and(|(r, w)| {
        same_repository(r, repository)
            && workflow.is_none_or(|wf| w.as_deref().is_some_and(|w| w.ends_with(wf)))
    })
}

/// A `[[trust]]` entry: the repository (and workflow) every version of the
/// matching packages must be built by, as its verified provenance says.
#[derive(Debug, Clone, Serialize)]
pub struct TrustEntry {
    pub package: Pattern,
    pub repository: String,
    pub workflow: Option<String>,
    pub reason: Option<String>,
    /// `file:line` of the entry, for reports.
    pub origin: String,
}

impl TrustEntry {
    /// Whether the subject's verified provenance is what the entry pins.
    pub fn satisfied_by(&self, subject: &Subject) -> bool {
        built_by(subject, &self.repository, self.workflow.as_deref())
    }
}

fn same_repository(a: &str, b: &str) -> bool {
    let key = |s: &str| {
        let s = s.trim().trim_end_matches('/').trim_end_matches(".git");
        let parts: Vec<&str> = s.split(['/', ':']).filter(|p| !p.is_empty()).collect();
        parts[parts.len().saturating_sub(2)..]
            .join("/")
            .to_ascii_lowercase()
    };
    key(a) == key(b)
}

/// The policy in force: defaults, then each file in order.
#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    pub min_release_age_hours: u64,
    /// Hours a complete history judgement of an unchanged version is used
    /// without asking the registry again (`history-max-age`, 0: never).
    pub history_max_age_hours: u64,
    /// Days a suggested allow entry lasts (`allow-expiry`, 90 by default).
    pub allow_expiry_days: i64,
    pub on_error: OnError,
    pub registry_gaps: RegistryGaps,
    pub hide_env: Vec<String>,
    pub keep_env: Vec<String>,
    /// The project's own `prepare`/`postinstall`... scripts run after a
    /// guarded `npm install` or `npm ci`, as npm runs them.
    pub project_scripts: bool,
    /// Finding code -> level, overriding the defaults.
    pub findings: BTreeMap<String, Level>,
    pub allow: Vec<AllowEntry>,
    /// Packages pinned to the repository and workflow that builds them.
    pub trust: Vec<TrustEntry>,
    /// Package pattern -> the registry it must come from.
    pub internal: Vec<(Pattern, String)>,
    /// The files read, in order.
    pub files: Vec<PathBuf>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            min_release_age_hours: 48,
            history_max_age_hours: 24,
            allow_expiry_days: 90,
            on_error: OnError::Deny,
            registry_gaps: RegistryGaps::Unknown,
            hide_env: Vec::new(),
            keep_env: Vec::new(),
            project_scripts: true,
            findings: BTreeMap::new(),
            allow: Vec::new(),
            trust: Vec::new(),
            internal: Vec::new(),
            files: Vec::new(),
        }
    }
}

impl Policy {
    /// The `[[trust]]` entries that pin this subject's package (a later
    /// file's entries after an earlier one's).
    pub fn pins<'a>(&'a self, subject: &'a Subject) -> impl Iterator<Item = &'a TrustEntry> {
        self.trust
            .iter()
            .filter(|t| t.package.matches(&subject.ecosystem, &subject.name))
    }
}

/// The template `warden policy init` writes.
pub const TEMPLATE: &str = include_str!("../template.toml");

/// Parses a duration such as `48h`, `7d`, `90m`, `2w` into hours (rounded up).
fn parse_age(s: &str) -> Result<u64, String> {
    /// Ten years: a minimum age past it would refuse every release there is.
    const MAX_HOURS: u64 = 10 * 366 * 24;
    let s = s.trim();
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = n
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like `48h` or `7d`"))?;
    let hours = match unit {
        "m" => Some(n.div_ceil(60)),
        "h" => Some(n),
        "d" => n.checked_mul(24),
        "w" => n.checked_mul(24 * 7),
        _ => return Err(format!("`{s}`: the unit is `m`, `h`, `d` or `w`")),
    };
    hours
        .filter(|h| *h <= MAX_HOURS)
        .ok_or_else(|| format!("`{s}` is longer than ten years"))
}

/// Line and column (1-based) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

impl Policy {
    /// Adds one file's contents on top of this policy. `known_codes` are the
    /// finding codes warden knows; any other in `[findings]` or an allow
    /// entry is an error (a typo would otherwise silently allow nothing).
    pub fn layer(&mut self, path: &Path, text: &str, known_codes: &[&str]) -> Result<(), Error> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
            Error::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                message: e.message().trim().to_owned(),
            }
        })?;
        let mut problems = Vec::new();
        let locate = |needle: &str, nth: usize| -> String {
            let offset = text.match_indices(needle).nth(nth).map_or(0, |(i, _)| i);
            let (line, _) = line_col(text, offset);
            format!("{}:{line}", path.display())
        };
        if let Some(s) = raw.settings {
            if let Some(age) = s.min_release_age {
                match parse_age(&age) {
                    Ok(h) => self.min_release_age_hours = h,
                    Err(e) => problems.push(format!(
                        "{}: `min-release-age`: {e}",
                        locate("min-release-age", 0)
                    )),
                }
            }
            if let Some(age) = s.history_max_age {
                match parse_age(&age) {
                    Ok(h) => self.history_max_age_hours = h,
                    Err(e) => problems.push(format!(
                        "{}: `history-max-age`: {e}",
                        locate("history-max-age", 0)
                    )),
                }
            }
            if let Some(expiry) = s.allow_expiry {
                match parse_age(&expiry) {
                    Ok(h) if h >= 24 => {
                        self.allow_expiry_days = i64::try_from(h / 24).unwrap_or(90)
                    }
                    Ok(_) => problems.push(format!(
                        "{}: `allow-expiry`: at least a day",
                        locate("allow-expiry", 0)
                    )),
                    Err(e) => problems.push(format!(
                        "{}: `allow-expiry`: {e}",
                        locate("allow-expiry", 0)
                    )),
                }
            }
            if let Some(o) = s.on_error {
                self.on_error = o;
            }
            if let Some(g) = s.registry_gaps {
                self.registry_gaps = g;
            }
            self.hide_env.extend(s.hide_env.unwrap_or_default());
            self.keep_env.extend(s.keep_env.unwrap_or_default());
            if let Some(p) = s.project_scripts {
                self.project_scripts = p;
            }
        }
        for (code, level) in raw.findings.unwrap_or_default() {
            if !known_codes.contains(&code.as_str()) {
                problems.push(format!(
                    "{}: `[findings]` names unknown finding `{code}`",
                    locate(&code, 0)
                ));
            }
            self.findings.insert(code, level);
        }
        for (i, a) in raw.allow.unwrap_or_default().into_iter().enumerate() {
            let origin = locate("[[allow]]", i);
            let package = match Pattern::parse(&a.package) {
                Ok(p) => p,
                Err(e) => {
                    problems.push(format!("{origin}: `package`: {e}"));
                    continue;
                }
            };
            let expires = match a.expires.parse::<Date>() {
                Ok(d) => d,
                Err(_) => {
                    problems.push(format!(
                        "{origin}: `expires`: `{}` is not a date like 2026-12-31",
                        a.expires
                    ));
                    continue;
                }
            };
            if a.reason.trim().is_empty() {
                problems.push(format!(
                    "{origin}: `reason` is empty: say why this is trusted"
                ));
            }
            for code in a.findings.iter().flatten() {
                if !known_codes.contains(&code.as_str()) {
                    problems.push(format!(
                        "{origin}: `findings` names unknown finding `{code}`"
                    ));
                }
            }
            if let Some(v) = &a.version {
                let valid = match package.ecosystem.as_str() {
                    "npm" => nodejs_semver::Range::parse(v).is_ok(),
                    _ => {
                        let spec = if v.starts_with(|c: char| c.is_ascii_digit()) {
                            format!("=={v}")
                        } else {
                            v.clone()
                        };
                        spec.parse::<pep440_rs::VersionSpecifiers>().is_ok()
                    }
                };
                if !valid {
                    problems.push(format!(
                        "{origin}: `version`: `{v}` is not a version requirement"
                    ));
                }
            }
            self.allow.push(AllowEntry {
                package,
                version: a.version,
                findings: a.findings,
                publisher: a.publisher,
                trusted_publisher: a.trusted_publisher.map(|t| (t.repository, t.workflow)),
                scripts: a.scripts,
                reason: a.reason,
                expires,
                origin,
            });
        }
        for (i, t) in raw.trust.unwrap_or_default().into_iter().enumerate() {
            let origin = locate("[[trust]]", i);
            match Pattern::parse(&t.package) {
                Ok(_) if t.repository.trim().is_empty() => {
                    problems.push(format!("{origin}: `repository` is empty"));
                }
                Ok(package) => self.trust.push(TrustEntry {
                    package,
                    repository: t.repository,
                    workflow: t.workflow,
                    reason: t.reason,
                    origin,
                }),
                Err(e) => problems.push(format!("{origin}: `package`: {e}")),
            }
        }
        for (pattern, registry) in raw.internal.unwrap_or_default() {
            match Pattern::parse(&pattern) {
                Ok(p) => self.internal.push((p, registry)),
                Err(e) => problems.push(format!("{}: `[internal]`: {e}", locate(&pattern, 0))),
            }
        }
        self.files.push(path.to_path_buf());
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Rules {
                path: path.to_path_buf(),
                problems,
            })
        }
    }

    /// Loads the user file, the project file (from `cwd` upward) and
    /// `explicit`, in that order; missing files are skipped, except
    /// `explicit`.
    pub fn load(
        user: Option<&Path>,
        cwd: &Path,
        explicit: Option<&Path>,
        known_codes: &[&str],
    ) -> Result<Self, Error> {
        let mut policy = Self::default();
        let project = cwd
            .ancestors()
            .map(|d| d.join("warden.toml"))
            .find(|p| p.is_file());
        for path in [user.map(Path::to_path_buf), project].into_iter().flatten() {
            // A file that is there but cannot be read (not UTF-8, no
            // permission) is an error, never "no policy".
            match std::fs::read_to_string(&path) {
                Ok(text) => policy.layer(&path, &text, known_codes)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(Error::Read { path, source }),
            }
        }
        if let Some(path) = explicit {
            let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
                path: path.to_path_buf(),
                source,
            })?;
            policy.layer(path, &text, known_codes)?;
        }
        Ok(policy)
    }

    /// The level of `code` for `subject`, and the allow entry that lowered
    /// it (by index), if any. Expired entries do not count.
    pub fn level(
        &self,
        subject: &Subject,
        code: &str,
        default: Level,
        today: Date,
    ) -> (Level, Option<usize>) {
        let level = self.findings.get(code).copied().unwrap_or(default);
        if level == Level::Allow {
            return (level, None);
        }
        let entry = self
            .allow
            .iter()
            .position(|a| a.expires >= today && a.covers(subject) && a.covers_finding(code));
        match entry {
            Some(i) => (Level::Allow, Some(i)),
            None => (level, None),
        }
    }

    /// The allow entry in force for `subject` that names `code` in its
    /// `findings` (an entry without a list does not count), whatever
    /// `[findings]` says of the code: for what warden could not check.
    pub fn named_by(&self, subject: &Subject, code: &str, today: Date) -> Option<usize> {
        self.allow.iter().position(|a| {
            a.expires >= today
                && a.covers(subject)
                && a.findings
                    .as_ref()
                    .is_some_and(|f| f.iter().any(|c| c == code))
        })
    }

    /// Whether the policy lets `subject`'s install scripts run.
    pub fn scripts_allowed(&self, subject: &Subject, today: Date) -> Option<usize> {
        self.allow
            .iter()
            .position(|a| a.scripts && a.expires >= today && a.covers(subject))
    }

    /// Entries whose `expires` date has passed.
    pub fn expired(&self, today: Date) -> Vec<&AllowEntry> {
        self.allow.iter().filter(|a| a.expires < today).collect()
    }

    /// The registry `[internal]` requires for a package, if any.
    pub fn internal_registry(&self, ecosystem: &str, name: &str) -> Option<&str> {
        self.internal
            .iter()
            .find(|(p, _)| p.matches(ecosystem, name))
            .map(|(_, r)| r.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODES: &[&str] = &["publisher-new", "install-script-added", "release-too-fresh"];

    #[test]
    fn patterns_with_any_characters_are_read_without_panicking() {
        assert!(Pattern::parse("pypi:corp-\u{FFFD}").is_ok());
        assert!(Pattern::parse("npm:é*").is_ok());
        assert!(Pattern::parse("npm:a*b").is_err());
        assert!(Pattern::parse("npm:a**").is_err());
    }

    #[test]
    fn a_policy_file_that_cannot_be_read_is_an_error_not_no_policy() {
        let dir = tempfile::tempdir().unwrap();
        // UTF-16, as some editors save it.
        let utf16: Vec<u8> = "[findings]\npublisher-new = \"deny\"\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        std::fs::write(
            dir.path().join("warden.toml"),
            [&[0xFF, 0xFE][..], &utf16].concat(),
        )
        .unwrap();
        let err = Policy::load(None, dir.path(), None, CODES).unwrap_err();
        assert!(err.to_string().contains("warden.toml"), "{err}");
    }

    #[test]
    fn durations_out_of_range_are_errors_with_their_place() {
        for age in [
            "99999999999999999h",
            "768614336404564651d",
            "99999999999w",
            "100000d",
        ] {
            let e = parse(&format!("[settings]\nmin-release-age = \"{age}\"\n")).unwrap_err();
            let text = e.to_string();
            assert!(text.contains("warden.toml:2:"), "{age}: {text}");
            assert!(text.contains("ten years"), "{age}: {text}");
        }
        assert_eq!(parse_age("3650d"), Ok(3650 * 24));
    }

    fn parse(text: &str) -> Result<Policy, Error> {
        let mut p = Policy::default();
        p.layer(Path::new("warden.toml"), text, CODES).map(|()| p)
    }

    fn today() -> Date {
        "2026-11-22".parse().unwrap()
    }

    fn subject(name: &str, version: &str) -> Subject {
        Subject {
            ecosystem: "npm".into(),
            name: name.into(),
            version: version.into(),
            publisher: Some("alice".into()),
            attested_source: None,
        }
    }

    #[test]
    fn template_is_valid_and_all_defaults() {
        let p = parse(TEMPLATE).unwrap();
        assert_eq!(p.min_release_age_hours, 48);
        assert_eq!(p.history_max_age_hours, 24);
        assert_eq!(p.on_error, OnError::Deny);
        assert!(p.allow.is_empty());
    }

    #[test]
    fn history_max_age_is_a_duration_and_zero_turns_keeping_off() {
        let p = parse("[settings]\nhistory-max-age = \"2d\"\n").unwrap();
        assert_eq!(p.history_max_age_hours, 48);
        let p = parse("[settings]\nhistory-max-age = \"0h\"\n").unwrap();
        assert_eq!(p.history_max_age_hours, 0);
        let err = parse("[settings]\nhistory-max-age = \"soon\"\n").unwrap_err();
        assert!(err.to_string().contains("history-max-age"), "{err}");
    }

    #[test]
    fn unknown_key_names_line_and_column() {
        let err = parse("[settings]\nmin-release-age = \"7d\"\non-eror = \"deny\"\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("warden.toml:3:1:"), "{text}");
        assert!(text.contains("on-eror"), "{text}");
        let err = parse("[settings]\non-error = \"maybe\"\n").unwrap_err();
        assert!(err.to_string().starts_with("warden.toml:2:12:"), "{err}");
    }

    #[test]
    fn all_rule_problems_are_collected() {
        let err = parse(
            "[settings]\nmin-release-age = \"soon\"\n[findings]\npublisher-neww = \"deny\"\n[[allow]]\npackage = \"lodash\"\nreason = \"x\"\nexpires = \"2027-01-01\"\n[[allow]]\npackage = \"npm:x\"\nreason = \"\"\nexpires = \"tomorrow\"\n",
        )
        .unwrap_err();
        let Error::Rules { problems, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].contains("warden.toml:2") && problems[0].contains("min-release-age"));
        assert!(problems[1].contains("publisher-neww"));
        assert!(problems[2].contains("warden.toml:5") && problems[2].contains("npm:lodash"));
        assert!(problems[3].contains("warden.toml:9") && problems[3].contains("expires"));
    }

    #[test]
    fn levels_allow_entries_and_expiry() {
        let p = parse(
            "[findings]\npublisher-new = \"deny\"\n\
             [[allow]]\npackage = \"npm:@corp/*\"\nversion = \"^1\"\nfindings = [\"publisher-new\"]\nreason = \"our team\"\nexpires = \"2026-12-31\"\n\
             [[allow]]\npackage = \"npm:old\"\nreason = \"was fine\"\nexpires = \"2026-01-01\"\n",
        )
        .unwrap();
        let s = subject("@corp/lib", "1.4.0");
        assert_eq!(
            p.level(&s, "publisher-new", Level::Warn, today()),
            (Level::Allow, Some(0))
        );
        assert_eq!(
            p.level(&s, "release-too-fresh", Level::Deny, today()).0,
            Level::Deny,
            "entry limited to its findings"
        );
        assert_eq!(
            p.level(
                &subject("@corp/lib", "2.0.0"),
                "publisher-new",
                Level::Warn,
                today()
            )
            .0,
            Level::Deny
        );
        assert_eq!(
            p.level(
                &subject("other", "1.0.0"),
                "publisher-new",
                Level::Warn,
                today()
            )
            .0,
            Level::Deny
        );
        let after: Date = "2027-01-01".parse().unwrap();
        assert_eq!(
            p.level(&s, "publisher-new", Level::Warn, after).0,
            Level::Deny,
            "expired entries stop counting"
        );
        assert_eq!(p.expired(today()).len(), 1);
        assert_eq!(
            p.level(
                &subject("old", "1.0.0"),
                "release-too-fresh",
                Level::Deny,
                today()
            )
            .0,
            Level::Deny
        );
    }

    #[test]
    fn pinned_to_publisher_or_trusted_publisher() {
        let p = parse(
            "[[allow]]\npackage = \"npm:a\"\npublisher = \"alice\"\nscripts = true\nreason = \"r\"\nexpires = \"2027-01-01\"\n\
             [[allow]]\npackage = \"pypi:B_c\"\ntrusted-publisher = { repository = \"example/b\", workflow = \"release.yml\" }\nreason = \"r\"\nexpires = \"2027-01-01\"\n",
        )
        .unwrap();
        assert!(p.scripts_allowed(&subject("a", "1.0.0"), today()).is_some());
        let mut bob = subject("a", "1.0.0");
        bob.publisher = Some("bob".into());
        assert!(p.scripts_allowed(&bob, today()).is_none());
        let mut py = Subject {
            ecosystem: "pypi".into(),
            name: "b-c".into(),
            version: "1.0".into(),
            ..Subject::default()
        };
        assert_eq!(
            p.level(&py, "publisher-new", Level::Warn, today()).0,
            Level::Warn,
            "not attested: no match"
        );
        py.attested_source = Some((
            "https://github.com/example/b".into(),
            Some(".github/workflows/release.yml".into()),
        ));
        assert_eq!(
            p.level(&py, "publisher-new", Level::Warn, today()).0,
            Level::Allow
        );
    }

    #[test]
    fn layers_and_internal_registries() {
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("user.toml");
        std::fs::write(&user, "[settings]\nmin-release-age = \"7d\"\n").unwrap();
        std::fs::create_dir_all(dir.path().join("proj/sub")).unwrap();
        std::fs::write(
            dir.path().join("proj/warden.toml"),
            "[settings]\non-error = \"warn\"\n[internal]\n\"npm:@corp/*\" = \"http://npm.corp.example.org/\"\n",
        )
        .unwrap();
        let p = Policy::load(Some(&user), &dir.path().join("proj/sub"), None, CODES).unwrap();
        assert_eq!(p.min_release_age_hours, 168);
        assert_eq!(p.on_error, OnError::Warn);
        assert_eq!(
            p.internal_registry("npm", "@corp/x"),
            Some("http://npm.corp.example.org/")
        );
        assert_eq!(p.files.len(), 2);
        let missing =
            Policy::load(None, dir.path(), Some(&dir.path().join("nope.toml")), CODES).unwrap_err();
        assert!(matches!(missing, Error::Read { .. }));
    }

    #[test]
    fn ages() {
        assert_eq!(parse_age("48h"), Ok(48));
        assert_eq!(parse_age("7d"), Ok(168));
        assert_eq!(parse_age("90m"), Ok(2));
        assert!(parse_age("7 days").is_err());
    }
}
