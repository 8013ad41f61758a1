//! `warden npm` and `warden pip`: the one short driver. Each adapter owns
//! its pipeline (request, plan, checks, install); the binary loads the
//! policy, hands the adapter its settings and a [`Run`] that decides,
//! shows, asks and records, and turns the result into an exit code.

use crate::cli::{GlobalArgs, GuardArgs};
use crate::context::Context;
use crate::drive::Run;
use crate::exit::Failure;

/// The policy in force and the project directory a guarded run starts from.
fn start(global: &GlobalArgs) -> Result<(warden_policy::Policy, std::path::PathBuf), Failure> {
    let policy = crate::policy::load(global)?;
    let cwd =
        std::env::current_dir().map_err(|e| Failure::new(crate::exit::USAGE, e.to_string()))?;
    Ok((policy, cwd))
}

pub async fn npm(
    ctx: &Context,
    global: &GlobalArgs,
    args: &GuardArgs,
) -> Result<(String, u8), Failure> {
    let (policy, cwd) = start(global)?;
    let mut run = Run::new(global, &policy, &["npm".to_owned()], &args.args, &cwd)
        .with_stats(ctx.http.stats.clone());
    let (output, code) =
        warden_npm::guard::run(&args.args, &ctx.http, ctx.settings(&policy), &mut run).await?;
    Ok((run.final_output(output), code))
}

pub async fn pip(
    ctx: &Context,
    global: &GlobalArgs,
    args: &GuardArgs,
) -> Result<(String, u8), Failure> {
    let (policy, cwd) = start(global)?;
    let mut run = Run::new(global, &policy, &args.program, &args.args, &cwd)
        .with_stats(ctx.http.stats.clone());
    let settings = ctx.settings(&policy);
    let (output, code) =
        warden_pip::guard::run(&args.program, &args.args, &ctx.http, settings, &mut run).await?;
    Ok((run.final_output(output), code))
}
