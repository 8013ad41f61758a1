//! pip's plan, kept between runs: a warm `warden pip install -r` with
//! nothing changed does not run pip's resolver again.
//!
//! A plan is kept under a digest of everything its resolution read:
//!
//! - the pip that would run: in a virtual environment, its `pyvenv.cfg`,
//!   the interpreter it links to and the `pip-*.dist-info` it holds (a
//!   fresh environment of the same Python and pip is the same); elsewhere,
//!   the size and time of the `pip` files beside the program;
//! - the environment pip reads (`PIP_*`, `PYTHON*`);
//! - pip's configuration files, by content;
//! - each argument: files by content (requirements files with the files
//!   they name with `-r`/`-c`), folders by their listing (`--find-links`),
//!   the rest as written; and the constraints file.
//!
//! Beside the plan is a digest of each planned project's index pages (the
//! files they list, their hashes and yanks). A kept plan is used only when
//! every page is unchanged: a new release, a yank or a deleted file makes
//! pip plan again. Every file of a kept plan is checked like any other;
//! only the resolution is skipped. A plan may name warden's placeholders
//! for sdist-only releases (made again each run from the checked sdists'
//! metadata, and part of the key by their listing); plans that name other
//! local files are not kept.
//!
//! Wheels built from checked index sdists are kept too, as pip keeps them
//! in its own wheel cache: under the pip that built them (the digest above)
//! and the sdist's SHA-256, so a warm run builds nothing again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use warden_registry::RedactedUrl;
use warden_registry::pypi::SimpleProject;

use crate::Planned;

/// Where plans are kept, and the digest of what every plan of this run
/// shares (the pip, its environment and configuration).
#[derive(Debug, Clone)]
pub struct PlanCache {
    /// warden's cache directory.
    root: PathBuf,
    base: [u8; 32],
}

/// A kept plan and the digests of the pages it was made from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Kept {
    pub plan: Vec<Planned>,
    /// normalised project name -> digest of its pages.
    pub pages: BTreeMap<String, String>,
}

const MAX_INCLUDE_DEPTH: usize = 8;

impl PlanCache {
    /// `None` without a cache directory or when the pip to run cannot be
    /// found on `PATH` (then it is not known what would resolve).
    pub fn new(
        cache_dir: Option<&Path>,
        pip: &[String],
        vars: &BTreeMap<String, String>,
        config_files: &[PathBuf],
    ) -> Option<Self> {
        let root = cache_dir?.to_path_buf();
        let program = locate(pip.first()?, vars.get("PATH").map(String::as_str))?;
        let mut h = Sha256::new();
        h.update(b"warden pip plan v1\0");
        for part in pip {
            field(&mut h, part.as_bytes());
        }
        if let Some(bin) = program.parent() {
            pip_identity(&mut h, &program, bin);
        }
        for (k, v) in vars {
            // PATH and VIRTUAL_ENV only choose the pip, which is known by
            // its identity above: a fresh environment elsewhere is the same.
            if k.starts_with("PIP_") || k.starts_with("PYTHON") {
                field(&mut h, format!("{k}={v}").as_bytes());
            }
        }
        for file in config_files {
            field(&mut h, file.as_os_str().as_encoded_bytes());
            field(&mut h, &std::fs::read(file).unwrap_or_default());
        }
        Some(Self {
            root,
            base: h.finalize().into(),
        })
    }

    /// The key of a resolution with these arguments and constraints.
    pub fn key(&self, args: &[String], constraints: Option<&Path>) -> String {
        let mut h = Sha256::new();
        h.update(self.base);
        for arg in args {
            argument(&mut h, arg, 0);
        }
        if let Some(c) = constraints {
            h.update(b"constraints\0");
            argument(&mut h, &c.display().to_string(), 0);
        }
        hex(&h.finalize())
    }

    /// The plan kept under `key`, if any (not yet checked against pages),
    /// its placeholders found in `placeholders`, this run's folder of them.
    pub fn load(&self, key: &str, placeholders: Option<&Path>) -> Option<Kept> {
        let mut kept: Kept =
            serde_json::from_slice(&std::fs::read(self.plan_path(key)).ok()?).ok()?;
        for p in &mut kept.plan {
            if let Some(name) = p.url.strip_prefix(PLACEHOLDER) {
                let file = placeholders?.join(name);
                if !file.is_file() {
                    return None;
                }
                p.url = format!("file://{}", file.display());
            }
        }
        Some(kept)
    }

    /// Keeps `plan` under `key` with the digests of its pages; a plan that
    /// names a local file other than a placeholder in `placeholders` is
    /// not kept.
    pub fn store(
        &self,
        key: &str,
        plan: &[Planned],
        pages: BTreeMap<String, String>,
        placeholders: Option<&Path>,
    ) {
        let folder = placeholders.map(|d| format!("file://{}/", d.display()));
        let mut plan = plan.to_vec();
        for p in &mut plan {
            if p.is_direct {
                return;
            }
            let placeholder = folder
                .as_deref()
                .and_then(|f| p.url.strip_prefix(f))
                .filter(|name| !name.contains('/'));
            match placeholder {
                Some(name) => p.url = format!("{PLACEHOLDER}{name}"),
                None if p.url.starts_with("https://") || p.url.starts_with("http://") => {}
                None => return,
            }
        }
        let kept = Kept { plan, pages };
        if let Ok(json) = serde_json::to_vec(&kept) {
            warden_guard::cache::keep(&self.plan_path(key), &json);
        }
    }

    /// The wheels kept as built by this pip from the sdist with these
    /// bytes, or `None` when none are.
    pub fn built(&self, sdist: &[u8]) -> Option<Vec<BuiltWheel>> {
        let mut wheels = Vec::new();
        for entry in std::fs::read_dir(self.built_dir(sdist)).ok()?.flatten() {
            let name = entry.file_name().into_string().ok()?;
            if name.ends_with(".whl") && !name.starts_with('.') {
                wheels.push((name, std::fs::read(entry.path()).ok()?));
            }
        }
        (!wheels.is_empty()).then_some(wheels)
    }

    /// Keeps the wheel this pip built from the sdist with these bytes.
    pub fn keep_built(&self, sdist: &[u8], wheel: &str, bytes: &[u8]) {
        warden_guard::cache::keep(&self.built_dir(sdist).join(wheel), bytes);
    }

    fn plan_path(&self, key: &str) -> PathBuf {
        self.root.join("pip-plans-v1").join(key)
    }

    /// The folder of wheels built by this pip from the sdist with these
    /// bytes.
    fn built_dir(&self, sdist: &[u8]) -> PathBuf {
        warden_guard::cache::kept_path(
            &self.root,
            "built-wheels-v1",
            &[&self.base, &Sha256::digest(sdist)],
        )
    }
}

/// A wheel built from a checked sdist: its file name and bytes.
pub type BuiltWheel = (String, Vec<u8>);

/// How a kept plan names one of warden's placeholders: by file name, found
/// in the run's own folder of them.
const PLACEHOLDER: &str = "placeholder:";

/// A digest of what a project's pages list: every file with its hashes,
/// yank and upload time, on every index that has it.
pub fn page_digest(pages: &[(RedactedUrl, SimpleProject)]) -> String {
    let mut h = Sha256::new();
    for (index, page) in pages {
        field(&mut h, index.to_string().as_bytes());
        for f in &page.files {
            field(&mut h, f.filename.as_bytes());
            for (alg, digest) in &f.hashes {
                field(&mut h, format!("{alg}={digest}").as_bytes());
            }
            field(
                &mut h,
                format!("{:?} {:?}", f.yanked, f.upload_time).as_bytes(),
            );
        }
    }
    hex(&h.finalize())
}

fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Size and modification time (nanoseconds) of a file.
fn stamp(path: &Path) -> Option<(u64, i128)> {
    let meta = std::fs::metadata(path).ok()?;
    let t = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some((meta.len(), i128::try_from(t).ok()?))
}

/// What says which pip and which Python would resolve, without starting
/// either: the interpreters beside the program (followed to the files they
/// link to), `pyvenv.cfg`, and the `pip-*.dist-info` folders of the
/// environment's site-packages; outside a virtual environment, the size
/// and time of the `pip` files beside the program. A fresh virtual
/// environment of the same Python and pip has the same identity.
fn pip_identity(h: &mut Sha256, program: &Path, bin: &Path) {
    let names = |dir: &Path| -> Vec<String> {
        let mut out: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        out.sort();
        out
    };
    for name in names(bin).into_iter().filter(|n| n.starts_with("python")) {
        let real = std::fs::canonicalize(bin.join(&name)).unwrap_or_else(|_| bin.join(&name));
        if let Some((len, t)) = stamp(&real) {
            field(
                h,
                format!("{name} -> {} {len} {t}", real.display()).as_bytes(),
            );
        }
    }
    let env = bin.parent().unwrap_or(bin);
    let cfg = std::fs::read(env.join("pyvenv.cfg")).ok();
    let mut dist_infos = Vec::new();
    for lib in ["lib", "lib64"] {
        for python in names(&env.join(lib)) {
            let site = env.join(lib).join(&python).join("site-packages");
            dist_infos.extend(
                names(&site)
                    .into_iter()
                    .filter(|n| n.starts_with("pip-") && n.ends_with(".dist-info"))
                    .map(|n| format!("{lib}/{python}/{n}")),
            );
        }
    }
    match cfg {
        Some(cfg) if !dist_infos.is_empty() => {
            // Without `command`, which names the environment's own path.
            for line in String::from_utf8_lossy(&cfg).lines() {
                if !line.trim_start().starts_with("command") {
                    field(h, line.as_bytes());
                }
            }
            for d in dist_infos {
                field(h, d.as_bytes());
            }
        }
        _ => {
            field(h, program.as_os_str().as_encoded_bytes());
            for name in names(bin).into_iter().filter(|n| n.starts_with("pip")) {
                if let Some((len, t)) = stamp(&bin.join(&name)) {
                    field(h, format!("{name} {len} {t}").as_bytes());
                }
            }
        }
    }
}

/// `program` as the shell would find it on `path`.
fn locate(program: &str, path: Option<&str>) -> Option<PathBuf> {
    if program.contains('/') {
        return std::fs::canonicalize(program).ok();
    }
    path?
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
}

/// One argument into the key: a file by its content (and the files a
/// requirements file names), a folder by its listing, anything else as
/// written.
fn argument(h: &mut Sha256, arg: &str, depth: usize) {
    let path = Path::new(arg);
    if depth < MAX_INCLUDE_DEPTH && path.is_file() {
        let text = std::fs::read(path).unwrap_or_default();
        field(h, b"file");
        field(h, &text);
        let base = path.parent().unwrap_or(Path::new("."));
        for line in String::from_utf8_lossy(&text).lines() {
            let line = line.trim();
            let named = ["-r", "-c", "--requirement", "--constraint"]
                .iter()
                .find_map(|flag| {
                    line.strip_prefix(flag)
                        .filter(|rest| rest.starts_with([' ', '=', '\t']))
                        .map(|rest| rest.trim_start_matches([' ', '=', '\t']).trim())
                });
            if let Some(named) = named {
                argument(h, &base.join(named).display().to_string(), depth + 1);
            }
        }
    } else if path.is_dir() {
        let mut entries: Vec<(String, u64)> = std::fs::read_dir(path)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| Some((e.file_name().into_string().ok()?, e.metadata().ok()?.len())))
            .collect();
        entries.sort();
        field(h, b"dir");
        for (name, len) in entries {
            field(h, format!("{name} {len}").as_bytes());
        }
    } else {
        field(h, arg.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn planned(url: &str) -> Planned {
        Planned {
            name: "demo".into(),
            version: "1.0".into(),
            url: url.into(),
            filename: "demo-1.0-py3-none-any.whl".into(),
            sha256: Some("aa".into()),
            requested: true,
            is_direct: false,
        }
    }

    #[test]
    fn the_key_follows_what_the_resolution_reads() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("venv/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(bin.join("pip"), "#!/bin/sh\n").unwrap();
        let vars = BTreeMap::from([("PATH".to_owned(), bin.display().to_string())]);
        let cache = PlanCache::new(Some(dir.path()), &["pip".into()], &vars, &[]).unwrap();
        let reqs = dir.path().join("requirements.txt");
        let nested = dir.path().join("more.txt");
        std::fs::write(&reqs, "demo\n-r more.txt\n").unwrap();
        std::fs::write(&nested, "other==1.0\n").unwrap();
        let args = ["-r".to_owned(), reqs.display().to_string()];
        let first = cache.key(&args, None);
        assert_eq!(first, cache.key(&args, None));
        // A nested requirements file changes: another key.
        std::fs::write(&nested, "other==2.0\n").unwrap();
        let second = cache.key(&args, None);
        assert_ne!(first, second);
        // Another environment variable pip reads, or another pip.
        let mut vars2 = vars.clone();
        vars2.insert("PIP_PRE".into(), "1".into());
        let other = PlanCache::new(Some(dir.path()), &["pip".into()], &vars2, &[]).unwrap();
        assert_ne!(second, other.key(&args, None));
        std::fs::write(bin.join("pip"), "#!/bin/sh\n# upgraded\n").unwrap();
        let upgraded = PlanCache::new(Some(dir.path()), &["pip".into()], &vars, &[]).unwrap();
        assert_ne!(second, upgraded.key(&args, None));
        // No pip on PATH, or no cache: nothing is kept.
        assert!(PlanCache::new(Some(dir.path()), &["nopip".into()], &vars, &[]).is_none());
        assert!(PlanCache::new(None, &["pip".into()], &vars, &[]).is_none());
    }

    #[test]
    fn a_fresh_virtual_environment_of_the_same_pip_has_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let make = |pip: &str, at: &str| {
            let venv = dir.path().join(at);
            let _ = std::fs::remove_dir_all(&venv);
            std::fs::create_dir_all(venv.join("bin")).unwrap();
            std::fs::create_dir_all(
                venv.join(format!("lib/python3.11/site-packages/pip-{pip}.dist-info")),
            )
            .unwrap();
            std::fs::write(venv.join("bin/pip"), "#!/bin/sh\n").unwrap();
            std::fs::write(
                venv.join("pyvenv.cfg"),
                format!(
                    "home = /usr/bin\nversion = 3.11.7\ncommand = /usr/bin/python3 -m venv {}\n",
                    venv.display()
                ),
            )
            .unwrap();
            let vars =
                BTreeMap::from([("PATH".to_owned(), venv.join("bin").display().to_string())]);
            PlanCache::new(Some(dir.path()), &["pip".into()], &vars, &[])
                .unwrap()
                .key(&["demo".into()], None)
        };
        let first = make("23.2.1", "venv");
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(first, make("23.2.1", "venv"), "recreated, same pip");
        assert_eq!(first, make("23.2.1", "elsewhere"), "the same pip elsewhere");
        assert_ne!(first, make("24.0", "venv"), "another pip");
    }

    fn cache_in(dir: &Path) -> PlanCache {
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(bin.join("pip"), "").unwrap();
        let vars = BTreeMap::from([("PATH".to_owned(), bin.display().to_string())]);
        PlanCache::new(Some(dir), &["pip".into()], &vars, &[]).unwrap()
    }

    #[test]
    fn only_plans_from_an_index_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache_in(dir.path());
        let pages = BTreeMap::from([("demo".to_owned(), "d".to_owned())]);
        cache.store(
            "a",
            &[planned("https://index.example.org/files/demo.whl")],
            pages.clone(),
            None,
        );
        assert_eq!(cache.load("a", None).unwrap().pages, pages);
        cache.store(
            "b",
            &[planned("file:///tmp/built/demo.whl")],
            pages.clone(),
            None,
        );
        assert!(cache.load("b", None).is_none());
        // A placeholder is kept by name, and found in the next run's folder.
        let first = dir.path().join("run1");
        let second = dir.path().join("run2");
        for d in [&first, &second] {
            std::fs::create_dir_all(d).unwrap();
            std::fs::write(d.join("demo-1.0-py3-none-any.whl"), "m").unwrap();
        }
        let url = format!("file://{}/demo-1.0-py3-none-any.whl", first.display());
        cache.store("c", &[planned(&url)], pages.clone(), Some(&first));
        let kept = cache.load("c", Some(&second)).unwrap();
        assert_eq!(
            kept.plan[0].url,
            format!("file://{}/demo-1.0-py3-none-any.whl", second.display())
        );
        // Not there this run, or no folder: pip plans again.
        assert!(cache.load("c", None).is_none());
        std::fs::remove_file(second.join("demo-1.0-py3-none-any.whl")).unwrap();
        assert!(cache.load("c", Some(&second)).is_none());
        // Any other local file, even beside the placeholders: not kept.
        let beside = format!("file://{}/built/demo.whl", first.display());
        cache.store("d", &[planned(&beside)], pages, Some(&first));
        assert!(cache.load("d", Some(&first)).is_none());
    }

    #[test]
    fn a_built_wheel_is_kept_by_the_sdists_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache_in(dir.path());
        let bin = dir.path().join("bin");
        assert!(cache.built(b"sdist").is_none());
        cache.keep_built(b"sdist", "demo-1.0-py3-none-any.whl", b"wheel");
        assert_eq!(
            cache.built(b"sdist").unwrap(),
            [("demo-1.0-py3-none-any.whl".to_owned(), b"wheel".to_vec())]
        );
        assert!(cache.built(b"other sdist").is_none());
        // Another pip built nothing yet.
        let vars2 = BTreeMap::from([
            ("PATH".to_owned(), bin.display().to_string()),
            ("PIP_NO_BINARY".to_owned(), ":all:".to_owned()),
        ]);
        let other = PlanCache::new(Some(dir.path()), &["pip".into()], &vars2, &[]).unwrap();
        assert!(other.built(b"sdist").is_none());
    }
}
