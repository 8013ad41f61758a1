//! One test per attack, each archive built here in code. Every hostile
//! archive must give a clear error naming the artifact and the entry, and
//! no byte sequence may make the reader panic.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::io::Write;

use warden_archive::{ErrorKind, Format, Limits, read};
use warden_testkit::build;

/// A raw tar entry, written without the tar crate's own path checks.
fn raw_entry(name: &[u8], kind: tar::EntryType, data: &[u8], link: Option<&str>) -> Vec<u8> {
    let mut header = tar::Header::new_old();
    {
        let old = header.as_old_mut();
        old.name[..name.len()].copy_from_slice(name);
    }
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_entry_type(kind);
    if let Some(l) = link {
        header.set_link_name(l).unwrap();
    }
    header.set_cksum();
    let mut out = header.as_bytes().to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

fn tgz(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut tar = entries.concat();
    tar.extend_from_slice(&[0u8; 1024]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

fn kind_of(bytes: &[u8], limits: &Limits) -> ErrorKind {
    let err = read("npm:evil@1.0.0", bytes, limits).unwrap_err();
    assert!(err.to_string().starts_with("npm:evil@1.0.0: "), "{err}");
    err.kind
}

fn file(name: &str, data: &[u8]) -> Vec<u8> {
    raw_entry(name.as_bytes(), tar::EntryType::Regular, data, None)
}

#[test]
fn parent_directory_path() {
    let bytes = tgz(&[file("package/../../etc/passwd", b"x")]);
    assert!(
        matches!(kind_of(&bytes, &Limits::default()), ErrorKind::UnsafePath { reason, .. } if reason.contains(".."))
    );
}

#[test]
fn absolute_path() {
    let bytes = tgz(&[file("/etc/cron.d/evil", b"x")]);
    assert!(matches!(
        kind_of(&bytes, &Limits::default()),
        ErrorKind::UnsafePath { .. }
    ));
}

#[test]
fn backslash_and_drive_letter_paths() {
    let bytes = tgz(&[file("package\\..\\..\\x", b"x")]);
    assert!(matches!(
        kind_of(&bytes, &Limits::default()),
        ErrorKind::UnsafePath { .. }
    ));
    let bytes = tgz(&[file("C:/Windows/evil.dll", b"x")]);
    assert!(matches!(
        kind_of(&bytes, &Limits::default()),
        ErrorKind::UnsafePath { .. }
    ));
}

#[test]
fn symlink_out_of_the_archive() {
    for target in ["/etc/passwd", "../../.ssh/id_rsa", "../other/x"] {
        let bytes = tgz(&[raw_entry(
            b"package/link",
            tar::EntryType::Symlink,
            b"",
            Some(target),
        )]);
        assert!(
            matches!(
                kind_of(&bytes, &Limits::default()),
                ErrorKind::Link {
                    kind: "symbolic link out of the archive",
                    ..
                }
            ),
            "{target}"
        );
    }
}

#[test]
fn symlinks_inside_the_archive_read_as_what_they_point_at() {
    // simplepam 0.1.5 ships `README -> README.md`; a link can also hide
    // what a well-known name runs (`setup.py -> build.py`).
    let bytes = tgz(&[
        raw_entry(
            b"pkg-1.0/README",
            tar::EntryType::Symlink,
            b"",
            Some("README.md"),
        ),
        raw_entry(
            b"pkg-1.0/setup.py",
            tar::EntryType::Symlink,
            b"",
            Some("tools/build.py"),
        ),
        file("pkg-1.0/tools/build.py", b"import os; os.system('id')"),
        raw_entry(
            b"pkg-1.0/lib",
            tar::EntryType::Symlink,
            b"",
            Some("./tools"),
        ),
    ]);
    let archive = read("pkg", &bytes, &Limits::default()).unwrap();
    let text = |p: &str| {
        archive
            .entries
            .iter()
            .find(|e| e.path == p)
            .and_then(|e| e.text())
            .map(str::to_owned)
    };
    assert_eq!(
        text("pkg-1.0/setup.py").as_deref(),
        Some("import os; os.system('id')")
    );
    assert_eq!(
        text("pkg-1.0/lib/build.py").as_deref(),
        Some("import os; os.system('id')")
    );
    assert!(
        text("pkg-1.0/README").is_none(),
        "a dangling link is nothing to read"
    );
    // A link and a file under one name: refused.
    let bytes = tgz(&[
        file("pkg-1.0/setup.py", b"print('benign')"),
        raw_entry(
            b"pkg-1.0/setup.py",
            tar::EntryType::Symlink,
            b"",
            Some("evil.py"),
        ),
    ]);
    assert!(matches!(
        kind_of(&bytes, &Limits::default()),
        ErrorKind::Duplicate { .. } | ErrorKind::DuplicateDiffers { .. }
    ));
    let bytes = tgz(&[
        raw_entry(
            b"pkg-1.0/setup.py",
            tar::EntryType::Symlink,
            b"",
            Some("evil.py"),
        ),
        file("pkg-1.0/setup.py", b"print('benign')"),
    ]);
    assert!(matches!(
        kind_of(&bytes, &Limits::default()),
        ErrorKind::Duplicate { .. } | ErrorKind::DuplicateDiffers { .. }
    ));
}

#[test]
fn hardlink() {
    let bytes = tgz(&[
        file("package/a", b"x"),
        raw_entry(b"package/b", tar::EntryType::Link, b"", Some("/etc/shadow")),
    ]);
    assert!(matches!(
        kind_of(&bytes, &Limits::default()),
        ErrorKind::Link {
            kind: "hard link",
            ..
        }
    ));
}

#[test]
fn device_and_fifo() {
    for kind in [
        tar::EntryType::Char,
        tar::EntryType::Block,
        tar::EntryType::Fifo,
    ] {
        let bytes = tgz(&[raw_entry(b"package/dev", kind, b"", None)]);
        assert!(matches!(
            kind_of(&bytes, &Limits::default()),
            ErrorKind::Special { .. }
        ));
    }
}

#[test]
fn duplicate_entries_with_different_bytes() {
    // The second copy would replace the first one a reviewer looked at.
    let bytes = tgz(&[
        file("package/index.js", b"benign"),
        file("package/./index.js", b"evil"),
    ]);
    assert!(
        matches!(kind_of(&bytes, &Limits::default()), ErrorKind::DuplicateDiffers { path } if path == "package/index.js")
    );
    // Also when a third copy is the one that differs, and in a plain tar.
    let entries = [
        file("package/a.bin", b"\x00same"),
        file("package/./a.bin", b"\x00same"),
        file("package//a.bin", b"\x00else"),
    ];
    assert!(matches!(
        kind_of(&tgz(&entries), &Limits::default()),
        ErrorKind::DuplicateDiffers { .. }
    ));
}

#[test]
fn identical_duplicates_are_one_file() {
    // Some publishing tools write each file twice, once under `./`
    // (https-proxy-agent 7.0.6, dedent): npm installs them as one.
    let bytes = tgz(&[
        file("package/package.json", br#"{"name":"a","version":"1.0.0"}"#),
        file("package/dist/index.js", b"module.exports = 1;"),
        file("package/./dist/index.js", b"module.exports = 1;"),
        file(
            "package/./package.json",
            br#"{"name":"a","version":"1.0.0"}"#,
        ),
    ]);
    let archive = read("a", &bytes, &Limits::default()).unwrap();
    let paths: Vec<&str> = archive.entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["package/package.json", "package/dist/index.js"]);
}

#[test]
fn case_collision() {
    let bytes = tgz(&[
        file("package/install.js", b"a"),
        file("package/INSTALL.js", b"b"),
    ]);
    assert!(matches!(
        kind_of(&bytes, &Limits::default()),
        ErrorKind::CaseCollision { .. }
    ));
}

#[test]
fn gzip_bomb_stops_at_the_ratio() {
    let zeros = vec![0u8; 64 * 1024 * 1024];
    let bytes = tgz(&[file("package/zeros", &zeros)]);
    assert!(bytes.len() < 200_000);
    let limits = Limits {
        ratio_floor: 1024 * 1024,
        ..Limits::default()
    };
    assert!(matches!(kind_of(&bytes, &limits), ErrorKind::Ratio { .. }));
}

#[test]
fn total_size_cap_errors_instead_of_truncating() {
    let data: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let bytes = tgz(&[
        file("package/a.bin", &data[..1_500_000]),
        file("package/b.bin", &data[1_500_000..]),
    ]);
    let limits = Limits {
        max_total: 2_000_000,
        ..Limits::default()
    };
    assert!(
        matches!(kind_of(&bytes, &limits), ErrorKind::TooLarge { what, .. } if what.contains("unpacked archive"))
    );
}

#[test]
fn single_huge_file() {
    let data: Vec<u8> = (0..2_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let bytes = tgz(&[file("package/huge.bin", &data)]);
    let limits = Limits {
        max_file: 1_000_000,
        ..Limits::default()
    };
    assert!(
        matches!(kind_of(&bytes, &limits), ErrorKind::TooLarge { what, .. } if what.contains("huge.bin"))
    );
}

#[test]
fn too_many_entries() {
    let entries: Vec<Vec<u8>> = (0..20)
        .map(|i| file(&format!("package/f{i}"), b"x"))
        .collect();
    let limits = Limits {
        max_entries: 10,
        ..Limits::default()
    };
    assert!(matches!(
        kind_of(&tgz(&entries), &limits),
        ErrorKind::TooManyEntries { limit: 10 }
    ));
}

#[test]
fn truncated_gzip() {
    let data: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
        .collect();
    let bytes = tgz(&[file("package/index.js", &data)]);
    let cut = &bytes[..bytes.len() / 2];
    assert!(matches!(
        kind_of(cut, &Limits::default()),
        ErrorKind::Corrupt(_)
    ));
}

#[test]
fn unknown_bytes() {
    assert!(matches!(
        kind_of(b"<html>not an archive</html>", &Limits::default()),
        ErrorKind::UnknownFormat(_)
    ));
    assert!(matches!(
        kind_of(b"", &Limits::default()),
        ErrorKind::UnknownFormat(_)
    ));
}

fn zip_with(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn zip_parent_directory_path() {
    let bytes = zip_with(&[("../../home/user/.bashrc", b"curl x | sh")]);
    assert!(matches!(
        kind_of(&bytes, &Limits::default()),
        ErrorKind::UnsafePath { .. }
    ));
}

#[test]
fn zip_symlink() {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.add_symlink(
        "pkg/link",
        "/etc/passwd",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    let bytes = w.finish().unwrap().into_inner();
    assert!(matches!(
        kind_of(&bytes, &Limits::default()),
        ErrorKind::Link { .. }
    ));
}

#[test]
fn zip_bomb() {
    let zeros = vec![0u8; 64 * 1024 * 1024];
    let bytes = zip_with(&[("pkg/zeros", &zeros)]);
    let limits = Limits {
        ratio_floor: 1024 * 1024,
        ..Limits::default()
    };
    assert!(matches!(kind_of(&bytes, &limits), ErrorKind::Ratio { .. }));
}

#[test]
fn zip_local_header_disagrees_with_central_directory() {
    let mut bytes = zip_with(&[("pkg/good.py", b"print(1)")]);
    // Rename the entry in its local header only.
    let at = bytes.windows(11).position(|w| w == b"pkg/good.py").unwrap();
    bytes[at..at + 11].copy_from_slice(b"pkg/evil.py");
    assert!(matches!(
        kind_of(&bytes, &Limits::default()),
        ErrorKind::HeaderMismatch {
            field: "file name",
            ..
        }
    ));
}

#[test]
fn zip_corrupt_data_fails_its_crc() {
    let data: Vec<u8> = (0..50_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 9) as u8)
        .collect();
    let mut bytes = zip_with(&[("pkg/data.bin", &data)]);
    let mid = 30 + "pkg/data.bin".len() + 100;
    bytes[mid] ^= 0xff;
    let kind = kind_of(&bytes, &Limits::default());
    assert!(matches!(kind, ErrorKind::Corrupt(_)), "{kind}");
}

#[test]
fn format_comes_from_magic_bytes_not_the_name() {
    let files = build::Files::from([("evil/__init__.py".to_owned(), b"x".to_vec())]);
    let (_, wheel) = build::wheel("evil", "1.0", "Metadata-Version: 2.1\n", None, &files);
    // Whatever it is called, a zip is read as a zip.
    let archive = read("evil-1.0.tar.gz", &wheel, &Limits::default()).unwrap();
    assert_eq!(archive.format, Format::Zip);
    assert!(archive.get("evil-1.0.dist-info/RECORD").is_some());
    assert!(
        archive.entries.iter().all(|e| e.sha256.is_some()),
        "wheels are hashed for RECORD"
    );
}

#[test]
fn mutated_archives_never_panic() {
    let files = build::Files::from([
        ("index.js".to_owned(), b"module.exports = 1;\n".repeat(50)),
        ("package.json".to_owned(), b"{\"name\": \"x\"}".to_vec()),
    ]);
    let seeds = [build::tar_gz("package", &files), build::zip(&files)];
    // A small xorshift generator: deterministic, no dependency.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut outcomes = [0usize; 2];
    for seed in &seeds {
        for _ in 0..1500 {
            let mut bytes = seed.clone();
            let edits = 1 + next() % 4;
            for _ in 0..edits {
                let i = (next() as usize) % bytes.len();
                match next() % 3 {
                    0 => bytes[i] ^= 1 << (next() % 8),
                    1 => bytes[i] = next() as u8,
                    _ => bytes.truncate(i.max(1)),
                }
            }
            outcomes[usize::from(read("fuzz", &bytes, &Limits::default()).is_ok())] += 1;
        }
    }
    assert!(outcomes[0] > 0, "mutations were detected: {outcomes:?}");
}

#[test]
fn zip_duplicate_names_are_refused_even_when_identical() {
    // A wheel is unpacked by pip's own reader, not npm's: a name twice is
    // a malformed wheel, whatever the bytes.
    let bytes = zip_with(&[("pkg/a.py", b"x = 1"), ("pkg/./a.py", b"x = 1")]);
    assert!(
        matches!(kind_of(&bytes, &Limits::default()), ErrorKind::Duplicate { path } if path == "pkg/a.py")
    );
}

#[test]
fn a_bzip2_sdist_is_read_like_a_gzip_one() {
    // guess_language-spirit 0.5.3 is published as .tar.bz2, which pip
    // installs.
    use std::io::Read;
    let gz = tgz(&[file("a-1.0/PKG-INFO", b"Metadata-Version: 1.1\nName: a\n")]);
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_end(&mut tar)
        .unwrap();
    let mut bz = Vec::new();
    bzip2::read::BzEncoder::new(tar.as_slice(), bzip2::Compression::default())
        .read_to_end(&mut bz)
        .unwrap();
    let archive = read("a-1.0.tar.bz2", &bz, &Limits::default()).unwrap();
    assert_eq!(archive.format, Format::TarBz2);
    assert_eq!(archive.entries[0].path, "a-1.0/PKG-INFO");
    // A bomb is stopped the same way.
    let zeros = vec![0u8; 64 * 1024 * 1024];
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(tgz(&[file("a-1.0/zeros", &zeros)]).as_slice())
        .read_to_end(&mut tar)
        .unwrap();
    let mut bomb = Vec::new();
    bzip2::read::BzEncoder::new(tar.as_slice(), bzip2::Compression::best())
        .read_to_end(&mut bomb)
        .unwrap();
    assert!(matches!(
        kind_of(&bomb, &Limits::default()),
        ErrorKind::Ratio { .. }
    ));
}
