//! `warden npm`: plan, check every package, decide by policy, then run npm
//! pinned to what was checked.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::Command;

use jiff::SignedDuration;
use serde::Serialize;
use warden_archive::{ArtifactKind, Expected, Limits};
use warden_npm::{NpmCommand, Planned, Source};
use warden_policy::{Level, Policy};
use warden_registry::NpmClient;

use warden_guard::{Assessment, Ecosystem, Finding, Package};

use crate::cli::{GlobalArgs, GuardArgs};
use crate::context::Context;
use crate::drive::{Next, Run};
use crate::exit::{self, Failure};

fn npm_program() -> String {
    std::env::var("WARDEN_NPM").unwrap_or_else(|_| "npm".to_owned())
}

fn passthrough(args: &[String]) -> Result<(String, u8), Failure> {
    run_through(&[npm_program()], args)
}

/// Runs the package manager (`program` may be `python -m pip`) with the
/// user's arguments, unchanged, and passes on its exit code.
pub(crate) fn run_through(program: &[String], args: &[String]) -> Result<(String, u8), Failure> {
    let (p, prefix) = program
        .split_first()
        .ok_or_else(|| Failure::new(exit::USAGE, "no package manager to run"))?;
    let status = Command::new(p)
        .args(prefix)
        .args(args)
        .status()
        .map_err(|e| Failure::new(exit::UNAVAILABLE, format!("could not run `{p}`: {e}")))?;
    Ok((String::new(), exit_code(status)))
}

pub(crate) fn exit_code(status: std::process::ExitStatus) -> u8 {
    u8::try_from(status.code().unwrap_or(1)).unwrap_or(1)
}

pub async fn npm(
    ctx: &Context,
    global: &GlobalArgs,
    args: &GuardArgs,
) -> Result<(String, u8), Failure> {
    let policy = crate::policy::load(global)?;
    let command = warden_npm::classify(&args.args);
    if command == NpmCommand::Other {
        return passthrough(&args.args);
    }
    // `npm install -g`: the packages are checked and installed, pinned, in a
    // project warden keeps under its cache directory; npm then links them
    // into the global prefix.
    let global_specs: Option<Vec<String>> = match &command {
        NpmCommand::Install { specs } if args.args.iter().any(|a| a == "-g" || a == "--global") => {
            if specs.is_empty() {
                return Err(Failure::new(
                    exit::USAGE,
                    "`npm install -g` needs the packages to install",
                ));
            }
            Some(specs.clone())
        }
        _ => None,
    };
    let global_home = match &global_specs {
        Some(_) => {
            let parent = ctx
                .http
                .options()
                .cache_dir
                .clone()
                .ok_or_else(|| {
                    Failure::new(
                        exit::USAGE,
                        "global installs need a cache directory (not `--no-cache`)",
                    )
                })?
                .join("global-v1");
            std::fs::create_dir_all(&parent)
                .map_err(|e| Failure::new(exit::UNAVAILABLE, e.to_string()))?;
            let dir = tempfile::Builder::new()
                .prefix("install-")
                .tempdir_in(&parent)
                .map_err(|e| Failure::new(exit::UNAVAILABLE, e.to_string()))?;
            std::fs::write(
                dir.path().join("package.json"),
                br#"{"name":"warden-global","version":"0.0.0","private":true}"#,
            )
            .map_err(|e| Failure::new(exit::UNAVAILABLE, e.to_string()))?;
            Some(dir)
        }
        None => None,
    };
    // `npm exec`: the package is checked and installed in a scratch
    // project, then its command runs from there, pinned.
    let exec = match &command {
        NpmCommand::Exec { .. } => Some(warden_npm::exec_request(&args.args).ok_or_else(|| {
            Failure::new(exit::USAGE, "no package to run").with_hint("warden npx <package> [args]")
        })?),
        _ => None,
    };
    let scratch = match &exec {
        Some(_) => {
            Some(tempfile::tempdir().map_err(|e| Failure::new(exit::UNAVAILABLE, e.to_string()))?)
        }
        None => None,
    };
    let project = match scratch.as_ref().or(global_home.as_ref()) {
        Some(dir) if global_home.is_some() && scratch.is_none() => dir.path().to_path_buf(),
        Some(dir) => {
            std::fs::write(
                dir.path().join("package.json"),
                br#"{"name":"warden-exec","version":"0.0.0","private":true}"#,
            )
            .map_err(|e| Failure::new(exit::UNAVAILABLE, e.to_string()))?;
            dir.path().to_path_buf()
        }
        None => std::env::current_dir().map_err(|e| Failure::new(exit::USAGE, e.to_string()))?,
    };
    let plan_args: Vec<String> = match (&exec, &global_specs) {
        (Some(e), _) => {
            let mut a = vec!["install".to_owned(), e.package.clone()];
            a.extend(e.flags.iter().cloned());
            a
        }
        (None, Some(_)) => args
            .args
            .iter()
            .filter(|a| *a != "-g" && *a != "--global")
            .cloned()
            .collect(),
        (None, None) => args.args.clone(),
    };
    let client = ctx.npm(&warden_registry::npmrc::cli_settings(&args.args))?;
    let min_age =
        SignedDuration::from_hours(i64::try_from(policy.min_release_age_hours).unwrap_or(48));

    // The versions the project has now: the baseline for history findings.
    let lock_path = ["npm-shrinkwrap.json", "package-lock.json"]
        .iter()
        .map(|f| project.join(f))
        .find(|p| p.is_file());
    let current: Vec<Planned> = match &lock_path {
        Some(p) => std::fs::read(p)
            .ok()
            .and_then(|b| warden_npm::parse_lockfile(p, &b).ok())
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let baseline: BTreeMap<String, String> = current
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();

    let (packages, resolved) = match &command {
        NpmCommand::Ci => {
            let Some(path) = &lock_path else {
                // npm ci fails without a lockfile; let it say so.
                return passthrough(&args.args);
            };
            let bytes = std::fs::read(path)
                .map_err(|e| Failure::new(exit::UNAVAILABLE, format!("{}: {e}", path.display())))?;
            let plan = warden_npm::parse_lockfile(path, &bytes)
                .map_err(|e| Failure::new(exit::UNAVAILABLE, e.to_string()))?;
            (plan, None)
        }
        _ => {
            let before = jiff::Timestamp::now().checked_sub(min_age).ok();
            let env: Vec<(String, String)> = Vec::new();
            // An exact pin to a release younger than the minimum age cannot
            // resolve "before" it: resolve without the age limit, and let the
            // checks report `release-too-fresh`.
            let r = warden_npm::resolve(&npm_program(), &project, &plan_args, before, &env)
                .or_else(|_| warden_npm::resolve(&npm_program(), &project, &plan_args, None, &env))
                .map_err(|e| {
                Failure::new(exit::UNAVAILABLE, e.to_string())
                    .with_hint("npm could not plan the install without running anything; fix what it reports, or pin an older version")
            })?;
            (r.packages.clone(), Some(r))
        }
    };

    let stash = tempfile::tempdir().map_err(|e| Failure::new(exit::UNAVAILABLE, e.to_string()))?;
    let checked = check_all(&client, stash.path(), packages, &baseline, min_age, &policy).await;
    let run = Run {
        global,
        policy: &policy,
        tool: "npm".to_owned(),
        command: crate::drive::command_line(&["npm".to_owned()], &args.args),
        project: &project,
    };
    let decision = run.decide(Ecosystem::Npm, &checked);
    let going = match run.gate(decision, None) {
        Next::Stop(text, code) => return Ok((text, code)),
        Next::Go(going) => going,
    };
    seed_npm_cache(stash.path(), client.config.cache_dir(&ctx.env).as_deref());
    let code = install(
        &project,
        &plan_args,
        resolved.as_ref(),
        &going.allow_scripts(),
        &policy,
        ctx,
    )?;
    going.finish(code);
    match (&exec, &global_specs, code) {
        (Some(e), _, 0) => run_exec(&project, e),
        (None, Some(specs), 0) => {
            // Keep the checked install: the global links point into it.
            let kept = global_home.map(tempfile::TempDir::keep);
            link_globally(kept.as_deref().unwrap_or(&project), specs, &plan_args)
        }
        _ => Ok((String::new(), code)),
    }
}

/// Links each requested package of a checked install into npm's global
/// prefix (`npm install -g <folder>` makes a link), scripts off: the
/// allowed ones already ran.
fn link_globally(
    project: &Path,
    specs: &[String],
    npm_args: &[String],
) -> Result<(String, u8), Failure> {
    let flags = warden_npm::parse_args(npm_args).install_flags();
    for spec in specs {
        let name = match spec[1.min(spec.len())..].find('@') {
            Some(i) => &spec[..i + 1],
            None => spec.as_str(),
        };
        let folder = project.join("node_modules").join(name);
        let status = Command::new(npm_program())
            .args([
                "install",
                "-g",
                "--ignore-scripts=true",
                "--no-audit",
                "--no-fund",
            ])
            .args(&flags)
            .arg(&folder)
            .status()
            .map_err(|e| Failure::new(exit::UNAVAILABLE, format!("could not run npm: {e}")))?;
        if !status.success() {
            return Ok((String::new(), exit_code(status)));
        }
    }
    Ok((String::new(), exit::OK))
}

/// Runs the checked package's command from the scratch project, in the
/// user's directory.
fn run_exec(project: &Path, e: &warden_npm::ExecRequest) -> Result<(String, u8), Failure> {
    let bin = match &e.command {
        Some(c) => c.clone(),
        None => warden_npm::default_bin(project, &e.package).ok_or_else(|| {
            Failure::new(
                exit::USAGE,
                format!("`{}` installs no command to run", e.package),
            )
        })?,
    };
    let path = project.join("node_modules").join(".bin").join(&bin);
    let status = Command::new(&path)
        .args(&e.args)
        .status()
        .map_err(|err| Failure::new(exit::UNAVAILABLE, format!("could not run `{bin}`: {err}")))?;
    Ok((String::new(), exit_code(status)))
}

/// Moves the tarballs warden verified into npm's content-addressed cache
/// (`stash` mirrors its `content-v2` layout), so `npm ci` installs them
/// without downloading them again. An optimisation: whatever fails here,
/// npm downloads the tarball and checks its integrity itself, and npm
/// checks cached content against the lockfile's integrity as it reads it.
fn seed_npm_cache(stash: &Path, npm_cache: Option<&Path>) {
    let Some(cacache) = npm_cache.map(|c| c.join("_cacache")) else {
        return;
    };
    let mut dirs = vec![stash.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let Ok(rel) = path.strip_prefix(stash) else {
                continue;
            };
            let dest = cacache.join(rel);
            if dest.exists() {
                continue;
            }
            let Some(parent) = dest.parent() else {
                continue;
            };
            // Into place whole: a rename, or a copy to a temporary name
            // renamed when the stash is on another file system.
            let tmp = parent.join(format!(".warden-{}", std::process::id()));
            let moved = std::fs::create_dir_all(parent).and_then(|()| {
                std::fs::rename(&path, &dest).or_else(|_| {
                    std::fs::copy(&path, &tmp).and_then(|_| std::fs::rename(&tmp, &dest))
                })
            });
            if let Err(e) = moved {
                tracing::debug!(
                    "npm cache: {}: {e}; npm will download it itself",
                    dest.display()
                );
            }
        }
    }
}

/// Writes the checked manifest and lockfile into the project, installs
/// exactly that lockfile, then runs the allowed install scripts.
fn install(
    project: &Path,
    npm_args: &[String],
    resolved: Option<&warden_npm::Resolved>,
    allow_scripts: &[String],
    policy: &Policy,
    ctx: &Context,
) -> Result<u8, Failure> {
    let write = |name: &str, bytes: &[u8]| {
        let path = project.join(name);
        let tmp = project.join(format!(".{name}.warden-tmp"));
        std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| {
                Failure::new(
                    exit::UNAVAILABLE,
                    format!("cannot write `{}`: {e}", path.display()),
                )
            })
    };
    if let Some(r) = resolved {
        if let Some(m) = &r.manifest {
            write("package.json", m)?;
        }
        write("package-lock.json", &r.lockfile)?;
    }
    // Options that shape the install (registry, omit, ...) go along, each
    // as one word, after warden's own, so no value-taking option of the
    // user's can swallow `--ignore-scripts`; the command and its package
    // specs do not: the lockfile says it all.
    let flags = warden_npm::parse_args(npm_args).install_flags();
    let status = Command::new(npm_program())
        .args(["ci", "--ignore-scripts=true", "--no-audit", "--no-fund"])
        .args(&flags)
        .current_dir(project)
        .stdout(tool_stdout(ctx))
        .status()
        .map_err(|e| Failure::new(exit::UNAVAILABLE, format!("could not run npm: {e}")))?;
    if !status.success() || allow_scripts.is_empty() {
        return Ok(exit_code(status));
    }
    let env = warden_guard::approved_env(&ctx.env.vars, &policy.hide_env, &policy.keep_env);
    let status = Command::new(npm_program())
        .arg("rebuild")
        .args(allow_scripts)
        .args(&flags)
        .current_dir(project)
        .env_clear()
        .envs(env)
        .stdout(tool_stdout(ctx))
        .status()
        .map_err(|e| Failure::new(exit::UNAVAILABLE, format!("could not run npm: {e}")))?;
    Ok(exit_code(status))
}

/// Where the package manager's own output goes: stdout, except under
/// `--format json`, where stdout carries only warden's report.
pub(crate) fn tool_stdout(ctx: &Context) -> std::process::Stdio {
    if ctx.json_output {
        std::io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .map(std::process::Stdio::from)
            .unwrap_or_else(|_| std::process::Stdio::null())
    } else {
        std::process::Stdio::inherit()
    }
}

async fn check_all(
    client: &NpmClient,
    stash: &Path,
    packages: Vec<Planned>,
    baseline: &BTreeMap<String, String>,
    min_age: SignedDuration,
    policy: &Policy,
) -> Vec<Assessment> {
    // One bulk advisory query for the whole plan, not one per package.
    let mut query: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in packages
        .iter()
        .filter(|p| matches!(p.source, Source::Registry(_)))
    {
        query
            .entry(p.name.clone())
            .or_default()
            .push(p.version.clone());
    }
    let advisories = std::sync::Arc::new(client.bulk_advisories(&query).await.ok().flatten());
    let mut tasks = tokio::task::JoinSet::new();
    let mut seen = BTreeSet::new();
    for p in packages {
        if matches!(p.source, Source::Link(_))
            || !seen.insert((p.name.clone(), p.version.clone(), p.path.clone()))
        {
            continue;
        }
        let client = client.clone();
        let baseline = baseline.get(&p.name).cloned();
        let internal = policy.internal_registry("npm", &p.name).map(str::to_owned);
        let cache_dir = client.http.options().cache_dir.clone();
        let advisories = std::sync::Arc::clone(&advisories);
        let stash = stash.to_path_buf();
        tasks.spawn(async move {
            check_one(
                &client,
                cache_dir,
                p,
                baseline,
                min_age,
                internal,
                &advisories,
                &stash,
            )
            .await
        });
    }
    let total = tasks.len();
    let progress = Progress::start(total);
    let mut out = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        if let Ok(c) = joined {
            out.push(c);
        }
        progress.tick(out.len());
    }
    progress.finish();
    out.sort_by(|a, b| a.package.path.cmp(&b.package.path));
    out
}

/// A one-line progress count on stderr, shown only on a terminal and only
/// once checking has taken more than a moment.
struct Progress {
    total: usize,
    started: std::time::Instant,
    shown: std::cell::Cell<bool>,
    enabled: bool,
}

impl Progress {
    fn start(total: usize) -> Self {
        Self {
            total,
            started: std::time::Instant::now(),
            shown: std::cell::Cell::new(false),
            enabled: std::io::stderr().is_terminal(),
        }
    }

    fn tick(&self, done: usize) {
        if self.enabled && self.started.elapsed() > std::time::Duration::from_millis(800) {
            self.shown.set(true);
            eprint!("\rwarden: checked {done}/{} packages", self.total);
        }
    }

    fn finish(&self) {
        if self.shown.get() {
            eprintln!();
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn check_one(
    client: &NpmClient,
    cache_dir: Option<PathBuf>,
    planned: Planned,
    baseline: Option<String>,
    min_age: SignedDuration,
    internal: Option<String>,
    advisories: &Option<BTreeMap<String, Vec<warden_registry::npm::Advisory>>>,
    stash: &Path,
) -> Assessment {
    let mut c = Assessment {
        findings: Vec::new(),
        unknown: Vec::new(),
        publisher: None,
        attested: None,
        runs_install_code: false,
        package: Package {
            name: planned.name.clone(),
            version: planned.version.clone(),
            path: planned.path.clone(),
            integrity: planned.integrity.clone(),
            has_install_script: planned.has_install_script,
        },
    };
    let name = planned.name.clone();
    let version = planned.version.clone();
    let registry = client
        .config
        .registry_for(&name)
        .without_credentials()
        .to_string();
    match &planned.source {
        Source::Git(s) | Source::Url(s) | Source::File(s) => {
            let level = if planned.direct {
                Level::Warn
            } else {
                Level::Deny
            };
            c.findings.push(Finding::new(
                "non-registry-source",
                level,
                format!(
                    "installed from outside the registry{}",
                    if planned.direct {
                        ""
                    } else {
                        " as a transitive dependency"
                    }
                ),
                s.clone(),
            ));
            return c;
        }
        Source::Registry(Some(url)) if !url.starts_with(&registry) => {
            c.findings.push(Finding::new(
                "lockfile-source-mismatch",
                Level::Deny,
                format!("the lockfile resolves it from `{url}`, not the registry configured for it (`{registry}`)"),
                url.clone(),
            ));
        }
        _ => {}
    }
    if let Some(required) = &internal {
        if !registry.starts_with(required.as_str()) {
            c.findings.push(Finding::new(
                "dependency-confusion",
                Level::Deny,
                format!("`{name}` must come from `{required}` ([internal]), but resolves from `{registry}`"),
                registry.clone(),
            ));
        }
    }
    match planned.integrity.as_deref() {
        None => c.findings.push(Finding::new(
            "integrity-missing",
            Level::Warn,
            "the lockfile has no integrity for it",
            String::new(),
        )),
        Some(i) if !i.contains("sha512-") => c.findings.push(Finding::new(
            "integrity-weak",
            Level::Warn,
            "the lockfile's integrity is not sha512",
            i.to_owned(),
        )),
        _ => {}
    }
    let doc = match client.packument(&name).await {
        Ok(d) => d,
        Err(e) => {
            c.unknown.push(e.to_string());
            return c;
        }
    };
    let Some(manifest) = doc.versions.get(&version) else {
        c.unknown
            .push(format!("npm:{name}@{version} is not on the registry"));
        return c;
    };
    let dist = manifest.dist.clone().unwrap_or_default();
    if let (Some(locked), Some(published)) = (&planned.integrity, &dist.integrity) {
        if locked != published {
            c.findings.push(Finding::new(
                "integrity-mismatch",
                Level::Deny,
                "the lockfile's integrity differs from the one the registry publishes",
                format!("lockfile {locked}, registry {published}"),
            ));
        }
    }
    let expected = planned
        .integrity
        .as_deref()
        .map(|i| Expected::Sri(i.to_owned()))
        .or_else(|| Expected::npm(dist.integrity.as_deref(), dist.shasum.as_deref()));
    // The archive's verdict: from the cache by integrity when this exact
    // artifact was read before (with the same rules), else downloaded,
    // verified and read.
    let cache_file = expected
        .as_ref()
        .and_then(|e| verdict_cache_path(cache_dir.as_deref(), e));
    let cached = cache_file.as_deref().and_then(read_cached);
    let fresh = cached.is_none();
    let checked: Result<ArchiveVerdict, String> = match cached {
        Some(v) => Ok(v),
        None => match (doc.tarball_url(&version), expected) {
            (Some(url), Some(expected)) => {
                match client.get(&name, &url, "application/octet-stream").await {
                    Ok(r) => {
                        let verdict = warden_rules::analyze(
                            &format!("npm:{name}@{version}"),
                            &r.body,
                            Some(&expected),
                            Some(ArtifactKind::NpmPackage),
                            &Limits::default(),
                        )
                        .map(|a| ArchiveVerdict::from(&a))
                        .map_err(|e| e.to_string());
                        // Verified bytes are handed to npm's cache once
                        // allowed, so npm installs these very bytes without
                        // fetching them again. Kept in cacache's layout.
                        if verdict.is_ok() {
                            let rel = match &expected {
                                Expected::Sri(sri) => warden_npm::cacache_content_path(sri),
                                Expected::Sha1Hex(hex) => warden_npm::cacache_hex_path("sha1", hex),
                                Expected::Sha256Hex(_) => None,
                            };
                            if let Some(path) = rel.map(|rel| stash.join(rel)) {
                                let _ = path
                                    .parent()
                                    .map(std::fs::create_dir_all)
                                    .and_then(Result::ok)
                                    .map(|()| std::fs::write(&path, &r.body));
                            }
                        }
                        verdict
                    }
                    Err(e) => Err(e.to_string()),
                }
            }
            _ => Err(format!(
                "npm:{name}@{version}: no tarball or digest to check"
            )),
        },
    };
    match &checked {
        Ok(v) => {
            if let (true, Some(path)) = (fresh, &cache_file) {
                write_cached(path, v);
            }
            c.runs_install_code = v.surface.runs_code;
            for f in &v.findings {
                c.findings
                    .push(Finding::new(&f.0, f.1, f.2.clone(), f.3.clone()));
            }
        }
        Err(e) => c.unknown.push(e.clone()),
    }
    c.publisher = manifest.npm_user.as_ref().and_then(|u| u.name.clone());
    if let Some(j) = crate::history::npm(
        client,
        &doc,
        &version,
        baseline.as_deref(),
        checked.as_ref().ok().map(|v| &v.surface),
        min_age,
        crate::history::Advisories::Known(
            advisories
                .as_ref()
                .map(|all| all.get(&name).map(Vec::as_slice).unwrap_or_default()),
        ),
    )
    .await
    {
        for f in j.findings {
            let lvl = f.level;
            let evidence = f
                .evidence
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ");
            c.findings
                .push(Finding::new(f.code, lvl, f.summary, evidence));
        }
    }
    c
}

/// What reading an archive established, kept by integrity so that a second
/// run over an unchanged lockfile downloads nothing.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
struct ArchiveVerdict {
    /// The rules and warden version that produced it.
    fingerprint: String,
    surface: crate::history::SurfaceFacts,
    /// (code, level, summary, evidence)
    findings: Vec<(String, Level, String, String)>,
}

impl From<&warden_rules::Analysis> for ArchiveVerdict {
    fn from(a: &warden_rules::Analysis) -> Self {
        Self {
            fingerprint: fingerprint(),
            surface: crate::history::SurfaceFacts::from(a),
            findings: a
                .findings
                .iter()
                .map(|f| {
                    (
                        f.rule.clone(),
                        f.level,
                        f.summary.clone(),
                        format!("{}:{} {}", f.file, f.line.unwrap_or(0), f.excerpt),
                    )
                })
                .collect(),
        }
    }
}

fn fingerprint() -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(warden_rules::BUILTIN_RULES.as_bytes());
    format!(
        "{}:{}",
        env!("CARGO_PKG_VERSION"),
        d.iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

fn verdict_cache_path(cache_dir: Option<&Path>, expected: &Expected) -> Option<PathBuf> {
    use sha2::Digest;
    let Expected::Sri(sri) = expected else {
        return None;
    };
    if !sri.contains("sha512-") {
        return None;
    }
    let key = sha2::Sha256::digest(sri.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    Some(cache_dir?.join("verdicts-v1").join(format!("{key}.json")))
}

fn read_cached(path: &Path) -> Option<ArchiveVerdict> {
    let v: ArchiveVerdict = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    (v.fingerprint == fingerprint()).then_some(v)
}

fn write_cached(path: &Path, v: &ArchiveVerdict) {
    let (Some(dir), Ok(bytes)) = (path.parent(), serde_json::to_vec(v)) else {
        return;
    };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    // Written aside and renamed, so a concurrent reader never sees half.
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    if std::fs::write(&tmp, bytes).is_ok() {
        let _ = std::fs::rename(&tmp, path);
    }
}
