//! Judging one version against its own history.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::popular;
use crate::timeline::{Timeline, Trust, VersionFacts};

pub use warden_policy::Level;

/// A history finding: a stable code, a level, what happened, the evidence,
/// and the policy entry that would allow it.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub level: Level,
    pub summary: String,
    pub evidence: BTreeMap<&'static str, String>,
    pub allow: String,
}

/// A check that could not be made because the registry did not say.
#[derive(Debug, Clone, Serialize)]
pub struct Unknown {
    pub code: &'static str,
    pub reason: String,
    /// The registry publishes no such fact for any version of the package
    /// (or offers no such service): a property of the registry, such as a
    /// mirror that strips fields, rather than of this version.
    pub unpublished: bool,
}

/// What the checks need besides the timeline.
#[derive(Debug, Clone)]
pub struct Context {
    pub now: Timestamp,
    pub min_release_age: SignedDuration,
    /// Content-rule findings on this version's archive (any level above allow).
    pub content_findings: bool,
    /// Rules whose findings in this version's install-time code make a
    /// first release a deny.
    pub first_release_deny: Vec<String>,
    /// For each dependency this version adds: facts about the version it
    /// would resolve to, when they could be fetched.
    pub added_dependencies: BTreeMap<String, DependencyFacts>,
}

impl Context {
    pub fn new(now: Timestamp) -> Self {
        Self {
            now,
            min_release_age: SignedDuration::from_hours(48),
            content_findings: false,
            first_release_deny: Vec::new(),
            added_dependencies: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct DependencyFacts {
    pub version: Option<String>,
    pub first_release: bool,
    pub too_fresh: bool,
    /// The version it resolves to runs code at install.
    pub runs_install_code: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Judgement {
    pub version: String,
    /// What it was compared with.
    pub previous: Option<String>,
    pub findings: Vec<Finding>,
    pub unknown: Vec<Unknown>,
}

pub const CODES: &[&str] = &[
    "provenance-dropped",
    "provenance-identity-changed",
    "publisher-new",
    "maintainer-added",
    "install-script-added",
    "release-too-fresh",
    "dormant-revival",
    "first-release",
    "install-script-changed",
    "dependency-added",
    "typosquat-suspect",
    "known-malicious",
    "deprecated",
    "yanked",
    "runtime-code-added",
];

/// The findings that the clock, or other packages' documents, can change
/// while the version's own facts stay the same: each of them only goes
/// away as time passes (a release stops being fresh or first, a revival
/// stops being recent, a name becomes established), except what an added
/// dependency resolves to. A judgement with none of them stays the same
/// until the version's document does.
pub const CHANGES_WITH_TIME: &[&str] = &[
    "release-too-fresh",
    "dormant-revival",
    "first-release",
    "typosquat-suspect",
    "dependency-added",
];

fn days(d: SignedDuration) -> i64 {
    d.as_secs() / 86_400
}

fn hours(d: SignedDuration) -> i64 {
    d.as_secs() / 3600
}

/// Judges `version`. `baseline` is the version the project has now, when
/// known; otherwise the preceding release of the same major line.
pub fn judge(
    timeline: &Timeline,
    version: &str,
    baseline: Option<&str>,
    ctx: &Context,
) -> Option<Judgement> {
    let this = timeline.get(version)?;
    let previous = baseline
        .and_then(|b| timeline.get(b))
        .or_else(|| timeline.previous(version));
    let package = format!("{}:{}", timeline.ecosystem.prefix(), timeline.name);
    let mut j = Judgement {
        version: version.to_owned(),
        previous: previous.map(|p| p.version.clone()),
        findings: Vec::new(),
        unknown: Vec::new(),
    };
    let allow = |code: &str| {
        format!(
            "[[allow]] package = \"{package}\" version = \"{version}\" findings = [\"{code}\"] reason = \"…\" expires = \"YYYY-MM-DD\""
        )
    };
    let add = |j: &mut Judgement,
               code: &'static str,
               level: Level,
               summary: String,
               evidence: Vec<(&'static str, String)>| {
        j.findings.push(Finding {
            code,
            level,
            summary,
            evidence: evidence.into_iter().collect(),
            allow: allow(code),
        });
    };
    let unknown = |j: &mut Judgement, code: &'static str, reason: &str| {
        j.unknown.push(Unknown {
            code,
            reason: reason.to_owned(),
            unpublished: false,
        });
    };
    let unpublished = |j: &mut Judgement, code: &'static str, reason: &str| {
        j.unknown.push(Unknown {
            code,
            reason: reason.to_owned(),
            unpublished: true,
        });
    };
    // A fact missing here: a gap of the registry when no version has it,
    // else unknown for this version.
    let missing = |j: &mut Judgement,
                   code: &'static str,
                   none_has_it: bool,
                   (gap, this_lacks): (&str, &str)| {
        if none_has_it {
            unpublished(j, code, gap);
        } else {
            unknown(j, code, this_lacks);
        }
    };

    // Provenance.
    let major = timeline.major(version);
    let same_line: Vec<&VersionFacts> = timeline
        .earlier(version)
        .into_iter()
        .filter(|v| major.is_some() && timeline.major(&v.version) == major)
        .collect();
    let recent: Vec<&VersionFacts> = previous
        .into_iter()
        .chain(same_line.iter().take(3).copied())
        .collect();
    let attested_before = recent.iter().find(|v| v.trust == Trust::Attested);
    let mut dropped = false;
    match (this.trust, attested_before) {
        (Trust::None, Some(before)) => {
            dropped = true;
            add(
                &mut j,
                "provenance-dropped",
                Level::Deny,
                format!(
                    "{version} has no provenance or trusted publishing; {} had",
                    before.version
                ),
                vec![
                    ("attested_version", before.version.clone()),
                    ("attestation", before.attestation.join(", ")),
                ],
            );
        }
        (Trust::Unknown, Some(_)) => unknown(
            &mut j,
            "provenance-dropped",
            "the registry does not say whether this version is attested",
        ),
        _ => {}
    }
    // The nearest earlier attested version that names its source.
    let earlier_source = timeline
        .earlier(version)
        .into_iter()
        .filter(|v| v.trust == Trust::Attested)
        .find_map(|v| v.source.as_ref().map(|s| (v, s)));
    let same_source = match (this.trust, &this.source, earlier_source) {
        (Trust::Attested, Some(now), Some((before, was))) => {
            if now.same_as(was) {
                true
            } else {
                add(
                    &mut j,
                    "provenance-identity-changed",
                    Level::Deny,
                    format!(
                        "{version} is signed by {} but {} by {}",
                        now.label(),
                        before.version,
                        was.label()
                    ),
                    vec![
                        ("repository", now.repository.clone()),
                        ("workflow", now.workflow.clone().unwrap_or_default()),
                        ("earlier_version", before.version.clone()),
                        ("earlier_repository", was.repository.clone()),
                        ("earlier_workflow", was.workflow.clone().unwrap_or_default()),
                    ],
                );
                false
            }
        }
        _ => false,
    };

    // Publisher.
    let mut new_publisher = false;
    let earlier_publishers = timeline.publishers_before(version);
    match &this.publisher {
        Some(p)
            if !earlier_publishers.is_empty()
                && !earlier_publishers.contains(p)
                && !same_source =>
        {
            new_publisher = true;
            add(
                &mut j,
                "publisher-new",
                Level::Warn,
                format!("published by `{p}`, who published none of the earlier versions"),
                vec![
                    ("publisher", p.clone()),
                    (
                        "earlier_publishers",
                        earlier_publishers
                            .iter()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                ],
            );
        }
        None if timeline.ecosystem == crate::Ecosystem::Npm => missing(
            &mut j,
            "publisher-new",
            timeline.versions.iter().all(|v| v.publisher.is_none()),
            (
                "the registry names no publisher for any version",
                "the registry does not name who published this version",
            ),
        ),
        _ => {}
    }

    // Maintainers.
    if let Some(prev) = previous {
        match (&this.maintainers, &prev.maintainers) {
            (Some(now), Some(was)) => {
                let was: BTreeSet<&String> = was.iter().collect();
                let added: Vec<String> = now.iter().filter(|m| !was.contains(m)).cloned().collect();
                if !added.is_empty() && !same_source {
                    add(
                        &mut j,
                        "maintainer-added",
                        Level::Warn,
                        format!(
                            "new maintainer(s) since {}: {}",
                            prev.version,
                            added.join(", ")
                        ),
                        vec![
                            ("added", added.join(", ")),
                            ("previous_version", prev.version.clone()),
                        ],
                    );
                }
            }
            _ if timeline.ecosystem == crate::Ecosystem::Npm => missing(
                &mut j,
                "maintainer-added",
                timeline.versions.iter().all(|v| v.maintainers.is_none()),
                (
                    "the registry lists maintainers for no version",
                    "the registry does not list maintainers per version",
                ),
            ),
            _ => {}
        }
    }

    // Freshness and gaps.
    match this.published {
        Some(t) => {
            let age = ctx.now.duration_since(t);
            if age < ctx.min_release_age {
                add(
                    &mut j,
                    "release-too-fresh",
                    Level::Deny,
                    format!(
                        "published {}h ago, under the minimum release age of {}h",
                        hours(age),
                        hours(ctx.min_release_age)
                    ),
                    vec![
                        ("published", t.to_string()),
                        (
                            "min_release_age_hours",
                            hours(ctx.min_release_age).to_string(),
                        ),
                    ],
                );
            }
            let last_before = timeline
                .published_before(version)
                .iter()
                .filter_map(|v| v.published)
                .max();
            if let Some(before) = last_before {
                let gap = t.duration_since(before);
                // A revival long past has been in use since: it is news
                // only while it is recent.
                if days(gap) >= 365 && days(ctx.now.duration_since(t)) < REVIVAL_RECENT_DAYS {
                    add(
                        &mut j,
                        "dormant-revival",
                        Level::Warn,
                        format!("first release after {} days of silence", days(gap)),
                        vec![
                            ("published", t.to_string()),
                            ("previous_release", before.to_string()),
                        ],
                    );
                }
            }
        }
        None => missing(
            &mut j,
            "release-too-fresh",
            timeline.versions.iter().all(|v| v.published.is_none()),
            (
                "the registry gives no publish time for any version",
                "the registry does not give this version's publish time",
            ),
        ),
    }
    if let Some(first) = timeline.first_published() {
        let age = ctx.now.duration_since(first);
        if days(age) < 30 {
            // A new package has no earlier release to compare with: code it
            // runs at install that is obfuscated or talks to the network is
            // judged on its own.
            let escalate = !ctx.first_release_deny.is_empty();
            let mut evidence = vec![("first_published", first.to_string())];
            if escalate {
                evidence.push(("install_code_findings", ctx.first_release_deny.join(", ")));
            }
            add(
                &mut j,
                "first-release",
                if escalate { Level::Deny } else { Level::Warn },
                if escalate {
                    format!(
                        "the package's first version appeared {} days ago, and its install-time code is obfuscated or uses the network",
                        days(age)
                    )
                } else {
                    format!(
                        "the package's first version appeared {} days ago",
                        days(age)
                    )
                },
                evidence,
            );
        }
    }

    // Install-time execution.
    let mut script_added = None;
    if let Some(prev) = previous {
        match (this.install_time, prev.install_time) {
            (Some(true), Some(false)) => script_added = Some(prev),
            (Some(true), None) | (None, _) => unknown(
                &mut j,
                "install-script-added",
                "whether a version runs code at install is not known for both versions",
            ),
            _ => {}
        }
    }

    // Name.
    // A name with a long history of its own is a package in its own right
    // (stylus beside stylis), not a squat on its neighbour.
    let lookalike = popular::lookalike(timeline.ecosystem, &timeline.name)
        .filter(|_| !established(timeline, ctx.now));
    if let Some((target, how)) = &lookalike {
        let runs = this.install_time == Some(true);
        add(
            &mut j,
            "typosquat-suspect",
            if runs { Level::Deny } else { Level::Warn },
            format!("the name is a {how} away from the popular `{target}`"),
            vec![
                ("imitates", target.clone()),
                ("how", (*how).to_owned()),
                ("runs_install_code", runs.to_string()),
            ],
        );
    }

    // A hook that was there already, now running another command, or a
    // hook added beside one that was there: what a release changed, so
    // against an earlier release only (a lockfile may also hold a newer
    // version of the same package).
    let earlier = previous
        .filter(|p| !timeline.is_later(&p.version, version))
        .or_else(|| timeline.previous(version));
    let script_changed: Vec<String> = match (
        earlier.and_then(|p| p.install_scripts.as_ref()),
        this.install_scripts.as_ref(),
    ) {
        (Some(before), Some(now)) if !before.is_empty() => now
            .iter()
            .filter_map(|(hook, command)| match before.get(hook) {
                Some(old) if old != command => Some(format!("{hook}: `{old}` -> `{command}`")),
                None => Some(format!("{hook}: added `{command}`")),
                Some(_) => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let escalate = new_publisher || dropped || ctx.content_findings || lookalike.is_some();
    let escalated_by = [
        (new_publisher, "publisher-new"),
        (dropped, "provenance-dropped"),
        (ctx.content_findings, "content findings"),
        (lookalike.is_some(), "typosquat-suspect"),
    ]
    .iter()
    .filter(|(b, _)| *b)
    .map(|(_, s)| *s)
    .collect::<Vec<_>>()
    .join(", ");
    // Projects change their hooks' commands as they go, and most install
    // code spawns processes: a changed command is a deny only with a sign
    // that someone else made this release.
    let changed_escalate = new_publisher || dropped || lookalike.is_some();
    if let (Some(prev), false) = (earlier, script_changed.is_empty()) {
        add(
            &mut j,
            "install-script-changed",
            if changed_escalate {
                Level::Deny
            } else {
                Level::Warn
            },
            format!(
                "{version} runs other install-time commands than {}",
                prev.version
            ),
            vec![
                ("changed", script_changed.join("; ")),
                ("previous_version", prev.version.clone()),
                (
                    "escalated_by",
                    [
                        (new_publisher, "publisher-new"),
                        (dropped, "provenance-dropped"),
                        (lookalike.is_some(), "typosquat-suspect"),
                    ]
                    .iter()
                    .filter(|(b, _)| *b)
                    .map(|(_, s)| *s)
                    .collect::<Vec<_>>()
                    .join(", "),
                ),
            ],
        );
    }
    if let Some(prev) = script_added {
        add(
            &mut j,
            "install-script-added",
            if escalate { Level::Deny } else { Level::Warn },
            format!("{version} runs code at install; {} did not", prev.version),
            vec![
                ("scripts", this.install_detail.join("; ")),
                ("previous_version", prev.version.clone()),
                ("escalated_by", escalated_by),
            ],
        );
    }

    // Dependencies.
    if let (Some(prev), Some(now)) = (previous, &this.dependencies) {
        if let Some(was) = &prev.dependencies {
            for (name, spec) in now {
                if was.contains_key(name) {
                    continue;
                }
                let facts = ctx.added_dependencies.get(name);
                let (level, why) = if is_non_registry(spec) {
                    (Level::Deny, "it comes from a git, URL or file source")
                } else if facts.is_some_and(|f| f.too_fresh) {
                    (
                        Level::Warn,
                        "the version it resolves to is itself too fresh",
                    )
                } else if facts.is_some_and(|f| f.first_release) {
                    (Level::Warn, "the package is itself a first release")
                } else if facts.is_some_and(|f| f.runs_install_code) {
                    (
                        Level::Warn,
                        "the version it resolves to runs code at install",
                    )
                } else {
                    (Level::Allow, "a registry dependency")
                };
                add(
                    &mut j,
                    "dependency-added",
                    level,
                    format!(
                        "new dependency `{name}` ({spec}) since {}: {why}",
                        prev.version
                    ),
                    vec![
                        ("dependency", name.clone()),
                        ("spec", spec.clone()),
                        (
                            "resolves_to",
                            facts.and_then(|f| f.version.clone()).unwrap_or_default(),
                        ),
                    ],
                );
            }
        }
    }

    match this.malware {
        Some(true) => add(
            &mut j,
            "known-malicious",
            Level::Deny,
            "the registry's advisory data marks this version as malware".to_owned(),
            vec![],
        ),
        Some(false) => {}
        None => unpublished(
            &mut j,
            "known-malicious",
            "the registry offers no advisory data",
        ),
    }
    if let Some(message) = &this.deprecated {
        add(
            &mut j,
            "deprecated",
            Level::Warn,
            format!("deprecated: {message}"),
            vec![("message", message.clone())],
        );
    }
    if let Some(reason) = &this.yanked {
        add(
            &mut j,
            "yanked",
            Level::Warn,
            format!("yanked: {reason}"),
            vec![("reason", reason.clone())],
        );
    }
    j.findings
        .sort_by(|a, b| b.level.cmp(&a.level).then(a.code.cmp(b.code)));
    Some(j)
}

/// How recent a release after a year's silence must be to be reported.
const REVIVAL_RECENT_DAYS: i64 = 90;

/// Whether a package has a history of its own: releases over at least a
/// year, at least three of them. Squats are found and removed in days.
fn established(timeline: &Timeline, now: Timestamp) -> bool {
    let releases = timeline
        .versions
        .iter()
        .filter(|v| v.published.is_some_and(|t| t <= now))
        .count();
    timeline
        .first_published()
        .is_some_and(|first| days(now.duration_since(first)) >= 365)
        && releases >= 3
}

/// A dependency spec that does not come from a registry.
pub fn is_non_registry(spec: &str) -> bool {
    let s = spec.trim();
    [
        "git+",
        "git:",
        "git@",
        "github:",
        "gitlab:",
        "bitbucket:",
        "http:",
        "https:",
        "file:",
        "link:",
    ]
    .iter()
    .any(|p| s.starts_with(p))
        || (s.contains('/') && !s.starts_with('@') && !s.starts_with("npm:") && !s.contains(' '))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_registry_specs() {
        for s in [
            "git+https://x/y.git",
            "github:user/repo",
            "user/repo#main",
            "file:../x",
            "https://x/y.tgz",
        ] {
            assert!(is_non_registry(s), "{s}");
        }
        for s in ["^1.0.0", "1.x || >=2.5.0", "latest", "npm:other@^1"] {
            assert!(!is_non_registry(s), "{s}");
        }
    }

    fn new_package(now: Timestamp) -> Timeline {
        Timeline {
            ecosystem: crate::Ecosystem::Npm,
            name: "fresh-pkg".into(),
            versions: vec![VersionFacts {
                version: "1.0.0".into(),
                published: now.checked_sub(SignedDuration::from_hours(24 * 5)).ok(),
                publisher: Some("alice".into()),
                maintainers: Some(vec!["alice".into()]),
                trust: Trust::None,
                attestation: Vec::new(),
                source: None,
                install_time: Some(true),
                install_detail: vec!["postinstall node i.js".into()],
                install_scripts: None,
                dependencies: Some(BTreeMap::new()),
                deprecated: None,
                yanked: None,
                malware: Some(false),
            }],
        }
    }

    #[test]
    fn a_first_release_with_suspicious_install_code_is_a_deny() {
        let now = Timestamp::now();
        let timeline = new_package(now);
        let level = |ctx: &Context| {
            let j = judge(&timeline, "1.0.0", None, ctx).unwrap();
            let f = j
                .findings
                .iter()
                .find(|f| f.code == "first-release")
                .unwrap();
            (f.level, f.evidence.get("install_code_findings").cloned())
        };
        let mut ctx = Context::new(now);
        assert_eq!(level(&ctx), (Level::Warn, None));
        // Install code that only spawns a compiler is not enough.
        ctx.content_findings = true;
        assert_eq!(level(&ctx), (Level::Warn, None));
        ctx.first_release_deny = vec!["network-send".into()];
        assert_eq!(level(&ctx), (Level::Deny, Some("network-send".to_owned())));
    }

    #[test]
    fn a_new_dependency_that_runs_code_at_install_is_a_warning() {
        let now = Timestamp::now();
        let mut timeline = new_package(now);
        let old = now.checked_sub(SignedDuration::from_hours(24 * 400)).ok();
        timeline.versions[0].published = old;
        let mut next = timeline.versions[0].clone();
        next.version = "1.0.1".into();
        next.published = now.checked_sub(SignedDuration::from_hours(24 * 10)).ok();
        next.dependencies = Some(BTreeMap::from([("helper".to_owned(), "^2.0.0".to_owned())]));
        timeline.versions.push(next);
        let level = |runs_install_code: bool| {
            let mut ctx = Context::new(now);
            ctx.added_dependencies.insert(
                "helper".into(),
                DependencyFacts {
                    version: Some("2.0.3".into()),
                    first_release: false,
                    too_fresh: false,
                    runs_install_code,
                },
            );
            let j = judge(&timeline, "1.0.1", None, &ctx).unwrap();
            let f = j
                .findings
                .iter()
                .find(|f| f.code == "dependency-added")
                .unwrap()
                .clone();
            (f.level, f.summary)
        };
        assert_eq!(level(false).0, Level::Allow);
        let (lvl, summary) = level(true);
        assert_eq!(lvl, Level::Warn);
        assert!(summary.contains("runs code at install"), "{summary}");
    }

    #[test]
    fn a_changed_install_command_is_reported_and_escalates_like_an_added_one() {
        let now = Timestamp::now();
        let mut timeline = new_package(now);
        let old = now.checked_sub(SignedDuration::from_hours(24 * 400)).ok();
        timeline.versions[0].published = old;
        let scripts = |pairs: &[(&str, &str)]| {
            Some(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect::<BTreeMap<_, _>>(),
            )
        };
        timeline.versions[0].install_scripts = scripts(&[("postinstall", "node postinstall.js")]);
        let mut next = timeline.versions[0].clone();
        next.version = "1.0.1".into();
        next.published = now.checked_sub(SignedDuration::from_hours(24 * 10)).ok();
        next.install_scripts = scripts(&[("postinstall", "node setup.js")]);
        timeline.versions.push(next);
        let finding = |ctx: &Context, t: &Timeline| {
            judge(t, "1.0.1", None, ctx)
                .unwrap()
                .findings
                .into_iter()
                .find(|f| f.code == "install-script-changed")
                .map(|f| (f.level, f.evidence["changed"].clone()))
        };
        let mut ctx = Context::new(now);
        assert_eq!(
            finding(&ctx, &timeline),
            Some((
                Level::Warn,
                "postinstall: `node postinstall.js` -> `node setup.js`".to_owned()
            ))
        );
        // Install code that spawns processes is common: not a deny alone.
        ctx.content_findings = true;
        assert_eq!(finding(&ctx, &timeline).map(|f| f.0), Some(Level::Warn));
        // Another account published it: a deny.
        timeline.versions[1].publisher = Some("mallory".into());
        assert_eq!(finding(&ctx, &timeline).map(|f| f.0), Some(Level::Deny));
        timeline.versions[1].publisher = Some("alice".into());
        // Judged against a newer version the project also has, 1.0.0 did
        // not change anything.
        let against_newer = judge(&timeline, "1.0.0", Some("1.0.1"), &ctx).unwrap();
        assert!(
            !against_newer
                .findings
                .iter()
                .any(|f| f.code == "install-script-changed")
        );
        // The same command again is no finding.
        timeline.versions[1].install_scripts = timeline.versions[0].install_scripts.clone();
        assert_eq!(finding(&Context::new(now), &timeline), None);
    }

    #[test]
    fn codes_are_unique() {
        let set: BTreeSet<&&str> = CODES.iter().collect();
        assert_eq!(set.len(), CODES.len());
    }
}
