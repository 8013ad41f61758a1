//! The release diff: what a release adds to the code that runs when the
//! package is loaded, compared with the release before it.
//!
//! Libraries' own code sends requests, spawns processes and reads the
//! environment on load, so those are no finding by themselves there. New in
//! a release, next to code that did none of it before, they are how a
//! hijacked package turns bad without an install script (the chalk/debug
//! compromise, LiteLLM 1.82.7): `runtime-code-added`.

use warden_archive::Runs;
use warden_policy::Level;
use warden_rules::Analysis;

use crate::Finding;
use crate::facts::SurfaceFacts;

pub const CODE: &str = "runtime-code-added";

/// What `now` (release `version`) runs on load that `before` (release
/// `previous`) did not: one finding per rule new to that code, at the
/// rule's `added-on-load` level. A step to a new major line (`new_line`)
/// is at most a warning: majors rewrite code.
pub fn runtime_code_added(
    now: &SurfaceFacts,
    before: &SurfaceFacts,
    version: &str,
    previous: &str,
    new_line: bool,
) -> Vec<Finding> {
    let added: Vec<&str> = now
        .on_load
        .iter()
        .map(|o| o.rule.as_str())
        .filter(|r| !before.on_load_rules.iter().any(|b| b == r))
        .collect();
    let partial = now.on_load_partial || before.on_load_partial;
    now.on_load
        .iter()
        .filter(|o| added.contains(&o.rule.as_str()))
        .map(|o| {
            let mut level = warden_rules::added_level(&o.rule, o.level, &added);
            let mut summary = format!(
                "{version} adds to the code that runs on load what {previous} did not have: {}",
                o.summary
            );
            if new_line && level > Level::Warn {
                level = Level::Warn;
                summary.push_str(" (a new major line: a warning)");
            } else if partial && level > Level::Warn {
                // Which files a bounded walk reaches changes between
                // releases of a large package.
                level = Level::Warn;
                summary.push_str(" (the code on load was read in part: a warning)");
            }
            Finding::new(
                CODE,
                level,
                summary,
                format!("{}: {} (new since {previous})", o.rule, o.evidence),
            )
        })
        .collect()
}

/// `install-script-changed` for the file a hook runs: what the install
/// code of `now` does that the install code of `before` did not, when
/// `before` ran code at install too (else `install-script-added` says it).
/// A warning with the added lines as evidence: the content finding itself
/// keeps its own level.
pub fn install_code_changed(
    now: &SurfaceFacts,
    before: &SurfaceFacts,
    version: &str,
    previous: &str,
) -> Vec<Finding> {
    if !before.runs_code {
        return Vec::new();
    }
    now.install_findings
        .iter()
        .filter(|f| !before.install_findings.iter().any(|b| b.rule == f.rule))
        .map(|f| {
            Finding::new(
                "install-script-changed",
                Level::Warn,
                format!(
                    "the install code of {version} does what {previous}'s did not: {}",
                    f.summary
                ),
                format!("{}: {} (new since {previous})", f.rule, f.evidence),
            )
        })
        .collect()
}

/// Adds to `now` (release `version`), as findings of its own, what it runs
/// on load that `before` (release `previous`) did not: for `warden scan
/// --previous` and `warden diff`, which read both archives.
pub fn add_to(now: &mut Analysis, before: &Analysis, version: &str, previous: &str) {
    let added = runtime_code_added(
        &SurfaceFacts::from(&*now),
        &SurfaceFacts::from(before),
        version,
        previous,
        false,
    );
    for f in added {
        now.findings.push(warden_rules::Finding {
            rule: f.code,
            level: f.default,
            summary: f.summary,
            file: String::new(),
            line: None,
            excerpt: f.evidence,
            count: 1,
            runs: Runs::Import,
            first_release_deny: false,
        });
    }
    now.findings
        .sort_by(|a, b| b.level.cmp(&a.level).then_with(|| a.file.cmp(&b.file)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::OnLoad;

    fn facts(on_load: &[&str], findings_on_load: &[&str]) -> SurfaceFacts {
        let mut rules: Vec<String> = on_load
            .iter()
            .chain(findings_on_load)
            .map(|r| (*r).to_owned())
            .collect();
        rules.sort();
        rules.dedup();
        SurfaceFacts {
            on_load: on_load
                .iter()
                .map(|r| OnLoad {
                    rule: (*r).to_owned(),
                    // As rules.toml's `added-on-load` has them.
                    level: match *r {
                        "obfuscated-identifiers" | "decode-and-execute" => Level::Deny,
                        _ => Level::Warn,
                    },
                    summary: format!("does {r}"),
                    evidence: format!("index.js:3 {r}()"),
                })
                .collect(),
            on_load_rules: rules,
            ..SurfaceFacts::default()
        }
    }

    fn levels(found: &[Finding]) -> Vec<(String, Level)> {
        found
            .iter()
            .map(|f| {
                let rule = f.evidence.split(':').next().unwrap_or_default().to_owned();
                (rule, f.default)
            })
            .collect()
    }

    #[test]
    fn heavy_obfuscation_new_in_a_patch_release_is_a_deny() {
        let before = facts(&["network-send"], &[]);
        let now = facts(&["network-send", "obfuscated-identifiers"], &[]);
        let found = runtime_code_added(&now, &before, "5.6.1", "5.6.0", false);
        assert_eq!(
            levels(&found),
            [("obfuscated-identifiers".to_owned(), Level::Deny)]
        );
        assert!(found[0].summary.contains("5.6.0 did not have"));
        assert!(found[0].evidence.contains("new since 5.6.0"));
    }

    #[test]
    fn what_the_release_before_did_on_load_is_not_news() {
        let before = facts(&["network-send", "process-spawn"], &["decode-and-execute"]);
        let now = facts(
            &["network-send", "process-spawn", "decode-and-execute"],
            &[],
        );
        assert!(runtime_code_added(&now, &before, "2.0.1", "2.0.0", false).is_empty());
        // Nothing on load at all: nothing to judge.
        assert!(runtime_code_added(&facts(&[], &[]), &before, "2", "1", false).is_empty());
    }

    #[test]
    fn a_new_request_is_a_warning_and_a_new_credential_read_beside_it_a_deny() {
        let before = facts(&[], &[]);
        let found = runtime_code_added(
            &facts(&["network-send"], &[]),
            &before,
            "1.0.1",
            "1.0.0",
            false,
        );
        assert_eq!(levels(&found), [("network-send".to_owned(), Level::Warn)]);
        // Reading credentials is a warning; reading them in the release
        // that also starts sending is theft.
        let found = runtime_code_added(
            &facts(&["credential-files", "network-send"], &[]),
            &before,
            "1.0.1",
            "1.0.0",
            false,
        );
        assert_eq!(
            levels(&found),
            [
                ("credential-files".to_owned(), Level::Deny),
                ("network-send".to_owned(), Level::Warn)
            ]
        );
        // The credential read alone stays a warning.
        let found = runtime_code_added(
            &facts(&["credential-files"], &[]),
            &facts(&["network-send"], &[]),
            "1.0.1",
            "1.0.0",
            false,
        );
        assert_eq!(
            levels(&found),
            [("credential-files".to_owned(), Level::Warn)]
        );
    }

    #[test]
    fn reading_the_whole_environment_is_a_deny_only_beside_a_new_send() {
        let before = facts(&[], &[]);
        let alone = runtime_code_added(
            &facts(&["environment-dump"], &[]),
            &before,
            "2.6.9",
            "2.6.8",
            false,
        );
        assert_eq!(
            levels(&alone),
            [("environment-dump".to_owned(), Level::Warn)]
        );
        let sent = runtime_code_added(
            &facts(&["environment-dump", "network-send"], &[]),
            &before,
            "2.6.9",
            "2.6.8",
            false,
        );
        assert_eq!(
            levels(&sent),
            [
                ("environment-dump".to_owned(), Level::Deny),
                ("network-send".to_owned(), Level::Warn)
            ]
        );
    }

    #[test]
    fn a_hook_whose_file_now_does_more_is_a_changed_install_script() {
        let finding = |rule: &str| OnLoad {
            rule: rule.to_owned(),
            level: Level::Warn,
            summary: format!("does {rule}"),
            evidence: format!("postinstall.js:4 {rule}()"),
        };
        let mut before = facts(&[], &[]);
        before.runs_code = true;
        before.install_findings = vec![finding("process-spawn")];
        let mut now = before.clone();
        now.install_findings = vec![finding("process-spawn"), finding("network-send")];
        let found = install_code_changed(&now, &before, "1.0.2", "1.0.1");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].code, "install-script-changed");
        assert_eq!(found[0].default, Level::Warn);
        assert!(
            found[0]
                .evidence
                .starts_with("network-send: postinstall.js:4")
        );
        // The same install code as before is not news; no install code
        // before is `install-script-added`'s to say.
        assert!(install_code_changed(&before, &before, "1.0.2", "1.0.1").is_empty());
        before.runs_code = false;
        assert!(install_code_changed(&now, &before, "1.0.2", "1.0.1").is_empty());
    }

    #[test]
    fn a_partial_read_is_at_most_a_warning() {
        let mut now = facts(&["obfuscated-identifiers"], &[]);
        now.on_load_partial = true;
        let found = runtime_code_added(&now, &facts(&[], &[]), "1.0.1", "1.0.0", false);
        assert_eq!(
            levels(&found),
            [("obfuscated-identifiers".to_owned(), Level::Warn)]
        );
        assert!(found[0].summary.contains("read in part"));
    }

    #[test]
    fn a_new_major_line_is_at_most_a_warning() {
        let found = runtime_code_added(
            &facts(&["obfuscated-identifiers"], &[]),
            &facts(&[], &[]),
            "3.0.0",
            "2.9.0",
            true,
        );
        assert_eq!(
            levels(&found),
            [("obfuscated-identifiers".to_owned(), Level::Warn)]
        );
        assert!(found[0].summary.contains("new major line"));
    }
}
