//! Digests published by registries, checked against the bytes received.

use base64::Engine;
use sha2::Digest;

use crate::{Error, ErrorKind};

/// A digest an artifact must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// npm's Subresource Integrity (`sha512-<base64>`, possibly several,
    /// space-separated; the strongest is checked).
    Sri(String),
    /// sha1, hex: npm's `shasum`, only where no SRI is published.
    Sha1Hex(String),
    /// sha256, hex: what Python indexes publish.
    Sha256Hex(String),
}

impl Expected {
    /// The npm digest to check: `integrity` when present, else `shasum`.
    pub fn npm(integrity: Option<&str>, shasum: Option<&str>) -> Option<Self> {
        integrity
            .filter(|s| !s.trim().is_empty())
            .map(|s| Self::Sri(s.to_owned()))
            .or_else(|| shasum.map(|s| Self::Sha1Hex(s.to_ascii_lowercase())))
    }

    /// Whether this is a weak (sha1) digest.
    pub fn is_weak(&self) -> bool {
        match self {
            Self::Sha1Hex(_) => true,
            Self::Sri(s) => !s.split_whitespace().any(|p| {
                p.starts_with("sha512-") || p.starts_with("sha256-") || p.starts_with("sha384-")
            }),
            Self::Sha256Hex(_) => false,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The Subresource Integrity npm pins bytes by: `sha512-<base64>`.
pub fn sri_sha512(bytes: &[u8]) -> String {
    format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha512::digest(bytes))
    )
}

/// Checks `bytes` against `expected`.
pub fn verify(artifact: &str, bytes: &[u8], expected: &Expected) -> Result<(), Error> {
    let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
    let mismatch = |expected: String, actual: String| {
        Err(Error::new(
            artifact,
            ErrorKind::Integrity { expected, actual },
        ))
    };
    match expected {
        Expected::Sri(sri) => {
            // Strongest algorithm first, as the SRI spec says.
            let parts: Vec<&str> = sri.split_whitespace().collect();
            for algorithm in ["sha512", "sha384", "sha256", "sha1"] {
                let Some(part) = parts
                    .iter()
                    .find(|p| p.starts_with(&format!("{algorithm}-")))
                else {
                    continue;
                };
                let want = part[algorithm.len() + 1..].split('?').next().unwrap_or("");
                let actual = match algorithm {
                    "sha512" => b64(&sha2::Sha512::digest(bytes)),
                    "sha384" => b64(&sha2::Sha384::digest(bytes)),
                    "sha256" => b64(&sha2::Sha256::digest(bytes)),
                    _ => b64(&sha1::Sha1::digest(bytes)),
                };
                return if actual == want {
                    Ok(())
                } else {
                    mismatch((*part).to_owned(), format!("{algorithm}-{actual}"))
                };
            }
            Err(Error::new(artifact, ErrorKind::BadDigest(sri.clone())))
        }
        Expected::Sha1Hex(want) => {
            let actual = hex(&sha1::Sha1::digest(bytes));
            if &actual == want {
                Ok(())
            } else {
                mismatch(format!("sha1:{want}"), format!("sha1:{actual}"))
            }
        }
        Expected::Sha256Hex(want) => {
            let actual = hex(&sha2::Sha256::digest(bytes));
            if actual.eq_ignore_ascii_case(want) {
                Ok(())
            } else {
                mismatch(format!("sha256:{want}"), format!("sha256:{actual}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sri_sha1_and_sha256() {
        let data = b"hello";
        let sri = warden_testkit::build::npm_digests(data);
        verify("x", data, &Expected::Sri(sri.integrity.clone())).unwrap();
        verify("x", data, &Expected::Sha1Hex(sri.shasum.clone())).unwrap();
        verify(
            "x",
            data,
            &Expected::Sha256Hex(warden_testkit::build::sha256_hex(data)),
        )
        .unwrap();
        let err = verify(
            "npm:x@1.0.0",
            b"hellO",
            &Expected::Sri(sri.integrity.clone()),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("npm:x@1.0.0: integrity check failed"),
            "{text}"
        );
        assert!(text.contains(&sri.integrity), "{text}");
        // Several digests: the strongest decides.
        let both = format!("sha1-AAAA {}", sri.integrity);
        verify("x", data, &Expected::Sri(both)).unwrap();
        assert!(verify("x", data, &Expected::Sri("md5-xyz".into())).is_err());
        assert!(Expected::npm(None, Some("ABC")).unwrap().is_weak());
        assert!(
            !Expected::npm(Some(&sri.integrity), Some("abc"))
                .unwrap()
                .is_weak()
        );
    }
}
