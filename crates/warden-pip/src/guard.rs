//! `warden pip`: plan without building anything, check every file, decide
//! by policy, then install exactly the checked files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use jiff::SignedDuration;
use warden_archive::{ArtifactKind, Expected, Limits};
use warden_guard::cache::{ArchiveVerdict, Origin, judge_artifact};
use warden_guard::facts::{self, Platform};
use warden_guard::{
    Assessment, CheckTasks, Ecosystem, Error, Finding, Gate, Package, Phase, PlanCode, Settings,
};
use warden_policy::{Level, Policy};
use warden_registry::pypi::{DistKind, SimpleProject, normalize_name};
use warden_registry::{HttpClient, PipConfig, PypiClient, RedactedUrl};

use crate::{PipCommand, Planned};

mod discover;

/// Rounds of re-planning to steer past releases that are too fresh.
const MAX_STEERING: usize = 6;
/// How a build round runs pip: a build per item, or one for all.
const ONE_BY_ONE: bool = true;
const TOGETHER: bool = false;
/// Rounds of sdists needed by wheels built from sdists.
const MAX_SDIST_ROUNDS: usize = 4;

/// Runs `<program> <args>` (`pip install ...`, `python -m pip download
/// ...`) under guard. The result is the output to print and the exit code.
pub async fn run(
    program: &[String],
    args: &[String],
    http: &HttpClient,
    settings: Settings<'_>,
    gate: &mut dyn Gate,
) -> Result<(String, u8), Error> {
    let policy = settings.policy;
    let cwd = std::env::current_dir().map_err(|e| Error::usage(e.to_string()))?;
    let request = crate::PipRequest::parse(program, args, &cwd);
    if request.command == PipCommand::Other {
        return passthrough(program, args);
    }
    let command = request.command.clone();
    let python = settings.env.var("WARDEN_PYTHON").unwrap_or("python3");
    let config = PipConfig::discover(
        settings.env,
        if command == PipCommand::Install {
            "install"
        } else {
            "download"
        },
        &request.index,
        python,
    )?;
    let client = PypiClient::new(http.clone(), config);
    let min_age = settings.min_age();
    let (pins, hashes) = (&request.pins, &request.hashes);
    let mut pages = Pages::new(client.clone());
    let scratch = tempdir()?;
    // What pip would build (project directories, sdists, VCS URLs) comes
    // out of the plan: warden judges and builds it itself.
    let taken =
        crate::take_sources(&crate::resolver_args(args), &cwd, scratch.path()).map_err(|e| {
            Error::unavailable(e).with_hint(
            "warden guards names from an index, wheels, sdists, project directories and git URLs",
        )
        })?;
    let mut resolver_args = taken.args;
    // Everything built in this run: the checks made before building, the
    // checked files builds may use, and the wheels built.
    let mut built = BuildState {
        checks: Vec::new(),
        verified: tempdir()?,
        dir: tempdir()?,
        wheels: BTreeMap::new(),
        round: Vec::new(),
    };
    resolver_args.push("--find-links".into());
    resolver_args.push(built.dir.path().display().to_string());
    // The wheel tags of the Python installed into, asked of pip once and
    // only when a choice of file depends on them.
    let platform = std::sync::Arc::new({
        let pip = program.to_vec();
        Platform::asking(move || crate::compatible_tags(&pip).ok())
    });
    // Plans and built wheels kept between runs; `None` without a cache.
    let kept = crate::plan_cache::PlanCache::new(
        client.http.options().cache_dir.as_deref(),
        program,
        &settings.env.vars,
        &client.config.files,
    );
    let round = Round {
        program,
        settings,
        client: &client,
        min_age,
        platform: &platform,
        kept: kept.as_ref(),
    };
    // Releases with only an sdist, looked for ahead: placeholders carrying
    // their PKG-INFO let one plan find them all.
    let placeholder_dir = tempdir()?;
    let roots = crate::requirement_lines(&resolver_args, &cwd);
    let mut placeholders = discover::sdist_only(
        &client,
        &mut pages,
        &roots,
        min_age,
        placeholder_dir.path(),
        &platform,
    )
    .await;
    if !placeholders.is_empty() {
        resolver_args.push("--find-links".into());
        resolver_args.push(placeholder_dir.path().display().to_string());
    }
    let mut steering = Steering {
        file: scratch.path().join("warden-constraints.txt"),
        constraints: Vec::new(),
        pins,
        cache: kept.clone(),
        placeholders: placeholder_dir.path().to_path_buf(),
    };
    // Every file checked in this run, by URL: read once, judged in every
    // decision it belongs to.
    let mut files_checked = Checks::default();
    let checks = PlanChecks {
        client: &client,
        policy,
        hashes,
        min_age,
        platform: &platform,
    };

    // Editable projects: installed in place once their dependencies are.
    let mut editables: Vec<(String, String)> = Vec::new();
    if !taken.sources.is_empty() {
        let items = source_items(
            &checks,
            &mut pages,
            &taken.sources,
            built.verified.path(),
            scratch.path(),
        )
        .await?;
        // The rest of the install, planned and checked before anything
        // builds: nothing runs while any of it is denied. What pip cannot
        // plan without the sources built is checked once they are.
        let mut known = Vec::new();
        if !roots.is_empty() {
            gate.step("planning: pip's resolver, from published wheels (nothing is built)");
            match steering
                .plan(program, &resolver_args, &mut pages, min_age)
                .await
            {
                Ok(plan) => {
                    let plan = with_sdists(&plan, &placeholders);
                    known = files_checked.check(&checks, &mut pages, &plan).await;
                }
                Err(e) => tracing::debug!("the plan before building: {e}"),
            }
        }
        match round
            .build(gate, &mut pages, items, &known, ONE_BY_ONE, &mut built)
            .await?
        {
            Some(stop) => return Ok(stop),
            None => {
                for (source, wheel) in taken.sources.iter().zip(&built.round) {
                    resolver_args.push(format!(
                        "{}{}",
                        built.dir.path().join(wheel).display(),
                        source.extras
                    ));
                    if let crate::Source::Local {
                        path,
                        editable: true,
                    } = &source.source
                    {
                        editables.push((
                            format!("{}{}", path.display(), source.extras),
                            wheel.clone(),
                        ));
                    }
                }
            }
        }
    }

    // Plan, steered past releases younger than the minimum age; build what
    // only publishes sdists once everything else planned is allowed too.
    let mut plan = Vec::new();
    let mut sdist_rounds = 0;
    // In a dry run, the placeholders that stand in for checked sdists.
    let mut stand_ins: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    // A dry run of sources alone built nothing: there is nothing to plan.
    let rounds = if settings.dry_run && crate::requirement_lines(&resolver_args, &cwd).is_empty() {
        0
    } else {
        MAX_STEERING + MAX_SDIST_ROUNDS
    };
    for _ in 0..rounds {
        gate.step("planning: pip's resolver, from published wheels (nothing is built)");
        match steering
            .plan(program, &resolver_args, &mut pages, min_age)
            .await
        {
            Ok(p) => {
                plan = p;
                // The placeholders the plan picked: their sdists are judged
                // and built now, and the plan holds if the built wheels
                // declare what the placeholders did.
                let picked: Vec<(usize, discover::Placeholder)> = plan
                    .iter()
                    .enumerate()
                    .filter_map(|(i, p)| placeholders.remove(&p.filename).map(|ph| (i, ph)))
                    .collect();
                if picked.is_empty() {
                    break;
                }
                let rest: Vec<Planned> = plan
                    .iter()
                    .filter(|p| !picked.iter().any(|(_, ph)| ph.wheel == p.filename))
                    .filter(|p| !built.wheels.contains_key(&p.filename))
                    .cloned()
                    .collect();
                let known = files_checked.check(&checks, &mut pages, &rest).await;
                let mut items = Vec::new();
                for (i, ph) in &picked {
                    // A dry run builds nothing: the placeholder stands in.
                    if !settings.dry_run {
                        let _ = std::fs::remove_file(placeholder_dir.path().join(&ph.wheel));
                    }
                    let sdist = Planned {
                        requested: plan[*i].requested,
                        ..ph.sdist.clone()
                    };
                    items.push(
                        judge_sdist(&checks, &mut pages, &sdist, built.verified.path()).await?,
                    );
                }
                if let Some(stop) = round
                    .build(gate, &mut pages, items, &known, TOGETHER, &mut built)
                    .await?
                {
                    return Ok(stop);
                }
                if settings.dry_run {
                    stand_ins.extend(picked.into_iter().map(|(_, ph)| ph.wheel));
                    break;
                }
                let mut holds = true;
                for (i, ph) in &picked {
                    match built_from(&built, &ph.sdist) {
                        Some((wheel, metadata))
                            if crate::same_dependencies(&ph.metadata, &metadata) =>
                        {
                            let p = &mut plan[*i];
                            p.url = format!("file://{}", built.dir.path().join(&wheel).display());
                            p.filename = wheel;
                            p.sha256 = None;
                        }
                        // pip plans again, with the built wheel.
                        _ => holds = false,
                    }
                }
                if holds {
                    break;
                }
            }
            // Only sdists publish these: judge them, and build them once
            // allowed; their wheels may need further sdists.
            Err(crate::Error::Resolve {
                sdist_only,
                message,
                ..
            }) if !sdist_only.is_empty() => {
                // Whether they are sdist only is the index's word, not
                // pip's: a wheel pip missed means pip could not read it.
                let compatible: std::collections::HashSet<&str> = platform
                    .get()
                    .await
                    .ok_or_else(|| {
                        Error::unavailable(format!(
                            "{message}\n`pip debug --verbose` listed no compatible tags"
                        ))
                        .with_hint(
                            "warden builds only what the index publishes as source alone, and could not tell",
                        )
                    })?
                    .iter()
                    .map(String::as_str)
                    .collect();
                let missed = wheels_pip_missed(&mut pages, &sdist_only, &compatible).await;
                if !missed.is_empty() {
                    return Err(Error::unavailable(format!(
                        "pip found no wheel for {}, though the index lists one it can install: {message}",
                        missed.join(", ")
                    ))
                    .with_hint("the index failed pip, or changed while warden checked: run again; nothing was built"));
                }
                sdist_rounds += 1;
                if sdist_rounds > MAX_SDIST_ROUNDS {
                    return Err(Error::unavailable(message).with_hint(format!(
                        "sdists built here keep needing further sdists; warden stops after {MAX_SDIST_ROUNDS} rounds"
                    )));
                }
                let mut items = index_sdists(
                    &checks,
                    &mut pages,
                    &sdist_only,
                    &message,
                    built.verified.path(),
                )
                .await?;
                let mut plan_ends = false;
                // A dry run builds nothing: placeholders made from the
                // checked sdists' PKG-INFO let pip plan the rest.
                if settings.dry_run {
                    for item in &mut items {
                        let placeholder = std::fs::read(&item.target)
                            .ok()
                            .and_then(|b| crate::sdist_metadata(&item.checked.package.path, &b))
                            .and_then(|(m, _)| crate::placeholder_wheel(&m).ok());
                        if let Some((wheel, bytes)) = placeholder {
                            std::fs::write(placeholder_dir.path().join(&wheel), bytes)
                                .map_err(|e| Error::unavailable(e.to_string()))?;
                            stand_ins.insert(wheel);
                        } else {
                            item.checked.unknown(
                                "dry run: its metadata could not be read, so the rest of the plan is not known",
                            );
                            plan_ends = true;
                        }
                    }
                    if !resolver_args.contains(&placeholder_dir.path().display().to_string()) {
                        resolver_args.push("--find-links".into());
                        resolver_args.push(placeholder_dir.path().display().to_string());
                    }
                }
                if let Some(stop) = round
                    .build(gate, &mut pages, items, &[], TOGETHER, &mut built)
                    .await?
                {
                    return Ok(stop);
                }
                if plan_ends {
                    break;
                }
            }
            // pip's resolver compared the files with the requirements'
            // hashes and they differ: that is a verdict, not a failure.
            Err(crate::Error::Resolve { message, .. })
                if message.contains("DO NOT MATCH THE HASHES") =>
            {
                let mut checked = std::mem::take(&mut built.checks);
                checked.extend(hash_mismatches(&message, hashes));
                return match gate.gate(Ecosystem::Pypi, &checked, Phase::Install) {
                    Err(stop) => Ok((stop.output, stop.code)),
                    // Allowed by an entry: pip still refuses these files.
                    Ok(_) => {
                        gate.finished(77);
                        Err(Error::unavailable(
                            "pip refuses files that do not match the hashes in the requirements",
                        ))
                    }
                };
            }
            Err(e) => {
                return Err(Error::unavailable(e.to_string())
                    .with_hint("pip could not plan the install from published wheels; check the requirement and the index"));
            }
        }
    }

    // The sdists a dry run's placeholders stand for were checked already.
    plan.retain(|p| !stand_ins.contains(&p.filename));
    let placeholder_url = format!("file://{}", placeholder_dir.path().display());
    if let Some(p) = plan.iter().find(|p| p.url.starts_with(&placeholder_url)) {
        return Err(Error::unavailable(format!(
            "pip's plan still needs `{}` built from its sdist after {} rounds",
            p.name,
            MAX_STEERING + MAX_SDIST_ROUNDS
        )));
    }
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut checked = std::mem::take(&mut built.checks);
    let (from_builds, to_check): (Vec<Planned>, Vec<Planned>) = plan
        .iter()
        .cloned()
        .partition(|p| built.wheels.contains_key(&p.filename));
    for p in from_builds {
        // Built here from an sdist that was checked before building.
        if let Some(bytes) = built.wheels.get(&p.filename) {
            files.insert(p.filename.clone(), bytes.clone());
        }
    }
    gate.step(&format!(
        "checking {} file{}",
        to_check.len(),
        if to_check.len() == 1 { "" } else { "s" }
    ));
    checked.extend(files_checked.check(&checks, &mut pages, &to_check).await);
    for p in &to_check {
        if let Some(b) = files_checked.take_bytes(&p.url) {
            files.insert(p.filename.clone(), b);
        }
    }
    if let Err(stop) = gate.gate(Ecosystem::Pypi, &checked, Phase::Install) {
        return Ok((stop.output, stop.code));
    }
    let code = install(
        program, args, settings, &cwd, command, &plan, &files, &editables, &built,
    )?;
    gate.finished(code);
    Ok((String::new(), code))
}

/// Installs exactly the checked files, by hash, from a private directory
/// (or, for `download` and `wheel`, puts them where pip would), then the
/// user's editable projects in place.
#[allow(clippy::too_many_arguments)]
fn install(
    program: &[String],
    args: &[String],
    settings: Settings<'_>,
    cwd: &Path,
    command: PipCommand,
    plan: &[Planned],
    files: &BTreeMap<String, Vec<u8>>,
    editables: &[(String, String)],
    built: &BuildState,
) -> Result<u8, Error> {
    // Only the checked bytes, by hash, from a private directory.
    let dir = tempdir()?;
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes)
            .map_err(|e| Error::unavailable(e.to_string()))?;
    }
    match command {
        PipCommand::Fetch { dest } => {
            let dest = cwd.join(dest.unwrap_or_default());
            std::fs::create_dir_all(&dest).map_err(|e| Error::unavailable(e.to_string()))?;
            for (name, bytes) in files {
                std::fs::write(dest.join(name), bytes)
                    .map_err(|e| Error::unavailable(e.to_string()))?;
            }
            Ok(0)
        }
        _ => {
            let pinned: Vec<(String, String, String)> = plan
                .iter()
                .filter(|p| !editables.iter().any(|(_, wheel)| *wheel == p.filename))
                .filter_map(|p| {
                    // Wheels built here from checked sdists are hashed here.
                    let sha = p
                        .sha256
                        .clone()
                        .or_else(|| files.get(&p.filename).map(|b| sha256_hex(b)))?;
                    Some((p.name.clone(), p.version.clone(), sha))
                })
                .collect();
            let env = settings.approved_env();
            let status = crate::install_pinned(
                program,
                dir.path(),
                &pinned,
                &crate::install_flags(args),
                &env,
                settings.tool_stdout(),
            )
            .map_err(|e| Error::unavailable(e.to_string()))?;
            if !status.success() || editables.is_empty() {
                return Ok(exit_code(status));
            }
            // The user's own projects, in place. Their dependencies are
            // installed; their builds see only the checked files.
            let status = run_pip(program, &env, settings, |cmd| {
                cmd.args(["install", "--no-index", "--no-deps", "--find-links"])
                    .arg(built.verified.path())
                    .args(editables.iter().flat_map(|(path, _)| ["-e", path.as_str()]))
                    .args(crate::install_flags(args));
            })?;
            Ok(exit_code(status))
        }
    }
}

/// The files pip's resolver found not to match the requirements' hashes,
/// each an `integrity-mismatch` (pip names them `name==version from url:`).
fn hash_mismatches(message: &str, pinned: &BTreeMap<String, Vec<String>>) -> Vec<Assessment> {
    let mut out: Vec<Assessment> = Vec::new();
    let lines: Vec<&str> = message.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some((req, url)) = line
            .trim()
            .strip_suffix(':')
            .and_then(|l| l.split_once(" from "))
        else {
            continue;
        };
        let (name, version) = req.split_once("==").unwrap_or((req, ""));
        let name = normalize_name(name);
        let detail: Vec<&str> = lines.iter().skip(i + 1).take(2).map(|l| l.trim()).collect();
        let expected = detail
            .iter()
            .find_map(|l| l.strip_prefix("Expected sha256 "))
            .map(|h| h.trim().to_ascii_lowercase());
        let mut a = Assessment::of(Package {
            name: name.clone(),
            version: version.to_owned(),
            path: url.rsplit('/').next().unwrap_or(url).to_owned(),
            integrity: None,
            has_install_script: false,
        });
        // A hash the user pinned is policy: a file that differs is denied.
        // One the index publishes is the index's word about its own file:
        // bytes that differ could not be verified, as for npm.
        let user_pinned = expected
            .as_ref()
            .is_some_and(|e| pinned.get(&name).is_some_and(|h| h.contains(e)));
        if user_pinned {
            a.finding(Finding::new(
                PlanCode::IntegrityMismatch,
                Level::Deny,
                "the file on the index does not match the hash in the requirements",
                detail.join(", "),
            ));
        } else {
            a.unknown(format!(
                "the file served does not match the sha256 the index publishes for it: {}",
                detail.join(", ")
            ));
        }
        out.push(a);
    }
    if out.is_empty() {
        let mut a = Assessment::of(Package {
            name: "requirements".to_owned(),
            ..Package::default()
        });
        a.finding(Finding::new(
            PlanCode::IntegrityMismatch,
            Level::Deny,
            "the files on the index do not match the hashes in the requirements",
            message.lines().take(8).collect::<Vec<_>>().join(" / "),
        ));
        out.push(a);
    }
    out
}

/// Runs pip with the user's arguments, unchanged: a command warden does
/// not guard.
fn passthrough(program: &[String], args: &[String]) -> Result<(String, u8), Error> {
    let (p, prefix) = program
        .split_first()
        .ok_or_else(|| Error::usage("no package manager to run"))?;
    let status = Command::new(p)
        .args(prefix)
        .args(args)
        .status()
        .map_err(|e| Error::unavailable(format!("could not run `{p}`: {e}")))?;
    Ok((String::new(), exit_code(status)))
}

fn exit_code(status: std::process::ExitStatus) -> u8 {
    u8::try_from(status.code().unwrap_or(1)).unwrap_or(1)
}

/// Runs pip (`program` may be `python -m pip`) with the arguments `args`
/// adds, in `env` only, its output where the report wants it.
fn run_pip(
    program: &[String],
    env: &[(String, String)],
    settings: Settings<'_>,
    args: impl FnOnce(&mut Command),
) -> Result<std::process::ExitStatus, Error> {
    let (pip, prefix) = program
        .split_first()
        .ok_or_else(|| Error::usage("no pip to run"))?;
    let mut cmd = Command::new(pip);
    cmd.args(prefix);
    args(&mut cmd);
    warden_guard::log_command(&cmd);
    cmd.env_clear()
        .envs(env.iter().cloned())
        .stdout(settings.tool_stdout())
        .status()
        .map_err(|e| Error::unavailable(format!("could not run `{pip}`: {e}")))
}

fn tempdir() -> Result<tempfile::TempDir, Error> {
    tempfile::tempdir().map_err(|e| Error::unavailable(e.to_string()))
}

/// Project pages of every configured index, fetched once.
struct Pages {
    client: PypiClient,
    /// normalised name -> (index, page) for each index that has it.
    pages: BTreeMap<String, Vec<(RedactedUrl, SimpleProject)>>,
    /// normalised name -> the indexes whose page could not be read (a
    /// fault, not "not there"), with the error.
    failed: BTreeMap<String, Vec<String>>,
}

impl Pages {
    fn new(client: PypiClient) -> Self {
        Self {
            client,
            pages: BTreeMap::new(),
            failed: BTreeMap::new(),
        }
    }

    async fn get(&mut self, name: &str) -> &[(RedactedUrl, SimpleProject)] {
        let key = normalize_name(name);
        if !self.pages.contains_key(&key) {
            let (found, failed) = Self::fetch(&self.client, name).await;
            self.pages.insert(key.clone(), found);
            self.failed.insert(key.clone(), failed);
        }
        self.pages.get(&key).map(Vec::as_slice).unwrap_or_default()
    }

    /// The indexes whose page for `name` could not be read.
    fn failures(&self, name: &str) -> Vec<String> {
        self.failed
            .get(&normalize_name(name))
            .cloned()
            .unwrap_or_default()
    }

    /// Fetches the pages of `names` not fetched yet, several at a time.
    async fn prefetch(&mut self, names: Vec<String>) {
        let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(CONCURRENT_CHECKS));
        let mut tasks = tokio::task::JoinSet::new();
        let mut asked = std::collections::BTreeSet::new();
        for name in names {
            let key = normalize_name(&name);
            if self.pages.contains_key(&key) || !asked.insert(key.clone()) {
                continue;
            }
            let client = self.client.clone();
            let limit = std::sync::Arc::clone(&limit);
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                (key, Self::fetch(&client, &name).await)
            });
        }
        while let Some(joined) = tasks.join_next().await {
            // A task that did not finish is fetched again when asked for.
            if let Ok((key, (found, failed))) = joined {
                self.pages.insert(key.clone(), found);
                self.failed.insert(key, failed);
            }
        }
    }

    /// `name`'s page on each configured index that has it, and the
    /// indexes that could not say.
    async fn fetch(
        client: &PypiClient,
        name: &str,
    ) -> (Vec<(RedactedUrl, SimpleProject)>, Vec<String>) {
        let mut found = Vec::new();
        let mut failed = Vec::new();
        for index in client.config.indexes() {
            match client.project(index, name).await {
                Ok(page) => found.push((index.clone(), page)),
                Err(warden_registry::Error::NotFound { .. }) => {}
                Err(e) => failed.push(format!("{index}: {e}")),
            }
        }
        (found, failed)
    }

    async fn upload_time(&mut self, name: &str, filename: &str) -> Option<jiff::Timestamp> {
        self.get(name)
            .await
            .iter()
            .flat_map(|(_, p)| &p.files)
            .find(|f| f.filename == filename)
            .and_then(|f| f.upload_time)
    }
}

/// Checks at once, at most: downloads in flight and archives read.
const CONCURRENT_CHECKS: usize = 8;

/// `check_one` for each of `items`, several at a time (reading archives
/// and running the rules is the larger part); results in `items`' order.
/// A check that did not finish is reported as unknown.
async fn check_many(
    with: &PlanChecks<'_>,
    pages: &mut Pages,
    items: &[Planned],
) -> Vec<(Assessment, Option<Vec<u8>>)> {
    let policy = std::sync::Arc::new(with.policy.clone());
    let hashes = std::sync::Arc::new(with.hashes.clone());
    let min_age = with.min_age;
    let mut tasks = CheckTasks::limited(CONCURRENT_CHECKS);
    pages
        .prefetch(items.iter().map(|p| p.name.clone()).collect())
        .await;
    for (i, p) in items.iter().enumerate() {
        let found = pages.get(&p.name).await.to_vec();
        let failed = pages.failures(&p.name);
        let client = with.client.clone();
        let policy = std::sync::Arc::clone(&policy);
        let hashes = std::sync::Arc::clone(&hashes);
        let platform = std::sync::Arc::clone(with.platform);
        let p = p.clone();
        tasks.spawn(i, move || async move {
            let plan = PlanChecks {
                client: &client,
                policy: &policy,
                hashes: &hashes,
                min_age,
                platform: &platform,
            };
            (i, check_one(&plan, (found, failed), &p).await)
        });
    }
    let mut done: BTreeMap<usize, (Assessment, Option<Vec<u8>>)> = tasks
        .join(
            |i, why| {
                let mut c = items.get(i).map(unchecked).unwrap_or_default();
                c.unknown(why);
                (i, (c, None))
            },
            |_, _| {},
        )
        .await
        .into_iter()
        .collect();
    items
        .iter()
        .enumerate()
        .map(|(i, p)| {
            done.remove(&i).unwrap_or_else(|| {
                let mut c = unchecked(p);
                c.unknown("the check did not finish");
                (c, None)
            })
        })
        .collect()
}

/// A planned file, before anything is known about it.
fn unchecked(p: &Planned) -> Assessment {
    Assessment {
        package: Package {
            name: normalize_name(&p.name),
            version: p.version.clone(),
            path: p.filename.clone(),
            integrity: p.sha256.as_ref().map(|h| format!("sha256:{h}")),
            has_install_script: !p.filename.ends_with(".whl"),
        },
        ..Assessment::default()
    }
}

/// Checks one planned file; `found` is its project's pages on every
/// configured index.
async fn check_one(
    with: &PlanChecks<'_>,
    (found, failed): (Vec<(RedactedUrl, SimpleProject)>, Vec<String>),
    p: &Planned,
) -> (Assessment, Option<Vec<u8>>) {
    let PlanChecks {
        client,
        policy,
        hashes,
        min_age,
        platform,
    } = *with;
    let name = normalize_name(&p.name);
    let mut c = unchecked(p);
    // An index that could not be read may hold the same name with other
    // files: whether this is dependency confusion is not known.
    for f in failed {
        c.unknown(format!(
            "dependency-confusion: a configured index could not be read: {f}"
        ));
    }
    if p.is_direct {
        c.findings.push(Finding::new(
            PlanCode::NonRegistrySource,
            if p.requested {
                Level::Warn
            } else {
                Level::Deny
            },
            "installed from a URL, not an index: who published it cannot be checked",
            p.url.clone(),
        ));
    }
    if let (Some(want), Some(got)) = (hashes.get(&name), &p.sha256) {
        if !want.iter().any(|h| h.eq_ignore_ascii_case(got)) {
            c.findings.push(Finding::new(
                PlanCode::IntegrityMismatch,
                Level::Deny,
                "the requirements file pins other hashes than the index publishes",
                format!("requirements {}, index sha256:{got}", want.join(" / ")),
            ));
        }
    }
    // Where the planned file is listed, and whether other indexes have the
    // same name with other files.
    let serving: Vec<&(RedactedUrl, SimpleProject)> = found
        .iter()
        .filter(|(_, page)| page.files.iter().any(|f| f.filename == p.filename))
        .collect();
    if found.len() > 1 {
        let others: Vec<String> = found
            .iter()
            .filter(|(_, page)| {
                !page.files.iter().any(|f| {
                    f.filename == p.filename && f.hashes.get("sha256") == p.sha256.as_ref()
                })
            })
            .map(|(i, _)| i.to_string())
            .collect();
        if !others.is_empty() {
            c.findings.push(Finding::new(
                PlanCode::DependencyConfusion,
                Level::Deny,
                format!(
                    "`{name}` is published on more than one configured index, with different files"
                ),
                format!(
                    "installing {} from {}; also on {}",
                    p.filename,
                    serving
                        .first()
                        .map(|(i, _)| i.to_string())
                        .unwrap_or_default(),
                    others.join(", ")
                ),
            ));
        }
    }
    if let Some(required) = policy.internal_registry("pypi", &name) {
        if !serving
            .iter()
            .any(|(i, _)| i.to_string().starts_with(required))
        {
            c.findings.push(Finding::new(
                PlanCode::DependencyConfusion,
                Level::Deny,
                format!("`{name}` must come from `{required}` ([internal])"),
                p.url.clone(),
            ));
        }
    }
    let local = p.url.starts_with("file://");
    if local && !p.is_direct {
        c.findings.push(Finding::new(
            PlanCode::NonRegistrySource,
            Level::Warn,
            "from a local directory (--find-links), not an index: who published it cannot be checked",
            p.url.clone(),
        ));
    }
    // A file named directly has no published hash: it is pinned by the
    // hash of the bytes checked here.
    if p.sha256.is_none() && !(p.is_direct || local) {
        c.unknown.push(format!(
            "pypi:{name}=={}: pip's plan gives no sha256 for {}",
            p.version, p.filename
        ));
        return (c, None);
    }
    let label = format!("pypi:{name}=={} ({})", p.version, p.filename);
    let fetched = match p.url.strip_prefix("file://") {
        Some(path) => read_local(path),
        None => match RedactedUrl::parse(&p.url) {
            Ok(url) => client
                .http
                .get(
                    &format!("pypi:{name}"),
                    &url,
                    "application/octet-stream",
                    None,
                )
                .await
                .map(|r| r.body)
                .map_err(|e| e.to_string()),
            Err(_) => Err(format!("pypi:{name}: unreadable URL")),
        },
    };
    let bytes = match fetched {
        Ok(b) => b,
        Err(e) => {
            c.unknown.push(e);
            return (c, None);
        }
    };
    let expected = p.sha256.clone().map(Expected::Sha256Hex);
    if expected.is_none() {
        c.package.integrity = Some(format!("sha256:{}", sha256_hex(&bytes)));
    }
    let hint = if p.filename.ends_with(".whl") {
        ArtifactKind::Wheel
    } else {
        ArtifactKind::Sdist
    };
    let cache_dir = client.http.options().cache_dir.clone();
    let Some(verdict) = judge(
        &mut c,
        &label,
        &bytes,
        expected.as_ref(),
        hint,
        cache_dir.as_deref(),
    ) else {
        // Bytes that fail their digest or cannot be read are not kept for
        // the next run.
        if let Ok(url) = RedactedUrl::parse(&p.url) {
            client.http.forget(&url, "application/octet-stream");
        }
        return (c, None);
    };
    // Who published a file that came from no index cannot be asked: the
    // non-registry-source finding says so.
    if !(p.is_direct || local) {
        history(
            client,
            &mut c,
            serving.first().map(|(i, page)| (i, page)),
            &p.version,
            &verdict.surface,
            min_age,
            platform,
        )
        .await;
    }
    (c, Some(bytes))
}

/// Verifies and reads an artifact (or takes the verdict on these exact
/// bytes from the cache), and adds what the rules found to `c`. `None`
/// (with the reason in `c.unknown`) when it cannot be read.
fn judge(
    c: &mut Assessment,
    label: &str,
    bytes: &[u8],
    expected: Option<&Expected>,
    hint: ArtifactKind,
    cache_dir: Option<&Path>,
) -> Option<ArchiveVerdict> {
    match judge_artifact(label, bytes, expected, hint, cache_dir) {
        Ok(v) => {
            v.apply(c, Origin::Source);
            Some(v)
        }
        Err(e) => {
            c.archive_error(&e);
            None
        }
    }
}

/// A file named by a `file://` URL, up to the size warden reads.
fn read_local(path: &str) -> Result<Vec<u8>, String> {
    let path = Path::new(path);
    let size = std::fs::metadata(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .len();
    if size > Limits::default().max_total {
        return Err(format!(
            "{}: {size} bytes, more than warden reads",
            path.display()
        ));
    }
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

async fn history(
    client: &PypiClient,
    c: &mut Assessment,
    source: Option<(&RedactedUrl, &SimpleProject)>,
    version: &str,
    surface: &facts::SurfaceFacts,
    min_age: SignedDuration,
    platform: &Platform,
) {
    let Some((index, page)) = source else {
        c.unknown.push(format!(
            "pypi:{}: no configured index lists this file",
            c.package.name
        ));
        return;
    };
    // Provenance that cannot be fetched is not provenance that is absent.
    let provenance = match facts::fetch_provenance(client, &page.name, page, version).await {
        Ok(p) => {
            for m in &p.missing {
                c.unknown(format!(
                    "provenance-dropped: the index lists provenance for {m} but does not serve it"
                ));
            }
            p
        }
        Err(e) => {
            c.unknown(format!(
                "provenance-dropped: the provenance could not be fetched: {e}"
            ));
            facts::FetchedProvenance::default()
        }
    };
    facts::pypi(
        client,
        index,
        page,
        &provenance,
        version,
        None,
        Some(surface),
        min_age,
        platform,
    )
    .await
    .apply(c);
}

/// pip's plan, steered past releases younger than the minimum age: a range
/// that picked one is planned again without it (an exact pin stays, and is
/// judged `release-too-fresh`).
struct Steering<'a> {
    file: PathBuf,
    constraints: Vec<String>,
    pins: &'a BTreeMap<String, String>,
    /// Plans kept between runs; `None` without a cache.
    cache: Option<crate::plan_cache::PlanCache>,
    /// This run's folder of placeholders for sdist-only releases.
    placeholders: PathBuf,
}

impl Steering<'_> {
    /// pip's resolution of `args`: the plan kept from an earlier run when
    /// everything it read is unchanged (`plan_cache`), else pip's.
    async fn resolve(
        &self,
        program: &[String],
        args: &[String],
        constraints: Option<&Path>,
        pages: &mut Pages,
    ) -> Result<Vec<Planned>, crate::Error> {
        let Some(cache) = &self.cache else {
            return crate::plan(program, args, constraints);
        };
        let key = cache.key(args, constraints);
        if let Some(kept) = cache.load(&key, Some(&self.placeholders)) {
            pages.prefetch(kept.pages.keys().cloned().collect()).await;
            let mut same = true;
            for (name, digest) in &kept.pages {
                let now = crate::plan_cache::page_digest(pages.get(name).await);
                if now != *digest || !pages.failures(name).is_empty() {
                    same = false;
                    break;
                }
            }
            if same {
                tracing::info!(
                    "planning: pip's plan kept from an earlier run (same inputs, same index pages)"
                );
                return Ok(kept.plan);
            }
        }
        let plan = crate::plan(program, args, constraints)?;
        pages
            .prefetch(plan.iter().map(|p| p.name.clone()).collect())
            .await;
        let mut digests = BTreeMap::new();
        for p in &plan {
            let digest = crate::plan_cache::page_digest(pages.get(&p.name).await);
            digests.insert(normalize_name(&p.name), digest);
        }
        cache.store(&key, &plan, digests, Some(&self.placeholders));
        Ok(plan)
    }

    async fn plan(
        &mut self,
        program: &[String],
        args: &[String],
        pages: &mut Pages,
        min_age: SignedDuration,
    ) -> Result<Vec<Planned>, crate::Error> {
        let mut plan = Vec::new();
        for _ in 0..MAX_STEERING {
            let file = (!self.constraints.is_empty()).then_some(self.file.as_path());
            plan = self.resolve(program, args, file, pages).await?;
            let mut fresh = Vec::new();
            for p in &plan {
                let name = normalize_name(&p.name);
                if self.pins.get(&name).is_some_and(|v| *v == p.version) {
                    continue;
                }
                if let Some(t) = pages.upload_time(&p.name, &p.filename).await {
                    if jiff::Timestamp::now().duration_since(t) < min_age {
                        fresh.push(format!("{name}!={}", p.version));
                    }
                }
            }
            if fresh.is_empty() {
                break;
            }
            self.constraints.extend(fresh);
            std::fs::write(&self.file, self.constraints.join("\n") + "\n")?;
        }
        Ok(plan)
    }
}

/// A plan with each placeholder replaced by the sdist it stands for.
fn with_sdists(
    plan: &[Planned],
    placeholders: &BTreeMap<String, discover::Placeholder>,
) -> Vec<Planned> {
    plan.iter()
        .map(|p| match placeholders.get(&p.filename) {
            Some(ph) => Planned {
                requested: p.requested,
                ..ph.sdist.clone()
            },
            None => p.clone(),
        })
        .collect()
}

/// What checking a plan's files needs.
#[derive(Clone, Copy)]
struct PlanChecks<'a> {
    client: &'a PypiClient,
    policy: &'a Policy,
    /// Hashes the requirements pin, by normalised name.
    hashes: &'a BTreeMap<String, Vec<String>>,
    min_age: SignedDuration,
    /// The wheel tags of the Python installed into.
    platform: &'a std::sync::Arc<Platform>,
}

/// Every file checked in a run, by URL, with its bytes until they are
/// taken for the install: each file is downloaded and read once.
#[derive(Default)]
struct Checks(BTreeMap<String, (Assessment, Option<Vec<u8>>)>);

impl Checks {
    /// The assessments of `items`, checking those not checked yet.
    async fn check(
        &mut self,
        with: &PlanChecks<'_>,
        pages: &mut Pages,
        items: &[Planned],
    ) -> Vec<Assessment> {
        let missing: Vec<Planned> = items
            .iter()
            .filter(|p| !self.0.contains_key(&p.url))
            .cloned()
            .collect();
        let results = check_many(with, pages, &missing).await;
        for (p, result) in missing.iter().zip(results) {
            self.0.insert(p.url.clone(), result);
        }
        items
            .iter()
            .filter_map(|p| self.0.get(&p.url).map(|(a, _)| a.clone()))
            .collect()
    }

    fn take_bytes(&mut self, url: &str) -> Option<Vec<u8>> {
        self.0.get_mut(url).and_then(|(_, b)| b.take())
    }
}

/// Everything built in one run.
struct BuildState {
    /// The checks made before building (the build requirements' too).
    checks: Vec<Assessment>,
    /// Checked sdists and build requirements: all a build can see.
    verified: tempfile::TempDir,
    /// Where built wheels go; pip's plan finds them here.
    dir: tempfile::TempDir,
    /// Built wheels by file name.
    wheels: BTreeMap<String, Vec<u8>>,
    /// The last round's wheels, one per item, in order.
    round: Vec<String>,
}

/// Something pip would build: judged first, built only once allowed.
struct ToBuild {
    checked: Assessment,
    /// An sdist in the verified directory, or a project directory.
    target: PathBuf,
    build_requirements: Vec<String>,
}

/// What a build round needs from the run.
struct Round<'a> {
    program: &'a [String],
    settings: Settings<'a>,
    client: &'a PypiClient,
    min_age: SignedDuration,
    platform: &'a std::sync::Arc<Platform>,
    /// Where wheels built from checked sdists are kept.
    kept: Option<&'a crate::plan_cache::PlanCache>,
}

impl Round<'_> {
    /// Checks the items' build requirements, decides on the items and
    /// them, and builds each item (secrets hidden, from checked files
    /// only). `Some` is the report and exit code when it must stop.
    async fn build(
        &self,
        gate: &mut dyn Gate,
        pages: &mut Pages,
        items: Vec<ToBuild>,
        known: &[Assessment],
        one_by_one: bool,
        built: &mut BuildState,
    ) -> Result<Option<(String, u8)>, Error> {
        let mut checked = Vec::new();
        let mut build_requirements: Vec<String> = Vec::new();
        let mut targets = Vec::new();
        for item in items {
            for r in item.build_requirements {
                if !build_requirements.contains(&r) {
                    build_requirements.push(r);
                }
            }
            targets.push(item.target);
            checked.push(item.checked);
        }
        // Index sdists built by this pip from the same checked bytes before:
        // nothing is built again, and nothing of the build requirements
        // runs. Sources (the user's projects, checkouts, sdists by path) are
        // built every time: what a build of them makes can depend on more
        // than the bytes warden read (a git tag, the files around them).
        let keeps = self.kept.filter(|_| !one_by_one && !self.settings.dry_run);
        let sdists: Vec<Option<Vec<u8>>> = targets
            .iter()
            .map(|t| {
                keeps
                    .filter(|_| t.is_file())
                    .and_then(|_| std::fs::read(t).ok())
            })
            .collect();
        let kept_wheels: Option<Vec<Vec<crate::plan_cache::BuiltWheel>>> = keeps.and_then(|kept| {
            sdists
                .iter()
                .map(|b| b.as_deref().and_then(|b| kept.built(b)))
                .collect()
        });
        if let Some(kept_wheels) = kept_wheels {
            if let Some(stop) = gate_build(gate, built, known, &checked) {
                return Ok(Some(stop));
            }
            tracing::info!(
                "building: {} wheel{} built from the same checked sdist{} before, kept",
                targets.len(),
                if targets.len() == 1 { "" } else { "s" },
                if targets.len() == 1 { "" } else { "s" },
            );
            let mut round = Vec::new();
            for (wheel, bytes) in kept_wheels.into_iter().flatten() {
                std::fs::write(built.dir.path().join(&wheel), &bytes)
                    .map_err(|e| Error::unavailable(e.to_string()))?;
                built.wheels.insert(wheel.clone(), bytes);
                round.push(wheel);
            }
            built.checks.extend(checked);
            built.round = round;
            return Ok(None);
        }
        // Build requirements come from the index too: checked like any
        // package, and the only ones the isolated build can see.
        if !build_requirements.is_empty() {
            let plan = crate::plan(self.program, &build_requirements, None).map_err(|e| {
                Error::unavailable(format!(
                    "the build requirements {build_requirements:?} could not be planned: {e}"
                ))
            })?;
            let no_hashes = BTreeMap::new();
            let with = PlanChecks {
                client: self.client,
                policy: self.settings.policy,
                hashes: &no_hashes,
                min_age: self.min_age,
                platform: self.platform,
            };
            let results = check_many(&with, pages, &plan).await;
            for (p, (c, bytes)) in plan.iter().zip(results) {
                if let Some(b) = bytes {
                    std::fs::write(built.verified.path().join(&p.filename), b)
                        .map_err(|e| Error::unavailable(e.to_string()))?;
                }
                checked.push(c);
            }
        }
        // A dry run builds nothing: what it checked joins the plan's report,
        // and what only a build could tell is said.
        if self.settings.dry_run {
            for (c, target) in checked.iter_mut().zip(&targets) {
                let stands_in = target.starts_with(built.verified.path())
                    && std::fs::read(target)
                        .ok()
                        .and_then(|b| crate::sdist_metadata(&c.package.path, &b))
                        .is_some_and(|(_, known)| known);
                if !stands_in {
                    c.unknown(
                        "dry run: not built, so what it depends on once built is not known or checked",
                    );
                }
            }
            built.checks.extend(checked);
            built.round = Vec::new();
            return Ok(None);
        }
        if let Some(stop) = gate_build(gate, built, known, &checked) {
            return Ok(Some(stop));
        }
        gate.step(&format!(
            "building {} checked source{}",
            targets.len(),
            if targets.len() == 1 { "" } else { "s" }
        ));
        let env = self.settings.approved_env();
        // Sources are built one by one, each into its own directory, so
        // which wheel came from which requirement is known; index sdists
        // (found again by name) in one pip run.
        let groups: Vec<&[PathBuf]> = if one_by_one {
            targets.chunks(1).collect()
        } else {
            vec![&targets[..]]
        };
        let mut round = Vec::new();
        let mut first = 0;
        for group in groups {
            let group_sdists = &sdists[first..first + group.len()];
            first += group.len();
            let out = tempdir()?;
            let status = run_pip(self.program, &env, self.settings, |cmd| {
                cmd.args([
                    "wheel",
                    "--no-deps",
                    "--no-index",
                    "--quiet",
                    "--find-links",
                ])
                .arg(built.verified.path())
                .arg("--wheel-dir")
                .arg(out.path())
                .args(group);
            })?;
            let names = || {
                group
                    .iter()
                    .map(|t| {
                        t.file_name()
                            .unwrap_or_default()
                            .to_string_lossy()
                            .into_owned()
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            if !status.success() {
                return Ok(Some((
                    format!("building {} failed: nothing was installed\n", names()),
                    exit_code(status),
                )));
            }
            let wheels: Vec<String> = std::fs::read_dir(out.path())
                .map_err(|e| Error::unavailable(e.to_string()))?
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".whl"))
                .collect();
            if wheels.len() < group.len() {
                return Err(Error::unavailable(format!(
                    "pip built {} wheels from {}",
                    wheels.len(),
                    names()
                )));
            }
            for wheel in wheels {
                let bytes = std::fs::read(out.path().join(&wheel))
                    .map_err(|e| Error::unavailable(e.to_string()))?;
                std::fs::write(built.dir.path().join(&wheel), &bytes)
                    .map_err(|e| Error::unavailable(e.to_string()))?;
                // Kept under the sdist it was built from, found by name and
                // version (or the only one built).
                let from = group.iter().zip(group_sdists).find(|(t, _)| {
                    group.len() == 1
                        || built_for(&wheel, &t.file_name().unwrap_or_default().to_string_lossy())
                });
                if let (Some(kept), Some((_, Some(sdist)))) = (keeps, from) {
                    kept.keep_built(sdist, &wheel, &bytes);
                }
                built.wheels.insert(wheel.clone(), bytes);
                round.push(wheel);
            }
        }
        built.checks.extend(checked);
        built.round = round;
        Ok(None)
    }
}

/// The decision before a build round, on everything known of the install
/// together: what earlier rounds built, the rest of the plan (`known`),
/// and this round. `Some` is the report and exit code when it must stop.
fn gate_build(
    gate: &mut dyn Gate,
    built: &BuildState,
    known: &[Assessment],
    round: &[Assessment],
) -> Option<(String, u8)> {
    let all: Vec<Assessment> = built
        .checks
        .iter()
        .chain(known)
        .chain(round)
        .cloned()
        .collect();
    gate.gate(Ecosystem::Pypi, &all, Phase::Build)
        .err()
        .map(|stop| (stop.output, stop.code))
}

/// Whether `wheel` has the name and version of the sdist file `sdist`.
fn built_for(wheel: &str, sdist: &str) -> bool {
    let (name, version) = sdist_name_version(sdist);
    wheel_of(wheel, &name, &version)
}

/// Whether the wheel file `wheel` is of release `version` of `name`.
fn wheel_of(wheel: &str, name: &str, version: &str) -> bool {
    let Ok(want) = version.parse::<pep440_rs::Version>() else {
        return false;
    };
    let mut parts = wheel.split('-');
    parts.next().map(normalize_name) == Some(normalize_name(name))
        && parts
            .next()
            .and_then(|v| v.parse::<pep440_rs::Version>().ok())
            .is_some_and(|v| v == want)
}

/// The wheel built in the last round from `sdist`, and its metadata.
fn built_from(built: &BuildState, sdist: &Planned) -> Option<(String, String)> {
    let wheel = built
        .round
        .iter()
        .find(|w| wheel_of(w, &sdist.name, &sdist.version))?;
    let metadata = top_level_text(wheel, built.wheels.get(wheel)?, ".dist-info/METADATA")?;
    Some((wheel.clone(), metadata))
}

/// A requirement pip names (`name>=1.0; marker`): its name, specifiers,
/// and whether it pins one version.
fn requirement_parts(req: &str) -> (String, pep440_rs::VersionSpecifiers, bool) {
    let name: String = req
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .collect();
    let specifiers: pep440_rs::VersionSpecifiers = req[name.len()..]
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .trim_start_matches(|c| c != '<' && c != '>' && c != '=' && c != '!' && c != '~')
        .parse()
        .unwrap_or_else(|_| pep440_rs::VersionSpecifiers::empty());
    let exact = req.contains("==");
    (name, specifiers, exact)
}

/// The requirements pip found no wheel for although the index data warden
/// read lists one this pip installs, in range: pip did not see what the
/// index publishes (a fault), so they are not "sdist only".
async fn wheels_pip_missed(
    pages: &mut Pages,
    requirements: &[String],
    compatible: &std::collections::HashSet<&str>,
) -> Vec<String> {
    let mut missed = Vec::new();
    for req in requirements {
        let (name, specifiers, _) = requirement_parts(req);
        let installable = pages
            .get(&name)
            .await
            .iter()
            .flat_map(|(_, p)| &p.files)
            .any(|f| {
                f.kind == DistKind::Wheel
                    && f.yanked.is_none()
                    && f.version
                        .as_deref()
                        .and_then(|v| v.parse::<pep440_rs::Version>().ok())
                        .is_some_and(|v| specifiers.contains(&v))
                    && crate::wheel_tags(&f.filename)
                        .iter()
                        .any(|t| compatible.contains(t.as_str()))
            });
        if installable {
            missed.push(req.clone());
        }
    }
    missed
}

/// Requirements only published as sdists (pip names them): the newest
/// release each allows that is old enough, downloaded and judged.
async fn index_sdists(
    with: &PlanChecks<'_>,
    pages: &mut Pages,
    requirements: &[String],
    pip_message: &str,
    verified: &Path,
) -> Result<Vec<ToBuild>, Error> {
    let min_age = with.min_age;
    let mut items = Vec::new();
    for req in requirements {
        let (name, specifiers, exact) = requirement_parts(req);
        let found = pages.get(&name).await.to_vec();
        let now = jiff::Timestamp::now();
        let file = found.iter().flat_map(|(_, page)| &page.files).filter(|f| {
            f.kind == DistKind::Sdist
                && f.yanked.is_none()
                && (exact
                    || f.upload_time
                        .is_none_or(|t| now.duration_since(t) >= min_age))
        });
        let best = file
            .filter_map(|f| {
                let v: pep440_rs::Version = f.version.as_deref()?.parse().ok()?;
                (specifiers.contains(&v) && (exact || !v.any_prerelease())).then_some((v, f))
            })
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(v, f)| (v.to_string(), f.clone()));
        let Some((version, file)) = best else {
            return Err(
                Error::unavailable(pip_message.to_owned()).with_hint(format!(
                    "no sdist of `{req}` on the configured indexes is old enough and matches"
                )),
            );
        };
        let planned = Planned {
            name: name.clone(),
            version,
            url: file.url.expose().to_string(),
            filename: file.filename.clone(),
            sha256: file.hashes.get("sha256").cloned(),
            requested: true,
            is_direct: false,
        };
        items.push(judge_sdist(with, pages, &planned, verified).await?);
    }
    Ok(items)
}

/// An sdist from an index, a path or a URL: checked like any file, and
/// kept in the verified directory for its build, with its build
/// requirements.
async fn judge_sdist(
    with: &PlanChecks<'_>,
    pages: &mut Pages,
    planned: &Planned,
    verified: &Path,
) -> Result<ToBuild, Error> {
    let found = pages.get(&planned.name).await.to_vec();
    let no_hashes = BTreeMap::new();
    let with = PlanChecks {
        hashes: &no_hashes,
        ..*with
    };
    let (mut checked, bytes) =
        check_one(&with, (found, pages.failures(&planned.name)), planned).await;
    sdist_finding(&mut checked, &planned.filename);
    let target = verified.join(&planned.filename);
    let build_requirements = match bytes {
        Some(bytes) => {
            std::fs::write(&target, &bytes).map_err(|e| Error::unavailable(e.to_string()))?;
            sdist_build_requirements(&planned.filename, &bytes)
        }
        None => Vec::new(),
    };
    Ok(ToBuild {
        checked,
        target,
        build_requirements,
    })
}

fn sdist_finding(c: &mut Assessment, what: &str) {
    c.findings.push(Finding::new(
        PlanCode::SdistBuild,
        Level::Warn,
        "installing it means building it, which runs its setup.py or build backend",
        what.to_owned(),
    ));
}

/// The requirements taken out of pip's plan: project directories (the
/// user's own code: only their build requirements are checked), sdist
/// archives and VCS checkouts (judged like index sdists).
async fn source_items(
    with: &PlanChecks<'_>,
    pages: &mut Pages,
    sources: &[crate::SourceReq],
    verified: &Path,
    scratch: &Path,
) -> Result<Vec<ToBuild>, Error> {
    let mut items = Vec::new();
    for (n, req) in sources.iter().enumerate() {
        let item = match &req.source {
            crate::Source::Local { path, .. } => {
                let pyproject = std::fs::read_to_string(path.join("pyproject.toml")).ok();
                let build_requirements = crate::build_requirements(pyproject.as_deref())
                    .map_err(|e| Error::unavailable(format!("{}: {e}", path.display())))?;
                let name = path
                    .canonicalize()
                    .ok()
                    .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                    .unwrap_or_else(|| req.text.clone());
                ToBuild {
                    checked: Assessment {
                        package: Package {
                            name,
                            version: "local".into(),
                            path: path.display().to_string(),
                            integrity: None,
                            has_install_script: true,
                        },
                        runs_install_code: true,
                        ..Assessment::default()
                    },
                    target: path.clone(),
                    build_requirements,
                }
            }
            crate::Source::Archive { location } => {
                let url = if location.contains("://") {
                    location.clone()
                } else {
                    format!("file://{location}")
                };
                let filename = url
                    .split(['#', '?'])
                    .next()
                    .and_then(|u| u.rsplit('/').next())
                    .unwrap_or("sdist")
                    .to_owned();
                let (name, version) = sdist_name_version(&filename);
                let planned = Planned {
                    name,
                    version,
                    sha256: url
                        .split_once("#sha256=")
                        .map(|(_, h)| h.to_ascii_lowercase()),
                    url,
                    filename: filename.clone(),
                    requested: true,
                    is_direct: true,
                };
                judge_sdist(with, pages, &planned, verified).await?
            }
            crate::Source::Vcs { url } => {
                let shown = RedactedUrl::parse(
                    url.trim_start_matches(|c| c != '+').trim_start_matches('+'),
                )
                .map_or_else(|_| "<VCS URL>".to_owned(), |u| u.to_string());
                let checkout = crate::git_checkout(url, &scratch.join(format!("vcs-{n}")))
                    .map_err(|e| Error::unavailable(format!("{shown}: {e}")))?;
                // Until the sources name it: the repository's name.
                let name = url
                    .split(['#', '?'])
                    .next()
                    .and_then(|u| u.trim_end_matches('/').rsplit('/').next())
                    .map(|n| n.split('@').next().unwrap_or(n).trim_end_matches(".git"))
                    .filter(|n| !n.is_empty())
                    .map_or_else(|| "vcs".to_owned(), normalize_name);
                let mut c = Assessment {
                    package: Package {
                        name: name.clone(),
                        version: checkout.commit.chars().take(12).collect(),
                        path: shown.clone(),
                        integrity: Some(format!("git:{}", checkout.commit)),
                        has_install_script: true,
                    },
                    findings: vec![Finding::new(
                        PlanCode::NonRegistrySource,
                        Level::Warn,
                        "installed from a VCS URL, not an index: who published it cannot be checked",
                        format!("{shown} at commit {}", checkout.commit),
                    )],
                    runs_install_code: true,
                    ..Assessment::default()
                };
                sdist_finding(&mut c, &shown);
                let label = format!("{shown}@{}", checkout.commit);
                let mut build_requirements = Vec::new();
                match warden_archive::pack_tree(&checkout.project, &name, &Limits::default()) {
                    Ok(bytes) => {
                        if let Some(v) =
                            judge(&mut c, &label, &bytes, None, ArtifactKind::Sdist, None)
                        {
                            if let Some(n) = &v.surface.name {
                                c.package.name = normalize_name(n);
                            }
                            build_requirements = sdist_build_requirements(&label, &bytes);
                        }
                    }
                    Err(e) => c.unknown.push(format!("{label}: {e}")),
                }
                ToBuild {
                    checked: c,
                    target: checkout.project,
                    build_requirements,
                }
            }
        };
        items.push(item);
    }
    Ok(items)
}

/// `name-1.0.tar.gz` -> (`name`, `1.0`), as well as a file name tells.
fn sdist_name_version(filename: &str) -> (String, String) {
    let stem = [".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip"]
        .iter()
        .find_map(|e| filename.strip_suffix(e))
        .unwrap_or(filename);
    match stem.rsplit_once('-') {
        Some((n, v)) => (normalize_name(n), v.to_owned()),
        None => (normalize_name(stem), "unknown".into()),
    }
}

/// What pip installs before building an sdist: its `[build-system]
/// requires`, or setuptools' legacy defaults without one.
fn sdist_build_requirements(label: &str, bytes: &[u8]) -> Vec<String> {
    let Ok(archive) = warden_archive::read(label, bytes, &Limits::default()) else {
        return Vec::new();
    };
    let pyproject = archive
        .entries
        .iter()
        .find(|e| e.path.split('/').count() == 2 && e.path.ends_with("/pyproject.toml"))
        .and_then(|e| e.text());
    crate::build_requirements(pyproject).unwrap_or_default()
}

/// The text of the file one directory down in an archive whose path ends
/// with `suffix` (`name-1.0/PKG-INFO`, `name-1.0.dist-info/METADATA`).
fn top_level_text(label: &str, bytes: &[u8], suffix: &str) -> Option<String> {
    let archive = warden_archive::read(label, bytes, &Limits::default()).ok()?;
    archive
        .entries
        .iter()
        .find(|e| e.path.split('/').count() == 2 && e.path.ends_with(suffix))?
        .text()
        .map(str::to_owned)
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIP_SAYS: &str = "ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE.\n    benign-wheel==1.1 from http://i/files/benign_wheel-1.1-py3-none-any.whl#sha256=aa:\n        Expected sha256 AA\n             Got        bb\n";

    #[test]
    fn a_pinned_hash_that_differs_is_denied_and_an_index_one_is_unknown() {
        let pinned = BTreeMap::from([("benign-wheel".to_owned(), vec!["aa".to_owned()])]);
        let denied = hash_mismatches(PIP_SAYS, &pinned);
        assert_eq!(denied.len(), 1);
        assert_eq!(denied[0].findings[0].code, "integrity-mismatch");
        assert!(denied[0].unknown.is_empty());
        let unknown = hash_mismatches(PIP_SAYS, &BTreeMap::new());
        assert!(unknown[0].findings.is_empty());
        assert!(unknown[0].unknown[0].contains("the index publishes"));
        assert_eq!(unknown[0].package.version, "1.1");
    }
}
