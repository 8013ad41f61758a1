//! The HTTP layer every registry request goes through.
//!
//! It bounds concurrency, retries transient failures (connection errors,
//! timeouts, cut-short bodies, 429 and 5xx) with exponential backoff, caps
//! response size, and keeps an on-disk cache revalidated with `ETag` and
//! `Last-Modified`. Offline, the network is simply not used: answers come
//! from the cache or the request fails naming what is missing.
//!
//! TLS uses the platform's certificate store, which honours `SSL_CERT_FILE`
//! and `SSL_CERT_DIR`; proxies come from the usual environment variables.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::{Credentials, Error, RedactedUrl};

/// How the HTTP layer behaves.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Per-request timeout (connect, headers and body).
    pub timeout: Duration,
    /// Further attempts after a transient failure.
    pub retries: u32,
    /// The first retry waits this long; each later one twice as long.
    pub backoff: Duration,
    pub max_concurrency: usize,
    /// Largest body accepted, decompressed.
    pub max_body: u64,
    /// Bodies may grow past `large_body` only `large_bodies` at a time, so
    /// the bytes held across all responses in flight stay under
    /// `large_bodies * max_body + max_concurrency * large_body`.
    pub large_body: u64,
    pub large_bodies: usize,
    /// Serve only from the cache.
    pub offline: bool,
    /// `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            retries: 3,
            backoff: Duration::from_millis(250),
            max_concurrency: 16,
            max_body: 512 * 1024 * 1024,
            large_body: 16 * 1024 * 1024,
            large_bodies: 2,
            offline: false,
            cache_dir: default_cache_dir(),
        }
    }
}

/// `WARDEN_CACHE_DIR`, else the platform cache directory.
pub fn default_cache_dir() -> Option<PathBuf> {
    std::env::var_os("WARDEN_CACHE_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|d| d.join("warden")))
}

/// Where a response came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    Network,
    /// The cached copy, confirmed current by a 304.
    Revalidated,
    /// The cached copy, without asking: offline, or still fresh by the
    /// server's `Cache-Control: max-age`.
    Cache,
}

#[derive(Debug)]
pub struct Response {
    pub body: Vec<u8>,
    pub origin: Origin,
    pub content_type: Option<String>,
    etag: Option<String>,
    last_modified: Option<String>,
    /// Unix seconds until which the server said the body stays current.
    fresh_until: Option<i64>,
}

/// Counts of what the client did, for reports and benchmarks.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    /// Answered from the cache without asking the registry.
    pub from_cache: AtomicU64,
    pub not_modified: AtomicU64,
    pub bytes: AtomicU64,
    pub retries: AtomicU64,
    /// Body bytes held by responses being read, now and at the most.
    pub in_flight: AtomicU64,
    pub peak_in_flight: AtomicU64,
}

#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    options: HttpOptions,
    permits: Arc<Semaphore>,
    /// One per body allowed past `large_body` at a time.
    large: Arc<Semaphore>,
    pub stats: Arc<Stats>,
}

/// The format of cache entries; bump when it changes.
const CACHE_VERSION: &str = "http-v1";

#[derive(serde::Serialize, serde::Deserialize)]
struct CacheMeta {
    url: String,
    accept: String,
    etag: Option<String>,
    last_modified: Option<String>,
    content_type: Option<String>,
    body_sha256: String,
    #[serde(default)]
    fresh_until: Option<i64>,
}

enum Attempt {
    Done(Response),
    /// The cached copy is current (a 304), and stays so until then.
    NotModified(Option<i64>),
    /// Worth trying again.
    Transient(Error),
    Fatal(Error),
}

impl HttpClient {
    pub fn new(options: HttpOptions) -> Result<Self, Error> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("warden/", env!("CARGO_PKG_VERSION")))
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            .build()
            .map_err(|e| Error::Client(error_chain(&e)))?;
        Ok(Self {
            client,
            permits: Arc::new(Semaphore::new(options.max_concurrency.max(1))),
            large: Arc::new(Semaphore::new(options.large_bodies.max(1))),
            options,
            stats: Arc::new(Stats::default()),
        })
    }

    pub fn options(&self) -> &HttpOptions {
        &self.options
    }

    /// GETs `url`, from the cache when it is still current.
    ///
    /// `package` names what the request is for, in errors. Credentials
    /// embedded in `url` are sent as Basic auth unless `auth` is given.
    pub async fn get(
        &self,
        package: &str,
        url: &RedactedUrl,
        accept: &str,
        auth: Option<&Credentials>,
    ) -> Result<Response, Error> {
        let key = cache_key(url, accept);
        let cached = self.read_cache(&key);
        // What the server said stays current is used without asking again,
        // as npm and pip do with their own caches.
        let fresh = cached
            .as_ref()
            .is_some_and(|(meta, _)| meta.fresh_until.is_some_and(|t| t > now_seconds()));
        if self.options.offline || fresh {
            return match cached {
                Some((meta, body)) => {
                    self.stats.from_cache.fetch_add(1, Ordering::Relaxed);
                    Ok(Response {
                        body,
                        origin: Origin::Cache,
                        content_type: meta.content_type,
                        etag: None,
                        last_modified: None,
                        fresh_until: None,
                    })
                }
                None => Err(Error::NotCached {
                    package: package.to_owned(),
                    url: url.clone(),
                }),
            };
        }

        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| Error::Client(e.to_string()))?;
        let mut attempt = 0;
        let mut cached = cached;
        loop {
            match self
                .attempt(package, url, accept, auth, cached.as_ref())
                .await
            {
                Attempt::NotModified(fresh_until) => {
                    // `attempt` answers this only when there is a cached
                    // copy. It is moved out, not copied: a large document
                    // is held once.
                    if let Some((mut meta, body)) = cached.take() {
                        if meta.fresh_until != fresh_until {
                            meta.fresh_until = fresh_until;
                            self.write_meta(&key, &meta);
                        }
                        return Ok(Response {
                            body,
                            origin: Origin::Revalidated,
                            content_type: meta.content_type,
                            etag: None,
                            last_modified: None,
                            fresh_until: None,
                        });
                    }
                }
                Attempt::Done(response) => {
                    // Only what can be read is kept: a broken document
                    // cached would fail every later run.
                    if response.origin == Origin::Network && readable(&response) {
                        self.write_cache(&key, url, accept, &response)?;
                    }
                    return Ok(response);
                }
                Attempt::Fatal(e) => return Err(e),
                Attempt::Transient(e) if attempt >= self.options.retries => return Err(e),
                Attempt::Transient(e) => {
                    let wait = self.options.backoff * 2u32.saturating_pow(attempt);
                    tracing::debug!("retrying `{url}` in {wait:?} after: {e}");
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }

    /// POSTs a JSON body (for query endpoints such as npm's bulk
    /// advisories); never cached, retried like a GET.
    pub async fn post_json(
        &self,
        package: &str,
        url: &RedactedUrl,
        body: &serde_json::Value,
        auth: Option<&Credentials>,
    ) -> Result<Vec<u8>, Error> {
        if self.options.offline {
            return Err(Error::NotCached {
                package: package.to_owned(),
                url: url.clone(),
            });
        }
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| Error::Client(e.to_string()))?;
        let mut attempt = 0;
        loop {
            let request = with_auth(
                self.client.post(url.without_credentials()).json(body),
                url,
                auth,
            );
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let outcome = match request.send().await {
                Err(e) => Err((true, self.transport_error(package, url, &e))),
                Ok(r) if r.status() == StatusCode::NOT_FOUND => Err((
                    false,
                    Error::NotFound {
                        package: package.to_owned(),
                        url: url.clone(),
                    },
                )),
                Ok(r) if !r.status().is_success() => Err((
                    r.status().is_server_error(),
                    Error::Status {
                        package: package.to_owned(),
                        url: url.clone(),
                        status: r.status().as_u16(),
                    },
                )),
                Ok(r) => self.read_body(package, url, r).await.map_err(|e| (true, e)),
            };
            match outcome {
                Ok(body) => return Ok(body),
                Err((true, e)) if attempt < self.options.retries => {
                    tracing::debug!("retrying POST `{url}` after: {e}");
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(self.options.backoff * 2u32.saturating_pow(attempt)).await;
                    attempt += 1;
                }
                Err((_, e)) => return Err(e),
            }
        }
    }

    async fn attempt(
        &self,
        package: &str,
        url: &RedactedUrl,
        accept: &str,
        auth: Option<&Credentials>,
        cached: Option<&(CacheMeta, Vec<u8>)>,
    ) -> Attempt {
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(accept) {
            headers.insert(header::ACCEPT, v);
        }
        if let Some((meta, _)) = cached {
            if let Some(v) = meta
                .etag
                .as_deref()
                .and_then(|v| HeaderValue::from_str(v).ok())
            {
                headers.insert(header::IF_NONE_MATCH, v);
            }
            if let Some(v) = meta
                .last_modified
                .as_deref()
                .and_then(|v| HeaderValue::from_str(v).ok())
            {
                headers.insert(header::IF_MODIFIED_SINCE, v);
            }
        }
        let request = with_auth(
            self.client.get(url.without_credentials()).headers(headers),
            url,
            auth,
        );

        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        tracing::debug!("GET `{url}` ({accept})");
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return Attempt::Transient(self.transport_error(package, url, &e)),
        };
        let status = response.status();
        let fresh_until = fresh_until(response.headers());
        if status == StatusCode::NOT_MODIFIED && cached.is_some() {
            self.stats.not_modified.fetch_add(1, Ordering::Relaxed);
            return Attempt::NotModified(fresh_until);
        }
        if status == StatusCode::NOT_FOUND {
            return Attempt::Fatal(Error::NotFound {
                package: package.to_owned(),
                url: url.clone(),
            });
        }
        if !status.is_success() {
            let err = Error::Status {
                package: package.to_owned(),
                url: url.clone(),
                status: status.as_u16(),
            };
            let transient = status.is_server_error()
                || status == StatusCode::TOO_MANY_REQUESTS
                || status == StatusCode::REQUEST_TIMEOUT;
            return if transient {
                Attempt::Transient(err)
            } else {
                Attempt::Fatal(err)
            };
        }
        let etag = header_string(response.headers(), header::ETAG);
        let last_modified = header_string(response.headers(), header::LAST_MODIFIED);
        let content_type = header_string(response.headers(), header::CONTENT_TYPE);
        match self.read_body(package, url, response).await {
            Ok(body) => {
                self.stats
                    .bytes
                    .fetch_add(body.len() as u64, Ordering::Relaxed);
                Attempt::Done(Response {
                    body,
                    origin: Origin::Network,
                    content_type,
                    etag,
                    last_modified,
                    fresh_until,
                })
            }
            Err(e @ Error::TooLarge { .. }) => Attempt::Fatal(e),
            Err(e) => Attempt::Transient(e),
        }
    }

    async fn read_body(
        &self,
        package: &str,
        url: &RedactedUrl,
        mut response: reqwest::Response,
    ) -> Result<Vec<u8>, Error> {
        let limit = self.options.max_body;
        let too_large = || Error::TooLarge {
            package: package.to_owned(),
            url: url.clone(),
            limit,
        };
        let expected = response.content_length();
        if expected.is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let mut body =
            Vec::with_capacity(expected.unwrap_or(0).min(self.options.large_body) as usize);
        // Taken once, when the body outgrows `large_body`, and never while
        // waiting for another: bodies cannot wait on each other. Declared
        // before the count of bytes held, so it is dropped after it: the
        // bytes are given back before the next large body may grow.
        let mut large = None;
        let mut held = InFlight::new(&self.stats);
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let grown = body.len() as u64 + chunk.len() as u64;
                    if grown > limit {
                        return Err(too_large());
                    }
                    if grown > self.options.large_body && large.is_none() {
                        large = Some(
                            Arc::clone(&self.large)
                                .acquire_owned()
                                .await
                                .map_err(|e| Error::Client(e.to_string()))?,
                        );
                    }
                    body.extend_from_slice(&chunk);
                    held.grow(chunk.len() as u64);
                }
                Ok(None) => return Ok(body),
                Err(e) if e.is_timeout() => {
                    return Err(Error::Timeout {
                        package: package.to_owned(),
                        url: url.clone(),
                        seconds: self.options.timeout.as_secs().max(1),
                    });
                }
                Err(e) => {
                    return Err(Error::Truncated {
                        package: package.to_owned(),
                        url: url.clone(),
                        message: error_chain(&e),
                    });
                }
            }
        }
    }

    fn transport_error(&self, package: &str, url: &RedactedUrl, e: &reqwest::Error) -> Error {
        if e.is_timeout() {
            Error::Timeout {
                package: package.to_owned(),
                url: url.clone(),
                seconds: self.options.timeout.as_secs().max(1),
            }
        } else {
            Error::Network {
                package: package.to_owned(),
                url: url.clone(),
                message: error_chain(e),
            }
        }
    }

    fn entry_paths(&self, key: &str) -> Option<(PathBuf, PathBuf)> {
        let dir = self
            .options
            .cache_dir
            .as_ref()?
            .join(CACHE_VERSION)
            .join(&key[..2]);
        Some((
            dir.join(format!("{key}.json")),
            dir.join(format!("{key}.body")),
        ))
    }

    /// Drops the cached response for `url`, when a reader found it bad
    /// (an archive that fails its digest): the next run fetches it again.
    pub fn forget(&self, url: &RedactedUrl, accept: &str) {
        if let Some((meta, body)) = self.entry_paths(&cache_key(url, accept)) {
            let _ = std::fs::remove_file(meta);
            let _ = std::fs::remove_file(body);
        }
    }

    fn read_cache(&self, key: &str) -> Option<(CacheMeta, Vec<u8>)> {
        let (meta_path, body_path) = self.entry_paths(key)?;
        let meta: CacheMeta = serde_json::from_slice(&std::fs::read(meta_path).ok()?).ok()?;
        let body = std::fs::read(body_path).ok()?;
        // A body that does not match its metadata (an interrupted writer, a
        // damaged disk) is a miss, never served.
        (hex(&Sha256::digest(&body)) == meta.body_sha256).then_some((meta, body))
    }

    /// Rewrites an entry's metadata (its body is unchanged).
    fn write_meta(&self, key: &str, meta: &CacheMeta) {
        if let (Some((meta_path, _)), Ok(bytes)) = (self.entry_paths(key), serde_json::to_vec(meta))
        {
            let _ = write_atomic(&meta_path, &bytes);
        }
    }

    fn write_cache(
        &self,
        key: &str,
        url: &RedactedUrl,
        accept: &str,
        response: &Response,
    ) -> Result<(), Error> {
        let Some((meta_path, body_path)) = self.entry_paths(key) else {
            return Ok(());
        };
        let meta = CacheMeta {
            url: url.without_credentials().to_string(),
            accept: accept.to_owned(),
            etag: response.etag.clone(),
            last_modified: response.last_modified.clone(),
            content_type: response.content_type.clone(),
            body_sha256: hex(&Sha256::digest(&response.body)),
            fresh_until: response.fresh_until,
        };
        let meta_bytes = serde_json::to_vec(&meta).map_err(|e| Error::Cache {
            path: meta_path.clone(),
            source: std::io::Error::other(e),
        })?;
        write_atomic(&body_path, &response.body)?;
        write_atomic(&meta_path, &meta_bytes)
    }
}

/// The body bytes one response holds while it is read, counted in the
/// client's stats and given back when the reading ends.
struct InFlight<'a> {
    stats: &'a Stats,
    bytes: u64,
}

impl<'a> InFlight<'a> {
    fn new(stats: &'a Stats) -> Self {
        Self { stats, bytes: 0 }
    }

    fn grow(&mut self, n: u64) {
        self.bytes += n;
        let now = self.stats.in_flight.fetch_add(n, Ordering::Relaxed) + n;
        self.stats.peak_in_flight.fetch_max(now, Ordering::Relaxed);
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.stats
            .in_flight
            .fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

/// Whether a response that says it is JSON is JSON at all: what is not is
/// never cached.
fn readable(response: &Response) -> bool {
    let json = response
        .content_type
        .as_deref()
        .is_some_and(|t| t.contains("json"));
    !json || serde_json::from_slice::<serde::de::IgnoredAny>(&response.body).is_ok()
}

/// Adds the credentials for a request: `auth` when given, else those
/// embedded in the URL (sent as Basic auth, never in the URL itself).
fn with_auth(
    mut request: reqwest::RequestBuilder,
    url: &RedactedUrl,
    auth: Option<&Credentials>,
) -> reqwest::RequestBuilder {
    let embedded = url
        .credentials()
        .map(|(user, password)| Credentials::Basic { user, password });
    match auth.or(embedded.as_ref()) {
        Some(Credentials::Bearer(token)) => request = request.bearer_auth(token),
        Some(Credentials::Basic { user, password }) => {
            request = request.basic_auth(user, password.as_ref())
        }
        Some(Credentials::BasicEncoded(encoded)) => {
            if let Ok(mut v) = HeaderValue::from_str(&format!("Basic {encoded}")) {
                v.set_sensitive(true);
                request = request.header(header::AUTHORIZATION, v);
            }
        }
        None => {}
    }
    request
}

/// Until when a response stays current: `Cache-Control: max-age` less
/// its `Age`. Nothing for `no-cache` or `no-store`.
fn fresh_until(headers: &HeaderMap) -> Option<i64> {
    let control = header_string(headers, header::CACHE_CONTROL)?.to_ascii_lowercase();
    let directives: Vec<&str> = control.split(',').map(str::trim).collect();
    if directives
        .iter()
        .any(|d| *d == "no-cache" || *d == "no-store")
    {
        return None;
    }
    let max_age: i64 = directives
        .iter()
        .find_map(|d| d.strip_prefix("max-age="))?
        .parse()
        .ok()?;
    let age: i64 = header_string(headers, header::AGE)
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or(0);
    (max_age > age).then(|| now_seconds() + (max_age - age))
}

fn now_seconds() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn header_string(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_owned)
}

fn cache_key(url: &RedactedUrl, accept: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(url.without_credentials().as_str().as_bytes());
    hasher.update(b"\n");
    hasher.update(accept.as_bytes());
    hex(&hasher.finalize())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Writes through a temporary file in the same directory and renames it into
/// place, so a reader never sees half a file.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    let cache_err = |source| Error::Cache {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(cache_err)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(cache_err)?;
    tmp.write_all(bytes).map_err(cache_err)?;
    tmp.persist(path).map_err(|e| cache_err(e.error))?;
    Ok(())
}

/// An error and its causes on one line: reqwest's own message alone rarely
/// says what went wrong.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
