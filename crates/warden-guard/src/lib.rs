//! The guard's spine, shared by the npm and pip adapters and the binary.
//!
//! Each adapter turns its command line into a plan and checks every
//! package of it, producing one [`Assessment`] per package. Everything
//! after that is the same for both ecosystems and lives here, once:
//! [`decide`] applies the policy (a pure function of the assessments, the
//! policy and today's date), [`Report`] is what is shown and logged, and
//! [`approved_env`] is the only environment approved code (install
//! scripts, builds) ever runs with.
//!
//! The rules that make warden trustworthy are enforced in [`decide`]: a
//! check that could not complete is `unknown`, never clean; a `deny`
//! anywhere stops the whole plan; install scripts run only for packages
//! with nothing found or an allow entry that says so.

pub mod artifact;
pub mod cache;
mod code;
mod decide;
mod env;
mod error;
pub mod facts;
mod gate;
pub mod git;
pub mod judged;
pub mod provenance;
pub mod release;
mod report;
mod settings;
pub mod signature;
mod tasks;
mod vocab;

pub use code::PlanCode;
pub use decide::{
    DecidedFinding, Decision, PackageDecision, Scripts, Stop, Verdict, allow_scripts, decide,
};
pub use env::{approved_env, is_secret_name};
pub use error::{Error, io};
pub use gate::{Approved, Gate, Phase, Stopped, log_command};
pub use report::{Approval, Outcome, Report, log_lines, policy_digest};
pub use settings::Settings;
pub use tasks::CheckTasks;
pub use vocab::{Assessment, Ecosystem, Finding, Package};

pub use warden_policy::Level;
