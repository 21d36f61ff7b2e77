//! What passes may learn about the build context, without the library touching the disk.

/// What the build context holds at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextEntry {
    /// Nothing there (or the path leaves the context).
    Missing,
    /// A directory.
    Directory,
    /// A regular file, with up to its first [`HEAD_BYTES`] bytes.
    File { head: Vec<u8> },
    /// Something that exists but could not be read or is neither file nor directory.
    Unreadable,
}

/// How many leading bytes of a file a context reports: enough for a tar header.
pub const HEAD_BYTES: usize = 512;

/// The largest file [`BuildContext::read`] returns whole: dependency manifests are small.
pub const READ_LIMIT: usize = 1024 * 1024;

/// Read access to a build context, implemented by the CLI over the filesystem.
pub trait BuildContext: Send + Sync {
    /// Looks up `path`, relative to the context root, already cleaned (no leading `/` or
    /// `./`, no `..`). Symlinks are followed inside the context.
    fn probe(&self, path: &str) -> ContextEntry;

    /// The whole content of the regular file at `path` (cleaned as for [`Self::probe`]),
    /// when it is at most [`READ_LIMIT`] bytes and can be read; `None` otherwise. The
    /// default reads nothing, so passes that need contents hold back.
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        let _ = path;
        None
    }

    /// The entries of the directory `dir` (relative to the context root, cleaned as for
    /// [`Self::probe`]; `""` is the root): each name with what it is, symlinks not followed.
    /// `None` when the directory cannot be listed; the default lists nothing.
    fn list(&self, dir: &str) -> Option<Vec<(String, EntryKind)>> {
        let _ = dir;
        None
    }
}

/// What a directory entry is, as [`BuildContext::list`] reports it (symlinks not followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Directory,
    Symlink,
    /// A FIFO, socket or device.
    Other,
}
