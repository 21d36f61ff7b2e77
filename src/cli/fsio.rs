//! Filesystem access: reading Dockerfiles and the build context (writing is in `write`).

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use dfrewrite::context::{DirEntries, HEAD_BYTES, READ_LIMIT};
use dfrewrite::{BuildContext, ContextEntry, MAX_INPUT_BYTES};

/// Why one input could not be processed.
#[derive(Debug)]
pub(crate) enum Failure {
    Io(io::Error),
    /// A FIFO, device, socket or directory where a Dockerfile was expected.
    NotRegular,
    /// The library refused the text (or hit a bug).
    Rewrite(dfrewrite::Error),
}

/// An I/O error as one short phrase, without Rust's `(os error N)` suffix.
pub(crate) fn describe_io(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

/// The error for an input over the size cap; `len` is its size when known.
pub(crate) fn too_large(len: Option<u64>) -> dfrewrite::Error {
    let message = match len {
        Some(len) => format!("file is {len} bytes, larger than the {MAX_INPUT_BYTES} byte limit"),
        None => format!("input is larger than the {MAX_INPUT_BYTES} byte limit"),
    };
    dfrewrite::Error::Invalid {
        line: 1,
        column: 1,
        message,
    }
}

/// Reads a Dockerfile (following symlinks), refusing non-regular files and, without reading
/// them whole, files over the size cap.
pub(crate) fn read_dockerfile(path: &Path) -> Result<Vec<u8>, Failure> {
    let meta = fs::metadata(path).map_err(Failure::Io)?;
    if !meta.is_file() {
        return Err(Failure::NotRegular);
    }
    if meta.len() > MAX_INPUT_BYTES as u64 {
        return Err(Failure::Rewrite(too_large(Some(meta.len()))));
    }
    // Sized from the metadata (one byte over, to see the end in the same read): through
    // `take` read_to_end cannot see the size, and from empty it reads 32, 32, 64, ... bytes.
    #[allow(clippy::cast_possible_truncation)] // at most MAX_INPUT_BYTES, checked above
    let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
    File::open(path)
        .and_then(|f| f.take(MAX_INPUT_BYTES as u64 + 1).read_to_end(&mut bytes))
        .map_err(Failure::Io)?;
    // The file grew between the metadata call and the read.
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(Failure::Rewrite(too_large(None)));
    }
    Ok(bytes)
}

/// A build context over a directory on disk.
#[derive(Debug)]
pub(crate) struct FsContext {
    /// Canonical, so that resolved paths can be checked to stay inside it.
    root: PathBuf,
}

impl FsContext {
    /// The canonical root.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Where the Dockerfile at `path` lies inside the context, `/`-separated; `None` when
    /// it lies outside or its directory cannot be resolved.
    pub(crate) fn relative(&self, path: &Path) -> Option<String> {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let full = fs::canonicalize(dir).ok()?.join(path.file_name()?);
        let rel = full.strip_prefix(&self.root).ok()?;
        let parts: Option<Vec<&str>> = rel
            .components()
            .map(|c| match c {
                Component::Normal(part) => part.to_str(),
                _ => None,
            })
            .collect();
        Some(parts?.join("/"))
    }

    pub(crate) fn new(dir: &Path) -> io::Result<Self> {
        let root = fs::canonicalize(dir)?;
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                "not a directory",
            ));
        }
        Ok(Self { root })
    }
}

impl FsContext {
    /// `path` resolved inside the root, with its metadata (symlinks followed) when it was
    /// found on the way; `Err` with the entry to report otherwise.
    fn resolve(&self, path: &str) -> Result<(PathBuf, Option<fs::Metadata>), ContextEntry> {
        let rel = Path::new(path);
        // The library cleans paths already; refuse anything else rather than trust it.
        if !rel
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(ContextEntry::Missing);
        }
        let (resolved, meta) = match self.canonical(rel) {
            Ok(found) => found,
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                return Err(ContextEntry::Unreadable);
            }
            // Absent, or a dangling symlink.
            Err(_) => return Err(ContextEntry::Missing),
        };
        // A symlink leading out of the context is as good as absent: BuildKit cannot see it.
        if !resolved.starts_with(&self.root) {
            return Err(ContextEntry::Missing);
        }
        Ok((resolved, meta))
    }

    /// `rel` (only normal components) below the root, canonical as `fs::canonicalize` makes
    /// it, with its metadata unless a symlink was on the way. The root is canonical, so a
    /// path without a symlink below it is canonical already: one `lstat` per component
    /// below the root shows it, where `canonicalize` asks `readlink` of every component
    /// from `/` (five failing calls per probe in the corpus folder).
    fn canonical(&self, rel: &Path) -> io::Result<(PathBuf, Option<fs::Metadata>)> {
        let mut path = self.root.clone();
        let mut meta = None;
        for part in rel.components() {
            if let Component::Normal(part) = part {
                path.push(part);
                let found = fs::symlink_metadata(&path)?;
                if found.is_symlink() {
                    return Ok((fs::canonicalize(self.root.join(rel))?, None));
                }
                meta = Some(found);
            }
        }
        Ok((path, meta))
    }

    /// The metadata `resolve` found, or that of the resolved path.
    fn metadata(resolved: &Path, found: Option<fs::Metadata>) -> Option<fs::Metadata> {
        found.or_else(|| fs::metadata(resolved).ok())
    }
}

impl BuildContext for FsContext {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        let (resolved, found) = self.resolve(path).ok()?;
        let meta = Self::metadata(&resolved, found)?;
        // Never open FIFOs or devices; skip what is too large to be a manifest.
        if !meta.is_file() || meta.len() > READ_LIMIT as u64 {
            return None;
        }
        // sized from the metadata, as read_dockerfile does
        #[allow(clippy::cast_possible_truncation)] // at most READ_LIMIT, checked above
        let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
        File::open(&resolved)
            .and_then(|f| f.take(READ_LIMIT as u64 + 1).read_to_end(&mut bytes))
            .ok()?;
        (bytes.len() <= READ_LIMIT).then_some(bytes)
    }

    fn probe(&self, path: &str) -> ContextEntry {
        let (resolved, found) = match self.resolve(path) {
            Ok(resolved) => resolved,
            Err(entry) => return entry,
        };
        let Some(meta) = Self::metadata(&resolved, found) else {
            return ContextEntry::Unreadable;
        };
        if meta.is_dir() {
            return ContextEntry::Directory;
        }
        // Never open FIFOs or devices: reading them could block or have side effects.
        if !meta.is_file() {
            return ContextEntry::Unreadable;
        }
        let mut head = Vec::with_capacity(HEAD_BYTES);
        match File::open(&resolved).and_then(|f| f.take(HEAD_BYTES as u64).read_to_end(&mut head)) {
            Ok(_) => ContextEntry::File { head },
            Err(_) => ContextEntry::Unreadable,
        }
    }

    fn list(&self, dir: &str) -> Option<DirEntries> {
        match self.list_bounded(dir) {
            Listing::Entries(entries) => Some(entries),
            Listing::TooLarge | Listing::Unreadable => None,
        }
    }
}

/// A directory of the context is listed only this many levels below the root: deeper ones
/// answer [`Listing::TooLarge`], so no walk of a pass goes on without end.
pub(crate) const MAX_LIST_DEPTH: usize = 32;
/// A directory holding more entries than this is not listed (and not read past them).
pub(crate) const MAX_LIST_ENTRIES: usize = 20_000;

/// A directory's entries, or why there are none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Listing {
    Entries(DirEntries),
    /// Deeper than [`MAX_LIST_DEPTH`] or holding more than [`MAX_LIST_ENTRIES`] entries.
    TooLarge,
    /// Absent, outside the root, not a directory, or not readable.
    Unreadable,
}

impl FsContext {
    /// The entries of `dir` as [`BuildContext::list`] gives them, within the depth and size
    /// limits.
    pub(crate) fn list_bounded(&self, dir: &str) -> Listing {
        self.list_within(dir, MAX_LIST_DEPTH, MAX_LIST_ENTRIES)
    }

    fn list_within(&self, dir: &str, max_depth: usize, max_entries: usize) -> Listing {
        let rel = Path::new(dir);
        let mut depth = 0;
        for c in rel.components() {
            match c {
                Component::Normal(_) => depth += 1,
                Component::CurDir => {}
                _ => return Listing::Unreadable,
            }
        }
        if depth > max_depth {
            return Listing::TooLarge;
        }
        // The directory itself is resolved like probe does, so it stays inside the root
        // (the root is canonical already).
        let resolved = if depth == 0 {
            self.root.clone()
        } else {
            let Ok((resolved, _)) = self.canonical(rel) else {
                return Listing::Unreadable;
            };
            resolved
        };
        if !resolved.starts_with(&self.root) {
            return Listing::Unreadable;
        }
        match super::listdir::entries(&resolved, max_entries) {
            Ok(entries) => Listing::Entries(entries),
            Err(super::listdir::Stop::TooMany) => Listing::TooLarge,
            Err(super::listdir::Stop::Unreadable) => Listing::Unreadable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfrewrite::EntryKind;

    #[test]
    fn probe_stays_inside_the_root() {
        let outer = tempfile::tempdir().unwrap();
        let root = outer.path().join("ctx");
        fs::create_dir_all(root.join("sub")).unwrap();
        fs::write(outer.path().join("secret"), b"outside").unwrap();
        fs::write(root.join("app.py"), vec![b'x'; 2000]).unwrap();
        let ctx = FsContext::new(&root).unwrap();

        assert_eq!(ctx.probe("sub"), ContextEntry::Directory);
        assert_eq!(ctx.probe(""), ContextEntry::Directory);
        assert_eq!(ctx.probe("nope"), ContextEntry::Missing);
        assert_eq!(ctx.probe("../secret"), ContextEntry::Missing);
        assert_eq!(ctx.probe("/etc/passwd"), ContextEntry::Missing);
        let ContextEntry::File { head } = ctx.probe("app.py") else {
            panic!("app.py is a file");
        };
        assert_eq!(head.len(), HEAD_BYTES);
        assert_eq!(ctx.read("app.py").map(|b| b.len()), Some(2000));
        assert_eq!(ctx.read("sub"), None);
        assert_eq!(ctx.read("../secret"), None);

        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("../secret", root.join("escape")).unwrap();
            std::os::unix::fs::symlink(outer.path(), root.join("sub/up")).unwrap();
            std::os::unix::fs::symlink("app.py", root.join("inside")).unwrap();
            std::os::unix::fs::symlink("gone", root.join("dangling")).unwrap();
            assert_eq!(ctx.probe("escape"), ContextEntry::Missing);
            assert_eq!(ctx.read("escape"), None);
            assert_eq!(ctx.probe("sub/up/secret"), ContextEntry::Missing);
            assert!(matches!(ctx.probe("inside"), ContextEntry::File { .. }));
            assert_eq!(ctx.probe("dangling"), ContextEntry::Missing);
            // through a symlinked directory that stays inside
            std::os::unix::fs::symlink("sub", root.join("alias")).unwrap();
            fs::write(root.join("sub/in.txt"), b"in").unwrap();
            assert!(
                matches!(ctx.probe("alias/in.txt"), ContextEntry::File { head } if head == b"in")
            );
            assert_eq!(ctx.read("alias/in.txt").as_deref(), Some(&b"in"[..]));
            assert_eq!(ctx.probe("alias"), ContextEntry::Directory);
            assert_eq!(ctx.probe("app.py/x"), ContextEntry::Missing);
        }
    }

    #[test]
    fn listings_stop_at_the_depth_and_entry_limits() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("a/b/c")).unwrap();
        for name in ["x", "y", "z"] {
            fs::write(dir.path().join("a").join(name), b"").unwrap();
        }
        let ctx = FsContext::new(dir.path()).unwrap();
        assert!(matches!(ctx.list_within("a", 3, 4), Listing::Entries(e) if e.len() == 4));
        assert_eq!(ctx.list_within("a", 3, 3), Listing::TooLarge);
        assert_eq!(
            ctx.list_within("a/b/c", 3, 4),
            Listing::Entries(DirEntries::default())
        );
        assert_eq!(ctx.list_within("a/b/c", 2, 4), Listing::TooLarge);
        assert_eq!(ctx.list_within("a/nope", 3, 4), Listing::Unreadable);
        assert_eq!(ctx.list_within("..", 3, 4), Listing::Unreadable);
        assert_eq!(ctx.list("a/b/c").map(|l| l.len()), Some(0));
    }

    #[test]
    fn list_reports_kinds_without_following_links() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("sub/inner")).unwrap();
        fs::write(dir.path().join("sub/a.txt"), b"x").unwrap();
        let ctx = FsContext::new(dir.path()).unwrap();
        let mut sub: Vec<(String, EntryKind)> = ctx
            .list("sub")
            .unwrap()
            .iter()
            .map(|(n, k)| (n.to_owned(), k))
            .collect();
        sub.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            sub,
            [
                ("a.txt".to_owned(), EntryKind::File),
                ("inner".to_owned(), EntryKind::Directory)
            ]
        );
        assert_eq!(ctx.list("").unwrap().len(), 1);
        assert!(ctx.list("../").is_none());
        assert!(ctx.list("nope").is_none());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("sub", dir.path().join("link")).unwrap();
            assert!(
                ctx.list("")
                    .unwrap()
                    .iter()
                    .any(|e| e == ("link", EntryKind::Symlink))
            );
        }
        assert_eq!(
            ctx.relative(&dir.path().join("sub/Dockerfile")).as_deref(),
            Some("sub/Dockerfile")
        );
        assert_eq!(ctx.relative(Path::new("/Dockerfile")), None);
    }
}
