//! The npm adapter: which npm commands install things, what exactly they
//! will install (the plan), and running npm so that it installs that plan
//! and nothing else.
//!
//! The plan comes from the lockfile when it already describes the install
//! (`npm ci`, a plain `npm install`). Otherwise npm computes it itself, in a
//! temporary copy of the project's manifests and `.npmrc`, with
//! `--package-lock-only --ignore-scripts`: no package code runs and the
//! user's files are not touched until the verdict. Once allowed, the
//! checked lockfile (and manifest) are written into the project and `npm
//! ci --ignore-scripts` installs exactly it, integrity-pinned; install
//! scripts then run only for the packages the policy allows, through `npm
//! rebuild`, with secrets removed from their environment.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

mod args;
pub mod guard;
mod restore;

pub use args::{Flag, FlagValue, NpmArgs, NpmRequest, parse as parse_args};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{}` is not a lockfile warden can read: {message}", path.display())]
    Lockfile { path: PathBuf, message: String },
    #[error("npm could not resolve the install (exit code {code}): {message}")]
    Resolve { code: i32, message: String },
    #[error("could not run `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
}

/// What an npm command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NpmCommand {
    /// `install`/`i`/`add` with these package specs (none: install the
    /// project as it is).
    Install {
        specs: Vec<String>,
    },
    Ci,
    Update {
        names: Vec<String>,
    },
    /// `exec`/`x`/`npx`: runs a package, installing it first.
    Exec {
        specs: Vec<String>,
    },
    /// Everything else runs straight through.
    Other,
}

/// Flags that take a value, so the value is not read as a package spec.
const VALUE_FLAGS: &[&str] = &[
    "--registry",
    "--userconfig",
    "--globalconfig",
    "--cache",
    "--prefix",
    "-C",
    "--tag",
    "--before",
    "--workspace",
    "-w",
    "--omit",
    "--include",
    "--loglevel",
    "--package",
    "-p",
    "--call",
    "-c",
];

/// Classifies `npm <args>`.
pub fn classify(args: &[String]) -> NpmCommand {
    classify_parsed(&parse_args(args), args)
}

/// Classifies a command line already read.
fn classify_parsed(parsed: &NpmArgs, raw: &[String]) -> NpmCommand {
    let Some(command) = parsed.command.as_deref() else {
        return NpmCommand::Other;
    };
    let rest = &parsed.words;
    match command {
        "install" | "i" | "add" | "in" | "ins" | "inst" | "insta" | "instal" | "isnt" | "isnta"
        | "isntal" | "isntall" => NpmCommand::Install {
            specs: rest.to_vec(),
        },
        "ci" | "clean-install" | "ic" | "install-clean" | "isntall-clean" => NpmCommand::Ci,
        "update" | "up" | "upgrade" | "udpate" => NpmCommand::Update {
            names: rest.to_vec(),
        },
        "exec" | "x" => {
            // `npm exec -- pkg args` / `--package=pkg`: the package is the first word.
            let specs = raw
                .iter()
                .filter_map(|a| a.strip_prefix("--package="))
                .map(str::to_owned)
                .chain(rest.first().cloned())
                .collect();
            NpmCommand::Exec { specs }
        }
        _ => NpmCommand::Other,
    }
}

/// What `npm exec` / `npx` asks to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecRequest {
    /// The package spec to install (`cowsay`, `cowsay@1.5.0`).
    pub package: String,
    /// The command to run, when given apart from the package (`--package`).
    pub command: Option<String>,
    pub args: Vec<String>,
    /// npm flags that shape the install (`--registry ...`).
    pub flags: Vec<String>,
}

/// Reads `exec [--package=<spec>] [--] <command or spec> [args]`.
pub fn exec_request(args: &[String]) -> Option<ExecRequest> {
    let mut package = None;
    let mut flags = Vec::new();
    let mut rest = Vec::new();
    let mut iter = args
        .iter()
        .skip_while(|a| *a != "exec" && *a != "x")
        .skip(1)
        .peekable();
    while let Some(a) = iter.next() {
        if a == "--" {
            rest.extend(iter.by_ref().cloned());
            break;
        }
        if let Some(p) = a.strip_prefix("--package=") {
            package = Some(p.to_owned());
        } else if a == "--package" || a == "-p" {
            package = iter.next().cloned();
        } else if a == "--yes" || a == "-y" || a == "--no" || a == "-n" {
            // npm's own prompt: warden decides.
        } else if a.starts_with('-') {
            flags.push(a.clone());
            if !a.contains('=') && VALUE_FLAGS.contains(&a.as_str()) {
                flags.extend(iter.next().cloned());
            }
        } else {
            rest.push(a.clone());
            rest.extend(iter.by_ref().cloned());
            break;
        }
    }
    let mut rest = rest.into_iter();
    match package {
        Some(p) => Some(ExecRequest {
            package: p,
            command: rest.next(),
            args: rest.collect(),
            flags,
        }),
        None => Some(ExecRequest {
            package: rest.next()?,
            command: None,
            args: rest.collect(),
            flags,
        }),
    }
}

/// `npx <args>` as the equivalent `npm exec` command line: npx's own flags,
/// then `--`, then the package and its arguments.
pub fn npx_to_exec(args: &[String]) -> Vec<String> {
    let mut out = vec!["exec".to_owned()];
    let mut iter = args.iter();
    while let Some(a) = iter.next() {
        if !a.starts_with('-') {
            out.push("--".to_owned());
            out.push(a.clone());
            out.extend(iter.cloned());
            break;
        }
        out.push(a.clone());
        if (a == "-p" || a == "--package" || VALUE_FLAGS.contains(&a.as_str())) && !a.contains('=')
        {
            out.extend(iter.next().cloned());
        }
    }
    out
}

/// The command a package installs under its own name, or its only one.
pub fn default_bin(project: &Path, spec: &str) -> Option<String> {
    // `@scope/name@1.0.0` -> `@scope/name`
    let name = match spec[1.min(spec.len())..].find('@') {
        Some(i) => &spec[..i + 1],
        None => spec,
    };
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(project.join("node_modules").join(name).join("package.json")).ok()?,
    )
    .ok()?;
    let short = name.rsplit('/').next().unwrap_or(name);
    match &manifest["bin"] {
        serde_json::Value::String(_) => Some(short.to_owned()),
        serde_json::Value::Object(bins) if bins.contains_key(short) => Some(short.to_owned()),
        serde_json::Value::Object(bins) if bins.len() == 1 => bins.keys().next().cloned(),
        _ => None,
    }
}

/// Where a planned package comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "location")]
pub enum Source {
    /// A registry tarball (`resolved` may be absent when npm is configured
    /// to omit it).
    Registry(Option<String>),
    Git(String),
    Url(String),
    File(String),
    /// A workspace or `link:` dependency: the user's own code.
    Link(String),
}

/// One package the install will put on disk.
#[derive(Debug, Clone, Serialize)]
pub struct Planned {
    /// Its path in the tree: `node_modules/a/node_modules/b`.
    pub path: String,
    pub name: String,
    pub version: String,
    pub source: Source,
    pub integrity: Option<String>,
    pub dev: bool,
    pub optional: bool,
    pub has_install_script: bool,
    /// Installed at the top of `node_modules` (a direct dependency, or
    /// hoisted): transitive ones are nested or not in the root manifest.
    pub direct: bool,
}

/// The packages of a lockfile (`package-lock.json` v1–v3 or
/// `npm-shrinkwrap.json`).
pub fn parse_lockfile(path: &Path, bytes: &[u8]) -> Result<Vec<Planned>, Error> {
    let bad = |message: String| Error::Lockfile {
        path: path.to_path_buf(),
        message,
    };
    let doc: serde_json::Value =
        serde_json::from_slice(without_bom(bytes)).map_err(|e| bad(e.to_string()))?;
    let root_deps: Vec<String> = [
        "dependencies",
        "devDependencies",
        "optionalDependencies",
        "peerDependencies",
    ]
    .iter()
    .filter_map(|k| {
        doc.pointer(&format!("/packages//{k}"))
            .and_then(|v| v.as_object())
    })
    .flat_map(|o| o.keys().cloned())
    .collect();
    if let Some(packages) = doc.get("packages").and_then(|p| p.as_object()) {
        let mut out = Vec::new();
        for (key, entry) in packages {
            if key.is_empty() {
                continue;
            }
            let Some(at) = key.rfind("node_modules/") else {
                // A workspace folder itself (`packages/x`): the user's code.
                continue;
            };
            let name = entry
                .get("name")
                .and_then(|n| n.as_str())
                .map(str::to_owned)
                .unwrap_or_else(|| key[at + "node_modules/".len()..].to_owned());
            let s = |k: &str| entry.get(k).and_then(|v| v.as_str()).map(str::to_owned);
            let b = |k: &str| entry.get(k).and_then(|v| v.as_bool()).unwrap_or(false);
            // Bundled in another package's tarball: npm installs it from
            // there, and it is checked there (files, scripts and all).
            if b("inBundle") {
                continue;
            }
            let resolved = s("resolved");
            let source = if b("link") {
                Source::Link(resolved.unwrap_or_default())
            } else {
                classify_source(resolved.as_deref(), s("version").as_deref())
            };
            let top = !key[..at].contains("node_modules/") && at == 0;
            out.push(Planned {
                direct: top && root_deps.contains(&name),
                path: key.clone(),
                name,
                version: s("version").unwrap_or_default(),
                source,
                integrity: s("integrity"),
                dev: b("dev") || b("devOptional"),
                optional: b("optional"),
                has_install_script: b("hasInstallScript"),
            });
        }
        return Ok(out);
    }
    // Lockfile v1: a nested `dependencies` tree.
    let Some(deps) = doc.get("dependencies").and_then(|d| d.as_object()) else {
        return Err(bad("it has neither `packages` nor `dependencies`".into()));
    };
    let mut out = Vec::new();
    walk_v1(deps, "", true, &mut out);
    Ok(out)
}

/// The bytes of a JSON file without a UTF-8 byte-order mark, which npm
/// accepts.
fn without_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// The lockfile with `integrity` set, for each `(path, sri)`, on the entry
/// at that path that has none: npm then refuses any other bytes for it.
/// Both the `packages` map (v2, v3) and the nested `dependencies` tree
/// (v1, and v2's copy of it) are pinned.
pub fn pin_integrity(
    path: &Path,
    bytes: &[u8],
    pins: &[(String, String)],
) -> Result<Vec<u8>, Error> {
    let bad = |message: String| Error::Lockfile {
        path: path.to_path_buf(),
        message,
    };
    let mut doc: serde_json::Value =
        serde_json::from_slice(without_bom(bytes)).map_err(|e| bad(e.to_string()))?;
    for (at, sri) in pins {
        if let Some(e) = doc.get_mut("packages").and_then(|p| p.get_mut(at.as_str())) {
            set_integrity(e, sri);
        }
        // `node_modules/a/node_modules/@s/b` -> dependencies.a.dependencies.@s/b
        let mut node = Some(&mut doc);
        for name in at.split("node_modules/").filter(|n| !n.is_empty()) {
            node = node
                .and_then(|n| n.get_mut("dependencies"))
                .and_then(|d| d.get_mut(name.trim_end_matches('/')));
        }
        if let Some(e) = node.filter(|_| at.starts_with("node_modules/")) {
            set_integrity(e, sri);
        }
    }
    let mut out = serde_json::to_vec_pretty(&doc).map_err(|e| bad(e.to_string()))?;
    out.push(b'\n');
    Ok(out)
}

fn set_integrity(entry: &mut serde_json::Value, sri: &str) {
    if let Some(o) = entry.as_object_mut() {
        o.entry("integrity")
            .or_insert_with(|| serde_json::Value::String(sri.to_owned()));
    }
}

fn walk_v1(
    deps: &serde_json::Map<String, serde_json::Value>,
    prefix: &str,
    top: bool,
    out: &mut Vec<Planned>,
) {
    for (name, entry) in deps {
        let path = format!("{prefix}node_modules/{name}");
        let s = |k: &str| entry.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        let b = |k: &str| entry.get(k).and_then(|v| v.as_bool()).unwrap_or(false);
        if b("bundled") {
            continue;
        }
        out.push(Planned {
            source: classify_source(s("resolved").as_deref(), s("version").as_deref()),
            path: path.clone(),
            name: name.clone(),
            version: s("version").unwrap_or_default(),
            integrity: s("integrity"),
            dev: b("dev"),
            optional: b("optional"),
            has_install_script: false,
            direct: top,
        });
        if let Some(nested) = entry.get("dependencies").and_then(|d| d.as_object()) {
            walk_v1(nested, &format!("{path}/"), false, out);
        }
    }
}

fn classify_source(resolved: Option<&str>, version: Option<&str>) -> Source {
    let spec = resolved.or(version).unwrap_or("");
    if spec.starts_with("git+") || spec.starts_with("git:") || spec.starts_with("github:") {
        Source::Git(spec.to_owned())
    } else if spec.starts_with("file:")
        || resolved.is_some_and(|r| {
            // A path npm installs from the disk: not the registry's tarball.
            r.starts_with('/') || r.starts_with("./") || r.starts_with("../") || r.starts_with('~')
        })
    {
        Source::File(spec.to_owned())
    } else if let Some(url) =
        resolved.filter(|r| r.starts_with("http://") || r.starts_with("https://"))
    {
        // Registry tarballs are `.../<name>/-/<basename>-<version>.tgz`.
        if url.contains("/-/") {
            Source::Registry(Some(url.to_owned()))
        } else {
            Source::Url(url.to_owned())
        }
    } else {
        Source::Registry(None)
    }
}

/// The files npm reads to plan an install, copied to a scratch directory.
const PROJECT_FILES: &[&str] = &[
    "package.json",
    "package-lock.json",
    "npm-shrinkwrap.json",
    ".npmrc",
];

/// The plan npm itself computes, without running package code or touching
/// the project.
#[derive(Debug)]
pub struct Resolved {
    pub packages: Vec<Planned>,
    /// The lockfile npm wrote.
    pub lockfile: Vec<u8>,
    /// The manifest after npm updated it (new dependencies saved).
    pub manifest: Option<Vec<u8>>,
}

/// Runs `npm <args> --package-lock-only --ignore-scripts` in a temporary
/// copy of the project's manifests. `before` makes npm resolve as of that
/// time (so ranges land on releases old enough for the policy).
pub async fn resolve(
    npm: &str,
    project: &Path,
    args: &[String],
    before: Option<jiff::Timestamp>,
    env: &[(String, String)],
) -> Result<Resolved, Error> {
    let scratch = tempfile::tempdir().map_err(|source| Error::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    for f in PROJECT_FILES {
        let from = project.join(f);
        if from.is_file() {
            std::fs::copy(&from, scratch.path().join(f)).map_err(|source| Error::Io {
                path: from.clone(),
                source,
            })?;
        }
    }
    // Workspaces: npm needs each member's manifest to plan.
    for dir in workspace_dirs(project) {
        let from = project.join(&dir).join("package.json");
        let to = scratch.path().join(&dir);
        std::fs::create_dir_all(&to)
            .and_then(|()| std::fs::copy(&from, to.join("package.json")))
            .map_err(|source| Error::Io {
                path: from.clone(),
                source,
            })?;
    }
    // warden's flags first, each one word, and the user's without those
    // that would let scripts run: no user flag can take or undo them.
    let mut cmd = Command::new(npm);
    cmd.args([
        "--package-lock-only=true",
        "--ignore-scripts=true",
        "--no-audit",
        "--no-fund",
    ])
    .args(parse_args(args).plan_args())
    .current_dir(scratch.path())
    .envs(env.iter().map(|(k, v)| (k, v)));
    if let Some(t) = before {
        cmd.arg(format!("--before={}", t.strftime("%Y-%m-%dT%H:%M:%SZ")));
    }
    warden_guard::log_command(&cmd);
    // Awaited, and killed if warden's run is dropped (an interrupt): the
    // scratch copy, `.npmrc` included, is removed as the run unwinds.
    let out = tokio::process::Command::from(cmd)
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|source| Error::Spawn {
            program: npm.to_owned(),
            source,
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        // npm 11 says `npm error …`, npm 6 to 10 `npm ERR! …`; anything
        // else, its last lines. Credentials it may quote are hidden.
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("npm error") || l.contains("ERR!"))
            .take(8)
            .collect();
        let lines = if errors.is_empty() {
            let all: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
            all[all.len().saturating_sub(6)..].to_vec()
        } else {
            errors
        };
        let message = warden_registry::redact_text(&lines.join("\n"));
        return Err(Error::Resolve {
            code: out.status.code().unwrap_or(1),
            message,
        });
    }
    let lock_path = scratch.path().join("package-lock.json");
    let lockfile = std::fs::read(&lock_path).map_err(|source| Error::Io {
        path: lock_path.clone(),
        source,
    })?;
    // npm wrote paths relative to the scratch copy: those leading out of it
    // (folders named by `file:`) must lead to the same place from the
    // project.
    let relocated = |bytes: &[u8]| {
        relocate_paths(bytes, scratch.path(), project).map_err(|e| Error::Lockfile {
            path: lock_path.clone(),
            message: e.to_string(),
        })
    };
    let lockfile = relocated(&lockfile)?;
    let packages = parse_lockfile(&lock_path, &lockfile)?;
    let manifest = match std::fs::read(scratch.path().join("package.json")) {
        Ok(bytes) => Some(relocated(&bytes)?),
        Err(_) => None,
    };
    Ok(Resolved {
        packages,
        lockfile,
        manifest,
    })
}

/// A lockfile or manifest npm wrote in `from`, with every path that leads
/// out of `from` (a `packages` key, a link's `resolved`, a `file:`
/// dependency) rewritten to lead to the same folder from `to`.
pub fn relocate_paths(bytes: &[u8], from: &Path, to: &Path) -> Result<Vec<u8>, serde_json::Error> {
    let mut doc: serde_json::Value = serde_json::from_slice(without_bom(bytes))?;
    let changed = std::cell::Cell::new(false);
    let moved = |rel: &str| -> Option<String> {
        let spec = rel.strip_prefix("file:");
        let path = spec.unwrap_or(rel);
        if !path.starts_with("..") {
            return None;
        }
        let target = lexical(&from.join(path));
        if target.starts_with(lexical(from)) {
            return None;
        }
        let rel = relative(&target, &lexical(to));
        changed.set(true);
        Some(match spec {
            Some(_) => format!("file:{rel}"),
            None => rel,
        })
    };
    if let Some(packages) = doc.get_mut("packages").and_then(|p| p.as_object_mut()) {
        let old = std::mem::take(packages);
        for (key, mut entry) in old {
            if let Some(r) = entry
                .get("resolved")
                .and_then(|r| r.as_str())
                .and_then(&moved)
            {
                entry["resolved"] = serde_json::Value::String(r);
            }
            relocate_dependencies(&mut entry, &moved);
            packages.insert(moved(&key).unwrap_or(key), entry);
        }
    }
    relocate_dependencies(&mut doc, &moved);
    // Nothing led out of `from`: npm's own bytes, as it wrote them.
    if !changed.get() {
        return Ok(bytes.to_vec());
    }
    let mut out = serde_json::to_vec_pretty(&doc)?;
    out.push(b'\n');
    Ok(out)
}

/// `file:` specs in a manifest's (or a lockfile entry's) dependency maps.
fn relocate_dependencies(entry: &mut serde_json::Value, moved: &dyn Fn(&str) -> Option<String>) {
    for section in [
        "dependencies",
        "devDependencies",
        "optionalDependencies",
        "peerDependencies",
    ] {
        let Some(deps) = entry.get_mut(section).and_then(|d| d.as_object_mut()) else {
            continue;
        };
        for spec in deps.values_mut() {
            if let Some(m) = spec
                .as_str()
                .filter(|s| s.starts_with("file:"))
                .and_then(moved)
            {
                *spec = serde_json::Value::String(m);
            }
        }
    }
}

/// A path with `.` and `..` resolved by its text alone.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// `target` relative to `base` (both absolute and lexical), with `/`.
fn relative(target: &Path, base: &Path) -> String {
    let t: Vec<_> = target.components().collect();
    let b: Vec<_> = base.components().collect();
    let common = t.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = vec!["..".to_owned(); b.len() - common];
    parts.extend(
        t[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

/// The workspace folders the root `package.json` names (`packages/*`,
/// `apps/web`), relative to the project, that have a `package.json`.
pub fn workspace_dirs(project: &Path) -> Vec<PathBuf> {
    let Ok(bytes) = std::fs::read(project.join("package.json")) else {
        return Vec::new();
    };
    let Ok(manifest) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Vec::new();
    };
    let patterns: Vec<String> = match &manifest["workspaces"] {
        serde_json::Value::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        serde_json::Value::Object(o) => o
            .get("packages")
            .and_then(|p| p.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for pattern in patterns {
        let pattern = pattern.trim_start_matches("./").trim_end_matches('/');
        if pattern.split('/').any(|p| p == "..") {
            continue;
        }
        // The common forms: a folder, or `dir/*` (one level of members).
        match pattern.strip_suffix("/*") {
            Some(parent) => {
                let Ok(entries) = std::fs::read_dir(project.join(parent)) else {
                    continue;
                };
                let mut found: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok())
                    .filter(|e| e.path().join("package.json").is_file())
                    .map(|e| Path::new(parent).join(e.file_name()))
                    .collect();
                found.sort();
                out.extend(found);
            }
            None if project.join(pattern).join("package.json").is_file() => {
                out.push(PathBuf::from(pattern))
            }
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn classifies_commands() {
        assert_eq!(
            classify(&args("install")),
            NpmCommand::Install { specs: vec![] }
        );
        assert_eq!(
            classify(&args("i --save-dev --registry http://r/ left-pad@1 @s/x")),
            NpmCommand::Install {
                specs: args("left-pad@1 @s/x")
            }
        );
        assert_eq!(classify(&args("ci --omit dev")), NpmCommand::Ci);
        assert_eq!(
            classify(&args("up lodash")),
            NpmCommand::Update {
                names: args("lodash")
            }
        );
        assert_eq!(
            classify(&args("exec -- cowsay hi")),
            NpmCommand::Exec {
                specs: args("cowsay")
            }
        );
        assert_eq!(classify(&args("run build")), NpmCommand::Other);
        assert_eq!(classify(&args("--version")), NpmCommand::Other);
    }

    #[test]
    fn exec_and_npx_command_lines() {
        let e = exec_request(&args("exec -- cowsay@1.5.0 hello there")).unwrap();
        assert_eq!(
            (e.package.as_str(), e.command, e.args),
            ("cowsay@1.5.0", None, args("hello there"))
        );
        let e = exec_request(&args("exec --package=typescript -- tsc --version")).unwrap();
        assert_eq!(
            (e.package.as_str(), e.command.as_deref()),
            ("typescript", Some("tsc"))
        );
        let e = exec_request(&args("exec --registry http://r/ cowsay hi")).unwrap();
        assert_eq!(e.flags, args("--registry http://r/"));
        assert_eq!(
            npx_to_exec(&args("--yes cowsay -f x")),
            args("exec --yes -- cowsay -f x")
        );
        assert!(exec_request(&args("exec")).is_none());
    }

    #[test]
    fn lockfile_v3_with_nesting_scopes_aliases_and_sources() {
        let lock = br#"{"name":"app","lockfileVersion":3,"packages":{
          "": {"name":"app","dependencies":{"a":"^1","@s/b":"^2","alias":"npm:real@^1","g":"github:u/r"}},
          "node_modules/a": {"version":"1.0.0","resolved":"http://r/npm/a/-/a-1.0.0.tgz","integrity":"sha512-x","hasInstallScript":true},
          "node_modules/a/node_modules/c": {"version":"3.0.0","integrity":"sha512-y","dev":true},
          "node_modules/@s/b": {"version":"2.1.0","resolved":"http://r/npm/@s/b/-/b-2.1.0.tgz","integrity":"sha512-z"},
          "node_modules/alias": {"name":"real","version":"1.2.0","resolved":"http://r/npm/real/-/real-1.2.0.tgz"},
          "node_modules/g": {"version":"1.0.0","resolved":"git+ssh://git@github.com/u/r.git#abc"},
          "node_modules/ws": {"resolved":"packages/ws","link":true},
          "packages/ws": {"version":"0.0.1"},
          "node_modules/npm": {"version":"6.14.18","integrity":"sha512-n"},
          "node_modules/npm/node_modules/abbrev": {"version":"1.1.1","inBundle":true}
        }}"#;
        let p = parse_lockfile(Path::new("package-lock.json"), lock).unwrap();
        let get = |path: &str| p.iter().find(|x| x.path == path).unwrap();
        // What ships inside another tarball is checked with that tarball.
        assert_eq!(p.len(), 7);
        assert!(!p.iter().any(|x| x.name == "abbrev"));
        assert!(get("node_modules/a").has_install_script && get("node_modules/a").direct);
        assert_eq!(get("node_modules/a/node_modules/c").name, "c");
        assert!(
            !get("node_modules/a/node_modules/c").direct
                && get("node_modules/a/node_modules/c").dev
        );
        assert_eq!(
            get("node_modules/a/node_modules/c").source,
            Source::Registry(None)
        );
        assert_eq!(get("node_modules/@s/b").name, "@s/b");
        assert_eq!(get("node_modules/alias").name, "real");
        assert!(matches!(get("node_modules/g").source, Source::Git(_)));
        assert!(matches!(get("node_modules/ws").source, Source::Link(_)));
    }

    #[test]
    fn integrity_is_pinned_where_the_lockfile_has_none() {
        let lock = b"\xEF\xBB\xBF{\"lockfileVersion\":2,\"packages\":{\"\":{},
          \"node_modules/a\":{\"version\":\"1.0.0\",\"resolved\":\"http://r/a/-/a-1.0.0.tgz\"},
          \"node_modules/a/node_modules/@s/b\":{\"version\":\"2.0.0\",\"integrity\":\"sha512-kept\"}},
          \"dependencies\":{\"a\":{\"version\":\"1.0.0\",\"dependencies\":{\"@s/b\":{\"version\":\"2.0.0\"}}}}}";
        let pins = [
            ("node_modules/a".to_owned(), "sha512-A".to_owned()),
            (
                "node_modules/a/node_modules/@s/b".to_owned(),
                "sha512-B".to_owned(),
            ),
        ];
        let out = pin_integrity(Path::new("l"), lock, &pins).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(doc["packages"]["node_modules/a"]["integrity"], "sha512-A");
        assert_eq!(
            doc["packages"]["node_modules/a/node_modules/@s/b"]["integrity"], "sha512-kept",
            "an integrity the lockfile has stays"
        );
        assert_eq!(doc["dependencies"]["a"]["integrity"], "sha512-A");
        assert_eq!(
            doc["dependencies"]["a"]["dependencies"]["@s/b"]["integrity"],
            "sha512-B"
        );
        let planned = parse_lockfile(Path::new("l"), &out).unwrap();
        assert!(planned.iter().all(|p| p.integrity.is_some()));
    }

    #[test]
    fn a_path_in_resolved_is_a_local_file_not_the_registry() {
        for resolved in ["/abs/x.tgz", "../x.tgz", "./vendor/x.tgz"] {
            let lock = format!(
                r#"{{"lockfileVersion":3,"packages":{{"":{{}},"node_modules/x":{{"version":"1.0.0","resolved":"{resolved}"}}}}}}"#
            );
            let p = parse_lockfile(Path::new("l"), lock.as_bytes()).unwrap();
            assert!(matches!(p[0].source, Source::File(_)), "{resolved}");
        }
    }

    #[test]
    fn paths_out_of_the_scratch_copy_lead_to_the_same_folder_from_the_project() {
        let lock = br#"{"lockfileVersion":3,"packages":{
          "":{"dependencies":{"x":"file:/work/libs/x","y":"file:../../work/libs/y"}},
          "../../work/libs/x":{"version":"1.0.0"},
          "node_modules/x":{"resolved":"../../work/libs/x","link":true},
          "node_modules/a":{"version":"1.0.0","resolved":"http://r/a/-/a-1.0.0.tgz"}}}"#;
        let out = relocate_paths(lock, Path::new("/tmp/.tmpAB12"), Path::new("/work/app")).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let packages = doc["packages"].as_object().unwrap();
        assert!(packages.contains_key("../libs/x"), "{doc}");
        assert_eq!(packages["node_modules/x"]["resolved"], "../libs/x");
        assert_eq!(packages[""]["dependencies"]["x"], "file:/work/libs/x");
        assert_eq!(packages[""]["dependencies"]["y"], "file:../libs/y");
        assert_eq!(
            packages["node_modules/a"]["resolved"],
            "http://r/a/-/a-1.0.0.tgz"
        );
        let plain =
            br#"{"packages":{"node_modules/a":{"resolved":"http://r/a.tgz"}},"name":"app"}"#;
        assert_eq!(
            relocate_paths(plain, Path::new("/tmp/s"), Path::new("/work/app")).unwrap(),
            plain,
            "npm's own bytes when nothing moves"
        );
        let manifest = br#"{"dependencies":{"z":"file:../../work/z"}}"#;
        let out =
            relocate_paths(manifest, Path::new("/tmp/.tmpAB12"), Path::new("/work/app")).unwrap();
        assert!(String::from_utf8_lossy(&out).contains("\"file:../z\""));
    }

    #[test]
    fn lockfile_v1_and_garbage() {
        let lock = br#"{"lockfileVersion":1,"dependencies":{"a":{"version":"1.0.0","integrity":"sha1-x","dependencies":{"b":{"version":"2.0.0"}}}}}"#;
        let p = parse_lockfile(Path::new("l"), lock).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[1].path, "node_modules/a/node_modules/b");
        assert!(p[0].direct && !p[1].direct);
        assert!(parse_lockfile(Path::new("l"), b"{").is_err());
        assert!(parse_lockfile(Path::new("l"), b"{}").is_err());
    }

    #[test]
    fn workspace_members() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join("package.json"),
            r#"{"workspaces": ["packages/*", "apps/web", "../escape"]}"#,
        )
        .unwrap();
        for m in [
            "packages/a",
            "packages/b",
            "apps/web",
            "packages/no-manifest",
        ] {
            std::fs::create_dir_all(root.join(m)).unwrap();
            if !m.ends_with("no-manifest") {
                std::fs::write(root.join(m).join("package.json"), "{}").unwrap();
            }
        }
        let dirs: Vec<String> = workspace_dirs(root)
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(dirs, ["packages/a", "packages/b", "apps/web"]);
    }
}

/// Where npm's content-addressed cache (cacache, under `<cache>/_cacache`)
/// keeps the bytes with this integrity: `content-v2/<algorithm>/<2>/<2>/<rest>`
/// of the strongest hash's hex digest. npm (pacote) reads a tarball from
/// there by the lockfile's integrity, checking it as it reads, before
/// fetching anything.
pub fn cacache_content_path(integrity: &str) -> Option<PathBuf> {
    use base64::Engine;
    const STRENGTH: [&str; 4] = ["sha1", "sha256", "sha384", "sha512"];
    let (algorithm, digest) = integrity
        .split_whitespace()
        .filter_map(|h| h.split_once('-'))
        .filter(|(a, _)| STRENGTH.contains(a))
        .max_by_key(|(a, _)| STRENGTH.iter().position(|s| s == a))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(digest.split('?').next()?)
        .ok()?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    cacache_hex_path(algorithm, &hex)
}

/// The same, for a digest given in hex (npm's `shasum`).
pub fn cacache_hex_path(algorithm: &str, hex: &str) -> Option<PathBuf> {
    if hex.len() < 8 || !hex.is_ascii() {
        return None;
    }
    Some(
        ["content-v2", algorithm, &hex[..2], &hex[2..4], &hex[4..]]
            .iter()
            .collect(),
    )
}

#[cfg(test)]
mod cacache_tests {
    #[test]
    fn content_path_follows_cacache() {
        // sha512 of the empty string.
        let p = super::cacache_content_path(
            "sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk= sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==",
        )
        .unwrap();
        assert_eq!(
            p.to_str().unwrap(),
            "content-v2/sha512/cf/83/e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
        );
        assert!(super::cacache_content_path("md5-xx").is_none());
        assert!(super::cacache_content_path("sha512-!!").is_none());
    }
}
