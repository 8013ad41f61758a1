//! Findings that come from the shape of the install surface itself, not
//! from the text of a file: start-up hooks, commands that shadow common
//! ones, files a wheel's RECORD does not vouch for.

use warden_archive::{Item, Surface};

use crate::{Finding, Level};

/// The finding an install-surface item raises, if any.
fn finding_for(item: &Item) -> Option<(&'static str, Level, &'static str)> {
    Some(match item.kind {
        "pth-code" if item.known.is_some() => return None,
        "pth-code" => (
            "startup-hook",
            Level::Deny,
            "a .pth line that runs code at every Python start",
        ),
        "sitecustomize" | "usercustomize" => (
            "startup-hook",
            Level::Deny,
            "a module Python runs at every start",
        ),
        "pth-unreadable" => (
            "startup-hook",
            Level::Deny,
            "a .pth file that cannot be read, so what it runs cannot be known",
        ),
        "entry-point-shadows-command" | "bin-shadows-command" => (
            "command-shadowing",
            Level::Deny,
            "installs a command under the name of a common one",
        ),
        "record-missing" => (
            "record-missing",
            Level::Warn,
            "a wheel file its RECORD does not list",
        ),
        "record-mismatch" => (
            "record-mismatch",
            Level::Warn,
            "a wheel file whose hash disagrees with its RECORD",
        ),
        "record-absent" => ("record-missing", Level::Warn, "a wheel without a RECORD"),
        "manifest-unreadable" | "pyproject-unreadable" => (
            "surface-unreadable",
            Level::Warn,
            "what would run at install cannot be read",
        ),
        _ => return None,
    })
}

pub fn surface_findings(surface: &Surface) -> Vec<Finding> {
    surface
        .items
        .iter()
        .filter_map(|item| {
            let (rule, level, summary) = finding_for(item)?;
            Some(Finding {
                rule: rule.to_owned(),
                level,
                summary: summary.to_owned(),
                file: item.file.clone(),
                line: item.line,
                excerpt: item.detail.clone(),
                count: 1,
                runs: item.runs,
                first_release_deny: false,
            })
        })
        .collect()
}

/// Every code [`surface_findings`] can produce, for documentation tests.
pub const SURFACE_CODES: &[&str] = &[
    "startup-hook",
    "command-shadowing",
    "record-missing",
    "record-mismatch",
    "surface-unreadable",
];
