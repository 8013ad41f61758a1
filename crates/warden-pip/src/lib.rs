//! The pip adapter.
//!
//! pip's own dry run builds sdists to learn their dependencies, and building
//! runs `setup.py` or a build backend: code before any check. So warden asks
//! pip's resolver for a plan with `--only-binary=:all:`, which reads wheel
//! metadata (PEP 658 or the wheel itself) and never builds. Requirements
//! that only have sdists are found separately and read statically.
//!
//! Once allowed, pip installs only the checked files: they are written to a
//! private directory and installed with `--no-index --find-links <dir>
//! --no-deps --require-hashes`, so pip cannot fetch anything unchecked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

pub mod guard;
mod placeholder;
pub mod plan_cache;
mod sources;
pub use placeholder::{
    Requirement, field, marker_extras, parse_requirement, placeholder_wheel, requirement_lines,
    same_dependencies, sdist_metadata,
};
pub use sources::{
    Checkout, Source, SourceReq, Taken, build_requirements, git_checkout, take_sources,
};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not run `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("pip could not plan the install from wheels (exit code {code}): {message}")]
    Resolve {
        code: i32,
        message: String,
        sdist_only: Vec<String>,
    },
    #[error("pip's installation report is unreadable: {0}")]
    Report(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What a pip command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipCommand {
    Install,
    /// `download` and `wheel`: the files go to this directory.
    Fetch {
        dest: Option<PathBuf>,
    },
    Other,
}

const VALUE_FLAGS: &[&str] = &[
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "-t",
    "--target",
    "--prefix",
    "--root",
    "-d",
    "--dest",
    "-w",
    "--wheel-dir",
    "--python-version",
    "--platform",
    "--implementation",
    "--abi",
    "--report",
    "--cache-dir",
    "--log",
    "--timeout",
    "--retries",
    "--cert",
    "--client-cert",
    "--trusted-host",
    "--proxy",
    "-e",
    "--editable",
    "--progress-bar",
    "--src",
    "--upgrade-strategy",
];

/// The command word and the rest.
fn split(args: &[String]) -> Option<(&str, Vec<String>)> {
    let mut iter = args.iter().enumerate();
    while let Some((i, a)) = iter.next() {
        if a.starts_with('-') {
            if !a.contains('=') && VALUE_FLAGS.contains(&a.as_str()) {
                iter.next();
            }
            continue;
        }
        let mut rest = args[..i].to_vec();
        rest.extend_from_slice(&args[i + 1..]);
        return Some((a.as_str(), rest));
    }
    None
}

pub fn classify(args: &[String]) -> PipCommand {
    match split(args) {
        Some(("install", _)) => PipCommand::Install,
        Some(("download" | "wheel", rest)) => PipCommand::Fetch {
            dest: flag_value(&rest, &["-d", "--dest", "-w", "--wheel-dir"]).map(PathBuf::from),
        },
        _ => PipCommand::Other,
    }
}

fn flag_value(args: &[String], names: &[&str]) -> Option<String> {
    let mut iter = args.iter();
    while let Some(a) = iter.next() {
        for n in names {
            if a == n {
                return iter.next().cloned();
            }
            if let Some(v) = a.strip_prefix(&format!("{n}=")) {
                return Some(v.to_owned());
            }
        }
    }
    None
}

/// The arguments after the command word, without those that only shape
/// where `download`/`wheel` put files or that warden sets itself.
pub fn resolver_args(args: &[String]) -> Vec<String> {
    let Some((_, rest)) = split(args) else {
        return Vec::new();
    };
    // warden plans from wheels only: options that would let pip build, or
    // that only say where files go, are not passed to its plan. Those that
    // take a value lose it too, in either spelling.
    let drop_with_value = [
        "-d",
        "--dest",
        "-w",
        "--wheel-dir",
        "--report",
        "--no-binary",
        "--only-binary",
    ];
    let drop = ["--dry-run", "--prefer-binary"];
    let mut out = Vec::new();
    let mut iter = rest.into_iter();
    while let Some(a) = iter.next() {
        if drop_with_value.contains(&a.as_str()) {
            iter.next();
            continue;
        }
        if drop_with_value
            .iter()
            .chain(drop.iter())
            .any(|d| a == *d || a.starts_with(&format!("{d}=")))
        {
            continue;
        }
        out.push(a);
    }
    out
}

/// Flags of an install that still matter when installing pinned files.
pub fn install_flags(args: &[String]) -> Vec<String> {
    let keep_with_value = ["-t", "--target", "--prefix", "--root"];
    let keep = [
        "--user",
        "--force-reinstall",
        "--no-warn-script-location",
        "--break-system-packages",
        "--no-compile",
        "-q",
        "--quiet",
        "-v",
        "--verbose",
    ];
    let mut out = Vec::new();
    let mut iter = args.iter();
    while let Some(a) = iter.next() {
        if keep_with_value.contains(&a.as_str()) {
            out.push(a.clone());
            out.extend(iter.next().cloned());
        } else if keep.contains(&a.as_str())
            || keep_with_value
                .iter()
                .any(|k| a.starts_with(&format!("{k}=")))
        {
            out.push(a.clone());
        }
    }
    out
}

pub use warden_registry::pypi::wheel_tags;

/// The wheel tags this pip installs, as pip itself lists them (`pip debug
/// --verbose`), most preferred first.
pub fn compatible_tags(pip: &[String]) -> Result<Vec<String>, Error> {
    let (program, prefix) = pip
        .split_first()
        .ok_or_else(|| Error::Report("no pip to run".into()))?;
    let out = Command::new(program)
        .args(prefix)
        .args(["debug", "--verbose"])
        .output()
        .map_err(|source| Error::Spawn {
            program: program.clone(),
            source,
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let tags: Vec<String> = text
        .lines()
        .skip_while(|l| !l.starts_with("Compatible tags"))
        .skip(1)
        .take_while(|l| l.starts_with(' '))
        .map(|l| l.trim().to_owned())
        .collect();
    if tags.is_empty() {
        return Err(Error::Report(
            "`pip debug --verbose` listed no compatible tags".into(),
        ));
    }
    Ok(tags)
}

/// The platform of the Python `python` runs, for choosing among a release's
/// files as its pip would: asked of `python -m pip` once, when needed.
pub fn platform(python: &str) -> warden_guard::facts::Platform {
    let pip = vec![python.to_owned(), "-m".into(), "pip".into()];
    warden_guard::facts::Platform::asking(move || compatible_tags(&pip).ok())
}

/// One distribution in pip's plan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Planned {
    pub name: String,
    pub version: String,
    pub url: String,
    pub filename: String,
    pub sha256: Option<String>,
    pub requested: bool,
    /// A direct URL or VCS requirement, not from an index.
    pub is_direct: bool,
}

#[derive(Deserialize)]
struct Report {
    #[serde(default)]
    install: Vec<ReportItem>,
}

#[derive(Deserialize)]
struct ReportItem {
    download_info: DownloadInfo,
    #[serde(default)]
    is_direct: bool,
    #[serde(default)]
    requested: bool,
    metadata: Metadata,
}

#[derive(Deserialize)]
struct DownloadInfo {
    url: String,
    #[serde(default)]
    archive_info: Option<ArchiveInfo>,
}

#[derive(Deserialize)]
struct ArchiveInfo {
    #[serde(default)]
    hashes: Option<BTreeMap<String, String>>,
    #[serde(default)]
    hash: Option<String>,
}

#[derive(Deserialize)]
struct Metadata {
    name: String,
    version: String,
}

/// Reads pip's installation report (`--report`).
pub fn parse_report(bytes: &[u8]) -> Result<Vec<Planned>, Error> {
    let report: Report = serde_json::from_slice(bytes).map_err(|e| Error::Report(e.to_string()))?;
    Ok(report
        .install
        .into_iter()
        .map(|i| {
            let sha256 = i.download_info.archive_info.as_ref().and_then(|a| {
                a.hashes
                    .as_ref()
                    .and_then(|h| h.get("sha256").cloned())
                    .or_else(|| {
                        a.hash
                            .as_deref()
                            .and_then(|h| h.strip_prefix("sha256="))
                            .map(str::to_owned)
                    })
            });
            let filename = i
                .download_info
                .url
                .split(['#', '?'])
                .next()
                .and_then(|u| u.rsplit('/').next())
                .unwrap_or("")
                .to_owned();
            Planned {
                name: i.metadata.name,
                version: i.metadata.version,
                url: i.download_info.url,
                filename,
                sha256,
                requested: i.requested,
                is_direct: i.is_direct,
            }
        })
        .collect())
}

/// Asks pip's resolver for a plan from wheels only: no sdist is built, so
/// no package code runs. `constraints` adds a constraints file.
pub fn plan(
    pip: &[String],
    args: &[String],
    constraints: Option<&Path>,
) -> Result<Vec<Planned>, Error> {
    let scratch = tempfile::tempdir()?;
    let report = scratch.path().join("report.json");
    let (program, prefix) = pip
        .split_first()
        .ok_or_else(|| Error::Report("no pip to run".into()))?;
    let mut cmd = Command::new(program);
    cmd.args(prefix)
        .arg("install")
        .args([
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--only-binary=:all:",
            "--report",
        ])
        .arg(&report)
        .args(args);
    if let Some(c) = constraints {
        cmd.arg("-c").arg(c);
    }
    warden_guard::log_command(&cmd);
    let out = cmd.output().map_err(|source| Error::Spawn {
        program: program.clone(),
        source,
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let sdist_only = stderr
            .lines()
            .filter_map(|l| l.split("No matching distribution found for ").nth(1))
            .map(|r| r.trim().to_owned())
            .collect();
        // pip's errors, and the lines that explain them (which package,
        // expected and actual hashes).
        let mut lines: Vec<&str> = stderr
            .lines()
            .skip_while(|l| !l.starts_with("ERROR"))
            .take(20)
            .collect();
        // Some of pip's errors (its configuration's) carry no `ERROR`.
        if lines.is_empty() {
            let all: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
            lines = all[all.len().saturating_sub(6)..].to_vec();
        }
        let message = warden_registry::redact_text(&lines.join("\n"));
        return Err(Error::Resolve {
            code: out.status.code().unwrap_or(1),
            message,
            sdist_only,
        });
    }
    parse_report(&std::fs::read(&report)?)
}

/// Installs exactly `files` (already verified, in `dir`), by hash, from
/// nothing but `dir`.
pub fn install_pinned(
    pip: &[String],
    dir: &Path,
    files: &[(String, String, String)],
    flags: &[String],
    env: &[(String, String)],
    stdout: std::process::Stdio,
) -> Result<std::process::ExitStatus, Error> {
    let requirements = dir.join("warden-requirements.txt");
    let text: String = files
        .iter()
        .map(|(name, version, sha256)| format!("{name}=={version} --hash=sha256:{sha256}\n"))
        .collect();
    std::fs::write(&requirements, text)?;
    let (program, prefix) = pip
        .split_first()
        .ok_or_else(|| Error::Report("no pip to run".into()))?;
    let mut cmd = Command::new(program);
    cmd.args(prefix)
        .arg("install")
        .args([
            "--no-index",
            "--no-deps",
            "--require-hashes",
            "--find-links",
        ])
        .arg(dir)
        .arg("-r")
        .arg(&requirements)
        .args(flags)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(stdout);
    warden_guard::log_command(&cmd);
    cmd.status().map_err(|source| Error::Spawn {
        program: program.clone(),
        source,
    })
}

/// A guarded pip command line, read once: the command, the requirements
/// files' lines (one walk, nested `-r` followed), and what the pipeline
/// takes from them.
#[derive(Debug, Clone)]
pub struct PipRequest {
    /// How pip is run: `pip`, or `python -m pip`.
    pub program: Vec<String>,
    /// As typed.
    pub args: Vec<String>,
    pub command: PipCommand,
    /// Index options of the command line and the requirements files.
    pub index: warden_registry::IndexArgs,
    /// Requirements pinned to one version, by normalised name.
    pub pins: BTreeMap<String, String>,
    /// Hashes the requirements pin, by normalised name.
    pub hashes: BTreeMap<String, Vec<String>>,
}

impl PipRequest {
    pub fn parse(program: &[String], args: &[String], cwd: &Path) -> Self {
        let lines = requirement_file_lines(args, cwd);
        Self {
            program: program.to_vec(),
            args: args.to_vec(),
            command: classify(args),
            index: warden_registry::IndexArgs::from_args(args).with_requirement_lines(&lines),
            pins: exact_pins(args, &lines),
            hashes: pinned_hashes(&lines),
        }
    }
}

/// Hashes pinned in requirements lines (`name==1.0 --hash=sha256:...`), by
/// normalised name.
fn pinned_hashes(lines: &[String]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in lines {
        let hashes: Vec<String> = line
            .split_whitespace()
            .filter_map(|w| w.strip_prefix("--hash=sha256:"))
            .map(str::to_ascii_lowercase)
            .collect();
        if hashes.is_empty() {
            continue;
        }
        let name = line
            .split(|c: char| "=<>!~;[ ".contains(c))
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
            .replace(['_', '.'], "-");
        out.entry(name).or_default().extend(hashes);
    }
    out
}

/// The lines of the requirements files named by `-r` (nested ones too,
/// at most 64 files): continuations joined, comments and `-r` lines taken
/// out, empty lines skipped.
pub(crate) fn requirement_file_lines(args: &[String], cwd: &Path) -> Vec<String> {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut iter = args.iter();
    while let Some(a) = iter.next() {
        if a == "-r" || a == "--requirement" {
            files.extend(iter.next().map(|f| cwd.join(f)));
        } else if let Some(f) = a.strip_prefix("--requirement=") {
            files.push(cwd.join(f));
        }
    }
    let mut out = Vec::new();
    let mut seen = 0;
    while let Some(file) = files.pop() {
        seen += 1;
        if seen > 64 {
            break;
        }
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let joined = text.replace("\\\n", " ");
        for line in joined.lines() {
            let line = line.split(" #").next().unwrap_or("").trim();
            if let Some(nested) = line
                .strip_prefix("-r ")
                .or_else(|| line.strip_prefix("--requirement "))
            {
                files.push(file.parent().unwrap_or(cwd).join(nested.trim()));
            } else if !line.is_empty() {
                out.push(line.to_owned());
            }
        }
    }
    out
}

/// Requirements the user pins to one version (`name==1.0`), by normalised
/// name, from the command line and requirements lines.
fn exact_pins(args: &[String], lines: &[String]) -> BTreeMap<String, String> {
    args.iter()
        .map(String::as_str)
        .chain(
            lines
                .iter()
                .map(|l| l.split_whitespace().next().unwrap_or("")),
        )
        .filter_map(|w| {
            let (name, version) = w.split_once("==")?;
            let name = name
                .split('[')
                .next()?
                .to_ascii_lowercase()
                .replace(['_', '.'], "-");
            Some((name, version.split(';').next()?.trim().to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn classifies() {
        assert_eq!(classify(&args("install -r req.txt")), PipCommand::Install);
        assert_eq!(classify(&args("-q install x")), PipCommand::Install);
        assert_eq!(
            classify(&args("download -d out x")),
            PipCommand::Fetch {
                dest: Some("out".into())
            }
        );
        assert_eq!(classify(&args("list")), PipCommand::Other);
        assert_eq!(classify(&args("--version")), PipCommand::Other);
        assert_eq!(
            resolver_args(&args("download -d out --dry-run x --index-url http://i/")),
            args("x --index-url http://i/")
        );
        assert_eq!(
            install_flags(&args("install --user -t dir x -i http://i/")),
            args("--user -t dir")
        );
    }

    #[test]
    fn report() {
        let r = br#"{"version": "1", "install": [{"download_info": {"url": "http://i/files/a-1.0-py3-none-any.whl",
          "archive_info": {"hash": "sha256=ab", "hashes": {"sha256": "ab"}}}, "is_direct": false, "requested": true,
          "metadata": {"name": "a", "version": "1.0"}}, {"download_info": {"url": "http://i/b-2.0.tar.gz#sha256=cd",
          "archive_info": {"hash": "sha256=cd"}}, "requested": false, "metadata": {"name": "b", "version": "2.0"}}]}"#;
        let p = parse_report(r).unwrap();
        assert_eq!(p[0].filename, "a-1.0-py3-none-any.whl");
        assert_eq!(p[0].sha256.as_deref(), Some("ab"));
        assert_eq!(p[1].sha256.as_deref(), Some("cd"));
        assert_eq!(p[1].filename, "b-2.0.tar.gz");
        assert!(parse_report(b"{").is_err());
    }

    #[test]
    fn index_options_from_nested_requirements_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("reqs")).unwrap();
        std::fs::write(
            dir.path().join("reqs/base.txt"),
            "--extra-index-url http://nested.example.org/simple\nsix\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("requirements.txt"),
            "-i http://req.example.org/simple  # the mirror\n-r reqs/base.txt\nrequests==2.0\n",
        )
        .unwrap();
        let r = PipRequest::parse(
            &args("pip"),
            &args("install -r requirements.txt"),
            dir.path(),
        );
        assert_eq!(
            r.index.index_url.as_deref(),
            Some("http://req.example.org/simple")
        );
        assert_eq!(
            r.index.extra_index_urls,
            ["http://nested.example.org/simple"]
        );
    }

    #[test]
    fn wheel_file_names_give_their_tags() {
        assert_eq!(wheel_tags("a-1.0-py3-none-any.whl"), ["py3-none-any"]);
        assert_eq!(
            wheel_tags("a_b-1.0-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
            [
                "cp311-cp311-manylinux_2_17_x86_64",
                "cp311-cp311-manylinux2014_x86_64"
            ]
        );
        assert_eq!(wheel_tags("a-1.0-py2.py3-none-any.whl").len(), 2);
        assert!(wheel_tags("a-1.0.tar.gz").is_empty());
        assert!(wheel_tags("broken.whl").is_empty());
    }

    #[test]
    fn the_plan_never_gets_an_option_that_would_build() {
        assert_eq!(
            resolver_args(&args(
                "install x --no-binary :all: --only-binary=:none: --no-binary=y -d out --prefer-binary -i http://i/ z"
            )),
            args("x -i http://i/ z")
        );
    }

    #[test]
    fn hashes_and_pins_from_requirements() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("base.txt"),
            "Foo_Bar==1.0 \\\n    --hash=sha256:AA --hash=sha256:bb\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("req.txt"),
            "-r base.txt\nbaz==2.0 --hash=sha256:cc  # pinned\nqux>=1\n",
        )
        .unwrap();
        let r = PipRequest::parse(&args("pip"), &args("install x==3 -r req.txt"), dir.path());
        assert_eq!(r.hashes["foo-bar"], ["aa", "bb"]);
        assert_eq!(r.hashes["baz"], ["cc"]);
        assert_eq!(r.pins["x"], "3");
        assert_eq!(r.pins["baz"], "2.0");
        assert_eq!(r.pins["foo-bar"], "1.0", "a pin in a nested file is a pin");
        assert!(!r.pins.contains_key("qux"));
    }
}
