//! The decision: findings + policy + today -> a verdict per package, and
//! whether the plan may go on. Pure: no clock, no file, no printing.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use serde::Serialize;
use warden_policy::{Level, OnError, Policy, RegistryGaps, Subject};

use crate::PlanCode;
use crate::vocab::{Assessment, Ecosystem};

/// A package's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Allow,
    Warn,
    /// A check could not be completed: `on-error` decides.
    Unknown,
    Deny,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Warn => "warn",
            Self::Unknown => "unknown",
            Self::Deny => "deny",
        }
    }
}

/// What happens to a package's install-time code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scripts {
    /// It has none.
    None,
    Run,
    /// Installed, but its install scripts do not run.
    Skipped,
}

/// Why the plan must not go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stop {
    /// A package is denied (exit 77).
    Blocked,
    /// A check could not be completed and `on-error = "deny"` (exit 69).
    Incomplete,
}

/// One finding after policy.
#[derive(Debug, Clone, Serialize)]
pub struct DecidedFinding {
    pub code: String,
    pub level: Level,
    pub default: Level,
    pub summary: String,
    pub evidence: String,
    /// The `[[allow]]` entry that would allow it, as TOML to paste into
    /// `warden.toml`.
    pub allow: String,
    /// The allow entry that did (`file:line`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_by: Option<String>,
}

/// One package after policy.
#[derive(Debug, Clone, Serialize)]
pub struct PackageDecision {
    /// `npm:name` or `pypi:name`.
    pub package: String,
    pub version: String,
    pub path: String,
    pub integrity: Option<String>,
    pub publisher: Option<String>,
    pub verdict: Verdict,
    pub findings: Vec<DecidedFinding>,
    /// Checks that could not be completed, with their reasons.
    pub unknown: Vec<String>,
    /// Checks not made because the registry publishes no facts for them,
    /// for any version. Also in `unknown` unless `registry-gaps = "note"`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub registry_gaps: Vec<String>,
    pub scripts: Scripts,
    /// The bare name, for the install step.
    #[serde(skip)]
    pub name: String,
}

/// The decision on a whole plan.
#[derive(Debug, Clone)]
pub struct Decision {
    pub ecosystem: Ecosystem,
    pub packages: Vec<PackageDecision>,
    /// Set when the package manager must not run.
    pub stop: Option<Stop>,
    /// Allow entries that matched nothing in this plan (`file:line`).
    pub unused_allow: Vec<String>,
    /// Allow entries past their `expires` date: they no longer count.
    pub expired_allow: Vec<String>,
    /// What the policy makes of the packages' `registry_gaps`.
    pub registry_gaps: RegistryGaps,
}

impl Decision {
    pub fn count(&self, verdict: Verdict) -> usize {
        self.packages
            .iter()
            .filter(|p| p.verdict == verdict)
            .count()
    }

    /// Packages per verdict, every verdict present.
    pub fn summary(&self) -> BTreeMap<&'static str, usize> {
        [
            Verdict::Allow,
            Verdict::Warn,
            Verdict::Deny,
            Verdict::Unknown,
        ]
        .into_iter()
        .map(|v| (v.as_str(), self.count(v)))
        .collect()
    }

    /// Going on needs a person's yes: something warned, or a check could
    /// not be completed and the policy lets that go on.
    pub fn needs_confirmation(&self) -> bool {
        self.stop.is_none() && (self.count(Verdict::Warn) + self.count(Verdict::Unknown)) > 0
    }

    /// The packages whose install scripts may run.
    pub fn allow_scripts(&self) -> Vec<String> {
        allow_scripts(&self.packages)
    }
}

/// The names of the packages whose install scripts may run.
pub fn allow_scripts(packages: &[PackageDecision]) -> Vec<String> {
    let mut names: Vec<String> = packages
        .iter()
        .filter(|p| p.scripts == Scripts::Run)
        .map(|p| p.name.clone())
        .collect();
    names.dedup();
    names
}

/// Applies `policy` to every assessed package of a plan, as of `today`.
pub fn decide(
    ecosystem: Ecosystem,
    assessments: &[Assessment],
    policy: &Policy,
    today: Date,
) -> Decision {
    let mut used = BTreeSet::new();
    let expires = today
        .checked_add(jiff::Span::new().days(policy.allow_expiry_days))
        .unwrap_or(today);
    let mut packages = Vec::new();
    for a in assessments {
        let subject = Subject {
            ecosystem: ecosystem.as_str().to_owned(),
            name: a.package.name.clone(),
            version: a.package.version.clone(),
            publisher: a.publisher.clone(),
            attested_source: a.attested.clone(),
        };
        // A `[[trust]]` entry pins who builds the package: a version whose
        // verified provenance names another source, or none, is a finding.
        let pinned: Vec<crate::Finding> = policy
            .pins(&subject)
            .filter(|t| !t.satisfied_by(&subject))
            .map(|t| {
                let wanted = format!(
                    "{}{}",
                    t.repository,
                    t.workflow
                        .as_deref()
                        .map(|w| format!(" {w}"))
                        .unwrap_or_default()
                );
                let actual = match &a.attested {
                    Some((r, w)) => format!("it is built by {r} {}", w.as_deref().unwrap_or("")),
                    None => "it has no verified provenance".to_owned(),
                };
                crate::Finding::new(
                    PlanCode::ProvenancePinned,
                    Level::Deny,
                    format!("the policy pins it to {wanted}, and {}", actual.trim_end()),
                    format!("pinned by {}", t.origin),
                )
            })
            .collect();
        let mut findings: Vec<DecidedFinding> = a
            .findings
            .iter()
            .chain(&pinned)
            .map(|f| {
                let (level, by) = policy.level(&subject, &f.code, f.default, today);
                used.extend(by);
                DecidedFinding {
                    allow: allow_entry(ecosystem, a, &f.code, expires),
                    code: f.code.clone(),
                    level,
                    default: f.default,
                    summary: f.summary.clone(),
                    evidence: f.evidence.clone(),
                    allowed_by: by
                        .and_then(|i| policy.allow.get(i))
                        .map(|e| e.origin.clone()),
                }
            })
            .collect();
        // An archive warden could not read is unknown unless an allow
        // entry for this package names `archive-unreadable`: neither
        // `[findings]` nor an entry for every finding passes it unread.
        let mut unknown = a.unknown.clone();
        let unreadable = PlanCode::ArchiveUnreadable.as_str();
        for reason in &a.unreadable {
            match policy.named_by(&subject, unreadable, today) {
                Some(i) => {
                    used.insert(i);
                    findings.push(DecidedFinding {
                        allow: allow_entry(ecosystem, a, unreadable, expires),
                        code: unreadable.to_owned(),
                        level: Level::Allow,
                        default: Level::Warn,
                        summary: "the archive could not be read; an allow entry accepts it unread"
                            .into(),
                        evidence: reason.clone(),
                        allowed_by: policy.allow.get(i).map(|e| e.origin.clone()),
                    });
                }
                None => unknown.push(format!("{unreadable}: {reason}")),
            }
        }
        if policy.registry_gaps == RegistryGaps::Unknown {
            unknown.extend(a.unpublished.iter().cloned());
        }
        let worst = findings
            .iter()
            .map(|f| f.level)
            .max()
            .unwrap_or(Level::Allow);
        let verdict = match worst {
            Level::Deny => Verdict::Deny,
            _ if !unknown.is_empty() => Verdict::Unknown,
            Level::Warn => Verdict::Warn,
            Level::Allow => Verdict::Allow,
        };
        let runs = a.runs_install_code || a.package.has_install_script;
        let scripts = if !runs {
            Scripts::None
        } else if !ecosystem.has_script_step() {
            if verdict == Verdict::Deny {
                Scripts::Skipped
            } else {
                Scripts::Run
            }
        } else if let Some(i) = policy.scripts_allowed(&subject, today) {
            used.insert(i);
            Scripts::Run
        } else if verdict == Verdict::Allow {
            Scripts::Run
        } else {
            Scripts::Skipped
        };
        packages.push(PackageDecision {
            package: format!("{ecosystem}:{}", a.package.name),
            name: a.package.name.clone(),
            version: a.package.version.clone(),
            path: a.package.path.clone(),
            integrity: a.package.integrity.clone(),
            publisher: a.publisher.clone(),
            verdict,
            findings,
            unknown,
            registry_gaps: a.unpublished.clone(),
            scripts,
        });
    }
    let any = |v: Verdict| packages.iter().any(|p| p.verdict == v);
    let stop = if any(Verdict::Deny) {
        Some(Stop::Blocked)
    } else if any(Verdict::Unknown) && policy.on_error == OnError::Deny {
        Some(Stop::Incomplete)
    } else {
        None
    };
    Decision {
        ecosystem,
        packages,
        stop,
        unused_allow: policy
            .allow
            .iter()
            .enumerate()
            .filter(|(i, a)| !used.contains(i) && a.expires >= today)
            .map(|(_, a)| a.origin.clone())
            .collect(),
        expired_allow: policy
            .expired(today)
            .iter()
            .map(|a| a.origin.clone())
            .collect(),
        registry_gaps: policy.registry_gaps,
    }
}

/// An `[[allow]]` entry for one finding of one version, as TOML that
/// `warden policy check` accepts exactly as printed.
fn allow_entry(ecosystem: Ecosystem, a: &Assessment, code: &str, expires: Date) -> String {
    // A version that is not a release (a local project, a commit) cannot
    // be matched by a requirement: the entry then covers the name.
    let version = if a.package.version.starts_with(|c: char| c.is_ascii_digit()) {
        format!("version = {}\n", toml_string(&a.package.version))
    } else {
        String::new()
    };
    format!(
        "[[allow]]\npackage = {}\n{version}findings = [{}]\nreason = \"reviewed: …\"\nexpires = \"{expires}\"",
        toml_string(&format!("{ecosystem}:{}", a.package.name)),
        toml_string(code),
    )
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::Path;

    use super::*;
    use crate::vocab::{Finding, Package};

    const CODES: &[&str] = &[
        "publisher-changed",
        "install-script-added",
        "release-too-fresh",
        "maintainer-added",
        "sdist-build",
        "archive-unreadable",
    ];

    fn today() -> Date {
        jiff::civil::date(2026, 12, 1)
    }

    fn policy(text: &str) -> Policy {
        let mut p = Policy::default();
        p.layer(Path::new("warden.toml"), text, CODES).unwrap();
        p
    }

    fn pkg(name: &str, version: &str) -> Assessment {
        Assessment::of(Package {
            name: name.into(),
            version: version.into(),
            path: format!("node_modules/{name}"),
            integrity: Some("sha512-x".into()),
            has_install_script: false,
        })
    }

    fn with(mut a: Assessment, code: &str, level: Level) -> Assessment {
        a.finding(Finding::new(code, level, "s", "e"));
        a
    }

    fn allow(text: &str) -> String {
        format!("[[allow]]\n{text}\nreason = \"r\"\nexpires = \"2027-01-01\"\n")
    }

    fn npm(assessments: &[Assessment], p: &Policy) -> Decision {
        decide(Ecosystem::Npm, assessments, p, today())
    }

    #[test]
    fn the_worst_level_wins_and_any_deny_blocks_the_plan() {
        let d = npm(
            &[
                pkg("clean", "1.0.0"),
                with(pkg("warned", "1.0.0"), "maintainer-added", Level::Warn),
                with(
                    with(pkg("denied", "1.0.0"), "maintainer-added", Level::Warn),
                    "publisher-changed",
                    Level::Deny,
                ),
            ],
            &Policy::default(),
        );
        let verdicts: Vec<Verdict> = d.packages.iter().map(|p| p.verdict).collect();
        assert_eq!(verdicts, [Verdict::Allow, Verdict::Warn, Verdict::Deny]);
        assert_eq!(d.stop, Some(Stop::Blocked));
        assert!(!d.needs_confirmation());
        assert_eq!(d.summary()["deny"], 1);
    }

    #[test]
    fn policy_levels_override_defaults_both_ways() {
        let p = policy("[findings]\nmaintainer-added = \"deny\"\npublisher-changed = \"allow\"\n");
        let d = npm(
            &[
                with(pkg("a", "1.0.0"), "maintainer-added", Level::Warn),
                with(pkg("b", "1.0.0"), "publisher-changed", Level::Deny),
            ],
            &p,
        );
        assert_eq!(d.packages[0].verdict, Verdict::Deny);
        assert_eq!(d.packages[1].verdict, Verdict::Allow);
    }

    #[test]
    fn unknown_is_never_clean_and_on_error_decides() {
        let mut a = pkg("a", "1.0.0");
        a.unknown("advisories: 500 Internal Server Error");
        let d = npm(std::slice::from_ref(&a), &Policy::default());
        assert_eq!(d.packages[0].verdict, Verdict::Unknown);
        assert_eq!(d.packages[0].unknown.len(), 1);
        assert_eq!(d.stop, Some(Stop::Incomplete), "on-error = deny by default");

        let d = npm(
            std::slice::from_ref(&a),
            &policy("[settings]\non-error = \"warn\"\n"),
        );
        assert_eq!(d.packages[0].verdict, Verdict::Unknown);
        assert_eq!(d.stop, None);
        assert!(d.needs_confirmation(), "going on past unknown needs a yes");

        // An allow entry lowers findings; it does not make unknown known.
        let d = npm(
            &[with(a.clone(), "maintainer-added", Level::Warn)],
            &policy(&allow("package = \"npm:a\"")),
        );
        assert_eq!(d.packages[0].verdict, Verdict::Unknown);
        // A deny is a deny, unknown or not.
        let d = npm(
            &[with(a, "publisher-changed", Level::Deny)],
            &Policy::default(),
        );
        assert_eq!(d.stop, Some(Stop::Blocked));
    }

    #[test]
    fn facts_the_registry_never_publishes_are_unknown_unless_noted() {
        let mut a = pkg("a", "1.0.0");
        a.unpublished
            .push("known-malicious: the registry offers no advisory data".into());
        let d = npm(std::slice::from_ref(&a), &Policy::default());
        let p = &d.packages[0];
        assert_eq!(
            (p.verdict, d.stop),
            (Verdict::Unknown, Some(Stop::Incomplete))
        );
        assert_eq!(p.unknown, a.unpublished);
        assert_eq!(p.registry_gaps, a.unpublished);

        let d = npm(
            std::slice::from_ref(&a),
            &policy("[settings]\nregistry-gaps = \"note\"\n"),
        );
        let p = &d.packages[0];
        assert_eq!((p.verdict, d.stop), (Verdict::Allow, None));
        assert!(p.unknown.is_empty());
        assert_eq!(p.registry_gaps, a.unpublished, "noted, never dropped");
        // A check that failed stays unknown whatever the setting.
        a.unknown("advisories: 500 Internal Server Error");
        let d = npm(
            std::slice::from_ref(&a),
            &policy("[settings]\nregistry-gaps = \"note\"\n"),
        );
        assert_eq!(d.packages[0].verdict, Verdict::Unknown);
    }

    #[test]
    fn an_unread_archive_is_accepted_only_by_an_entry_naming_it() {
        let mut a = pkg("a", "7.0.6");
        a.unreadable
            .push("npm:a@7.0.6: entry `package/x` is a FIFO".into());
        let verdict = |text: &str| {
            let d = npm(std::slice::from_ref(&a), &policy(text));
            (d.packages[0].verdict, d.stop, d.packages[0].unknown.clone())
        };
        let (v, stop, unknown) = verdict("");
        assert_eq!((v, stop), (Verdict::Unknown, Some(Stop::Incomplete)));
        assert!(
            unknown[0].starts_with("archive-unreadable: npm:a@7.0.6"),
            "{unknown:?}"
        );
        // Neither a level for the code nor an entry for every finding.
        assert_eq!(
            verdict("[findings]\narchive-unreadable = \"allow\"\n").0,
            Verdict::Unknown
        );
        assert_eq!(verdict(&allow("package = \"npm:a\"")).0, Verdict::Unknown);
        // Another version is not covered.
        let other =
            allow("package = \"npm:a\"\nversion = \"7.0.5\"\nfindings = [\"archive-unreadable\"]");
        assert_eq!(verdict(&other).0, Verdict::Unknown);
        let named =
            allow("package = \"npm:a\"\nversion = \"7.0.6\"\nfindings = [\"archive-unreadable\"]");
        let d = npm(std::slice::from_ref(&a), &policy(&named));
        let p = &d.packages[0];
        assert_eq!((p.verdict, d.stop), (Verdict::Allow, None));
        assert!(p.unknown.is_empty());
        assert_eq!(p.findings[0].code, "archive-unreadable");
        assert!(p.findings[0].evidence.contains("FIFO"));
        assert!(p.findings[0].allowed_by.is_some());
        assert!(d.unused_allow.is_empty());
    }

    #[test]
    fn allow_by_version_finding_and_publisher() {
        let a = with(pkg("a", "1.2.0"), "publisher-changed", Level::Deny);
        let verdict = |text: &str, a: &Assessment| {
            npm(std::slice::from_ref(a), &policy(&allow(text))).packages[0].verdict
        };
        assert_eq!(verdict("package = \"npm:a\"", &a), Verdict::Allow);
        assert_eq!(
            verdict("package = \"npm:a\"\nversion = \">=1.2\"", &a),
            Verdict::Allow
        );
        assert_eq!(
            verdict("package = \"npm:a\"\nversion = \"<1.2\"", &a),
            Verdict::Deny
        );
        assert_eq!(
            verdict(
                "package = \"npm:a\"\nfindings = [\"publisher-changed\"]",
                &a
            ),
            Verdict::Allow
        );
        assert_eq!(
            verdict(
                "package = \"npm:a\"\nfindings = [\"install-script-added\"]",
                &a
            ),
            Verdict::Deny
        );
        assert_eq!(verdict("package = \"npm:b\"", &a), Verdict::Deny);
        assert_eq!(verdict("package = \"pypi:a\"", &a), Verdict::Deny);
        let mut by_alice = a.clone();
        by_alice.publisher = Some("alice".into());
        assert_eq!(
            verdict("package = \"npm:a\"\npublisher = \"alice\"", &by_alice),
            Verdict::Allow
        );
        assert_eq!(
            verdict("package = \"npm:a\"\npublisher = \"alice\"", &a),
            Verdict::Deny,
            "no publisher known: the entry does not match"
        );
        let d = npm(
            std::slice::from_ref(&a),
            &policy(&allow("package = \"npm:a\"")),
        );
        assert_eq!(
            d.packages[0].findings[0].allowed_by.as_deref(),
            Some("warden.toml:1")
        );
    }

    #[test]
    fn allow_by_trusted_publisher() {
        let entry = allow(
            "package = \"npm:a\"\ntrusted-publisher = { repository = \"org/a\", workflow = \"publish.yml\" }",
        );
        let a = with(pkg("a", "1.0.0"), "install-script-added", Level::Deny);
        assert_eq!(
            npm(std::slice::from_ref(&a), &policy(&entry)).packages[0].verdict,
            Verdict::Deny,
            "not attested"
        );
        let mut attested = a.clone();
        attested.attested = Some((
            "https://github.com/org/a".into(),
            Some(".github/workflows/publish.yml".into()),
        ));
        assert_eq!(
            npm(std::slice::from_ref(&attested), &policy(&entry)).packages[0].verdict,
            Verdict::Allow
        );
        attested.attested = Some(("https://github.com/fork/a".into(), None));
        assert_eq!(
            npm(&[attested], &policy(&entry)).packages[0].verdict,
            Verdict::Deny
        );
    }

    #[test]
    fn a_trust_entry_pins_who_builds_the_package() {
        let pin = policy(
            "[[trust]]\npackage = \"npm:esb*\"\nrepository = \"evanw/esbuild\"\nworkflow = \".github/workflows/publish.yml\"\n",
        );
        let built_by = |repo: Option<&str>, workflow: &str| {
            let mut a = pkg("esbuild", "0.25.0");
            a.attested = repo.map(|r| (r.to_owned(), Some(workflow.to_owned())));
            a
        };
        let verdict = |a: Assessment, p: &Policy| npm(&[a], p).packages[0].clone();
        let ok = verdict(
            built_by(
                Some("https://github.com/evanw/esbuild"),
                ".github/workflows/publish.yml",
            ),
            &pin,
        );
        assert_eq!(ok.verdict, Verdict::Allow);
        // Another repository, another workflow, no verified provenance.
        for (repo, workflow) in [
            (
                Some("https://github.com/fork/esbuild"),
                ".github/workflows/publish.yml",
            ),
            (
                Some("https://github.com/evanw/esbuild"),
                ".github/workflows/other.yml",
            ),
            (None, ""),
        ] {
            let d = verdict(built_by(repo, workflow), &pin);
            assert_eq!(d.verdict, Verdict::Deny, "{repo:?} {workflow}");
            assert_eq!(d.findings[0].code, "provenance-pinned");
            assert_eq!(d.findings[0].evidence, "pinned by warden.toml:1");
        }
        // Packages the entry does not name are not pinned.
        assert_eq!(
            verdict(pkg("left-pad", "1.0.0"), &pin).verdict,
            Verdict::Allow
        );
        // A malformed entry is a policy error.
        let mut p = Policy::default();
        assert!(
            p.layer(
                Path::new("warden.toml"),
                "[[trust]]\npackage = \"esbuild\"\nrepository = \"x/y\"\n",
                CODES
            )
            .is_err()
        );
    }

    #[test]
    fn expired_entries_stop_counting_and_unused_ones_are_reported() {
        let text = format!(
            "{}{}",
            allow("package = \"npm:a\"").replace("2027-01-01", "2026-11-30"),
            allow("package = \"npm:not-planned\"")
        );
        let p = policy(&text);
        let d = npm(
            &[with(pkg("a", "1.0.0"), "publisher-changed", Level::Deny)],
            &p,
        );
        assert_eq!(d.packages[0].verdict, Verdict::Deny);
        assert_eq!(d.expired_allow, ["warden.toml:1"]);
        assert_eq!(d.unused_allow, ["warden.toml:5"]);
        // The day it expires still counts.
        let d = decide(
            Ecosystem::Npm,
            &[with(pkg("a", "1.0.0"), "publisher-changed", Level::Deny)],
            &p,
            jiff::civil::date(2026, 11, 30),
        );
        assert_eq!(d.packages[0].verdict, Verdict::Allow);
    }

    #[test]
    fn a_too_fresh_release_is_decided_like_any_finding() {
        let a = with(pkg("a", "2.0.0"), "release-too-fresh", Level::Deny);
        assert_eq!(
            npm(std::slice::from_ref(&a), &Policy::default()).stop,
            Some(Stop::Blocked)
        );
        let p = policy(&allow(
            "package = \"npm:a\"\nversion = \"2.0.0\"\nfindings = [\"release-too-fresh\"]",
        ));
        assert_eq!(npm(&[a], &p).stop, None);
    }

    #[test]
    fn npm_scripts_run_only_when_clean_or_allowed() {
        let mut scripted = pkg("s", "1.0.0");
        scripted.package.has_install_script = true;
        let warned = with(scripted.clone(), "maintainer-added", Level::Warn);
        let mut unknown = scripted.clone();
        unknown.unknown("tarball: reset");
        let on_warn = policy("[settings]\non-error = \"warn\"\n");
        let d = npm(
            &[scripted.clone(), warned.clone(), unknown.clone()],
            &on_warn,
        );
        let scripts: Vec<Scripts> = d.packages.iter().map(|p| p.scripts).collect();
        assert_eq!(scripts, [Scripts::Run, Scripts::Skipped, Scripts::Skipped]);
        assert_eq!(d.allow_scripts(), ["s"]);
        assert_eq!(
            npm(&[pkg("x", "1.0.0")], &on_warn).packages[0].scripts,
            Scripts::None
        );

        let p = policy(&allow("package = \"npm:s\"\nscripts = true\nfindings = []"));
        let d = npm(&[warned], &p);
        assert_eq!(d.packages[0].scripts, Scripts::Run);
        assert!(
            d.unused_allow.is_empty(),
            "a scripts entry that let scripts run is used"
        );
    }

    #[test]
    fn pip_code_runs_with_the_package_or_not_at_all() {
        let mut sdist = pkg("s", "1.0");
        sdist.package.has_install_script = true;
        let warned = with(sdist.clone(), "sdist-build", Level::Warn);
        let d = decide(Ecosystem::Pypi, &[warned], &Policy::default(), today());
        assert_eq!(d.packages[0].scripts, Scripts::Run);
        assert_eq!(d.packages[0].package, "pypi:s");
        let denied = with(sdist, "install-script-added", Level::Deny);
        let d = decide(Ecosystem::Pypi, &[denied], &Policy::default(), today());
        assert_eq!(d.packages[0].scripts, Scripts::Skipped);
    }

    #[test]
    fn the_printed_allow_entry_is_policy_that_parses_and_matches() {
        let a = with(pkg("@s/a", "1.2.0"), "publisher-changed", Level::Deny);
        let d = npm(std::slice::from_ref(&a), &Policy::default());
        let entry = &d.packages[0].findings[0].allow;
        assert!(entry.contains("expires = \"2027-03-01\""), "{entry}");
        let p = policy(entry);
        assert_eq!(npm(&[a], &p).packages[0].verdict, Verdict::Allow);
    }
}
