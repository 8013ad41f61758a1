//! Fetching and parsing, per ecosystem.

use crate::http::{HttpClient, Response};
use crate::npm::{self, Packument};
use crate::pypi::{self, DistFile, JsonProject, Provenance, SimpleProject};
use crate::{Error, NpmConfig, PipConfig, RedactedUrl};

/// The npm registry (or registries, with scopes) npm is configured for.
#[derive(Clone)]
pub struct NpmClient {
    pub http: HttpClient,
    pub config: NpmConfig,
}

impl NpmClient {
    pub fn new(http: HttpClient, config: NpmConfig) -> Self {
        Self { http, config }
    }

    /// The document URL of `name` on the registry configured for it.
    pub fn document_url(&self, name: &str) -> Result<RedactedUrl, Error> {
        let registry = self.config.registry_for(name);
        registry
            .join(&npm::document_path(name))
            .map_err(|e| Error::Malformed {
                package: format!("npm:{name}"),
                url: registry.clone(),
                what: "package name",
                message: e.to_string(),
            })
    }

    pub async fn packument(&self, name: &str) -> Result<Packument, Error> {
        let url = self.document_url(name)?;
        let response = self.get(name, &url, npm::FULL_DOCUMENT).await?;
        Packument::from_slice(name, &url, &response.body)
    }

    /// The registry's advisories for `name` that cover any of `versions`;
    /// `None` when the registry offers no advisory data (mirrors often do
    /// not), which is unknown, not clean.
    pub async fn advisories(
        &self,
        name: &str,
        versions: &[String],
    ) -> Result<Option<Vec<npm::Advisory>>, Error> {
        let query = std::collections::BTreeMap::from([(name.to_owned(), versions.to_vec())]);
        Ok(self
            .bulk_advisories(&query)
            .await?
            .map(|mut all| all.remove(name).unwrap_or_default()))
    }

    /// Advisories for many packages at once: one request per registry (the
    /// endpoint is a bulk query), merged by package name. `None` when a
    /// registry offers no advisory data.
    pub async fn bulk_advisories(
        &self,
        packages: &std::collections::BTreeMap<String, Vec<String>>,
    ) -> Result<Option<std::collections::BTreeMap<String, Vec<npm::Advisory>>>, Error> {
        let mut by_registry: std::collections::BTreeMap<
            String,
            serde_json::Map<String, serde_json::Value>,
        > = std::collections::BTreeMap::new();
        for (name, versions) in packages {
            by_registry
                .entry(self.config.registry_for(name).to_string())
                .or_default()
                .insert(name.clone(), serde_json::json!(versions));
        }
        let mut out = std::collections::BTreeMap::new();
        for (_, query) in by_registry {
            let Some(first) = query.keys().next().cloned() else {
                continue;
            };
            let registry = self.config.registry_for(&first);
            let url = registry
                .join("-/npm/v1/security/advisories/bulk")
                .map_err(|e| Error::Client(e.to_string()))?;
            let auth = self.config.credentials_for(url.expose());
            let label = if query.len() == 1 {
                format!("npm:{first}")
            } else {
                format!("{} npm packages", query.len())
            };
            let body = serde_json::Value::Object(query);
            let response = match self
                .http
                .post_json(&label, &url, &body, auth.as_ref())
                .await
            {
                Ok(r) => r,
                // No such service here (a mirror that does not offer it, or
                // does not take a POST): no advisory data, not a failure.
                Err(
                    Error::NotFound { .. }
                    | Error::Status {
                        status: 405 | 501, ..
                    },
                ) => {
                    return Ok(None);
                }
                Err(e) => return Err(e),
            };
            let doc: std::collections::BTreeMap<String, serde_json::Value> =
                serde_json::from_slice(&response).map_err(|e| Error::Malformed {
                    package: label.clone(),
                    url: url.clone(),
                    what: "advisory document",
                    message: e.to_string(),
                })?;
            for (name, items) in doc {
                let list: Vec<npm::Advisory> = items
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| serde_json::from_value(v.clone()).ok())
                            .collect()
                    })
                    .unwrap_or_default();
                out.insert(name, list);
            }
        }
        Ok(Some(out))
    }

    /// The keys the registry that serves `name` signs versions with;
    /// `None` when it publishes none (a mirror that does not offer them).
    pub async fn signing_keys(&self, name: &str) -> Result<Option<npm::SigningKeys>, Error> {
        let url = self
            .config
            .registry_for(name)
            .join("-/npm/v1/keys")
            .map_err(|e| Error::Client(e.to_string()))?;
        match self.get(name, &url, "application/json").await {
            Ok(r) => serde_json::from_slice(&r.body)
                .map(Some)
                .map_err(|e| Error::Malformed {
                    package: format!("npm:{name}"),
                    url: url.clone(),
                    what: "signing keys",
                    message: e.to_string(),
                }),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A version's attestations response, from the registry npm is
    /// configured with for `name` (`{registry}/-/npm/v1/attestations/
    /// name@version`, whatever URL the document names). `None` when the
    /// registry does not serve it.
    pub async fn attestations(&self, name: &str, version: &str) -> Result<Option<Vec<u8>>, Error> {
        let url = self
            .config
            .registry_for(name)
            .join(&format!(
                "-/npm/v1/attestations/{}@{version}",
                npm::document_path(name)
            ))
            .map_err(|e| Error::Client(e.to_string()))?;
        match self.get(name, &url, "application/json").await {
            Ok(r) => Ok(Some(r.body)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// GETs `url` with the credentials npm would send to it.
    pub async fn get(
        &self,
        name: &str,
        url: &RedactedUrl,
        accept: &str,
    ) -> Result<Response, Error> {
        let auth = self.config.credentials_for(url.expose());
        self.http
            .get(&format!("npm:{name}"), url, accept, auth.as_ref())
            .await
    }
}

/// The Python indexes pip is configured for.
#[derive(Clone)]
pub struct PypiClient {
    pub http: HttpClient,
    pub config: PipConfig,
}

impl PypiClient {
    pub fn new(http: HttpClient, config: PipConfig) -> Self {
        Self { http, config }
    }

    /// The project page on `index`.
    pub async fn project(&self, index: &RedactedUrl, name: &str) -> Result<SimpleProject, Error> {
        let normalized = pypi::normalize_name(name);
        let url = index
            .join(&format!("{normalized}/"))
            .map_err(|e| Error::Malformed {
                package: format!("pypi:{name}"),
                url: index.clone(),
                what: "project name",
                message: e.to_string(),
            })?;
        let response = self
            .http
            .get(&format!("pypi:{name}"), &url, pypi::SIMPLE_ACCEPT, None)
            .await?;
        SimpleProject::from_response(name, &url, response.content_type.as_deref(), &response.body)
    }

    /// PyPI's JSON API document, or `None` where the index has none.
    pub async fn json_api(
        &self,
        index: &RedactedUrl,
        name: &str,
    ) -> Result<Option<JsonProject>, Error> {
        let Some(url) = pypi::json_api_url(index, name) else {
            return Ok(None);
        };
        self.json_document(name, &url).await
    }

    /// PyPI's JSON API document for one version (its `vulnerabilities` are
    /// that version's), or `None` where the index has no JSON API.
    pub async fn version_json(
        &self,
        index: &RedactedUrl,
        name: &str,
        version: &str,
    ) -> Result<Option<JsonProject>, Error> {
        let Some(project_url) = pypi::json_api_url(index, name) else {
            return Ok(None);
        };
        let Ok(url) = project_url.join(&format!("{version}/json")) else {
            return Ok(None);
        };
        // `.../pypi/<name>/json` joined with `1.0/json` gives `.../pypi/<name>/1.0/json`.
        self.json_document(name, &url).await
    }

    /// A JSON API document, `None` when the index answers 404.
    async fn json_document(
        &self,
        name: &str,
        url: &RedactedUrl,
    ) -> Result<Option<JsonProject>, Error> {
        match self
            .http
            .get(&format!("pypi:{name}"), url, "application/json", None)
            .await
        {
            Ok(r) => JsonProject::from_slice(name, url, &r.body).map(Some),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The provenance object of `file`, or `None` when the index lists none
    /// for it or no longer serves it.
    pub async fn provenance(
        &self,
        name: &str,
        file: &DistFile,
    ) -> Result<Option<Provenance>, Error> {
        let Some(url) = &file.provenance else {
            return Ok(None);
        };
        match self
            .http
            .get(
                &format!("pypi:{name}"),
                url,
                "application/vnd.pypi.integrity.v1+json, application/json;q=0.9",
                None,
            )
            .await
        {
            Ok(r) => Provenance::from_slice(name, url, &r.body).map(Some),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
