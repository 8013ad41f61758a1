//! `warden diff`: how the install surface changed between two versions.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;
use warden_archive::Item;
use warden_rules::{Analysis, Finding};

use crate::cli::{DiffArgs, Format};
use crate::context::Context;
use crate::exit::{Failure, USAGE};
use crate::inspect::Target;

#[derive(Serialize, Default)]
struct Changes<T> {
    added: BTreeMap<String, T>,
    removed: BTreeMap<String, T>,
    changed: BTreeMap<String, (T, T)>,
}

fn compare<T: Clone + PartialEq>(
    from: &BTreeMap<String, T>,
    to: &BTreeMap<String, T>,
) -> Changes<T> {
    let mut c = Changes {
        added: BTreeMap::new(),
        removed: BTreeMap::new(),
        changed: BTreeMap::new(),
    };
    for (k, v) in to {
        match from.get(k) {
            None => {
                c.added.insert(k.clone(), v.clone());
            }
            Some(old) if old != v => {
                c.changed.insert(k.clone(), (old.clone(), v.clone()));
            }
            Some(_) => {}
        }
    }
    for (k, v) in from {
        if !to.contains_key(k) {
            c.removed.insert(k.clone(), v.clone());
        }
    }
    c
}

#[derive(Serialize)]
struct FileDiff {
    path: String,
    diff: String,
}

#[derive(Serialize)]
struct DiffReport {
    package: String,
    from: String,
    to: String,
    scripts: Changes<String>,
    surface_added: Vec<Item>,
    surface_removed: Vec<Item>,
    changed_files: Vec<FileDiff>,
    /// Files that run when the package is loaded (the runtime surface),
    /// added or changed.
    runtime_changed: Vec<FileDiff>,
    dependencies: Changes<String>,
    /// Findings of `to` that `from` did not have.
    new_findings: Vec<Finding>,
}

pub async fn run(ctx: &Context, args: &DiffArgs, format: Format) -> Result<String, Failure> {
    let (package, from, to) = match Target::parse(&args.package)? {
        Target::Npm {
            name,
            version: None,
        } => {
            let client = ctx.npm_with_registry(args.registry.as_ref())?;
            let doc = client.packument(&name).await?;
            let from_v = doc.resolve(Some(&args.from))?.to_owned();
            let to_v = doc.resolve(Some(&args.to))?.to_owned();
            let (a, b) = tokio::try_join!(
                warden_guard::artifact::npm(&client, &doc, &from_v),
                warden_guard::artifact::npm(&client, &doc, &to_v)
            )?;
            (format!("npm:{name}"), (from_v, a), (to_v, b))
        }
        Target::Pypi {
            name,
            version: None,
        } => {
            let client = ctx.pypi_with_index(args.index_url.as_ref())?;
            let index = client.config.index_url.clone().ok_or_else(|| {
                Failure::new(
                    USAGE,
                    "pip is configured with `--no-index`: there is no index to ask",
                )
            })?;
            let project = client.project(&index, &name).await?;
            // The files pip would install here, for both versions.
            let platform = warden_pip::platform(&ctx.python_program());
            let pick = platform.pick().await;
            let ((fa, a), (fb, b)) = tokio::try_join!(
                warden_guard::artifact::pypi(&client, &project, &args.from, pick),
                warden_guard::artifact::pypi(&client, &project, &args.to, pick)
            )?;
            (
                format!("pypi:{name}"),
                (format!("{} ({fa})", args.from), a),
                (format!("{} ({fb})", args.to), b),
            )
        }
        _ => {
            return Err(Failure::new(
                USAGE,
                "give the package without a version, then the two versions",
            )
            .with_hint("warden diff npm:left-pad 1.2.0 1.3.0"));
        }
    };
    let (from, (to_version, mut b)) = (from, to);
    warden_guard::release::add_to(&mut b, &from.1, &to_version, &from.0);
    let report = diff(package, from, (to_version, b));
    Ok(match format {
        Format::Json | Format::Sarif | Format::Github => format!(
            "{}\n",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ),
        Format::Human => human(&report),
    })
}

fn plural_files(n: usize) -> String {
    if n == 1 {
        "1 file".to_owned()
    } else {
        format!("{n} files")
    }
}

fn item_key(i: &Item) -> (String, String, String) {
    (i.kind.to_owned(), i.file.clone(), i.detail.clone())
}

fn diff(package: String, (from, a): (String, Analysis), (to, b): (String, Analysis)) -> DiffReport {
    let old_items: BTreeSet<_> = a.surface.items.iter().map(item_key).collect();
    let new_items: BTreeSet<_> = b.surface.items.iter().map(item_key).collect();
    let surface_added = b
        .surface
        .items
        .iter()
        .filter(|i| !old_items.contains(&item_key(i)))
        .cloned()
        .collect();
    let surface_removed = a
        .surface
        .items
        .iter()
        .filter(|i| !new_items.contains(&item_key(i)))
        .cloned()
        .collect();
    let old_texts: BTreeMap<&str, &str> = a
        .surface
        .texts
        .iter()
        .map(|t| (t.path.as_str(), t.text.as_str()))
        .collect();
    let mut changed_files = Vec::new();
    let mut runtime_changed = Vec::new();
    for t in &b.surface.texts {
        let old = old_texts.get(t.path.as_str()).copied().unwrap_or("");
        if old != t.text {
            let diff = similar::TextDiff::from_lines(old, t.text.as_str())
                .unified_diff()
                .context_radius(3)
                .header(&format!("{from}/{}", t.path), &format!("{to}/{}", t.path))
                .to_string();
            let file = FileDiff {
                path: t.path.clone(),
                diff,
            };
            if t.runs.on_load() {
                runtime_changed.push(file);
            } else {
                changed_files.push(file);
            }
        }
    }
    let old_findings: BTreeSet<(String, String)> = a
        .findings
        .iter()
        .map(|f| (f.rule.clone(), f.file.clone()))
        .collect();
    let python = package.starts_with("pypi:");
    DiffReport {
        scripts: compare(&a.surface.scripts, &b.surface.scripts),
        dependencies: compare(
            &normalized(&a.surface.dependencies, python),
            &normalized(&b.surface.dependencies, python),
        ),
        new_findings: b
            .findings
            .iter()
            .filter(|f| !old_findings.contains(&(f.rule.clone(), f.file.clone())))
            .cloned()
            .collect(),
        package,
        from,
        to,
        surface_added,
        surface_removed,
        changed_files,
        runtime_changed,
    }
}

/// Dependencies as compared: spacing collapsed, and Python requirements
/// in PEP 508's canonical form (`Foo_Bar (>=1.0)` is `foo-bar>=1.0`), so
/// only real changes show.
fn normalized(deps: &BTreeMap<String, String>, python: bool) -> BTreeMap<String, String> {
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    deps.iter()
        .map(|(k, v)| {
            let key = if python {
                let (requirement, suffix) = match k.strip_suffix(" (build)") {
                    Some(r) => (r, " (build)"),
                    None => (k.as_str(), ""),
                };
                match requirement.parse::<pep508_rs::Requirement<pep508_rs::VerbatimUrl>>() {
                    Ok(r) => format!("{r}{suffix}"),
                    Err(_) => squash(k),
                }
            } else {
                squash(k)
            };
            (key, squash(v))
        })
        .collect()
}

fn human(r: &DiffReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}: {} -> {}\n", r.package, r.from, r.to);
    let section = |out: &mut String, title: &str, c: &Changes<String>| {
        if c.added.is_empty() && c.removed.is_empty() && c.changed.is_empty() {
            let _ = writeln!(out, "{title}: unchanged");
            return;
        }
        let _ = writeln!(out, "{title}:");
        for (k, v) in &c.added {
            let _ = writeln!(out, "  + {k}  {v}");
        }
        for (k, v) in &c.removed {
            let _ = writeln!(out, "  - {k}  {v}");
        }
        for (k, (a, b)) in &c.changed {
            let _ = writeln!(out, "  ~ {k}  {a}  ->  {b}");
        }
    };
    section(&mut out, "install scripts", &r.scripts);
    section(&mut out, "dependencies", &r.dependencies);
    if r.surface_added.is_empty() && r.surface_removed.is_empty() && r.changed_files.is_empty() {
        let _ = writeln!(out, "install surface: unchanged");
    } else if r.surface_added.is_empty() && r.surface_removed.is_empty() {
        let _ = writeln!(
            out,
            "install surface: the same entries; {} changed (below)",
            plural_files(r.changed_files.len())
        );
    } else {
        let _ = writeln!(out, "install surface:");
        for i in &r.surface_added {
            let _ = writeln!(out, "  + {} {}  {}", i.kind, i.file, i.detail);
        }
        for i in &r.surface_removed {
            let _ = writeln!(out, "  - {} {}  {}", i.kind, i.file, i.detail);
        }
    }
    for f in &r.changed_files {
        let _ = writeln!(out, "\n{}", f.diff.trim_end());
    }
    if r.runtime_changed.is_empty() {
        let _ = writeln!(out, "\ncode that runs on load: unchanged");
    } else {
        let _ = writeln!(
            out,
            "\ncode that runs on load (main module, package __init__ and what they import): {} changed",
            plural_files(r.runtime_changed.len())
        );
        for f in &r.runtime_changed {
            let _ = writeln!(out, "\n{}", f.diff.trim_end());
        }
    }
    if !r.new_findings.is_empty() {
        let _ = writeln!(out, "\nnew findings in {}:", r.to);
        for f in &r.new_findings {
            let line = f.line.map(|l| format!(":{l}")).unwrap_or_default();
            let place = if f.file.is_empty() {
                String::new()
            } else {
                format!("  {}{line}", f.file)
            };
            let _ = writeln!(
                out,
                "  {:<5} {}{place}: {}",
                f.level.as_str(),
                f.rule,
                f.excerpt
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    fn deps(items: &[&str]) -> BTreeMap<String, String> {
        items
            .iter()
            .map(|k| ((*k).to_owned(), String::new()))
            .collect()
    }

    #[test]
    fn requirements_that_differ_only_in_spelling_are_the_same() {
        let a = super::normalized(
            &deps(&[
                "Requests (>=2.0,<3) ; extra == 'socks'",
                "Foo_Bar>=1.0 (build)",
            ]),
            true,
        );
        let b = super::normalized(
            &deps(&[
                "requests<3,>=2.0; extra==\"socks\"",
                "foo-bar >= 1.0 (build)",
            ]),
            true,
        );
        assert_eq!(a, b);
        let c = super::compare(&a, &super::normalized(&deps(&["requests>=2.1,<3"]), true));
        assert_eq!(c.added.len(), 1);
        assert_eq!(c.removed.len(), 2);
    }

    #[test]
    fn a_changed_file_is_never_reported_as_unchanged() {
        let mut r = super::DiffReport {
            package: "npm:x".into(),
            from: "1.0.0".into(),
            to: "1.0.1".into(),
            scripts: super::Changes::default(),
            surface_added: Vec::new(),
            surface_removed: Vec::new(),
            changed_files: vec![super::FileDiff {
                path: "install.js".into(),
                diff: "--- a\n+++ b\n+evil()\n".into(),
            }],
            runtime_changed: Vec::new(),
            dependencies: super::Changes::default(),
            new_findings: Vec::new(),
        };
        let text = super::human(&r);
        assert!(!text.contains("install surface: unchanged"), "{text}");
        assert!(text.contains("1 file changed"), "{text}");
        r.changed_files.clear();
        assert!(super::human(&r).contains("install surface: unchanged"));
    }
}
