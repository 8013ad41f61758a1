//! `warden npm`: the request read once, the plan, every package checked,
//! the decision asked of the [`Gate`], then npm run pinned to what was
//! checked, with only approved scripts, and the user's files put back if
//! the install fails or is interrupted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use jiff::SignedDuration;
use warden_archive::{ArtifactKind, Expected};
use warden_guard::cache::{ArchiveVerdict, Origin, judge_artifact, read_verdict, verdict_path};
use warden_guard::facts::{self, Advisories};
use warden_guard::{
    Assessment, CheckTasks, Ecosystem, Error, Finding, Gate, Package, Phase, PlanCode, Settings, io,
};
use warden_policy::{Level, Policy};
use warden_registry::{Environment, HttpClient, NpmClient, NpmConfig};

use crate::restore::{Restore, wait_interruptible};
use crate::{NpmCommand, Planned, Source};

/// The program that runs npm: `WARDEN_NPM` or `npm`.
pub fn npm_program(env: &Environment) -> String {
    env.var("WARDEN_NPM").unwrap_or("npm").to_owned()
}

/// The root project's own lifecycle scripts, in the order `npm install`
/// runs them after the dependencies.
const PROJECT_SCRIPTS: &[&str] = &[
    "preinstall",
    "install",
    "postinstall",
    "prepublish",
    "preprepare",
    "prepare",
    "postprepare",
];

/// Runs `npm <args>` under guard. The result is the output to print and
/// the exit code.
pub async fn run(
    args: &[String],
    http: &HttpClient,
    settings: Settings<'_>,
    gate: &mut dyn Gate,
) -> Result<(String, u8), Error> {
    let npm = npm_program(settings.env);
    let request = crate::NpmRequest::parse(args)?;
    if request.command == NpmCommand::Other {
        return passthrough(&npm, args);
    }
    let (exec, global_specs) = (&request.exec, &request.global);
    let scratch = match (exec, global_specs) {
        (Some(_), _) => Some(tempfile::tempdir().map_err(|e| io(&std::env::temp_dir(), e))?),
        (None, Some(_)) => {
            let parent = http
                .options()
                .cache_dir
                .clone()
                .ok_or_else(|| {
                    Error::usage("global installs need a cache directory (not `--no-cache`)")
                })?
                .join("global-v1");
            std::fs::create_dir_all(&parent).map_err(|e| io(&parent, e))?;
            Some(
                tempfile::Builder::new()
                    .prefix("install-")
                    .tempdir_in(&parent)
                    .map_err(|e| io(&parent, e))?,
            )
        }
        (None, None) => None,
    };
    let project = match &scratch {
        Some(dir) => {
            let manifest = dir.path().join("package.json");
            std::fs::write(
                &manifest,
                br#"{"name":"warden-scratch","version":"0.0.0","private":true}"#,
            )
            .map_err(|e| io(&manifest, e))?;
            dir.path().to_path_buf()
        }
        None => std::env::current_dir().map_err(|e| Error::usage(e.to_string()))?,
    };
    let plan_args = request.plan_args();
    let config = NpmConfig::discover(settings.env, &request.args.config_settings(), &npm)?;
    let client = NpmClient::new(http.clone(), config);
    let min_age = settings.min_age();

    // The versions the project has now: the baseline for history findings.
    let lock_path = ["npm-shrinkwrap.json", "package-lock.json"]
        .iter()
        .map(|f| project.join(f))
        .find(|p| p.is_file());
    let current: Vec<Planned> = match &lock_path {
        Some(p) => std::fs::read(p)
            .ok()
            .and_then(|b| crate::parse_lockfile(p, &b).ok())
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let baseline: BTreeMap<String, String> = current
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();

    let (packages, resolved) = match &request.command {
        NpmCommand::Ci => {
            let Some(path) = &lock_path else {
                // npm ci fails without a lockfile; let it say so.
                return passthrough(&npm, args);
            };
            let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
            let plan = crate::parse_lockfile(path, &bytes)
                .map_err(|e| Error::unavailable(e.to_string()))?;
            (plan, None)
        }
        _ => {
            gate.step("planning: npm resolves the install (no scripts run)");
            let before = jiff::Timestamp::now().checked_sub(min_age).ok();
            // An exact pin to a release younger than the minimum age cannot
            // resolve "before" it: resolve without the age limit, and let the
            // checks report `release-too-fresh`.
            let r = match crate::resolve(&npm, &project, &plan_args, before, &[]).await {
                Ok(r) => Ok(r),
                Err(_) => crate::resolve(&npm, &project, &plan_args, None, &[]).await,
            };
            let r = r.map_err(|e| {
                    Error::unavailable(e.to_string()).with_hint(
                        "npm could not plan the install without running anything; fix what it reports, or pin an older version",
                    )
                })?;
            (r.packages.clone(), Some(r))
        }
    };

    let stash = tempfile::tempdir().map_err(|e| io(&std::env::temp_dir(), e))?;
    // Registry packages the plan does not pin: pinned below to the digest
    // of the bytes checked, so npm can install nothing else.
    let unpinned: BTreeSet<String> = packages
        .iter()
        .filter(|p| p.integrity.is_none() && matches!(p.source, Source::Registry(_)))
        .map(|p| p.path.clone())
        .collect();
    gate.step(&format!(
        "checking {} package{}",
        packages.len(),
        if packages.len() == 1 { "" } else { "s" }
    ));
    let checked = check_all(
        &client,
        stash.path(),
        &project,
        packages,
        &baseline,
        min_age,
        settings.history_max_age(),
        settings.policy,
        gate,
    )
    .await;
    let approved = match gate.gate(Ecosystem::Npm, &checked, Phase::Install) {
        Ok(a) => a,
        Err(stop) => return Ok((stop.output, stop.code)),
    };
    let pins: Vec<(String, String)> = checked
        .iter()
        .filter(|c| unpinned.contains(&c.package.path))
        .filter_map(|c| Some((c.package.path.clone(), c.package.integrity.clone()?)))
        .collect();
    let lockfile = lockfile_to_install(resolved.as_ref(), lock_path.as_deref(), &pins)?;
    seed_npm_cache(
        stash.path(),
        client.config.cache_dir(settings.env).as_deref(),
    );
    let install = Install {
        npm: &npm,
        project: &project,
        flags: request.args.install_flags(),
        settings,
        global_npmrc: client.config.global_file.as_deref(),
    };
    // The project's own scripts: the user's code, run as npm runs them,
    // unless the policy turns them off. Not for scratch projects.
    let own_scripts = if scratch.is_none() && settings.policy.project_scripts {
        project_scripts(&project)
    } else {
        Vec::new()
    };
    if !own_scripts.is_empty() {
        gate.note(&format!(
            "then the project's own scripts run, as npm runs them: {}",
            own_scripts.join(", ")
        ));
    }
    let manifest = resolved.as_ref().and_then(|r| r.manifest.as_deref());
    let code = install
        .run(
            manifest,
            lockfile.as_ref(),
            &approved.allow_scripts,
            &own_scripts,
        )
        .await?;
    gate.finished(code);
    match (exec, global_specs, code) {
        (Some(e), _, 0) => run_exec(&project, e),
        (None, Some(specs), 0) => {
            // Keep the checked install: the global links point into it.
            let kept = scratch.map(tempfile::TempDir::keep);
            link_globally(
                &npm,
                kept.as_deref().unwrap_or(&project),
                specs,
                &install.flags,
            )
        }
        _ => Ok((String::new(), code)),
    }
}

/// Runs npm with the user's arguments, unchanged: a command warden does
/// not guard.
fn passthrough(npm: &str, args: &[String]) -> Result<(String, u8), Error> {
    let status = Command::new(npm)
        .args(args)
        .status()
        .map_err(|e| Error::unavailable(format!("could not run `{npm}`: {e}")))?;
    Ok((String::new(), exit_code(status)))
}

/// The exit code a finished process gives the user.
pub fn exit_code(status: std::process::ExitStatus) -> u8 {
    u8::try_from(status.code().unwrap_or(1)).unwrap_or(1)
}

/// The lifecycle scripts the project's own `package.json` defines.
fn project_scripts(project: &Path) -> Vec<String> {
    let Ok(bytes) = std::fs::read(project.join("package.json")) else {
        return Vec::new();
    };
    let Ok(manifest) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Vec::new();
    };
    PROJECT_SCRIPTS
        .iter()
        .filter(|s| manifest["scripts"][**s].is_string())
        .map(|s| (*s).to_owned())
        .collect()
}

/// Links each requested package of a checked install into npm's global
/// prefix (`npm install -g <folder>` makes a link), scripts off: the
/// allowed ones already ran.
fn link_globally(
    npm: &str,
    project: &Path,
    specs: &[String],
    flags: &[String],
) -> Result<(String, u8), Error> {
    for spec in specs {
        let name = match spec[1.min(spec.len())..].find('@') {
            Some(i) => &spec[..i + 1],
            None => spec.as_str(),
        };
        let folder = project.join("node_modules").join(name);
        let status = Command::new(npm)
            .args([
                "install",
                "-g",
                "--ignore-scripts=true",
                "--no-audit",
                "--no-fund",
            ])
            .args(flags)
            .arg(&folder)
            .status()
            .map_err(|e| Error::unavailable(format!("could not run npm: {e}")))?;
        if !status.success() {
            return Ok((String::new(), exit_code(status)));
        }
    }
    Ok((String::new(), 0))
}

/// Runs the checked package's command from the scratch project, in the
/// user's directory.
fn run_exec(project: &Path, e: &crate::ExecRequest) -> Result<(String, u8), Error> {
    let bin = match &e.command {
        Some(c) => c.clone(),
        None => crate::default_bin(project, &e.package)
            .ok_or_else(|| Error::usage(format!("`{}` installs no command to run", e.package)))?,
    };
    let path = project.join("node_modules").join(".bin").join(&bin);
    let status = Command::new(&path)
        .args(&e.args)
        .status()
        .map_err(|err| Error::unavailable(format!("could not run `{bin}`: {err}")))?;
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

/// The lockfile npm installs from: npm's plan, or the project's own for
/// `npm ci`; pinned where it was not.
fn lockfile_to_install(
    resolved: Option<&crate::Resolved>,
    lock_path: Option<&Path>,
    pins: &[(String, String)],
) -> Result<Option<WrittenLock>, Error> {
    let (name, bytes, put_back) = match (resolved, lock_path) {
        (Some(r), _) => ("package-lock.json", r.lockfile.clone(), false),
        (None, Some(path)) if !pins.is_empty() => {
            let name = if path.ends_with("npm-shrinkwrap.json") {
                "npm-shrinkwrap.json"
            } else {
                "package-lock.json"
            };
            (name, std::fs::read(path).map_err(|e| io(path, e))?, true)
        }
        _ => return Ok(None),
    };
    let bytes = if pins.is_empty() {
        bytes
    } else {
        crate::pin_integrity(Path::new(name), &bytes, pins)
            .map_err(|e| Error::unavailable(e.to_string()))?
    };
    Ok(Some(WrittenLock {
        name,
        bytes,
        put_back,
    }))
}

/// The lockfile written for npm to install from.
struct WrittenLock {
    name: &'static str,
    bytes: Vec<u8>,
    /// The project's own, pinned only for this install: put back after.
    put_back: bool,
}

/// Why a tarball has no verdict.
enum Unchecked {
    /// It was fetched but could not be read (or failed its digest).
    Read(warden_archive::Error),
    Other(String),
}

/// Reads what a `file:` dependency (or a path in `resolved`) points at,
/// a tarball or a folder, and adds what the rules find.
fn check_local(c: &mut Assessment, project: &Path, spec: &str, name: &str) {
    let path = project.join(spec.strip_prefix("file:").unwrap_or(spec));
    let label = format!("npm:{name} ({})", path.display());
    let bytes = if path.is_dir() {
        warden_archive::pack_tree(&path, "package", &warden_archive::Limits::default())
            .map_err(|e| e.to_string())
    } else {
        match std::fs::metadata(&path) {
            Ok(m) if m.len() > warden_archive::Limits::default().max_total => {
                Err(format!("{} bytes, more than warden reads", m.len()))
            }
            Ok(_) => std::fs::read(&path).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    };
    match bytes.and_then(|b| {
        judge_artifact(&label, &b, None, ArtifactKind::NpmPackage, None).map_err(|e| e.to_string())
    }) {
        Ok(v) => v.apply(c, Origin::Source),
        Err(e) => c.unknown(format!("{label}: {e}")),
    }
}

/// Downloads the tarball a dependency names by URL (through npm's
/// configuration, so a host's credentials apply), verifies it against the
/// lockfile's integrity when there is one, and reads it like any tarball.
/// npm runs no `prepare` for a tarball. Without a lockfile integrity, the
/// digest of what was read pins the install.
async fn check_url(c: &mut Assessment, client: &NpmClient, url: &str, name: &str) {
    let shown = warden_registry::redact_text(url);
    let label = format!("npm:{name} ({shown})");
    let parsed = match warden_registry::RedactedUrl::parse(url) {
        Ok(u) => u,
        Err(e) => {
            c.unknown(format!("{label}: {e}"));
            return;
        }
    };
    let expected = c
        .package
        .integrity
        .as_deref()
        .map(|i| Expected::Sri(i.to_owned()));
    match client.get(name, &parsed, "application/octet-stream").await {
        Ok(r) => match judge_artifact(
            &label,
            &r.body,
            expected.as_ref(),
            ArtifactKind::NpmPackage,
            None,
        ) {
            Ok(v) => {
                v.apply(c, Origin::Registry);
                if c.package.integrity.is_none() {
                    c.package.integrity = Some(warden_archive::sri_sha512(&r.body));
                }
            }
            Err(e) => c.archive_error(&e),
        },
        Err(e) => c.unknown(format!("{label}: {e}")),
    }
}

/// Checks out a git dependency at the commit the plan locked (`git+URL#commit`),
/// running nothing from it, and reads it like a folder.
fn check_git(c: &mut Assessment, spec: &str, name: &str) {
    let shown = warden_registry::redact_text(spec);
    let url = spec.strip_prefix("git+").unwrap_or(spec);
    let (repo, rev) = match url.split_once('#') {
        Some((r, v)) => (r, Some(v).filter(|v| !v.is_empty())),
        None => (url, None),
    };
    if !repo.contains("://") {
        c.unknown(format!(
            "npm:{name}: the git source `{shown}` is not a URL warden can check out"
        ));
        return;
    }
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            c.unknown(format!("npm:{name}: {e}"));
            return;
        }
    };
    match warden_guard::git::checkout(repo, rev, &dir.path().join("checkout")) {
        Ok(_) => check_local(c, dir.path(), "checkout", name),
        Err(e) => c.unknown(format!("npm:{name} ({shown}): {e}")),
    }
}

/// Installing a checked plan into a project.
struct Install<'a> {
    npm: &'a str,
    project: &'a Path,
    /// The user's options that shape the install, each one word.
    flags: Vec<String>,
    settings: Settings<'a>,
    /// npm's global configuration file, to which the approved packages
    /// are added for `npm rebuild`.
    global_npmrc: Option<&'a Path>,
}

impl Install<'_> {
    /// Runs `npm <args> <the user's install options>` in the project, in
    /// `env` alone when given, and waits for it (interruptibly).
    async fn npm(&self, args: &[&str], env: Option<Vec<(String, String)>>) -> Result<u8, Error> {
        let mut cmd = Command::new(self.npm);
        cmd.args(args)
            .args(&self.flags)
            .current_dir(self.project)
            .stdout(self.settings.tool_stdout());
        if let Some(env) = env {
            cmd.env_clear().envs(env);
        }
        Ok(exit_code(wait_interruptible(cmd).await?))
    }

    /// Writes the checked manifest and lockfile into the project, installs
    /// exactly that lockfile with scripts off, runs the approved packages'
    /// scripts, then the project's own. Until npm has succeeded, the
    /// project's files and `node_modules` can be put back: on a failure,
    /// an error or an interrupt they are.
    async fn run(
        &self,
        manifest: Option<&[u8]>,
        lockfile: Option<&WrittenLock>,
        allow_scripts: &[String],
        own_scripts: &[String],
    ) -> Result<u8, Error> {
        let restore = Restore::new(self.project)?;
        if let Some(m) = manifest {
            restore.write("package.json", m)?;
        }
        if let Some(lock) = lockfile {
            restore.write(lock.name, &lock.bytes)?;
        }
        // warden's flags first, each one word: no option of the user's can
        // take one as its value.
        let code = self
            .npm(
                &["ci", "--ignore-scripts=true", "--no-audit", "--no-fund"],
                None,
            )
            .await?;
        if code != 0 {
            return Ok(code);
        }
        if !allow_scripts.is_empty() {
            // npm 11.16 and later keep their own allow-list of packages
            // whose scripts may run (npm 12 runs no others, even on
            // `rebuild`): the packages warden approved are added to a copy
            // of the global configuration, for this rebuild only; the
            // user's files are left as they are.
            let config = tempfile::tempdir().map_err(|e| Error::unavailable(e.to_string()))?;
            let global = config.path().join("npmrc");
            std::fs::write(
                &global,
                allow_scripts_config(self.global_npmrc, allow_scripts),
            )
            .map_err(|e| Error::unavailable(e.to_string()))?;
            // Given both ways: npm takes the environment's word over the
            // command line's for where its global file is.
            let mut env = self.settings.approved_env();
            env.retain(|(k, _)| !k.eq_ignore_ascii_case("npm_config_globalconfig"));
            env.push((
                "npm_config_globalconfig".into(),
                global.display().to_string(),
            ));
            let global = format!("--globalconfig={}", global.display());
            // npm's own advice about scripts it sees unapproved would
            // contradict warden's report, which says why each was skipped.
            let mut rebuild = vec!["rebuild", global.as_str(), "--loglevel=error"];
            rebuild.extend(allow_scripts.iter().map(String::as_str));
            let code = self.npm(&rebuild, Some(env)).await?;
            if code != 0 {
                return Ok(code);
            }
        }
        match lockfile {
            // `npm ci` leaves the lockfile as it was: the pins did their work.
            Some(lock) if lock.put_back => restore.commit_but_files(),
            _ => restore.commit(),
        }
        for script in own_scripts {
            // `--ignore-scripts` keeps npm from adding `pre`/`post` hooks of
            // the script itself: each lifecycle script runs once, in order.
            let code = self
                .npm(&["run", script.as_str(), "--ignore-scripts=true"], None)
                .await?;
            if code != 0 {
                return Ok(code);
            }
        }
        Ok(0)
    }
}

/// npm's global configuration as it is, with `names` added to its
/// `allow-scripts` list.
fn allow_scripts_config(global: Option<&Path>, names: &[String]) -> Vec<u8> {
    let mut text = global
        .and_then(|g| std::fs::read(g).ok())
        .unwrap_or_default();
    if !text.is_empty() && !text.ends_with(b"\n") {
        text.push(b'\n');
    }
    for name in names {
        text.extend_from_slice(format!("allow-scripts[]={name}\n").as_bytes());
    }
    text
}

#[allow(clippy::too_many_arguments)]
async fn check_all(
    client: &NpmClient,
    stash: &Path,
    project: &Path,
    packages: Vec<Planned>,
    baseline: &BTreeMap<String, String>,
    min_age: SignedDuration,
    history_max_age: SignedDuration,
    policy: &Policy,
    gate: &mut dyn Gate,
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
    // And the signing keys of each registry the plan uses, at the same time.
    let mut by_registry: BTreeMap<String, String> = BTreeMap::new();
    for name in query.keys() {
        by_registry
            .entry(
                client
                    .config
                    .registry_for(name)
                    .without_credentials()
                    .to_string(),
            )
            .or_insert_with(|| name.clone());
    }
    let keys = async {
        let mut out = BTreeMap::new();
        for (registry, name) in &by_registry {
            let keys = client
                .signing_keys(name)
                .await
                .map(|k| k.map(|k| k.keys))
                .map_err(|e| e.to_string());
            out.insert(registry.clone(), keys);
        }
        out
    };
    let (advisories, keys) = tokio::join!(client.bulk_advisories(&query), keys);
    let advisories: std::sync::Arc<Result<_, String>> =
        std::sync::Arc::new(advisories.map_err(|e| e.to_string()));
    let keys: std::sync::Arc<SigningKeys> = std::sync::Arc::new(keys);
    let mut tasks = CheckTasks::limited(CONCURRENT_CHECKS);
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
        let keys = std::sync::Arc::clone(&keys);
        let stash = stash.to_path_buf();
        let project = project.to_path_buf();
        tasks.spawn(package_of(&p), move || async move {
            check_one(
                &client,
                cache_dir,
                p,
                baseline,
                min_age,
                history_max_age,
                internal,
                &advisories,
                &keys,
                &stash,
                &project,
            )
            .await
        });
    }
    let mut out = tasks
        .join(
            |package, why| {
                let mut c = Assessment::of(package);
                c.unknown(why);
                c
            },
            |done, total| gate.progress(done, total),
        )
        .await;
    out.sort_by(|a, b| a.package.path.cmp(&b.package.path));
    out
}

/// Packages checked at once, at most: enough to keep every download slot
/// busy while others are read, few enough that the documents and archives
/// they hold stay bounded on a plan of thousands.
const CONCURRENT_CHECKS: usize = 64;

fn package_of(planned: &Planned) -> Package {
    Package {
        name: planned.name.clone(),
        version: planned.version.clone(),
        path: planned.path.clone(),
        integrity: planned.integrity.clone(),
        has_install_script: planned.has_install_script,
    }
}

/// The signing keys of each registry the plan uses, by registry URL
/// (`None`: the registry publishes none).
type SigningKeys = BTreeMap<String, Result<Option<Vec<warden_registry::npm::SigningKey>>, String>>;

#[allow(clippy::too_many_arguments)]
async fn check_one(
    client: &NpmClient,
    cache_dir: Option<PathBuf>,
    planned: Planned,
    baseline: Option<String>,
    min_age: SignedDuration,
    history_max_age: SignedDuration,
    internal: Option<String>,
    advisories: &Result<Option<BTreeMap<String, Vec<warden_registry::npm::Advisory>>>, String>,
    keys: &SigningKeys,
    stash: &Path,
    project: &Path,
) -> Assessment {
    let mut c = Assessment::of(package_of(&planned));
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
            c.finding(Finding::new(
                PlanCode::NonRegistrySource,
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
            // What npm installs from the disk is read like any tarball; a
            // git source is checked out at the locked commit and read the
            // same way, `prepare` included (npm runs it for git sources).
            match &planned.source {
                Source::File(spec) => check_local(&mut c, project, spec, &name),
                Source::Git(spec) => check_git(&mut c, spec, &name),
                Source::Url(url) => check_url(&mut c, client, url, &name).await,
                Source::Registry(_) | Source::Link(_) => {}
            }
            return c;
        }
        Source::Registry(Some(url)) if !url.starts_with(&registry) => {
            c.finding(Finding::new(
                PlanCode::LockfileSourceMismatch,
                Level::Deny,
                format!(
                    "the lockfile resolves it from `{url}`, not the registry configured for it (`{registry}`)"
                ),
                url.clone(),
            ));
        }
        _ => {}
    }
    if let Some(required) = &internal {
        if !registry.starts_with(required.as_str()) {
            c.finding(Finding::new(
                PlanCode::DependencyConfusion,
                Level::Deny,
                format!(
                    "`{name}` must come from `{required}` ([internal]), but resolves from `{registry}`"
                ),
                registry.clone(),
            ));
        }
    }
    match planned.integrity.as_deref() {
        None => c.finding(Finding::new(
            PlanCode::IntegrityMissing,
            Level::Warn,
            "the lockfile has no integrity for it",
            "",
        )),
        Some(i) if !i.contains("sha512-") => c.finding(Finding::new(
            PlanCode::IntegrityWeak,
            Level::Warn,
            "the lockfile's integrity is not sha512",
            i,
        )),
        _ => {}
    }
    // What the document established about this version, kept from an
    // earlier run: with the archive's verdict kept too, no document is
    // needed at all.
    let judged_key = judged_key(
        &registry,
        &planned,
        baseline.as_deref(),
        min_age,
        advisories,
        keys,
    );
    let judged_inputs: Option<Vec<&[u8]>> = judged_key
        .as_ref()
        .map(|parts| parts.iter().map(Vec::as_slice).collect());
    // The archive's verdict, kept by the lockfile's sha512 (which a kept
    // judgement needs): read once, and used below when there is no
    // judgement to go with it.
    let mut kept_verdict = judged_inputs.as_ref().and_then(|_| {
        let locked = Expected::Sri(planned.integrity.clone()?);
        read_verdict(&verdict_path(cache_dir.as_deref(), &locked)?)
    });
    if let (Some(inputs), Some(verdict)) = (&judged_inputs, &kept_verdict) {
        if let Some(kept) =
            warden_guard::judged::recall(cache_dir.as_deref(), inputs, history_max_age)
        {
            verdict.apply(&mut c, Origin::Registry);
            kept.apply(&mut c);
            return c;
        }
    }
    let doc = match client.packument(&name).await {
        Ok(d) => d,
        Err(e) => {
            c.unknown(e.to_string());
            return c;
        }
    };
    let Some(manifest) = doc.versions.get(&version) else {
        c.unknown(format!("npm:{name}@{version} is not on the registry"));
        return c;
    };
    // What the document establishes, apart: kept for later runs when complete.
    let mut part = Assessment::default();
    let dist = manifest.dist.clone().unwrap_or_default();
    if let (Some(locked), Some(published)) = (&planned.integrity, &dist.integrity) {
        if locked != published {
            part.finding(Finding::new(
                PlanCode::IntegrityMismatch,
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
    let cached = kept_verdict.take().or_else(|| {
        expected
            .as_ref()
            .and_then(|e| verdict_path(cache_dir.as_deref(), e))
            .as_deref()
            .and_then(read_verdict)
    });
    // The digest of the bytes checked, to pin a lockfile entry that has
    // none: a cached verdict is kept only under a sha512 SRI.
    let mut checked_sri = match &expected {
        Some(Expected::Sri(sri)) if cached.is_some() => Some(sri.clone()),
        _ => None,
    };
    let checked: Result<ArchiveVerdict, Unchecked> = match cached {
        Some(v) => Ok(v),
        None => match (doc.tarball_url(&version), expected) {
            (Some(url), Some(expected)) => {
                match client.get(&name, &url, "application/octet-stream").await {
                    Ok(r) => {
                        let verdict = judge_artifact(
                            &format!("npm:{name}@{version}"),
                            &r.body,
                            Some(&expected),
                            ArtifactKind::NpmPackage,
                            cache_dir.as_deref(),
                        )
                        .map_err(Unchecked::Read);
                        if verdict.is_err() {
                            // Bytes that fail their digest are not kept for
                            // the next run.
                            client.http.forget(&url, "application/octet-stream");
                        }
                        // Only an entry the lockfile does not pin needs the
                        // digest of what was checked.
                        if planned.integrity.is_none() {
                            checked_sri = Some(warden_archive::sri_sha512(&r.body));
                        }
                        // Verified bytes are handed to npm's cache once
                        // allowed, so npm installs these very bytes without
                        // fetching them again. Kept in cacache's layout.
                        if verdict.is_ok() {
                            let rel = match &expected {
                                Expected::Sri(sri) => crate::cacache_content_path(sri),
                                Expected::Sha1Hex(hex) => crate::cacache_hex_path("sha1", hex),
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
                    Err(e) => Err(Unchecked::Other(e.to_string())),
                }
            }
            _ => Err(Unchecked::Other(format!(
                "npm:{name}@{version}: no tarball or digest to check"
            ))),
        },
    };
    match &checked {
        Ok(v) => {
            v.apply(&mut c, Origin::Registry);
            if c.package.integrity.is_none() {
                c.package.integrity = checked_sri;
            }
        }
        Err(Unchecked::Read(e)) => c.archive_error(e),
        Err(Unchecked::Other(e)) => c.unknown(e.clone()),
    }
    // The registry's signature over the digest the plan pins.
    match keys.get(&registry) {
        Some(Ok(published)) => {
            let check = warden_guard::signature::check_version(
                cache_dir.as_deref(),
                &doc,
                &version,
                planned.integrity.as_deref(),
                published.as_deref(),
            );
            warden_guard::signature::apply(check, &mut part);
        }
        Some(Err(e)) => part.unknown(format!(
            "signature-invalid: the registry's signing keys could not be fetched: {e}"
        )),
        None => part.unknown("signature-invalid: no signing keys were asked for this registry"),
    }
    part.publisher = manifest.npm_user.as_ref().and_then(|u| u.name.clone());
    let advisories = match advisories {
        Ok(all) => Advisories::Known(
            all.as_ref()
                .map(|all| all.get(&name).map(Vec::as_slice).unwrap_or_default()),
        ),
        Err(e) => Advisories::Failed(e.clone()),
    };
    let history = facts::npm(
        client,
        &doc,
        &version,
        baseline.as_deref(),
        checked.as_ref().ok().map(|v| &v.surface),
        min_age,
        advisories,
    )
    .await;
    history.apply(&mut part);
    if let (Some(inputs), Ok(_)) = (&judged_inputs, &checked) {
        if let Some(judged) = warden_guard::judged::Judged::keepable(&part) {
            warden_guard::judged::keep(cache_dir.as_deref(), inputs, &judged, history_max_age);
        }
    }
    warden_guard::judged::merge(part, &mut c);
    c
}

/// The inputs a kept judgement of this package depends on besides its
/// document (see `warden_guard::judged`): `None` when one cannot be kept,
/// because the plan pins no sha512 or the advisories or keys failed.
fn judged_key(
    registry: &str,
    planned: &Planned,
    baseline: Option<&str>,
    min_age: SignedDuration,
    advisories: &Result<Option<BTreeMap<String, Vec<warden_registry::npm::Advisory>>>, String>,
    keys: &SigningKeys,
) -> Option<Vec<Vec<u8>>> {
    let integrity = planned
        .integrity
        .as_deref()
        .filter(|i| i.starts_with("sha512-"))?;
    let advisories = match advisories {
        Ok(all) => serde_json::to_vec(&all.as_ref().map(|all| all.get(&planned.name))).ok()?,
        Err(_) => return None,
    };
    let keys = match keys.get(registry)? {
        Ok(published) => serde_json::to_vec(published).ok()?,
        Err(_) => return None,
    };
    Some(vec![
        b"npm".to_vec(),
        registry.as_bytes().to_vec(),
        planned.name.as_bytes().to_vec(),
        planned.version.as_bytes().to_vec(),
        integrity.as_bytes().to_vec(),
        baseline.unwrap_or_default().as_bytes().to_vec(),
        min_age.as_secs().to_le_bytes().to_vec(),
        advisories,
        keys,
        warden_guard::provenance::root_fingerprint()?.to_vec(),
    ])
}
