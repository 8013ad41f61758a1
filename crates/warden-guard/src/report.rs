//! What a guarded run shows and records: the report, and the decision log
//! lines that say what was decided, who approved it and what happened.

use std::collections::BTreeMap;

use serde::Serialize;
use warden_policy::{Policy, RegistryGaps};

use crate::decide::{Decision, PackageDecision, Stop};
use crate::vocab::Ecosystem;

/// What became of a guarded run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Allowed; the package manager is about to run.
    Allowed,
    /// Allowed, and `--dry-run`: nothing ran.
    DryRun,
    /// `warden check`: judged, and nothing installs.
    Checked,
    /// A package is denied: nothing ran (exit 77).
    Blocked,
    /// Checks could not be completed under `on-error = "deny"` (exit 69).
    Incomplete,
    /// Warnings, and the person asked said no: nothing ran (exit 77).
    Declined,
    /// The package manager ran and succeeded.
    Installed,
    /// The package manager ran and failed with this code.
    Failed { code: u8 },
}

impl Outcome {
    pub fn of_stop(stop: Stop) -> Self {
        match stop {
            Stop::Blocked => Self::Blocked,
            Stop::Incomplete => Self::Incomplete,
        }
    }

    /// The machine-readable name, as in `--format json` and the decision
    /// log (`docs/json.md`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::DryRun => "dry-run",
            Self::Checked => "checked",
            Self::Blocked => "blocked",
            Self::Incomplete => "incomplete",
            Self::Declined => "declined",
            Self::Installed => "installed",
            Self::Failed { .. } => "failed",
        }
    }

    /// One sentence for people, after `warden check` (nothing installs
    /// whatever the outcome).
    pub fn check_sentence(self) -> String {
        match self {
            Self::Blocked => "blocked: a package is denied, and installing this would be refused".to_owned(),
            Self::Incomplete => {
                "checks could not be completed (policy: on-error = deny): installing this would be refused".to_owned()
            }
            other => other.sentence("the package manager"),
        }
    }

    /// One sentence for people.
    pub fn sentence(self, tool: &str) -> String {
        match self {
            Self::Allowed => format!("allowed: running {tool}"),
            Self::DryRun => format!("allowed (dry run: {tool} did not run)"),
            Self::Checked => "allowed: nothing was installed (check only)".to_owned(),
            Self::Blocked => {
                format!("blocked: {tool} did not run and the project's files are unchanged")
            }
            Self::Incomplete => format!(
                "checks could not be completed (policy: on-error = deny): {tool} did not run"
            ),
            Self::Declined => format!("declined at the prompt: {tool} did not run"),
            Self::Installed => format!("installed: {tool} succeeded"),
            Self::Failed { code } => format!("{tool} failed with exit code {code}"),
        }
    }
}

impl Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Who said yes to going on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Approval {
    /// Nothing needed approving (no warnings), or nothing was approved
    /// (blocked, dry run).
    NotNeeded,
    /// A person answered the prompt.
    Prompt,
    /// `--yes`.
    YesFlag,
    /// No terminal to ask, or `CI` set: warnings go on.
    NonInteractive,
}

/// The report of a guarded run, as shown (`--format json`) and logged.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The command line, with credentials redacted.
    pub command: String,
    pub ecosystem: Ecosystem,
    pub packages: Vec<PackageDecision>,
    pub summary: BTreeMap<&'static str, usize>,
    /// What became of the run (`installed`, `blocked`, ...).
    pub outcome: Outcome,
    /// The same in one sentence for people.
    pub message: String,
    /// warden's exit code, once the run has ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<u8>,
    pub approval: Approval,
    /// Allow entries that matched nothing in this run (`file:line`).
    pub unused_allow: Vec<String>,
    /// Allow entries past their `expires` date: they no longer count.
    pub expired_allow: Vec<String>,
    /// What the policy made of the packages' registry gaps.
    #[serde(skip)]
    pub registry_gaps: RegistryGaps,
}

impl Report {
    /// Each registry gap of the plan, with how many packages it concerns.
    pub fn gap_counts(&self) -> BTreeMap<&str, usize> {
        let mut gaps = BTreeMap::new();
        for g in self.packages.iter().flat_map(|p| &p.registry_gaps) {
            *gaps.entry(g.as_str()).or_default() += 1;
        }
        gaps
    }

    /// "N packages: a allowed, b warned, c denied, d unknown."
    pub fn counts(&self) -> String {
        let n = |k: &str| self.summary.get(k).copied().unwrap_or(0);
        format!(
            "{} package{}: {} allowed, {} warned, {} denied, {} unknown.",
            self.packages.len(),
            if self.packages.len() == 1 { "" } else { "s" },
            n("allow"),
            n("warn"),
            n("deny"),
            n("unknown")
        )
    }

    pub fn new(command: String, tool: &str, decision: Decision, result: Outcome) -> Self {
        Self {
            command,
            ecosystem: decision.ecosystem,
            summary: decision.summary(),
            message: result.sentence(tool),
            outcome: result,
            exit_code: None,
            approval: Approval::NotNeeded,
            packages: decision.packages,
            unused_allow: decision.unused_allow,
            expired_allow: decision.expired_allow,
            registry_gaps: decision.registry_gaps,
        }
    }
}

/// `sha256:` of the policy in force, so a log line names the policy that
/// made it.
pub fn policy_digest(policy: &Policy) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(serde_json::to_vec(policy).unwrap_or_default());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// One JSON line per package: what was decided about it, why it was
/// unknown, who approved going on, and what happened (`outcome`, with the
/// package manager's exit code when it failed).
pub fn log_lines(report: &Report, policy_digest: &str, time: &str) -> String {
    let mut lines = String::new();
    for p in &report.packages {
        let line = serde_json::json!({
            "time": time,
            "command": report.command,
            "package": p.package,
            "version": p.version,
            "integrity": p.integrity,
            "publisher": p.publisher,
            "findings": p.findings.iter().map(|f| serde_json::json!({
                "code": f.code,
                "level": f.level,
                "allowed_by": f.allowed_by,
            })).collect::<Vec<_>>(),
            "unknown": p.unknown,
            "verdict": p.verdict,
            "scripts": p.scripts,
            "outcome": report.outcome,
            "exit_code": report.exit_code,
            "approval": report.approval,
            "policy_digest": policy_digest,
        });
        lines.push_str(&line.to_string());
        lines.push('\n');
    }
    lines
}
