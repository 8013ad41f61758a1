//! pip's index configuration, read the way pip reads it.
//!
//! pip merges, lowest first: the global files (`$XDG_CONFIG_DIRS/pip/pip.conf`,
//! `/etc/pip.conf`), the user files (`~/.pip/pip.conf`,
//! `$XDG_CONFIG_HOME/pip/pip.conf`), the site file (`$VIRTUAL_ENV/pip.conf`),
//! the file named by `PIP_CONFIG_FILE` (when it exists, the user files are
//! skipped), then `PIP_*` variables, then the command line and the
//! requirements files it names. In each file the command's own section
//! (`[install]`) overrides `[global]`. `extra-index-url` is a list: a later
//! source replaces it, and the command line adds to it.
//!
//! pip's default index is asked of pip at run time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Environment, Error, RedactedUrl};

/// Where pip looks for packages.
#[derive(Debug, Clone)]
pub struct PipConfig {
    pub index_url: Option<RedactedUrl>,
    pub extra_index_urls: Vec<RedactedUrl>,
    pub no_index: bool,
    /// Where `index_url` came from.
    pub index_source: String,
    pub files: Vec<PathBuf>,
}

/// Index options from a pip command line or a requirements file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexArgs {
    pub index_url: Option<String>,
    pub extra_index_urls: Vec<String>,
    pub no_index: bool,
    pub requirement_files: Vec<PathBuf>,
}

impl IndexArgs {
    /// Reads the index options of a pip command line (`-i`, `--index-url`,
    /// `--extra-index-url`, `--no-index`, `-r`).
    pub fn from_args(args: &[String]) -> Self {
        let mut out = Self::default();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
                _ => (arg.as_str(), None),
            };
            let (flag, inline) = match (flag, inline) {
                (f, None) if f.starts_with("-i") && f.len() > 2 => ("-i", Some(f[2..].to_owned())),
                (f, None) if f.starts_with("-r") && f.len() > 2 => ("-r", Some(f[2..].to_owned())),
                other => other,
            };
            let mut value = || inline.clone().or_else(|| iter.next().cloned());
            match flag {
                "-i" | "--index-url" => out.index_url = value(),
                "--extra-index-url" => out.extra_index_urls.extend(value()),
                "--no-index" => out.no_index = true,
                "-r" | "--requirement" => out.requirement_files.extend(value().map(PathBuf::from)),
                _ => {}
            }
        }
        out
    }

    /// Adds the index options of requirements-file lines, as pip applies
    /// them (the lines come from the pip adapter's one reading of the
    /// files, nested `-r` files followed).
    pub fn with_requirement_lines(mut self, lines: &[String]) -> Self {
        for line in lines {
            let args: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
            let found = Self::from_args(&args);
            if found.index_url.is_some() {
                self.index_url = found.index_url;
            }
            self.extra_index_urls.extend(found.extra_index_urls);
            self.no_index |= found.no_index;
        }
        self
    }
}

impl PipConfig {
    /// Reads pip's configuration for `command` (`install`, `download`, ...).
    pub fn discover(
        env: &Environment,
        command: &str,
        args: &IndexArgs,
        python: &str,
    ) -> Result<Self, Error> {
        let mut merged: BTreeMap<String, (String, String)> = BTreeMap::new();
        let mut files = Vec::new();
        for path in config_files(env) {
            let text = match std::fs::read(&path) {
                Ok(bytes) => String::from_utf8(bytes).map_err(|_| Error::ConfigFile {
                    path: path.clone(),
                    message: "it is not UTF-8, and pip refuses it".to_owned(),
                })?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(Error::ConfigFile {
                        path: path.clone(),
                        message: e.to_string(),
                    });
                }
            };
            check_ini(&text).map_err(|message| Error::ConfigFile {
                path: path.clone(),
                message,
            })?;
            let sections = parse_ini(&text);
            let source = format!("`{}`", path.display());
            for section in ["global", command] {
                if let Some(values) = sections.get(section) {
                    for (k, v) in values {
                        merged.insert(k.clone(), (v.clone(), source.clone()));
                    }
                }
            }
            files.push(path);
        }
        for (name, value) in &env.vars {
            if let Some(key) = name.strip_prefix("PIP_") {
                let key = key.to_ascii_lowercase().replace('_', "-");
                merged.insert(key, (value.clone(), format!("`{name}`")));
            }
        }

        let parse = |setting: &str, value: &str, source: &str| {
            RedactedUrl::parse(value).map_err(|e| Error::Config {
                setting: setting.to_owned(),
                value: RedactedUrl::parse(value)
                    .map(|u| u.to_string())
                    .unwrap_or_else(|_| "(unparsable)".to_owned()),
                source_name: source.to_owned(),
                message: e.to_string(),
            })
        };

        let (index_value, index_source) = match &args.index_url {
            Some(url) => (Some(url.clone()), "the command line".to_owned()),
            None => match merged.get("index-url") {
                Some((v, s)) => (Some(v.clone()), s.clone()),
                None => (None, String::new()),
            },
        };
        let no_index = args.no_index || merged.get("no-index").is_some_and(|(v, _)| is_truthy(v));
        let index_url = match index_value {
            Some(v) => Some(parse("index-url", &v, &index_source)?),
            None if no_index => None,
            None => Some(ask_pip_default_index(python)?),
        };
        let index_source = if index_source.is_empty() {
            "pip's default".to_owned()
        } else {
            index_source
        };
        let mut extra_index_urls = Vec::new();
        if let Some((v, s)) = merged.get("extra-index-url") {
            for item in v.split_whitespace() {
                extra_index_urls.push(parse("extra-index-url", item, s)?);
            }
        }
        for item in &args.extra_index_urls {
            extra_index_urls.push(parse("extra-index-url", item, "the command line")?);
        }
        Ok(Self {
            index_url: index_url.map(|u| u.as_directory()),
            extra_index_urls: extra_index_urls
                .into_iter()
                .map(|u| u.as_directory())
                .collect(),
            no_index,
            index_source,
            files,
        })
    }

    /// Every index, the main one first.
    pub fn indexes(&self) -> impl Iterator<Item = &RedactedUrl> {
        self.index_url.iter().chain(&self.extra_index_urls)
    }

    /// Passwords embedded in index URLs, for scrubbing free text.
    pub fn secrets(&self) -> Vec<String> {
        self.indexes()
            .filter_map(RedactedUrl::credentials)
            .flat_map(|(user, pass)| {
                // A user name alone is often a token.
                let mut v = vec![user];
                v.extend(pass);
                v
            })
            .filter(|s| !s.is_empty())
            .collect()
    }
}

fn is_truthy(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

/// pip's configuration files, lowest precedence first.
fn config_files(env: &Environment) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let xdg_dirs = env.var("XDG_CONFIG_DIRS").unwrap_or("/etc/xdg");
    for dir in xdg_dirs.split(':').filter(|d| !d.is_empty()) {
        out.push(Path::new(dir).join("pip").join("pip.conf"));
    }
    out.push(PathBuf::from("/etc/pip.conf"));

    let env_file = env.var("PIP_CONFIG_FILE").map(|f| env.expand_home(f));
    let env_file_exists = env_file.as_ref().is_some_and(|f| f.exists());
    let isolated = env.var("PIP_ISOLATED_MODE").is_some_and(is_truthy);
    if !isolated && !env_file_exists {
        if let Some(home) = &env.home {
            out.push(home.join(".pip").join("pip.conf"));
        }
        let config_home = env
            .var("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| env.home.as_ref().map(|h| h.join(".config")));
        if let Some(dir) = config_home {
            out.push(dir.join("pip").join("pip.conf"));
        }
    }
    if let Some(venv) = env.var("VIRTUAL_ENV") {
        out.push(Path::new(venv).join("pip.conf"));
    }
    // `PIP_CONFIG_FILE=/dev/null` (os.devnull) disables it; reading an
    // empty file has the same effect.
    out.extend(env_file);
    out
}

/// A configparser-style ini file: sections of `key = value` or `key: value`,
/// indented continuation lines, `#` and `;` comments. Keys are normalised as
/// pip does (lower case, `_` read as `-`).
/// What pip's configparser refuses: a setting before any `[section]`, a
/// section header left open, a line that is neither a setting nor a
/// continuation. The message names the line.
fn check_ini(text: &str) -> Result<(), String> {
    let mut in_section = false;
    for (n, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let line = n + 1;
        if trimmed.starts_with('[') {
            if !trimmed.ends_with(']') {
                return Err(format!(
                    "line {line}: the section header `{trimmed}` is not closed"
                ));
            }
            in_section = true;
        } else if !in_section {
            return Err(format!("line {line}: a setting before any `[section]`"));
        } else if !(raw.starts_with([' ', '\t']) || trimmed.contains(['=', ':'])) {
            return Err(format!("line {line}: `{trimmed}` is not `key = value`"));
        }
    }
    Ok(())
}

pub fn parse_ini(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut section: Option<String> = None;
    let mut last_key: Option<String> = None;
    for raw in text.lines() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let indented = raw.starts_with(' ') || raw.starts_with('\t');
        if indented {
            if let (Some(s), Some(k)) = (&section, &last_key) {
                if let Some(v) = out.entry(s.clone()).or_default().get_mut(k) {
                    v.push('\n');
                    v.push_str(trimmed);
                }
                continue;
            }
        }
        if trimmed.starts_with('[') && trimmed.ends_with(']') {
            section = Some(trimmed[1..trimmed.len() - 1].trim().to_owned());
            last_key = None;
            continue;
        }
        let Some(s) = &section else { continue };
        let split = trimmed.find(['=', ':']);
        let (key, value) = match split {
            Some(i) => (trimmed[..i].trim(), trimmed[i + 1..].trim()),
            None => (trimmed, ""),
        };
        let key = key
            .trim_start_matches("--")
            .to_ascii_lowercase()
            .replace('_', "-");
        out.entry(s.clone())
            .or_default()
            .insert(key.clone(), value.to_owned());
        last_key = Some(key);
    }
    out
}

/// Asks pip (through `python`) for its default index URL.
fn ask_pip_default_index(python: &str) -> Result<RedactedUrl, Error> {
    let mut cmd = Command::new(python);
    cmd.args([
        "-I",
        "-c",
        "from pip._internal.models.index import PyPI; print(PyPI.simple_url)",
    ]);
    crate::env::url_from_tool(cmd, python, "index URL")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_files_pip_refuses_are_refused_with_their_place() {
        let dir = tempfile::tempdir().unwrap();
        for (text, says) in [
            (b"[global\nindex-url = http://x/\n".to_vec(), "line 1"),
            (b"index-url = http://x/\n".to_vec(), "before any"),
            (b"[global]\njunk\n".to_vec(), "line 2"),
            (b"[global]\nindex-url = \xff\xfe\n".to_vec(), "UTF-8"),
        ] {
            let file = dir.path().join("pip.conf");
            std::fs::write(&file, &text).unwrap();
            let env = env_in(dir.path(), &[("PIP_CONFIG_FILE", file.to_str().unwrap())]);
            let err = PipConfig::discover(
                &env,
                "install",
                &IndexArgs::default(),
                "/nonexistent/python",
            )
            .unwrap_err();
            let shown = err.to_string();
            assert!(matches!(err, Error::ConfigFile { .. }), "{shown}");
            assert!(
                shown.contains("pip.conf") && shown.contains(says),
                "{shown}"
            );
        }
    }

    fn env_in(dir: &Path, vars: &[(&str, &str)]) -> Environment {
        Environment {
            vars: vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .chain([(
                    "XDG_CONFIG_DIRS".to_owned(),
                    dir.join("xdg").display().to_string(),
                )])
                .collect(),
            cwd: dir.to_path_buf(),
            home: Some(dir.join("home")),
        }
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn discover(env: &Environment, args: &[&str]) -> PipConfig {
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        let parsed = IndexArgs::from_args(&args);
        PipConfig::discover(env, "install", &parsed, "/nonexistent/python").unwrap()
    }

    #[test]
    fn files_env_and_command_line_in_pip_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            &root.join("xdg/pip/pip.conf"),
            "[global]\nindex-url = http://global.example.org/simple\n",
        );
        let env = env_in(root, &[]);
        assert_eq!(
            discover(&env, &[]).index_url.unwrap().to_string(),
            "http://global.example.org/simple/"
        );

        write(
            &root.join("home/.config/pip/pip.conf"),
            "[global]\nindex-url = http://user.example.org/simple\n[install]\nindex_url = http://user-install.example.org/simple\n",
        );
        let cfg = discover(&env, &[]);
        assert_eq!(
            cfg.index_url.unwrap().to_string(),
            "http://user-install.example.org/simple/"
        );

        let venv = root.join("venv");
        write(
            &venv.join("pip.conf"),
            "[global]\nindex-url = http://site.example.org/simple\n",
        );
        let env = env_in(root, &[("VIRTUAL_ENV", venv.to_str().unwrap())]);
        assert_eq!(
            discover(&env, &[]).index_url.unwrap().to_string(),
            "http://site.example.org/simple/"
        );

        let env = env_in(
            root,
            &[
                ("VIRTUAL_ENV", venv.to_str().unwrap()),
                ("PIP_INDEX_URL", "http://env.example.org/simple"),
            ],
        );
        let cfg = discover(&env, &[]);
        assert_eq!(
            cfg.index_url.unwrap().to_string(),
            "http://env.example.org/simple/"
        );
        assert_eq!(cfg.index_source, "`PIP_INDEX_URL`");

        let cfg = discover(
            &env,
            &["install", "-i", "http://cli.example.org/simple", "x"],
        );
        assert_eq!(
            cfg.index_url.unwrap().to_string(),
            "http://cli.example.org/simple/"
        );
    }

    #[test]
    fn pip_config_file_skips_user_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            &root.join("home/.config/pip/pip.conf"),
            "[global]\nindex-url = http://user.example.org/simple\nextra-index-url = http://user-extra.example.org/simple\n",
        );
        write(
            &root.join("custom.conf"),
            "[global]\nindex-url = http://custom.example.org/simple\n",
        );
        let env = env_in(
            root,
            &[(
                "PIP_CONFIG_FILE",
                root.join("custom.conf").to_str().unwrap(),
            )],
        );
        let cfg = discover(&env, &[]);
        assert_eq!(
            cfg.index_url.unwrap().to_string(),
            "http://custom.example.org/simple/"
        );
        assert!(cfg.extra_index_urls.is_empty());
    }

    #[test]
    fn extra_index_urls_multiline_env_and_cli() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            &root.join("home/.config/pip/pip.conf"),
            "[global]\nindex-url = http://main.example.org/simple\nextra-index-url =\n    http://a.example.org/simple\n    http://b.example.org/simple\n",
        );
        let env = env_in(root, &[]);
        let cfg = discover(&env, &["--extra-index-url=http://c.example.org/simple"]);
        let extras: Vec<String> = cfg
            .extra_index_urls
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            extras,
            [
                "http://a.example.org/simple/",
                "http://b.example.org/simple/",
                "http://c.example.org/simple/"
            ]
        );
        let env = env_in(
            root,
            &[(
                "PIP_EXTRA_INDEX_URL",
                "http://d.example.org/simple http://e.example.org/simple",
            )],
        );
        let cfg = discover(&env, &[]);
        assert_eq!(cfg.extra_index_urls.len(), 2);
        assert_eq!(
            cfg.extra_index_urls[0].to_string(),
            "http://d.example.org/simple/"
        );
    }

    #[test]
    fn requirement_lines_set_indexes_as_pip_does() {
        let dir = tempfile::tempdir().unwrap();
        let env = env_in(
            dir.path(),
            &[("PIP_INDEX_URL", "http://env.example.org/simple")],
        );
        let lines: Vec<String> = [
            "-i http://req.example.org/simple",
            "--extra-index-url http://nested.example.org/simple",
            "requests==2.0",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let parsed = IndexArgs::from_args(&[]).with_requirement_lines(&lines);
        let cfg = PipConfig::discover(&env, "install", &parsed, "/nonexistent/python").unwrap();
        assert_eq!(
            cfg.index_url.unwrap().to_string(),
            "http://req.example.org/simple/"
        );
        assert_eq!(
            cfg.extra_index_urls[0].to_string(),
            "http://nested.example.org/simple/"
        );
    }

    #[test]
    fn credentials_are_secrets_and_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let env = env_in(
            dir.path(),
            &[(
                "PIP_INDEX_URL",
                "https://ci:hunter22@mirror.example.org/simple",
            )],
        );
        let cfg = discover(&env, &[]);
        assert_eq!(
            cfg.index_url.as_ref().unwrap().to_string(),
            "https://****:****@mirror.example.org/simple/"
        );
        assert!(cfg.secrets().contains(&"hunter22".to_owned()));
    }

    #[test]
    fn no_index_needs_no_default() {
        let dir = tempfile::tempdir().unwrap();
        let env = env_in(dir.path(), &[]);
        let cfg = discover(&env, &["--no-index"]);
        assert!(cfg.index_url.is_none());
        let err = PipConfig::discover(
            &env,
            "install",
            &IndexArgs::default(),
            "/nonexistent/python",
        )
        .unwrap_err();
        assert!(matches!(err, Error::ToolDefault { .. }));
    }
}
