//! Filesystem work of verify: listing a mounted image, copying a build context to a scratch
//! directory, and the one-line source edit of the warm rebuild.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use super::model::{FileEntry, FileKind};

/// Lists every entry under `root` (a mounted image), without following symlinks, sorted by
/// path. Paths are absolute inside the image.
pub(crate) fn list(root: &Path) -> io::Result<Vec<FileEntry>> {
    let mut entries = vec![entry("/".to_owned(), &fs::symlink_metadata(root)?, None)];
    let mut pending = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = pending.pop() {
        for child in fs::read_dir(&dir)? {
            let child = child?;
            let meta = fs::symlink_metadata(child.path())?;
            let path = format!("{prefix}/{}", child.file_name().to_string_lossy());
            let target = if meta.file_type().is_symlink() {
                Some(fs::read_link(child.path())?.to_string_lossy().into_owned())
            } else {
                None
            };
            if meta.is_dir() {
                pending.push((child.path(), path.clone()));
            }
            entries.push(entry(path, &meta, target));
        }
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

fn entry(path: String, meta: &fs::Metadata, target: Option<String>) -> FileEntry {
    let file_type = meta.file_type();
    let kind = if file_type.is_symlink() {
        FileKind::Symlink
    } else if file_type.is_dir() {
        FileKind::Dir
    } else if file_type.is_file() {
        FileKind::File
    } else {
        FileKind::Other
    };
    FileEntry {
        path,
        kind,
        size: if kind == FileKind::File {
            meta.len()
        } else {
            0
        },
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
        target,
    }
}

/// Copies the tree at `from` into the existing directory `to`: files, directories and
/// symlinks (as links), keeping permission bits. Special files are skipped; a build context
/// cannot send them anyway.
pub(crate) fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    for child in fs::read_dir(from)? {
        let child = child?;
        let source = child.path();
        let dest = to.join(child.file_name());
        let meta = fs::symlink_metadata(&source)?;
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&source)?, &dest)?;
        } else if meta.is_dir() {
            fs::create_dir(&dest)?;
            copy_tree(&source, &dest)?;
            fs::set_permissions(&dest, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
        } else if meta.is_file() {
            fs::copy(&source, &dest)?;
        }
    }
    Ok(())
}

/// The comment a one-line edit appends: `//` for C-like languages, `#` for everything else
/// (shell, Python, Ruby, YAML, TOML, Dockerfiles, requirements files).
pub(crate) fn comment_prefix(path: &Path) -> &'static str {
    const SLASHES: &[&str] = &[
        "go", "js", "mjs", "cjs", "jsx", "ts", "tsx", "c", "h", "cc", "cpp", "hpp", "rs", "java",
        "kt", "swift", "cs",
    ];
    match path.extension().and_then(|e| e.to_str()) {
        Some(ext) if SLASHES.contains(&ext) => "//",
        _ => "#",
    }
}

/// Appends a `PREFIX dfrewrite-touch TOKEN` line to `path`, starting a new line first when the
/// file does not end with one. The token differs per run: an edit identical to an earlier run's
/// would be served from that run's layer cache, and the counts of re-run steps would depend on
/// history.
pub(crate) fn append_touch_line(path: &Path, prefix: &str, token: &str) -> io::Result<()> {
    let mut file = OpenOptions::new().read(true).append(true).open(path)?;
    let len = file.metadata()?.len();
    let mut last = [0u8; 1];
    if len > 0 {
        file.seek(SeekFrom::Start(len - 1))?;
        file.read_exact(&mut last)?;
    }
    let newline = if len > 0 && last[0] != b'\n' {
        "\n"
    } else {
        ""
    };
    file.write_all(format!("{newline}{prefix} dfrewrite-touch {token}\n").as_bytes())
}

/// A token that differs between runs: the clock's nanoseconds and the process id.
pub(crate) fn run_token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:x}-{:x}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_reports_kind_size_mode_owner_and_link_target() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir(root.join("bin")).unwrap();
        fs::write(root.join("bin/tool"), b"12345").unwrap();
        fs::set_permissions(root.join("bin/tool"), fs::Permissions::from_mode(0o4755)).unwrap();
        std::os::unix::fs::symlink("tool", root.join("bin/alias")).unwrap();
        let listed = list(root).unwrap();
        let paths: Vec<&str> = listed.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["/", "/bin", "/bin/alias", "/bin/tool"]);
        let tool = &listed[3];
        assert_eq!(
            (tool.kind, tool.size, tool.mode),
            (FileKind::File, 5, 0o4755)
        );
        let owner = fs::metadata(root).unwrap();
        assert_eq!((tool.uid, tool.gid), (owner.uid(), owner.gid()));
        assert_eq!(listed[2].kind, FileKind::Symlink);
        assert_eq!(listed[2].target.as_deref(), Some("tool"));
        assert_eq!((listed[1].kind, listed[1].size), (FileKind::Dir, 0));
    }

    #[test]
    fn copy_tree_keeps_contents_links_and_modes() {
        let from = tempfile::tempdir().unwrap();
        let to = tempfile::tempdir().unwrap();
        fs::create_dir(from.path().join("src")).unwrap();
        fs::write(from.path().join("src/main.go"), "package main\n").unwrap();
        fs::write(from.path().join("run.sh"), "#!/bin/sh\n").unwrap();
        fs::set_permissions(
            from.path().join("run.sh"),
            fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        std::os::unix::fs::symlink("src/main.go", from.path().join("link")).unwrap();
        copy_tree(from.path(), to.path()).unwrap();
        let strip = |mut entries: Vec<FileEntry>| {
            entries.remove(0); // the roots differ in mode (tempdir is 0700)
            entries
        };
        assert_eq!(
            strip(list(from.path()).unwrap()),
            strip(list(to.path()).unwrap())
        );
    }

    #[test]
    fn touch_line_uses_the_language_comment_and_ends_a_last_line_first() {
        let dir = tempfile::tempdir().unwrap();
        let go = dir.path().join("main.go");
        fs::write(&go, "package main").unwrap();
        append_touch_line(&go, comment_prefix(&go), "t1").unwrap();
        assert_eq!(
            fs::read_to_string(&go).unwrap(),
            "package main\n// dfrewrite-touch t1\n"
        );
        let py = dir.path().join("app.py");
        fs::write(&py, "print(1)\n").unwrap();
        append_touch_line(&py, comment_prefix(&py), "t2").unwrap();
        assert_eq!(
            fs::read_to_string(&py).unwrap(),
            "print(1)\n# dfrewrite-touch t2\n"
        );
        let empty = dir.path().join("requirements.txt");
        fs::write(&empty, "").unwrap();
        append_touch_line(&empty, comment_prefix(&empty), "t3").unwrap();
        assert_eq!(
            fs::read_to_string(&empty).unwrap(),
            "# dfrewrite-touch t3\n"
        );
    }
}
