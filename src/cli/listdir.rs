//! One directory's entries, read for [`super::fsio::FsContext::list_bounded`].
//!
//! On Linux the entries come straight from `getdents64` into one buffer (rustix's
//! `RawDir`), each name copied once into the listing's one buffer of names. std's
//! `read_dir` copies every name twice (a `CString` per entry, then the `OsString` of
//! `file_name`) and frees the first: for a one-file run whose context is a folder of 2,000
//! files that was about 0.4 M instructions of the listing's 1.2 M. Elsewhere std's
//! `read_dir` is used.

use std::path::Path;

use dfrewrite::EntryKind;
use dfrewrite::context::DirEntries;

/// Why a directory gave no entries.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// More than the limit.
    TooMany,
    /// Not openable or readable, or a name that is not UTF-8.
    Unreadable,
}

/// The entries of `dir` (no `.` or `..`; symlinks not followed; in the order the system
/// gives them), or why not: more than `max` of them, or not readable.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn entries(dir: &Path, max: usize) -> Result<DirEntries, Stop> {
    use rustix::fs::{FileType, Mode, OFlags, RawDir, open};

    let fd = open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|_| Stop::Unreadable)?;
    // glibc's readdir reads 32 KiB at a time too; an entry takes at most 280 bytes. (A
    // larger buffer saves a call or two on a folder of 2,000 but not the kernel's time.)
    let mut buf = Vec::with_capacity(32 * 1024);
    let mut raw = RawDir::new(&fd, buf.spare_capacity_mut());
    // Every name, each followed by a NUL (which no name holds), checked as UTF-8 in one
    // go at the end: a dangling byte of one name cannot join the next across the NUL, so the
    // whole is UTF-8 exactly when every name is. (Checked one by one, the short names
    // cost 0.29 M instructions for the 2,000 of the corpus folder.) Reserved ahead:
    // memory the listing does not fill is never touched, while growing by copies touched
    // twice the pages (each fresh page is a fault, ~2 us).
    let mut names: Vec<u8> = Vec::with_capacity(NAMES_RESERVED);
    // where each name ends in `names`, and its kind
    let mut found: Vec<(u32, EntryKind)> = Vec::new();
    // A name that is not UTF-8 cannot be written in a .dockerignore we generate.
    let utf8 = |names: &[u8]| std::str::from_utf8(names).is_ok();
    while let Some(entry) = raw.next() {
        let entry = entry.map_err(|_| Stop::Unreadable)?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        if found.len() == max {
            // a name before the limit that is not UTF-8 says so first, as it did one by one
            return Err(if utf8(&names) {
                Stop::TooMany
            } else {
                Stop::Unreadable
            });
        }
        let kind = match entry.file_type() {
            FileType::Symlink => EntryKind::Symlink,
            FileType::Directory => EntryKind::Directory,
            FileType::RegularFile => EntryKind::File,
            // Some filesystems leave the type out of the listing: ask, as std does.
            FileType::Unknown => {
                use std::os::unix::ffi::OsStrExt as _;
                kind_of(&dir.join(std::ffi::OsStr::from_bytes(name)))?
            }
            _ => EntryKind::Other,
        };
        names.extend_from_slice(name);
        let end = u32::try_from(names.len()).map_err(|_| Stop::TooMany)?;
        names.push(0);
        found.push((end, kind));
    }
    let Ok(mut names) = String::from_utf8(names) else {
        return Err(Stop::Unreadable);
    };
    // mimalloc shrinks in place when at least half is used; a small folder gives the rest back
    names.shrink_to_fit();
    found.shrink_to_fit();
    DirEntries::from_parts(names, found).ok_or(Stop::Unreadable)
}

/// Room for the names of a folder of about 2,000 entries before the buffer grows.
#[cfg(any(target_os = "linux", target_os = "android"))]
const NAMES_RESERVED: usize = 64 * 1024;

/// What is at `path`, symlinks not followed.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn kind_of(path: &Path) -> Result<EntryKind, Stop> {
    let meta = std::fs::symlink_metadata(path).map_err(|_| Stop::Unreadable)?;
    Ok(kind(meta.file_type()))
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn entries(dir: &Path, max: usize) -> Result<DirEntries, Stop> {
    let read = std::fs::read_dir(dir).map_err(|_| Stop::Unreadable)?;
    let mut entries = Vec::new();
    for entry in read {
        if entries.len() == max {
            return Err(Stop::TooMany);
        }
        let entry = entry.map_err(|_| Stop::Unreadable)?;
        // A name that is not UTF-8 cannot be written in a .dockerignore we generate.
        let name = entry
            .file_name()
            .into_string()
            .map_err(|_| Stop::Unreadable)?;
        let kind = kind(entry.file_type().map_err(|_| Stop::Unreadable)?);
        entries.push((name, kind));
    }
    Ok(entries.into_iter().collect())
}

fn kind(t: std::fs::FileType) -> EntryKind {
    if t.is_symlink() {
        EntryKind::Symlink
    } else if t.is_dir() {
        EntryKind::Directory
    } else if t.is_file() {
        EntryKind::File
    } else {
        EntryKind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same names and kinds as std's `read_dir`, in the same order.
    #[test]
    fn lists_as_std_does() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        for i in 0..700 {
            std::fs::write(
                dir.path()
                    .join(format!("file-{i:04}-{}", "x".repeat(i % 90))),
                b"",
            )
            .unwrap();
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("sub", dir.path().join("link")).unwrap();
            std::os::unix::net::UnixListener::bind(dir.path().join("sock")).unwrap();
        }
        let std_order: Vec<(String, EntryKind)> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().into_string().unwrap(),
                    kind(e.file_type().unwrap()),
                )
            })
            .collect();
        let ours: Vec<(String, EntryKind)> = entries(dir.path(), 10_000)
            .unwrap()
            .iter()
            .map(|(n, k)| (n.to_owned(), k))
            .collect();
        assert_eq!(ours, std_order);
        assert!(ours.contains(&("sub".to_owned(), EntryKind::Directory)));
        assert!(ours.contains(&("file-0001-x".to_owned(), EntryKind::File)));
        #[cfg(unix)]
        {
            assert!(ours.contains(&("link".to_owned(), EntryKind::Symlink)));
            assert!(ours.contains(&("sock".to_owned(), EntryKind::Other)));
        }
        let n = ours.len();
        assert_eq!(entries(dir.path(), n).map(|e| e.len()), Ok(n));
        assert_eq!(entries(dir.path(), n - 1), Err(Stop::TooMany));
        assert_eq!(
            entries(&dir.path().join("file-0000-"), 10),
            Err(Stop::Unreadable)
        );
        assert_eq!(entries(&dir.path().join("nope"), 10), Err(Stop::Unreadable));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_name_that_is_not_utf8_makes_the_directory_unreadable() {
        use std::os::unix::ffi::OsStrExt as _;
        let dir = tempfile::tempdir().unwrap();
        let name = std::ffi::OsStr::from_bytes(b"bad-\xff");
        // some filesystems refuse such names; then there is nothing to test
        if std::fs::write(dir.path().join(name), b"").is_ok() {
            assert_eq!(entries(dir.path(), 10), Err(Stop::Unreadable));
            // with a limit: what std's order meets first decides, as one by one
            for i in 0..6 {
                std::fs::write(dir.path().join(format!("good-{i}")), b"").unwrap();
            }
            let order: Vec<std::ffi::OsString> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            let bad = order.iter().position(|n| n == name).unwrap();
            for max in 0..order.len() {
                let expected = if bad < max {
                    Stop::Unreadable
                } else {
                    Stop::TooMany
                };
                assert_eq!(entries(dir.path(), max), Err(expected), "{max}");
            }
            assert_eq!(entries(dir.path(), order.len()), Err(Stop::Unreadable));
        }
    }
}
