//! How the human report looks: colour when wanted, and the one-line
//! reason and documentation anchor for each finding code.

use anstyle::{AnsiColor, Style};
use warden_guard::{Level, Verdict};

use crate::cli::ColorChoice;

/// Whether to colour output, from `--color`, `NO_COLOR`, `CLICOLOR_FORCE`,
/// `TERM` and whether the output is a terminal (no-color.org and the
/// CLICOLOR convention, as cargo and ripgrep read them).
pub fn colour_wanted(
    choice: ColorChoice,
    no_color: Option<&str>,
    clicolor_force: Option<&str>,
    term: Option<&str>,
    is_terminal: bool,
) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if no_color.is_some_and(|v| !v.is_empty()) {
                false
            } else if clicolor_force.is_some_and(|v| !v.is_empty() && v != "0") {
                true
            } else {
                is_terminal && term != Some("dumb")
            }
        }
    }
}

/// Paints text when colour is on; a no-op otherwise.
#[derive(Debug, Clone, Copy)]
pub struct Paint {
    on: bool,
}

impl Paint {
    pub fn new(on: bool) -> Self {
        Self { on }
    }

    /// Decides for stdout (the report) from the process's environment.
    pub fn for_stdout(choice: ColorChoice) -> Self {
        use std::io::IsTerminal;
        let var = |k: &str| std::env::var(k).ok();
        Self::new(colour_wanted(
            choice,
            var("NO_COLOR").as_deref(),
            var("CLICOLOR_FORCE").as_deref(),
            var("TERM").as_deref(),
            std::io::stdout().is_terminal(),
        ))
    }

    fn paint(self, style: Style, text: &str) -> String {
        if self.on {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_owned()
        }
    }

    pub fn verdict(self, verdict: Verdict) -> String {
        let style = match verdict {
            Verdict::Allow => AnsiColor::Green.on_default(),
            Verdict::Warn => AnsiColor::Yellow.on_default(),
            Verdict::Unknown => AnsiColor::Magenta.on_default(),
            Verdict::Deny => AnsiColor::Red.on_default().bold(),
        };
        self.paint(style, verdict.as_str())
    }

    /// A level, padded to line up in a column.
    pub fn level(self, level: Level) -> String {
        let style = match level {
            Level::Allow => AnsiColor::Green.on_default(),
            Level::Warn => AnsiColor::Yellow.on_default(),
            Level::Deny => AnsiColor::Red.on_default().bold(),
        };
        self.paint(style, &format!("{:<5}", level.as_str()))
    }

    pub fn bold(self, text: &str) -> String {
        self.paint(Style::new().bold(), text)
    }

    pub fn dim(self, text: &str) -> String {
        self.paint(Style::new().dimmed(), text)
    }

    pub fn unknown(self, text: &str) -> String {
        self.paint(AnsiColor::Magenta.on_default(), text)
    }
}

/// `docs/findings.md`, the one place each finding code is explained.
const FINDINGS_DOC: &str = include_str!("../../../docs/findings.md");

/// Where a finding code is explained: its section's anchor.
pub fn doc_anchor(code: &str) -> String {
    format!("docs/findings.md#{code}")
}

/// One line a newcomer understands about why `code` fires: the first
/// sentence of its section in `docs/findings.md` after the default level.
pub fn why(code: &str) -> Option<String> {
    let heading = format!("### `{code}`\n");
    let start = FINDINGS_DOC.find(&heading)? + heading.len();
    let section = &FINDINGS_DOC[start..];
    let paragraph = section
        .trim_start()
        .split("\n\n")
        .next()?
        .split("\n#")
        .next()?;
    let text = paragraph
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("**", "");
    let mut sentences = sentences(&text);
    let first = sentences.next()?;
    let line = if first.starts_with("Default:") {
        sentences.next()?
    } else {
        first
    };
    Some(line.to_owned())
}

/// Sentences: each ends at a full stop and a space (not after `e.g` or
/// `i.e`), or at the end.
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = rest.len();
        for (i, _) in rest.match_indices(". ") {
            let before = &rest[..i];
            if !(before.ends_with("e.g") || before.ends_with("i.e")) {
                end = i + 1;
                break;
            }
        }
        let (sentence, tail) = rest.split_at(end);
        rest = tail.trim_start();
        Some(sentence.trim())
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn colour_follows_the_flag_then_no_color_then_clicolor_force_then_the_terminal() {
        use ColorChoice::{Always, Auto, Never};
        // The flag wins over everything.
        assert!(colour_wanted(Always, Some("1"), None, Some("dumb"), false));
        assert!(!colour_wanted(Never, None, Some("1"), None, true));
        // NO_COLOR (non-empty) turns it off, even when forced.
        assert!(!colour_wanted(Auto, Some("1"), Some("1"), None, true));
        // An empty NO_COLOR does not count.
        assert!(colour_wanted(Auto, Some(""), None, None, true));
        // CLICOLOR_FORCE colours a pipe; `0` does not force.
        assert!(colour_wanted(Auto, None, Some("1"), None, false));
        assert!(!colour_wanted(Auto, None, Some("0"), None, false));
        // Otherwise: a terminal that is not dumb.
        assert!(colour_wanted(
            Auto,
            None,
            None,
            Some("xterm-256color"),
            true
        ));
        assert!(!colour_wanted(Auto, None, None, Some("dumb"), true));
        assert!(!colour_wanted(Auto, None, None, None, false));
    }

    #[test]
    fn paint_adds_escapes_only_when_on() {
        let off = Paint::new(false);
        assert_eq!(off.verdict(Verdict::Deny), "deny");
        assert_eq!(off.level(Level::Warn), "warn ");
        let on = Paint::new(true);
        let deny = on.verdict(Verdict::Deny);
        assert!(
            deny.starts_with('\u{1b}') && deny.contains("deny"),
            "{deny:?}"
        );
        assert_ne!(on.verdict(Verdict::Allow), on.verdict(Verdict::Warn));
    }

    #[test]
    fn every_code_has_a_one_line_reason_from_its_docs_section() {
        for code in crate::policy::known_codes() {
            let why = why(&code).unwrap_or_else(|| panic!("no reason for {code}"));
            assert!(
                !why.starts_with("Default:") && why.ends_with('.') && why.len() < 300,
                "{code}: {why}"
            );
        }
        assert_eq!(
            why("first-release").unwrap(),
            "The package's first version is younger than 30 days."
        );
        assert!(why("no-such-code").is_none());
    }
}
