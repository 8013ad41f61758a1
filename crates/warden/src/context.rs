//! What every command needs: the environment, the HTTP client, and the
//! registries npm and pip are configured for.

use std::time::Duration;

use warden_registry::{
    Environment, HttpClient, HttpOptions, IndexArgs, NpmClient, NpmConfig, PipConfig, PypiClient,
    http::default_cache_dir,
};

use crate::cli::GlobalArgs;
use crate::exit::Failure;

pub struct Context {
    pub env: Environment,
    pub http: HttpClient,
    /// `--format json`: stdout is for warden's report only.
    pub json_output: bool,
    pub dry_run: bool,
}

impl Context {
    pub fn new(global: &GlobalArgs) -> Result<Self, Failure> {
        let options = HttpOptions {
            timeout: Duration::from_secs(global.timeout.max(1)),
            max_concurrency: global.concurrency.max(1),
            offline: global.offline,
            cache_dir: if global.no_cache {
                None
            } else {
                global.cache_dir.clone().or_else(default_cache_dir)
            },
            ..HttpOptions::default()
        };
        warden_guard::provenance::configure(global.trust_root.clone()).map_err(|e| {
            Failure::new(crate::exit::CONFIG, format!("the trusted root: {e}")).with_hint(
                "--trust-root (or WARDEN_TRUST_ROOT) names a Sigstore trusted_root.json; see docs/provenance.md",
            )
        })?;
        Ok(Self {
            env: Environment::from_process(),
            http: HttpClient::new(options)?,
            json_output: global.format == crate::cli::Format::Json,
            dry_run: global.dry_run,
        })
    }

    /// For `warden check`: a dry run, whatever the flags say.
    pub fn checking(mut self) -> Self {
        self.dry_run = true;
        self
    }

    /// The program to ask for npm's defaults: `WARDEN_NPM` or `npm`.
    fn npm_program(&self) -> String {
        self.env.var("WARDEN_NPM").unwrap_or("npm").to_owned()
    }

    /// The interpreter to ask for pip's defaults: `WARDEN_PYTHON` or `python3`.
    pub fn python_program(&self) -> String {
        self.env
            .var("WARDEN_PYTHON")
            .unwrap_or("python3")
            .to_owned()
    }

    /// What a guarded run takes from here, under `policy`.
    pub fn settings<'a>(&'a self, policy: &'a warden_policy::Policy) -> warden_guard::Settings<'a> {
        warden_guard::Settings {
            policy,
            env: &self.env,
            json_output: self.json_output,
            dry_run: self.dry_run,
        }
    }

    pub fn npm(&self, cli: &[(String, String)]) -> Result<NpmClient, Failure> {
        let config = NpmConfig::discover(&self.env, cli, &self.npm_program())?;
        Ok(NpmClient::new(self.http.clone(), config))
    }

    /// npm's configured registries, with `--registry` (when given) first.
    pub fn npm_with_registry(&self, registry: Option<&String>) -> Result<NpmClient, Failure> {
        let cli: Vec<(String, String)> = registry
            .map(|r| ("registry".to_owned(), r.clone()))
            .into_iter()
            .collect();
        self.npm(&cli)
    }

    /// pip's configured indexes for `install`, with `--index-url` (when given) first.
    pub fn pypi_with_index(&self, index_url: Option<&String>) -> Result<PypiClient, Failure> {
        let args = IndexArgs {
            index_url: index_url.cloned(),
            ..IndexArgs::default()
        };
        self.pypi("install", &args)
    }

    pub fn pypi(&self, command: &str, args: &IndexArgs) -> Result<PypiClient, Failure> {
        let config = PipConfig::discover(&self.env, command, args, &self.python_program())?;
        Ok(PypiClient::new(self.http.clone(), config))
    }
}
