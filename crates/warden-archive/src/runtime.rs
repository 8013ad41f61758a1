//! The runtime surface: the files that run when a package is loaded
//! (`require`d or imported) or its commands are run, found by a bounded
//! walk from its entry points. Their texts join the surface with
//! [`Runs::Import`]; the content rules that apply on load read them.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;

use crate::surface::{Files, LOCAL_IMPORT, Runs, Surface, SurfaceText, resolve};

/// At most this many files are read as the runtime surface of one
/// artifact, each at most this large: the walk is for the code that runs
/// first, not the whole package.
pub const RUNTIME_FILES: usize = 48;
pub const RUNTIME_FILE_BYTES: usize = 2 << 20;
/// And at most this much in all.
pub const RUNTIME_BYTES: usize = 8 << 20;
/// After the walk, the other modules of a Python artifact's own packages
/// are read too, up to this many files in all (and `RUNTIME_BYTES`): any
/// of them runs when the application imports it, and a payload is often
/// in one the package's `__init__.py` never names.
pub const MODULE_FILES: usize = 160;
/// How many imports deep the walk follows from an entry point.
const DEPTH: u32 = 3;

/// The npm entry points: `main` (or `index.js`), `module`, `browser`,
/// every path in `exports`, and `bin` targets, then the local modules they
/// load.
pub(crate) fn npm(files: &Files<'_>, manifest: &serde_json::Value, s: &mut Surface) {
    let mut entries: Vec<String> = Vec::new();
    entries.push(manifest["main"].as_str().unwrap_or("index.js").to_owned());
    for key in ["module", "browser"] {
        if let Some(p) = manifest[key].as_str() {
            entries.push(p.to_owned());
        }
    }
    collect_paths(&manifest["exports"], &mut entries);
    match &manifest["bin"] {
        serde_json::Value::String(p) => entries.push(p.clone()),
        serde_json::Value::Object(map) => {
            entries.extend(map.values().filter_map(|v| v.as_str().map(str::to_owned)));
        }
        _ => {}
    }
    let mut queue: Vec<(String, u32)> = entries.into_iter().map(|e| (e, 0)).collect();
    queue.reverse();
    let mut seen = already_read(s);
    let mut budget = Budget::default();
    while let Some((target, depth)) = queue.pop() {
        if budget.spent(RUNTIME_FILES) {
            s.runtime_partial = true;
            break;
        }
        let Some(path) = resolve(files, "", &target) else {
            continue;
        };
        if !loads_as_code(&path) || !seen.insert(path.clone()) {
            continue;
        }
        let Some(text) = readable(files, &path) else {
            continue;
        };
        if depth < DEPTH {
            let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
            let mut found: Vec<(String, u32)> = LOCAL_IMPORT
                .captures_iter(text)
                .map(|cap| {
                    let joined = if dir.is_empty() {
                        cap[1].to_owned()
                    } else {
                        format!("{dir}/{}", &cap[1])
                    };
                    (joined, depth + 1)
                })
                .collect();
            found.reverse();
            // Breadth before depth would need a second queue; nearer files
            // first is enough: they are pushed last and read next.
            queue.extend(found);
        }
        budget.take(s, path, Runs::Import, text);
    }
}

/// Whether a file `exports` or `require` can name is code that runs:
/// not data, styles, or TypeScript's declarations (the `types` condition).
fn loads_as_code(path: &str) -> bool {
    ![
        ".json", ".d.ts", ".d.mts", ".d.cts", ".css", ".map", ".md", ".node",
    ]
    .iter()
    .any(|ext| path.ends_with(ext))
}

/// Every string in an `exports` value that is a path in the package.
fn collect_paths(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(p) if p.starts_with("./") && !p.contains('*') => {
            out.push(p.clone());
        }
        serde_json::Value::Object(map) => map.values().for_each(|v| collect_paths(v, out)),
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_paths(v, out)),
        _ => {}
    }
}

/// `from .x import y`, `from . import x, y`, `from pkg.x import y`,
/// `import pkg.x`: the module named, and for `from . import` the names.
static PY_IMPORT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^\s*(?:from\s+(\.*)([\w.]*)\s+import\s+([\w, ()]+)|import\s+([\w.]+))")
        .unwrap_or_else(|_| unreachable!())
});

/// The Python entry points: each top-level package's `__init__.py` and
/// `__main__.py`, top-level modules of a wheel, and the modules of
/// console and GUI scripts, then the package modules they import.
/// `prefix` is where the packages are (`""` for a wheel; `""` or `src/`
/// for an sdist).
pub(crate) fn python(files: &Files<'_>, wheel: bool, s: &mut Surface) {
    let mut roots: Vec<(String, String)> = Vec::new(); // (package dir, file)
    let mut packages: BTreeSet<String> = BTreeSet::new();
    for path in files.by_path.keys() {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let package_dir = if wheel {
            (!dir.is_empty() && !dir.contains('/') && !dir.ends_with(".dist-info")).then_some(dir)
        } else {
            match dir.strip_prefix("src/") {
                Some(d) if !d.contains('/') => Some(dir),
                _ => (!dir.is_empty() && !dir.contains('/')).then_some(dir),
            }
        };
        if let Some(dir) = package_dir {
            if name == "__init__.py" {
                let top = dir.rsplit('/').next().unwrap_or(dir);
                if !matches!(top, "tests" | "test" | "docs" | "examples" | "build") {
                    packages.insert(dir.to_owned());
                    roots.push((dir.to_owned(), path.clone()));
                }
            }
        } else if wheel && dir.is_empty() && name.ends_with(".py") {
            roots.push((String::new(), path.clone()));
        }
    }
    for dir in &packages {
        let main = format!("{dir}/__main__.py");
        if files.get(&main).is_some() {
            roots.push((dir.clone(), main));
        }
    }
    // Console and GUI scripts: the module each runs.
    let entry_points = files
        .by_path
        .keys()
        .find(|p| p.ends_with(".dist-info/entry_points.txt") || *p == "entry_points.txt")
        .and_then(|p| files.text(p));
    for target in entry_points.map(script_modules).unwrap_or_default() {
        let base = if wheel
            || files
                .get(&format!("src/{}", module_path(&target)))
                .is_none()
        {
            ""
        } else {
            "src/"
        };
        if let Some(path) = module_file(files, base, &target) {
            let dir = path.rsplit_once('/').map_or("", |(d, _)| d).to_owned();
            roots.push((dir, path));
        }
    }
    let base = |dir: &str| {
        if dir.starts_with("src/") { "src/" } else { "" }
    };
    let mut queue: Vec<(String, String, u32)> = roots
        .into_iter()
        .rev()
        .map(|(dir, file)| (dir, file, 0))
        .collect();
    let mut seen = already_read(s);
    let mut budget = Budget::default();
    while let Some((dir, path, depth)) = queue.pop() {
        if budget.spent(RUNTIME_FILES) {
            s.runtime_partial = true;
            break;
        }
        if !seen.insert(path.clone()) {
            continue;
        }
        let Some(text) = readable(files, &path) else {
            continue;
        };
        if depth < DEPTH {
            let mut found = Vec::new();
            for cap in PY_IMPORT.captures_iter(text) {
                let (dots, module, names, plain) = (
                    cap.get(1).map_or("", |m| m.as_str()),
                    cap.get(2).map_or("", |m| m.as_str()),
                    cap.get(3).map_or("", |m| m.as_str()),
                    cap.get(4).map_or("", |m| m.as_str()),
                );
                // (where the module path starts, the module, relative)
                let mut targets = Vec::new();
                if !plain.is_empty() {
                    targets.push((base(&dir).to_owned(), plain.to_owned(), false));
                } else if dots == "." {
                    // Relative to this package: `from .x import y`, or
                    // `from . import x, y`.
                    let here = path.rsplit_once('/').map_or("", |(d, _)| d);
                    let prefix = if here.is_empty() {
                        String::new()
                    } else {
                        format!("{here}/")
                    };
                    if module.is_empty() {
                        for n in names.split([',', '(', ')', ' ']).filter(|n| !n.is_empty()) {
                            targets.push((prefix.clone(), n.to_owned(), true));
                        }
                    } else {
                        targets.push((prefix, module.to_owned(), true));
                    }
                } else if dots.is_empty() {
                    targets.push((base(&dir).to_owned(), module.to_owned(), false));
                    // Python 2's implicit relative import (`from util import
                    // x` beside `util.py`), still written by some.
                    let here = path.rsplit_once('/').map_or("", |(d, _)| d);
                    if !here.is_empty() {
                        targets.push((format!("{here}/"), module.to_owned(), true));
                    }
                }
                for (prefix, target, relative) in targets {
                    // Only this artifact's own packages: the rest is another
                    // package, checked on its own.
                    let first = target.split('.').next().unwrap_or("");
                    let own =
                        relative || packages.iter().any(|p| p.rsplit('/').next() == Some(first));
                    if !own {
                        continue;
                    }
                    if let Some(file) = module_file(files, &prefix, &target) {
                        let d = file.rsplit_once('/').map_or("", |(d, _)| d).to_owned();
                        found.push((d, file, depth + 1));
                    }
                }
            }
            found.reverse();
            queue.extend(found);
        }
        budget.take(s, path, Runs::Import, text);
    }
    // Then the rest of the packages' modules, and an sdist's top-level
    // modules (at its root or under `src/`), in path order: tests, docs and
    // examples are not installed code.
    for path in files.by_path.keys() {
        if budget.spent(MODULE_FILES) {
            break;
        }
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let top = dir.split('/').next().unwrap_or("");
        let top = if top == "src" {
            dir.split('/').nth(1).unwrap_or("")
        } else {
            top
        };
        let module = name.ends_with(".py")
            && !name.starts_with("test_")
            && !dir
                .split('/')
                .any(|d| matches!(d, "tests" | "test" | "docs" | "examples" | "build"))
            && (packages.iter().any(|p| {
                let p = p.strip_prefix("src/").unwrap_or(p);
                p == top
            }) || (!wheel && (dir.is_empty() || dir == "src") && !NOT_MODULES.contains(&name)));
        if !module || seen.contains(path.as_str()) {
            continue;
        }
        let Some(text) = readable(files, path) else {
            continue;
        };
        seen.insert(path.clone());
        budget.take(s, path.clone(), Runs::Module, text);
    }
}

/// How much of an artifact the runtime surface has read, against its bounds.
#[derive(Default)]
struct Budget {
    files: usize,
    bytes: usize,
}

impl Budget {
    /// Whether `max_files` files or `RUNTIME_BYTES` have been read.
    fn spent(&self, max_files: usize) -> bool {
        self.files >= max_files || self.bytes >= RUNTIME_BYTES
    }

    /// Counts `text` and adds it to the surface as code that runs `runs`.
    fn take(&mut self, s: &mut Surface, path: String, runs: Runs, text: &str) {
        self.files += 1;
        self.bytes += text.len();
        s.texts.push(SurfaceText {
            path,
            runs,
            text: text.to_owned(),
        });
    }
}

/// Python files at an sdist's root that are not installed modules: the
/// build script (read as the install surface) and project tooling.
const NOT_MODULES: &[&str] = &[
    "setup.py",
    "conftest.py",
    "noxfile.py",
    "tasks.py",
    "fabfile.py",
    "runtests.py",
    "run_tests.py",
    "build.py",
    "versioneer.py",
    "setup_build.py",
];

/// `module.sub:func [extra]` lines of console and GUI scripts: the modules.
fn script_modules(text: &str) -> Vec<String> {
    let mut section = "";
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') && line.ends_with(']') {
            section = line.trim_matches(['[', ']']);
            continue;
        }
        if section != "console_scripts" && section != "gui_scripts" {
            continue;
        }
        if let Some((_, target)) = line.split_once('=') {
            let module = target.split(':').next().unwrap_or("").trim();
            if !module.is_empty() {
                out.push(module.to_owned());
            }
        }
    }
    out
}

fn module_path(module: &str) -> String {
    module.replace('.', "/")
}

/// `pkg.sub` as a file under `prefix`: `pkg/sub.py` or `pkg/sub/__init__.py`.
fn module_file(files: &Files<'_>, prefix: &str, module: &str) -> Option<String> {
    let path = format!("{prefix}{}", module_path(module));
    [format!("{path}.py"), format!("{path}/__init__.py")]
        .into_iter()
        .find(|p| files.get(p).is_some())
}

/// Files the install surface read already: their findings are reported
/// for when they run at install.
fn already_read(s: &Surface) -> BTreeSet<String> {
    s.texts.iter().map(|t| t.path.clone()).collect()
}

/// The text of `path`, when it is text and within the bound.
fn readable<'a>(files: &Files<'a>, path: &str) -> Option<&'a str> {
    let entry = files.get(path)?;
    if entry.size > RUNTIME_FILE_BYTES as u64 {
        return None;
    }
    files.text(path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::Write;

    use crate::Limits;

    fn tar_gz(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, text) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, path, text.as_bytes())
                .unwrap();
        }
        let tar = builder.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        gz.finish().unwrap()
    }

    fn zip(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (path, text) in entries {
            w.start_file(
                *path,
                zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Stored),
            )
            .unwrap();
            w.write_all(text.as_bytes()).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn runtime_paths(kind: crate::ArtifactKind, entries: &[(&str, &str)]) -> Vec<String> {
        let bytes = match kind {
            crate::ArtifactKind::Wheel => zip(entries),
            _ => tar_gz(entries),
        };
        let archive = crate::read("t", &bytes, &Limits::default()).unwrap();
        let s = crate::surface(&archive, Some(kind));
        // A module read only by the sweep after the walk is marked.
        let mut paths: Vec<String> = s
            .texts
            .iter()
            .filter_map(|t| match t.runs {
                crate::Runs::Import => Some(t.path.clone()),
                crate::Runs::Module => Some(format!("{} (module)", t.path)),
                _ => None,
            })
            .collect();
        paths.sort();
        paths
    }

    #[test]
    fn npm_entry_points_and_what_they_require() {
        let paths = runtime_paths(
            crate::ArtifactKind::NpmPackage,
            &[
                (
                    "package/package.json",
                    r#"{"name":"x","version":"1.0.0","main":"lib/main.js","exports":{".":{"types":"./index.d.ts","import":"./esm/index.mjs"},"./style.css":"./style.css"},"bin":{"x":"cli.js"}}"#,
                ),
                // Declarations and styles never run.
                ("package/index.d.ts", "import cp from 'node:child_process';"),
                ("package/style.css", "a { color: red }"),
                ("package/lib/main.js", "const h = require('./helper');"),
                ("package/lib/helper.js", "module.exports = 1;"),
                ("package/esm/index.mjs", "export default 1;"),
                (
                    "package/cli.js",
                    "#!/usr/bin/env node\nrequire('./lib/main.js')",
                ),
                ("package/test/unused.js", "evil()"),
            ],
        );
        assert_eq!(
            paths,
            ["cli.js", "esm/index.mjs", "lib/helper.js", "lib/main.js"]
        );
    }

    #[test]
    fn npm_without_main_loads_index_js() {
        let paths = runtime_paths(
            crate::ArtifactKind::NpmPackage,
            &[
                ("package/package.json", r#"{"name":"x","version":"1.0.0"}"#),
                ("package/index.js", "1"),
            ],
        );
        assert_eq!(paths, ["index.js"]);
    }

    #[test]
    fn python_packages_their_imports_and_scripts() {
        let paths = runtime_paths(
            crate::ArtifactKind::Wheel,
            &[
                (
                    "pkg/__init__.py",
                    "from .core import run\nfrom . import util\nimport pkg.extra\nimport os\n",
                ),
                ("pkg/core.py", "from pkg.deep import x\n"),
                ("pkg/deep.py", "x = 1\n"),
                ("pkg/util.py", "y = 2\n"),
                ("pkg/extra/__init__.py", "z = 3\n"),
                ("pkg/never_imported.py", "evil()\n"),
                ("tool.py", "print(1)\n"),
                ("pkg-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\n"),
                ("pkg-1.0.dist-info/METADATA", "Name: pkg\nVersion: 1.0\n"),
                (
                    "pkg-1.0.dist-info/entry_points.txt",
                    "[console_scripts]\npkg = pkg.cli:main\n",
                ),
                ("pkg/cli.py", "def main(): pass\n"),
            ],
        );
        assert_eq!(
            paths,
            [
                "pkg/__init__.py",
                "pkg/cli.py",
                "pkg/core.py",
                "pkg/deep.py",
                "pkg/extra/__init__.py",
                "pkg/never_imported.py (module)",
                "pkg/util.py",
                "tool.py"
            ]
        );
    }

    #[test]
    fn an_implicit_relative_import_is_followed() {
        let paths = runtime_paths(
            crate::ArtifactKind::Sdist,
            &[
                (
                    "p-1.0/PKG-INFO",
                    "Metadata-Version: 2.1\nName: p\nVersion: 1.0\n",
                ),
                (
                    "p-1.0/src/p/__init__.py",
                    "from discord import find_tokens\nfrom os import path\n",
                ),
                ("p-1.0/src/p/discord.py", "def find_tokens(): pass\n"),
            ],
        );
        assert_eq!(paths, ["src/p/__init__.py", "src/p/discord.py"]);
    }

    #[test]
    fn sdists_find_packages_at_the_root_and_under_src_but_not_tests() {
        let paths = runtime_paths(
            crate::ArtifactKind::Sdist,
            &[
                (
                    "p-1.0/PKG-INFO",
                    "Metadata-Version: 2.1\nName: p\nVersion: 1.0\n",
                ),
                ("p-1.0/setup.py", "from setuptools import setup\nsetup()\n"),
                ("p-1.0/src/p/__init__.py", "from .a import b\n"),
                ("p-1.0/src/p/a.py", "b = 1\n"),
                ("p-1.0/tests/__init__.py", "evil()\n"),
                // Installed modules outside a package (`py_modules`), at the
                // root or under `src/`; project tooling and tests are not.
                ("p-1.0/helper.py", "x = 1\n"),
                ("p-1.0/src/single.py", "y = 2\n"),
                ("p-1.0/noxfile.py", "import nox\n"),
                ("p-1.0/src/p/test_a.py", "evil()\n"),
            ],
        );
        assert_eq!(
            paths,
            [
                "helper.py (module)",
                "src/p/__init__.py",
                "src/p/a.py",
                "src/single.py (module)"
            ]
        );
    }
}
