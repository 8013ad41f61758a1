//! npm's configuration, read the way npm reads it.
//!
//! npm layers its settings, highest first: the command line, `npm_config_*`
//! environment variables, the project `.npmrc` (next to the nearest
//! `package.json` or `node_modules` above the working directory), the user
//! `.npmrc` (`userconfig`), the global `npmrc` (`globalconfig`, under npm's
//! prefix) and npm's own defaults. Values may refer to environment variables
//! as `${NAME}` (left as written when unset) or `${NAME?}` (empty when unset).
//!
//! Credentials are keyed by "nerf dart", a URL without its scheme:
//! `//host:port/path/:_authToken`. A request uses the credentials of the
//! longest nerf dart that is a prefix of its URL, so a token for one registry
//! is never sent to another host.
//!
//! npm's built-in default registry is asked of npm itself at run time, with
//! every configuration file and variable hidden from it: warden never writes
//! a public registry's address down.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use url::Url;

use crate::{Environment, Error, RedactedUrl};

/// Credentials to send with a request.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    Bearer(String),
    Basic {
        user: String,
        password: Option<String>,
    },
    /// An already base64-encoded `user:password` (npm's `_auth`).
    BasicEncoded(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Bearer(_) => "Bearer(****)",
            Self::Basic { .. } => "Basic(****)",
            Self::BasicEncoded(_) => "BasicEncoded(****)",
        })
    }
}

impl Credentials {
    /// The secret strings, for scrubbing free text.
    pub fn secrets(&self) -> Vec<String> {
        match self {
            Self::Bearer(t) | Self::BasicEncoded(t) => vec![t.clone()],
            Self::Basic { password, .. } => password.iter().cloned().collect(),
        }
    }
}

/// Where a setting came from, for reports and error messages.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Setting {
    pub value: String,
    pub source: String,
}

/// npm's effective configuration for the settings warden needs.
#[derive(Debug, Clone)]
pub struct NpmConfig {
    settings: BTreeMap<String, Setting>,
    registry: RedactedUrl,
    scoped: BTreeMap<String, RedactedUrl>,
    /// Files that were read, in order of precedence (highest first).
    pub files: Vec<PathBuf>,
    /// Where npm's global configuration file is, whether or not it exists.
    pub global_file: Option<PathBuf>,
}

impl NpmConfig {
    /// Reads npm's configuration from every source npm uses.
    ///
    /// `cli` holds `key=value` settings from the command line (without the
    /// leading `--`), which win over everything else.
    pub fn discover(
        env: &Environment,
        cli: &[(String, String)],
        npm_program: &str,
    ) -> Result<Self, Error> {
        let mut layers: Vec<(String, BTreeMap<String, String>)> = Vec::new();
        let cli_map: BTreeMap<String, String> = cli
            .iter()
            .map(|(k, v)| (k.clone(), env_replace(v, env)))
            .collect();
        layers.push(("the command line".to_owned(), cli_map.clone()));
        let env_map = npm_env_settings(env);
        layers.push(("the environment".to_owned(), env_map.clone()));

        let lookup = |key: &str| cli_map.get(key).or_else(|| env_map.get(key)).cloned();
        let mut files = Vec::new();

        let project = project_npmrc(env);
        let user = lookup("userconfig")
            .map(|p| env.expand_home(&p))
            .or_else(|| env.home.as_ref().map(|h| h.join(".npmrc")));
        let global = lookup("globalconfig")
            .map(|p| env.expand_home(&p))
            .or_else(|| npm_prefix(env, lookup("prefix")).map(|p| p.join("etc").join("npmrc")));

        // npm skips the project file when it is the same file as the user's.
        let project = project.filter(|p| Some(p) != user.as_ref());
        for path in [project, user, global.clone()].into_iter().flatten() {
            // npm reads its files lossily: one bad byte does not lose the
            // rest of the file, and warden reads them as npm does.
            match std::fs::read(&path) {
                Ok(bytes) => {
                    let text = String::from_utf8_lossy(&bytes);
                    layers.push((format!("`{}`", path.display()), parse_npmrc(&text, env)));
                    files.push(path);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) if path.is_dir() => tracing::debug!("{}: {e}", path.display()),
                Err(e) => {
                    return Err(Error::ConfigFile {
                        path: path.clone(),
                        message: e.to_string(),
                    });
                }
            }
        }

        let mut settings = BTreeMap::new();
        for (source, map) in layers.iter().rev() {
            for (key, value) in map {
                settings.insert(
                    key.clone(),
                    Setting {
                        value: value.clone(),
                        source: source.clone(),
                    },
                );
            }
        }

        let registry = match settings.get("registry") {
            Some(s) => parse_registry("registry", s)?,
            None => ask_npm_default_registry(npm_program)?,
        };
        let mut scoped = BTreeMap::new();
        for (key, setting) in &settings {
            if let Some(scope) = key.strip_suffix(":registry")
                && scope.starts_with('@')
            {
                scoped.insert(scope.to_owned(), parse_registry(key, setting)?);
            }
        }
        Ok(Self {
            settings,
            registry: registry.as_directory(),
            scoped: scoped
                .into_iter()
                .map(|(k, v)| (k, v.as_directory()))
                .collect(),
            files,
            global_file: global,
        })
    }

    /// The default registry.
    pub fn registry(&self) -> &RedactedUrl {
        &self.registry
    }

    /// The registry npm would use for `package` (`@scope/name` honours
    /// `@scope:registry`).
    pub fn registry_for(&self, package: &str) -> &RedactedUrl {
        package
            .split_once('/')
            .filter(|(scope, _)| scope.starts_with('@'))
            .and_then(|(scope, _)| self.scoped.get(scope))
            .unwrap_or(&self.registry)
    }

    pub fn scoped_registries(&self) -> &BTreeMap<String, RedactedUrl> {
        &self.scoped
    }

    pub fn get(&self, key: &str) -> Option<&Setting> {
        self.settings.get(key)
    }

    /// npm's cache folder: `cache` from its configuration, else npm's
    /// default (`~/.npm`).
    pub fn cache_dir(&self, env: &Environment) -> Option<PathBuf> {
        match self.settings.get("cache") {
            Some(s) => Some(env.expand_home(&s.value)),
            None => env.home.as_ref().map(|h| h.join(".npm")),
        }
    }

    /// The credentials npm would send with a request to `url`.
    pub fn credentials_for(&self, url: &Url) -> Option<Credentials> {
        let host = url.host_str()?;
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        // Walk from the request's directory up to the host: the longest
        // configured nerf dart wins.
        let path = url.path();
        let mut dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        loop {
            let dart = format!("//{authority}{}", if dir.is_empty() { "/" } else { dir });
            if let Some(creds) = self.credentials_at(&dart) {
                return Some(creds);
            }
            if dir.len() <= 1 {
                break;
            }
            let trimmed = &dir[..dir.len() - 1];
            dir = &trimmed[..trimmed.rfind('/').map_or(0, |i| i + 1)];
        }
        // Legacy unscoped `_authToken` / `_auth` apply to the default registry only.
        if url
            .as_str()
            .starts_with(self.registry.without_credentials().as_str())
        {
            if let Some(t) = self.value("_authToken") {
                return Some(Credentials::Bearer(t.to_owned()));
            }
            if let Some(a) = self.value("_auth") {
                return Some(Credentials::BasicEncoded(a.to_owned()));
            }
        }
        None
    }

    fn credentials_at(&self, dart: &str) -> Option<Credentials> {
        if let Some(token) = self.value(&format!("{dart}:_authToken")) {
            return Some(Credentials::Bearer(token.to_owned()));
        }
        if let Some(auth) = self.value(&format!("{dart}:_auth")) {
            return Some(Credentials::BasicEncoded(auth.to_owned()));
        }
        let user = self.value(&format!("{dart}:username"))?;
        let password = self.value(&format!("{dart}:_password")).map(|p| {
            use base64::Engine;
            // `_password` is stored base64-encoded.
            base64::engine::general_purpose::STANDARD
                .decode(p)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .unwrap_or_else(|| p.to_owned())
        });
        Some(Credentials::Basic {
            user: user.to_owned(),
            password,
        })
    }

    fn value(&self, key: &str) -> Option<&str> {
        self.settings
            .get(key)
            .map(|s| s.value.as_str())
            .filter(|v| !v.is_empty())
    }

    /// Every credential value configured, for scrubbing text that did not
    /// pass through [`RedactedUrl`].
    pub fn secrets(&self) -> Vec<String> {
        self.settings
            .iter()
            .filter(|(k, _)| {
                k.ends_with("_authToken") || k.ends_with("_auth") || k.ends_with("_password")
            })
            .map(|(_, s)| s.value.clone())
            .filter(|v| !v.is_empty())
            .collect()
    }
}

fn parse_registry(key: &str, setting: &Setting) -> Result<RedactedUrl, Error> {
    RedactedUrl::parse(&setting.value).map_err(|e| Error::Config {
        setting: key.to_owned(),
        value: RedactedUrl::parse(&setting.value)
            .map(|u| u.to_string())
            .unwrap_or_else(|_| "(unparsable)".to_owned()),
        source_name: setting.source.clone(),
        message: e.to_string(),
    })
}

/// Settings from `npm_config_*` variables (any case), as npm names them.
fn npm_env_settings(env: &Environment) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (name, value) in &env.vars {
        if name.len() <= 11 || !name[..11].eq_ignore_ascii_case("npm_config_") {
            continue;
        }
        let raw = &name[11..];
        // Nerf-darted keys keep their spelling; others are lower-cased with
        // `_` read as `-`, except a leading one (`_authToken`).
        let key = if raw.starts_with("//") {
            raw.to_owned()
        } else {
            let lower = raw.to_ascii_lowercase();
            let mut chars = lower.chars();
            let first = chars.next().map(String::from).unwrap_or_default();
            first + &chars.as_str().replace('_', "-")
        };
        let key = match key.as_str() {
            "_authtoken" => "_authToken".to_owned(),
            _ => key,
        };
        out.insert(key, env_replace(value, env));
    }
    out
}

/// The `.npmrc` of the project npm would use: next to the nearest
/// `package.json` or `node_modules` at or above the working directory.
fn project_npmrc(env: &Environment) -> Option<PathBuf> {
    let mut dir: Option<&Path> = Some(&env.cwd);
    while let Some(d) = dir {
        if d.join("package.json").exists() || d.join("node_modules").exists() {
            return Some(d.join(".npmrc"));
        }
        dir = d.parent();
    }
    Some(env.cwd.join(".npmrc"))
}

/// npm's prefix: `prefix` when set, else the directory above the one holding
/// the `node` executable.
fn npm_prefix(env: &Environment, configured: Option<String>) -> Option<PathBuf> {
    if let Some(p) = configured {
        return Some(env.expand_home(&p));
    }
    let node = env.which("node")?;
    let node = node.canonicalize().unwrap_or(node);
    Some(node.parent()?.parent()?.to_path_buf())
}

/// Parses an `.npmrc` (ini) into key/value pairs, expanding `${VAR}`.
pub fn parse_npmrc(text: &str, env: &Environment) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut in_section = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            // Settings under a section are not top-level settings for npm.
            in_section = true;
            continue;
        }
        if in_section {
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (line, "true"),
        };
        let key = key.strip_suffix("[]").unwrap_or(key);
        let value = unquote(value);
        out.insert(env_replace(key, env), env_replace(&value, env));
    }
    out
}

fn unquote(value: &str) -> String {
    if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
        if let Ok(serde_json::Value::String(s)) = serde_json::from_str(value) {
            return s;
        }
    }
    if value.len() >= 2 && value.starts_with('\'') && value.ends_with('\'') {
        return value[1..value.len() - 1].to_owned();
    }
    value.to_owned()
}

/// npm's `${VAR}` substitution: an unset variable stays as written, `${VAR?}`
/// becomes empty, and `\${VAR}` is a literal.
pub fn env_replace(value: &str, env: &Environment) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let escaped = rest[..start].ends_with('\\');
        let Some(end) = rest[start..].find('}').map(|e| start + e) else {
            break;
        };
        if escaped {
            out.push_str(&rest[..start - 1]);
            out.push_str(&rest[start..=end]);
        } else {
            out.push_str(&rest[..start]);
            let inner = &rest[start + 2..end];
            let (name, optional) = match inner.strip_suffix('?') {
                Some(n) => (n, true),
                None => (inner, false),
            };
            match env.vars.get(name) {
                Some(v) => out.push_str(v),
                None if optional => {}
                None => out.push_str(&rest[start..=end]),
            }
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Asks npm for its built-in default registry, with every configuration
/// source hidden from it so the answer is npm's own default.
fn ask_npm_default_registry(npm_program: &str) -> Result<RedactedUrl, Error> {
    let fail = |message: String| Error::ToolDefault {
        program: npm_program.to_owned(),
        what: "registry",
        message,
    };
    let scratch = tempfile::tempdir().map_err(|e| fail(e.to_string()))?;
    // npm refuses to load one file as both user and global config.
    let user = scratch.path().join("user-npmrc");
    let global = scratch.path().join("global-npmrc");
    for file in [&user, &global] {
        std::fs::write(file, "").map_err(|e| fail(e.to_string()))?;
    }
    let mut cmd = Command::new(npm_program);
    cmd.args(["config", "get", "registry"])
        .arg(format!("--userconfig={}", user.display()))
        .arg(format!("--globalconfig={}", global.display()))
        .current_dir(scratch.path());
    for (name, _) in std::env::vars_os() {
        if name
            .to_str()
            .is_some_and(|n| n.len() > 11 && n[..11].eq_ignore_ascii_case("npm_config_"))
        {
            cmd.env_remove(name);
        }
    }
    crate::env::url_from_tool(cmd, npm_program, "registry")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with(dir: &Path, vars: &[(&str, &str)]) -> Environment {
        let mut vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        vars.insert("PATH".to_owned(), String::new());
        Environment {
            vars,
            cwd: dir.to_path_buf(),
            home: Some(dir.join("home")),
        }
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn discover(env: &Environment, cli: &[(&str, &str)]) -> NpmConfig {
        let cli: Vec<(String, String)> = cli
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        NpmConfig::discover(env, &cli, "/nonexistent/npm").unwrap()
    }

    #[test]
    fn precedence_cli_env_project_user_global() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(&root.join("proj/package.json"), "{}");
        write(
            &root.join("proj/.npmrc"),
            "registry=http://project.example.org/\n",
        );
        write(
            &root.join("home/.npmrc"),
            "registry=http://user.example.org/\n",
        );
        write(
            &root.join("global/npmrc"),
            "registry=http://global.example.org/\n",
        );
        let mut env = env_with(root, &[("npm_config_globalconfig", "")]);
        env.vars.insert(
            "npm_config_globalconfig".into(),
            root.join("global/npmrc").display().to_string(),
        );
        env.cwd = root.join("proj/src/deep");
        std::fs::create_dir_all(&env.cwd).unwrap();

        let cfg = discover(&env, &[]);
        assert_eq!(cfg.registry().to_string(), "http://project.example.org/");
        assert_eq!(cfg.files.len(), 3);

        std::fs::remove_file(root.join("proj/.npmrc")).unwrap();
        assert_eq!(
            discover(&env, &[]).registry().to_string(),
            "http://user.example.org/"
        );

        std::fs::remove_file(root.join("home/.npmrc")).unwrap();
        assert_eq!(
            discover(&env, &[]).registry().to_string(),
            "http://global.example.org/"
        );

        env.vars.insert(
            "NPM_CONFIG_REGISTRY".into(),
            "http://env.example.org".into(),
        );
        let cfg = discover(&env, &[]);
        assert_eq!(cfg.registry().to_string(), "http://env.example.org/");
        assert_eq!(cfg.get("registry").unwrap().source, "the environment");

        let cfg = discover(&env, &[("registry", "http://cli.example.org/r")]);
        assert_eq!(cfg.registry().to_string(), "http://cli.example.org/r/");
    }

    #[test]
    fn userconfig_from_environment_replaces_home_npmrc() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            &root.join("home/.npmrc"),
            "registry=http://home.example.org/\n",
        );
        write(
            &root.join("other.npmrc"),
            "registry=http://other.example.org/\n",
        );
        let other = root.join("other.npmrc").display().to_string();
        let env = env_with(root, &[("npm_config_userconfig", &other)]);
        assert_eq!(
            discover(&env, &[]).registry().to_string(),
            "http://other.example.org/"
        );
    }

    #[test]
    fn scoped_registry_and_nerf_dart_auth() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            &root.join("home/.npmrc"),
            "registry=http://public.example.org/\n\
             @corp:registry=http://private.example.org:8080/npm/\n\
             //private.example.org:8080/npm/:_authToken=${CORP_TOKEN}\n\
             //public.example.org/:_auth=dXNlcjpwYXNz\n",
        );
        let env = env_with(root, &[("CORP_TOKEN", "tok-123456")]);
        let cfg = discover(&env, &[]);
        assert_eq!(
            cfg.registry_for("@corp/lib").to_string(),
            "http://private.example.org:8080/npm/"
        );
        assert_eq!(
            cfg.registry_for("lib").to_string(),
            "http://public.example.org/"
        );
        assert_eq!(
            cfg.registry_for("@other/lib").to_string(),
            "http://public.example.org/"
        );

        let tarball =
            Url::parse("http://private.example.org:8080/npm/@corp/lib/-/lib-1.0.0.tgz").unwrap();
        assert_eq!(
            cfg.credentials_for(&tarball),
            Some(Credentials::Bearer("tok-123456".into()))
        );
        // Same host, other port: never the private token.
        let elsewhere = Url::parse("http://private.example.org/npm/x").unwrap();
        assert_eq!(cfg.credentials_for(&elsewhere), None);
        let public = Url::parse("http://public.example.org/lib").unwrap();
        assert_eq!(
            cfg.credentials_for(&public),
            Some(Credentials::BasicEncoded("dXNlcjpwYXNz".into()))
        );
        assert!(cfg.secrets().contains(&"tok-123456".to_owned()));
        assert!(!format!("{:?}", cfg.credentials_for(&tarball)).contains("tok-123456"));
    }

    #[test]
    fn username_and_base64_password() {
        let dir = tempfile::tempdir().unwrap();
        let env = env_with(dir.path(), &[]);
        let map = parse_npmrc(
            "//h.example.org/:username=bob\n//h.example.org/:_password=c2VjcmV0\n",
            &env,
        );
        let cfg = NpmConfig {
            settings: map
                .into_iter()
                .map(|(k, v)| {
                    (
                        k,
                        Setting {
                            value: v,
                            source: "test".into(),
                        },
                    )
                })
                .collect(),
            registry: RedactedUrl::parse("http://h.example.org/").unwrap(),
            scoped: BTreeMap::new(),
            files: vec![],
            global_file: None,
        };
        assert_eq!(
            cfg.credentials_for(&Url::parse("http://h.example.org/pkg").unwrap()),
            Some(Credentials::Basic {
                user: "bob".into(),
                password: Some("secret".into())
            })
        );
    }

    #[test]
    fn env_replace_forms() {
        let env = env_with(Path::new("/"), &[("A", "x")]);
        assert_eq!(env_replace("${A}-${B}-${B?}-\\${A}", &env), "x-${B}--${A}");
    }

    #[test]
    fn ini_quirks() {
        let env = env_with(Path::new("/"), &[]);
        let map = parse_npmrc(
            "; comment\n# comment\nregistry = \"http://q.example.org/\"\nca[]=x\nflag\n[section]\nregistry=http://no/\n",
            &env,
        );
        assert_eq!(map["registry"], "http://q.example.org/");
        assert_eq!(map["ca"], "x");
        assert_eq!(map["flag"], "true");
    }

    #[test]
    fn default_registry_is_asked_of_npm() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("npm");
        write(
            &fake,
            "#!/bin/sh\n[ \"$1 $2 $3\" = \"config get registry\" ] || exit 3\necho http://default.example.org/\n",
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let env = env_with(dir.path(), &[]);
        let cfg = NpmConfig::discover(&env, &[], fake.to_str().unwrap()).unwrap();
        assert_eq!(cfg.registry().to_string(), "http://default.example.org/");

        let err = NpmConfig::discover(&env, &[], "/nonexistent/npm").unwrap_err();
        assert!(matches!(err, Error::ToolDefault { .. }), "{err}");
    }
}
