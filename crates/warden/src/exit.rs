//! Exit codes, as documented in the README and `warden --help`.

use std::process::ExitCode;

pub const OK: u8 = 0;
pub const USAGE: u8 = 64;
pub const UNAVAILABLE: u8 = 69;
pub const BLOCKED: u8 = 77;
pub const CONFIG: u8 = 78;
/// Interrupted (Ctrl-C): 128 + SIGINT, as shells report it.
pub const INTERRUPTED: u8 = 130;

/// An error that ends the run with a given exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
    pub hint: Option<String>,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }

    /// The failure as the one JSON document `--format json` prints
    /// (`docs/json.md`): `outcome` is `error` (or `interrupted`).
    pub fn json(&self) -> String {
        let outcome = if self.code == INTERRUPTED {
            "interrupted"
        } else {
            "error"
        };
        let doc = serde_json::json!({
            "outcome": outcome,
            "message": self.message,
            "hint": self.hint,
            "exit_code": self.code,
        });
        format!(
            "{}\n",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        )
    }
}

impl From<warden_registry::Error> for Failure {
    fn from(e: warden_registry::Error) -> Self {
        use warden_registry::Error as E;
        let code = match &e {
            E::Config { .. } | E::ConfigFile { .. } => CONFIG,
            _ => UNAVAILABLE,
        };
        Self {
            code,
            hint: e.hint().map(str::to_owned),
            message: e.to_string(),
        }
    }
}

impl From<warden_guard::Error> for Failure {
    fn from(e: warden_guard::Error) -> Self {
        use warden_guard::Error as E;
        let hint = e.hint();
        let failure = match e {
            E::Registry(e) => return e.into(),
            E::Usage { message, .. } => Self::new(USAGE, message),
            other => Self::new(UNAVAILABLE, other.to_string()),
        };
        Self { hint, ..failure }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_distinct() {
        let mut codes = [
            super::OK,
            super::USAGE,
            super::UNAVAILABLE,
            super::BLOCKED,
            super::CONFIG,
            super::INTERRUPTED,
        ];
        codes.sort_unstable();
        let before = codes.len();
        let mut dedup = codes.to_vec();
        dedup.dedup();
        assert_eq!(before, dedup.len());
    }
}
