//! Verdicts on archives, kept by a strong digest of their bytes so that a
//! second run over an unchanged plan downloads and reads nothing again.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use warden_archive::{ArtifactKind, Expected, Limits, Runs};
use warden_policy::Level;

use crate::facts::SurfaceFacts;
use crate::{Assessment, Finding};

/// What reading an archive established.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArchiveVerdict {
    /// The rules, the analyzer's code and warden version that produced it.
    fingerprint: String,
    pub surface: SurfaceFacts,
    pub findings: Vec<ArchiveFinding>,
}

/// One thing the rules found in an archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveFinding {
    pub code: String,
    pub level: Level,
    pub summary: String,
    pub evidence: String,
    /// When the code it was found in runs.
    pub runs: Runs,
}

impl From<&warden_rules::Analysis> for ArchiveVerdict {
    fn from(a: &warden_rules::Analysis) -> Self {
        Self {
            fingerprint: fingerprint(),
            surface: SurfaceFacts::from(a),
            findings: a
                .findings
                .iter()
                .map(|f| ArchiveFinding {
                    code: f.rule.clone(),
                    level: f.level,
                    summary: f.summary.clone(),
                    evidence: f.evidence(),
                    runs: f.runs,
                })
                .collect(),
        }
    }
}

/// Where an archive is installed from, which decides what of it runs: npm
/// runs `prepare` for git and folder sources, never for a registry
/// tarball.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Registry,
    Source,
}

impl ArchiveVerdict {
    /// Adds what reading the archive found to a package's assessment:
    /// what is found in code that does not run for this source is left
    /// out.
    pub fn apply(&self, a: &mut Assessment, origin: Origin) {
        a.runs_install_code = self.surface.runs_code;
        for f in &self.findings {
            if origin == Origin::Registry && f.runs == Runs::SourceInstall {
                continue;
            }
            a.finding(Finding::new(
                &f.code,
                f.level,
                f.summary.clone(),
                f.evidence.clone(),
            ));
        }
    }
}

/// The verdict on an artifact's bytes: they are verified against
/// `expected` first, then the verdict comes from the cache when these
/// exact bytes were read before by the same rules, or is made now and
/// kept.
/// Archives read and verdicts reused in this process, for `-v`.
static ARCHIVES_READ: AtomicU64 = AtomicU64::new(0);
static VERDICTS_REUSED: AtomicU64 = AtomicU64::new(0);

/// How many archives this process has read, and how many verdicts it took
/// from the cache instead.
pub fn counts() -> (u64, u64) {
    (
        ARCHIVES_READ.load(Ordering::Relaxed),
        VERDICTS_REUSED.load(Ordering::Relaxed),
    )
}

pub fn judge_artifact(
    label: &str,
    bytes: &[u8],
    expected: Option<&Expected>,
    hint: ArtifactKind,
    cache_dir: Option<&Path>,
) -> Result<ArchiveVerdict, warden_archive::Error> {
    if let Some(expected) = expected {
        warden_archive::verify(label, bytes, expected)?;
    }
    let path = expected.and_then(|e| verdict_path(cache_dir, e));
    if let Some(v) = path.as_deref().and_then(read_verdict) {
        return Ok(v);
    }
    ARCHIVES_READ.fetch_add(1, Ordering::Relaxed);
    let analysis = warden_rules::analyze(label, bytes, None, Some(hint), &Limits::default())?;
    let verdict = ArchiveVerdict::from(&analysis);
    if let Some(path) = path {
        write_verdict(&path, &verdict);
    }
    Ok(verdict)
}

/// Changes when what a verdict holds changes.
const FORMAT: u32 = 3;

fn fingerprint() -> String {
    use sha2::Digest;
    static FINGERPRINT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    FINGERPRINT
        .get_or_init(|| {
            let d = sha2::Sha256::digest(warden_rules::BUILTIN_RULES.as_bytes());
            let hex: String = d.iter().take(8).map(|b| format!("{b:02x}")).collect();
            format!(
                "{}:{FORMAT}:{hex}:{}",
                env!("CARGO_PKG_VERSION"),
                env!("WARDEN_ANALYZER_HASH")
            )
        })
        .clone()
}

/// Where the verdict on the archive with this digest is kept: only strong
/// digests (sha512 SRI, sha256) name a verdict.
pub fn verdict_path(cache_dir: Option<&Path>, expected: &Expected) -> Option<PathBuf> {
    use sha2::Digest;
    let key = match expected {
        Expected::Sri(sri) if sri.contains("sha512-") => sri.clone(),
        Expected::Sha256Hex(hex) => format!("sha256:{}", hex.to_ascii_lowercase()),
        _ => return None,
    };
    let name: String = sha2::Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Some(cache_dir?.join("verdicts-v1").join(format!("{name}.json")))
}

/// The verdict kept at `path`, if it was made by these rules.
pub fn read_verdict(path: &Path) -> Option<ArchiveVerdict> {
    let v: ArchiveVerdict = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let fresh = v.fingerprint == fingerprint();
    if fresh {
        VERDICTS_REUSED.fetch_add(1, Ordering::Relaxed);
    }
    fresh.then_some(v)
}

/// Keeps a verdict; a failure only costs a later run the work again.
fn write_verdict(path: &Path, v: &ArchiveVerdict) {
    if let Ok(bytes) = serde_json::to_vec(v) {
        keep(path, &bytes);
    }
}

/// Where a result of `kind` (`signatures-v1`, `provenance-v1`) for these
/// inputs is kept: named by the SHA-256 of the inputs, each prefixed with
/// its length.
pub fn kept_path(cache_dir: &Path, kind: &str, inputs: &[&[u8]]) -> PathBuf {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for part in inputs {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    let name: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    cache_dir.join(kind).join(name)
}

/// Keeps `bytes` at `path`, written aside and renamed so a concurrent
/// reader never sees half; a failure only costs a later run the work again.
pub fn keep(path: &Path, bytes: &[u8]) {
    let Some(dir) = path.parent() else {
        return;
    };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    if std::fs::write(&tmp, bytes).is_ok() {
        let _ = std::fs::rename(&tmp, path);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn package(script: &str) -> (Vec<u8>, Expected) {
        let mut files = warden_testkit::build::Files::new();
        files.insert(
            "package.json".into(),
            format!(r#"{{"name":"p","version":"1.0.0","scripts":{{"postinstall":"{script}"}}}}"#)
                .into_bytes(),
        );
        let bytes = warden_testkit::build::tar_gz("package", &files);
        let sri = warden_testkit::build::npm_digests(&bytes).integrity;
        (bytes, Expected::Sri(sri))
    }

    #[test]
    fn a_verdict_is_kept_by_digest_and_the_bytes_are_verified_first() {
        let dir = tempfile::tempdir().unwrap();
        let (bytes, expected) = package("node install.js");
        let first = judge_artifact(
            "p",
            &bytes,
            Some(&expected),
            ArtifactKind::NpmPackage,
            Some(dir.path()),
        )
        .unwrap();
        assert!(first.surface.runs_code);
        let kept = verdict_path(Some(dir.path()), &expected).unwrap();
        assert!(read_verdict(&kept).is_some(), "kept");
        let again = judge_artifact(
            "p",
            &bytes,
            Some(&expected),
            ArtifactKind::NpmPackage,
            Some(dir.path()),
        )
        .unwrap();
        assert_eq!(again.findings, first.findings);
        // Other bytes under the same digest are refused before any verdict.
        let (other, _) = package("node other.js");
        assert!(
            judge_artifact(
                "p",
                &other,
                Some(&expected),
                ArtifactKind::NpmPackage,
                Some(dir.path())
            )
            .is_err()
        );
        // A weak digest names no verdict.
        assert!(verdict_path(Some(dir.path()), &Expected::Sha1Hex("ab".into())).is_none());
    }

    #[test]
    fn prepare_counts_only_for_sources_npm_runs_it_for() {
        // bson and mongodb ship `prepare: node etc/prepare.js` in their
        // registry tarballs; npm runs it for git and folder installs only.
        let mut files = warden_testkit::build::Files::new();
        files.insert(
            "package.json".into(),
            br#"{"name":"p","version":"1.0.0","scripts":{"prepare":"node etc/prepare.js"}}"#
                .to_vec(),
        );
        files.insert(
            "etc/prepare.js".into(),
            b"const cp = require('child_process'); cp.execSync('tsc');".to_vec(),
        );
        let bytes = warden_testkit::build::tar_gz("package", &files);
        let v = judge_artifact("p", &bytes, None, ArtifactKind::NpmPackage, None).unwrap();
        assert!(!v.surface.runs_code && !v.surface.content_findings);
        let codes = |origin| {
            let mut a = Assessment::default();
            v.apply(&mut a, origin);
            (
                a.runs_install_code,
                a.findings.into_iter().map(|f| f.code).collect::<Vec<_>>(),
            )
        };
        assert_eq!(codes(Origin::Registry), (false, vec![]));
        let (_, from_source) = codes(Origin::Source);
        assert!(
            from_source.contains(&"process-spawn".to_owned()),
            "{from_source:?}"
        );
    }

    #[test]
    fn a_manifest_an_install_script_requires_is_data_not_code() {
        // husky 4: `install` runs husky.js, which requires package.json;
        // the release scripts written there (`git push`, `npm publish`)
        // never run at install.
        let mut files = warden_testkit::build::Files::new();
        files.insert(
            "package.json".into(),
            br#"{"name":"h","version":"4.2.5","scripts":{"install":"node husky install","postversion":"git push && git push --tags && npm publish"}}"#
                .to_vec(),
        );
        files.insert(
            "husky.js".into(),
            b"const pkg = require('./package.json'); console.log(pkg.version);".to_vec(),
        );
        let bytes = warden_testkit::build::tar_gz("package", &files);
        let v = judge_artifact("h", &bytes, None, ArtifactKind::NpmPackage, None).unwrap();
        assert!(v.surface.runs_code);
        assert!(
            v.findings.iter().all(|f| f.code != "propagation"),
            "{:?}",
            v.findings
        );
    }
}
