//! The least a guard can do on a warm run, for `scripts/bench-limit`: read
//! the lockfile, then for every registry package its cached document
//! (parsed into warden's model) and its cached archive verdict. No check,
//! no request, no report: the floor warden's checks alone are compared
//! with.
//!
//! ```text
//! cargo build --release -p warden --example bench_limit
//! target/release/examples/bench_limit <project> <warden cache dir> <npm registry URL>
//! ```

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;

use warden_archive::Expected;
use warden_guard::cache::{read_verdict, verdict_path};
use warden_registry::{Environment, HttpClient, HttpOptions, NpmClient, NpmConfig};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [project, cache, registry] = args.as_slice() else {
        eprintln!("usage: bench_limit <project> <warden cache dir> <npm registry URL>");
        return ExitCode::from(64);
    };
    let cache = PathBuf::from(cache);
    let lock = PathBuf::from(project).join("package-lock.json");
    let plan = match std::fs::read(&lock)
        .map_err(|e| e.to_string())
        .and_then(|b| warden_npm::parse_lockfile(&lock, &b).map_err(|e| e.to_string()))
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{}: {e}", lock.display());
            return ExitCode::from(66);
        }
    };
    let http = HttpClient::new(HttpOptions {
        offline: true,
        cache_dir: Some(cache.clone()),
        ..HttpOptions::default()
    });
    let config = NpmConfig::discover(
        &Environment::from_process(),
        &[("registry".to_owned(), registry.clone())],
        "npm",
    );
    let (http, config) = match (http, config) {
        (Ok(h), Ok(c)) => (h, c),
        (Err(e), _) => {
            eprintln!("{e}");
            return ExitCode::from(70);
        }
        (_, Err(e)) => {
            eprintln!("{e}");
            return ExitCode::from(70);
        }
    };
    let client = NpmClient::new(http, config);
    let mut tasks = tokio::task::JoinSet::new();
    for p in plan {
        let client = client.clone();
        let cache = cache.clone();
        tasks.spawn(async move {
            let document = client.packument(&p.name).await.is_ok();
            let verdict = p
                .integrity
                .map(Expected::Sri)
                .and_then(|e| verdict_path(Some(&cache), &e))
                .and_then(|path| read_verdict(&path))
                .is_some();
            (document, verdict)
        });
    }
    let (mut documents, mut verdicts, mut total) = (0, 0, 0);
    while let Some(Ok((d, v))) = tasks.join_next().await {
        total += 1;
        documents += usize::from(d);
        verdicts += usize::from(v);
    }
    println!("{total} packages: {documents} cached documents, {verdicts} cached verdicts read");
    ExitCode::SUCCESS
}
