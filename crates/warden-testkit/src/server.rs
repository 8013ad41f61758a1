//! A minimal HTTP/1.1 server on 127.0.0.1 for tests.
//!
//! One request per connection (`Connection: close`), a thread per
//! connection, routes looked up by exact path. It is hand-written rather than
//! taken from a crate because its point is misbehaving on purpose: resetting
//! connections, cutting bodies short, stalling, serving corrupt bytes.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

/// One representation of a resource.
#[derive(Debug, Clone)]
pub struct Variant {
    /// Served when the request's `Accept` contains this; `None` matches any.
    pub accept: Option<String>,
    pub content_type: String,
    pub body: Arc<Vec<u8>>,
}

/// A misbehaviour, applied to requests whose path starts with a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Wait before answering.
    Delay(Duration),
    /// Answer with this status and no body.
    Status(u16),
    /// Close the connection without answering.
    Reset,
    /// Promise the whole body in `Content-Length`, send half, close.
    Truncate,
    /// Flip a byte in the middle of the body (an archive that no longer
    /// matches its published digest).
    Corrupt,
    /// Serve a JSON document cut off mid-way, with a correct length.
    MalformedJson,
}

#[derive(Debug)]
struct FaultRule {
    prefix: String,
    fault: Fault,
    /// How many more requests it applies to; `None` for all.
    remaining: Option<u32>,
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub accept: Option<String>,
    pub authorization: Option<String>,
    pub bytes: u64,
}

#[derive(Default)]
struct State {
    routes: RwLock<HashMap<String, Vec<Variant>>>,
    faults: Mutex<Vec<FaultRule>>,
    log: Mutex<Vec<Logged>>,
    bytes: AtomicU64,
    /// `Cache-Control: max-age` sent with every document, when not 0.
    max_age: AtomicU64,
    /// No `ETag`, `Last-Modified` or `Cache-Control`, as some mirrors and
    /// proxies send.
    no_validators: AtomicBool,
}

pub struct Server {
    addr: SocketAddr,
    state: Arc<State>,
    stop: Arc<AtomicBool>,
    accept_thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State::default());
        let stop = Arc::new(AtomicBool::new(false));
        let accept_thread = {
            let state = Arc::clone(&state);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let state = Arc::clone(&state);
                    std::thread::spawn(move || {
                        let _ = handle(&state, stream);
                    });
                }
            })
        };
        Ok(Self {
            addr,
            state,
            stop,
            accept_thread: Some(accept_thread),
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sends `Cache-Control: public, max-age=<seconds>` from now on, as
    /// public registries do for their documents.
    pub fn set_max_age(&self, seconds: u64) {
        self.state.max_age.store(seconds, Ordering::Relaxed);
    }

    /// Sends no `ETag`, `Last-Modified` or `Cache-Control` from now on:
    /// a client cannot revalidate, only fetch again.
    pub fn set_no_validators(&self, none: bool) {
        self.state.no_validators.store(none, Ordering::Relaxed);
    }

    pub fn route(&self, path: &str, variants: Vec<Variant>) {
        self.state
            .routes
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path.to_owned(), variants);
    }

    pub fn fault(&self, prefix: &str, fault: Fault, times: Option<u32>) {
        self.state
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(FaultRule {
                prefix: prefix.to_owned(),
                fault,
                remaining: times,
            });
    }

    pub fn clear_faults(&self) {
        self.state
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    pub fn log(&self) -> Vec<Logged> {
        self.state
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn bytes_served(&self) -> u64 {
        self.state.bytes.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.accept_thread.take() {
            let _ = t.join();
        }
    }
}

fn handle(state: &State, mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let raw_path = parts.next().unwrap_or("/").to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
        if headers.len() > 100 {
            break;
        }
    }
    if let Some(len) = headers
        .get("content-length")
        .and_then(|l| l.parse::<u64>().ok())
    {
        std::io::copy(
            &mut reader.by_ref().take(len.min(1 << 20)),
            &mut std::io::sink(),
        )?;
    }
    let path = raw_path.split('?').next().unwrap_or("/");
    let path = percent_decode_path(path);

    // Counters for benchmarks: bytes and requests served so far.
    if path == "/-/testkit/stats" {
        let log = state.log.lock().unwrap_or_else(|e| e.into_inner()).len();
        let body = format!(
            "{{\"bytes\": {}, \"requests\": {log}}}",
            state.bytes.load(Ordering::SeqCst)
        );
        return respond(
            &mut stream,
            200,
            "application/json",
            body.as_bytes(),
            &[],
            None,
        );
    }
    let fault = take_fault(state, &path);
    if let Some(Fault::Delay(d)) = &fault {
        std::thread::sleep(*d);
    }
    let log = |status: u16, bytes: u64| {
        state.bytes.fetch_add(bytes, Ordering::SeqCst);
        state
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Logged {
                method: method.clone(),
                path: path.clone(),
                status,
                accept: headers.get("accept").cloned(),
                authorization: headers.get("authorization").cloned(),
                bytes,
            });
    };
    match &fault {
        Some(Fault::Reset) => {
            log(0, 0);
            stream.shutdown(Shutdown::Both)?;
            return Ok(());
        }
        Some(Fault::Status(code)) => {
            log(*code, 0);
            return respond(&mut stream, *code, "text/plain", &[], &[], None);
        }
        _ => {}
    }

    let variant = {
        let routes = state.routes.read().unwrap_or_else(|e| e.into_inner());
        routes.get(&path).and_then(|variants| {
            let accept = headers.get("accept").map(String::as_str).unwrap_or("");
            variants
                .iter()
                .find(|v| v.accept.as_deref().is_some_and(|a| accept.contains(a)))
                .or_else(|| variants.iter().find(|v| v.accept.is_none()))
                .or_else(|| variants.last())
                .cloned()
        })
    };
    let Some(variant) = variant else {
        log(404, 9);
        return respond(&mut stream, 404, "text/plain", b"not found", &[], None);
    };
    let etag = format!("\"{}\"", short_digest(&variant.body));
    let max_age = state.max_age.load(Ordering::Relaxed);
    let control = format!("public, max-age={max_age}");
    let mut extra = vec![
        ("ETag", etag.as_str()),
        ("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT"),
    ];
    if max_age > 0 {
        extra.push(("Cache-Control", control.as_str()));
    }
    if state.no_validators.load(Ordering::Relaxed) {
        extra.clear();
    }
    if headers.get("if-none-match") == Some(&etag) && fault.is_none() {
        log(304, 0);
        return respond(&mut stream, 304, &variant.content_type, &[], &extra, None);
    }
    let body: Vec<u8> = match &fault {
        Some(Fault::Corrupt) => {
            let mut b = variant.body.as_ref().clone();
            let half = b.len() / 2;
            if let Some(mid) = b.get_mut(half) {
                *mid ^= 0xff;
            }
            b
        }
        Some(Fault::MalformedJson) => variant.body[..variant.body.len() / 2].to_vec(),
        _ => variant.body.as_ref().clone(),
    };
    if fault == Some(Fault::Truncate) {
        let half = &body[..body.len() / 2];
        log(200, half.len() as u64);
        respond(
            &mut stream,
            200,
            &variant.content_type,
            half,
            &extra,
            Some(body.len()),
        )?;
        return stream.shutdown(Shutdown::Both);
    }
    log(200, body.len() as u64);
    respond(&mut stream, 200, &variant.content_type, &body, &extra, None)
}

fn take_fault(state: &State, path: &str) -> Option<Fault> {
    let mut faults = state.faults.lock().unwrap_or_else(|e| e.into_inner());
    let rule = faults
        .iter_mut()
        .find(|r| path.starts_with(&r.prefix) && r.remaining != Some(0))?;
    if let Some(n) = &mut rule.remaining {
        *n -= 1;
    }
    Some(rule.fault.clone())
}

fn respond(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &[u8],
    extra: &[(&str, &str)],
    claimed_length: Option<usize>,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        304 => "Not Modified",
        404 => "Not Found",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let mut head = format!("HTTP/1.1 {status} {reason}\r\nConnection: close\r\n");
    if status != 304 {
        head.push_str(&format!(
            "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
            claimed_length.unwrap_or(body.len())
        ));
    }
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}

fn short_digest(body: &[u8]) -> String {
    use sha2::Digest;
    crate::build::hex(&sha2::Sha256::digest(body)[..12])
}

/// Decodes `%2f`-style escapes in a request path (npm asks for scoped
/// packages as `@scope%2fname`).
fn percent_decode_path(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
