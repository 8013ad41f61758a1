/// Why an artifact could not be read. Always names the artifact.
#[derive(Debug, thiserror::Error)]
#[error("{artifact}: {kind}")]
pub struct Error {
    /// What was being read: `npm:name@1.0.0`, a file path, a URL.
    pub artifact: String,
    pub kind: ErrorKind,
}

#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    #[error("integrity check failed: expected `{expected}`, got `{actual}`")]
    Integrity { expected: String, actual: String },
    #[error("unsupported integrity value `{0}`")]
    BadDigest(String),
    #[error("not a gzip, tar or zip archive (it starts with {0})")]
    UnknownFormat(String),
    #[error("entry `{path}` has an unsafe path: {reason}")]
    UnsafePath { path: String, reason: &'static str },
    #[error("entry `{path}` is a {kind}, which warden refuses to unpack")]
    Link { path: String, kind: &'static str },
    #[error("entry `{path}` is a {kind} (special file)")]
    Special { path: String, kind: &'static str },
    #[error("entry `{path}` appears twice")]
    Duplicate { path: String },
    #[error("entry `{path}` appears twice with different contents")]
    DuplicateDiffers { path: String },
    #[error("entries `{first}` and `{second}` differ only in case")]
    CaseCollision { first: String, second: String },
    #[error("{what} is larger than the {limit}-byte limit")]
    TooLarge { what: String, limit: u64 },
    #[error("it expands more than {limit} times its compressed size (a decompression bomb?)")]
    Ratio { limit: u64 },
    #[error("it has more than {limit} entries")]
    TooManyEntries { limit: usize },
    #[error("the archive is truncated or corrupt: {0}")]
    Corrupt(String),
    #[error("zip entry `{path}`: the local header disagrees with the central directory ({field})")]
    HeaderMismatch { path: String, field: &'static str },
}

impl Error {
    pub fn new(artifact: impl Into<String>, kind: ErrorKind) -> Self {
        Self {
            artifact: artifact.into(),
            kind,
        }
    }

    /// Whether the archive itself is built to attack the reader (as opposed
    /// to damaged in transit or too large for the limits).
    pub fn is_hostile(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::UnsafePath { .. }
                | ErrorKind::Link { .. }
                | ErrorKind::Special { .. }
                | ErrorKind::Duplicate { .. }
                | ErrorKind::DuplicateDiffers { .. }
                | ErrorKind::CaseCollision { .. }
                | ErrorKind::Ratio { .. }
                | ErrorKind::HeaderMismatch { .. }
        )
    }
}
