//! Verdicts on archives, kept by a strong digest of their bytes so that a
//! second run over an unchanged plan downloads and reads nothing again.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use warden_archive::Expected;
use warden_policy::Level;

use crate::facts::SurfaceFacts;

/// What reading an archive established.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArchiveVerdict {
    /// The rules and warden version that produced it.
    fingerprint: String,
    pub surface: SurfaceFacts,
    /// (code, level, summary, evidence)
    pub findings: Vec<(String, Level, String, String)>,
}

impl From<&warden_rules::Analysis> for ArchiveVerdict {
    fn from(a: &warden_rules::Analysis) -> Self {
        Self {
            fingerprint: fingerprint(),
            surface: SurfaceFacts::from(a),
            findings: a
                .findings
                .iter()
                .map(|f| {
                    (
                        f.rule.clone(),
                        f.level,
                        f.summary.clone(),
                        format!("{}:{} {}", f.file, f.line.unwrap_or(0), f.excerpt),
                    )
                })
                .collect(),
        }
    }
}

fn fingerprint() -> String {
    use sha2::Digest;
    static FINGERPRINT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    FINGERPRINT
        .get_or_init(|| {
            let d = sha2::Sha256::digest(warden_rules::BUILTIN_RULES.as_bytes());
            let hex: String = d.iter().take(8).map(|b| format!("{b:02x}")).collect();
            format!("{}:{hex}", env!("CARGO_PKG_VERSION"))
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
    (v.fingerprint == fingerprint()).then_some(v)
}

/// Keeps a verdict; a failure only costs a later run the work again.
pub fn write_verdict(path: &Path, v: &ArchiveVerdict) {
    let (Some(dir), Ok(bytes)) = (path.parent(), serde_json::to_vec(v)) else {
        return;
    };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    // Written aside and renamed, so a concurrent reader never sees half.
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    if std::fs::write(&tmp, bytes).is_ok() {
        let _ = std::fs::rename(&tmp, path);
    }
}
