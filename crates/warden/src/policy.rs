//! `warden policy check` and `warden policy init`, and loading the policy
//! in force.

use std::fmt::Write as _;
use std::path::PathBuf;

use warden_policy::Policy;

use crate::cli::{AllowArgs, GlobalArgs, PolicyCommand};
use crate::exit::{self, Failure};

/// Every finding code warden can report, for validating `[findings]` and
/// allow entries.
pub fn known_codes() -> Vec<String> {
    let mut codes: Vec<String> = warden_rules::builtin_codes().map(str::to_owned).collect();
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
    load_with(global.policy.as_deref())
}

/// The user's and the project's policy, and `explicit` over them.
fn load_with(explicit: Option<&std::path::Path>) -> Result<Policy, Failure> {
    let codes = known_codes();
    let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    Policy::load(user_file().as_deref(), &cwd, explicit, &codes)
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
        PolicyCommand::Allow(args) => allow(global, args),
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

/// The file `policy allow` writes to: `--policy`, else the nearest
/// `warden.toml` at or above here, else a new `warden.toml` here.
fn file_in_force(global: &GlobalArgs, cwd: &std::path::Path) -> PathBuf {
    if let Some(p) = &global.policy {
        return p.clone();
    }
    cwd.ancestors()
        .map(|d| d.join("warden.toml"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| cwd.join("warden.toml"))
}

/// `npm:name@1.2.3` or `pypi:name==1.2.3` into the entry's package and
/// version.
fn split_package(spec: &str) -> Result<(String, Option<String>), String> {
    let (ecosystem, rest) = spec
        .split_once(':')
        .ok_or_else(|| format!("`{spec}`: name the ecosystem, `npm:{spec}` or `pypi:{spec}`"))?;
    let (name, version) = match ecosystem {
        // A scope's `@` starts the name; the version's `@` follows it.
        "npm" => match rest.char_indices().skip(1).find(|(_, c)| *c == '@') {
            Some((i, _)) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        },
        "pypi" => match rest.split_once("==") {
            Some((n, v)) => (n, Some(v)),
            None => (rest, None),
        },
        other => return Err(format!("`{other}`: the ecosystem is `npm` or `pypi`")),
    };
    if name.trim().is_empty() || version.is_some_and(|v| v.trim().is_empty()) {
        return Err(format!("`{spec}`: a name, and a version after `@` or `==`"));
    }
    Ok((
        format!("{ecosystem}:{}", name.trim()),
        version.map(|v| v.trim().to_owned()),
    ))
}

/// `--expires`: a date, or a time from `today` in days or weeks.
fn expiry(
    given: Option<&str>,
    default_days: i64,
    today: jiff::civil::Date,
) -> Result<jiff::civil::Date, String> {
    let days = match given {
        None => default_days,
        Some(text) => {
            if let Ok(date) = text.parse::<jiff::civil::Date>() {
                return Ok(date);
            }
            let (n, unit) = text.split_at(
                text.find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(text.len()),
            );
            let n: i64 = n.parse().map_err(|_| {
                format!("`{text}`: a date (2027-03-01) or days or weeks (90d, 12w)")
            })?;
            match unit {
                "d" => n,
                "w" => n.saturating_mul(7),
                _ => return Err(format!("`{text}`: the unit is `d` or `w`")),
            }
        }
    };
    today
        .checked_add(jiff::Span::new().days(days.clamp(0, 3660)))
        .map_err(|e| e.to_string())
}

/// `warden policy allow`: adds an `[[allow]]` entry to the policy file in
/// force, keeping the file's comments and layout, and checks the result
/// before writing it.
fn allow(global: &GlobalArgs, args: &AllowArgs) -> Result<(String, u8), Failure> {
    let usage = |m: String| Failure::new(exit::USAGE, m);
    let cwd = std::env::current_dir().map_err(|e| usage(e.to_string()))?;
    let (package, version) = split_package(&args.package).map_err(usage)?;
    if args.reason.trim().is_empty() {
        return Err(usage(
            "`--reason` says why this is trusted; it cannot be empty".into(),
        ));
    }
    let codes = known_codes();
    if let Some(bad) = args.findings.iter().find(|f| !codes.contains(f)) {
        return Err(usage(format!("`{bad}` is not a finding code"))
            .with_hint("docs/findings.md lists every code"));
    }
    // The policy in force gives the default expiry, and must be valid; a
    // `--policy` file that is not there yet is made.
    let path = file_in_force(global, &cwd);
    let policy = load_with(global.policy.as_deref().filter(|p| p.exists()))?;
    let today = jiff::Zoned::now().date();
    let expires =
        expiry(args.expires.as_deref(), policy.allow_expiry_days, today).map_err(usage)?;
    if expires < today {
        return Err(usage(format!("`--expires {expires}` is in the past")));
    }
    let before = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(Failure::new(
                exit::CONFIG,
                format!("cannot read `{}`: {e}", path.display()),
            ));
        }
    };
    let mut doc: toml_edit::DocumentMut = before
        .parse()
        .map_err(|e| Failure::new(exit::CONFIG, format!("`{}`: {e}", path.display())))?;
    let mut entry = toml_edit::Table::new();
    entry["package"] = toml_edit::value(package.as_str());
    if let Some(v) = &version {
        entry["version"] = toml_edit::value(v.as_str());
    }
    if !args.findings.is_empty() {
        let mut list = toml_edit::Array::new();
        for f in &args.findings {
            list.push(f.as_str());
        }
        entry["findings"] = toml_edit::value(list);
    }
    if args.scripts {
        entry["scripts"] = toml_edit::value(true);
    }
    entry["reason"] = toml_edit::value(args.reason.trim());
    entry["expires"] = toml_edit::value(expires.to_string());
    let entries = doc
        .entry("allow")
        .or_insert_with(|| toml_edit::Item::ArrayOfTables(toml_edit::ArrayOfTables::new()));
    let Some(entries) = entries.as_array_of_tables_mut() else {
        return Err(Failure::new(
            exit::CONFIG,
            format!(
                "`{}`: `allow` is not a list of `[[allow]]` tables",
                path.display()
            ),
        ));
    };
    entries.push(entry);
    let after = doc.to_string();
    // The new file must be a policy warden accepts before it replaces the old.
    let code_refs: Vec<&str> = codes.iter().map(String::as_str).collect();
    let mut check = Policy::default();
    check
        .layer(&path, &after, &code_refs)
        .map_err(|e| Failure::new(exit::CONFIG, e.to_string()).with_hint(e.hint()))?;
    let line = after
        .match_indices("[[allow]]")
        .last()
        .map_or(1, |(i, _)| after[..i].matches('\n').count() + 1);
    std::fs::write(&path, &after).map_err(|e| {
        Failure::new(
            exit::CONFIG,
            format!("cannot write `{}`: {e}", path.display()),
        )
    })?;
    let what = match &version {
        Some(v) => format!("{package} {v}"),
        None => format!("{package} (every version)"),
    };
    Ok((
        format!(
            "wrote an allow entry for {what} to {}:{line}, expiring {expires}\n",
            path.display()
        ),
        exit::OK,
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn package_specs_split_into_name_and_version() {
        assert_eq!(
            split_package("npm:@scope/x@1.2.3").unwrap(),
            ("npm:@scope/x".to_owned(), Some("1.2.3".to_owned()))
        );
        assert_eq!(
            split_package("npm:@scope/x").unwrap(),
            ("npm:@scope/x".to_owned(), None)
        );
        assert_eq!(
            split_package("pypi:Requests==2.32.3").unwrap(),
            ("pypi:Requests".to_owned(), Some("2.32.3".to_owned()))
        );
        assert!(split_package("left-pad").is_err());
        assert!(split_package("cargo:x").is_err());
        assert!(split_package("npm:x@").is_err());
    }

    #[test]
    fn expiry_is_a_date_or_a_time_from_today() {
        let today: jiff::civil::Date = "2026-12-01".parse().unwrap();
        assert_eq!(expiry(None, 90, today).unwrap().to_string(), "2027-03-01");
        assert_eq!(
            expiry(Some("30d"), 90, today).unwrap().to_string(),
            "2026-12-31"
        );
        assert_eq!(
            expiry(Some("2w"), 90, today).unwrap().to_string(),
            "2026-12-15"
        );
        assert_eq!(
            expiry(Some("2027-06-30"), 90, today).unwrap().to_string(),
            "2027-06-30"
        );
        assert!(expiry(Some("3 months"), 90, today).is_err());
    }
}
