//! The one driver step both guards share after their checks: decide,
//! show the report, ask when a warning needs a yes, and record in the
//! decision log what was decided, who approved it and what happened.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};

use warden_guard::{
    Approval, Assessment, Decision, Ecosystem, Level, Outcome, Report, Scripts, Stop,
};
use warden_policy::Policy;

use crate::cli::{Format, GlobalArgs};
use crate::exit;

/// What a run needs to know to show and record its decision.
pub(crate) struct Run<'a> {
    pub global: &'a GlobalArgs,
    pub policy: &'a Policy,
    /// The package manager, as shown: `npm`, `pip`, `python -m pip`.
    pub tool: String,
    /// The command line, credentials redacted.
    pub command: String,
    /// Where the decision log lives (relative paths from here).
    pub project: &'a Path,
}

/// A decision that lets the package manager run: recorded once it has.
pub(crate) struct Going {
    report: Report,
    log: PathBuf,
    digest: String,
}

impl Going {
    /// The packages whose install scripts may run.
    pub fn allow_scripts(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .report
            .packages
            .iter()
            .filter(|p| p.scripts == Scripts::Run)
            .map(|p| p.name.clone())
            .collect();
        names.dedup();
        names
    }

    /// Records what the package manager did.
    pub fn finish(mut self, code: u8) {
        self.report.result = if code == exit::OK {
            Outcome::Installed
        } else {
            Outcome::Failed { code }
        };
        append_log(&self.log, &self.report, &self.digest);
    }
}

/// What to do after the decision.
pub(crate) enum Next {
    /// Stop with this output and exit code (recorded already).
    Stop(String, u8),
    /// Go on: the report is shown; `finish` records the outcome.
    Go(Going),
}

impl Run<'_> {
    pub fn decide(&self, ecosystem: Ecosystem, assessments: &[Assessment]) -> Decision {
        warden_guard::decide(
            ecosystem,
            assessments,
            self.policy,
            jiff::Zoned::now().date(),
        )
    }

    /// Stops when the decision says so, for a dry run, or when a warning
    /// is not confirmed; otherwise shows the report before the tool's own
    /// output and goes on. `dry_run_note` is added to a dry run's report.
    pub fn gate(&self, decision: Decision, dry_run: Option<(&str, u8)>) -> Next {
        let needs_yes = decision.needs_confirmation();
        let result = match (decision.stop, self.global.dry_run) {
            (Some(stop), _) => Outcome::of_stop(stop),
            (None, true) => Outcome::DryRun,
            (None, false) => Outcome::Allowed,
        };
        let stop_code = decision.stop.map(|s| match s {
            Stop::Blocked => exit::BLOCKED,
            Stop::Incomplete => exit::UNAVAILABLE,
        });
        let mut report = Report::new(self.command.clone(), &self.tool, decision, result);
        let log = self.project.join(&self.global.decision_log);
        let digest = warden_guard::policy_digest(self.policy);
        if let Some(code) = stop_code {
            append_log(&log, &report, &digest);
            return Next::Stop(self.render(&report), code);
        }
        if self.global.dry_run {
            append_log(&log, &report, &digest);
            let (note, code) = dry_run.unwrap_or(("", exit::OK));
            return Next::Stop(format!("{}{note}", self.render(&report)), code);
        }
        if needs_yes {
            report.approval = approval(self.global);
            if report.approval == Approval::Prompt && !ask(&self.render(&report)) {
                report.result = Outcome::Declined;
                report.outcome = Outcome::Declined.sentence(&self.tool);
                append_log(&log, &report, &digest);
                return Next::Stop(self.render(&report), exit::BLOCKED);
            }
        }
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(self.render(&report).as_bytes());
        let _ = out.flush();
        Next::Go(Going {
            report,
            log,
            digest,
        })
    }

    fn render(&self, report: &Report) -> String {
        match self.global.format {
            Format::Json => format!(
                "{}\n",
                serde_json::to_string_pretty(report).unwrap_or_default()
            ),
            Format::Human => human(report),
        }
    }
}

/// Who approves going on past warnings: `--yes`, nobody to ask (no
/// terminal, or `CI` set), or the person at the terminal.
fn approval(global: &GlobalArgs) -> Approval {
    if global.yes {
        Approval::YesFlag
    } else if std::env::var_os("CI").is_some() || !std::io::stdin().is_terminal() {
        Approval::NonInteractive
    } else {
        Approval::Prompt
    }
}

/// Asks on the terminal.
fn ask(report: &str) -> bool {
    eprint!("{report}warnings above: install anyway? [y/N] ");
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    matches!(answer.trim(), "y" | "Y" | "yes")
}

fn append_log(path: &Path, report: &Report, digest: &str) {
    let lines = warden_guard::log_lines(report, digest, &jiff::Timestamp::now().to_string());
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        Ok(mut f) => {
            let _ = f.write_all(lines.as_bytes());
        }
        Err(e) => tracing::warn!("decision log {}: {e}", path.display()),
    }
}

fn human(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "warden: {}", r.command);
    for p in &r.packages {
        let shown: Vec<_> = p
            .findings
            .iter()
            .filter(|f| f.level > Level::Allow || f.allowed_by.is_some())
            .collect();
        if shown.is_empty() && p.unknown.is_empty() && p.scripts != Scripts::Skipped {
            continue;
        }
        let _ = writeln!(out, "\n{}@{}  {}", p.package, p.version, p.verdict.as_str());
        for f in shown {
            let by = f
                .allowed_by
                .as_ref()
                .map(|o| format!(" (allowed by {o})"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {:<5} {}  {}{by}",
                f.level.as_str(),
                f.code,
                f.summary
            );
            if !f.evidence.is_empty() {
                let _ = writeln!(out, "        {}", f.evidence);
            }
            if f.allowed_by.is_none() {
                let _ = writeln!(out, "        to allow, add to warden.toml:");
                for line in f.allow.lines() {
                    let _ = writeln!(out, "          {line}");
                }
            }
        }
        for u in &p.unknown {
            let _ = writeln!(out, "  unknown: {u}");
        }
        if p.scripts == Scripts::Skipped {
            let _ = writeln!(
                out,
                "  install scripts skipped: the policy does not allow them for this package"
            );
        }
    }
    for o in &r.expired_allow {
        let _ = writeln!(out, "\nexpired allow entry at {o}: it no longer counts");
    }
    for o in &r.unused_allow {
        let _ = writeln!(
            out,
            "\nunused allow entry at {o}: it matched nothing in this run"
        );
    }
    let s = &r.summary;
    let _ = writeln!(
        out,
        "\n{} packages: {} allowed, {} warned, {} denied, {} unknown. {}",
        r.packages.len(),
        s.get("allow").unwrap_or(&0),
        s.get("warn").unwrap_or(&0),
        s.get("deny").unwrap_or(&0),
        s.get("unknown").unwrap_or(&0),
        r.outcome
    );
    out
}

/// The command line as shown and logged: URLs without their passwords,
/// and the values of credential settings (`--//host/:_authToken=…`)
/// replaced by `****`.
pub(crate) fn command_line(program: &[String], args: &[String]) -> String {
    program
        .iter()
        .chain(args)
        .map(|a| redact_arg(a))
        .collect::<Vec<_>>()
        .join(" ")
}

fn redact_arg(arg: &str) -> String {
    const SECRET_KEYS: &[&str] = &[":_authToken=", ":_auth=", ":_password=", ":username="];
    if let Some(at) = SECRET_KEYS
        .iter()
        .find_map(|k| arg.find(k).map(|i| i + k.len()))
    {
        return format!("{}****", &arg[..at]);
    }
    // A URL anywhere in the argument (`--index-url=…`, `pkg @ https://…`).
    match arg.find("://") {
        Some(i) => {
            let start = arg[..i]
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || "+.-".contains(c)))
                .map_or(0, |j| j + 1);
            let end = arg[i..]
                .find(char::is_whitespace)
                .map_or(arg.len(), |j| i + j);
            match warden_registry::RedactedUrl::parse(&arg[start..end]) {
                Ok(url) => format!("{}{url}{}", &arg[..start], &arg[end..]),
                Err(_) => arg.to_owned(),
            }
        }
        None => arg.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn command_lines_hide_credentials() {
        let args: Vec<String> = [
            "install",
            "--registry=http://user:pw@r.test/npm/",
            "--//r.test/npm/:_authToken=abc123",
            "pkg @ https://u:secret@h.test/p.whl",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let shown = super::command_line(&["npm".to_owned()], &args);
        assert!(
            !shown.contains("pw@") && !shown.contains("abc123") && !shown.contains("secret"),
            "{shown}"
        );
        assert!(shown.contains("--//r.test/npm/:_authToken=****"), "{shown}");
        assert!(
            shown.starts_with("npm install --registry=http://"),
            "{shown}"
        );
    }
}
