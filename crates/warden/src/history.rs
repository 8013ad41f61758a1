//! Gathering what the history checks need beyond the package document
//! (attested sources, advisories, added dependencies, the previous
//! version's surface), then judging.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use jiff::{SignedDuration, Timestamp};
use warden_history::{Context, DependencyFacts, Judgement, Level, Source, Timeline, Trust};
use warden_registry::npm::Packument;
use warden_registry::pypi::SimpleProject;
use warden_registry::{NpmClient, PypiClient, RedactedUrl};
use warden_rules::Analysis;

/// At most this many added dependencies are looked up.
const MAX_DEPENDENCY_LOOKUPS: usize = 16;

/// What the history checks need from a version's archive.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct SurfaceFacts {
    pub runs_code: bool,
    /// What runs, as `kind file` lines.
    pub detail: Vec<String>,
    /// Any content or surface finding above `allow`.
    pub content_findings: bool,
}

impl From<&Analysis> for SurfaceFacts {
    fn from(a: &Analysis) -> Self {
        use warden_archive::Runs;
        Self {
            runs_code: a.surface.runs_code(),
            detail: a
                .surface
                .items
                .iter()
                .filter(|i| matches!(i.runs, Runs::Install | Runs::Build | Runs::Startup))
                .map(|i| format!("{} {}", i.kind, i.file))
                .collect(),
            content_findings: a.findings.iter().any(|f| f.level > Level::Allow),
        }
    }
}

/// The registry's advisory data for a package: to be fetched, or already
/// fetched in bulk (`None` inside: the registry offers none).
pub enum Advisories<'a> {
    Fetch,
    Known(Option<&'a [warden_registry::npm::Advisory]>),
}

#[allow(clippy::too_many_arguments)]
pub async fn npm(
    client: &NpmClient,
    doc: &Packument,
    version: &str,
    baseline: Option<&str>,
    surface: Option<&SurfaceFacts>,
    min_age: SignedDuration,
    advisories: Advisories<'_>,
) -> Option<Judgement> {
    let mut timeline = Timeline::from_npm(doc);
    // The sources of this version and of the nearest earlier attested ones.
    let mut wanted: Vec<String> = vec![version.to_owned()];
    wanted.extend(
        timeline
            .earlier(version)
            .iter()
            .filter(|v| v.trust == Trust::Attested)
            .take(4)
            .map(|v| v.version.clone()),
    );
    let mut tasks = tokio::task::JoinSet::new();
    for v in wanted {
        let Some(url) = doc
            .versions
            .get(&v)
            .and_then(|m| m.dist.as_ref())
            .and_then(|d| d.attestations.as_ref())
            .and_then(|a| a.url.clone())
        else {
            continue;
        };
        let client = client.clone();
        let name = doc.name.clone();
        tasks.spawn(async move { (v, client.attested_source(&name, &url).await) });
    }
    while let Some(Ok((v, result))) = tasks.join_next().await {
        if let (Ok(Some(src)), Some(facts)) = (result, timeline.get_mut(&v)) {
            facts.source = Some(Source {
                repository: src.repository,
                workflow: Some(src.workflow),
            });
        }
    }
    if let Some(facts) = timeline.get_mut(version) {
        if let Some(a) = surface.filter(|a| a.runs_code) {
            facts.install_time = Some(true);
            facts.install_detail = a.detail.clone();
        }
        let fetched;
        let list = match advisories {
            Advisories::Known(list) => list,
            Advisories::Fetch => {
                fetched = client
                    .advisories(&doc.name, &[version.to_owned()])
                    .await
                    .ok()
                    .flatten();
                fetched.as_deref()
            }
        };
        facts.malware = list.map(|list| {
            list.iter()
                .any(|a| a.is_malware() && covers(a.vulnerable_versions.as_deref(), version))
        });
    }
    let mut ctx = Context::new(Timestamp::now());
    ctx.min_release_age = min_age;
    ctx.content_findings = surface.is_some_and(|s| s.content_findings);
    let previous = baseline
        .map(str::to_owned)
        .or_else(|| timeline.previous(version).map(|p| p.version.clone()));
    if let (Some(prev), Some(this)) = (
        previous.as_deref().and_then(|p| timeline.get(p)),
        timeline.get(version),
    ) {
        let was = prev.dependencies.clone().unwrap_or_default();
        let added: Vec<(String, String)> = this
            .dependencies
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter(|(n, spec)| !was.contains_key(n) && !warden_history::is_non_registry(spec))
            .take(MAX_DEPENDENCY_LOOKUPS)
            .collect();
        let mut tasks = tokio::task::JoinSet::new();
        for (name, spec) in added {
            let client = client.clone();
            tasks.spawn(async move {
                let facts = client
                    .packument(&name)
                    .await
                    .ok()
                    .map(|d| dependency_facts(&d, &spec, min_age));
                (name, facts)
            });
        }
        while let Some(Ok((name, facts))) = tasks.join_next().await {
            if let Some(f) = facts {
                ctx.added_dependencies.insert(name, f);
            }
        }
    }
    warden_history::judge(&timeline, version, previous.as_deref(), &ctx)
}

/// Whether an advisory's npm range covers `version`; an advisory without a
/// range covers every version.
fn covers(range: Option<&str>, version: &str) -> bool {
    let Some(range) = range else { return true };
    match (
        nodejs_semver::Range::parse(range),
        nodejs_semver::Version::parse(version),
    ) {
        (Ok(r), Ok(v)) => r.satisfies(&v),
        _ => true,
    }
}

/// Facts about the version `spec` resolves to in `doc`.
fn dependency_facts(doc: &Packument, spec: &str, min_age: SignedDuration) -> DependencyFacts {
    let now = Timestamp::now();
    let version = nodejs_semver::Range::parse(spec).ok().and_then(|range| {
        doc.versions
            .keys()
            .filter_map(|v| nodejs_semver::Version::parse(v).ok().map(|p| (p, v)))
            .filter(|(p, _)| range.satisfies(p))
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, v)| v.clone())
    });
    let too_fresh = version
        .as_ref()
        .and_then(|v| doc.publish_times.get(v))
        .is_some_and(|t| now.duration_since(*t) < min_age);
    let first_release = doc
        .publish_times
        .values()
        .min()
        .or(doc.created.as_ref())
        .is_some_and(|t| now.duration_since(*t).as_secs() < 30 * 86_400);
    DependencyFacts {
        version,
        first_release,
        too_fresh,
    }
}

#[allow(clippy::too_many_arguments)]
pub async fn pypi(
    client: &PypiClient,
    index: &RedactedUrl,
    project: &SimpleProject,
    provenance: &BTreeMap<String, warden_registry::pypi::Provenance>,
    version: &str,
    baseline: Option<&str>,
    surface: Option<&SurfaceFacts>,
    min_age: SignedDuration,
) -> Option<Judgement> {
    let mut timeline = Timeline::from_pypi(project, provenance);
    let previous = baseline
        .map(str::to_owned)
        .or_else(|| timeline.previous(version).map(|p| p.version.clone()));
    // Whether a wheel runs code at start-up is only known from the archive:
    // read the previous version's too.
    if let Some(prev) = &previous {
        if let Ok((_, a)) = crate::artifact::pypi(client, project, prev).await {
            if let Some(f) = timeline.get_mut(prev) {
                f.install_time = Some(a.surface.runs_code());
            }
        }
    }
    let malware = match client.version_json(index, &project.name, version).await {
        Ok(Some(doc)) => Some(
            doc.vulnerabilities
                .unwrap_or_default()
                .iter()
                .any(|v| v.is_malware()),
        ),
        Ok(None) | Err(_) => None,
    };
    if let Some(f) = timeline.get_mut(version) {
        if let Some(a) = surface {
            f.install_time = Some(a.runs_code);
            f.install_detail = a.detail.clone();
        }
        f.malware = malware;
    }
    let mut ctx = Context::new(Timestamp::now());
    ctx.min_release_age = min_age;
    ctx.content_findings = surface.is_some_and(|s| s.content_findings);
    warden_history::judge(&timeline, version, previous.as_deref(), &ctx)
}

pub fn human(out: &mut String, j: &Judgement) {
    let against = j
        .previous
        .as_deref()
        .map(|p| format!(" (against {p})"))
        .unwrap_or_default();
    if j.findings.is_empty() {
        let _ = writeln!(out, "  history{against}: no findings");
    } else {
        let _ = writeln!(out, "  history{against}:");
        for f in &j.findings {
            let level = f.level.as_str();
            let _ = writeln!(out, "    {level:<5} {}  {}", f.code, f.summary);
            for (k, v) in &f.evidence {
                if !v.is_empty() {
                    let _ = writeln!(out, "          {k}: {v}");
                }
            }
            let _ = writeln!(out, "          to allow: {}", f.allow);
        }
    }
    for u in &j.unknown {
        let _ = writeln!(out, "    unknown {}: {}", u.code, u.reason);
    }
}
