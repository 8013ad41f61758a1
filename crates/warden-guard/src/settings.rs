//! What a guarded run takes from the command line and the process.

use std::os::fd::AsFd;

use warden_policy::Policy;
use warden_registry::Environment;

/// The policy and surroundings an adapter's pipeline runs under.
#[derive(Clone, Copy)]
pub struct Settings<'a> {
    pub policy: &'a Policy,
    /// The process environment (approved code gets a filtered copy).
    pub env: &'a Environment,
    /// `--format json`: stdout carries only warden's report.
    pub json_output: bool,
    /// `--dry-run`: check and report, install nothing, build nothing.
    pub dry_run: bool,
}

impl Settings<'_> {
    /// The minimum age of a release, from the policy.
    pub fn min_age(&self) -> jiff::SignedDuration {
        jiff::SignedDuration::from_hours(
            i64::try_from(self.policy.min_release_age_hours).unwrap_or(48),
        )
    }

    /// How long a complete judgement of an unchanged version is used
    /// without its registry document, from the policy.
    pub fn history_max_age(&self) -> jiff::SignedDuration {
        jiff::SignedDuration::from_hours(
            i64::try_from(self.policy.history_max_age_hours).unwrap_or(24),
        )
    }

    /// The environment approved code runs with.
    pub fn approved_env(&self) -> Vec<(String, String)> {
        crate::approved_env(&self.env.vars, &self.policy.hide_env, &self.policy.keep_env)
    }

    /// Where the package manager's own output goes: stdout, except under
    /// `--format json`, where it goes to stderr.
    pub fn tool_stdout(&self) -> std::process::Stdio {
        if self.json_output {
            std::io::stderr()
                .as_fd()
                .try_clone_to_owned()
                .map(std::process::Stdio::from)
                .unwrap_or_else(|_| std::process::Stdio::null())
        } else {
            std::process::Stdio::inherit()
        }
    }
}
