//! `warden policy check` and `warden policy init`, and loading the policy
//! in force.

use std::fmt::Write as _;
use std::path::PathBuf;

use warden_policy::Policy;

use crate::cli::{GlobalArgs, PolicyCommand};
use crate::exit::{self, Failure};

/// Every finding code warden can report, for validating `[findings]` and
/// allow entries.
pub fn known_codes() -> Vec<String> {
    let mut codes: Vec<String> = warden_rules::RuleSet::builtin()
        .rules()
        .iter()
        .map(|r| r.id.clone())
        .collect();
    codes.extend(warden_rules::SURFACE_CODES.iter().map(|c| (*c).to_owned()));
    codes.extend(warden_history::CODES.iter().map(|c| (*c).to_owned()));
    codes.extend(
        warden_guard::PlanCode::ALL
            .iter()
            .map(|c| c.as_str().to_owned()),
    );
    codes
}

fn user_file() -> Option<PathBuf> {
    std::env::var_os("WARDEN_USER_POLICY")
        .map(PathBuf::from)
        .or_else(|| dirs_config().map(|d| d.join("warden").join("warden.toml")))
}

fn dirs_config() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
}

/// The policy in force for a run.
pub fn load(global: &GlobalArgs) -> Result<Policy, Failure> {
    let codes = known_codes();
    let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    Policy::load(
        user_file().as_deref(),
        &cwd,
        global.policy.as_deref(),
        &codes,
    )
    .map_err(|e| Failure::new(exit::CONFIG, e.to_string()).with_hint(e.hint()))
}

pub fn run(global: &GlobalArgs, command: &PolicyCommand) -> Result<(String, u8), Failure> {
    match command {
        PolicyCommand::Check => {
            let policy = load(global)?;
            let mut out = String::new();
            if policy.files.is_empty() {
                let _ = writeln!(out, "no policy file found: warden's defaults are in force");
            }
            for f in &policy.files {
                let _ = writeln!(out, "ok: {}", f.display());
            }
            let today = jiff::Zoned::now().date();
            for e in policy.expired(today) {
                let _ = writeln!(
                    out,
                    "expired: {} (allow entry for `{}:{}`, expired {}): it no longer counts",
                    e.origin, e.package.ecosystem, e.package.name, e.expires
                );
            }
            Ok((out, exit::OK))
        }
        PolicyCommand::Init { force } => {
            let path = std::env::current_dir()
                .unwrap_or_else(|_| PathBuf::from("."))
                .join("warden.toml");
            if path.exists() && !force {
                return Err(Failure::new(
                    exit::USAGE,
                    format!("`{}` already exists", path.display()),
                )
                .with_hint("edit it, or pass `--force` to replace it with the template"));
            }
            std::fs::write(&path, warden_policy::TEMPLATE).map_err(|e| {
                Failure::new(
                    exit::CONFIG,
                    format!("cannot write `{}`: {e}", path.display()),
                )
            })?;
            Ok((format!("wrote {}\n", path.display()), exit::OK))
        }
    }
}
