//! The `warden` command line.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod artifact;
mod cli;
mod context;
mod diff;
mod exit;
mod history;
mod inspect;
mod policy;
mod scan;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::exit::Failure;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    init_logging(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return report(&Failure::new(
                exit::UNAVAILABLE,
                format!("could not start: {e}"),
            ));
        }
    };
    match runtime.block_on(run(&cli)) {
        Ok((output, code)) => {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(output.as_bytes());
            let _ = stdout.flush();
            ExitCode::from(code)
        }
        Err(failure) => report(&failure),
    }
}

/// Runs the command: its output and exit code, or a failure.
async fn run(cli: &Cli) -> Result<(String, u8), Failure> {
    match &cli.command {
        Command::Scan(args) => Ok(scan::run(args)),
        Command::Inspect(args) => {
            let ctx = context::Context::new(&cli.global)?;
            inspect::run(&ctx, args).await
        }
        Command::Policy(command) => policy::run(&cli.global, command),
        Command::Diff(args) => {
            let ctx = context::Context::new(&cli.global)?;
            diff::run(&ctx, args).await.map(|o| (o, exit::OK))
        }
    }
}

fn report(failure: &Failure) -> ExitCode {
    eprintln!("error: {}", failure.message);
    if let Some(hint) = &failure.hint {
        eprintln!("hint: {hint}");
    }
    failure.exit_code()
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "warden=info,warden_registry=info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("WARDEN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// Every finding code warden can report: content rules, install-surface
    /// findings, history findings.
    fn all_codes() -> Vec<String> {
        crate::policy::known_codes()
    }

    #[test]
    fn finding_codes_are_unique_and_each_has_one_section_in_the_docs() {
        let codes = all_codes();
        let unique: BTreeSet<&String> = codes.iter().collect();
        assert_eq!(unique.len(), codes.len(), "a code is used twice: {codes:?}");
        let doc = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/findings.md"
        ))
        .unwrap();
        for code in &codes {
            let heading = format!("### `{code}`");
            assert_eq!(
                doc.matches(&heading).count(),
                1,
                "docs/findings.md needs exactly one `{heading}`"
            );
        }
    }
}
