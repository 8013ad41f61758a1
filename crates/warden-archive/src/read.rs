//! Reading archives without trusting them.
//!
//! Archives are read from memory as streams. Nothing is written to disk.
//! Every entry's path is checked before anything else about it; links,
//! devices, duplicates and case-only collisions are refused; and the bytes
//! that come out of the decompressor are counted by a reader that fails at
//! the limit, so a bomb is stopped before it is expanded, never truncated
//! into something that looks complete.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{Cursor, Read};

use sha2::Digest;

use crate::{Error, ErrorKind};

/// How much an archive may contain.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Bytes after decompression, all entries together.
    pub max_total: u64,
    /// Bytes of one entry.
    pub max_file: u64,
    pub max_entries: usize,
    /// Unpacked size over compressed size, enforced once the unpacked size
    /// passes `ratio_floor` (small archives of text compress well).
    pub max_ratio: u64,
    pub ratio_floor: u64,
    /// Text files up to this size are kept in memory for the rules.
    pub keep_contents: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_total: 512 * 1024 * 1024,
            max_file: 256 * 1024 * 1024,
            max_entries: 100_000,
            max_ratio: 200,
            ratio_floor: 32 * 1024 * 1024,
            keep_contents: 8 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    TarGz,
    /// `.tar.bz2`: old sdists, which pip installs.
    TarBz2,
    Tar,
    Zip,
}

/// One regular file of an archive.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Normalised: `/`-separated, relative, no `.` or `..`.
    pub path: String,
    pub size: u64,
    pub executable: bool,
    /// The first bytes, to recognise native binaries.
    pub head: Vec<u8>,
    /// The whole file, for text files within `Limits::keep_contents`.
    pub contents: Option<Vec<u8>>,
    /// sha256 of the file, when the archive format records per-file hashes
    /// (wheels).
    pub sha256: Option<[u8; 32]>,
}

impl Entry {
    pub fn text(&self) -> Option<&str> {
        self.contents
            .as_deref()
            .and_then(|c| std::str::from_utf8(c).ok())
    }
}

#[derive(Debug, Clone)]
pub struct Archive {
    pub format: Format,
    pub entries: Vec<Entry>,
    pub compressed_size: u64,
    pub unpacked_size: u64,
}

impl Archive {
    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.path == path)
    }
}

const HEAD: usize = 64;

/// Recognises the format by its first bytes, never by a file name.
pub fn detect(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        Some(Format::TarGz)
    } else if bytes.starts_with(b"BZh") {
        Some(Format::TarBz2)
    } else if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        Some(Format::Zip)
    } else if bytes.len() >= 262 && &bytes[257..262] == b"ustar" {
        Some(Format::Tar)
    } else {
        None
    }
}

/// Reads every entry of `bytes`.
pub fn read(artifact: &str, bytes: &[u8], limits: &Limits) -> Result<Archive, Error> {
    let err = |kind| Error::new(artifact, kind);
    let format = detect(bytes).ok_or_else(|| {
        let head: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
        err(ErrorKind::UnknownFormat(if head.is_empty() {
            "nothing".into()
        } else {
            head.join(" ")
        }))
    })?;
    let mut reader = Reader {
        artifact,
        limits,
        compressed: bytes.len() as u64,
        entries: Vec::new(),
        seen: HashSet::new(),
        folded: HashMap::new(),
        repeated: BTreeSet::new(),
        links: Vec::new(),
        total: 0,
    };
    match format {
        Format::TarGz => {
            reader.tar(flate2::read::GzDecoder::new(bytes))?;
            reader.same_repeats(flate2::read::GzDecoder::new(bytes))?;
            reader.resolve_links()?;
        }
        Format::TarBz2 => {
            reader.tar(bzip2::read::BzDecoder::new(bytes))?;
            reader.same_repeats(bzip2::read::BzDecoder::new(bytes))?;
            reader.resolve_links()?;
        }
        Format::Tar => {
            reader.tar(bytes)?;
            reader.same_repeats(bytes)?;
            reader.resolve_links()?;
        }
        Format::Zip => reader.zip(bytes)?,
    }
    Ok(Archive {
        format,
        compressed_size: bytes.len() as u64,
        unpacked_size: reader.total,
        entries: reader.entries,
    })
}

struct Reader<'a> {
    artifact: &'a str,
    limits: &'a Limits,
    compressed: u64,
    entries: Vec<Entry>,
    seen: HashSet<String>,
    folded: HashMap<String, String>,
    /// Paths a tarball holds more than once (`package/./a` and
    /// `package/a`): npm's extractor writes each in turn, so they are
    /// accepted only when every copy has the same bytes.
    repeated: BTreeSet<String>,
    /// Symbolic links inside the archive: (link, target), both normalised.
    links: Vec<(String, String)>,
    total: u64,
}

/// Why a [`Budget`] reader stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tripped {
    No,
    Total,
    Ratio,
}

/// Counts the bytes coming out of a decompressor and fails (never
/// truncates) once they pass the limit.
struct Budget<R> {
    inner: R,
    read: u64,
    total_limit: u64,
    ratio_limit: u64,
    tripped: std::rc::Rc<std::cell::Cell<Tripped>>,
}

impl<R: Read> Read for Budget<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.total_limit {
            self.tripped.set(Tripped::Total);
            return Err(std::io::Error::other("size limit reached"));
        }
        if self.read > self.ratio_limit {
            self.tripped.set(Tripped::Ratio);
            return Err(std::io::Error::other("ratio limit reached"));
        }
        Ok(n)
    }
}

impl Reader<'_> {
    fn err(&self, kind: ErrorKind) -> Error {
        Error::new(self.artifact, kind)
    }

    fn ratio_limit(&self) -> u64 {
        self.compressed
            .saturating_mul(self.limits.max_ratio)
            .max(self.limits.ratio_floor)
    }

    fn budget_error(&self, tripped: Tripped) -> Option<Error> {
        match tripped {
            Tripped::No => None,
            Tripped::Total => Some(self.err(ErrorKind::TooLarge {
                what: "the unpacked archive".into(),
                limit: self.limits.max_total,
            })),
            Tripped::Ratio => Some(self.err(ErrorKind::Ratio {
                limit: self.limits.max_ratio,
            })),
        }
    }

    /// Checks a name and returns it normalised.
    fn check_path(&mut self, raw: &[u8]) -> Result<String, Error> {
        normalise(raw).map_err(|(path, reason)| self.err(ErrorKind::UnsafePath { path, reason }))
    }

    /// Admits a new path: `Ok(false)` for a path a tarball already held
    /// (`repeats`), whose copies are compared once the whole archive is
    /// read.
    fn admit(&mut self, path: &str, repeats: bool) -> Result<bool, Error> {
        if self.entries.len() >= self.limits.max_entries {
            return Err(self.err(ErrorKind::TooManyEntries {
                limit: self.limits.max_entries,
            }));
        }
        if !self.seen.insert(path.to_owned()) {
            if repeats {
                self.repeated.insert(path.to_owned());
                return Ok(false);
            }
            return Err(self.err(ErrorKind::Duplicate {
                path: path.to_owned(),
            }));
        }
        let folded = path.to_lowercase();
        if let Some(first) = self.folded.get(&folded) {
            return Err(self.err(ErrorKind::CaseCollision {
                first: first.clone(),
                second: path.to_owned(),
            }));
        }
        self.folded.insert(folded, path.to_owned());
        Ok(true)
    }

    fn file_too_large(&self, path: &str) -> Error {
        self.err(ErrorKind::TooLarge {
            what: format!("entry `{path}`"),
            limit: self.limits.max_file,
        })
    }

    /// Reads one file's bytes, keeping what the rules need.
    fn take_file(
        &mut self,
        path: String,
        declared: u64,
        executable: bool,
        hash: bool,
        reader: &mut dyn Read,
    ) -> Result<Option<Entry>, std::io::Error> {
        let keep = declared <= self.limits.keep_contents && is_text_candidate(&path);
        let mut head = Vec::with_capacity(HEAD);
        let mut contents = keep.then(|| Vec::with_capacity(declared as usize));
        let mut hasher = hash.then(sha2::Sha256::new);
        let mut size = 0u64;
        let mut buf = [0u8; 64 * 1024];
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            size += n as u64;
            if size > self.limits.max_file {
                return Ok(None);
            }
            let chunk = &buf[..n];
            if head.len() < HEAD {
                let want = (HEAD - head.len()).min(n);
                head.extend_from_slice(&chunk[..want]);
            }
            if let Some(c) = &mut contents {
                if c.len() as u64 + n as u64 <= self.limits.keep_contents {
                    c.extend_from_slice(chunk);
                } else {
                    contents = None;
                }
            }
            if let Some(h) = &mut hasher {
                h.update(chunk);
            }
        }
        self.total += size;
        Ok(Some(Entry {
            path,
            size,
            executable,
            head,
            contents,
            sha256: hasher.map(|h| h.finalize().into()),
        }))
    }

    fn tar<R: Read>(&mut self, source: R) -> Result<(), Error> {
        let tripped = std::rc::Rc::new(std::cell::Cell::new(Tripped::No));
        let budget = Budget {
            inner: source,
            read: 0,
            total_limit: self.limits.max_total,
            ratio_limit: self.ratio_limit(),
            tripped: std::rc::Rc::clone(&tripped),
        };
        let mut archive = tar::Archive::new(budget);
        let corrupt = |this: &Self, e: std::io::Error| {
            this.budget_error(tripped.get())
                .unwrap_or_else(|| this.err(ErrorKind::Corrupt(e.to_string())))
        };
        let entries = archive.entries().map_err(|e| corrupt(self, e))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| corrupt(self, e))?;
            let raw = entry.path_bytes().into_owned();
            let path = self.check_path(&raw)?;
            let kind = entry.header().entry_type();
            use tar::EntryType as T;
            match kind {
                T::Directory => continue,
                T::Regular | T::Continuous => {}
                // A link to another entry of the archive (sdists ship
                // `README -> README.md`): read as that entry under this name,
                // once the archive is read, so code behind a linked name
                // (`setup.py -> build.py`) is read as what it runs. A link
                // out of the archive is refused.
                T::Symlink => {
                    let target = entry
                        .link_name_bytes()
                        .and_then(|t| link_target(&path, &t))
                        .ok_or_else(|| {
                            self.err(ErrorKind::Link {
                                path: path.clone(),
                                kind: "symbolic link out of the archive",
                            })
                        })?;
                    self.admit(&path, false)?;
                    self.links.push((path, target));
                    continue;
                }
                T::Link => {
                    return Err(self.err(ErrorKind::Link {
                        path,
                        kind: "hard link",
                    }));
                }
                T::Char => {
                    return Err(self.err(ErrorKind::Special {
                        path,
                        kind: "character device",
                    }));
                }
                T::Block => {
                    return Err(self.err(ErrorKind::Special {
                        path,
                        kind: "block device",
                    }));
                }
                T::Fifo => return Err(self.err(ErrorKind::Special { path, kind: "FIFO" })),
                T::GNUSparse => {
                    return Err(self.err(ErrorKind::Special {
                        path,
                        kind: "sparse file",
                    }));
                }
                // Extension headers the tar crate did not fold into an entry.
                _ => continue,
            }
            let executable = entry.header().mode().is_ok_and(|m| m & 0o111 != 0);
            if !self.admit(&path, true)? {
                // The last copy's mode is the one npm leaves.
                if let Some(first) = self.entries.iter_mut().find(|e| e.path == path) {
                    first.executable = executable;
                }
                continue;
            }
            let declared = entry.header().size().unwrap_or(u64::MAX);
            if declared > self.limits.max_file {
                return Err(self.file_too_large(&path));
            }
            match self.take_file(path.clone(), declared, executable, false, &mut entry) {
                Ok(Some(e)) => self.entries.push(e),
                Ok(None) => return Err(self.file_too_large(&path)),
                Err(e) => return Err(corrupt(self, e)),
            }
        }
        Ok(())
    }

    /// Each link inside the archive becomes a copy of what it points at
    /// (a file, or every file under a directory), links to links
    /// followed a few steps. A dangling link is nothing to read.
    fn resolve_links(&mut self) -> Result<(), Error> {
        let links = std::mem::take(&mut self.links);
        // A file of the same name as a link: which one a reader keeps is
        // an attack surface.
        if let Some((link, _)) = links.iter().find(|(l, _)| self.repeated.contains(l)) {
            return Err(self.err(ErrorKind::DuplicateDiffers { path: link.clone() }));
        }
        let targets: BTreeMap<&str, &str> = links
            .iter()
            .map(|(l, t)| (l.as_str(), t.as_str()))
            .collect();
        for (link, target) in &links {
            let mut target = target.as_str();
            for _ in 0..8 {
                match targets.get(target) {
                    Some(next) => target = next,
                    None => break,
                }
            }
            let dir = format!("{target}/");
            let copies: Vec<Entry> = self
                .entries
                .iter()
                .filter_map(|e| {
                    let path = if e.path == target {
                        link.clone()
                    } else {
                        format!("{link}/{}", e.path.strip_prefix(&dir)?)
                    };
                    Some(Entry { path, ..e.clone() })
                })
                .collect();
            for copy in copies {
                if self.entries.len() >= self.limits.max_entries {
                    return Err(self.err(ErrorKind::TooManyEntries {
                        limit: self.limits.max_entries,
                    }));
                }
                self.entries.push(copy);
            }
        }
        Ok(())
    }

    /// Reads the tarball again when it holds a path more than once, and
    /// refuses it unless every copy has the same bytes: which copy a
    /// reader keeps must not matter.
    fn same_repeats<R: Read>(&self, source: R) -> Result<(), Error> {
        if self.repeated.is_empty() {
            return Ok(());
        }
        let corrupt = |e: std::io::Error| self.err(ErrorKind::Corrupt(e.to_string()));
        // The first pass read these bytes within the limits.
        let mut archive = tar::Archive::new(source);
        let mut digests: BTreeMap<String, [u8; 32]> = BTreeMap::new();
        for entry in archive.entries().map_err(corrupt)? {
            let mut entry = entry.map_err(corrupt)?;
            let Ok(path) = normalise(&entry.path_bytes()) else {
                continue;
            };
            if !self.repeated.contains(&path) {
                continue;
            }
            let mut hasher = sha2::Sha256::new();
            std::io::copy(&mut entry, &mut hasher).map_err(corrupt)?;
            let digest: [u8; 32] = hasher.finalize().into();
            if *digests.entry(path.clone()).or_insert(digest) != digest {
                return Err(self.err(ErrorKind::DuplicateDiffers { path }));
            }
        }
        Ok(())
    }

    fn zip(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| self.err(ErrorKind::Corrupt(e.to_string())))?;
        if archive.len() > self.limits.max_entries {
            return Err(self.err(ErrorKind::TooManyEntries {
                limit: self.limits.max_entries,
            }));
        }
        // Wheels record a hash per file; hash only when there is a RECORD.
        let hash = archive
            .file_names()
            .any(|n| n.ends_with(".dist-info/RECORD"));
        let ratio_limit = self.ratio_limit();
        for i in 0..archive.len() {
            let mut file = archive
                .by_index(i)
                .map_err(|e| self.err(ErrorKind::Corrupt(e.to_string())))?;
            let raw = file.name_raw().to_vec();
            let path = self.check_path(&raw)?;
            check_local_header(bytes, &file, &raw).map_err(|field| {
                self.err(ErrorKind::HeaderMismatch {
                    path: path.clone(),
                    field,
                })
            })?;
            if file.is_symlink() {
                return Err(self.err(ErrorKind::Link {
                    path,
                    kind: "symbolic link",
                }));
            }
            if file.is_dir() {
                continue;
            }
            if let Some(mode) = file.unix_mode() {
                let kind = mode & 0o170000;
                if kind != 0 && kind != 0o100000 {
                    return Err(self.err(ErrorKind::Special {
                        path,
                        kind: "special file",
                    }));
                }
            }
            self.admit(&path, false)?;
            let declared = file.size();
            if declared > self.limits.max_file {
                return Err(self.file_too_large(&path));
            }
            if self.total.saturating_add(declared) > self.limits.max_total {
                return Err(self
                    .budget_error(Tripped::Total)
                    .unwrap_or_else(|| self.file_too_large(&path)));
            }
            if self.total.saturating_add(declared) > ratio_limit {
                return Err(self
                    .budget_error(Tripped::Ratio)
                    .unwrap_or_else(|| self.file_too_large(&path)));
            }
            let executable = file.unix_mode().is_some_and(|m| m & 0o111 != 0);
            match self.take_file(path.clone(), declared, executable, hash, &mut file) {
                Ok(Some(e)) => self.entries.push(e),
                Ok(None) => return Err(self.file_too_large(&path)),
                Err(e) => return Err(self.err(ErrorKind::Corrupt(format!("entry `{path}`: {e}")))),
            }
            if self.total > ratio_limit {
                return Err(self
                    .budget_error(Tripped::Ratio)
                    .unwrap_or_else(|| self.file_too_large(&path)));
            }
        }
        Ok(())
    }
}

/// Where a link at `link` pointing to `target` leads, normalised, when
/// that stays inside the archive's top directory; else `None`.
fn link_target(link: &str, target: &[u8]) -> Option<String> {
    let target = std::str::from_utf8(target).ok()?;
    if target.starts_with('/') || target.contains('\\') || target.is_empty() {
        return None;
    }
    let mut parts: Vec<&str> = link.split('/').collect();
    parts.pop();
    let top = parts.first().copied()?;
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    (parts.first() == Some(&top) && parts.len() > 1).then(|| parts.join("/"))
}

/// A safe entry name, normalised: `/`-separated, relative, without empty,
/// `.` or `..` parts. Else the name as shown and why it is refused.
fn normalise(raw: &[u8]) -> Result<String, (String, &'static str)> {
    let Ok(name) = std::str::from_utf8(raw) else {
        return Err((String::from_utf8_lossy(raw).into_owned(), "it is not UTF-8"));
    };
    let refuse = |reason| Err((name.to_owned(), reason));
    if name.contains('\0') {
        return refuse("it contains a NUL byte");
    }
    if name.contains('\\') {
        return refuse("it contains a backslash");
    }
    if name.starts_with('/') {
        return refuse("it is absolute");
    }
    let mut parts = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return refuse("it climbs out with `..`"),
            p if p.len() >= 2 && p.as_bytes()[1] == b':' && parts.is_empty() => {
                return refuse("it starts with a drive letter");
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return refuse("it is empty");
    }
    Ok(parts.join("/"))
}

/// Compares a zip entry's local header with its central directory record:
/// readers that trust one or the other see different files.
fn check_local_header<R: Read>(
    bytes: &[u8],
    file: &zip::read::ZipFile<'_, R>,
    central_name: &[u8],
) -> Result<(), &'static str> {
    let start = usize::try_from(file.header_start()).map_err(|_| "offset")?;
    let header = bytes.get(start..start + 30).ok_or("offset")?;
    if header[..4] != *b"PK\x03\x04" {
        return Err("signature");
    }
    let u16_at = |i: usize| u16::from_le_bytes([header[i], header[i + 1]]);
    let u32_at =
        |i: usize| u32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
    let flags = u16_at(6);
    let name_len = usize::from(u16_at(26));
    let name = bytes.get(start + 30..start + 30 + name_len).ok_or("name")?;
    if name != central_name {
        return Err("file name");
    }
    // With a data descriptor (bit 3) the local CRC and sizes are zero.
    if flags & 0x8 == 0 {
        if u32_at(14) != file.crc32() {
            return Err("CRC-32");
        }
        let compressed = u64::from(u32_at(18));
        let size = u64::from(u32_at(22));
        // 0xFFFFFFFF means the real sizes are in a zip64 extra field.
        if compressed != 0xFFFF_FFFF && compressed != file.compressed_size() {
            return Err("compressed size");
        }
        if size != 0xFFFF_FFFF && size != file.size() {
            return Err("size");
        }
    }
    Ok(())
}

/// Files whose text the rules may need.
pub fn is_text_candidate(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let Some((_, ext)) = name.rsplit_once('.') else {
        return true;
    };
    matches!(
        ext.to_ascii_lowercase().as_str(),
        "js" | "cjs"
            | "mjs"
            | "ts"
            | "cts"
            | "mts"
            | "json"
            | "gyp"
            | "gypi"
            | "sh"
            | "bash"
            | "zsh"
            | "py"
            | "pth"
            | "toml"
            | "cfg"
            | "txt"
            | "ps1"
            | "bat"
            | "cmd"
            | "pl"
            | "rb"
            | "ini"
    ) || matches!(name, "RECORD" | "METADATA" | "WHEEL" | "PKG-INFO")
}
