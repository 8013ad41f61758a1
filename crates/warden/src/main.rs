//! The `warden` command line.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod check;
mod cli;
mod context;
mod diff;
mod drive;
mod exit;
mod guard;
mod inspect;
mod policy;
mod progress;
mod scan;
mod shell;
mod style;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use tokio::signal::unix::SignalKind;

use crate::cli::{Cli, Command, Format};
use crate::exit::Failure;

fn main() -> ExitCode {
    // Everything after `npm` is npm's own command line: clap never sees it,
    // so npm flags that share a name with warden's stay npm's.
    let (argv, tool_program, tool_args) = split_tool_args(std::env::args_os().collect());
    let cli = match Cli::try_parse_from(argv) {
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
    let mut cli = cli;
    if let Command::Npm(args) | Command::Pip(args) = &mut cli.command {
        args.program = tool_program;
        args.args = tool_args;
    }
    let format = cli.global.format;
    if matches!(format, Format::Sarif | Format::Github) && !matches!(cli.command, Command::Check(_))
    {
        return report(
            &Failure::new(
                exit::USAGE,
                "`--format sarif` and `--format github` are for `warden check`",
            ),
            Format::Human,
        );
    }
    init_logging(cli.global.verbose, cli.global.color);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return report(
                &Failure::new(exit::UNAVAILABLE, format!("could not start: {e}")),
                format,
            );
        }
    };
    // An interrupt ends the run where it is: dropping it interrupts a
    // running package manager and puts the project's files back.
    let outcome = runtime.block_on(async {
        // Registered before anything starts, so no interrupt can end warden
        // without the unwinding that cleans up after it.
        let Ok(mut interrupt) = tokio::signal::unix::signal(SignalKind::interrupt()) else {
            return run(&cli).await;
        };
        tokio::select! {
            biased;
            result = run(&cli) => result,
            _ = interrupt.recv() => Err(Failure::new(
                exit::INTERRUPTED,
                "interrupted: warden stopped, and the project's files are as they were",
            )),
        }
    });
    match outcome {
        Ok((output, code)) => {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(output.as_bytes());
            let _ = stdout.flush();
            ExitCode::from(code)
        }
        Err(failure) => report(&failure, format),
    }
}

/// Runs the command: its output and exit code, or a failure.
async fn run(cli: &Cli) -> Result<(String, u8), Failure> {
    match &cli.command {
        Command::Scan(args) => scan::run(args, cli.global.format),
        Command::Inspect(args) => {
            let ctx = context::Context::new(&cli.global)?;
            inspect::run(&ctx, args, cli.global.format).await
        }
        Command::Policy(command) => policy::run(&cli.global, command),
        Command::ShellInit(args) => Ok((shell::init(args), exit::OK)),
        Command::Check(args) => {
            let ctx = context::Context::new(&cli.global)?.checking();
            check::run(&ctx, &cli.global, args).await
        }
        Command::Pip(args) => {
            let ctx = context::Context::new(&cli.global)?;
            guard::pip(&ctx, &cli.global, args).await
        }
        Command::Npm(args) => {
            let ctx = context::Context::new(&cli.global)?;
            guard::npm(&ctx, &cli.global, args).await
        }
        Command::Diff(args) => {
            let ctx = context::Context::new(&cli.global)?;
            diff::run(&ctx, args, cli.global.format)
                .await
                .map(|o| (o, exit::OK))
        }
    }
}

/// warden's options that take a value, to find where the tool's command
/// line starts.
const VALUE_OPTIONS: &[&str] = &[
    "--cache-dir",
    "--timeout",
    "--concurrency",
    "--policy",
    "--format",
    "--decision-log",
    "--color",
];

/// Splits `warden [options] npm <args>` (or `pip`, `npx`, `python -m pip`)
/// into warden's part, ending with the subcommand, and the tool's: the
/// program that runs the tool and its arguments.
fn split_tool_args(
    argv: Vec<std::ffi::OsString>,
) -> (Vec<std::ffi::OsString>, Vec<String>, Vec<String>) {
    let text: Vec<String> = argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut i = 1;
    while i < argv.len() {
        let a = text[i].as_str();
        let head = |sub: &str| {
            let mut h = argv[..i].to_vec();
            h.push(sub.into());
            h
        };
        match a {
            "npm" => return (head("npm"), vec!["npm".into()], text[i + 1..].to_vec()),
            // `warden npx pkg` is `warden npm exec -- pkg`.
            "npx" => {
                return (
                    head("npm"),
                    vec!["npm".into()],
                    warden_npm::npx_to_exec(&text[i + 1..]),
                );
            }
            "pip" | "pip3" => return (head("pip"), vec![a.to_owned()], text[i + 1..].to_vec()),
            "python" | "python3"
                if text.get(i + 1).map(String::as_str) == Some("-m")
                    && matches!(text.get(i + 2).map(String::as_str), Some("pip" | "pip3")) =>
            {
                return (
                    head("pip"),
                    vec![a.to_owned(), "-m".into(), "pip".into()],
                    text[i + 3..].to_vec(),
                );
            }
            _ => {}
        }
        if !a.starts_with('-') {
            break;
        }
        if VALUE_OPTIONS.contains(&a) {
            i += 1;
        }
        i += 1;
    }
    (argv, Vec::new(), Vec::new())
}

/// Says why warden stopped, on stderr; under `--format json` (or
/// `sarif`) stdout still gets one document that says so.
fn report(failure: &Failure, format: Format) -> ExitCode {
    eprintln!("error: {}", failure.message);
    if let Some(hint) = &failure.hint {
        eprintln!("hint: {hint}");
    }
    let code = failure.exit_code();
    let document = match format {
        Format::Json => Some(failure.json()),
        Format::Sarif => Some(check::sarif_failure(failure)),
        Format::Human | Format::Github => None,
    };
    if let Some(document) = document {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(document.as_bytes());
        let _ = stdout.flush();
    }
    code
}

/// warden's own crates, for the log filter.
const WARDEN_CRATES: &[&str] = &[
    "warden",
    "warden_archive",
    "warden_guard",
    "warden_history",
    "warden_npm",
    "warden_pip",
    "warden_policy",
    "warden_registry",
    "warden_rules",
];

/// The log filter for `-v` (warden's steps), `-vv` (warden's debug) and
/// `-vvv` (every library's debug too).
fn log_filter(verbose: u8) -> String {
    let ours = |level: &str| {
        WARDEN_CRATES
            .iter()
            .map(|c| format!("{c}={level}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    match verbose {
        0 => "warn".to_owned(),
        1 => format!("warn,{}", ours("info")),
        2 => format!("warn,{}", ours("debug")),
        _ => "debug".to_owned(),
    }
}

fn init_logging(verbose: u8, color: cli::ColorChoice) {
    use std::io::IsTerminal;
    let level = log_filter(verbose);
    let var = |k: &str| std::env::var(k).ok();
    let ansi = style::colour_wanted(
        color,
        var("NO_COLOR").as_deref(),
        var("CLICOLOR_FORCE").as_deref(),
        var("TERM").as_deref(),
        std::io::stderr().is_terminal(),
    );
    let filter = tracing_subscriber::EnvFilter::try_from_env("WARDEN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(verbose >= 2)
        .with_ansi(ansi)
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
    fn one_v_logs_only_warden_and_three_log_every_library() {
        let one = super::log_filter(1);
        assert!(
            one.contains("warden_npm=info") && !one.contains("debug"),
            "{one}"
        );
        assert!(!one.contains("reqwest") && !one.contains("h2"), "{one}");
        let two = super::log_filter(2);
        assert!(
            two.starts_with("warn,") && two.contains("warden_pip=debug"),
            "{two}"
        );
        assert_eq!(super::log_filter(3), "debug");
        assert_eq!(super::log_filter(0), "warn");
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
