//! The one driver step both guards share after their checks: decide,
//! show the report, ask when a warning needs a yes, and record in the
//! decision log what was decided, who approved it and what happened.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};

use warden_guard::{
    Approval, Approved, Assessment, Ecosystem, Gate, Level, Outcome, PackageDecision, Phase,
    Report, Scripts, Stop, Stopped, Verdict,
};
use warden_policy::{Policy, RegistryGaps};

use crate::cli::{Format, GlobalArgs};
use crate::exit;
use crate::progress::Progress;
use crate::style::{Paint, doc_anchor, why};

/// What a guarded run is for: installing, or `warden check` (judge only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Install,
    Check,
}

/// The binary's side of a guarded run: decides, shows the report, asks
/// when a warning needs a yes, and records what happened.
pub(crate) struct Run<'a> {
    global: &'a GlobalArgs,
    policy: &'a Policy,
    mode: Mode,
    /// The package manager, as shown: `npm`, `pip`, `python -m pip`.
    tool: String,
    /// The command line, credentials redacted.
    command: String,
    /// Where the decision log is.
    log: PathBuf,
    digest: String,
    /// The report of the approval the package manager runs under.
    going: Option<Report>,
    /// The report the run ended with: stopped, or finished.
    ended: Option<Report>,
    /// Packages with warnings a person said yes to (`name@version`): not
    /// asked about again in a later phase of the same run.
    confirmed: BTreeSet<String>,
    progress: Progress,
    paint: Paint,
    /// The HTTP client's counts, for `-v`.
    stats: Option<std::sync::Arc<warden_registry::http::Stats>>,
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
            mode: Mode::Install,
            tool: program.join(" "),
            command: command_line(program, args),
            log: project.join(&global.decision_log),
            digest: warden_guard::policy_digest(policy),
            going: None,
            ended: None,
            confirmed: BTreeSet::new(),
            progress: Progress::new(crate::progress::shows_progress(
                std::io::stderr().is_terminal(),
                global.verbose,
            )),
            paint: Paint::for_stdout(global.color),
            stats: None,
        }
    }

    /// Counts the run's registry requests for `-v`.
    pub fn with_stats(mut self, stats: std::sync::Arc<warden_registry::http::Stats>) -> Self {
        self.stats = Some(stats);
        self
    }

    /// Logs (at `-v`) what the checks cost: documents fetched and from
    /// the cache, archives read and verdicts reused.
    fn log_counts(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let (read, reused) = warden_guard::cache::counts();
        if let Some(s) = &self.stats {
            tracing::info!(
                "registry: {} requests ({} not modified, {} bytes), {} answered from the cache; archives: {read} read, {reused} verdicts from the cache",
                s.requests.load(Relaxed),
                s.not_modified.load(Relaxed),
                s.bytes.load(Relaxed),
                s.from_cache.load(Relaxed),
            );
        } else {
            tracing::info!("archives: {read} read, {reused} verdicts from the cache");
        }
    }

    /// `warden check`: judged, never installed, and shown as `command`.
    pub fn checking(mut self, command: String) -> Self {
        self.mode = Mode::Check;
        self.command = command;
        self
    }

    /// The report the run ended with, once it has.
    pub fn ended(&self) -> Option<&Report> {
        self.ended.as_ref()
    }

    /// The output for the end of the run: under `--format json`, the one
    /// document of the report the run ended with; else `output` (what the
    /// pipeline printed last).
    pub fn final_output(&self, output: String) -> String {
        match (self.global.format, &self.ended) {
            (Format::Json, Some(report)) => json(report),
            _ => output,
        }
    }

    /// The whole report, as `--format` wants it.
    fn render(&self, report: &Report) -> String {
        match self.global.format {
            Format::Human => human(report, self.paint),
            _ => json(report),
        }
    }

    /// Stops the run: recorded, and shown with `note` (what was not done)
    /// in the report's own message, so JSON stays one document. `shown`:
    /// the person has seen the report already (at the prompt).
    fn stop(&mut self, report: &Report, note: &str, code: u8, shown: bool) -> Stopped {
        let mut report = report.clone();
        if !note.is_empty() {
            report.message = format!("{}; {}", report.message, note.trim_end());
        }
        report.exit_code = Some(code);
        // A check decides nothing that installs: it is not logged.
        if self.mode == Mode::Install {
            append_log(&self.log, &report, &self.digest);
        }
        let output = if shown && self.global.format == Format::Human {
            format!("{}\n", report.message)
        } else {
            self.render(&report)
        };
        self.ended = Some(report);
        Stopped { output, code }
    }

    fn print(&mut self, text: &str) {
        self.progress.finish();
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
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
        self.log_counts();
        let decision = warden_guard::decide(
            ecosystem,
            assessments,
            self.policy,
            jiff::Zoned::now().date(),
        );
        tracing::info!(
            "decided on {} package{}: {}",
            decision.packages.len(),
            if decision.packages.len() == 1 {
                ""
            } else {
                "s"
            },
            decision
                .summary()
                .iter()
                .map(|(k, v)| format!("{v} {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let warned: BTreeSet<String> = decision
            .packages
            .iter()
            .filter(|p| matches!(p.verdict, Verdict::Warn | Verdict::Unknown))
            .map(|p| format!("{}@{}", p.package, p.version))
            .collect();
        let needs_yes = decision.needs_confirmation();
        let stop = decision.stop;
        let dry = self.global.dry_run || self.mode == Mode::Check;
        let result = match (stop, dry, self.mode) {
            (Some(stop), _, _) => Outcome::of_stop(stop),
            (None, true, Mode::Check) => Outcome::Checked,
            (None, true, Mode::Install) => Outcome::DryRun,
            (None, false, _) => Outcome::Allowed,
        };
        let mut report = Report::new(self.command.clone(), &self.tool, decision, result);
        if self.mode == Mode::Check {
            report.message = result.check_sentence();
        }
        let approved = Approved {
            allow_scripts: warden_guard::allow_scripts(&report.packages),
        };
        match stop {
            Some(Stop::Blocked) => return Err(self.stop(&report, "", exit::BLOCKED, false)),
            Some(Stop::Incomplete) => {
                return Err(self.stop(&report, "", exit::UNAVAILABLE, false));
            }
            None => {}
        }
        if dry {
            return Err(match phase {
                Phase::Install => self.stop(&report, "", exit::OK, false),
                Phase::Build => self.stop(
                    &report,
                    "dry run: nothing was built, so what the builds would depend on is not known or checked",
                    exit::UNAVAILABLE,
                    false,
                ),
            });
        }
        let mut shown = false;
        if needs_yes {
            report.approval = approval(self.global);
            let new = warned.difference(&self.confirmed).count();
            if report.approval == Approval::Prompt && new > 0 {
                // The report without its last sentence: nothing is decided
                // until the person answers.
                let mut asking = report.clone();
                asking.message = String::new();
                if self.global.format == Format::Human {
                    let text = human(&asking, self.paint);
                    self.print(&text);
                    shown = true;
                } else {
                    // stdout is for the one document at the end.
                    self.progress.finish();
                    eprint!("{}", human(&asking, Paint::new(false)));
                }
                let what = match phase {
                    Phase::Build => "build",
                    Phase::Install => "install",
                };
                if !ask(&prompt(new, what)) {
                    report.outcome = Outcome::Declined;
                    report.message = Outcome::Declined.sentence(&self.tool);
                    let note = match phase {
                        Phase::Build => "nothing was built",
                        Phase::Install => "",
                    };
                    return Err(self.stop(&report, note, exit::BLOCKED, true));
                }
                self.confirmed.extend(warned);
            }
        }
        // A build is followed by the decision on the whole plan: that one
        // is shown and recorded. Under `--format json` it is shown once the
        // package manager has finished, with what became of it.
        if phase == Phase::Install {
            if self.global.format == Format::Human {
                let text = if shown {
                    format!("{}\n", report.message)
                } else {
                    human(&report, self.paint)
                };
                self.print(&text);
            }
            self.going = Some(report);
        }
        Ok(approved)
    }

    fn finished(&mut self, code: u8) {
        if let Some(mut report) = self.going.take() {
            report.outcome = if code == exit::OK {
                Outcome::Installed
            } else {
                Outcome::Failed { code }
            };
            report.message = report.outcome.sentence(&self.tool);
            report.exit_code = Some(code);
            append_log(&self.log, &report, &self.digest);
            self.ended = Some(report);
        }
    }

    fn note(&mut self, line: &str) {
        self.progress.finish();
        eprintln!("warden: {line}");
    }

    fn progress(&mut self, done: usize, total: usize) {
        self.progress.tick(done, total);
    }

    fn step(&mut self, what: &str) {
        self.progress.step(what);
    }
}

/// The question asked on the terminal.
fn prompt(packages: usize, what: &str) -> String {
    if packages == 1 {
        format!("1 package has warnings: {what} anyway? [y/N] ")
    } else {
        format!("{packages} packages have warnings: {what} anyway? [y/N] ")
    }
}

fn json(report: &Report) -> String {
    format!(
        "{}\n",
        serde_json::to_string_pretty(report).unwrap_or_default()
    )
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

/// Asks on the terminal; anything but yes is no.
fn ask(question: &str) -> bool {
    eprint!("{question}");
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

/// The report for people: each package with something to say, each
/// finding with why it fires, its evidence, where it is documented, and
/// the allow entry that would accept it.
fn human(r: &Report, paint: Paint) -> String {
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
        let _ = writeln!(
            out,
            "\n{}  {}",
            paint.bold(&format!("{}@{}", p.package, p.version)),
            paint.verdict(p.verdict)
        );
        for f in shown {
            let by = f
                .allowed_by
                .as_ref()
                .map(|o| format!(" (allowed by {o})"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {} {}  {}{by}",
                paint.level(f.level),
                paint.bold(&f.code),
                f.summary
            );
            if !f.evidence.is_empty() {
                let _ = writeln!(out, "        {}", f.evidence);
            }
            if let Some(why) = why(&f.code) {
                let _ = writeln!(out, "        {}", paint.dim(&format!("why: {why}")));
            }
            let _ = writeln!(
                out,
                "        {}",
                paint.dim(&format!("see {}", doc_anchor(&f.code)))
            );
            if f.allowed_by.is_none() {
                let _ = writeln!(
                    out,
                    "        to allow, add to warden.toml (or run `warden policy allow {} --finding {} --reason TEXT`):",
                    allow_target(r, p),
                    f.code
                );
                for line in f.allow.lines() {
                    let _ = writeln!(out, "          {line}");
                }
            }
        }
        for u in unknown {
            let _ = writeln!(out, "  {} {u}", paint.unknown("unknown:"));
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
    let _ = writeln!(out, "\n{}", r.counts());
    if !r.message.is_empty() {
        let _ = writeln!(out, "{}", paint.bold(&r.message));
    }
    out
}

/// `npm:name@version` or `pypi:name==version`, as `warden policy allow`
/// takes it; the name alone for what is not a release.
fn allow_target(r: &Report, p: &PackageDecision) -> String {
    if !p.version.starts_with(|c: char| c.is_ascii_digit()) {
        return p.package.clone();
    }
    match r.ecosystem {
        Ecosystem::Npm => format!("{}@{}", p.package, p.version),
        Ecosystem::Pypi => format!("{}=={}", p.package, p.version),
    }
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
