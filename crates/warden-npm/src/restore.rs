//! Installing into the user's project without ever leaving it half
//! written: the files warden rewrites and `node_modules` are kept aside
//! until npm has succeeded, and put back when it fails, errors or is
//! interrupted (dropping [`Restore`] puts them back).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};

use warden_guard::{Error, io};

/// The project files an install may rewrite.
const FILES: &[&str] = &["package.json", "package-lock.json", "npm-shrinkwrap.json"];

/// The project as it was, until [`Restore::commit`].
pub struct Restore {
    project: PathBuf,
    /// Each file's bytes before the install (`None`: it did not exist).
    files: Vec<(&'static str, Option<Vec<u8>>)>,
    /// Where `node_modules` waits while npm installs.
    aside: Option<PathBuf>,
    committed: std::cell::Cell<bool>,
}

impl Restore {
    /// Remembers the project's files and moves `node_modules` aside (npm
    /// ci would remove it anyway).
    pub fn new(project: &Path) -> Result<Self, Error> {
        let mut files = Vec::new();
        for name in FILES {
            let path = project.join(name);
            let bytes = match std::fs::read(&path) {
                Ok(b) => Some(b),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(io(&path, e)),
            };
            files.push((*name, bytes));
        }
        let modules = project.join("node_modules");
        let aside = if modules.exists() {
            let aside = project.join(format!(".node_modules.warden-{}", std::process::id()));
            std::fs::rename(&modules, &aside).map_err(|e| io(&modules, e))?;
            Some(aside)
        } else {
            None
        };
        Ok(Self {
            project: project.to_path_buf(),
            files,
            aside,
            committed: std::cell::Cell::new(false),
        })
    }

    /// Writes one of the project's files whole (aside, then renamed).
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<(), Error> {
        let path = self.project.join(name);
        let tmp = self.project.join(format!(".{name}.warden-tmp"));
        std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| io(&path, e))
    }

    /// The install succeeded: what was kept aside goes.
    pub fn commit(&self) {
        self.committed.set(true);
        if let Some(aside) = &self.aside {
            if let Err(e) = std::fs::remove_dir_all(aside) {
                tracing::warn!("could not remove {}: {e}", aside.display());
            }
        }
    }

    /// The install succeeded, and the files were only rewritten for it:
    /// they are put back, and `node_modules` is kept.
    pub fn commit_but_files(&self) {
        self.put_back_files();
        self.commit();
    }

    fn put_back_files(&self) {
        for (name, bytes) in &self.files {
            let path = self.project.join(name);
            let result = match bytes {
                Some(b) => self.write(name, b).map_err(|e| e.to_string()),
                None if path.exists() => std::fs::remove_file(&path).map_err(|e| e.to_string()),
                None => Ok(()),
            };
            if let Err(e) = result {
                tracing::error!("could not put back {}: {e}", path.display());
            }
        }
    }

    fn put_back(&self) {
        self.put_back_files();
        let modules = self.project.join("node_modules");
        if modules.exists() {
            if let Err(e) = std::fs::remove_dir_all(&modules) {
                tracing::error!("could not remove {}: {e}", modules.display());
            }
        }
        if let Some(aside) = &self.aside {
            if let Err(e) = std::fs::rename(aside, &modules) {
                tracing::error!(
                    "could not put back {} (it is at {}): {e}",
                    modules.display(),
                    aside.display()
                );
            }
        }
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        if !self.committed.get() {
            self.put_back();
        }
    }
}

/// A running child that is interrupted and waited for when dropped
/// (warden itself interrupted): it stops before anything is put back.
struct Running(Option<Child>);

impl Drop for Running {
    fn drop(&mut self) {
        use rustix::process::{Pid, Signal, kill_process};
        let Some(mut child) = self.0.take() else {
            return;
        };
        // Interrupted as a terminal would, then asked to stop, then
        // stopped: nothing may be left writing into the project.
        let pid = Pid::from_child(&child);
        for (signal, grace) in [(Signal::INT, 3_000), (Signal::TERM, 2_000)] {
            let _ = kill_process(pid, signal);
            let deadline = std::time::Instant::now() + std::time::Duration::from_millis(grace);
            while std::time::Instant::now() < deadline {
                if !matches!(child.try_wait(), Ok(None)) {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Runs `cmd` to its end, yielding to the runtime while it runs, so that
/// an interrupt can stop warden's run: the child is then interrupted too.
pub async fn wait_interruptible(mut cmd: Command) -> Result<ExitStatus, Error> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    warden_guard::log_command(&cmd);
    let child = cmd
        .spawn()
        .map_err(|e| Error::unavailable(format!("could not run `{program}`: {e}")))?;
    let mut running = Running(Some(child));
    loop {
        let status = match running.0.as_mut() {
            Some(child) => child
                .try_wait()
                .map_err(|e| Error::unavailable(format!("`{program}`: {e}")))?,
            None => return Err(Error::unavailable(format!("`{program}` is gone"))),
        };
        if let Some(status) = status {
            running.0 = None;
            return Ok(status);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_failed_install_puts_everything_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::write(p.join("package.json"), "{\"name\":\"a\"}").unwrap();
        std::fs::create_dir_all(p.join("node_modules/x")).unwrap();
        std::fs::write(p.join("node_modules/x/index.js"), "old").unwrap();
        {
            let r = Restore::new(p).unwrap();
            r.write("package.json", b"{\"rewritten\":true}").unwrap();
            r.write("package-lock.json", b"{}").unwrap();
            std::fs::create_dir_all(p.join("node_modules/half")).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(p.join("package.json")).unwrap(),
            "{\"name\":\"a\"}"
        );
        assert!(!p.join("package-lock.json").exists());
        assert_eq!(
            std::fs::read_to_string(p.join("node_modules/x/index.js")).unwrap(),
            "old"
        );
        assert!(!p.join("node_modules/half").exists());
        let names: Vec<_> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "nothing left beside them: {names:?}");
    }

    #[test]
    fn a_committed_install_keeps_what_npm_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::create_dir_all(p.join("node_modules/old")).unwrap();
        let r = Restore::new(p).unwrap();
        r.write("package-lock.json", b"{}").unwrap();
        std::fs::create_dir_all(p.join("node_modules/new")).unwrap();
        r.commit();
        drop(r);
        assert!(p.join("package-lock.json").exists());
        assert!(p.join("node_modules/new").exists() && !p.join("node_modules/old").exists());
        assert_eq!(std::fs::read_dir(p).unwrap().count(), 2);
    }
}
