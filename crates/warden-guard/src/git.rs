//! Checking out a git source to read it, running nothing from it: hooks
//! are off, submodules are not fetched, no credential prompt. Both
//! adapters read git dependencies this way.

use std::path::Path;

/// Clones `repo` into `dest` and checks out `rev` (a commit, tag or
/// branch; `HEAD` when `None`); returns the commit checked out. Errors
/// never repeat the URL (it may hold a token): the caller names it,
/// redacted.
pub fn checkout(repo: &str, rev: Option<&str>, dest: &Path) -> Result<String, String> {
    let git = |args: &[&str]| -> Result<String, String> {
        let out = std::process::Command::new("git")
            .args([
                "-c",
                "core.hooksPath=/dev/null",
                "-c",
                "advice.detachedHead=false",
            ])
            .args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| format!("could not run git: {e}"))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            let step = args
                .iter()
                .find(|a| ["clone", "checkout", "rev-parse"].contains(a));
            return Err(format!(
                "git {} failed: {}",
                step.unwrap_or(&""),
                first.replace(repo, "<url>")
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let dest_str = dest.display().to_string();
    git(&["clone", "--quiet", "--no-checkout", "--", repo, &dest_str])?;
    git(&[
        "-C",
        &dest_str,
        "checkout",
        "--quiet",
        rev.unwrap_or("HEAD"),
    ])?;
    git(&["-C", &dest_str, "rev-parse", "HEAD"])
}
