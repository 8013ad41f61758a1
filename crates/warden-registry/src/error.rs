use std::path::PathBuf;

use crate::RedactedUrl;

/// Everything that can go wrong while finding, fetching or reading registry
/// metadata. Each variant names the package and the URL involved, so that a
/// user can tell which of many concurrent requests failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not reach `{url}` for {package}: {message}")]
    Network {
        package: String,
        url: RedactedUrl,
        message: String,
    },
    #[error("timed out after {seconds}s waiting for `{url}` for {package}")]
    Timeout {
        package: String,
        url: RedactedUrl,
        seconds: u64,
    },
    #[error("`{url}` answered HTTP {status} for {package}")]
    Status {
        package: String,
        url: RedactedUrl,
        status: u16,
    },
    #[error("{package} was not found: `{url}` answered HTTP 404")]
    NotFound { package: String, url: RedactedUrl },
    #[error("the response from `{url}` for {package} was cut short: {message}")]
    Truncated {
        package: String,
        url: RedactedUrl,
        message: String,
    },
    #[error("the response from `{url}` for {package} is larger than the {limit} byte limit")]
    TooLarge {
        package: String,
        url: RedactedUrl,
        limit: u64,
    },
    #[error("malformed {what} from `{url}` for {package}: {message}")]
    Malformed {
        package: String,
        url: RedactedUrl,
        what: &'static str,
        message: String,
    },
    #[error("offline: `{url}` for {package} is not in the cache")]
    NotCached { package: String, url: RedactedUrl },
    #[error("{package} has no version `{requested}`")]
    NoSuchVersion { package: String, requested: String },
    #[error("invalid {setting} `{value}` in {source_name}: {message}")]
    Config {
        setting: String,
        value: String,
        source_name: String,
        message: String,
    },
    /// A configuration file the tool would refuse, or warden cannot read.
    #[error("`{}` cannot be used: {message}", path.display())]
    ConfigFile { path: PathBuf, message: String },
    #[error("could not ask `{program}` for its default {what}: {message}")]
    ToolDefault {
        program: String,
        what: &'static str,
        message: String,
    },
    #[error("cannot use the cache at `{}`: {source}", path.display())]
    Cache {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not start the HTTP client: {0}")]
    Client(String),
}

impl Error {
    /// One line telling the user what to try next.
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self {
            Self::Network { .. } | Self::Timeout { .. } | Self::Truncated { .. } => {
                "check the registry in your npm or pip configuration and your network, then run again"
            }
            Self::Status { status, .. } if *status == 401 || *status == 403 => {
                "the registry refused the credentials: check the auth token or password configured for it"
            }
            Self::Status { .. } => "the registry is failing; run again later or use another mirror",
            Self::NotFound { .. } => "check the package name and the registry it is looked up on",
            Self::NotCached { .. } => "run once without `--offline` to fill the cache",
            Self::ConfigFile { .. } => "fix the file (its tool refuses it too), or move it aside",
            Self::NoSuchVersion { .. } => {
                "run `warden inspect` without a version to list the published ones"
            }
            Self::Malformed { .. } => {
                "the registry or mirror served a broken document; report it to its operator"
            }
            Self::ToolDefault { .. } => {
                "set the registry explicitly (`--registry` / `npm_config_registry`, or `--index-url` / `PIP_INDEX_URL`)"
            }
            Self::Cache { .. } => {
                "set `WARDEN_CACHE_DIR` to a writable directory, or pass `--no-cache`"
            }
            _ => return None,
        })
    }
}
