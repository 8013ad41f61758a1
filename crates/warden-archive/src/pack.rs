//! Packs a source tree (a VCS checkout) into a tar archive in memory, so it
//! is judged by the same reader, surface and rules as an sdist.

use std::path::Path;

use crate::Limits;

/// `dir`'s files under `prefix/`, without version-control directories.
/// Links and special files are refused, as the reader refuses them in
/// archives; so are trees past `limits`.
pub fn pack_tree(dir: &Path, prefix: &str, limits: &Limits) -> Result<Vec<u8>, String> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut total = 0u64;
    let mut entries = 0usize;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let mut children: Vec<_> = std::fs::read_dir(&current)
            .map_err(|e| format!("{}: {e}", current.display()))?
            .flatten()
            .collect();
        children.sort_by_key(std::fs::DirEntry::file_name);
        for child in children {
            let path = child.path();
            let rel = path
                .strip_prefix(dir)
                .map_err(|e| e.to_string())?
                .to_string_lossy()
                .replace('\\', "/");
            let kind = child.file_type().map_err(|e| format!("{rel}: {e}"))?;
            if kind.is_dir() {
                if ![".git", ".hg", ".svn", ".bzr"].contains(&rel.as_str()) {
                    stack.push(path);
                }
                continue;
            }
            if !kind.is_file() {
                return Err(format!("{rel}: a link or special file in the source tree"));
            }
            entries += 1;
            let size = child.metadata().map_err(|e| format!("{rel}: {e}"))?.len();
            total += size;
            if entries > limits.max_entries || size > limits.max_file || total > limits.max_total {
                return Err(format!(
                    "the source tree is larger than warden reads ({entries} files, {total} bytes)"
                ));
            }
            let bytes = std::fs::read(&path).map_err(|e| format!("{rel}: {e}"))?;
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            builder
                .append_data(&mut header, format!("{prefix}/{rel}"), bytes.as_slice())
                .map_err(|e| format!("{rel}: {e}"))?;
        }
    }
    builder.into_inner().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_files_and_skips_vcs_metadata() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".git/objects")).unwrap();
        std::fs::write(dir.path().join(".git/config"), "x").unwrap();
        std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
        std::fs::write(dir.path().join("pkg/__init__.py"), "x = 1\n").unwrap();
        std::fs::write(dir.path().join("setup.py"), "print(1)\n").unwrap();
        let bytes = pack_tree(dir.path(), "src", &Limits::default()).unwrap();
        let archive = crate::read("src.tar", &bytes, &Limits::default()).unwrap();
        let mut names: Vec<&str> = archive.entries.iter().map(|e| e.path.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["src/pkg/__init__.py", "src/setup.py"]);

        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc/passwd", dir.path().join("link")).unwrap();
            let err = pack_tree(dir.path(), "src", &Limits::default()).unwrap_err();
            assert!(err.contains("link"), "{err}");
        }
    }
}
