//! What can stop a guarded run before a decision.

/// A guarded run that could not go on. Each says what failed and for which
/// package or file; the binary turns it into an exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Registry(#[from] warden_registry::Error),
    #[error(transparent)]
    Archive(#[from] warden_archive::Error),
    /// The command line asks for something warden cannot do (exit 64).
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    /// Something the run needs could not be had: a plan, a file, a tool
    /// (exit 69).
    #[error("{message}")]
    Unavailable {
        message: String,
        hint: Option<String>,
    },
}

impl Error {
    pub fn usage(message: impl Into<String>) -> Self {
        Self::Usage {
            message: message.into(),
            hint: None,
        }
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::Unavailable {
            message: message.into(),
            hint: None,
        }
    }

    /// Adds what to do next.
    pub fn with_hint(self, hint: impl Into<String>) -> Self {
        match self {
            Self::Usage { message, .. } => Self::Usage {
                message,
                hint: Some(hint.into()),
            },
            Self::Unavailable { message, .. } => Self::Unavailable {
                message,
                hint: Some(hint.into()),
            },
            other => Self::Unavailable {
                message: other.to_string(),
                hint: Some(hint.into()),
            },
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Registry(e) => e.hint().map(str::to_owned),
            Self::Archive(e) if e.is_hostile() => {
                Some("the archive is built to attack unpackers: do not install it".to_owned())
            }
            Self::Archive(_) => Some(
                "the archive is damaged or larger than warden's limits; fetch it again or report it to the registry"
                    .to_owned(),
            ),
            Self::Usage { hint, .. } | Self::Unavailable { hint, .. } => hint.clone(),
        }
    }
}

/// An I/O failure on a path, as an [`Error`].
pub fn io(path: &std::path::Path, e: std::io::Error) -> Error {
    Error::unavailable(format!("{}: {e}", path.display()))
}
