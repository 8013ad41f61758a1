//! `warden scan`: local archives, their install surface and findings.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use warden_archive::{Limits, Runs};
use warden_rules::Analysis;

use crate::cli::{Format, ScanArgs};
use crate::exit::{self, Failure};

/// Largest file `scan` reads.
const MAX_FILE: u64 = 1024 * 1024 * 1024;

#[derive(Serialize)]
struct Scanned {
    path: String,
    #[serde(flatten)]
    analysis: Option<Analysis>,
    verdict: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct ScanReport {
    artifacts: Vec<Scanned>,
    summary: Summary,
}

#[derive(Serialize)]
struct Summary {
    artifacts: usize,
    deny: usize,
    warn: usize,
    errors: usize,
}

/// Runs the scan; returns the report and the exit code it calls for.
pub fn run(args: &ScanArgs, format: Format) -> Result<(String, u8), Failure> {
    let limits = Limits::default();
    let mut artifacts: Vec<Scanned> = args.paths.iter().map(|p| scan_one(p, &limits)).collect();
    if let Some(previous) = &args.previous {
        let [now] = artifacts.as_mut_slice() else {
            return Err(Failure::new(
                exit::USAGE,
                "--previous compares one archive with the release before it: give one PATH",
            ));
        };
        compare(now, scan_one(previous, &limits));
    }
    let count = |v: &str| artifacts.iter().filter(|a| a.verdict == v).count();
    let summary = Summary {
        artifacts: artifacts.len(),
        deny: count("deny"),
        warn: count("warn"),
        errors: count("error"),
    };
    // A block outranks an incomplete check: either way nothing is clean.
    let code = if summary.deny > 0 {
        exit::BLOCKED
    } else if summary.errors > 0 {
        exit::UNAVAILABLE
    } else {
        exit::OK
    };
    let report = ScanReport { artifacts, summary };
    let text = match format {
        Format::Json | Format::Sarif | Format::Github => format!(
            "{}\n",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ),
        Format::Human => human(&report),
    };
    Ok((text, code))
}

/// Adds to `now` what it runs on load that `before`, the release before
/// it, did not (`runtime-code-added`). An earlier archive that cannot be
/// read leaves the comparison undone: an error, not a pass.
fn compare(now: &mut Scanned, before: Scanned) {
    let (Some(analysis), Some(earlier)) = (now.analysis.as_mut(), before.analysis) else {
        if let Some(e) = before.error {
            now.verdict = "error";
            now.error = Some(format!("the release before could not be read: {e}"));
        }
        return;
    };
    let label = |path: &str| {
        Path::new(path)
            .file_name()
            .map_or_else(|| path.to_owned(), |n| n.to_string_lossy().into_owned())
    };
    warden_guard::release::add_to(analysis, &earlier, &label(&now.path), &label(&before.path));
    now.verdict = analysis.level().as_str();
}

fn scan_one(path: &Path, limits: &Limits) -> Scanned {
    let shown = path.display().to_string();
    let failed = |error: String| Scanned {
        path: shown.clone(),
        analysis: None,
        verdict: "error",
        error: Some(error),
    };
    match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_FILE => {
            return failed(format!("{shown}: larger than the {MAX_FILE}-byte limit"));
        }
        Ok(_) => {}
        Err(e) => return failed(format!("{shown}: {e}")),
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return failed(format!("{shown}: {e}")),
    };
    match warden_rules::analyze(&shown, &bytes, None, None, limits) {
        Ok(analysis) => Scanned {
            path: shown,
            verdict: analysis.level().as_str(),
            analysis: Some(analysis),
            error: None,
        },
        Err(e) => failed(e.to_string()),
    }
}

pub fn runs_label(runs: Runs) -> &'static str {
    match runs {
        Runs::Install => "at install",
        Runs::Build => "at build",
        Runs::Startup => "at every Python start",
        Runs::SourceInstall => "for git/file installs",
        Runs::Command => "when invoked",
        Runs::Import => "on load",
        Runs::Module => "when that module is imported",
        Runs::Never => "",
    }
}

/// The surface and findings of one analysis, indented, for people.
pub fn describe(out: &mut String, analysis: &Analysis) {
    let s = &analysis.surface;
    if s.items.is_empty() {
        let _ = writeln!(
            out,
            "  install surface: nothing runs at install or start-up"
        );
    } else {
        let _ = writeln!(out, "  install surface:");
        for item in &s.items {
            let place = match item.line {
                Some(l) => format!("{}:{l}", item.file),
                None => item.file.clone(),
            };
            let when = runs_label(item.runs);
            let known = item
                .known
                .map(|k| format!(" [known: {k}]"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "    {:<28} {place}  {}{}{known}",
                item.kind,
                item.detail,
                if when.is_empty() {
                    String::new()
                } else {
                    format!(" ({when})")
                }
            );
        }
    }
    if analysis.findings.is_empty() {
        let _ = writeln!(out, "  findings: none");
    } else {
        let _ = writeln!(out, "  findings:");
        for f in &analysis.findings {
            let place = match f.line {
                Some(l) => format!("  {}:{l}", f.file),
                None if f.file.is_empty() => String::new(),
                None => format!("  {}", f.file),
            };
            let more = if f.count > 1 {
                format!(" ({} times)", f.count)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "    {:<5} {}{place}{more}: {}",
                f.level.as_str(),
                f.rule,
                f.summary
            );
            let _ = writeln!(out, "          {}", f.excerpt);
        }
    }
}

fn human(report: &ScanReport) -> String {
    let mut out = String::new();
    for a in &report.artifacts {
        match &a.analysis {
            Some(analysis) => {
                let s = &analysis.surface;
                let kind = serde_json::to_value(s.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                let id = match (&s.name, &s.version) {
                    (Some(n), Some(v)) => format!(" {n} {v}"),
                    (Some(n), None) => format!(" {n}"),
                    _ => String::new(),
                };
                let _ = writeln!(out, "{}  ({kind}{id})", a.path);
                describe(&mut out, analysis);
                let _ = writeln!(out, "  verdict: {}\n", a.verdict);
            }
            None => {
                let _ = writeln!(
                    out,
                    "{}\n  error: {}\n  verdict: unknown (not checked)\n",
                    a.path,
                    a.error.as_deref().unwrap_or("")
                );
            }
        }
    }
    let s = &report.summary;
    let _ = writeln!(
        out,
        "{} scanned: {} deny, {} warn, {} could not be read",
        s.artifacts, s.deny, s.warn, s.errors
    );
    out
}

impl From<warden_archive::Error> for Failure {
    fn from(e: warden_archive::Error) -> Self {
        Failure::new(exit::UNAVAILABLE, e.to_string()).with_hint(if e.is_hostile() {
            "the archive is built to attack unpackers: do not install it"
        } else {
            "the archive is damaged or larger than warden's limits; fetch it again or report it to the registry"
        })
    }
}
