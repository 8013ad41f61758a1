//! Requirements pip would build from sources, or fetch from somewhere that
//! is not an index.
//!
//! `--only-binary=:all:` keeps pip's resolver from building index sdists,
//! but not an explicitly named sdist, directory or VCS URL: for those pip
//! prepares metadata, which runs `setup.py` or a build backend. So before
//! planning, every requirement is classified, on the command line and in
//! requirements files (nested ones too), and the ones pip would build are
//! taken out for warden to judge and build itself. What is neither a plain
//! index requirement, a wheel, nor one of the sources below is refused.

use std::path::{Path, PathBuf};

/// A requirement taken out of pip's plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A project directory: the user's own code.
    Local { path: PathBuf, editable: bool },
    /// An sdist archive, by local path or URL.
    Archive { location: String },
    /// A VCS URL as pip takes it (`git+https://host/repo@rev`).
    Vcs { url: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceReq {
    pub source: Source,
    /// `[extra,...]`, or empty.
    pub extras: String,
    /// The requirement as the user wrote it, for messages.
    pub text: String,
}

/// What one requirement is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// A name and specifiers: resolved from the index.
    Index,
    /// A wheel by path or URL: pip reads its metadata, nothing is built.
    Wheel,
    Source(Source),
}

const VCS: &[&str] = &["git+", "hg+", "svn+", "bzr+"];
const SDIST_EXTENSIONS: &[&str] = &[".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip"];

fn is_index_requirement(text: &str) -> bool {
    let text = text.split(';').next().unwrap_or("").trim();
    let name_len = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
        .unwrap_or(text.len());
    if name_len == 0 || text.starts_with('.') {
        return false;
    }
    let mut rest = text[name_len..].trim_start();
    if let Some(r) = rest.strip_prefix('[') {
        let Some(end) = r.find(']') else {
            return false;
        };
        rest = r[end + 1..].trim_start();
    }
    rest.chars()
        .all(|c| c.is_ascii_alphanumeric() || "<>=!~.,*+-_ ()".contains(c))
}

/// Splits `thing[extra]` into `thing` and `[extra]`.
fn split_extras(text: &str) -> (&str, &str) {
    match text.rfind('[') {
        Some(i) if text.ends_with(']') => (&text[..i], &text[i..]),
        _ => (text, ""),
    }
}

fn classify(text: &str, cwd: &Path, editable: bool) -> Result<(Kind, String), String> {
    let text = text.trim();
    let archive_name = SDIST_EXTENSIONS
        .iter()
        .chain(&[".whl"])
        .any(|e| text.ends_with(e));
    if !editable && !archive_name && is_index_requirement(text) {
        return Ok((Kind::Index, String::new()));
    }
    // PEP 508 direct reference: `name [extras] @ url`.
    let (target, extras) = match text.split_once('@') {
        Some((name, url))
            if is_index_requirement(name.trim())
                && !name.contains(['/', ':'])
                && url.trim_start().contains(':') =>
        {
            let (_, extras) = split_extras(name.trim());
            (url.split(';').next().unwrap_or("").trim(), extras)
        }
        _ => split_extras(text),
    };
    let extras = extras.to_owned();
    if VCS.iter().any(|v| target.starts_with(v)) {
        if editable {
            return Err(format!(
                "`-e {target}`: warden does not guard editable VCS checkouts; clone the repository and use `-e <directory>`"
            ));
        }
        return Ok((
            Kind::Source(Source::Vcs {
                url: target.to_owned(),
            }),
            extras,
        ));
    }
    let path_part = target.split(['#', '?']).next().unwrap_or("");
    if target.starts_with("http://") || target.starts_with("https://") {
        if editable {
            return Err(format!(
                "`-e {target}`: pip cannot install a URL as editable"
            ));
        }
        if path_part.ends_with(".whl") {
            return Ok((Kind::Wheel, extras));
        }
        if SDIST_EXTENSIONS.iter().any(|e| path_part.ends_with(e)) {
            return Ok((
                Kind::Source(Source::Archive {
                    location: target.to_owned(),
                }),
                extras,
            ));
        }
        return Err(format!(
            "`{text}`: a URL that is neither a wheel nor an sdist archive"
        ));
    }
    let path = match path_part.strip_prefix("file://") {
        Some(p) => PathBuf::from(percent_decode(p)),
        None => cwd.join(path_part),
    };
    if path.is_dir() {
        return Ok((Kind::Source(Source::Local { path, editable }), extras));
    }
    if editable {
        return Err(format!(
            "`-e {text}`: not a project directory (nothing at {})",
            path.display()
        ));
    }
    if path.is_file() {
        if path_part.ends_with(".whl") {
            return Ok((Kind::Wheel, extras));
        }
        if SDIST_EXTENSIONS.iter().any(|e| path_part.ends_with(e)) {
            return Ok((
                Kind::Source(Source::Archive {
                    location: path.display().to_string(),
                }),
                extras,
            ));
        }
    }
    Err(format!(
        "`{text}`: not a requirement warden can check (neither a name from an index, a wheel, an sdist, a directory nor a VCS URL)"
    ))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The resolver arguments with every source requirement taken out.
#[derive(Debug, Default)]
pub struct Taken {
    pub sources: Vec<SourceReq>,
    /// Arguments for pip's plan: requirements files replaced by copies
    /// without the taken lines.
    pub args: Vec<String>,
}

/// Options that, in a requirements file, would let pip build sdists.
const BINARY_OPTIONS: &[&str] = &["--no-binary", "--only-binary", "--prefer-binary"];

/// Takes the source requirements out of `args` (pip's arguments after the
/// command word). Copies of requirements files go to `scratch`.
pub fn take_sources(args: &[String], cwd: &Path, scratch: &Path) -> Result<Taken, String> {
    let mut taken = Taken::default();
    let mut copies = 0usize;
    let mut iter = args.iter();
    while let Some(a) = iter.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ => (a.as_str(), None),
        };
        let mut value = || inline.clone().or_else(|| iter.next().cloned());
        match flag {
            "-e" | "--editable" => {
                let v = value().ok_or("`-e` needs a value")?;
                take(&v, cwd, true, &mut taken)?;
            }
            "-r" | "--requirement" => {
                let v = value().ok_or("`-r` needs a file")?;
                let copy = rewrite(&cwd.join(&v), cwd, scratch, &mut copies, &mut taken, 0)?;
                taken.args.push("-r".into());
                taken.args.push(copy.display().to_string());
            }
            f if f.starts_with('-') => {
                taken.args.push(a.clone());
                if inline.is_none() && crate::VALUE_FLAGS.contains(&f) {
                    taken.args.extend(iter.next().cloned());
                }
            }
            _ => {
                if !take(a, cwd, false, &mut taken)? {
                    taken.args.push(a.clone());
                }
            }
        }
    }
    Ok(taken)
}

/// Records `text` if it is a source; whether it was.
fn take(text: &str, cwd: &Path, editable: bool, taken: &mut Taken) -> Result<bool, String> {
    match classify(text, cwd, editable)? {
        (Kind::Index | Kind::Wheel, _) => Ok(false),
        (Kind::Source(source), extras) => {
            taken.sources.push(SourceReq {
                source,
                extras,
                text: text.to_owned(),
            });
            Ok(true)
        }
    }
}

fn rewrite(
    file: &Path,
    cwd: &Path,
    scratch: &Path,
    copies: &mut usize,
    taken: &mut Taken,
    depth: usize,
) -> Result<PathBuf, String> {
    if depth > 16 {
        return Err(format!(
            "{}: requirements files nest more than 16 deep",
            file.display()
        ));
    }
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read requirements file {}: {e}", file.display()))?;
    let dir = file.parent().unwrap_or(cwd);
    let mut out = String::new();
    for (n, line) in text.replace("\\\n", " ").lines().enumerate() {
        let at = |e: String| format!("{}:{}: {e}", file.display(), n + 1);
        let line = if line.trim_start().starts_with('#') {
            ""
        } else {
            line.split(" #").next().unwrap_or("").trim()
        };
        if line.is_empty() {
            continue;
        }
        if line.starts_with('-') {
            let (flag, value) = line
                .split_once(['=', ' '])
                .map_or((line, ""), |(f, v)| (f, v.trim()));
            match flag {
                "-r" | "--requirement" => {
                    let nested = rewrite(&dir.join(value), cwd, scratch, copies, taken, depth + 1)?;
                    out.push_str(&format!("-r {}\n", nested.display()));
                }
                "-c" | "--constraint" => {
                    out.push_str(&format!("-c {}\n", dir.join(value).display()));
                }
                // pip reads a relative folder next to the requirements
                // file when there is one; the copy lives elsewhere.
                "-f" | "--find-links" if dir.join(value).exists() => {
                    out.push_str(&format!("--find-links {}\n", dir.join(value).display()));
                }
                "-e" | "--editable" => {
                    take(value, cwd, true, taken).map_err(at)?;
                }
                f if BINARY_OPTIONS.contains(&f) => {}
                _ => {
                    out.push_str(line);
                    out.push('\n');
                }
            }
            continue;
        }
        // The requirement, before per-line options such as `--hash`.
        let requirement = line.split(" --").next().unwrap_or(line).trim();
        if !take(requirement, cwd, false, taken).map_err(at)? {
            out.push_str(line);
            out.push('\n');
        }
    }
    *copies += 1;
    let copy = scratch.join(format!("requirements-{copies}.txt"));
    std::fs::write(&copy, out).map_err(|e| format!("{}: {e}", copy.display()))?;
    Ok(copy)
}

/// A VCS checkout made by warden.
#[derive(Debug)]
pub struct Checkout {
    pub commit: String,
    /// The project directory: the checkout, or its `#subdirectory=`.
    pub project: PathBuf,
}

/// Clones a `git+` URL into `dest` and checks out its revision, as pip
/// would, running nothing from the repository: hooks are off and
/// submodules are not fetched. Errors never repeat the URL (it may hold a
/// token); the caller names it, redacted.
pub fn git_checkout(url: &str, dest: &Path) -> Result<Checkout, String> {
    let Some(rest) = url.strip_prefix("git+") else {
        return Err("only git URLs are supported (not hg, svn or bzr)".into());
    };
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let subdirectory = fragment
        .split('&')
        .find_map(|kv| kv.strip_prefix("subdirectory="))
        .map(str::to_owned);
    // `scheme://host/path@rev`: the revision follows the last `@` of the
    // path (an `@` before the path belongs to the credentials).
    let path_start = rest.find("://").map_or(0, |i| {
        i + 3 + rest[i + 3..].find('/').unwrap_or(rest.len() - i - 3)
    });
    let (repo, rev) = match rest[path_start..].rfind('@') {
        Some(at) => (&rest[..path_start + at], Some(&rest[path_start + at + 1..])),
        None => (rest, None),
    };
    let commit = warden_guard::git::checkout(repo, rev, dest)?;
    let project = match subdirectory {
        Some(sub) if !sub.split('/').any(|c| c == "..") => dest.join(sub),
        Some(_) => return Err("`subdirectory=` leaves the repository".into()),
        None => dest.to_path_buf(),
    };
    Ok(Checkout { commit, project })
}

/// The build requirements of a project from its `pyproject.toml` text, as
/// pip reads them: without a `[build-system]` table, setuptools' legacy
/// defaults.
pub fn build_requirements(pyproject: Option<&str>) -> Result<Vec<String>, String> {
    let legacy = || vec!["setuptools>=40.8.0".to_owned(), "wheel".to_owned()];
    let Some(text) = pyproject else {
        return Ok(legacy());
    };
    let doc: toml::Table = text
        .parse()
        .map_err(|e| format!("pyproject.toml is not valid TOML: {e}"))?;
    let Some(bs) = doc.get("build-system").and_then(toml::Value::as_table) else {
        return Ok(legacy());
    };
    Ok(bs
        .get("requires")
        .and_then(toml::Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str, cwd: &Path) -> Result<Kind, String> {
        classify(text, cwd, false).map(|(k, _)| k)
    }

    #[test]
    fn classifies_requirements() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = dir.path();
        std::fs::create_dir(cwd.join("proj")).unwrap();
        std::fs::write(cwd.join("a-1.0.tar.gz"), b"x").unwrap();
        std::fs::write(cwd.join("a-1.0-py3-none-any.whl"), b"x").unwrap();
        for index in [
            "requests",
            "requests[socks]>=2,<3",
            "Foo_Bar ==1.0",
            "x; python_version < \"3.12\"",
            "a===1.0",
        ] {
            assert_eq!(kind(index, cwd), Ok(Kind::Index), "{index}");
        }
        assert_eq!(kind("./a-1.0-py3-none-any.whl", cwd), Ok(Kind::Wheel));
        assert_eq!(
            kind("https://h/files/a-1.0-py3-none-any.whl#sha256=ab", cwd),
            Ok(Kind::Wheel)
        );
        assert_eq!(
            kind("./proj", cwd),
            Ok(Kind::Source(Source::Local {
                path: cwd.join("./proj"),
                editable: false
            }))
        );
        let (k, extras) = classify("./proj[test]", cwd, true).unwrap();
        assert_eq!(
            (k, extras.as_str()),
            (
                Kind::Source(Source::Local {
                    path: cwd.join("./proj"),
                    editable: true
                }),
                "[test]"
            )
        );
        assert!(matches!(
            kind("a-1.0.tar.gz", cwd),
            Ok(Kind::Source(Source::Archive { .. }))
        ));
        assert!(matches!(
            kind("a @ https://h/a-1.0.tar.gz", cwd),
            Ok(Kind::Source(Source::Archive { .. }))
        ));
        assert_eq!(
            kind("a[x] @ git+https://h/r@v1", cwd),
            Ok(Kind::Source(Source::Vcs {
                url: "git+https://h/r@v1".into()
            }))
        );
        assert!(classify("git+https://h/r", cwd, true).is_err());
        assert!(kind("https://h/page", cwd).is_err());
        assert!(kind("./missing", cwd).is_err());
        assert!(kind(&format!("file://{}", cwd.join("proj").display()), cwd).is_ok());
    }

    #[test]
    fn takes_sources_out_of_nested_requirements_files() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = dir.path();
        let scratch = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(cwd.join("proj")).unwrap();
        std::fs::create_dir_all(cwd.join("reqs/wheels")).unwrap();
        std::fs::write(
            cwd.join("reqs/base.txt"),
            "-e ./proj\nsix==1.0 \\\n  --hash=sha256:aa\n--no-binary :all:\n-c c.txt\n-f wheels\n",
        )
        .unwrap();
        std::fs::write(
            cwd.join("req.txt"),
            "# top\n-r reqs/base.txt\nlib @ git+https://h/lib@v2  # vcs\nidna>=3\n",
        )
        .unwrap();
        let args: Vec<String> = ["-r", "req.txt", "--pre", "-i", "http://i/", "./proj"]
            .map(str::to_owned)
            .to_vec();
        let t = take_sources(&args, cwd, scratch.path()).unwrap();
        let kinds: Vec<&Source> = t.sources.iter().map(|s| &s.source).collect();
        assert_eq!(kinds.len(), 3, "{kinds:?}");
        assert!(matches!(kinds[0], Source::Local { editable: true, .. }));
        assert!(matches!(kinds[1], Source::Vcs { .. }));
        assert!(matches!(
            kinds[2],
            Source::Local {
                editable: false,
                ..
            }
        ));
        assert_eq!(t.args[0], "-r");
        assert_eq!(&t.args[2..], ["--pre", "-i", "http://i/"]);
        let top = std::fs::read_to_string(&t.args[1]).unwrap();
        assert!(top.contains("idna>=3") && !top.contains("git+"), "{top}");
        let nested = top.lines().next().unwrap().strip_prefix("-r ").unwrap();
        let base = std::fs::read_to_string(nested).unwrap();
        assert!(
            base.contains("six==1.0") && base.contains("--hash=sha256:aa"),
            "{base}"
        );
        assert!(
            !base.contains("-e") && !base.contains("no-binary"),
            "{base}"
        );
        assert!(base.contains(&format!("-c {}", cwd.join("reqs/c.txt").display())));
        assert!(base.contains(&format!(
            "--find-links {}",
            cwd.join("reqs/wheels").display()
        )));

        std::fs::write(cwd.join("bad.txt"), "https://h/page\n").unwrap();
        let err = take_sources(&["-r".into(), "bad.txt".into()], cwd, scratch.path()).unwrap_err();
        assert!(err.contains("bad.txt:1"), "{err}");
    }

    #[test]
    fn checks_out_a_git_revision() {
        let repo = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let ok = std::process::Command::new("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@t", "-C"])
                .arg(repo.path())
                .args(args)
                .output()
                .unwrap()
                .status
                .success();
            assert!(ok, "{args:?}");
        };
        git(&["init", "--quiet", "-b", "main"]);
        std::fs::create_dir(repo.path().join("sub")).unwrap();
        std::fs::write(repo.path().join("sub/v.txt"), "1").unwrap();
        git(&["add", "."]);
        git(&["commit", "--quiet", "-m", "one"]);
        git(&["tag", "v1"]);
        std::fs::write(repo.path().join("sub/v.txt"), "2").unwrap();
        git(&["commit", "--quiet", "-am", "two"]);
        let url = format!("git+file://{}", repo.path().display());
        let dest = tempfile::tempdir().unwrap();
        let c = git_checkout(
            &format!("{url}@v1#subdirectory=sub"),
            &dest.path().join("a"),
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(c.project.join("v.txt")).unwrap(),
            "1"
        );
        assert_eq!(c.commit.len(), 40);
        let c = git_checkout(&url, &dest.path().join("b")).unwrap();
        assert_eq!(
            std::fs::read_to_string(c.project.join("sub/v.txt")).unwrap(),
            "2"
        );
        let err = git_checkout(&format!("{url}@nope"), &dest.path().join("c")).unwrap_err();
        assert!(err.contains("checkout"), "{err}");
        assert!(git_checkout("hg+https://h/r", &dest.path().join("d")).is_err());
    }

    #[test]
    fn build_requirements_follow_pip() {
        assert_eq!(
            build_requirements(None).unwrap(),
            ["setuptools>=40.8.0", "wheel"]
        );
        assert_eq!(
            build_requirements(Some("[build-system]\nrequires = [\"hatchling\"]\n")).unwrap(),
            ["hatchling"]
        );
        assert_eq!(
            build_requirements(Some("[project]\nname = \"x\"\n")).unwrap(),
            ["setuptools>=40.8.0", "wheel"]
        );
        assert!(build_requirements(Some("[")).is_err());
    }
}
