//! The finding codes the plan checks of both adapters raise. Content rules
//! (`rules.toml`), surface findings and history findings have their own
//! lists in their crates; the binary joins them into the one list that
//! policy files are checked against and `docs/findings.md` documents.

/// A finding about where a package comes from and how it is pinned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PlanCode {
    NonRegistrySource,
    LockfileSourceMismatch,
    IntegrityMissing,
    IntegrityWeak,
    IntegrityMismatch,
    DependencyConfusion,
    SdistBuild,
    ArchiveUnreadable,
    SignatureInvalid,
    SignatureMissing,
    AttestationInvalid,
    ProvenancePinned,
}

impl PlanCode {
    pub const ALL: [Self; 12] = [
        Self::NonRegistrySource,
        Self::LockfileSourceMismatch,
        Self::IntegrityMissing,
        Self::IntegrityWeak,
        Self::IntegrityMismatch,
        Self::DependencyConfusion,
        Self::SdistBuild,
        Self::ArchiveUnreadable,
        Self::SignatureInvalid,
        Self::SignatureMissing,
        Self::AttestationInvalid,
        Self::ProvenancePinned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NonRegistrySource => "non-registry-source",
            Self::LockfileSourceMismatch => "lockfile-source-mismatch",
            Self::IntegrityMissing => "integrity-missing",
            Self::IntegrityWeak => "integrity-weak",
            Self::IntegrityMismatch => "integrity-mismatch",
            Self::DependencyConfusion => "dependency-confusion",
            Self::SdistBuild => "sdist-build",
            Self::ArchiveUnreadable => "archive-unreadable",
            Self::SignatureInvalid => "signature-invalid",
            Self::SignatureMissing => "signature-missing",
            Self::AttestationInvalid => "attestation-invalid",
            Self::ProvenancePinned => "provenance-pinned",
        }
    }
}

impl From<PlanCode> for String {
    fn from(code: PlanCode) -> Self {
        code.as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_unique_kebab_case() {
        let codes: std::collections::BTreeSet<&str> =
            super::PlanCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(codes.len(), super::PlanCode::ALL.len());
        assert!(
            codes
                .iter()
                .all(|c| c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-'))
        );
    }
}
