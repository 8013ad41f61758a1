//! `warden check`: what a lockfile or requirements file would install,
//! judged like a guarded install that stops before installing, and shown
//! for people, as JSON, as SARIF 2.1.0, or as GitHub workflow annotations.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use warden_guard::{Ecosystem, Level, Outcome, PackageDecision, Report};

use crate::cli::{CheckArgs, Format, GlobalArgs};
use crate::context::Context;
use crate::drive::Run;
use crate::exit::{self, Failure};
use crate::style::{doc_anchor, why};

/// What is checked: an npm project's lockfile or a requirements file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// The project directory and its lockfile.
    Npm {
        project: PathBuf,
        lockfile: PathBuf,
    },
    Requirements(PathBuf),
}

/// The lockfiles npm installs from, in the order npm prefers them.
const LOCKFILES: &[&str] = &["npm-shrinkwrap.json", "package-lock.json"];

fn target(path: &Path) -> Result<Target, Failure> {
    let usage = |message: String| {
        Failure::new(exit::USAGE, message).with_hint(
            "give a package-lock.json, an npm-shrinkwrap.json, a directory with one, or a requirements file",
        )
    };
    if path.is_dir() {
        return LOCKFILES
            .iter()
            .map(|f| path.join(f))
            .find(|p| p.is_file())
            .map(|lockfile| Target::Npm {
                project: path.to_path_buf(),
                lockfile,
            })
            .ok_or_else(|| usage(format!("`{}` holds no npm lockfile", path.display())));
    }
    if !path.is_file() {
        return Err(usage(format!("`{}` is not a file", path.display())));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let project = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    if LOCKFILES.contains(&name.as_str()) {
        // npm installs from the shrinkwrap when both are there.
        let preferred = LOCKFILES
            .iter()
            .find(|f| project.join(f).is_file())
            .filter(|f| **f != name)
            .map_or_else(|| path.to_path_buf(), |f| project.join(f));
        return Ok(Target::Npm {
            project,
            lockfile: preferred,
        });
    }
    if name.ends_with(".json") {
        return Err(usage(format!(
            "`{name}`: npm installs only from `package-lock.json` or `npm-shrinkwrap.json`"
        )));
    }
    Ok(Target::Requirements(path.to_path_buf()))
}

pub async fn run(
    ctx: &Context,
    global: &GlobalArgs,
    args: &CheckArgs,
) -> Result<(String, u8), Failure> {
    let target = target(&args.file)?;
    let policy = crate::policy::load(global)?;
    let cwd = std::env::current_dir().map_err(|e| Failure::new(exit::USAGE, e.to_string()))?;
    let shown = args.file.display().to_string();
    let (file, result, run) = match &target {
        Target::Npm { project, lockfile } => {
            let mut npm_args = vec!["ci".to_owned()];
            if let Some(r) = &args.registry {
                npm_args.push(format!("--registry={r}"));
            }
            // The adapter plans from the project it runs in.
            std::env::set_current_dir(project).map_err(|e| {
                Failure::new(
                    exit::USAGE,
                    format!("cannot enter `{}`: {e}", project.display()),
                )
            })?;
            let mut run = Run::new(global, &policy, &["npm".to_owned()], &npm_args, &cwd)
                .checking(format!("check {}", lockfile.display()))
                .with_stats(ctx.http.stats.clone());
            let result =
                warden_npm::guard::run(&npm_args, &ctx.http, ctx.settings(&policy), &mut run)
                    .await
                    .map_err(Failure::from);
            let _ = std::env::set_current_dir(&cwd);
            (lockfile.clone(), result, run)
        }
        Target::Requirements(path) => {
            let absolute = cwd.join(path);
            let mut pip_args = vec![
                "install".to_owned(),
                "-r".to_owned(),
                absolute.display().to_string(),
            ];
            if let Some(i) = &args.index_url {
                pip_args.push(format!("--index-url={i}"));
            }
            let program = vec![ctx.python_program(), "-m".to_owned(), "pip".to_owned()];
            let mut run = Run::new(global, &policy, &program, &pip_args, &cwd)
                .checking(format!("check {shown}"))
                .with_stats(ctx.http.stats.clone());
            let result = warden_pip::guard::run(
                &program,
                &pip_args,
                &ctx.http,
                ctx.settings(&policy),
                &mut run,
            )
            .await
            .map_err(Failure::from);
            (path.clone(), result, run)
        }
    };
    let (output, code) = result?;
    let Some(report) = run.ended() else {
        // The adapter ended without a decision (a command it passes
        // through): nothing was checked, and that is not a pass.
        return Err(Failure::new(
            exit::UNAVAILABLE,
            format!("nothing in `{shown}` could be checked"),
        ));
    };
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let located = Located {
        uri: file.display().to_string(),
        text: &text,
        ecosystem: report.ecosystem,
    };
    let out = match global.format {
        Format::Human | Format::Json => run.final_output(output),
        Format::Sarif => sarif(report, &located),
        Format::Github => github(report, &located),
    };
    Ok((out, code))
}

/// The checked file, to point results at the line that names a package.
struct Located<'a> {
    uri: String,
    text: &'a str,
    ecosystem: Ecosystem,
}

impl Located<'_> {
    /// The 1-based line that names `p`: its lockfile entry, or its
    /// requirement line.
    fn line(&self, p: &PackageDecision) -> Option<usize> {
        let name = p.name.as_str();
        let position = match self.ecosystem {
            Ecosystem::Npm => {
                let key = |k: &str| format!("\"{k}\": {{");
                self.text
                    .find(&key(&p.path))
                    .or_else(|| self.text.find(&key(name)))
            }
            Ecosystem::Pypi => {
                let wanted = warden_registry::pypi::normalize_name(name);
                let mut offset = 0;
                let mut found = None;
                for line in self.text.split_inclusive('\n') {
                    let head: String = line
                        .trim_start()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                        .collect();
                    if !head.is_empty() && warden_registry::pypi::normalize_name(&head) == wanted {
                        found = Some(offset);
                        break;
                    }
                    offset += line.len();
                }
                found
            }
        }?;
        Some(self.text[..position].matches('\n').count() + 1)
    }
}

/// One thing a check reports about a package: a finding at its level, or
/// a check that could not be completed.
struct Item<'a> {
    package: &'a PackageDecision,
    rule: String,
    level: &'static str,
    text: String,
    allowed_by: Option<&'a str>,
}

/// The rule id for checks that could not be completed.
const UNKNOWN_RULE: &str = "unknown";

/// Everything a machine report lists: findings at warn or deny, findings
/// an allow entry accepted (as suppressed), and each unknown.
fn items(report: &Report) -> Vec<Item<'_>> {
    let unknown_level = if report.outcome == Outcome::Incomplete {
        "error"
    } else {
        "warning"
    };
    let mut items = Vec::new();
    for p in &report.packages {
        for f in &p.findings {
            if f.level == Level::Allow && f.allowed_by.is_none() {
                continue;
            }
            let level = match f.level {
                Level::Deny => "error",
                Level::Warn => "warning",
                Level::Allow => "note",
            };
            let evidence = if f.evidence.is_empty() {
                String::new()
            } else {
                format!(" ({})", f.evidence)
            };
            items.push(Item {
                package: p,
                rule: f.code.clone(),
                level: if f.allowed_by.is_some() {
                    "note"
                } else {
                    level
                },
                text: format!("{}@{}: {}{evidence}", p.package, p.version, f.summary),
                allowed_by: f.allowed_by.as_deref(),
            });
        }
        for u in &p.unknown {
            items.push(Item {
                package: p,
                rule: UNKNOWN_RULE.to_owned(),
                level: unknown_level,
                text: format!("{}@{}: not checked: {u}", p.package, p.version),
                allowed_by: None,
            });
        }
    }
    items
}

/// The report as a SARIF 2.1.0 log: one rule per finding code that
/// occurs, one result per finding or unknown, located at the lockfile or
/// requirements line when it is known.
fn sarif(report: &Report, located: &Located<'_>) -> String {
    let items = items(report);
    let mut rule_ids: Vec<&str> = items.iter().map(|i| i.rule.as_str()).collect();
    rule_ids.sort_unstable();
    rule_ids.dedup();
    let rules: Vec<Value> = rule_ids
        .iter()
        .map(|id| {
            let description = if *id == UNKNOWN_RULE {
                "A check could not be completed; the policy's on-error decides.".to_owned()
            } else {
                why(id).unwrap_or_else(|| (*id).to_owned())
            };
            let mut rule = json!({
                "id": id,
                "name": id,
                "shortDescription": { "text": description },
            });
            if *id != UNKNOWN_RULE {
                rule["help"] = json!({ "text": format!("See {}", doc_anchor(id)) });
            }
            rule
        })
        .collect();
    let results: Vec<Value> = items
        .iter()
        .map(|i| {
            let mut region = json!({});
            if let Some(line) = located.line(i.package) {
                region = json!({ "startLine": line });
            }
            let mut location = json!({
                "physicalLocation": {
                    "artifactLocation": { "uri": located.uri },
                },
                "logicalLocations": [{
                    "name": i.package.package,
                    "fullyQualifiedName": format!("{}@{}", i.package.package, i.package.version),
                    "kind": "module",
                }],
            });
            if region.get("startLine").is_some() {
                location["physicalLocation"]["region"] = region;
            }
            let mut result = json!({
                "ruleId": i.rule,
                "ruleIndex": rule_ids.iter().position(|r| *r == i.rule).unwrap_or(0),
                "level": i.level,
                "message": { "text": i.text },
                "locations": [location],
            });
            if let Some(by) = i.allowed_by {
                result["suppressions"] = json!([{
                    "kind": "external",
                    "justification": format!("allowed by {by}"),
                }]);
            }
            result
        })
        .collect();
    let code = report.exit_code.unwrap_or(exit::OK);
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "warden",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "invocations": [{
                "executionSuccessful": report.outcome != Outcome::Incomplete,
                "exitCode": code,
                "commandLine": report.command,
            }],
            "results": results,
            "properties": {
                "outcome": report.outcome.as_str(),
                "message": report.message,
            },
        }],
    });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&log).unwrap_or_default()
    )
}

/// A SARIF log for a run that ended in an error: no results, and the
/// invocation says why.
pub fn sarif_failure(failure: &Failure) -> String {
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": { "name": "warden", "version": env!("CARGO_PKG_VERSION") } },
            "invocations": [{
                "executionSuccessful": false,
                "exitCode": failure.code,
                "toolExecutionNotifications": [{
                    "level": "error",
                    "message": { "text": failure.message },
                }],
            }],
            "results": [],
        }],
    });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&log).unwrap_or_default()
    )
}

/// The report as GitHub Actions workflow commands: one annotation per
/// finding or unknown, then the outcome.
fn github(report: &Report, located: &Located<'_>) -> String {
    let mut out = String::new();
    for i in items(report) {
        let command = match i.level {
            "error" => "error",
            "warning" => "warning",
            _ => "notice",
        };
        let mut properties = vec![format!("file={}", escape_property(&located.uri))];
        if let Some(line) = located.line(i.package) {
            properties.push(format!("line={line}"));
        }
        properties.push(format!(
            "title={}",
            escape_property(&format!("warden {}: {}", i.rule, i.package.package))
        ));
        let mut text = i.text.clone();
        if let Some(by) = i.allowed_by {
            text.push_str(&format!(" [allowed by {by}]"));
        } else if i.rule != UNKNOWN_RULE {
            text.push_str(&format!(" [see {}]", doc_anchor(&i.rule)));
        }
        out.push_str(&format!(
            "::{command} {}::{}\n",
            properties.join(","),
            escape_data(&text)
        ));
    }
    let command = match report.outcome {
        Outcome::Blocked | Outcome::Incomplete => "error",
        _ => "notice",
    };
    out.push_str(&format!(
        "::{command} title=warden::{}\n",
        escape_data(&format!("{} {}", report.counts(), report.message))
    ));
    out
}

/// A workflow command's message, escaped as the runner reads it.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value, escaped as the runner reads it.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn workflow_commands_cannot_be_broken_out_of() {
        assert_eq!(escape_data("a\nb%c\r"), "a%0Ab%25c%0D");
        assert_eq!(escape_property("x:y,z"), "x%3Ay%2Cz");
        // A package's text cannot start a second command on a new line.
        assert!(!escape_data("ok\n::error::forged").contains('\n'));
    }

    #[test]
    fn targets_are_recognised_by_name_and_directory() {
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join("package-lock.json");
        std::fs::write(&lock, "{}").unwrap();
        let req = dir.path().join("requirements-dev.txt");
        std::fs::write(&req, "six\n").unwrap();
        assert_eq!(
            target(dir.path()).unwrap(),
            Target::Npm {
                project: dir.path().to_path_buf(),
                lockfile: lock.clone()
            }
        );
        assert_eq!(target(&req).unwrap(), Target::Requirements(req.clone()));
        // npm prefers the shrinkwrap when both are there.
        let shrink = dir.path().join("npm-shrinkwrap.json");
        std::fs::write(&shrink, "{}").unwrap();
        assert_eq!(
            target(&lock).unwrap(),
            Target::Npm {
                project: dir.path().to_path_buf(),
                lockfile: shrink
            }
        );
        let other = dir.path().join("yarn.json");
        std::fs::write(&other, "{}").unwrap();
        assert_eq!(target(&other).unwrap_err().code, exit::USAGE);
        assert_eq!(
            target(&dir.path().join("missing.txt")).unwrap_err().code,
            exit::USAGE
        );
    }
}
