//! `warden inspect`: what a registry publishes about one package.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use jiff::Timestamp;
use serde::Serialize;
use warden_history::Judgement;
use warden_registry::RedactedUrl;
use warden_registry::npm::{Packument, Person, VersionManifest};
use warden_registry::pypi::{DistKind, Provenance, SimpleProject, TrustedPublisher};
use warden_rules::Analysis;

use crate::cli::{Format, InspectArgs};
use crate::context::Context;
use crate::exit::{Failure, USAGE};

/// What a user asked to inspect.
#[derive(Debug, PartialEq, Eq)]
pub enum Target {
    Npm {
        name: String,
        version: Option<String>,
    },
    Pypi {
        name: String,
        version: Option<String>,
    },
}

impl Target {
    pub fn parse(spec: &str) -> Result<Self, Failure> {
        let usage = || {
            Failure::new(USAGE, format!("cannot read `{spec}` as a package"))
                .with_hint("write `npm:<name>[@<version>]` or `pypi:<name>[==<version>]`")
        };
        if let Some(rest) = spec.strip_prefix("npm:") {
            // `@scope/name@1.0.0`: the version separator is the last `@`
            // that is not the first character.
            let (name, version) = match rest[1.min(rest.len())..].rfind('@') {
                Some(i) => (&rest[..i + 1], Some(rest[i + 2..].to_owned())),
                None => (rest, None),
            };
            let valid = !name.is_empty()
                && (!name.starts_with('@') || name.contains('/'))
                && !name.contains(char::is_whitespace);
            if !valid || version.as_deref() == Some("") {
                return Err(usage());
            }
            Ok(Self::Npm {
                name: name.to_owned(),
                version,
            })
        } else if let Some(rest) = spec.strip_prefix("pypi:") {
            let (name, version) = match rest.split_once("==") {
                Some((n, v)) => (n.trim(), Some(v.trim().to_owned())),
                None => (rest.trim(), None),
            };
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if !valid || version.as_deref() == Some("") {
                return Err(usage());
            }
            Ok(Self::Pypi {
                name: name.to_owned(),
                version,
            })
        } else {
            Err(usage())
        }
    }
}

pub async fn run(
    ctx: &Context,
    args: &InspectArgs,
    format: Format,
) -> Result<(String, u8), Failure> {
    let min_age = jiff::SignedDuration::from_hours(
        i64::try_from(args.min_release_age).unwrap_or(i64::MAX / 3600),
    );
    let mut report = match Target::parse(&args.package)? {
        Target::Npm { name, version } => {
            let client = ctx.npm_with_registry(args.registry.as_ref())?;
            let doc = client.packument(&name).await?;
            let selected = doc.resolve(version.as_deref())?.to_owned();
            let mut npm = npm_report(&doc, client.config.registry_for(&name), &selected);
            npm.signature =
                Some(warden_guard::signature::describe_version(&client, &doc, &selected).await);
            let mut report = Report::Npm(npm);
            if let Some(from) = &args.from {
                doc.resolve(Some(from))?;
            }
            let surface = warden_guard::artifact::npm(&client, &doc, &selected).await;
            let history = warden_guard::facts::npm(
                &client,
                &doc,
                &selected,
                args.from.as_deref(),
                surface
                    .as_ref()
                    .ok()
                    .map(warden_guard::facts::SurfaceFacts::from)
                    .as_ref(),
                min_age,
                warden_guard::facts::Advisories::Fetch,
            )
            .await;
            report.set_surface(surface.map(|a| (None, a)).map_err(Failure::from));
            report.set_provenance(history.provenance_line());
            report.set_history(history.judgement);
            report
        }
        Target::Pypi { name, version } => {
            let client = ctx.pypi_with_index(args.index_url.as_ref())?;
            let Some(index) = client.config.index_url.clone() else {
                return Err(Failure::new(
                    USAGE,
                    "pip is configured with `--no-index`: there is no index to inspect",
                ));
            };
            let project = client.project(&index, &name).await?;
            let versions = project.versions();
            let selected = match version {
                Some(v) => project
                    .files_of(&v)
                    .first()
                    .and_then(|f| f.version.clone())
                    .ok_or(warden_registry::Error::NoSuchVersion {
                        package: format!("pypi:{name}"),
                        requested: v,
                    })?,
                None => project
                    .latest()
                    .or_else(|| versions.last().cloned())
                    .ok_or(warden_registry::Error::NoSuchVersion {
                        package: format!("pypi:{name}"),
                        requested: "latest".to_owned(),
                    })?,
            };
            let fetched =
                warden_guard::facts::fetch_provenance(&client, &name, &project, &selected).await?;
            let provenance = &fetched.by_file;
            let json_api = client.json_api(&index, &name).await?;
            let mut report = Report::Pypi(pypi_report(
                &project,
                &index,
                &selected,
                provenance,
                json_api.is_some(),
            ));
            if let Some(from) = &args.from {
                if project.files_of(from).is_empty() {
                    return Err(warden_registry::Error::NoSuchVersion {
                        package: format!("pypi:{name}"),
                        requested: from.clone(),
                    }
                    .into());
                }
            }
            let platform = warden_pip::platform(&ctx.python_program());
            let pick = platform.pick().await;
            let surface = warden_guard::artifact::pypi(&client, &project, &selected, pick).await;
            let history = warden_guard::facts::pypi(
                &client,
                &index,
                &project,
                &fetched,
                &selected,
                args.from.as_deref(),
                surface
                    .as_ref()
                    .ok()
                    .map(|(_, a)| warden_guard::facts::SurfaceFacts::from(a))
                    .as_ref(),
                min_age,
                &platform,
            )
            .await;
            report.set_surface(surface.map(|(f, a)| (Some(f), a)).map_err(Failure::from));
            report.set_provenance(history.provenance_line());
            report.set_history(history.judgement);
            report
        }
    };
    report.order(args.limit);
    let code = report.exit_code();
    let text = match format {
        Format::Json | Format::Sarif | Format::Github => {
            let mut text = serde_json::to_string_pretty(&report).unwrap_or_default();
            text.push('\n');
            text
        }
        Format::Human => report.human(),
    };
    Ok((text, code))
}

/// The install surface of the version shown: read, or why it could not be.
#[derive(Serialize, Default)]
struct SurfaceReport {
    /// The file read (Python: which of the version's files).
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    analysis: Option<Analysis>,
    /// Set when the archive could not be fetched or read: the surface is
    /// unknown, not clean.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl SurfaceReport {
    fn human(&self, out: &mut String) {
        match (&self.analysis, &self.error) {
            (Some(a), _) => {
                if let Some(f) = &self.file {
                    let _ = writeln!(out, "  read {f}");
                }
                crate::scan::describe(out, a);
            }
            (None, Some(e)) => {
                let _ = writeln!(
                    out,
                    "  install surface: unknown, the archive could not be read: {e}"
                );
            }
            (None, None) => {}
        }
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum Report {
    Npm(NpmReport),
    Pypi(PypiReport),
}

/// How a version was published, as far as the metadata says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Trust {
    /// npm provenance or trusted publishing; a PyPI Trusted Publisher attestation.
    Attested,
    None,
    /// The document leaves out what would tell (a stripped mirror).
    Unknown,
}

impl Trust {
    fn label(self) -> &'static str {
        match self {
            Self::Attested => "attested",
            Self::None => "none",
            Self::Unknown => "unknown",
        }
    }
}

#[derive(Serialize)]
struct NpmReport {
    package: String,
    ecosystem: &'static str,
    name: String,
    registry: RedactedUrl,
    document: RedactedUrl,
    dist_tags: BTreeMap<String, String>,
    maintainers: Vec<Person>,
    created: Option<Timestamp>,
    selected: String,
    versions: Vec<NpmVersionReport>,
    install_surface: SurfaceReport,
    history: Option<Judgement>,
    /// The registry's signature on the selected version: verified, invalid,
    /// missing, or not verified (and why).
    signature: Option<String>,
    /// The selected version's provenance: verified (and who built it),
    /// claimed but not verified (and why), or none.
    provenance: Option<String>,
}

#[derive(Serialize)]
struct NpmVersionReport {
    version: String,
    published: Option<Timestamp>,
    publisher: Option<Person>,
    maintainers: Vec<Person>,
    trust: Trust,
    /// `dist.attestations.provenance.predicateType`, when there is one.
    provenance: Option<String>,
    /// The OIDC provider of a trusted-publishing release.
    trusted_publisher: Option<String>,
    install_scripts: BTreeMap<String, String>,
    /// `hasInstallScript`, where the document carries it.
    has_install_script: Option<bool>,
    deprecated: Option<String>,
    integrity: Option<String>,
    tarball: Option<RedactedUrl>,
    dependencies: BTreeMap<String, String>,
    optional_dependencies: BTreeMap<String, String>,
}

fn npm_trust(v: &VersionManifest) -> Trust {
    if v.has_provenance() || v.trusted_publisher().is_some() {
        Trust::Attested
    } else if v.npm_user.is_none() {
        // A full document from the registry always names the publisher; one
        // without it was stripped, and may have lost the attestations too.
        Trust::Unknown
    } else {
        Trust::None
    }
}

fn npm_report(doc: &Packument, registry: &RedactedUrl, selected: &str) -> NpmReport {
    let versions = doc
        .sorted_versions()
        .into_iter()
        .filter_map(|version| {
            let v = doc.versions.get(version)?;
            Some(NpmVersionReport {
                version: version.to_owned(),
                published: doc.publish_times.get(version).copied(),
                publisher: v.npm_user.as_ref().and_then(|u| {
                    Some(Person {
                        name: u.name.clone()?,
                        email: u.email.clone(),
                    })
                }),
                maintainers: v.maintainers.clone(),
                trust: npm_trust(v),
                provenance: v
                    .dist
                    .as_ref()
                    .and_then(|d| d.attestations.as_ref())
                    .and_then(|a| a.provenance.as_ref())
                    .map(|p| p.predicate_type.clone().unwrap_or_default()),
                trusted_publisher: v
                    .trusted_publisher()
                    .map(|t| t.id.clone().unwrap_or_else(|| "unnamed".to_owned())),
                install_scripts: v
                    .install_scripts()
                    .into_iter()
                    .map(|(k, s)| (k.to_owned(), s.to_owned()))
                    .collect(),
                has_install_script: v.has_install_script,
                deprecated: v.deprecated.clone(),
                integrity: v.dist.as_ref().and_then(|d| d.integrity.clone()),
                tarball: doc.tarball_url(version),
                dependencies: v.dependencies.clone(),
                optional_dependencies: v.optional_dependencies.clone(),
            })
        })
        .collect();
    NpmReport {
        package: format!("npm:{}", doc.name),
        ecosystem: "npm",
        name: doc.name.clone(),
        registry: registry.clone(),
        document: doc.url.clone(),
        dist_tags: doc.dist_tags.clone(),
        maintainers: doc.maintainers.clone(),
        created: doc.created,
        selected: selected.to_owned(),
        versions,
        install_surface: SurfaceReport::default(),
        history: None,
        signature: None,
        provenance: None,
    }
}

#[derive(Serialize)]
struct PypiReport {
    package: String,
    ecosystem: &'static str,
    name: String,
    index: RedactedUrl,
    /// PEP 792 project status, when the index reports one.
    status: Option<String>,
    /// Whether the index also serves PyPI's JSON API.
    json_api: bool,
    selected: String,
    versions: Vec<PypiVersionReport>,
    install_surface: SurfaceReport,
    history: Option<Judgement>,
    /// The selected version's provenance: verified (and who built it),
    /// claimed but not verified (and why), or none.
    provenance: Option<String>,
}

#[derive(Serialize)]
struct PypiVersionReport {
    version: String,
    /// The earliest upload time of its files (PEP 700); absent from HTML indexes.
    published: Option<Timestamp>,
    trust: Trust,
    trusted_publishers: Vec<TrustedPublisher>,
    yanked: Option<String>,
    install_time: InstallTime,
    files: Vec<FileReport>,
}

#[derive(Serialize)]
struct InstallTime {
    /// `true` when installing runs package code; `null` when the metadata
    /// cannot tell.
    runs_code: Option<bool>,
    reason: &'static str,
}

#[derive(Serialize)]
struct FileReport {
    filename: String,
    kind: DistKind,
    url: RedactedUrl,
    sha256: Option<String>,
    size: Option<u64>,
    upload_time: Option<Timestamp>,
    requires_python: Option<String>,
    provenance: Option<RedactedUrl>,
}

fn pypi_report(
    project: &SimpleProject,
    index: &RedactedUrl,
    selected: &str,
    provenance: &BTreeMap<String, Provenance>,
    json_api: bool,
) -> PypiReport {
    let versions = project
        .versions()
        .into_iter()
        .map(|version| {
            let files = project.files_of(&version);
            let published = files.iter().filter_map(|f| f.upload_time).min();
            let mut publishers: Vec<TrustedPublisher> = Vec::new();
            for f in &files {
                for p in provenance.get(&f.filename).iter().flat_map(|p| &p.publishers) {
                    if !publishers.contains(p) {
                        publishers.push(p.clone());
                    }
                }
            }
            let trust = if !publishers.is_empty() {
                Trust::Attested
            } else if files.iter().all(|f| f.provenance_listed && f.provenance.is_none()) {
                Trust::None
            } else {
                Trust::Unknown
            };
            let has_wheel = files.iter().any(|f| f.kind == DistKind::Wheel);
            let install_time = if has_wheel {
                InstallTime {
                    runs_code: None,
                    reason: "wheels run no install scripts; start-up hooks (.pth) are known only once the archive is read",
                }
            } else {
                InstallTime {
                    runs_code: Some(true),
                    reason: "no wheel: pip builds the sdist, running setup.py or its build backend",
                }
            };
            let yanked = (!files.is_empty() && files.iter().all(|f| f.yanked.is_some()))
                .then(|| files.iter().find_map(|f| f.yanked.clone()).unwrap_or_default());
            PypiVersionReport {
                published,
                trust,
                trusted_publishers: publishers,
                yanked,
                install_time,
                files: files
                    .iter()
                    .map(|f| FileReport {
                        filename: f.filename.clone(),
                        kind: f.kind,
                        url: f.url.clone(),
                        sha256: f.hashes.get("sha256").cloned(),
                        size: f.size,
                        upload_time: f.upload_time,
                        requires_python: f.requires_python.clone(),
                        provenance: f.provenance.clone(),
                    })
                    .collect(),
                version,
            }
        })
        .collect();
    PypiReport {
        package: format!("pypi:{}", project.name),
        ecosystem: "pypi",
        name: project.name.clone(),
        index: index.clone(),
        status: project.status.clone(),
        json_api,
        selected: selected.to_owned(),
        versions,
        install_surface: SurfaceReport::default(),
        history: None,
        provenance: None,
    }
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn when(t: Option<Timestamp>) -> String {
    match t {
        None => "unknown".to_owned(),
        Some(t) => {
            let age = Timestamp::now().duration_since(t);
            let hours = age.as_hours();
            let ago = if hours < 48 {
                format!("{hours}h ago")
            } else {
                format!("{}d ago", hours / 24)
            };
            format!("{} ({ago})", t.strftime("%Y-%m-%d %H:%M UTC"))
        }
    }
}

/// Left-aligned columns, two spaces apart.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let last = cells.len() - 1;
        for (i, cell) in cells.iter().enumerate() {
            if i == last {
                out.push_str(cell);
            } else {
                let _ = write!(out, "{cell:<w$}  ", w = widths[i]);
            }
        }
        out.push('\n');
    };
    line(header.to_vec(), &mut out);
    for row in rows {
        line(row.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

impl Report {
    /// Versions latest first (semver or PEP 440 order), at most `limit` of
    /// them, the selected version always among them.
    fn order(&mut self, limit: Option<usize>) {
        match self {
            Self::Npm(r) => latest_first(&mut r.versions, limit, |v| v.version == r.selected),
            Self::Pypi(r) => latest_first(&mut r.versions, limit, |v| v.version == r.selected),
        }
    }

    fn set_surface(&mut self, result: Result<(Option<String>, Analysis), Failure>) {
        let surface = match result {
            Ok((file, analysis)) => SurfaceReport {
                file,
                analysis: Some(analysis),
                error: None,
            },
            Err(f) => SurfaceReport {
                file: None,
                analysis: None,
                error: Some(f.message),
            },
        };
        match self {
            Self::Npm(r) => r.install_surface = surface,
            Self::Pypi(r) => r.install_surface = surface,
        }
    }

    fn set_provenance(&mut self, line: String) {
        match self {
            Self::Npm(r) => r.provenance = Some(line),
            Self::Pypi(r) => r.provenance = Some(line),
        }
    }

    fn set_history(&mut self, history: Option<Judgement>) {
        match self {
            Self::Npm(r) => r.history = history,
            Self::Pypi(r) => r.history = history,
        }
    }

    /// 69 when the archive of the version shown could not be checked.
    fn exit_code(&self) -> u8 {
        let surface = match self {
            Self::Npm(r) => &r.install_surface,
            Self::Pypi(r) => &r.install_surface,
        };
        if surface.error.is_some() {
            crate::exit::UNAVAILABLE
        } else {
            crate::exit::OK
        }
    }

    fn human(&self) -> String {
        match self {
            Self::Npm(r) => r.human(),
            Self::Pypi(r) => r.human(),
        }
    }
}

impl NpmReport {
    fn human(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}  from {}", self.package, self.registry);
        let names: Vec<&str> = self.maintainers.iter().map(|m| m.name.as_str()).collect();
        let _ = writeln!(
            out,
            "{} · latest {} · maintainers {}\n",
            plural(self.versions.len(), "version"),
            self.dist_tags
                .get("latest")
                .map_or("(none)", String::as_str),
            if names.is_empty() {
                "unknown".to_owned()
            } else {
                names.join(", ")
            }
        );
        let rows: Vec<Vec<String>> = self
            .versions
            .iter()
            .map(|v| {
                let trust = match (&v.provenance, &v.trusted_publisher) {
                    (Some(_), Some(tp)) => {
                        format!("attested (provenance, trusted publishing: {tp})")
                    }
                    (Some(_), None) => "attested (provenance)".to_owned(),
                    (None, Some(tp)) => format!("attested (trusted publishing: {tp})"),
                    (None, None) => v.trust.label().to_owned(),
                };
                let scripts = if !v.install_scripts.is_empty() {
                    v.install_scripts
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                } else if v.has_install_script == Some(true) {
                    "yes (hasInstallScript)".to_owned()
                } else {
                    "none".to_owned()
                };
                vec![
                    v.version.clone(),
                    when(v.published),
                    v.publisher
                        .as_ref()
                        .map_or("unknown".to_owned(), |p| p.name.clone()),
                    trust,
                    scripts,
                ]
            })
            .collect();
        out.push_str(&table(
            &[
                "VERSION",
                "PUBLISHED",
                "PUBLISHER",
                "TRUST",
                "INSTALL SCRIPTS",
            ],
            &rows,
        ));
        if let Some(v) = self.versions.iter().find(|v| v.version == self.selected) {
            let _ = writeln!(out, "\n{}@{}", self.package, v.version);
            let field = |out: &mut String, k: &str, v: String| {
                let _ = writeln!(out, "  {k:<13}{v}");
            };
            field(&mut out, "published", when(v.published));
            field(
                &mut out,
                "publisher",
                v.publisher
                    .as_ref()
                    .map_or("unknown".to_owned(), |p| match &p.email {
                        Some(e) => format!("{} <{e}>", p.name),
                        None => p.name.clone(),
                    }),
            );
            let m: Vec<&str> = v.maintainers.iter().map(|m| m.name.as_str()).collect();
            field(
                &mut out,
                "maintainers",
                if m.is_empty() {
                    "unknown".into()
                } else {
                    m.join(", ")
                },
            );
            field(&mut out, "trust", v.trust.label().to_owned());
            if let Some(sig) = &self.signature {
                field(&mut out, "signature", sig.clone());
            }
            if let Some(p) = &self.provenance {
                field(&mut out, "provenance", p.clone());
            }
            for (name, script) in &v.install_scripts {
                field(&mut out, "script", format!("{name}: {script}"));
            }
            if let Some(d) = &v.deprecated {
                field(&mut out, "deprecated", d.clone());
            }
            field(
                &mut out,
                "integrity",
                v.integrity.clone().unwrap_or_else(|| "unknown".into()),
            );
            field(
                &mut out,
                "tarball",
                v.tarball
                    .as_ref()
                    .map_or("unknown".into(), ToString::to_string),
            );
            let deps: Vec<String> = v
                .dependencies
                .iter()
                .map(|(k, r)| format!("{k} {r}"))
                .collect();
            field(
                &mut out,
                "dependencies",
                if deps.is_empty() {
                    "none".into()
                } else {
                    deps.join(", ")
                },
            );
        }
        self.install_surface.human(&mut out);
        if let Some(h) = &self.history {
            history_human(&mut out, h);
        }
        out
    }
}

impl PypiReport {
    fn human(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}  from {}", self.package, self.index);
        let _ = writeln!(
            out,
            "{} · status {}\n",
            plural(self.versions.len(), "version"),
            self.status.as_deref().unwrap_or("unknown")
        );
        let rows: Vec<Vec<String>> = self
            .versions
            .iter()
            .map(|v| {
                let trust = match v.trusted_publishers.first() {
                    Some(p) => format!(
                        "attested ({} {} {})",
                        p.kind.as_deref().unwrap_or("?"),
                        p.repository.as_deref().unwrap_or("?"),
                        p.workflow.as_deref().unwrap_or("?")
                    ),
                    None => v.trust.label().to_owned(),
                };
                let kinds: Vec<&str> = v
                    .files
                    .iter()
                    .map(|f| match f.kind {
                        DistKind::Wheel => "wheel",
                        DistKind::Sdist => "sdist",
                        DistKind::Other => "other",
                    })
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let runs = match v.install_time.runs_code {
                    Some(true) => "yes (sdist build)",
                    Some(false) => "no",
                    None => "unknown until read",
                };
                let mut version = v.version.clone();
                if v.yanked.is_some() {
                    version.push_str(" (yanked)");
                }
                vec![
                    version,
                    when(v.published),
                    kinds.join("+"),
                    trust,
                    runs.to_owned(),
                ]
            })
            .collect();
        out.push_str(&table(
            &[
                "VERSION",
                "PUBLISHED",
                "FILES",
                "TRUST",
                "RUNS CODE AT INSTALL",
            ],
            &rows,
        ));
        if let Some(v) = self.versions.iter().find(|v| v.version == self.selected) {
            let _ = writeln!(out, "\n{}=={}", self.package, v.version);
            for f in &v.files {
                let _ = writeln!(
                    out,
                    "  {}  sha256:{}",
                    f.filename,
                    f.sha256.as_deref().unwrap_or("unknown")
                );
            }
            let _ = writeln!(out, "  {}", v.install_time.reason);
            if let Some(p) = &self.provenance {
                let _ = writeln!(out, "  provenance: {p}");
            }
        }
        self.install_surface.human(&mut out);
        if let Some(h) = &self.history {
            history_human(&mut out, h);
        }
        out
    }
}

fn history_human(out: &mut String, j: &Judgement) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets() {
        assert_eq!(
            Target::parse("npm:@corp/lib@1.2.3").unwrap(),
            Target::Npm {
                name: "@corp/lib".into(),
                version: Some("1.2.3".into())
            }
        );
        assert_eq!(
            Target::parse("npm:@corp/lib").unwrap(),
            Target::Npm {
                name: "@corp/lib".into(),
                version: None
            }
        );
        assert_eq!(
            Target::parse("npm:left-pad@latest").unwrap(),
            Target::Npm {
                name: "left-pad".into(),
                version: Some("latest".into())
            }
        );
        assert_eq!(
            Target::parse("pypi:Requests==2.0").unwrap(),
            Target::Pypi {
                name: "Requests".into(),
                version: Some("2.0".into())
            }
        );
        for bad in [
            "left-pad",
            "npm:",
            "npm:@corp",
            "npm:x@",
            "pypi:",
            "pypi:a b",
            "cargo:x",
            "pypi:x==",
        ] {
            assert_eq!(Target::parse(bad).unwrap_err().code, USAGE, "{bad}");
        }
    }

    #[test]
    fn table_aligns_columns() {
        let t = table(&["A", "BB"], &[vec!["long".into(), "x".into()]]);
        assert_eq!(t, "A     BB\nlong  x\n");
    }
}

/// Reverses `versions` (sorted oldest first) and keeps the first `limit`,
/// plus the selected one wherever it is.
fn latest_first<T>(versions: &mut Vec<T>, limit: Option<usize>, selected: impl Fn(&T) -> bool) {
    versions.reverse();
    if let Some(limit) = limit {
        let mut i = 0;
        versions.retain(|v| {
            i += 1;
            i <= limit || selected(v)
        });
    }
}

#[cfg(test)]
mod order_tests {
    #[test]
    fn latest_first_keeps_the_limit_and_the_selected_version() {
        let mut v = vec![1, 2, 3, 4, 5];
        super::latest_first(&mut v, Some(2), |x| *x == 1);
        assert_eq!(v, [5, 4, 1]);
        let mut all = vec![1, 2, 3];
        super::latest_first(&mut all, None, |_| false);
        assert_eq!(all, [3, 2, 1]);
    }
}
