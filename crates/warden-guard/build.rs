//! Fingerprints the code that makes archive verdicts (the archive reader,
//! the surface and the rules), so a verdict cached by one build is not
//! taken by another that would judge the same bytes differently.

use std::hash::Hasher;
use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let crates = Path::new(&manifest).join("..");
    let mut files = Vec::new();
    for dir in ["warden-archive/src", "warden-rules/src", "warden-rules"] {
        let dir = crates.join(dir);
        println!("cargo:rerun-if-changed={}", dir.display());
        if let Ok(entries) = std::fs::read_dir(&dir) {
            files.extend(
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "rs" || e == "toml")),
            );
        }
    }
    files.sort();
    // FNV-1a: a change detector, not a security boundary (the cache is
    // keyed by the artifact's sha512 or sha256 either way).
    let mut hash = Fnv(0xcbf2_9ce4_8422_2325);
    for f in &files {
        hash.write(f.to_string_lossy().as_bytes());
        hash.write(&std::fs::read(f).unwrap_or_default());
    }
    println!(
        "cargo:rustc-env=WARDEN_ANALYZER_HASH={:016x}",
        hash.finish()
    );
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
