//! Mutation fuzzing on stable Rust: seed inputs, mutated deterministically
//! (flipped bits, random bytes, cuts, insertions, repeats, splices of two
//! seeds), for harnesses that feed every parser of untrusted bytes and
//! require only that it never panics.
//!
//! The suite runs a bounded number of mutations per seed;
//! `WARDEN_FUZZ_ITERATIONS` sets another (a long run, see
//! `docs/reliability.md`).

/// Mutations per seed: `WARDEN_FUZZ_ITERATIONS`, else `default`.
pub fn iterations(default: usize) -> usize {
    std::env::var("WARDEN_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small xorshift generator: deterministic, no dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next_u64() % (n.max(1) as u64)).unwrap_or(0)
    }
}

/// Bytes that parsers of text formats treat specially.
const INTERESTING: &[&[u8]] = &[
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b"\\",
    b"\\u0000",
    b"\n",
    b"\r\n",
    b"=",
    b"#",
    b";",
    b"<",
    b">",
    b"&amp;",
    b"--",
    b"-r ",
    b"@",
    b"..",
    b"/",
    b"\xEF\xBB\xBF",
    b"\xFF",
    b"\xC3",
    b"99999999999999999999",
    b"-1",
    b"null",
    b"true",
    b"[[",
    b"]]",
];

/// One mutation of `seed` (another seed may be spliced in).
pub fn mutate(rng: &mut Rng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(7) {
            0 if !bytes.is_empty() => {
                let i = at.min(bytes.len() - 1);
                bytes[i] ^= 1 << rng.below(8);
            }
            1 if !bytes.is_empty() => {
                let i = at.min(bytes.len() - 1);
                bytes[i] = rng.next_u64() as u8;
            }
            2 => bytes.truncate(at),
            3 => {
                let piece = INTERESTING[rng.below(INTERESTING.len())];
                bytes.splice(at..at, piece.iter().copied());
            }
            4 if !bytes.is_empty() => {
                // Repeat a slice: deep nesting, long lines.
                let start = rng.below(bytes.len());
                let end = (start + 1 + rng.below(64)).min(bytes.len());
                let piece = bytes[start..end].repeat(1 + rng.below(64));
                bytes.splice(at..at, piece);
            }
            5 if !other.is_empty() => {
                let from = rng.below(other.len());
                bytes.truncate(at);
                bytes.extend_from_slice(&other[from..]);
            }
            _ => {
                let end = (at + rng.below(16)).min(bytes.len());
                bytes.drain(at..end);
            }
        }
    }
    bytes
}

/// Feeds `check` every seed and `per_seed` mutations of each.
pub fn run(seeds: &[&[u8]], per_seed: usize, mut check: impl FnMut(&[u8])) -> usize {
    let mut rng = Rng::new(0x9E37_79B9_7F4A_7C15);
    let mut runs = 0;
    for (n, seed) in seeds.iter().enumerate() {
        check(seed);
        let other = seeds[(n + 1) % seeds.len()];
        for _ in 0..per_seed {
            check(&mutate(&mut rng, seed, other));
            runs += 1;
        }
    }
    runs
}
