//! The testkit's own Sigstore world: a root CA that issues signing
//! certificates to CI identities (as Fulcio does), a transparency log key
//! that signs entry timestamps and checkpoints (as Rekor does), and the
//! trusted root that names both. Bundles are made at test time for the
//! registry's npm tarballs and Python files, so warden verifies real
//! signatures, chains and log proofs against `trusted_root()`.
//!
//! Keys are made once per test process; the trusted root is written into
//! each sandbox and handed to warden as `WARDEN_TRUST_ROOT`.

use std::sync::OnceLock;

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PublicKeyData as _, SanType,
    SigningKey as _,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const ORIGIN: &str = "warden-testkit-log";
/// The OIDC issuer the test certificates name.
pub const ISSUER: &str = "https://token.actions.example.org";

/// Who a bundle says built the artifact: the CI identity its signing
/// certificate is issued to.
#[derive(Debug, Clone)]
pub struct Identity {
    /// `https://<forge>/<owner>/<repo>`.
    pub repository: String,
    /// `.github/workflows/release.yml`.
    pub workflow: String,
    pub git_ref: String,
}

/// How a bundle is made wrong, for the cases a verifier must refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    None,
    /// The statement names another digest than the artifact's.
    OtherDigest,
    /// The certificate is issued by a CA the trusted root does not hold.
    UnknownCa,
}

pub struct World {
    ca: KeyPair,
    ca_params: CertificateParams,
    ca_der: Vec<u8>,
    stranger: KeyPair,
    stranger_params: CertificateParams,
    log: KeyPair,
    log_id: [u8; 32],
}

/// The process's signing world, made on first use.
pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(World::new)
}

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "warden-testkit");
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2099, 1, 1);
    params
}

fn key() -> KeyPair {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("a P-256 key")
}

/// A DER UTF8String, as Fulcio encodes its claims.
fn utf8_string(value: &str) -> Vec<u8> {
    let bytes = value.as_bytes();
    let mut out = vec![0x0c];
    match bytes.len() {
        n @ 0..=127 => out.push(n as u8),
        n @ 128..=255 => out.extend([0x81, n as u8]),
        n => out.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(bytes);
    out
}

impl World {
    fn new() -> Self {
        let ca = key();
        let params = ca_params("warden-testkit root");
        let ca_der = params.self_signed(&ca).expect("the root CA").der().to_vec();
        let log = key();
        let log_id: [u8; 32] = Sha256::digest(log.subject_public_key_info()).into();
        Self {
            ca,
            ca_params: params,
            ca_der,
            stranger: key(),
            stranger_params: ca_params("someone else's CA"),
            log,
            log_id,
        }
    }

    /// The trusted root warden is pointed at (`--trust-root`): this CA and
    /// this log, and no CT log (the test certificates carry no SCTs).
    pub fn trusted_root(&self) -> Value {
        let start = json!({"start": "2020-01-01T00:00:00Z"});
        json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [{
                "baseUrl": "http://127.0.0.1/log",
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": B64.encode(self.log.subject_public_key_info()),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": start,
                },
                "logId": {"keyId": B64.encode(self.log_id)},
            }],
            "certificateAuthorities": [{
                "subject": {"organization": "warden-testkit", "commonName": "warden-testkit root"},
                "uri": "http://127.0.0.1/ca",
                "certChain": {"certificates": [{"rawBytes": B64.encode(&self.ca_der)}]},
                "validFor": start,
            }],
            "ctlogs": [],
            "timestampAuthorities": [],
        })
    }

    /// A leaf certificate for `identity` and the key it certifies.
    fn leaf(&self, identity: &Identity, flaw: Flaw) -> (Vec<u8>, KeyPair) {
        let signer = format!(
            "{}/{}@{}",
            identity.repository, identity.workflow, identity.git_ref
        );
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("leaf parameters");
        params.subject_alt_names = vec![SanType::URI(
            signer.clone().try_into().expect("an ASCII URI"),
        )];
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2099, 1, 1);
        let claim = |n: u64, value: &str| {
            CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 57264, 1, n], utf8_string(value))
        };
        params.custom_extensions = vec![
            claim(8, ISSUER),
            claim(9, &signer),
            claim(12, &identity.repository),
            claim(14, &identity.git_ref),
            claim(18, &signer),
            claim(20, "push"),
        ];
        let key = key();
        let cert = match flaw {
            Flaw::UnknownCa => params.signed_by(
                &key,
                &Issuer::from_params(&self.stranger_params, &self.stranger),
            ),
            _ => params.signed_by(&key, &Issuer::from_params(&self.ca_params, &self.ca)),
        }
        .expect("issuing a leaf certificate");
        (cert.der().to_vec(), key)
    }

    /// A Sigstore bundle (v0.3) over an in-toto `statement`: a DSSE
    /// envelope signed by a certificate for `identity`, logged as a `dsse`
    /// entry with a signed entry timestamp and an inclusion proof.
    pub fn bundle(&self, statement: &Value, identity: &Identity, flaw: Flaw) -> Value {
        let (cert, envelope, entry) = self.sign(statement, identity, flaw);
        json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {"certificate": {"rawBytes": B64.encode(&cert)}, "tlogEntries": [entry]},
            "dsseEnvelope": {
                "payload": envelope.0,
                "payloadType": "application/vnd.in-toto+json",
                "signatures": [{"sig": envelope.1}],
            },
        })
    }

    /// A PEP 740 attestation: the same material in PyPI's shape.
    pub fn pep740(&self, statement: &Value, identity: &Identity, flaw: Flaw) -> Value {
        let (cert, envelope, entry) = self.sign(statement, identity, flaw);
        json!({
            "version": 1,
            "verification_material": {"certificate": B64.encode(&cert), "transparency_entries": [entry]},
            "envelope": {"statement": envelope.0, "signature": envelope.1},
        })
    }

    /// The certificate, the envelope (payload and signature, base64) and
    /// the transparency log entry of one signing.
    fn sign(
        &self,
        statement: &Value,
        identity: &Identity,
        flaw: Flaw,
    ) -> (Vec<u8>, (String, String), Value) {
        let mut statement = statement.clone();
        if flaw == Flaw::OtherDigest {
            for subject in statement["subject"].as_array_mut().into_iter().flatten() {
                for digest in subject["digest"].as_object_mut().into_iter().flatten() {
                    *digest.1 = json!("00".repeat(digest.1.as_str().map_or(32, |s| s.len() / 2)));
                }
            }
        }
        let payload = serde_json::to_vec(&statement).expect("serialising JSON");
        let payload_type = "application/vnd.in-toto+json";
        // DSSE's pre-authentication encoding.
        let mut pae = format!(
            "DSSEv1 {} {} {} ",
            payload_type.len(),
            payload_type,
            payload.len()
        )
        .into_bytes();
        pae.extend_from_slice(&payload);
        let (cert, key) = self.leaf(identity, flaw);
        let signature = key.sign(&pae).expect("signing the envelope");
        let encoded = B64.encode(&cert);
        let lines: Vec<&str> = encoded
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
            .collect();
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        );
        let envelope_json = json!({
            "payload": B64.encode(&payload),
            "payloadType": payload_type,
            "signatures": [{"sig": B64.encode(&signature)}],
        });
        let body = json!({
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": {"algorithm": "sha256", "value": crate::build::sha256_hex(&serde_json::to_vec(&envelope_json).expect("JSON"))},
                "payloadHash": {"algorithm": "sha256", "value": crate::build::sha256_hex(&payload)},
                "signatures": [{"signature": B64.encode(&signature), "verifier": B64.encode(pem)}],
            },
        });
        let body = serde_json::to_vec(&body).expect("serialising JSON");
        let integrated = jiff::Timestamp::now().as_second() - 60;
        let entry = self.log_entry(&body, integrated);
        (cert, (B64.encode(&payload), B64.encode(&signature)), entry)
    }

    /// A one-entry log holding `body`: its signed entry timestamp, and an
    /// inclusion proof against a signed checkpoint.
    fn log_entry(&self, body: &[u8], integrated: i64) -> Value {
        let log_id_hex = crate::build::hex(&self.log_id);
        // The signed entry timestamp is over canonical JSON (keys sorted).
        let set_payload = format!(
            r#"{{"body":"{}","integratedTime":{integrated},"logID":"{log_id_hex}","logIndex":0}}"#,
            B64.encode(body)
        );
        let set = self.log.sign(set_payload.as_bytes()).expect("signing");
        // RFC 6962: a tree of one leaf has the leaf hash as its root.
        let mut leaf = Sha256::new();
        leaf.update([0u8]);
        leaf.update(body);
        let root = leaf.finalize();
        let note = format!("{ORIGIN}\n1\n{}\n", B64.encode(root));
        let mut sig = self.log_id[..4].to_vec();
        sig.extend(self.log.sign(note.as_bytes()).expect("signing"));
        let checkpoint = format!("{note}\n\u{2014} {ORIGIN} {}\n", B64.encode(sig));
        json!({
            "logIndex": "0",
            "logId": {"keyId": B64.encode(self.log_id)},
            "kindVersion": {"kind": "dsse", "version": "0.0.1"},
            "integratedTime": integrated.to_string(),
            "inclusionPromise": {"signedEntryTimestamp": B64.encode(set)},
            "inclusionProof": {
                "logIndex": "0",
                "rootHash": B64.encode(root),
                "treeSize": "1",
                "hashes": [],
                "checkpoint": {"envelope": checkpoint},
            },
            "canonicalizedBody": B64.encode(body),
        })
    }
}
