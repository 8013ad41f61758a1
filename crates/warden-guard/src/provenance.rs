//! Sigstore provenance, verified: npm's attestation bundles and PyPI's
//! PEP 740 attestations are checked with the Sigstore project's
//! `sigstore-verify` (certificate chain to the trusted root, transparency
//! log inclusion proof or signed entry timestamp, the DSSE signature, and
//! the in-toto statement's subject digest equal to the bytes warden
//! checked). Only then is the signer's identity, read from the
//! certificate, believed: the repository and workflow that built the
//! artifact. A claim that does not verify is never taken as provenance.
//!
//! The trusted root is Sigstore's production root as the `sigstore-trust-root`
//! crate embeds it, unless `--trust-root` (or `WARDEN_TRUST_ROOT`) names
//! another file: an air-gapped copy, a private Sigstore, or the testkit's.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use base64::Engine as _;
use sha2::Digest as _;
use sigstore_verify::trust_root::TrustedRoot;
use sigstore_verify::types::{Artifact, ArtifactDigest, Bundle, HashAlgorithm};
use sigstore_verify::{VerificationPolicy, Verifier};

/// The newest key in the embedded production root takes effect on this
/// date; `docs/provenance.md` says how to refresh it.
pub const EMBEDDED_ROOT_DATE: &str = "2025-09-23";

const EMBEDDED: &str = sigstore_verify::trust_root::SIGSTORE_PRODUCTION_TRUSTED_ROOT;

/// The trusted root bundles are verified against.
pub struct TrustRoot {
    verifier: Verifier,
    /// Where it came from, for reports.
    pub source: String,
    /// A root without certificate transparency logs (a private Sigstore,
    /// the testkit's) cannot check SCTs; with them, SCTs are required.
    check_sct: bool,
    /// A digest of the root's text: verified results are cached under it.
    fingerprint: [u8; 32],
}

impl std::fmt::Debug for TrustRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustRoot")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl TrustRoot {
    fn from_text(text: &str, source: String) -> Result<Self, String> {
        let root = TrustedRoot::from_json(text)
            .map_err(|e| format!("not a Sigstore trusted root: {e}"))?;
        let verifier = Verifier::new(&root).map_err(|e| e.to_string())?;
        Ok(Self {
            verifier,
            source,
            check_sct: !root.ctlogs.is_empty(),
            fingerprint: sha2::Sha256::digest(text.as_bytes()).into(),
        })
    }

    /// Sigstore's production root, as shipped.
    pub fn embedded() -> Result<Self, String> {
        Self::from_text(
            EMBEDDED,
            format!("Sigstore production root (embedded, {EMBEDDED_ROOT_DATE})"),
        )
    }

    /// A trusted root file (`trusted_root.json` as Sigstore publishes it).
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_text(&text, path.display().to_string())
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    fn policy(&self) -> VerificationPolicy {
        let policy = VerificationPolicy::any_identity();
        if self.check_sct {
            policy
        } else {
            policy.skip_sct()
        }
    }
}

static CONFIGURED: OnceLock<Option<PathBuf>> = OnceLock::new();
static LOADED: OnceLock<Result<TrustRoot, String>> = OnceLock::new();

/// Names the trusted root file for this process (`--trust-root`), loading
/// it at once so a bad file is a configuration error before any check.
/// Without a call, or with `None`, the embedded root is used, loaded only
/// when a bundle is first verified.
pub fn configure(path: Option<PathBuf>) -> Result<(), String> {
    let given = path.is_some();
    let _ = CONFIGURED.set(path);
    if given {
        trust_root().map(|_| ())
    } else {
        Ok(())
    }
}

/// The trusted root in force.
pub fn trust_root() -> Result<&'static TrustRoot, String> {
    LOADED
        .get_or_init(|| match CONFIGURED.get_or_init(|| None) {
            Some(path) => TrustRoot::from_file(path),
            None => TrustRoot::embedded(),
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The fingerprint of the root in force, without loading the embedded
/// one (a warm run answers from the cache and never parses it).
fn fingerprint() -> Result<[u8; 32], String> {
    static EMBEDDED_DIGEST: OnceLock<[u8; 32]> = OnceLock::new();
    match CONFIGURED.get_or_init(|| None) {
        Some(_) => trust_root().map(|r| r.fingerprint),
        None => {
            Ok(*EMBEDDED_DIGEST.get_or_init(|| sha2::Sha256::digest(EMBEDDED.as_bytes()).into()))
        }
    }
}

/// The fingerprint of the trusted root in force, for keys of what was
/// judged with it; `None` when no root can be had.
pub fn root_fingerprint() -> Option<[u8; 32]> {
    fingerprint().ok()
}

/// Where a verified result for these inputs is kept: under a digest of
/// the root in force and the inputs. `None` without a cache or a root.
fn kept_at(cache_dir: Option<&Path>, inputs: &[&[u8]]) -> Option<PathBuf> {
    let fingerprint = fingerprint().ok()?;
    let parts: Vec<&[u8]> = std::iter::once(fingerprint.as_slice())
        .chain(inputs.iter().copied())
        .collect();
    Some(crate::cache::kept_path(cache_dir?, "provenance-v1", &parts))
}

fn recall(cache_dir: Option<&Path>, inputs: &[&[u8]]) -> Option<Attested> {
    let bytes = std::fs::read(kept_at(cache_dir, inputs)?).ok()?;
    serde_json::from_slice::<Identity>(&bytes)
        .ok()
        .map(Attested::Verified)
}

/// Verifies with the root in force, answering from `cache_dir` when these
/// inputs verified before under this root. Only a verified result is kept
/// (the signer, as JSON).
fn cached(
    cache_dir: Option<&Path>,
    inputs: &[&[u8]],
    verify: impl FnOnce(&TrustRoot) -> Attested,
) -> Attested {
    if let Some(kept) = recall(cache_dir, inputs) {
        return kept;
    }
    let result = match trust_root() {
        Ok(root) => verify(root),
        Err(e) => Attested::Unverifiable(format!("no usable trusted root: {e}")),
    };
    if let (Attested::Verified(id), Some(path)) = (&result, kept_at(cache_dir, inputs)) {
        if let Ok(json) = serde_json::to_vec(id) {
            crate::cache::keep(&path, &json);
        }
    }
    result
}

/// The kept result for npm's `name@version` with this tarball, when its
/// provenance verified before under the root in force: what was verified
/// is that a bundle binds these bytes to that signer, which no later
/// response can undo, so the bundle need not be fetched again.
pub fn recall_npm(
    cache_dir: Option<&Path>,
    name: &str,
    version: &str,
    sha512: &[u8],
) -> Option<Attested> {
    recall(cache_dir, &npm_inputs(name, version, sha512))
}

fn npm_inputs<'a>(name: &'a str, version: &'a str, sha512: &'a [u8]) -> [&'a [u8]; 4] {
    [b"npm", name.as_bytes(), version.as_bytes(), sha512]
}

/// Who built an artifact, as its verified signing certificate says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Identity {
    /// The source repository's URL (`https://<forge>/<owner>/<repo>`).
    pub repository: String,
    /// The workflow that signed, as a path in the repository
    /// (`.github/workflows/release.yml`), or the signer's URI when it
    /// lives elsewhere (a reusable workflow).
    pub workflow: String,
    /// The ref it was built from (`refs/tags/v1.2.0`).
    pub git_ref: Option<String>,
    /// The event that started the build (`push`, `release`).
    pub trigger: Option<String>,
    /// The OIDC issuer that vouched for the identity.
    pub issuer: Option<String>,
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.repository, self.workflow)?;
        if let Some(r) = &self.git_ref {
            write!(f, " at {r}")?;
        }
        if let Some(t) = &self.trigger {
            write!(f, " ({t})")?;
        }
        Ok(())
    }
}

/// What verifying an artifact's attestations established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attested {
    /// Every provenance bundle verifies for these bytes; the signer.
    Verified(Identity),
    /// A bundle does not verify, or verifies for other bytes or another
    /// artifact: why.
    Invalid(String),
    /// Verification could not be done (no usable trusted root, a bundle
    /// format this build cannot read): why. Never a pass.
    Unverifiable(String),
}

/// Verifies an npm attestations response (`/-/npm/v1/attestations/
/// name@version`) for the tarball whose sha512 is `sha512`: every SLSA
/// provenance bundle in it must verify and name `pkg:npm/name@version`.
pub fn verify_npm(
    cache_dir: Option<&Path>,
    body: &[u8],
    name: &str,
    version: &str,
    sha512: &[u8],
) -> Attested {
    cached(cache_dir, &npm_inputs(name, version, sha512), |root| {
        root.npm(body, name, version, sha512)
    })
}

/// Verifies a PEP 740 provenance object for the file `filename` whose
/// sha256 is `sha256`: every attestation must verify, name the file, and
/// be signed by the Trusted Publisher its bundle names.
pub fn verify_pypi(
    cache_dir: Option<&Path>,
    body: &[u8],
    filename: &str,
    sha256: &[u8],
) -> Attested {
    cached(
        cache_dir,
        &[b"pypi", body, filename.as_bytes(), sha256],
        |root| root.pypi(body, filename, sha256),
    )
}

impl TrustRoot {
    /// [`verify_npm`] against this root.
    pub fn npm(&self, body: &[u8], name: &str, version: &str, sha512: &[u8]) -> Attested {
        let Ok(doc) = serde_json::from_slice::<serde_json::Value>(body) else {
            // Broken JSON is a registry fault, not a signature that fails.
            return Attested::Unverifiable("the attestations response is not JSON".into());
        };
        let bundles: Vec<&serde_json::Value> = doc
            .get("attestations")
            .and_then(|a| a.as_array())
            .into_iter()
            .flatten()
            .filter(|a| {
                a.get("predicateType")
                    .and_then(|p| p.as_str())
                    .is_some_and(|p| p.contains("slsa.dev/provenance"))
            })
            .filter_map(|a| a.get("bundle"))
            .collect();
        if bundles.is_empty() {
            return Attested::Invalid("the attestations hold no SLSA provenance bundle".into());
        }
        let digest = match ArtifactDigest::new(HashAlgorithm::Sha2512, sha512.to_vec()) {
            Ok(d) => d,
            Err(e) => return Attested::Unverifiable(format!("the tarball's digest: {e}")),
        };
        let subject = format!("pkg:npm/{name}@{version}");
        self.all_verify(
            bundles
                .into_iter()
                .map(|b| (b.to_string(), subject.as_str())),
            || Artifact::Digest(digest.clone()),
        )
    }

    /// [`verify_pypi`] against this root.
    pub fn pypi(&self, body: &[u8], filename: &str, sha256: &[u8]) -> Attested {
        let Ok(doc) = serde_json::from_slice::<serde_json::Value>(body) else {
            return Attested::Unverifiable("the provenance object is not JSON".into());
        };
        let digest = match ArtifactDigest::new(HashAlgorithm::Sha2256, sha256.to_vec()) {
            Ok(d) => d,
            Err(e) => return Attested::Unverifiable(format!("the file's digest: {e}")),
        };
        let mut identity = None;
        let mut any = false;
        for group in doc
            .get("attestation_bundles")
            .and_then(|b| b.as_array())
            .into_iter()
            .flatten()
        {
            let publisher = group.get("publisher");
            for attestation in group
                .get("attestations")
                .and_then(|a| a.as_array())
                .into_iter()
                .flatten()
            {
                any = true;
                let bundle = pep740_bundle(attestation);
                match self.all_verify(std::iter::once((bundle, filename)), || {
                    Artifact::Digest(digest.clone())
                }) {
                    Attested::Verified(id) => {
                        if let Some(p) = publisher {
                            if let Err(why) = publisher_matches(p, &id) {
                                return Attested::Invalid(why);
                            }
                        }
                        identity.get_or_insert(id);
                    }
                    other => return other,
                }
            }
        }
        match identity {
            Some(id) => Attested::Verified(id),
            None if any => Attested::Invalid("no attestation verifies".into()),
            None => Attested::Invalid("the provenance object holds no attestation".into()),
        }
    }
}

/// A PEP 740 attestation as the Sigstore bundle (v0.3) it is made from.
fn pep740_bundle(attestation: &serde_json::Value) -> String {
    let material = attestation.get("verification_material");
    let envelope = attestation.get("envelope");
    let field = |v: Option<&serde_json::Value>, k: &str| {
        v.and_then(|v| v.get(k)).cloned().unwrap_or_default()
    };
    serde_json::json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {
            "certificate": {"rawBytes": field(material, "certificate")},
            "tlogEntries": field(material, "transparency_entries"),
        },
        "dsseEnvelope": {
            "payload": field(envelope, "statement"),
            "payloadType": "application/vnd.in-toto+json",
            "signatures": [{"sig": field(envelope, "signature")}],
        },
    })
    .to_string()
}

impl TrustRoot {
    /// Verifies each `(bundle JSON, expected subject name)`; all must verify
    /// and agree on the signer.
    fn all_verify<'a>(
        &self,
        bundles: impl Iterator<Item = (String, &'a str)>,
        artifact: impl Fn() -> Artifact<'static>,
    ) -> Attested {
        let root = self;
        let policy = root.policy();
        let mut identity: Option<Identity> = None;
        for (json, subject) in bundles {
            let bundle = match Bundle::from_json(&json) {
                Ok(b) => b,
                Err(e) => return Attested::Invalid(format!("the bundle cannot be read: {e}")),
            };
            let result = match root.verifier.verify(artifact(), &bundle, &policy) {
                Ok(r) => r,
                Err(e) => return classify(e),
            };
            if let Err(why) = names_subject(&bundle, subject) {
                return Attested::Invalid(why);
            }
            let Some(id) = result.certificate().and_then(identity_of) else {
                return Attested::Invalid(
                    "the signing certificate names no source repository".into(),
                );
            };
            match &identity {
                Some(first) if *first != id => {
                    return Attested::Invalid(format!(
                        "two bundles name different signers: {first} and {id}"
                    ));
                }
                _ => identity = Some(id),
            }
        }
        identity.map_or_else(
            || Attested::Invalid("no bundle to verify".into()),
            Attested::Verified,
        )
    }
}

/// Failures of the trusted root or of this build are unverifiable; every
/// other failure is a bundle that does not verify.
fn classify(e: sigstore_verify::Error) -> Attested {
    use sigstore_verify::Error as E;
    match e {
        E::InvalidTrustRoot(_) | E::TrustRoot(_) | E::UnsupportedArtifact(_) => {
            Attested::Unverifiable(e.to_string())
        }
        other => Attested::Invalid(other.to_string()),
    }
}

/// The statement must name the artifact it is about: npm's
/// `pkg:npm/name@version`, PyPI's file name.
fn names_subject(bundle: &Bundle, expected: &str) -> Result<(), String> {
    let payload = match &bundle.content {
        sigstore_verify::types::SignatureContent::DsseEnvelope(e) => e.payload.as_bytes().to_vec(),
        _ => return Err("the bundle holds no attestation statement".into()),
    };
    let statement: serde_json::Value =
        serde_json::from_slice(&payload).map_err(|e| format!("the statement: {e}"))?;
    let names: Vec<&str> = statement
        .get("subject")
        .and_then(|s| s.as_array())
        .into_iter()
        .flatten()
        .filter_map(|s| s.get("name").and_then(|n| n.as_str()))
        .collect();
    let wanted = expected.to_ascii_lowercase();
    if names.iter().any(|n| n.to_ascii_lowercase() == wanted) {
        Ok(())
    } else {
        Err(format!(
            "the statement is about {}, not {expected}",
            names.join(", ")
        ))
    }
}

/// The signer, from the Fulcio claims of a verified certificate.
fn identity_of(cert: &sigstore_verify::crypto::CertificateInfo) -> Option<Identity> {
    let claims = &cert.ci_claims;
    let repository = claims.source_repository_uri.clone()?;
    let signer = claims
        .build_signer_uri
        .clone()
        .or_else(|| cert.identity.as_ref().map(|i| i.as_str().to_owned()))?;
    let signer = signer.split('@').next().unwrap_or(&signer).to_owned();
    let workflow = signer
        .strip_prefix(repository.trim_end_matches('/'))
        .map(|w| w.trim_start_matches('/').to_owned())
        .unwrap_or(signer);
    Some(Identity {
        repository,
        workflow,
        git_ref: claims.source_repository_ref.clone(),
        trigger: claims.build_trigger.clone(),
        issuer: cert.issuer.clone(),
    })
}

/// A PEP 740 bundle names its Trusted Publisher (`owner/repo`, the
/// workflow's file name); the certificate must be that publisher's.
fn publisher_matches(publisher: &serde_json::Value, id: &Identity) -> Result<(), String> {
    let get = |k: &str| publisher.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let repository = get("repository");
    let workflow = get("workflow");
    let repo_ok = repository.is_empty()
        || id
            .repository
            .to_ascii_lowercase()
            .trim_end_matches('/')
            .ends_with(&format!("/{}", repository.to_ascii_lowercase()));
    let workflow_ok = workflow.is_empty()
        || id.workflow == workflow
        || id.workflow.ends_with(&format!("/{workflow}"));
    if repo_ok && workflow_ok {
        Ok(())
    } else {
        Err(format!(
            "the bundle names the Trusted Publisher {repository} {workflow}, but was signed by {id}"
        ))
    }
}

/// One line for reports: "verified" with the signer, "claimed, not
/// verified" with why, or "none". `claimed` says whether the registry's
/// metadata claims provenance for the version.
pub fn describe(result: Option<&Attested>, claimed: bool) -> String {
    match result {
        Some(Attested::Verified(id)) => format!("verified: built by {id}"),
        Some(Attested::Invalid(why)) => format!("claimed, does not verify: {why}"),
        Some(Attested::Unverifiable(why)) => format!("claimed, not verified: {why}"),
        None if claimed => "claimed, not verified: the registry does not serve its bundle".into(),
        None => "none".into(),
    }
}

/// The sha512 an npm integrity string (`sha512-<base64>`) names.
pub fn sha512_of(integrity: &str) -> Option<Vec<u8>> {
    integrity.split_whitespace().find_map(|part| {
        let b64 = part.strip_prefix("sha512-")?.split('?').next()?;
        base64::engine::general_purpose::STANDARD.decode(b64).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use warden_testkit::sigstore::{Flaw, Identity as Signer, world};

    fn root() -> TrustRoot {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.json");
        std::fs::write(&path, world().trusted_root().to_string()).unwrap();
        TrustRoot::from_file(&path).unwrap()
    }

    fn signer(repository: &str) -> Signer {
        Signer {
            repository: repository.into(),
            workflow: ".github/workflows/release.yml".into(),
            git_ref: "refs/tags/v1.0.0".into(),
        }
    }

    fn npm_response(tarball: &[u8], flaw: Flaw) -> Vec<u8> {
        let statement = json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "pkg:npm/demo@1.0.0",
                         "digest": {"sha512": format!("{:x}", sha2::Sha512::digest(tarball))}}],
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {},
        });
        let bundle = world().bundle(&statement, &signer("https://forge.example/o/demo"), flaw);
        json!({"attestations": [{"predicateType": "https://slsa.dev/provenance/v1", "bundle": bundle}]})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn an_npm_bundle_verifies_for_its_bytes_and_names_the_signer() {
        let root = root();
        let tarball = b"the tarball".as_slice();
        let sha512 = sha2::Sha512::digest(tarball).to_vec();
        let body = npm_response(tarball, Flaw::None);
        match root.npm(&body, "demo", "1.0.0", &sha512) {
            Attested::Verified(id) => {
                assert_eq!(id.repository, "https://forge.example/o/demo");
                assert_eq!(id.workflow, ".github/workflows/release.yml");
                assert_eq!(id.git_ref.as_deref(), Some("refs/tags/v1.0.0"));
                assert_eq!(id.trigger.as_deref(), Some("push"));
            }
            other => panic!("expected verified, got {other:?}"),
        }
        // Other bytes, another package, a bundle for another digest, a
        // certificate from a CA the root does not hold: none verifies.
        let other = sha2::Sha512::digest(b"swapped").to_vec();
        assert!(matches!(
            root.npm(&body, "demo", "1.0.0", &other),
            Attested::Invalid(_)
        ));
        assert!(matches!(
            root.npm(&body, "demo2", "1.0.0", &sha512),
            Attested::Invalid(_)
        ));
        let wrong = npm_response(tarball, Flaw::OtherDigest);
        assert!(matches!(
            root.npm(&wrong, "demo", "1.0.0", &sha512),
            Attested::Invalid(_)
        ));
        let foreign = npm_response(tarball, Flaw::UnknownCa);
        match root.npm(&foreign, "demo", "1.0.0", &sha512) {
            Attested::Invalid(why) => assert!(!why.is_empty()),
            other => panic!("expected invalid, got {other:?}"),
        }
        // Not JSON is a registry fault: unverifiable, not invalid. No
        // bundle in a response that parses is invalid.
        assert!(matches!(
            root.npm(b"<html>", "demo", "1.0.0", &sha512),
            Attested::Unverifiable(_)
        ));
        assert!(matches!(
            root.npm(br#"{"attestations": []}"#, "demo", "1.0.0", &sha512),
            Attested::Invalid(_)
        ));
    }

    #[test]
    fn a_pep740_attestation_must_be_signed_by_the_publisher_it_names() {
        let root = root();
        let file = b"wheel bytes".as_slice();
        let sha256 = sha2::Sha256::digest(file).to_vec();
        let statement = json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "demo-1.0-py3-none-any.whl", "digest": {"sha256": format!("{:x}", sha2::Sha256::digest(file))}}],
            "predicateType": "https://attestations.example.org/publish/v1",
            "predicate": null,
        });
        let object = |publisher: &str| {
            let attestation = world().pep740(
                &statement,
                &signer("https://forge.example/o/demo"),
                Flaw::None,
            );
            json!({"version": 1, "attestation_bundles": [{
                "publisher": {"kind": "GitHub", "repository": publisher, "workflow": "release.yml"},
                "attestations": [attestation]}]})
            .to_string()
            .into_bytes()
        };
        let good = object("o/demo");
        assert!(matches!(
            root.pypi(&good, "demo-1.0-py3-none-any.whl", &sha256),
            Attested::Verified(_)
        ));
        // The bundle claims a publisher the certificate is not.
        match root.pypi(
            &object("someone/else"),
            "demo-1.0-py3-none-any.whl",
            &sha256,
        ) {
            Attested::Invalid(why) => assert!(why.contains("someone/else"), "{why}"),
            other => panic!("expected invalid, got {other:?}"),
        }
        // Another file's name or bytes.
        assert!(matches!(
            root.pypi(&good, "demo-1.0.tar.gz", &sha256),
            Attested::Invalid(_)
        ));
        let other = sha2::Sha256::digest(b"other").to_vec();
        assert!(matches!(
            root.pypi(&good, "demo-1.0-py3-none-any.whl", &other),
            Attested::Invalid(_)
        ));
    }

    #[test]
    fn a_verified_result_is_kept_for_exactly_its_inputs() {
        // The only test that sets this process's root.
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root.json");
        std::fs::write(&root, world().trusted_root().to_string()).unwrap();
        configure(Some(root)).unwrap();
        let cache = dir.path().join("cache");
        let tarball = b"the tarball".as_slice();
        let sha512 = sha2::Sha512::digest(tarball).to_vec();
        let body = npm_response(tarball, Flaw::None);
        let kept = || std::fs::read_dir(cache.join("provenance-v1")).map_or(0, Iterator::count);
        let run = |sha512: &[u8]| verify_npm(Some(&cache), &body, "demo", "1.0.0", sha512);
        assert!(matches!(run(&sha512), Attested::Verified(_)));
        assert_eq!(kept(), 1);
        assert!(matches!(run(&sha512), Attested::Verified(_)));
        assert_eq!(kept(), 1);
        // Other bytes under the same bundle are verified again, and fail;
        // a failure is not kept.
        let other = sha2::Sha512::digest(b"other").to_vec();
        assert!(matches!(run(&other), Attested::Invalid(_)));
        assert_eq!(kept(), 1);
        // What verified is that a bundle binds these bytes to the signer:
        // the same version with the same bytes is recalled without its
        // bundle; another version or other bytes are not.
        assert!(matches!(
            recall_npm(Some(&cache), "demo", "1.0.0", &sha512),
            Some(Attested::Verified(_))
        ));
        assert!(recall_npm(Some(&cache), "demo", "1.0.1", &sha512).is_none());
        assert!(recall_npm(Some(&cache), "demo", "1.0.0", &other).is_none());
    }

    #[test]
    fn mangled_responses_never_panic_and_never_change_the_signer() {
        // Every byte-level mutation of a valid response either fails or
        // still names the signer the bundle was made for.
        let root = root();
        let tarball = b"the tarball".as_slice();
        let sha512 = sha2::Sha512::digest(tarball).to_vec();
        let good = npm_response(tarball, Flaw::None);
        let Attested::Verified(signer) = root.npm(&good, "demo", "1.0.0", &sha512) else {
            panic!("the seed verifies");
        };
        let runs =
            warden_testkit::fuzz::run(&[&good], warden_testkit::fuzz::iterations(300), |b| {
                if let Attested::Verified(id) = root.npm(b, "demo", "1.0.0", &sha512) {
                    assert_eq!(id, signer);
                }
                let _ = root.pypi(b, "demo-1.0-py3-none-any.whl", &sha512[..32]);
            });
        assert!(runs >= 300);
    }

    #[test]
    fn the_embedded_root_loads_and_a_bad_file_is_an_error() {
        let embedded = TrustRoot::embedded().unwrap();
        assert!(embedded.source.contains(EMBEDDED_ROOT_DATE));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.json");
        std::fs::write(&path, "{").unwrap();
        assert!(TrustRoot::from_file(&path).is_err());
        assert!(TrustRoot::from_file(&dir.path().join("missing.json")).is_err());
    }
}
