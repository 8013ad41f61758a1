use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The process environment, captured once so that configuration discovery is
/// a pure function of it (and tests can build one by hand).
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub vars: BTreeMap<String, String>,
    pub cwd: PathBuf,
    pub home: Option<PathBuf>,
}

impl Environment {
    pub fn from_process() -> Self {
        let vars: BTreeMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Self {
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            home: dirs::home_dir(),
            vars,
        }
    }

    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Finds `program` in `PATH` the way a shell would.
    pub fn which(&self, program: &str) -> Option<PathBuf> {
        if program.contains('/') {
            return Some(PathBuf::from(program));
        }
        std::env::split_paths(self.var("PATH")?)
            .map(|dir| dir.join(program))
            .find(|p| is_executable(p))
    }

    /// Resolves `path` against the captured working directory.
    pub fn absolute(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.cwd.join(path)
        }
    }

    /// Expands a leading `~/` to the home directory.
    pub fn expand_home(&self, path: &str) -> PathBuf {
        match (path.strip_prefix("~/"), &self.home) {
            (Some(rest), Some(home)) => home.join(rest),
            _ => self.absolute(Path::new(path)),
        }
    }
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// Runs a tool that prints a URL (a package manager asked for its default)
/// and parses the first non-empty line of its output.
pub(crate) fn url_from_tool(
    mut cmd: std::process::Command,
    program: &str,
    what: &'static str,
) -> Result<crate::RedactedUrl, crate::Error> {
    let fail = |message: String| crate::Error::ToolDefault {
        program: program.to_owned(),
        what,
        message,
    };
    let output = cmd.output().map_err(|e| fail(e.to_string()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(fail(format!("it exited with {}: {last}", output.status)));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    crate::RedactedUrl::parse(line).map_err(|e| fail(format!("it printed `{line}`: {e}")))
}
