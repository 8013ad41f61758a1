//! Placeholders for requirements only published as sdists, so that one
//! plan finds them all.
//!
//! pip's wheel-only resolver stops at the first requirement that has no
//! wheel. warden looks for such requirements beforehand (walking the
//! published metadata from the requirements) and gives pip, for each, a
//! wheel that holds nothing but the sdist's own `PKG-INFO`: pip's
//! resolution goes on with the dependencies the sdist declares. A
//! placeholder is never installed. The ones the plan picks are checked,
//! built once allowed, and the built wheel's dependencies compared with
//! the placeholder's; where they differ, warden plans again with the built
//! wheels. So `PKG-INFO` is only ever a guess that saves a round.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// A requirement as a requirements file or `Requires-Dist` writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// Normalised (PEP 503).
    pub name: String,
    pub extras: Vec<String>,
    /// `>=1.0,<2`, possibly empty.
    pub specifiers: String,
    pub marker: Option<String>,
}

/// Parses `name[extra]>=1.0; marker`. `None` for what is not a name from
/// an index: options, paths, URLs, `name @ url`.
pub fn parse_requirement(line: &str) -> Option<Requirement> {
    let line = line.trim();
    let name: String = line
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .collect();
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return None;
    }
    let mut rest = line[name.len()..].trim_start();
    let mut extras = Vec::new();
    if let Some(inner) = rest.strip_prefix('[') {
        let (list, after) = inner.split_once(']')?;
        extras = list
            .split(',')
            .map(|e| normalize(e.trim()))
            .filter(|e| !e.is_empty())
            .collect();
        rest = after;
    }
    let (spec, marker) = match rest.split_once(';') {
        Some((s, m)) => (s, Some(m.trim().to_owned())),
        None => (rest, None),
    };
    let spec = spec.trim().trim_start_matches('(').trim_end_matches(')');
    if spec.starts_with('@') || spec.contains("://") || spec.contains('/') {
        return None;
    }
    Some(Requirement {
        name: normalize(&name),
        extras,
        specifiers: spec.trim().to_owned(),
        marker,
    })
}

fn normalize(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The extras a marker asks for (`extra == "test"`): a dependency with
/// such a marker is only needed when one of them is requested.
pub fn marker_extras(marker: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = marker;
    while let Some(i) = rest.find("extra") {
        let after = rest[i + 5..].trim_start();
        rest = &rest[i + 5..];
        let Some(value) = after.strip_prefix("==").map(str::trim_start) else {
            continue;
        };
        let Some(quote) = value.chars().next().filter(|q| *q == '"' || *q == '\'') else {
            continue;
        };
        if let Some(end) = value[1..].find(quote) {
            out.push(normalize(&value[1..=end]));
        }
    }
    out
}

/// Options before a value, among those the resolver is given.
const TAKES_VALUE: &[&str] = &[
    "-c",
    "--constraint",
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "--trusted-host",
    "--python-version",
    "--platform",
    "--abi",
    "--implementation",
    "--no-binary",
    "--only-binary",
    "--upgrade-strategy",
    "--progress-bar",
    "--src",
    "--cache-dir",
    "--log",
    "--timeout",
    "--retries",
    "--proxy",
    "--cert",
    "--client-cert",
    "--exists-action",
    "-e",
    "--editable",
];

/// Every requirement named on the command line or in requirements files
/// (nested ones too), as written. Only a starting point for looking
/// ahead: pip's plan decides.
pub fn requirement_lines(args: &[String], cwd: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut iter = args.iter();
    while let Some(a) = iter.next() {
        if a == "-r" || a == "--requirement" || TAKES_VALUE.contains(&a.as_str()) {
            iter.next();
        } else if !a.starts_with('-') {
            out.push(a.clone());
        }
    }
    for line in crate::requirement_file_lines(args, cwd) {
        if !line.starts_with(['-', '#']) {
            // `name==1.0 --hash=...`: the options are not the requirement.
            out.push(line.split(" -").next().unwrap_or(&line).trim().to_owned());
        }
    }
    out
}

/// The header fields of core metadata (`PKG-INFO`, `METADATA`): up to the
/// first blank line, continuation lines joined.
fn headers(metadata: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in metadata.lines() {
        if line.trim().is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    out
}

/// One header field's values, in order.
pub fn field(metadata: &str, name: &str) -> Vec<String> {
    let name = name.to_ascii_lowercase();
    headers(metadata)
        .into_iter()
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .collect()
}

/// Whether two core metadata documents lead pip's resolver to the same
/// place: name, version, dependencies, extras and Python versions.
pub fn same_dependencies(a: &str, b: &str) -> bool {
    let key = |m: &str| {
        let mut deps: Vec<String> = field(m, "Requires-Dist")
            .iter()
            .map(|d| d.split_whitespace().collect::<String>())
            .collect();
        deps.sort();
        let mut extras: Vec<String> = field(m, "Provides-Extra")
            .iter()
            .map(|e| normalize(e))
            .collect();
        extras.sort();
        (
            field(m, "Name").first().map(|n| normalize(n)),
            field(m, "Version"),
            deps,
            extras,
            field(m, "Requires-Python"),
        )
    };
    key(a) == key(b)
}

/// An sdist's core metadata as a placeholder carries it, and whether it
/// says what the wheel built from it will depend on: `PKG-INFO` 2.1 or
/// later that does not mark `Requires-Dist` dynamic; or, for an older
/// `PKG-INFO`, setuptools' `*.egg-info/requires.txt` (written from the
/// same `install_requires`; no file there means none), whose lines are
/// added as `Requires-Dist`. `None` when the sdist has no `PKG-INFO`.
pub fn sdist_metadata(label: &str, bytes: &[u8]) -> Option<(String, bool)> {
    let archive = warden_archive::read(label, bytes, &warden_archive::Limits::default()).ok()?;
    let text = |pred: &dyn Fn(&[&str]) -> bool| {
        archive.entries.iter().find_map(|e| {
            let parts: Vec<&str> = e.path.split('/').collect();
            pred(&parts).then(|| e.text().map(str::to_owned)).flatten()
        })
    };
    let pkg_info = text(&|p| p.len() == 2 && p[1] == "PKG-INFO")?;
    let version = field(&pkg_info, "Metadata-Version")
        .first()
        .and_then(|v| v.parse::<pep440_rs::Version>().ok());
    let dynamic = field(&pkg_info, "Dynamic")
        .iter()
        .any(|f| f.eq_ignore_ascii_case("requires-dist"));
    if version.is_some_and(|v| v >= pep440_rs::Version::new([2, 1])) {
        return Some((pkg_info, !dynamic));
    }
    let egg_info = |file: &'static str| {
        move |p: &[&str]| {
            let n = p.len();
            (n == 3 || (n == 4 && p[1] == "src"))
                && p[n - 2].ends_with(".egg-info")
                && p[n - 1] == file
        }
    };
    let Some(requires) = text(&egg_info("requires.txt")) else {
        let has_egg_info = text(&egg_info("PKG-INFO")).is_some();
        return Some((pkg_info, has_egg_info));
    };
    let mut lines: Vec<String> = Vec::new();
    let mut section = String::new();
    for line in requires
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = s.to_owned();
            continue;
        }
        let (extra, marker) = section.split_once(':').unwrap_or((section.as_str(), ""));
        let condition = match (extra.is_empty(), marker.is_empty()) {
            (true, true) => String::new(),
            (true, false) => format!("; {marker}"),
            (false, true) => format!("; extra == \"{extra}\""),
            (false, false) => format!("; ({marker}) and extra == \"{extra}\""),
        };
        lines.push(format!("Requires-Dist: {line}{condition}"));
    }
    // Into the header block, before the description.
    let (head, body) = pkg_info
        .split_once("\n\n")
        .map_or((pkg_info.as_str(), ""), |(h, b)| (h, b));
    let mut out = head.trim_end().to_owned();
    for l in lines {
        out.push('\n');
        out.push_str(&l);
    }
    out.push_str("\n\n");
    out.push_str(body);
    Some((out, true))
}

/// A wheel holding only `metadata` (a sdist's `PKG-INFO`): its file name
/// and bytes. It carries no code, and warden never installs it.
pub fn placeholder_wheel(metadata: &str) -> Result<(String, Vec<u8>), String> {
    let name = field(metadata, "Name")
        .into_iter()
        .next()
        .ok_or("PKG-INFO has no Name")?;
    let version = field(metadata, "Version")
        .into_iter()
        .next()
        .ok_or("PKG-INFO has no Version")?;
    let dist = normalize(&name).replace('-', "_");
    let info = format!("{dist}-{version}.dist-info");
    let files: BTreeMap<String, String> = BTreeMap::from([
        (format!("{info}/METADATA"), metadata.to_owned()),
        (
            format!("{info}/WHEEL"),
            "Wheel-Version: 1.0\nGenerator: warden (placeholder, never installed)\nRoot-Is-Purelib: true\nTag: py3-none-any\n".to_owned(),
        ),
        (
            format!("{info}/RECORD"),
            format!("{info}/METADATA,,\n{info}/WHEEL,,\n{info}/RECORD,,\n"),
        ),
    ]);
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (path, text) in &files {
        out.start_file(path.as_str(), options)
            .and_then(|()| out.write_all(text.as_bytes()).map_err(Into::into))
            .map_err(|e| e.to_string())?;
    }
    let bytes = out.finish().map_err(|e| e.to_string())?.into_inner();
    Ok((format!("{dist}-{version}-py3-none-any.whl"), bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_old_sdists_dependencies_come_from_its_egg_info() {
        let sdist = |files: &[(&str, &str)]| {
            let files: warden_testkit::build::Files = files
                .iter()
                .map(|(p, t)| ((*p).to_owned(), t.as_bytes().to_vec()))
                .collect();
            warden_testkit::build::tar_gz("a-1.0", &files)
        };
        let old = "Metadata-Version: 1.1\nName: a\nVersion: 1.0\n\nLong text.\n";
        let bytes = sdist(&[
            ("PKG-INFO", old),
            ("a.egg-info/PKG-INFO", old),
            (
                "a.egg-info/requires.txt",
                "six>=1.0\n\n[socks]\nPySocks\n\n[:python_version < \"3\"]\nfutures\n",
            ),
        ]);
        let (m, known) = sdist_metadata("a", &bytes).unwrap();
        assert!(known);
        assert_eq!(
            field(&m, "Requires-Dist"),
            [
                "six>=1.0",
                "PySocks; extra == \"socks\"",
                "futures; python_version < \"3\""
            ]
        );
        assert!(m.ends_with("\n\nLong text.\n"), "{m}");
        // An egg-info without requires.txt: no dependencies. No egg-info at
        // all (distutils): not known.
        let none = sdist(&[("PKG-INFO", old), ("a.egg-info/PKG-INFO", old)]);
        assert_eq!(sdist_metadata("a", &none).map(|(_, k)| k), Some(true));
        let distutils = sdist(&[("PKG-INFO", old)]);
        assert_eq!(sdist_metadata("a", &distutils).map(|(_, k)| k), Some(false));
        // Metadata 2.1 speaks for itself, unless it says it is dynamic.
        let new = sdist(&[(
            "PKG-INFO",
            "Metadata-Version: 2.2\nName: a\nVersion: 1.0\nDynamic: Requires-Dist\n",
        )]);
        assert_eq!(sdist_metadata("a", &new).map(|(_, k)| k), Some(false));
    }

    #[test]
    fn requirements() {
        let r =
            parse_requirement("Foo_Bar[Test, docs] >=1.0,<2 ; python_version >= '3.8'").unwrap();
        assert_eq!(r.name, "foo-bar");
        assert_eq!(r.extras, ["test", "docs"]);
        assert_eq!(r.specifiers, ">=1.0,<2");
        assert_eq!(r.marker.as_deref(), Some("python_version >= '3.8'"));
        assert_eq!(
            parse_requirement("six (>=1.5)").unwrap().specifiers,
            ">=1.5"
        );
        assert_eq!(parse_requirement("x").unwrap().specifiers, "");
        assert!(parse_requirement("foo @ https://h/foo.whl").is_none());
        assert!(parse_requirement("./dir").is_none());
        assert!(parse_requirement("/tmp/x-1.0-py3-none-any.whl").is_none());
        assert!(parse_requirement("--hash=sha256:aa").is_none());
        assert_eq!(
            marker_extras(r#"python_version < "4" and extra == "Test" or extra=='docs'"#),
            ["test", "docs"]
        );
        assert!(marker_extras("sys_platform == 'linux'").is_empty());
    }

    #[test]
    fn lines_from_the_command_line_and_nested_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("base.txt"),
            "# base\nb==1.0 \\\n  --hash=sha256:aa\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("req.txt"),
            "-r base.txt\n--index-url http://i/\na[x]>=2  # why\n-e ./local\n",
        )
        .unwrap();
        let args: Vec<String> = "-r req.txt --timeout 10 -c c.txt cli-pkg<3"
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let mut lines = requirement_lines(&args, dir.path());
        lines.sort();
        assert_eq!(lines, ["a[x]>=2", "b==1.0", "cli-pkg<3"]);
    }

    #[test]
    fn placeholder_carries_the_metadata_and_nothing_else() {
        let meta =
            "Metadata-Version: 2.1\nName: Chain.A\nVersion: 1.0\nRequires-Dist: chain-b>=1.0\n";
        let (name, bytes) = placeholder_wheel(meta).unwrap();
        assert_eq!(name, "chain_a-1.0-py3-none-any.whl");
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut names: Vec<String> = zip.file_names().map(str::to_owned).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "chain_a-1.0.dist-info/METADATA",
                "chain_a-1.0.dist-info/RECORD",
                "chain_a-1.0.dist-info/WHEEL"
            ]
        );
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut zip.by_name("chain_a-1.0.dist-info/METADATA").unwrap(),
            &mut text,
        )
        .unwrap();
        assert_eq!(text, meta);
        assert!(placeholder_wheel("Metadata-Version: 2.1\n").is_err());
    }

    #[test]
    fn dependencies_compared() {
        let a = "Metadata-Version: 2.1\nName: a\nVersion: 1.0\nRequires-Dist: b >=1\nRequires-Dist: c\n\nlong description\nRequires-Dist: not-a-header\n";
        let b = "Metadata-Version: 2.2\nName: A\nVersion: 1.0\nLicense-File: LICENSE\nRequires-Dist: c\nRequires-Dist: b>=1\n";
        assert!(same_dependencies(a, b));
        assert!(!same_dependencies(a, &format!("{b}Requires-Dist: d\n")));
        assert!(!same_dependencies(a, &b.replace("1.0", "1.1")));
        assert!(!same_dependencies(
            a,
            &format!("{b}Requires-Python: >=3.9\n")
        ));
    }
}
