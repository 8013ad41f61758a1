//! `warden pip`: plan without building anything, check every file, decide
//! by policy, then install exactly the checked files.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use jiff::SignedDuration;
use warden_archive::{ArtifactKind, Expected, Limits};
use warden_pip::{PipCommand, Planned};
use warden_policy::{Level, Policy};
use warden_registry::pypi::{DistKind, SimpleProject, normalize_name};
use warden_registry::{IndexArgs, PypiClient, RedactedUrl};

use crate::cli::{GlobalArgs, GuardArgs};
use crate::context::Context;
use crate::exit::{self, Failure};
use crate::guard::{Checked, Decision, Pkg, decide, exit_code, raw, run_through};

/// Rounds of re-planning to steer past releases that are too fresh.
const MAX_STEERING: usize = 6;

pub async fn pip(
    ctx: &Context,
    global: &GlobalArgs,
    args: &GuardArgs,
) -> Result<(String, u8), Failure> {
    let policy = crate::policy::load(global)?;
    let command = warden_pip::classify(&args.args);
    if command == PipCommand::Other {
        return run_through(&args.program, &args.args);
    }
    let cwd = std::env::current_dir().map_err(|e| Failure::new(exit::USAGE, e.to_string()))?;
    let index_args = IndexArgs::from_args(&args.args).with_requirement_files(&cwd);
    let client = ctx.pypi(
        if command == PipCommand::Install {
            "install"
        } else {
            "download"
        },
        &index_args,
    )?;
    let min_age =
        SignedDuration::from_hours(i64::try_from(policy.min_release_age_hours).unwrap_or(48));
    let mut resolver_args = warden_pip::resolver_args(&args.args);
    // sdists judged and built (once allowed) in this run: their checks, and
    // the directory their wheels were built into.
    let mut built_checks: Vec<Checked> = Vec::new();
    let built_dir =
        tempfile::tempdir().map_err(|e| Failure::new(exit::UNAVAILABLE, e.to_string()))?;
    let mut built_files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let pins = warden_pip::exact_pins(&args.args, &cwd);
    let hashes = warden_pip::pinned_hashes(&args.args, &cwd);
    let mut pages = Pages::new(client.clone());

    // Plan; steer ranges past releases younger than the minimum age.
    let scratch =
        tempfile::tempdir().map_err(|e| Failure::new(exit::UNAVAILABLE, e.to_string()))?;
    let constraints_file = scratch.path().join("warden-constraints.txt");
    let mut constraints: Vec<String> = Vec::new();
    let mut plan = Vec::new();
    for _ in 0..MAX_STEERING {
        let file = (!constraints.is_empty()).then_some(constraints_file.as_path());
        match warden_pip::plan(&args.program, &resolver_args, file) {
            Ok(p) => plan = p,
            Err(warden_pip::Error::Resolve {
                sdist_only,
                message,
                ..
            }) if !sdist_only.is_empty() => {
                if !built_checks.is_empty() {
                    return Err(Failure::new(exit::UNAVAILABLE, message).with_hint(
                        "a built sdist needs further sdists; warden builds one round of sdists",
                    ));
                }
                let sdists = SdistRound {
                    requirements: &sdist_only,
                    pip_message: &message,
                    built_dir: built_dir.path(),
                };
                match sdist_round(
                    ctx, &client, &mut pages, global, &policy, args, &cwd, &sdists, min_age,
                )
                .await?
                {
                    SdistOutcome::Stop(text, code) => return Ok((text, code)),
                    SdistOutcome::Built { checks, wheels } => {
                        built_checks = checks;
                        built_files = wheels;
                        resolver_args.push("--find-links".into());
                        resolver_args.push(built_dir.path().display().to_string());
                        continue;
                    }
                }
            }
            // pip's resolver compared the files with the requirements'
            // hashes and they differ: that is a verdict, not a failure.
            Err(warden_pip::Error::Resolve { message, .. })
                if message.contains("DO NOT MATCH THE HASHES") =>
            {
                let details: String = message.lines().take(12).collect::<Vec<_>>().join("\n");
                return Ok((
                    format!(
                        "warden: {} {}\n\n  deny  integrity-mismatch  the files on the index do not match the hashes in the requirements\n        {details}\n\nblocked: pip did not run and nothing was installed\n",
                        args.program.join(" "),
                        args.args.join(" ")
                    ),
                    exit::BLOCKED,
                ));
            }
            Err(e) => {
                return Err(Failure::new(exit::UNAVAILABLE, e.to_string())
                    .with_hint("pip could not plan the install from published wheels; check the requirement and the index"));
            }
        }
        let mut fresh = Vec::new();
        for p in &plan {
            let name = normalize_name(&p.name);
            if pins.get(&name).is_some_and(|v| *v == p.version) {
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
        constraints.extend(fresh);
        std::fs::write(&constraints_file, constraints.join("\n") + "\n")
            .map_err(|e| Failure::new(exit::UNAVAILABLE, e.to_string()))?;
    }

    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut checked = std::mem::take(&mut built_checks);
    for p in &plan {
        if let Some(bytes) = built_files.get(&p.filename) {
            // Built here from an sdist that was checked before building.
            files.insert(p.filename.clone(), bytes.clone());
            continue;
        }
        let (c, bytes) = check_one(&client, &mut pages, &policy, p, &hashes, min_age).await;
        if let Some(b) = bytes {
            files.insert(p.filename.clone(), b);
        }
        checked.push(c);
    }
    let tool = args.program.join(" ");
    let Decision {
        text, code, warned, ..
    } = decide(
        "pypi",
        &tool,
        format!("{tool} {}", args.args.join(" ")),
        &checked,
        &policy,
        global,
        &cwd,
    );
    if let Some(stop) = crate::guard::before_running(global, text, code, warned, "pip") {
        return Ok(stop);
    }
    // Only the checked bytes, by hash, from a private directory.
    let dir = tempfile::tempdir().map_err(|e| Failure::new(exit::UNAVAILABLE, e.to_string()))?;
    for (name, bytes) in &files {
        std::fs::write(dir.path().join(name), bytes)
            .map_err(|e| Failure::new(exit::UNAVAILABLE, e.to_string()))?;
    }
    match command {
        PipCommand::Fetch { dest } => {
            let dest = cwd.join(dest.unwrap_or_default());
            std::fs::create_dir_all(&dest)
                .map_err(|e| Failure::new(exit::UNAVAILABLE, e.to_string()))?;
            for (name, bytes) in &files {
                std::fs::write(dest.join(name), bytes)
                    .map_err(|e| Failure::new(exit::UNAVAILABLE, e.to_string()))?;
            }
            Ok((String::new(), exit::OK))
        }
        _ => {
            let pinned: Vec<(String, String, String)> = plan
                .iter()
                .filter_map(|p| {
                    // Wheels built here from checked sdists are hashed here.
                    let sha = p
                        .sha256
                        .clone()
                        .or_else(|| files.get(&p.filename).map(|b| sha256_hex(b)))?;
                    Some((p.name.clone(), p.version.clone(), sha))
                })
                .collect();
            let env = warden_npm::script_env(&ctx.env.vars, &policy.hide_env, &policy.keep_env);
            let status = warden_pip::install_pinned(
                &args.program,
                dir.path(),
                &pinned,
                &warden_pip::install_flags(&args.args),
                &env,
                crate::guard::tool_stdout(ctx),
            )
            .map_err(|e| Failure::new(exit::UNAVAILABLE, e.to_string()))?;
            Ok((String::new(), exit_code(status)))
        }
    }
}

/// Project pages of every configured index, fetched once.
struct Pages {
    client: PypiClient,
    /// normalised name -> (index, page) for each index that has it.
    pages: BTreeMap<String, Vec<(RedactedUrl, SimpleProject)>>,
}

impl Pages {
    fn new(client: PypiClient) -> Self {
        Self {
            client,
            pages: BTreeMap::new(),
        }
    }

    async fn get(&mut self, name: &str) -> &[(RedactedUrl, SimpleProject)] {
        let key = normalize_name(name);
        if !self.pages.contains_key(&key) {
            let mut found = Vec::new();
            for index in self.client.config.indexes().cloned().collect::<Vec<_>>() {
                if let Ok(page) = self.client.project(&index, name).await {
                    found.push((index, page));
                }
            }
            self.pages.insert(key.clone(), found);
        }
        self.pages.get(&key).map(Vec::as_slice).unwrap_or_default()
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

async fn check_one(
    client: &PypiClient,
    pages: &mut Pages,
    policy: &Policy,
    p: &Planned,
    hashes: &BTreeMap<String, Vec<String>>,
    min_age: SignedDuration,
) -> (Checked, Option<Vec<u8>>) {
    let name = normalize_name(&p.name);
    let mut c = Checked {
        pkg: Pkg {
            name: name.clone(),
            version: p.version.clone(),
            path: p.filename.clone(),
            integrity: p.sha256.as_ref().map(|h| format!("sha256:{h}")),
            has_install_script: !p.filename.ends_with(".whl"),
        },
        findings: Vec::new(),
        unknown: Vec::new(),
        publisher: None,
        attested: None,
        runs_install_code: false,
    };
    if p.is_direct {
        c.findings.push(raw(
            "non-registry-source",
            if p.requested {
                Level::Warn
            } else {
                Level::Deny
            },
            "installed from a URL, not an index".into(),
            p.url.clone(),
        ));
    }
    if let (Some(want), Some(got)) = (hashes.get(&name), &p.sha256) {
        if !want.iter().any(|h| h.eq_ignore_ascii_case(got)) {
            c.findings.push(raw(
                "integrity-mismatch",
                Level::Deny,
                "the requirements file pins other hashes than the index publishes".into(),
                format!("requirements {}, index sha256:{got}", want.join(" / ")),
            ));
        }
    }
    let found = pages.get(&p.name).await.to_vec();
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
            c.findings.push(raw(
                "dependency-confusion",
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
            c.findings.push(raw(
                "dependency-confusion",
                Level::Deny,
                format!("`{name}` must come from `{required}` ([internal])"),
                p.url.clone(),
            ));
        }
    }
    let Some(sha256) = p.sha256.clone() else {
        c.unknown.push(format!(
            "pypi:{name}=={}: pip's plan gives no sha256 for {}",
            p.version, p.filename
        ));
        return (c, None);
    };
    let Ok(url) = RedactedUrl::parse(&p.url) else {
        c.unknown.push(format!("pypi:{name}: unreadable URL"));
        return (c, None);
    };
    let label = format!("pypi:{name}=={} ({})", p.version, p.filename);
    let bytes = match client
        .http
        .get(
            &format!("pypi:{name}"),
            &url,
            "application/octet-stream",
            None,
        )
        .await
    {
        Ok(r) => r.body,
        Err(e) => {
            c.unknown.push(e.to_string());
            return (c, None);
        }
    };
    let hint = if p.filename.ends_with(".whl") {
        ArtifactKind::Wheel
    } else {
        ArtifactKind::Sdist
    };
    let analysis = match warden_rules::analyze(
        &label,
        &bytes,
        Some(&Expected::Sha256Hex(sha256)),
        Some(hint),
        &Limits::default(),
    ) {
        Ok(a) => a,
        Err(e) => {
            c.unknown.push(e.to_string());
            return (c, None);
        }
    };
    c.runs_install_code = analysis.surface.runs_code();
    for f in &analysis.findings {
        c.findings.push(raw(
            &f.rule,
            f.level,
            f.summary.clone(),
            format!("{}:{} {}", f.file, f.line.unwrap_or(0), f.excerpt),
        ));
    }
    history(
        client,
        &mut c,
        serving.first().map(|(i, page)| (i, page)),
        &p.version,
        &analysis,
        min_age,
    )
    .await;
    (c, Some(bytes))
}

async fn history(
    client: &PypiClient,
    c: &mut Checked,
    source: Option<(&RedactedUrl, &SimpleProject)>,
    version: &str,
    analysis: &warden_rules::Analysis,
    min_age: SignedDuration,
) {
    let Some((index, page)) = source else {
        c.unknown.push(format!(
            "pypi:{}: no configured index lists this file",
            c.pkg.name
        ));
        return;
    };
    let provenance = crate::inspect::fetch_provenance(client, &page.name, page, version)
        .await
        .unwrap_or_default();
    let facts = crate::history::SurfaceFacts::from(analysis);
    if let Some(j) = crate::history::pypi(
        client,
        index,
        page,
        &provenance,
        version,
        None,
        Some(&facts),
        min_age,
    )
    .await
    {
        c.attested = page
            .files_of(version)
            .iter()
            .filter_map(|f| provenance.get(&f.filename))
            .flat_map(|p| &p.publishers)
            .find_map(|p| Some((p.repository.clone()?, p.workflow.clone())));
        for f in j.findings {
            let evidence = f
                .evidence
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ");
            c.findings.push(raw(f.code, f.level, f.summary, evidence));
        }
    }
}

struct SdistRound<'a> {
    requirements: &'a [String],
    pip_message: &'a str,
    built_dir: &'a Path,
}

enum SdistOutcome {
    /// Blocked, or the checks cannot complete: the report and exit code.
    Stop(String, u8),
    /// Allowed and built: the sdists' checks and the built wheels by file name.
    Built {
        checks: Vec<Checked>,
        wheels: BTreeMap<String, Vec<u8>>,
    },
}

/// Requirements only published as sdists: judged from their sources,
/// without building; built (with secrets hidden, from checked files only)
/// once the policy allows it.
#[allow(clippy::too_many_arguments)]
async fn sdist_round(
    ctx: &Context,
    client: &PypiClient,
    pages: &mut Pages,
    global: &GlobalArgs,
    policy: &Policy,
    args: &GuardArgs,
    cwd: &Path,
    round: &SdistRound<'_>,
    min_age: SignedDuration,
) -> Result<SdistOutcome, Failure> {
    let verified =
        tempfile::tempdir().map_err(|e| Failure::new(exit::UNAVAILABLE, e.to_string()))?;
    let mut checked = Vec::new();
    let mut sdists = Vec::new();
    let mut build_requirements = Vec::new();
    for req in round.requirements {
        let name: String = req
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
            .collect();
        let pinned = req.split_once("==").map(|(_, v)| v.trim().to_owned());
        let found = pages.get(&name).await.to_vec();
        let Some((_, page)) = found.first() else {
            return Err(Failure::new(
                exit::UNAVAILABLE,
                round.pip_message.to_owned(),
            ));
        };
        let version = pinned.or_else(|| page.latest()).unwrap_or_default();
        let Some(file) = page
            .files_of(&version)
            .into_iter()
            .find(|f| f.kind == DistKind::Sdist)
            .cloned()
        else {
            return Err(Failure::new(
                exit::UNAVAILABLE,
                round.pip_message.to_owned(),
            ));
        };
        let planned = Planned {
            name: name.clone(),
            version: version.clone(),
            url: file.url.expose().to_string(),
            filename: file.filename.clone(),
            sha256: file.hashes.get("sha256").cloned(),
            requested: true,
            is_direct: false,
        };
        let (mut c, bytes) =
            check_one(client, pages, policy, &planned, &BTreeMap::new(), min_age).await;
        c.findings.push(raw(
            "sdist-build",
            Level::Warn,
            "only an sdist is published: installing it means building it, which runs its setup.py or build backend".into(),
            file.filename.clone(),
        ));
        if let Some(bytes) = bytes {
            build_requirements.extend(sdist_build_requirements(&file.filename, &bytes));
            std::fs::write(verified.path().join(&file.filename), &bytes)
                .map_err(|e| Failure::new(exit::UNAVAILABLE, e.to_string()))?;
            sdists.push(file.filename.clone());
        }
        checked.push(c);
    }
    // Build requirements come from the index too: checked like any package,
    // and the only ones the isolated build can see.
    if !build_requirements.is_empty() {
        match warden_pip::plan(&args.program, &build_requirements, None) {
            Ok(plan) => {
                for p in &plan {
                    let (c, bytes) =
                        check_one(client, pages, policy, p, &BTreeMap::new(), min_age).await;
                    if let Some(b) = bytes {
                        std::fs::write(verified.path().join(&p.filename), b)
                            .map_err(|e| Failure::new(exit::UNAVAILABLE, e.to_string()))?;
                    }
                    checked.push(c);
                }
            }
            Err(e) => {
                return Err(Failure::new(
                    exit::UNAVAILABLE,
                    format!(
                        "the build requirements {build_requirements:?} could not be planned: {e}"
                    ),
                ));
            }
        }
    }
    let tool = args.program.join(" ");
    let Decision {
        text, code, warned, ..
    } = decide(
        "pypi",
        &tool,
        format!("{tool} {}", args.args.join(" ")),
        &checked,
        policy,
        global,
        cwd,
    );
    if let Some(code) = code {
        return Ok(SdistOutcome::Stop(text, code));
    }
    if global.dry_run {
        return Ok(SdistOutcome::Stop(
            format!(
                "{text}dry run: the sdists were not built, so their own dependencies are not known or checked\n"
            ),
            exit::UNAVAILABLE,
        ));
    }
    if warned && !crate::guard::confirm(global, &text) {
        return Ok(SdistOutcome::Stop(
            format!("{text}not confirmed: nothing was built\n"),
            exit::BLOCKED,
        ));
    }
    // Build from the checked files only, with secrets hidden.
    let env = warden_npm::script_env(&ctx.env.vars, &policy.hide_env, &policy.keep_env);
    let (program, prefix) = args
        .program
        .split_first()
        .ok_or_else(|| Failure::new(exit::USAGE, "no pip to run"))?;
    let status = Command::new(program)
        .args(prefix)
        .args([
            "wheel",
            "--no-deps",
            "--no-index",
            "--quiet",
            "--find-links",
        ])
        .arg(verified.path())
        .arg("--wheel-dir")
        .arg(round.built_dir)
        .args(sdists.iter().map(|f| verified.path().join(f)))
        .env_clear()
        .envs(env)
        .status()
        .map_err(|e| Failure::new(exit::UNAVAILABLE, format!("could not run `{program}`: {e}")))?;
    if !status.success() {
        return Ok(SdistOutcome::Stop(
            format!("{text}building the allowed sdists failed: nothing was installed\n"),
            exit_code(status),
        ));
    }
    let mut wheels = BTreeMap::new();
    for entry in std::fs::read_dir(round.built_dir)
        .map_err(|e| Failure::new(exit::UNAVAILABLE, e.to_string()))?
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".whl") {
            wheels.insert(
                name,
                std::fs::read(entry.path())
                    .map_err(|e| Failure::new(exit::UNAVAILABLE, e.to_string()))?,
            );
        }
    }
    Ok(SdistOutcome::Built {
        checks: checked,
        wheels,
    })
}

/// `[build-system] requires` of an sdist (as the surface lists them).
fn sdist_build_requirements(filename: &str, bytes: &[u8]) -> Vec<String> {
    warden_archive::read(filename, bytes, &Limits::default())
        .map(|a| warden_archive::surface(&a, Some(ArtifactKind::Sdist)))
        .map(|s| {
            s.dependencies
                .keys()
                .filter_map(|d| d.strip_suffix(" (build)"))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
