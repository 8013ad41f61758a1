//! What a version's registry document established about a package (its
//! history judgement, the registry's signature, who published it), kept
//! between runs so that an unchanged version needs no document at all.
//!
//! A version's own facts do not change once published, with two
//! exceptions a document shows and a kept judgement cannot: a deprecation
//! added later, and a version (this one or an earlier one) unpublished.
//! Malware taken down comes with an advisory, and the advisory query is
//! made every run. So a judgement is kept
//! for a bounded time (`[settings] history-max-age`), and only when it is
//! complete:
//! - every check finished (an unknown is asked again next run);
//! - no finding changes with the clock or with other packages' documents
//!   alone ([`warden_history::CHANGES_WITH_TIME`]): a judgement without one
//!   cannot gain one as time passes.
//!
//! Everything else it depends on is in its key: the registry, the version
//! and the digest it is pinned by, the version the project had, the
//! minimum release age, the advisories the bulk query returned for the
//! package this run (that query stays live), the registry's signing keys,
//! the trusted root, and the code that judges.

use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use warden_policy::Level;

use crate::{Assessment, Finding};

/// Changes when what a kept judgement holds, or the code that makes it,
/// changes.
fn code_fingerprint() -> &'static [u8] {
    concat!(
        env!("CARGO_PKG_VERSION"),
        ":1:",
        env!("WARDEN_ANALYZER_HASH"),
        ":",
        env!("WARDEN_JUDGE_HASH")
    )
    .as_bytes()
}

/// The part of an assessment made from the registry's document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Judged {
    /// When the document was read.
    judged_at: Timestamp,
    findings: Vec<KeptFinding>,
    unpublished: Vec<String>,
    publisher: Option<String>,
    attested: Option<(String, Option<String>)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct KeptFinding {
    code: String,
    level: Level,
    summary: String,
    evidence: String,
}

impl Judged {
    /// What `part` (an assessment made from the document alone) says, when
    /// it may be kept: complete, and with no finding the clock can change.
    pub fn keepable(part: &Assessment) -> Option<Self> {
        let settled = part.unknown.is_empty()
            && part.unreadable.is_empty()
            && part
                .findings
                .iter()
                .all(|f| !warden_history::CHANGES_WITH_TIME.contains(&f.code.as_str()));
        settled.then(|| Self {
            judged_at: Timestamp::now(),
            findings: part
                .findings
                .iter()
                .map(|f| KeptFinding {
                    code: f.code.clone(),
                    level: f.default,
                    summary: f.summary.clone(),
                    evidence: f.evidence.clone(),
                })
                .collect(),
            unpublished: part.unpublished.clone(),
            publisher: part.publisher.clone(),
            attested: part.attested.clone(),
        })
    }

    /// Adds the kept part to a package's assessment.
    pub fn apply(self, a: &mut Assessment) {
        for f in self.findings {
            a.finding(Finding::new(f.code, f.level, f.summary, f.evidence));
        }
        a.unpublished.extend(self.unpublished);
        if self.publisher.is_some() {
            a.publisher = self.publisher;
        }
        if self.attested.is_some() {
            a.attested = self.attested;
        }
    }
}

/// Adds `part` (made from the document) to a package's assessment.
pub fn merge(part: Assessment, a: &mut Assessment) {
    a.findings.extend(part.findings);
    a.unknown.extend(part.unknown);
    a.unreadable.extend(part.unreadable);
    a.unpublished.extend(part.unpublished);
    if part.publisher.is_some() {
        a.publisher = part.publisher;
    }
    if part.attested.is_some() {
        a.attested = part.attested;
    }
}

/// Where the judgement for these inputs is kept.
fn path(cache_dir: &Path, inputs: &[&[u8]]) -> PathBuf {
    let parts: Vec<&[u8]> = std::iter::once(code_fingerprint())
        .chain(inputs.iter().copied())
        .collect();
    crate::cache::kept_path(cache_dir, "judgements-v1", &parts)
}

/// The judgement kept for these inputs, when one younger than `max_age`
/// is.
pub fn recall(
    cache_dir: Option<&Path>,
    inputs: &[&[u8]],
    max_age: SignedDuration,
) -> Option<Judged> {
    if max_age.is_zero() {
        return None;
    }
    let bytes = std::fs::read(path(cache_dir?, inputs)).ok()?;
    let kept: Judged = serde_json::from_slice(&bytes).ok()?;
    let age = Timestamp::now().duration_since(kept.judged_at);
    (!age.is_negative() && age < max_age).then_some(kept)
}

/// Keeps a judgement for these inputs, unless `max_age` says none is
/// used.
pub fn keep(cache_dir: Option<&Path>, inputs: &[&[u8]], judged: &Judged, max_age: SignedDuration) {
    let Some(dir) = cache_dir.filter(|_| !max_age.is_zero()) else {
        return;
    };
    if let Ok(bytes) = serde_json::to_vec(judged) {
        crate::cache::keep(&path(dir, inputs), &bytes);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn part() -> Assessment {
        let mut a = Assessment::default();
        a.finding(Finding::new(
            "deprecated",
            Level::Warn,
            "deprecated: use b",
            "message=use b",
        ));
        a.unpublished.push("publisher-new: no publishers".into());
        a.publisher = Some("alice".into());
        a
    }

    #[test]
    fn a_complete_judgement_is_kept_and_recalled_whole_until_it_is_too_old() {
        let dir = tempfile::tempdir().unwrap();
        let inputs: [&[u8]; 2] = [b"npm", b"a@1.0.0"];
        let judged = Judged::keepable(&part()).unwrap();
        let hour = SignedDuration::from_hours(1);
        keep(Some(dir.path()), &inputs, &judged, SignedDuration::ZERO);
        assert!(
            recall(Some(dir.path()), &inputs, hour).is_none(),
            "not kept"
        );
        keep(Some(dir.path()), &inputs, &judged, hour);
        let back = recall(Some(dir.path()), &inputs, hour).unwrap();
        assert_eq!(back, judged);
        let mut a = Assessment::default();
        back.apply(&mut a);
        let mut direct = Assessment::default();
        merge(part(), &mut direct);
        assert_eq!(a.findings, direct.findings);
        assert_eq!(a.unpublished, direct.unpublished);
        assert_eq!(a.publisher, direct.publisher);
        // Other inputs, a judgement too old, or keeping turned off: asked again.
        assert!(recall(Some(dir.path()), &[b"npm", b"a@1.0.1"], hour).is_none());
        assert!(recall(Some(dir.path()), &inputs, SignedDuration::ZERO).is_none());
        let mut old = judged.clone();
        old.judged_at = Timestamp::now() - SignedDuration::from_hours(2);
        keep(Some(dir.path()), &inputs, &old, hour);
        assert!(recall(Some(dir.path()), &inputs, hour).is_none());
        assert!(recall(Some(dir.path()), &inputs, SignedDuration::from_hours(3)).is_some());
    }

    #[test]
    fn an_unfinished_or_clock_dependent_judgement_is_not_kept() {
        let mut unknown = part();
        unknown.unknown("known-malicious: the advisory data could not be fetched");
        assert!(Judged::keepable(&unknown).is_none());
        for code in warden_history::CHANGES_WITH_TIME {
            let mut timed = part();
            timed.finding(Finding::new(*code, Level::Warn, "s", "e"));
            assert!(Judged::keepable(&timed).is_none(), "{code}");
        }
        let mut unreadable = part();
        unreadable.unreadable.push("broken".into());
        assert!(Judged::keepable(&unreadable).is_none());
    }
}
