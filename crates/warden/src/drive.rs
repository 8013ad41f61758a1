//! The one driver step both guards share after their checks: decide,
//! show the report, ask when a warning needs a yes, and record in the
//! decision log what was decided, who approved it and what happened.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};

use warden_guard::{
    Approval, Approved, Assessment, Ecosystem, Gate, Level, Outcome, Phase, Report, Scripts, Stop,
    Stopped, Verdict,
};
use warden_policy::{Policy, RegistryGaps};

use crate::cli::{Format, GlobalArgs};
use crate::exit;

/// The binary's side of a guarded run: decides, shows the report, asks
/// when a warning needs a yes, and records what happened.
pub(crate) struct Run<'a> {
    global: &'a GlobalArgs,
    policy: &'a Policy,
    /// The package manager, as shown: `npm`, `pip`, `python -m pip`.
    tool: String,
    /// The command line, credentials redacted.
    command: String,
    /// Where the decision log is.
    log: PathBuf,
    digest: String,
    /// The report of the approval the package manager runs under.
    going: Option<Report>,
    /// Packages with warnings a person said yes to (`name@version`): not
    /// asked about again in a later phase of the same run.
    confirmed: BTreeSet<String>,
    progress: Progress,
}

impl<'a> Run<'a> {
    pub fn new(
        global: &'a GlobalArgs,
        policy: &'a Policy,
        program: &[String],
        args: &[String],
        project: &Path,
    ) -> Self {
        Self {
            global,
            policy,
            tool: program.join(" "),
            command: command_line(program, args),
            log: project.join(&global.decision_log),
            digest: warden_guard::policy_digest(policy),
            going: None,
            confirmed: BTreeSet::new(),
            progress: Progress::new(),
        }
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

    /// Stops the run: recorded, and shown with `note` (what was not done)
    /// in the report's own outcome, so JSON stays one document.
    fn stop(&self, report: &Report, note: &str, code: u8) -> Stopped {
        let mut report = report.clone();
        if !note.is_empty() {
            report.outcome = format!("{}; {}", report.outcome, note.trim_end());
        }
        append_log(&self.log, &report, &self.digest);
        Stopped {
            output: self.render(&report),
            code,
        }
    }
}

impl Gate for Run<'_> {
    fn gate(
        &mut self,
        ecosystem: Ecosystem,
        assessments: &[Assessment],
        phase: Phase,
    ) -> Result<Approved, Stopped> {
        self.progress.finish();
        let decision = warden_guard::decide(
            ecosystem,
            assessments,
            self.policy,
            jiff::Zoned::now().date(),
        );
        let warned: BTreeSet<String> = decision
            .packages
            .iter()
            .filter(|p| matches!(p.verdict, Verdict::Warn | Verdict::Unknown))
            .map(|p| format!("{}@{}", p.package, p.version))
            .collect();
        let needs_yes = decision.needs_confirmation();
        let stop = decision.stop;
        let result = match (stop, self.global.dry_run) {
            (Some(stop), _) => Outcome::of_stop(stop),
            (None, true) => Outcome::DryRun,
            (None, false) => Outcome::Allowed,
        };
        let mut report = Report::new(self.command.clone(), &self.tool, decision, result);
        let approved = Approved {
            allow_scripts: warden_guard::allow_scripts(&report.packages),
        };
        match stop {
            Some(Stop::Blocked) => return Err(self.stop(&report, "", exit::BLOCKED)),
            Some(Stop::Incomplete) => return Err(self.stop(&report, "", exit::UNAVAILABLE)),
            None => {}
        }
        if self.global.dry_run {
            return Err(match phase {
                Phase::Install => self.stop(&report, "", exit::OK),
                Phase::Build => self.stop(
                    &report,
                    "dry run: nothing was built, so what the builds would depend on is not known or checked",
                    exit::UNAVAILABLE,
                ),
            });
        }
        if needs_yes {
            report.approval = approval(self.global);
            let new: Vec<&String> = warned.difference(&self.confirmed).collect();
            if report.approval == Approval::Prompt && !new.is_empty() {
                if !ask(&self.render(&report)) {
                    report.result = Outcome::Declined;
                    report.outcome = Outcome::Declined.sentence(&self.tool);
                    let note = match phase {
                        Phase::Build => "nothing was built",
                        Phase::Install => "",
                    };
                    return Err(self.stop(&report, note, exit::BLOCKED));
                }
                self.confirmed.extend(warned);
            }
        }
        // A build is followed by the decision on the whole plan: that one
        // is shown and recorded.
        if phase == Phase::Install {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(self.render(&report).as_bytes());
            let _ = out.flush();
            self.going = Some(report);
        }
        Ok(approved)
    }

    fn finished(&mut self, code: u8) {
        if let Some(mut report) = self.going.take() {
            report.result = if code == exit::OK {
                Outcome::Installed
            } else {
                Outcome::Failed { code }
            };
            append_log(&self.log, &report, &self.digest);
        }
    }

    fn note(&mut self, line: &str) {
        self.progress.finish();
        eprintln!("warden: {line}");
    }

    fn progress(&mut self, done: usize, total: usize) {
        self.progress.tick(done, total);
    }
}

/// A one-line progress count on stderr, shown only on a terminal and only
/// once checking has taken more than a moment.
struct Progress {
    started: std::time::Instant,
    shown: bool,
    enabled: bool,
}

impl Progress {
    fn new() -> Self {
        Self {
            started: std::time::Instant::now(),
            shown: false,
            enabled: std::io::stderr().is_terminal(),
        }
    }

    fn tick(&mut self, done: usize, total: usize) {
        if self.enabled && self.started.elapsed() > std::time::Duration::from_millis(800) {
            self.shown = true;
            eprint!("\rwarden: checked {done}/{total} packages");
        }
    }

    fn finish(&mut self) {
        if self.shown {
            eprintln!();
            self.shown = false;
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
        let skipped = p.scripts == Scripts::Skipped && r.ecosystem.has_script_step();
        // What the registry publishes for no package is said once, below.
        let unknown: Vec<&String> = p
            .unknown
            .iter()
            .filter(|u| !p.registry_gaps.contains(u))
            .collect();
        if shown.is_empty() && unknown.is_empty() && !skipped {
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
        for u in unknown {
            let _ = writeln!(out, "  unknown: {u}");
        }
        if skipped {
            let _ = writeln!(
                out,
                "  install scripts skipped: the policy does not allow them for this package"
            );
        }
    }
    registry_gaps(&mut out, r);
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

/// Checks the registry gives no facts for, each said once with how many
/// packages it concerns and what the policy makes of it.
fn registry_gaps(out: &mut String, r: &Report) {
    let gaps = r.gap_counts();
    if gaps.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "
not checked: the registry publishes nothing for these checks, for any version"
    );
    for (gap, n) in gaps {
        let _ = writeln!(
            out,
            "  {gap} ({n} package{})",
            if n == 1 { "" } else { "s" }
        );
    }
    if r.registry_gaps == RegistryGaps::Unknown {
        let _ = writeln!(
            out,
            "  each counts as unknown (policy: registry-gaps = \"unknown\"); to install without these checks on this registry, add to warden.toml:\n    [settings]\n    registry-gaps = \"note\""
        );
    } else {
        let _ = writeln!(
            out,
            "  accepted as not checked (policy: registry-gaps = \"note\")"
        );
    }
}

/// The command line as shown and logged, credentials hidden.
fn command_line(program: &[String], args: &[String]) -> String {
    warden_registry::redact_text(
        &program
            .iter()
            .chain(args)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" "),
    )
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
