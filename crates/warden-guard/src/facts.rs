//! The registry facts about a version that the guards, `inspect` and
//! `diff` gather beyond the package document (attested sources,
//! advisories, added dependencies, the previous version's surface,
//! provenance), and the history judgement made from them.
//!
//! What could not be fetched is said, never taken as clean: a failed
//! attestation, advisory or provenance request becomes an unknown of the
//! judgement, as does everything the history check could not establish.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use warden_history::{
    Context, DependencyFacts, Judgement, Level, Source, Timeline, Trust, Unknown,
};
use warden_registry::npm::Packument;
use warden_registry::pypi::{DistFile, Provenance, SimpleProject};
use warden_registry::{NpmClient, PypiClient, RedactedUrl};
use warden_rules::Analysis;

use crate::artifact::Pick;
use crate::provenance::Attested;

/// The wheel tags of the Python being installed into, most preferred
/// first: asked for once, and only when a choice depends on them.
pub struct Platform {
    tags: tokio::sync::OnceCell<Option<Vec<String>>>,
    ask: Option<std::sync::Arc<dyn Fn() -> Option<Vec<String>> + Send + Sync>>,
}

impl Platform {
    /// Tags that `ask` gives (a blocking call, run off the async threads).
    pub fn asking(ask: impl Fn() -> Option<Vec<String>> + Send + Sync + 'static) -> Self {
        Self {
            tags: tokio::sync::OnceCell::new(),
            ask: Some(std::sync::Arc::new(ask)),
        }
    }

    /// Tags already known (`None`: they cannot be known).
    pub fn known(tags: Option<Vec<String>>) -> Self {
        Self {
            tags: tokio::sync::OnceCell::new_with(Some(tags)),
            ask: None,
        }
    }

    /// The file choice for this platform: by its tags, or when they cannot
    /// be had, what pip prefers anywhere.
    pub async fn pick(&self) -> Pick<'_> {
        self.get().await.map_or(Pick::Any, Pick::Tags)
    }

    pub async fn get(&self) -> Option<&[String]> {
        self.tags
            .get_or_init(|| async {
                let ask = self.ask.clone()?;
                tokio::task::spawn_blocking(move || ask())
                    .await
                    .ok()
                    .flatten()
            })
            .await
            .as_deref()
    }
}

/// At most this many added dependencies are looked up.
const MAX_DEPENDENCY_LOOKUPS: usize = 16;

/// What the history checks need from a version's archive.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct SurfaceFacts {
    pub runs_code: bool,
    /// What runs, as `kind file` lines.
    pub detail: Vec<String>,
    /// Any content or surface finding above `allow` in code that runs
    /// when installed from a registry (not in npm's `prepare`).
    pub content_findings: bool,
    /// Install-time code with a finding whose rule makes a first release a
    /// deny (obfuscation, network, fingerprinting).
    #[serde(default)]
    pub first_release_deny: Vec<String>,
    /// The name the artifact's own metadata gives, when it gives one.
    #[serde(default)]
    pub name: Option<String>,
    /// What the code that runs on load does that is no finding by itself
    /// (`Analysis::on_load`): judged only against the release before.
    #[serde(default)]
    pub on_load: Vec<OnLoad>,
    /// Every rule seen in the code that runs on load, finding or not.
    #[serde(default)]
    pub on_load_rules: Vec<String>,
    /// Only part of the code that runs on load was read (the walk's
    /// bounds): a comparison with it is partial.
    #[serde(default)]
    pub on_load_partial: bool,
    /// The content rules that fired in code that runs at install, build or
    /// start-up: one per rule, at its level.
    #[serde(default)]
    pub install_findings: Vec<OnLoad>,
}

impl SurfaceFacts {
    /// Whether a release diff could find anything: code on load that
    /// libraries also have, or findings in install code. Only then is the
    /// previous release's archive read.
    pub fn worth_comparing(&self) -> bool {
        !self.on_load.is_empty() || !self.install_findings.is_empty()
    }
}

/// A rule the code that runs on load matches, with where.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OnLoad {
    pub rule: String,
    /// The level of `runtime-code-added` when it is new.
    pub level: Level,
    pub summary: String,
    /// `file:line excerpt`.
    pub evidence: String,
}

impl From<&warden_rules::Finding> for OnLoad {
    fn from(f: &warden_rules::Finding) -> Self {
        Self {
            rule: f.rule.clone(),
            level: f.level,
            summary: f.summary.clone(),
            evidence: f.evidence(),
        }
    }
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
            content_findings: a
                .findings
                .iter()
                .any(|f| f.level > Level::Allow && f.runs != Runs::SourceInstall),
            first_release_deny: {
                let mut rules: Vec<String> = a
                    .findings
                    .iter()
                    .filter(|f| {
                        f.first_release_deny
                            && matches!(f.runs, Runs::Install | Runs::Build | Runs::Startup)
                    })
                    .map(|f| f.rule.clone())
                    .collect();
                rules.sort();
                rules.dedup();
                rules
            },
            name: a.surface.name.clone(),
            on_load: a.on_load.iter().map(OnLoad::from).collect(),
            on_load_partial: a.surface.runtime_partial,
            install_findings: {
                let mut seen = std::collections::BTreeSet::new();
                a.findings
                    .iter()
                    .filter(|f| {
                        f.level > Level::Allow
                            && matches!(f.runs, Runs::Install | Runs::Build | Runs::Startup)
                            && seen.insert(f.rule.clone())
                    })
                    .map(OnLoad::from)
                    .collect()
            },
            on_load_rules: {
                let mut rules: Vec<String> = a
                    .on_load
                    .iter()
                    .chain(a.findings.iter().filter(|f| f.runs == Runs::Import))
                    .map(|f| f.rule.clone())
                    .collect();
                rules.sort();
                rules.dedup();
                rules
            },
        }
    }
}

/// The registry's advisory data for a package: to be fetched, or already
/// fetched in bulk (`None` inside: the registry offers none).
pub enum Advisories<'a> {
    Fetch,
    Known(Option<&'a [warden_registry::npm::Advisory]>),
    /// The bulk query failed, with this error.
    Failed(String),
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
) -> History {
    let mut timeline = Timeline::from_npm(doc);
    let mut unknown = Vec::new();
    // The sources of this version and of the nearest earlier attested
    // ones; those are compared with this version's only, so they are not
    // asked for when this version claims no provenance.
    let mut wanted: Vec<String> = vec![version.to_owned()];
    let claims = doc
        .versions
        .get(version)
        .and_then(|m| m.dist.as_ref())
        .is_some_and(|d| d.attestations.is_some());
    if claims {
        wanted.extend(
            timeline
                .earlier(version)
                .iter()
                .filter(|v| v.trust == Trust::Attested)
                .take(4)
                .map(|v| v.version.clone()),
        );
    }
    // A verified result kept in the cache answers without a request or a
    // task; the rest are fetched and verified concurrently.
    let cache_dir = client.http.options().cache_dir.clone();
    let mut results = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    for v in wanted {
        let Some(dist) = doc.versions.get(&v).and_then(|m| m.dist.as_ref()) else {
            continue;
        };
        // Only a version the document says is attested is asked for.
        if dist.attestations.is_none() {
            continue;
        }
        let sha512 = dist
            .integrity
            .as_deref()
            .and_then(crate::provenance::sha512_of);
        if let Some(kept) = sha512
            .as_ref()
            .and_then(|d| crate::provenance::recall_npm(cache_dir.as_deref(), &doc.name, &v, d))
        {
            results.push((v, Ok(Some(kept))));
            continue;
        }
        let client = client.clone();
        let name = doc.name.clone();
        let cache_dir = cache_dir.clone();
        tasks.spawn(async move {
            let attested = match client.attestations(&name, &v).await {
                Ok(Some(body)) => Ok(Some(match sha512 {
                    Some(sha512) => crate::provenance::verify_npm(
                        cache_dir.as_deref(),
                        &body,
                        &name,
                        &v,
                        &sha512,
                    ),
                    None => Attested::Unverifiable(
                        "the registry gives no sha512 integrity to verify against".into(),
                    ),
                })),
                Ok(None) => Ok(None),
                Err(e) => Err(e),
            };
            (v, attested)
        });
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(done) => results.push(done),
            Err(e) => unknown.push(attestation_unknown(format!("a fetch did not finish: {e}"))),
        }
    }
    let mut provenance = None;
    for (v, result) in results {
        // The document says this version is attested: a bundle that cannot
        // be fetched leaves its source unknown, not absent. Only a bundle
        // that verifies names a source; one that does not is a finding for
        // the version installed, and no evidence for an earlier one.
        match result {
            Ok(Some(Attested::Verified(id))) => {
                if let Some(facts) = timeline.get_mut(&v) {
                    facts.source = Some(Source {
                        repository: id.repository.clone(),
                        workflow: Some(id.workflow.clone()),
                    });
                }
                if v == version {
                    provenance = Some(Attested::Verified(id));
                }
            }
            Ok(Some(other)) => {
                if v == version {
                    provenance = Some(other);
                }
            }
            Ok(None) => unknown.push(attestation_unknown(format!(
                "the attestation of {v} names no source the registry can show"
            ))),
            Err(e) => unknown.push(attestation_unknown(format!(
                "the attestation of {v} could not be fetched: {e}"
            ))),
        }
    }
    let attested = timeline
        .get(version)
        .and_then(|f| f.source.as_ref())
        .map(|s| (s.repository.clone(), s.workflow.clone()));
    if let Some(facts) = timeline.get_mut(version) {
        if let Some(a) = surface.filter(|a| a.runs_code) {
            facts.install_time = Some(true);
            facts.install_detail = a.detail.clone();
        }
        let fetched;
        let list = match advisories {
            Advisories::Known(list) => list,
            Advisories::Failed(e) => {
                unknown.push(advisory_unknown(&e));
                None
            }
            Advisories::Fetch => {
                fetched = match client.advisories(&doc.name, &[version.to_owned()]).await {
                    Ok(list) => list,
                    Err(e) => {
                        unknown.push(advisory_unknown(&e.to_string()));
                        None
                    }
                };
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
    ctx.first_release_deny = surface
        .map(|s| s.first_release_deny.clone())
        .unwrap_or_default();
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
    let mut history = History::new(
        warden_history::judge(&timeline, version, previous.as_deref(), &ctx),
        attested,
        unknown,
    );
    history.provenance = provenance;
    history.claimed = claims;
    let earlier = earlier_release(&timeline, version, previous.as_deref());
    if let (Some(now), Some(prev)) = (surface.filter(|s| s.worth_comparing()), &earlier) {
        let before = crate::artifact::npm_verdict(client, doc, prev)
            .await
            .map(|v| v.surface);
        history.release_diff(&timeline, version, prev, now, before);
    }
    history
}

/// The release a release diff compares `version` with: `previous` (the
/// version the project has) when it is an earlier release, else the
/// release before `version`. A lockfile holding two versions of a package
/// does not make the older one "add" what the newer one lacks.
fn earlier_release(timeline: &Timeline, version: &str, previous: Option<&str>) -> Option<String> {
    previous
        .filter(|p| timeline.earlier(version).iter().any(|v| v.version == *p))
        .map(str::to_owned)
        .or_else(|| timeline.previous(version).map(|p| p.version.clone()))
}

/// The history judgement of a version, what its attestation names, and
/// what could not be fetched.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub judgement: Option<Judgement>,
    /// The repository and workflow this version's attestation names.
    pub attested: Option<(String, Option<String>)>,
    /// What the release adds to the code that runs on load.
    pub added: Vec<crate::Finding>,
    /// What verifying this version's provenance established (`None`: it
    /// claims none, or it could not be fetched, which is an unknown).
    pub provenance: Option<Attested>,
    /// The registry's metadata claims provenance for this version.
    pub claimed: bool,
}

impl History {
    fn new(
        judgement: Option<Judgement>,
        attested: Option<(String, Option<String>)>,
        unknown: Vec<Unknown>,
    ) -> Self {
        let judgement = judgement.map(|mut j| {
            // A fetch that failed says more than "not published".
            j.unknown
                .retain(|u| !(u.unpublished && unknown.iter().any(|f| f.code == u.code)));
            j.unknown.extend(unknown);
            j
        });
        Self {
            judgement,
            attested,
            added: Vec::new(),
            provenance: None,
            claimed: false,
        }
    }

    /// Compares the code `now` runs on load with the release before
    /// (`before`, read from `previous`'s archive): a release diff that
    /// could not be made is unknown, not clean.
    fn release_diff(
        &mut self,
        timeline: &Timeline,
        version: &str,
        previous: &str,
        now: &SurfaceFacts,
        before: Result<SurfaceFacts, crate::Error>,
    ) {
        match before {
            Ok(before) => {
                let new_line = timeline.major(previous) != timeline.major(version);
                self.added =
                    crate::release::runtime_code_added(now, &before, version, previous, new_line);
                self.added.extend(crate::release::install_code_changed(
                    now, &before, version, previous,
                ));
            }
            Err(e) => {
                if let Some(j) = &mut self.judgement {
                    j.unknown.push(Unknown {
                        code: crate::release::CODE,
                        reason: format!(
                            "the archive of {previous} could not be read to compare with: {e}"
                        ),
                        unpublished: false,
                    });
                }
            }
        }
    }

    /// The report line for this version's provenance: verified and by
    /// whom, claimed but not verified, or none.
    pub fn provenance_line(&self) -> String {
        crate::provenance::describe(self.provenance.as_ref(), self.claimed)
    }

    /// Adds what the history established to a package's assessment: its
    /// findings, the attested source, and every check that could not be
    /// completed.
    pub fn apply(self, a: &mut crate::Assessment) {
        a.attested = self.attested;
        for f in self.added {
            a.finding(f);
        }
        match self.provenance {
            Some(Attested::Invalid(why)) => a.finding(crate::Finding::new(
                crate::PlanCode::AttestationInvalid,
                Level::Deny,
                "its provenance attestation does not verify",
                why,
            )),
            Some(Attested::Unverifiable(why)) => a.unknown(format!(
                "{}: {why}",
                crate::PlanCode::AttestationInvalid.as_str()
            )),
            Some(Attested::Verified(_)) | None => {}
        }
        let Some(j) = self.judgement else {
            a.unknown("the history of this version could not be judged");
            return;
        };
        for u in j.unknown {
            let line = format!("{}: {}", u.code, u.reason);
            if u.unpublished {
                a.unpublished.push(line);
            } else {
                a.unknown(line);
            }
        }
        for f in j.findings {
            let evidence = f
                .evidence
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ");
            a.finding(crate::Finding::new(f.code, f.level, f.summary, evidence));
        }
    }
}

fn attestation_unknown(reason: String) -> Unknown {
    Unknown {
        code: "provenance-identity-changed",
        reason,
        unpublished: false,
    }
}

fn advisory_unknown(error: &str) -> Unknown {
    Unknown {
        code: "known-malicious",
        reason: format!("the advisory data could not be fetched: {error}"),
        unpublished: false,
    }
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
    let runs_install_code = version
        .as_ref()
        .and_then(|v| doc.versions.get(v))
        .is_some_and(|m| m.runs_install_scripts());
    DependencyFacts {
        version,
        first_release,
        too_fresh,
        runs_install_code,
    }
}

#[allow(clippy::too_many_arguments)]
pub async fn pypi(
    client: &PypiClient,
    index: &RedactedUrl,
    project: &SimpleProject,
    fetched: &FetchedProvenance,
    version: &str,
    baseline: Option<&str>,
    surface: Option<&SurfaceFacts>,
    min_age: SignedDuration,
    platform: &Platform,
) -> History {
    let provenance = &fetched.by_file;
    let mut timeline = Timeline::from_pypi(project, provenance);
    let mut unknown = Vec::new();
    let previous = baseline
        .map(str::to_owned)
        .or_else(|| timeline.previous(version).map(|p| p.version.clone()));
    // Whether a release runs code at install or start-up is only known
    // from the archive: read the previous version's too, the file pip
    // would install here. When that cannot be told, neither can whether
    // install-time code was added.
    let mut before = None;
    if let Some(prev) = &previous {
        let files = project.files_of(prev);
        let pick = if Pick::depends_on_platform(&files) {
            platform.get().await.map(Pick::Tags)
        } else {
            Some(Pick::Any)
        };
        before = Some(match pick {
            Some(pick) => crate::artifact::pypi_verdict(client, project, prev, pick)
                .await
                .map(|v| v.surface),
            None => Err(crate::Error::unavailable(
                "pip did not say which platform tags it installs",
            )),
        });
        if let Some(Ok(b)) = &before {
            if let Some(f) = timeline.get_mut(prev) {
                f.install_time = Some(b.runs_code);
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
        Ok(None) => None,
        Err(e) => {
            unknown.push(advisory_unknown(&e.to_string()));
            None
        }
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
    ctx.first_release_deny = surface
        .map(|s| s.first_release_deny.clone())
        .unwrap_or_default();
    let attested = project
        .files_of(version)
        .iter()
        .filter_map(|f| provenance.get(&f.filename))
        .flat_map(|p| &p.publishers)
        .find_map(|p| Some((p.repository.clone()?, p.workflow.clone())));
    let mut history = History::new(
        warden_history::judge(&timeline, version, previous.as_deref(), &ctx),
        attested,
        unknown,
    );
    history.provenance = fetched.verdict();
    history.claimed = project
        .files_of(version)
        .iter()
        .any(|f| f.provenance.is_some());
    // The archive read is the previous version's; it is compared only when
    // that is an earlier release.
    let earlier = earlier_release(&timeline, version, previous.as_deref());
    if let (Some(now), Some(prev), Some(before)) =
        (surface.filter(|s| s.worth_comparing()), &previous, before)
    {
        if earlier.as_deref() == Some(prev.as_str()) {
            history.release_diff(&timeline, version, prev, now, before);
        }
    }
    history
}

/// The PEP 740 provenance fetched for a project, each object's
/// attestations verified against its file's sha256.
#[derive(Debug, Clone, Default)]
pub struct FetchedProvenance {
    /// Per file name, the provenance whose attestations verify: a file
    /// whose attestations do not is left out (its publisher is a claim).
    pub by_file: BTreeMap<String, Provenance>,
    /// Files whose page lists provenance the index does not serve.
    pub missing: Vec<String>,
    /// What verifying each file of the selected version established.
    pub selected: BTreeMap<String, Attested>,
}

impl FetchedProvenance {
    /// The selected version's result: the first file that does not
    /// verify, else the first that does.
    fn verdict(&self) -> Option<Attested> {
        let mut results = self.selected.iter();
        results
            .clone()
            .find(|(_, a)| !matches!(a, Attested::Verified(_)))
            .or_else(|| results.next())
            .map(|(file, a)| match a {
                Attested::Invalid(why) => Attested::Invalid(format!("{file}: {why}")),
                Attested::Unverifiable(why) => Attested::Unverifiable(format!("{file}: {why}")),
                verified => verified.clone(),
            })
    }
}

/// Provenance per file name: every file of the selected version, and one
/// file of each other version (a release is uploaded by one publisher, and
/// asking for every file of a long history costs a request each). Each is
/// verified; beside them, the files whose page lists provenance the index
/// does not serve.
pub async fn fetch_provenance(
    client: &PypiClient,
    name: &str,
    project: &SimpleProject,
    selected: &str,
) -> Result<FetchedProvenance, crate::Error> {
    let mut wanted: Vec<DistFile> = project.files_of(selected).into_iter().cloned().collect();
    for version in project.versions() {
        if version != selected {
            if let Some(f) = project
                .files_of(&version)
                .into_iter()
                .find(|f| f.provenance.is_some())
            {
                wanted.push(f.clone());
            }
        }
    }
    let mut tasks = tokio::task::JoinSet::new();
    for file in wanted.into_iter().filter(|f| f.provenance.is_some()) {
        let client = client.clone();
        let name = name.to_owned();
        tasks.spawn(async move {
            let result = client.provenance(&name, &file).await;
            let cache_dir = client.http.options().cache_dir.clone();
            let checked = match &result {
                Ok(Some(p)) => Some(verify_file(cache_dir.as_deref(), p, &file)),
                _ => None,
            };
            (file, result, checked)
        });
    }
    let mut out = FetchedProvenance::default();
    while let Some(joined) = tasks.join_next().await {
        let (file, result, checked) =
            joined.map_err(|e| crate::Error::unavailable(e.to_string()))?;
        match result? {
            Some(p) => {
                if file.version.as_deref() == Some(selected)
                    || project
                        .files_of(selected)
                        .iter()
                        .any(|f| f.filename == file.filename)
                {
                    if let Some(c) = &checked {
                        out.selected.insert(file.filename.clone(), c.clone());
                    }
                }
                if matches!(checked, Some(Attested::Verified(_))) {
                    out.by_file.insert(file.filename, p);
                }
            }
            None => out.missing.push(file.filename),
        }
    }
    Ok(out)
}

/// Verifies a file's provenance object against the sha256 the index gives.
fn verify_file(cache_dir: Option<&std::path::Path>, p: &Provenance, file: &DistFile) -> Attested {
    let sha256 = file.hashes.get("sha256").and_then(|h| {
        (0..h.len())
            .step_by(2)
            .map(|i| h.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
            .collect::<Option<Vec<u8>>>()
    });
    match sha256 {
        Some(d) if d.len() == 32 => {
            crate::provenance::verify_pypi(cache_dir, &p.body, &file.filename, &d)
        }
        _ => Attested::Unverifiable("the index gives no sha256 to verify against".into()),
    }
}
