//! Package archives built in memory at test time: npm tarballs, wheels with
//! a valid RECORD, and sdists. Nothing built here is committed.

use std::collections::BTreeMap;
use std::io::{Cursor, Write};

use base64::Engine;
use sha2::Digest;

/// Path -> contents, in a stable order.
pub type Files = BTreeMap<String, Vec<u8>>;

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The npm `dist` digests of an archive.
pub struct NpmDigests {
    /// `sha512-<base64>`
    pub integrity: String,
    /// sha1, hex
    pub shasum: String,
}

pub fn npm_digests(bytes: &[u8]) -> NpmDigests {
    NpmDigests {
        integrity: format!(
            "sha512-{}",
            base64::engine::general_purpose::STANDARD.encode(sha2::Sha512::digest(bytes))
        ),
        shasum: hex(&sha1::Sha1::digest(bytes)),
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&sha2::Sha256::digest(bytes))
}

/// A gzipped tar with every entry under `prefix/`, deterministic (fixed
/// mtime, owner and mode) so digests are stable within a test run.
pub fn tar_gz(prefix: &str, files: &Files) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    for (path, contents) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        let executable = path.ends_with(".sh") || path.starts_with("bin/");
        header.set_mode(if executable { 0o755 } else { 0o644 });
        header.set_mtime(1_700_000_000);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, format!("{prefix}/{path}"), contents.as_slice())
            .expect("writing to memory cannot fail");
    }
    builder
        .into_inner()
        .and_then(|gz| gz.finish())
        .expect("writing to memory cannot fail")
}

/// A zip archive of `files`, deflated.
pub fn zip(files: &Files) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    for (path, contents) in files {
        writer
            .start_file(path.as_str(), options)
            .expect("writing to memory cannot fail");
        writer
            .write_all(contents)
            .expect("writing to memory cannot fail");
    }
    writer
        .finish()
        .expect("writing to memory cannot fail")
        .into_inner()
}

/// PEP 427 / PEP 625 distribution name: normalised, `-` as `_`.
pub fn dist_name(name: &str) -> String {
    let mut out = String::new();
    let mut last_sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !last_sep {
                out.push('_');
            }
            last_sep = true;
        } else {
            out.push(c.to_ascii_lowercase());
            last_sep = false;
        }
    }
    out
}

/// Core metadata (`METADATA` / `PKG-INFO`).
pub fn core_metadata(name: &str, version: &str, requires_dist: &[String], summary: &str) -> String {
    let mut out =
        format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {summary}\n");
    for req in requires_dist {
        out.push_str(&format!("Requires-Dist: {req}\n"));
    }
    out
}

/// A wheel: `files` at the root (the packages and anything else that lands
/// in site-packages), plus a `.dist-info` with METADATA, WHEEL,
/// entry_points.txt and a RECORD whose hashes are right.
pub fn wheel(
    name: &str,
    version: &str,
    metadata: &str,
    entry_points: Option<&str>,
    files: &Files,
) -> (String, Vec<u8>) {
    wheel_tagged(name, version, metadata, entry_points, files, "py3-none-any")
}

/// A wheel for one tag (`cp311-cp311-win_amd64`), as [`wheel`] otherwise.
pub fn wheel_tagged(
    name: &str,
    version: &str,
    metadata: &str,
    entry_points: Option<&str>,
    files: &Files,
    tag: &str,
) -> (String, Vec<u8>) {
    let dist = dist_name(name);
    let info = format!("{dist}-{version}.dist-info");
    let mut all = files.clone();
    all.insert(format!("{info}/METADATA"), metadata.as_bytes().to_vec());
    all.insert(
        format!("{info}/WHEEL"),
        format!(
            "Wheel-Version: 1.0\nGenerator: warden-testkit\nRoot-Is-Purelib: true\nTag: {tag}\n"
        )
        .into_bytes(),
    );
    if let Some(ep) = entry_points {
        all.insert(format!("{info}/entry_points.txt"), ep.as_bytes().to_vec());
    }
    all.insert(
        format!("{info}/top_level.txt"),
        format!("{dist}\n").into_bytes(),
    );
    let mut record = String::new();
    for (path, contents) in &all {
        let digest =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(contents));
        record.push_str(&format!("{path},sha256={digest},{}\n", contents.len()));
    }
    record.push_str(&format!("{info}/RECORD,,\n"));
    all.insert(format!("{info}/RECORD"), record.into_bytes());
    (format!("{dist}-{version}-{tag}.whl"), zip(&all))
}

/// The in-tree build backend put into sdists that bring no build system of
/// their own. It needs nothing from an index: it runs `setup.py` the way
/// setuptools would (so code in it runs at build time, as in real sdists),
/// then packs the package files into a wheel with the standard library.
const BACKEND: &str = r#"# PEP 517 backend generated by warden-testkit. Needs nothing but the standard library.
import base64, hashlib, os, runpy, zipfile

_SKIP = {"setup.py", "pyproject.toml", "PKG-INFO", "_testkit_backend.py", "setup.cfg"}


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def _metadata():
    meta = open("PKG-INFO", encoding="utf-8").read()
    fields = dict(l.split(": ", 1) for l in meta.splitlines() if ": " in l)
    dist = "".join(c if c.isalnum() else "_" for c in fields["Name"].lower())
    return meta, dist, fields["Version"]


def _write_wheel(wheel_directory, files):
    """Adds METADATA, WHEEL and RECORD to `files` and writes the wheel."""
    meta, dist, version = _metadata()
    info = f"{dist}-{version}.dist-info"
    files[f"{info}/METADATA"] = meta.encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: warden-testkit\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = []
    for path, data in sorted(files.items()):
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    name = f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in sorted(files.items()):
            z.writestr(path, data)
    return name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    if os.path.exists("setup.py"):
        runpy.run_path("setup.py", run_name="__main__")
    files = {}
    for root, dirs, names in os.walk("."):
        dirs[:] = [d for d in dirs if not d.startswith((".", "__pycache__"))]
        for n in names:
            path = os.path.relpath(os.path.join(root, n), ".").replace(os.sep, "/")
            if path not in _SKIP and not path.endswith(".egg-info"):
                files[path] = open(path, "rb").read()
    return _write_wheel(wheel_directory, files)


def get_requires_for_build_editable(config_settings=None):
    return []


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    # PEP 660: a wheel whose .pth puts this directory on sys.path.
    _, dist, _ = _metadata()
    return _write_wheel(wheel_directory, {f"__editable__.{dist}.pth": (os.path.abspath(".") + "\n").encode()})


def build_sdist(sdist_directory, config_settings=None):
    raise NotImplementedError("testkit sdists are built by the testkit")
"#;

/// An sdist: `{dist}-{version}/` with PKG-INFO and the sources. Without a
/// `pyproject.toml` in `files`, the testkit's in-tree backend is added.
pub fn sdist(name: &str, version: &str, metadata: &str, files: &Files) -> (String, Vec<u8>) {
    let dist = dist_name(name);
    let all = sdist_files(metadata, files);
    let prefix = format!("{dist}-{version}");
    (format!("{prefix}.tar.gz"), tar_gz(&prefix, &all))
}

/// The files of an sdist, without its top directory: a source tree as a
/// project directory or a repository holds it.
pub fn sdist_files(metadata: &str, files: &Files) -> Files {
    let mut all = files.clone();
    all.insert("PKG-INFO".to_owned(), metadata.as_bytes().to_vec());
    if !all.contains_key("pyproject.toml") {
        all.insert(
            "pyproject.toml".to_owned(),
            b"[build-system]\nrequires = []\nbuild-backend = \"_testkit_backend\"\nbackend-path = [\".\"]\n".to_vec(),
        );
        all.insert(
            "_testkit_backend.py".to_owned(),
            BACKEND.as_bytes().to_vec(),
        );
    }
    all
}

/// Writes `files` under `dir`.
pub fn write_tree(dir: &std::path::Path, files: &Files) {
    for (path, bytes) in files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create directory");
        }
        std::fs::write(&path, bytes).expect("write file");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn wheel_record_matches_contents() {
        let files = Files::from([("demo/__init__.py".to_owned(), b"x = 1\n".to_vec())]);
        let (name, bytes) = wheel("Demo-Pkg", "1.0", "Metadata-Version: 2.1\n", None, &files);
        assert_eq!(name, "demo_pkg-1.0-py3-none-any.whl");
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut record = String::new();
        archive
            .by_name("demo_pkg-1.0.dist-info/RECORD")
            .unwrap()
            .read_to_string(&mut record)
            .unwrap();
        let line = record
            .lines()
            .find(|l| l.starts_with("demo/__init__.py"))
            .unwrap();
        let digest = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(b"x = 1\n"));
        assert_eq!(line, format!("demo/__init__.py,sha256={digest},6"));
    }

    #[test]
    fn tarball_entries_are_under_prefix() {
        let files = Files::from([("index.js".to_owned(), b"1".to_vec())]);
        let bytes = tar_gz("package", &files);
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes.as_slice()));
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["package/index.js"]);
        assert!(npm_digests(&bytes).integrity.starts_with("sha512-"));
    }
}
