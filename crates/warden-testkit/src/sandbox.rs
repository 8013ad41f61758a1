//! A temporary home for running the real `npm`, `pip` and `warden` in tests,
//! isolated from the machine's own configuration.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Environment variables a test command keeps from the machine.
const KEPT: [&str; 4] = ["PATH", "LANG", "TERM", "SYSTEMROOT"];

pub struct Sandbox {
    dir: tempfile::TempDir,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("creating a temporary directory");
        for sub in ["home", "project", "canaries", "cache"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("creating sandbox directories");
        }
        std::fs::write(dir.path().join("home/.npmrc"), "").expect("writing .npmrc");
        std::fs::write(dir.path().join("global-npmrc"), "").expect("writing npmrc");
        // The user's warden policy: the canary directory reaches approved
        // install scripts and builds the way a user passes a variable on.
        std::fs::write(
            dir.path().join("user-warden.toml"),
            "[settings]\nkeep-env = [\"WARDEN_CANARY_DIR\"]\n",
        )
        .expect("writing the user policy");
        // The testkit's Sigstore world is the only one its bundles verify in.
        std::fs::write(
            dir.path().join("trusted_root.json"),
            crate::sigstore::world().trusted_root().to_string(),
        )
        .expect("writing the trusted root");
        Self { dir }
    }

    /// The Sigstore trusted root of the testkit's signing world, which
    /// every command gets as `WARDEN_TRUST_ROOT`.
    pub fn trust_root(&self) -> PathBuf {
        self.root().join("trusted_root.json")
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn home(&self) -> PathBuf {
        self.root().join("home")
    }

    /// The working directory of every command.
    pub fn project(&self) -> PathBuf {
        self.root().join("project")
    }

    /// Where test packages' install code writes its canary files
    /// (`$WARDEN_CANARY_DIR/<name>`).
    pub fn canary_dir(&self) -> PathBuf {
        self.root().join("canaries")
    }

    pub fn canary(&self, name: &str) -> PathBuf {
        self.canary_dir().join(name)
    }

    pub fn warden_cache(&self) -> PathBuf {
        self.root().join("cache/warden")
    }

    /// `program` with a clean environment: the machine's `PATH`, a private
    /// home, npm and pip pointed at private config and caches, and nothing
    /// else. Tests add the registry settings they are about.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear();
        for key in KEPT {
            if let Some(v) = std::env::var_os(key) {
                cmd.env(key, v);
            }
        }
        let root = self.root();
        cmd.current_dir(self.project())
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env("XDG_CACHE_HOME", root.join("cache"))
            .env("npm_config_userconfig", self.home().join(".npmrc"))
            .env("npm_config_globalconfig", root.join("global-npmrc"))
            .env("npm_config_cache", root.join("cache/npm"))
            .env("npm_config_update_notifier", "false")
            .env("npm_config_fund", "false")
            .env("npm_config_audit", "false")
            .env("PIP_CONFIG_FILE", "/dev/null")
            .env("PIP_CACHE_DIR", root.join("cache/pip"))
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            .env("PIP_NO_INPUT", "1")
            .env("WARDEN_CACHE_DIR", self.warden_cache())
            .env("WARDEN_CANARY_DIR", self.canary_dir())
            .env("WARDEN_USER_POLICY", root.join("user-warden.toml"))
            .env("WARDEN_TRUST_ROOT", self.trust_root());
        cmd
    }

    /// Creates a virtual environment under the sandbox and returns its
    /// directory.
    pub fn venv(&self) -> PathBuf {
        let venv = self.root().join("venv");
        if !venv.exists() {
            let python =
                std::env::var("WARDEN_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
            let out = self
                .command(python)
                .args(["-m", "venv"])
                .arg(&venv)
                .output()
                .expect("running python3 -m venv");
            assert!(
                out.status.success(),
                "venv: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            // Another pip than the one venv brings, from a wheel file
            // (`.ci/run` runs the pip tests again with the newest).
            if let Some(wheel) = std::env::var_os("WARDEN_TEST_PIP_WHEEL") {
                let out = self
                    .command(venv.join("bin/python"))
                    .args(["-m", "pip", "install", "--quiet", "--no-index"])
                    .arg(wheel)
                    .output()
                    .expect("installing the pip under test");
                assert!(
                    out.status.success(),
                    "pip under test: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        venv
    }
}

/// The output of a finished command, with the text decoded.
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn of(cmd: &mut Command) -> Self {
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
        Self {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Panics with both streams unless the exit code is `code`.
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.code,
            Some(code),
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}
