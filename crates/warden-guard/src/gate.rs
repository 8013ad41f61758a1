//! How an adapter's pipeline hands its assessments to the binary: the
//! binary decides, shows, asks and records; libraries never print.

use crate::vocab::{Assessment, Ecosystem};

/// Where in the pipeline a decision is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before building (an sdist, a project, a VCS checkout): every package
    /// known so far is judged, and nothing builds unless all are allowed.
    Build,
    /// Before the package manager installs the whole checked plan.
    Install,
}

/// The package manager may run; these packages' install scripts may run.
#[derive(Debug, Clone, Default)]
pub struct Approved {
    pub allow_scripts: Vec<String>,
}

/// The package manager must not run: the report and the exit code
/// (77 blocked or declined, 69 incomplete, 0 for a dry run).
#[derive(Debug, Clone)]
pub struct Stopped {
    pub output: String,
    pub code: u8,
}

/// What the binary gives an adapter's pipeline: the decision and the
/// conversation with the user.
pub trait Gate {
    /// Decides on `assessments` (all that is known of the plan), shows the
    /// report and asks when a warning needs a yes.
    fn gate(
        &mut self,
        ecosystem: Ecosystem,
        assessments: &[Assessment],
        phase: Phase,
    ) -> Result<Approved, Stopped>;

    /// Records what the package manager did after the last approval.
    fn finished(&mut self, code: u8);

    /// Tells the user something the pipeline is about to do.
    fn note(&mut self, line: &str);

    /// `done` of `total` packages checked.
    fn progress(&mut self, _done: usize, _total: usize) {}

    /// The pipeline starts a step (planning, checking, building,
    /// installing): shown as progress on a terminal and, with `-v`, logged
    /// with its timing.
    fn step(&mut self, _what: &str) {}
}

/// Logs (at `-v`) the command line of a package manager warden is about to
/// start, with credentials redacted.
pub fn log_command(cmd: &std::process::Command) {
    let line: Vec<String> = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    tracing::info!("running: {}", warden_registry::redact_text(&line.join(" ")));
}
