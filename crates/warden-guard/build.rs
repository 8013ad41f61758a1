//! Fingerprints the code that makes archive verdicts and history
//! judgements, so a result cached by one build is not taken by another
//! that would judge the same bytes differently.

use std::hash::Hasher;
use std::path::Path;

fn main() {
    // The code that makes archive verdicts: the archive reader, the surface
    // and the rules.
    hash_into(
        "WARDEN_ANALYZER_HASH",
        &["warden-archive/src", "warden-rules/src", "warden-rules"],
    );
    // The code that judges a version from its registry document (kept
    // judgements): the history, the popular names, the registry model and
    // the adapters' checks.
    hash_into(
        "WARDEN_JUDGE_HASH",
        &[
            "warden-history/src",
            "../data/popular",
            "warden-registry/src",
            "warden-guard/src",
            "warden-npm/src",
            "warden-pip/src",
        ],
    );
}

/// Sets `var` to a digest of the `.rs`, `.toml` and `.txt` files of `dirs`
/// (relative to `crates/`).
fn hash_into(var: &str, dirs: &[&str]) {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let crates = Path::new(&manifest).join("..");
    let mut files = Vec::new();
    for dir in dirs {
        let dir = crates.join(dir);
        println!("cargo:rerun-if-changed={}", dir.display());
        if let Ok(entries) = std::fs::read_dir(&dir) {
            files.extend(entries.flatten().map(|e| e.path()).filter(|p| {
                p.extension()
                    .is_some_and(|e| e == "rs" || e == "toml" || e == "txt")
            }));
        }
    }
    files.sort();
    // FNV-1a: a change detector, not a security boundary (what it keys is
    // keyed by the artifact's digest either way).
    let mut hash = Fnv(0xcbf2_9ce4_8422_2325);
    for f in &files {
        // The name, not the path: the same sources give the same digest
        // wherever they are checked out.
        hash.write(f.file_name().unwrap_or_default().as_encoded_bytes());
        hash.write(&std::fs::read(f).unwrap_or_default());
    }
    println!("cargo:rustc-env={var}={:016x}", hash.finish());
}

struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}
