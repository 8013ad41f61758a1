use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Checks who published a package, how it was published, and what will run
/// when it installs, before npm or pip installs anything.
#[derive(Debug, Parser)]
#[command(name = "warden", version, about, long_about = None, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

pub const EXIT_CODES: &str = "\
Exit codes:
  0   allowed (and the package manager succeeded)
  N   the package manager ran and failed with code N
  64  bad usage
  69  the checks could not be completed (registry unreachable, broken data)
  77  blocked by policy, or the prompt answered no
  78  bad configuration (policy file, or a registry setting warden cannot read)
  130 interrupted: the package manager was stopped, the project's files put back

Warnings: on a terminal warden shows the report and asks `N packages have
warnings: install anyway? [y/N]`; anything but yes stops with 77. With --yes,
without a terminal (stdin not a tty), or with CI set, nobody is asked and the
install goes on; a deny or an unknown under on-error = deny still stops it.
Every decision is recorded in .warden/decisions.jsonl with who approved it and
what happened. Progress and colour appear only on a terminal (NO_COLOR,
CLICOLOR_FORCE and --color are honoured).";

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Use only cached registry data; fail naming anything that is not cached.
    #[arg(long, global = true)]
    pub offline: bool,

    /// Where registry responses are cached [default: the platform cache
    /// directory, under `warden`].
    #[arg(long, global = true, env = "WARDEN_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Do not read or write the cache.
    #[arg(long, global = true, conflicts_with = "offline")]
    pub no_cache: bool,

    /// Seconds to wait for one registry response.
    #[arg(long, global = true, default_value_t = 30, value_name = "SECONDS")]
    pub timeout: u64,

    /// Requests to the registries at once.
    #[arg(long, global = true, default_value_t = 16, value_name = "N")]
    pub concurrency: usize,

    /// A policy file layered over the user's and the project's `warden.toml`.
    #[arg(long, global = true, value_name = "FILE")]
    pub policy: Option<PathBuf>,

    /// The Sigstore trusted root provenance is verified against (a
    /// `trusted_root.json`) [default: Sigstore's production root, shipped
    /// with warden].
    #[arg(long, global = true, env = "WARDEN_TRUST_ROOT", value_name = "FILE")]
    pub trust_root: Option<PathBuf>,

    /// Output format of reports (`sarif` and `github`: `warden check` only).
    #[arg(long, global = true, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// When to colour the report.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// `warden npm`/`pip`: check and report, but do not run the package manager.
    #[arg(long, global = true)]
    pub dry_run: bool,

    /// `warden npm`/`pip`: go on after warnings without asking.
    #[arg(long, short = 'y', global = true)]
    pub yes: bool,

    /// `warden npm`/`pip`: where each decision is appended as a JSON line.
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        default_value = ".warden/decisions.jsonl"
    )]
    pub decision_log: PathBuf,

    /// Show warden's steps with timings (`-v`), warden's debug (`-vv`),
    /// and the libraries' debug too (`-vvv`).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what the registry publishes about a package: every version with
    /// its publish time, publisher, provenance or Trusted Publisher, and
    /// whether installing it runs code.
    ///
    /// The registry is the one npm or pip would use, read from their own
    /// configuration (`.npmrc`, `npm_config_*`, pip's config files and
    /// `PIP_*`), or given with `--registry` / `--index-url`.
    #[command(
        after_help = "Examples:\n  warden inspect npm:express\n  warden inspect npm:@types/node@20.0.0\n  warden inspect pypi:requests==2.32.3 --format json"
    )]
    Inspect(InspectArgs),

    /// Read local archives (npm `.tgz`, sdists, wheels) and show their
    /// install surface and the findings of the content rules.
    ///
    /// The format is recognised from the bytes, not the file name. Exits 77
    /// when a `deny` finding fires, 69 when an archive could not be read.
    Scan(ScanArgs),

    /// Show what changed in the install surface between two versions:
    /// scripts added, changed or removed, new surface files, a diff of the
    /// changed ones, and dependencies added and removed.
    #[command(
        after_help = "Examples:\n  warden diff npm:left-pad 1.2.0 1.3.0\n  warden diff pypi:requests 2.31.0 2.32.3"
    )]
    Diff(DiffArgs),

    /// Check what an npm command would install, decide by policy, then run
    /// npm pinned to exactly what was checked.
    ///
    /// Everything after `npm` is npm's own command line. `install`, `ci` and
    /// `update` are guarded; other npm commands run straight through.
    #[command(
        after_help = "Examples:\n  warden npm install express\n  warden --dry-run npm ci\n  warden --format json npm install"
    )]
    Npm(GuardArgs),

    /// Check what a pip command would install — without building anything —
    /// decide by policy, then install exactly the checked files.
    ///
    /// Everything after `pip` is pip's own command line (`warden python -m
    /// pip ...` works too). `install`, `download` and `wheel` are guarded;
    /// other pip commands run straight through.
    #[command(
        after_help = "Examples:\n  warden pip install requests\n  warden pip install -r requirements.txt\n  warden --dry-run python -m pip install -r requirements.txt"
    )]
    Pip(GuardArgs),

    /// Judge what a lockfile or requirements file would install, without
    /// installing anything: for CI and code review.
    ///
    /// Takes `package-lock.json`, `npm-shrinkwrap.json` (or the directory
    /// holding one) or a pip requirements file (with or without hashes).
    /// Nothing is installed or built and no package code runs; npm and pip
    /// are asked only for their configuration and, for requirements, pip's
    /// resolver plans from published wheels. Exits 0, 77 or 69 like the
    /// guard.
    #[command(
        after_help = "Examples:\n  warden check package-lock.json\n  warden check requirements.txt --format sarif > warden.sarif\n  warden check . --format github"
    )]
    Check(CheckArgs),

    /// Validate or create the policy file (`warden.toml`), or add an allow
    /// entry to it.
    #[command(subcommand)]
    Policy(PolicyCommand),

    /// Print shell functions that send `npm`, `npx`, `pip`, `pip3` and
    /// `python -m pip` through warden.
    #[command(
        after_help = "Add to your shell's start-up file:\n  bash:       eval \"$(warden shell-init bash)\"        (~/.bashrc)\n  zsh:        eval \"$(warden shell-init zsh)\"         (~/.zshrc)\n  fish:       warden shell-init fish | source        (~/.config/fish/config.fish)\n  PowerShell: warden shell-init powershell | Out-String | Invoke-Expression  ($PROFILE)\nTo undo: remove that line; `warden shell-init --uninstall SHELL` prints what\nremoves the functions from the running shell."
    )]
    ShellInit(ShellInitArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A lockfile, a requirements file, or a directory with a lockfile.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// The npm registry to ask, instead of npm's configured one.
    #[arg(long, value_name = "URL")]
    pub registry: Option<String>,

    /// The Python index to ask, instead of pip's configured one.
    #[arg(long, short = 'i', value_name = "URL")]
    pub index_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct ShellInitArgs {
    #[arg(value_enum)]
    pub shell: Shell,

    /// Print what removes the functions from the running shell instead.
    #[arg(long)]
    pub uninstall: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(Debug, Args)]
pub struct GuardArgs {
    /// The program that runs the package manager (`pip`, or `python -m pip`).
    #[arg(skip)]
    pub program: Vec<String>,

    /// The package manager's own arguments: everything after `npm` or `pip`.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Read the policy in force (user file, project file, `--policy`) and
    /// report any error with its line and column, and expired entries.
    Check,
    /// Write a commented `warden.toml` with every key and its default.
    Init {
        /// Overwrite an existing `warden.toml`.
        #[arg(long)]
        force: bool,
    },
    /// Add an allow entry to the policy file in force (`--policy`, else
    /// the nearest `warden.toml`, else a new one here), keeping its
    /// comments and layout.
    #[command(
        after_help = "Examples:\n  warden policy allow npm:esbuild@0.25.0 --finding install-script-added --reason \"reviewed the postinstall\"\n  warden policy allow pypi:grpcio==1.66.1 --finding sdist-build --reason \"builds from source on musl\" --expires 30d"
    )]
    Allow(AllowArgs),
}

#[derive(Debug, Args)]
pub struct AllowArgs {
    /// `npm:<name>[@<version>]` or `pypi:<name>[==<version>]`; without a
    /// version the entry covers every version.
    #[arg(value_name = "PACKAGE")]
    pub package: String,

    /// A finding code the entry allows (repeat for more) [default: every finding].
    #[arg(long = "finding", value_name = "CODE")]
    pub findings: Vec<String>,

    /// Why this is trusted: read by whoever reviews the entry next.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,

    /// When the entry stops counting: a date (`2027-03-01`) or a time from
    /// today (`30d`, `12w`) [default: the policy's `allow-expiry`, 90 days].
    #[arg(long, value_name = "WHEN")]
    pub expires: Option<String>,

    /// Let the package's install scripts run too.
    #[arg(long)]
    pub scripts: bool,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Archives to read.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// The archive of the release before (one PATH only): what the release
    /// adds to the code that runs on load is judged too
    /// (`runtime-code-added`).
    #[arg(long, value_name = "OLD")]
    pub previous: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// `npm:<name>` or `pypi:<name>`.
    #[arg(value_name = "PACKAGE")]
    pub package: String,
    #[arg(value_name = "FROM")]
    pub from: String,
    #[arg(value_name = "TO")]
    pub to: String,

    /// The npm registry to ask, instead of npm's configured one.
    #[arg(long, value_name = "URL")]
    pub registry: Option<String>,

    /// The Python index to ask, instead of pip's configured one.
    #[arg(long, short = 'i', value_name = "URL")]
    pub index_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// `npm:<name>[@<version or tag>]` or `pypi:<name>[==<version>]`.
    #[arg(value_name = "PACKAGE")]
    pub package: String,

    /// The npm registry to ask, instead of npm's configured one.
    #[arg(long, value_name = "URL")]
    pub registry: Option<String>,

    /// The Python index to ask, instead of pip's configured one.
    #[arg(long, short = 'i', value_name = "URL")]
    pub index_url: Option<String>,

    /// The version the project has now: the history findings judge the
    /// version shown against it [default: the preceding release of the
    /// same major line].
    #[arg(long, value_name = "VERSION")]
    pub from: Option<String>,

    /// Show only the latest N versions.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,

    /// Minimum age of a release, in hours, below which it is too fresh.
    #[arg(long, default_value_t = 48, value_name = "HOURS")]
    pub min_release_age: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// GitHub Actions workflow annotations.
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}
