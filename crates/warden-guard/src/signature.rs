//! npm registry signatures: each version's `dist.signatures` holds ECDSA
//! P-256 / SHA-256 signatures over `{name}@{version}:{integrity}`, made
//! with a key the registry publishes at `/-/npm/v1/keys`. Verified with
//! aws-lc-rs, through the Sigstore crates' `VerificationKey` (the
//! cryptography provenance verification already brings, and faster than
//! RustCrypto's `p256`); nothing here is hand-written cryptography.

use std::path::Path;

use base64::Engine as _;
use jiff::Timestamp;
use sigstore_verify::crypto::{SigningScheme, VerificationKey};
use sigstore_verify::types::{DerPublicKey, SignatureBytes};
use warden_policy::Level;
use warden_registry::npm::{Packument, Signature, SigningKey};

use crate::{Assessment, Finding, PlanCode};

/// What checking one version's registry signature established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// A signature by a current registry key verifies.
    Verified { keyid: String },
    /// Signed, and no signature verifies: swapped bytes, another key, a key
    /// that had expired.
    Invalid(String),
    /// The registry signs this package's other versions, and not this one.
    Missing,
    /// Nothing to verify with: the registry publishes no keys, or signs
    /// none of this package's versions (a mirror that strips them).
    NotPublished(String),
}

/// Checks the signatures of `name@version` with `integrity` (the digest
/// the plan pins). `keys` is what the registry publishes (`None`: no key
/// endpoint); `others_signed` says whether other versions of the package
/// carry signatures; `published` is the version's publish time. Each
/// signature that verified is kept in `cache_dir` (when given) by a digest
/// of the key, the signature and the message, so a warm run verifies
/// nothing again; only a signature that verified is kept.
#[allow(clippy::too_many_arguments)]
pub fn check_cached(
    cache_dir: Option<&Path>,
    name: &str,
    version: &str,
    integrity: Option<&str>,
    signatures: &[Signature],
    keys: Option<&[SigningKey]>,
    others_signed: bool,
    published: Option<Timestamp>,
) -> Check {
    let Some(keys) = keys.filter(|k| !k.is_empty()) else {
        return Check::NotPublished("the registry publishes no signing keys".into());
    };
    if signatures.is_empty() {
        return if others_signed {
            Check::Missing
        } else {
            Check::NotPublished("the registry serves no signature for any of its versions".into())
        };
    }
    let Some(integrity) = integrity else {
        return Check::Invalid("there is no integrity to check the signature against".into());
    };
    let message = format!("{name}@{version}:{integrity}");
    let mut reasons = Vec::new();
    for sig in signatures {
        let keyid = sig.keyid.as_deref().unwrap_or("");
        let Some(key) = keys.iter().find(|k| k.keyid.as_deref() == Some(keyid)) else {
            reasons.push(format!(
                "signed by `{keyid}`, a key the registry does not publish"
            ));
            continue;
        };
        if let Some(expired) = key
            .expires
            .as_deref()
            .and_then(|e| e.parse::<Timestamp>().ok())
        {
            if published.is_none_or(|p| p > expired) {
                reasons.push(format!(
                    "signed by `{keyid}`, a key that expired on {expired} before this version was published"
                ));
                continue;
            }
        }
        let kept = cache_dir.map(|d| {
            crate::cache::kept_path(
                d,
                "signatures-v1",
                &[
                    key.key.as_deref().unwrap_or("").as_bytes(),
                    sig.sig.as_deref().unwrap_or("").as_bytes(),
                    message.as_bytes(),
                ],
            )
        });
        if kept.as_deref().is_some_and(Path::exists) {
            return Check::Verified {
                keyid: keyid.to_owned(),
            };
        }
        match verifies(key, sig, &message) {
            Ok(()) => {
                if let Some(path) = kept {
                    crate::cache::keep(&path, b"");
                }
                return Check::Verified {
                    keyid: keyid.to_owned(),
                };
            }
            Err(why) => reasons.push(format!("the signature by `{keyid}` {why}")),
        }
    }
    Check::Invalid(reasons.join("; "))
}

fn verifies(key: &SigningKey, sig: &Signature, message: &str) -> Result<(), String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let der = b64
        .decode(key.key.as_deref().unwrap_or(""))
        .map_err(|e| format!("cannot be checked: the key is not base64 ({e})"))?;
    let key = VerificationKey::from_spki_with_scheme(
        &DerPublicKey::new(der),
        SigningScheme::EcdsaP256Sha256,
    )
    .map_err(|e| format!("cannot be checked: the key is not a P-256 public key ({e})"))?;
    let raw = b64
        .decode(sig.sig.as_deref().unwrap_or(""))
        .map_err(|e| format!("is not base64 ({e})"))?;
    key.verify(message.as_bytes(), &SignatureBytes::new(raw))
        .map_err(|_| format!("does not verify for `{message}`"))
}

/// One report line for the registry's signature on `version`: its keys
/// fetched, then [`check_version`] against the registry's integrity.
pub async fn describe_version(
    client: &warden_registry::NpmClient,
    doc: &Packument,
    version: &str,
) -> String {
    match client.signing_keys(&doc.name).await {
        Ok(keys) => check_version(
            client.http.options().cache_dir.as_deref(),
            doc,
            version,
            None,
            keys.as_ref().map(|k| k.keys.as_slice()),
        )
        .describe(),
        Err(e) => format!("not verified: the signing keys could not be fetched: {e}"),
    }
}

/// Checks the signature of `version` in `doc` over `pinned` (the
/// integrity the plan pins; the registry's when `None`).
pub fn check_version(
    cache_dir: Option<&Path>,
    doc: &Packument,
    version: &str,
    pinned: Option<&str>,
    keys: Option<&[SigningKey]>,
) -> Check {
    let dist = doc
        .versions
        .get(version)
        .and_then(|m| m.dist.clone())
        .unwrap_or_default();
    let others_signed = doc.versions.values().any(|m| {
        m.dist
            .as_ref()
            .and_then(|d| d.signatures.as_ref())
            .is_some_and(|s| !s.is_empty())
    });
    check_cached(
        cache_dir,
        &doc.name,
        version,
        pinned.or(dist.integrity.as_deref()),
        dist.signatures.as_deref().unwrap_or_default(),
        keys,
        others_signed,
        doc.publish_times.get(version).copied(),
    )
}

impl Check {
    /// One line for people: "verified (key)", "invalid: why", ….
    pub fn describe(&self) -> String {
        match self {
            Self::Verified { keyid } => format!("verified ({keyid})"),
            Self::Invalid(why) => format!("invalid: {why}"),
            Self::Missing => "missing (the registry signs other versions)".to_owned(),
            Self::NotPublished(why) => format!("not verified: {why}"),
        }
    }
}

/// Adds what the check established to a package's assessment: a finding
/// for an invalid or missing signature, a registry gap when there was
/// nothing to verify with. Never a pass for what was not verified.
pub fn apply(check: Check, a: &mut Assessment) {
    match check {
        Check::Verified { .. } => {}
        Check::Invalid(why) => a.finding(Finding::new(
            PlanCode::SignatureInvalid,
            Level::Deny,
            "the registry's signature on this version does not verify",
            why,
        )),
        Check::Missing => a.finding(Finding::new(
            PlanCode::SignatureMissing,
            Level::Warn,
            "the registry signs this package's other versions, and not this one",
            "dist.signatures is absent",
        )),
        Check::NotPublished(why) => a
            .unpublished
            .push(format!("{}: {why}", PlanCode::SignatureInvalid.as_str())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use p256::ecdsa::signature::Signer as _;
    use p256::ecdsa::{Signature as EcdsaSignature, SigningKey as EcdsaKey};
    use p256::pkcs8::EncodePublicKey as _;

    /// [`check_cached`] without a cache.
    #[allow(clippy::too_many_arguments)]
    fn verify(
        name: &str,
        version: &str,
        integrity: Option<&str>,
        signatures: &[Signature],
        keys: Option<&[SigningKey]>,
        others_signed: bool,
        published: Option<Timestamp>,
    ) -> Check {
        check_cached(
            None,
            name,
            version,
            integrity,
            signatures,
            keys,
            others_signed,
            published,
        )
    }
    use super::*;

    fn key(seed: u8, keyid: &str, expires: Option<&str>) -> (EcdsaKey, SigningKey) {
        let secret = EcdsaKey::from_slice(&[seed; 32]).unwrap();
        let der = p256::PublicKey::from(secret.verifying_key())
            .to_public_key_der()
            .unwrap();
        let public = SigningKey {
            keyid: Some(keyid.into()),
            key: Some(base64::engine::general_purpose::STANDARD.encode(der.as_bytes())),
            expires: expires.map(str::to_owned),
            scheme: Some("ecdsa-sha2-nistp256".into()),
        };
        (secret, public)
    }

    fn sign(secret: &EcdsaKey, keyid: &str, message: &str) -> Signature {
        let sig: EcdsaSignature = secret.sign(message.as_bytes());
        Signature {
            keyid: Some(keyid.into()),
            sig: Some(base64::engine::general_purpose::STANDARD.encode(sig.to_der().as_bytes())),
        }
    }

    const INTEGRITY: &str = "sha512-AAAA";

    #[test]
    fn a_signature_by_a_published_key_over_the_pinned_integrity_verifies() {
        let (secret, public) = key(7, "SHA256:k1", None);
        let sig = sign(&secret, "SHA256:k1", &format!("demo@1.0.0:{INTEGRITY}"));
        let keys = [public];
        let check = |integrity: &str, sigs: &[Signature]| {
            verify(
                "demo",
                "1.0.0",
                Some(integrity),
                sigs,
                Some(&keys),
                true,
                None,
            )
        };
        assert_eq!(
            check(INTEGRITY, std::slice::from_ref(&sig)),
            Check::Verified {
                keyid: "SHA256:k1".into()
            }
        );
        // Other bytes (another integrity) under the same signature.
        assert!(
            matches!(check("sha512-BBBB", &[sig]), Check::Invalid(w) if w.contains("does not verify"))
        );
    }

    #[test]
    fn a_verified_signature_is_kept_and_only_that() {
        let dir = tempfile::tempdir().unwrap();
        let (secret, public) = key(7, "SHA256:k1", None);
        let message = format!("demo@1.0.0:{INTEGRITY}");
        let good = sign(&secret, "SHA256:k1", &message);
        let keys = [public];
        let run = |integrity: &str, sig: &Signature| {
            check_cached(
                Some(dir.path()),
                "demo",
                "1.0.0",
                Some(integrity),
                std::slice::from_ref(sig),
                Some(&keys),
                true,
                None,
            )
        };
        assert!(matches!(run("sha512-BBBB", &good), Check::Invalid(_)));
        let kept =
            || std::fs::read_dir(dir.path().join("signatures-v1")).map_or(0, Iterator::count);
        assert_eq!(kept(), 0, "a failure is not kept");
        assert!(matches!(run(INTEGRITY, &good), Check::Verified { .. }));
        assert_eq!(kept(), 1);
        // The kept result answers for exactly these inputs: another
        // message under the same signature is verified again, and fails.
        assert!(matches!(run(INTEGRITY, &good), Check::Verified { .. }));
        assert!(matches!(run("sha512-BBBB", &good), Check::Invalid(_)));
    }

    #[test]
    fn unknown_and_expired_keys_do_not_count() {
        let (secret, public) = key(7, "SHA256:k1", Some("2020-01-01T00:00:00Z"));
        let (other, _) = key(9, "SHA256:k2", None);
        let message = format!("demo@1.0.0:{INTEGRITY}");
        let keys = [public];
        let published = "2024-06-01T00:00:00Z".parse().ok();
        let by_unknown = sign(&other, "SHA256:k2", &message);
        let check = verify(
            "demo",
            "1.0.0",
            Some(INTEGRITY),
            &[by_unknown],
            Some(&keys),
            true,
            published,
        );
        assert!(
            matches!(&check, Check::Invalid(w) if w.contains("does not publish")),
            "{check:?}"
        );
        let by_expired = sign(&secret, "SHA256:k1", &message);
        let check = verify(
            "demo",
            "1.0.0",
            Some(INTEGRITY),
            std::slice::from_ref(&by_expired),
            Some(&keys),
            true,
            published,
        );
        assert!(
            matches!(&check, Check::Invalid(w) if w.contains("expired")),
            "{check:?}"
        );
        // Published before the key expired: it counts.
        let earlier = "2019-06-01T00:00:00Z".parse().ok();
        let check = verify(
            "demo",
            "1.0.0",
            Some(INTEGRITY),
            &[by_expired],
            Some(&keys),
            true,
            earlier,
        );
        assert!(matches!(check, Check::Verified { .. }), "{check:?}");
    }

    #[test]
    fn nothing_to_verify_is_a_gap_or_a_missing_signature_never_a_pass() {
        let (_, public) = key(7, "SHA256:k1", None);
        let keys = [public];
        let check = |keys: Option<&[SigningKey]>, others| {
            verify("demo", "1.0.0", Some(INTEGRITY), &[], keys, others, None)
        };
        assert!(matches!(check(None, true), Check::NotPublished(_)));
        assert!(matches!(check(Some(&keys), false), Check::NotPublished(_)));
        assert_eq!(check(Some(&keys), true), Check::Missing);
        let mut a = Assessment::default();
        apply(check(None, false), &mut a);
        assert_eq!(a.unpublished.len(), 1);
        assert!(a.findings.is_empty());
        apply(check(Some(&keys), true), &mut a);
        assert_eq!(a.findings[0].code, "signature-missing");
    }
}
