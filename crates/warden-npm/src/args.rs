//! npm's command line, read once the way npm's own option parser (nopt)
//! reads it, so that every flag keeps its value when warden passes it on.
//!
//! nopt gives a value-taking option the next word whatever it looks like:
//! `npm ci --registry --ignore-scripts` sets the registry to
//! `--ignore-scripts` and runs every install script. warden therefore
//! knows which of npm's options take a value, writes every flag it passes
//! on as one word (`--registry=<url>`), puts its own flags first, and drops
//! the user's flags that would undo them.

/// npm's options that take a value (npm 11's config definitions: every
/// option whose type is not Boolean alone).
const VALUE_KEYS: &[&str] = &[
    "_auth",
    "access",
    "allow-directory",
    "allow-file",
    "allow-git",
    "allow-remote",
    "allow-scripts",
    "also",
    "audit-level",
    "auth-type",
    "before",
    "ca",
    "cache",
    "cache-max",
    "cache-min",
    "cafile",
    "call",
    "cert",
    "cidr",
    "depth",
    "diff",
    "diff-dst-prefix",
    "diff-src-prefix",
    "diff-unified",
    "editor",
    "expect-result-count",
    "expires",
    "fetch-retries",
    "fetch-retry-factor",
    "fetch-retry-maxtimeout",
    "fetch-retry-mintimeout",
    "fetch-timeout",
    "git",
    "globalconfig",
    "heading",
    "https-proxy",
    "include",
    "init-author-email",
    "init-author-name",
    "init-author-url",
    "init-license",
    "init-module",
    "init-type",
    "init-version",
    "init.author.email",
    "init.author.name",
    "init.author.url",
    "init.license",
    "init.module",
    "init.version",
    "install-strategy",
    "key",
    "libc",
    "local-address",
    "location",
    "lockfile-version",
    "loglevel",
    "logs-dir",
    "logs-max",
    "name",
    "maxsockets",
    "message",
    "min-release-age",
    "min-release-age-exclude",
    "node-gyp",
    "node-options",
    "noproxy",
    "omit",
    "only",
    "orgs",
    "os",
    "cpu",
    "otp",
    "package",
    "pack-destination",
    "packages",
    "prefix",
    "preid",
    "provenance-file",
    "proxy",
    "registry",
    "replace-registry-host",
    "save-prefix",
    "sbom-format",
    "sbom-type",
    "scope",
    "scopes",
    "packages-and-scopes-permission",
    "orgs-permission",
    "password",
    "token-description",
    "script-shell",
    "searchexclude",
    "searchlimit",
    "searchopts",
    "searchstaleness",
    "shell",
    "tag",
    "tag-version-prefix",
    "umask",
    "user-agent",
    "userconfig",
    "viewer",
    "which",
    "workspace",
];

/// Options that are Boolean or a word: the next word is theirs when it is
/// one of these.
const BOOLEAN_OR: &[(&str, &[&str])] = &[("color", &["always"])];

/// Single-letter and short forms, as npm expands them.
const SHORTHANDS: &[(&str, &str, Option<&str>)] = &[
    ("C", "prefix", None),
    ("w", "workspace", None),
    ("c", "call", None),
    ("L", "location", None),
    ("m", "message", None),
    ("reg", "registry", None),
    ("enjoy-by", "before", None),
    ("d", "loglevel", Some("info")),
    ("dd", "loglevel", Some("verbose")),
    ("ddd", "loglevel", Some("silly")),
    ("q", "loglevel", Some("warn")),
    ("quiet", "loglevel", Some("warn")),
    ("s", "loglevel", Some("silent")),
    ("silent", "loglevel", Some("silent")),
    ("verbose", "loglevel", Some("verbose")),
    ("g", "global", None),
    ("f", "force", None),
    ("y", "yes", None),
    ("S", "save", None),
    ("D", "save-dev", None),
    ("E", "save-exact", None),
    ("O", "save-optional", None),
    ("P", "save-prod", None),
    ("B", "save-bundle", None),
    ("ws", "workspaces", None),
    ("iwr", "include-workspace-root", None),
];

/// One option, by its full name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub key: String,
    pub value: FlagValue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagValue {
    On,
    /// `--no-<key>`, or `--<key>=false`.
    Off,
    Value(String),
}

impl Flag {
    /// The flag as one word, which no parser can split from its value.
    pub fn render(&self) -> String {
        match &self.value {
            FlagValue::On => format!("--{}", self.key),
            FlagValue::Off => format!("--no-{}", self.key),
            FlagValue::Value(v) => format!("--{}={v}", self.key),
        }
    }
}

/// An npm command line: the command, its words, and its options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NpmArgs {
    pub command: Option<String>,
    /// The words after the command (package specs), and all after `--`.
    pub words: Vec<String>,
    pub flags: Vec<Flag>,
}

fn value_key(key: &str) -> bool {
    VALUE_KEYS.contains(&key)
}

/// Reads `args` as npm does.
pub fn parse(args: &[String]) -> NpmArgs {
    let mut out = NpmArgs::default();
    let mut positional = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a == "--" {
            positional.extend(args[i..].iter().cloned());
            break;
        }
        let Some(body) = a.strip_prefix('-').filter(|b| !b.is_empty()) else {
            positional.push(a.clone());
            continue;
        };
        let body = body.strip_prefix('-').unwrap_or(body);
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (body, None),
        };
        let (key, preset) = match SHORTHANDS.iter().find(|(s, _, _)| *s == name) {
            Some((_, key, preset)) => ((*key).to_owned(), preset.map(str::to_owned)),
            None => (name.to_owned(), None),
        };
        let (key, negated) = match key.strip_prefix("no-") {
            Some(k) if !value_key(&key) => (k.to_owned(), true),
            _ => (key, false),
        };
        let value = if let Some(v) = preset.or(inline) {
            match v.as_str() {
                "false" if !value_key(&key) => FlagValue::Off,
                "true" if !value_key(&key) => FlagValue::On,
                _ => FlagValue::Value(v),
            }
        } else if value_key(&key) {
            // The next word, whatever it looks like: as npm reads it.
            match args.get(i) {
                Some(v) if !v.chars().all(|c| c == '-') || v.len() < 2 => {
                    i += 1;
                    FlagValue::Value(v.clone())
                }
                _ => FlagValue::On,
            }
        } else {
            let next = args.get(i).map(String::as_str);
            let word = BOOLEAN_OR
                .iter()
                .find(|(k, _)| *k == key)
                .and_then(|(_, words)| next.filter(|n| words.contains(n)));
            match (next, word) {
                (_, Some(w)) => {
                    i += 1;
                    FlagValue::Value(w.to_owned())
                }
                (Some("true"), _) => {
                    i += 1;
                    FlagValue::On
                }
                (Some("false"), _) => {
                    i += 1;
                    FlagValue::Off
                }
                _ => FlagValue::On,
            }
        };
        let value = match (negated, value) {
            (true, FlagValue::On) => FlagValue::Off,
            (true, FlagValue::Off) => FlagValue::On,
            (_, v) => v,
        };
        out.flags.push(Flag { key, value });
    }
    let mut positional = positional.into_iter();
    out.command = positional.next();
    out.words = positional.collect();
    out
}

/// Whether a flag (by a name npm would accept for it, abbreviations
/// included) is one of `keys`.
fn is_one_of(flag: &Flag, keys: &[&str]) -> bool {
    keys.iter()
        .any(|k| flag.key == *k || (flag.key.len() >= 4 && k.starts_with(flag.key.as_str())))
}

/// Options that would let package code run where warden turned it off.
const SCRIPT_KEYS: &[&str] = &["ignore-scripts", "allow-scripts"];
/// Options that change what the manifest records, or that make npm plan
/// instead of install: meaningless for installing a checked lockfile.
const SAVE_KEYS: &[&str] = &[
    "save",
    "save-dev",
    "save-exact",
    "save-optional",
    "save-prod",
    "save-peer",
    "save-bundle",
    "save-prefix",
    "package-lock-only",
    "dry-run",
];

impl NpmArgs {
    /// Whether a Boolean option is on.
    pub fn is_on(&self, key: &str) -> bool {
        self.flags
            .iter()
            .rev()
            .find(|f| f.key == key)
            .is_some_and(|f| f.value == FlagValue::On)
    }

    /// The settings that choose registries and config files (`registry`,
    /// `@scope:registry`, `userconfig`, `globalconfig`), as npm's
    /// configuration reads them from the command line.
    pub fn config_settings(&self) -> Vec<(String, String)> {
        self.flags
            .iter()
            .filter(|f| {
                matches!(f.key.as_str(), "registry" | "userconfig" | "globalconfig")
                    || (f.key.starts_with('@') && f.key.ends_with(":registry"))
            })
            .filter_map(|f| match &f.value {
                FlagValue::Value(v) => Some((f.key.clone(), v.clone())),
                _ => None,
            })
            .collect()
    }

    /// The options that shape an install of a checked lockfile (registry,
    /// omit, workspaces, ...), each as one word, without those that would
    /// run scripts or change what is installed or saved.
    pub fn install_flags(&self) -> Vec<String> {
        self.flags
            .iter()
            .filter(|f| !is_one_of(f, SCRIPT_KEYS) && !is_one_of(f, SAVE_KEYS))
            .filter(|f| !matches!(f.key.as_str(), "global" | "yes"))
            .map(Flag::render)
            .collect()
    }

    /// The command line for npm's own planning run: the user's command,
    /// words and options (each as one word), without those that would
    /// let scripts run; warden's own flags go first.
    pub fn plan_args(&self) -> Vec<String> {
        self.command
            .iter()
            .chain(&self.words)
            .cloned()
            .chain(
                self.flags
                    .iter()
                    .filter(|f| !is_one_of(f, SCRIPT_KEYS))
                    .filter(|f| !is_one_of(f, &["package-lock-only", "global"]))
                    .map(Flag::render),
            )
            .collect()
    }
}

/// A guarded npm command line, read once: everything the pipeline needs
/// to know of it.
#[derive(Debug, Clone)]
pub struct NpmRequest {
    /// As typed, for commands warden passes through unchanged.
    pub raw: Vec<String>,
    pub args: NpmArgs,
    pub command: crate::NpmCommand,
    /// `npm exec` / `npx`: what to install and run.
    pub exec: Option<crate::ExecRequest>,
    /// `npm install -g`: the packages to install globally.
    pub global: Option<Vec<String>>,
}

impl NpmRequest {
    /// Reads `npm <args>`. A command line warden cannot guard as asked is
    /// an error that says why.
    pub fn parse(raw: &[String]) -> Result<Self, warden_guard::Error> {
        use warden_guard::Error;
        let args = parse(raw);
        let command = crate::classify_parsed(&args, raw);
        if command != crate::NpmCommand::Other && args.is_on("dry-run") {
            return Err(Error::usage("npm's `--dry-run` would leave warden nothing to check")
                .with_hint("put warden's own flag before `npm`: `warden --dry-run npm ...` checks and reports without installing"));
        }
        let exec = match &command {
            crate::NpmCommand::Exec { .. } => Some(crate::exec_request(raw).ok_or_else(|| {
                Error::usage("no package to run").with_hint("warden npx <package> [args]")
            })?),
            _ => None,
        };
        let global = match &command {
            crate::NpmCommand::Install { specs } if args.is_on("global") => {
                if specs.is_empty() {
                    return Err(Error::usage(
                        "`npm install -g` needs the packages to install",
                    ));
                }
                Some(specs.clone())
            }
            _ => None,
        };
        Ok(Self {
            raw: raw.to_vec(),
            args,
            command,
            exec,
            global,
        })
    }

    /// The command line npm plans with: the user's, or for `npm exec` an
    /// install of the package to run.
    pub fn plan_args(&self) -> Vec<String> {
        match &self.exec {
            Some(e) => {
                let mut a = vec!["install".to_owned(), e.package.clone()];
                a.extend(e.flags.iter().cloned());
                a
            }
            None => self.raw.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn every_flag_keeps_its_value() {
        let a = parse(&words(
            "install --registry http://r/ canary --omit dev --loglevel warn -C /p --save-dev x",
        ));
        assert_eq!(a.command.as_deref(), Some("install"));
        assert_eq!(a.words, words("canary x"));
        assert_eq!(
            a.install_flags(),
            words("--registry=http://r/ --omit=dev --loglevel=warn --prefix=/p")
        );
    }

    #[test]
    fn a_value_flag_takes_the_next_word_as_npm_does() {
        // npm would read `--ignore-scripts` as the registry's value: so
        // does warden, and the value stays attached.
        let a = parse(&words("ci --registry --ignore-scripts"));
        assert_eq!(a.install_flags(), ["--registry=--ignore-scripts"]);
        // A value flag last, with nothing after it.
        let a = parse(&words("install x --registry"));
        assert_eq!(a.words, ["x"]);
        assert_eq!(a.install_flags(), ["--registry"]);
    }

    #[test]
    fn flags_that_would_run_scripts_are_dropped_in_any_spelling() {
        for line in [
            "install x --ignore-scripts=false",
            "install x --no-ignore-scripts",
            "install x --ignore-scripts false",
            "install x --ignore-script=false",
            "install x --allow-scripts=x",
            "install x --allow-scripts x",
        ] {
            let a = parse(&words(line));
            assert_eq!(a.words, ["x"], "{line}");
            assert!(
                a.install_flags().is_empty(),
                "{line}: {:?}",
                a.install_flags()
            );
            assert_eq!(a.plan_args(), ["install", "x"], "{line}");
        }
    }

    #[test]
    fn registries_come_from_the_same_reading() {
        let a = parse(&words(
            "install x --registry http://r/ --@corp:registry=http://c/ --userconfig /u --loglevel warn",
        ));
        assert_eq!(
            a.config_settings(),
            [
                ("registry".to_owned(), "http://r/".to_owned()),
                ("@corp:registry".to_owned(), "http://c/".to_owned()),
                ("userconfig".to_owned(), "/u".to_owned()),
            ]
        );
    }

    #[test]
    fn requests_warden_cannot_guard_as_asked_are_usage_errors() {
        assert!(NpmRequest::parse(&words("install x --dry-run")).is_err());
        assert!(NpmRequest::parse(&words("install -g")).is_err());
        assert!(NpmRequest::parse(&words("exec")).is_err());
        assert!(NpmRequest::parse(&words("run build --dry-run")).is_ok());
        let r = NpmRequest::parse(&words("i -g hello-cli --registry http://r/")).unwrap();
        assert_eq!(r.global, Some(words("hello-cli")));
        assert_eq!(r.args.install_flags(), ["--registry=http://r/"]);
    }

    #[test]
    fn booleans_shorthands_and_negations() {
        let a = parse(&words(
            "i -D --no-audit --fund false --color always -q --workspaces a",
        ));
        assert_eq!(a.words, ["a"]);
        assert_eq!(
            a.flags.iter().map(Flag::render).collect::<Vec<_>>(),
            words("--save-dev --no-audit --no-fund --color=always --loglevel=warn --workspaces")
        );
        assert_eq!(
            a.install_flags(),
            words("--no-audit --no-fund --color=always --loglevel=warn --workspaces")
        );
        let a = parse(&words("install -- --weird-name"));
        assert_eq!(a.words, ["--weird-name"]);
    }
}
