//! A build context read once: the filesystem context behind a cache of every answer it gave
//! (probes, reads, listings) and a [`Memo`] for what passes derive from it, shared by every
//! Dockerfile that uses the context (a directory run, from any thread; the language server,
//! between keystrokes).
//!
//! Listings stop at the depth and size limits of [`FsContext::list_bounded`]; the context
//! remembers where, so the run can say which context was too large and skipped. File
//! contents are kept up to [`MAX_CACHED_BYTES`].

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use dfrewrite::context::{DirEntries, Memo};
use dfrewrite::{BuildContext, ContextEntry};

use super::fsio::{FsContext, Listing};

/// File contents kept at most, over all files of one context.
const MAX_CACHED_BYTES: usize = 32 * 1024 * 1024;

/// File contents by path, with the bytes kept so far.
#[derive(Default)]
struct Reads {
    files: HashMap<String, Option<Vec<u8>>>,
    bytes: usize,
}

/// One context directory, with what has been asked of it so far.
pub(crate) struct CachedContext {
    inner: FsContext,
    probes: Mutex<HashMap<String, ContextEntry>>,
    reads: Mutex<Reads>,
    lists: Mutex<HashMap<String, Listing>>,
    /// Directories not listed because they were too deep or too large.
    too_large: Mutex<BTreeSet<String>>,
    memo: Memo,
}

impl CachedContext {
    pub(crate) fn new(inner: FsContext) -> Self {
        Self {
            inner,
            probes: Mutex::default(),
            reads: Mutex::default(),
            lists: Mutex::default(),
            too_large: Mutex::default(),
            memo: Memo::default(),
        }
    }

    pub(crate) fn fs(&self) -> &FsContext {
        &self.inner
    }

    /// The first directory (in path order) that a pass asked for and that was too deep or
    /// held too many entries to list, with how many such directories there were.
    pub(crate) fn too_large(&self) -> Option<(String, usize)> {
        let dirs = lock(&self.too_large);
        dirs.first().map(|first| (first.clone(), dirs.len()))
    }
}

impl BuildContext for CachedContext {
    fn probe(&self, path: &str) -> ContextEntry {
        if let Some(hit) = lock(&self.probes).get(path) {
            return hit.clone();
        }
        // Not under the lock: other threads go on asking about other paths meanwhile.
        let entry = self.inner.probe(path);
        lock(&self.probes).insert(path.to_owned(), entry.clone());
        entry
    }

    fn read(&self, path: &str) -> Option<Vec<u8>> {
        if let Some(hit) = lock(&self.reads).files.get(path) {
            return hit.clone();
        }
        let bytes = self.inner.read(path);
        let size = bytes.as_ref().map_or(0, Vec::len);
        let mut reads = lock(&self.reads);
        if reads.bytes + size <= MAX_CACHED_BYTES && !reads.files.contains_key(path) {
            reads.bytes += size;
            reads.files.insert(path.to_owned(), bytes.clone());
        }
        bytes
    }

    fn list(&self, dir: &str) -> Option<DirEntries> {
        let cached = lock(&self.lists).get(dir).cloned();
        let listing = cached.unwrap_or_else(|| {
            let listing = self.inner.list_bounded(dir);
            if listing == Listing::TooLarge {
                lock(&self.too_large).insert(dir.to_owned());
            }
            lock(&self.lists).insert(dir.to_owned(), listing.clone());
            listing
        });
        match listing {
            Listing::Entries(entries) => Some(entries),
            Listing::TooLarge | Listing::Unreadable => None,
        }
    }

    fn memo(&self) -> Option<&Memo> {
        Some(&self.memo)
    }
}

/// A poisoned lock only means a pass panicked mid-lookup; the map itself is still whole.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The contexts of one directory run, by directory as named, each opened once.
#[derive(Default)]
pub(crate) struct RunContexts {
    by_dir: Mutex<HashMap<PathBuf, Option<Arc<CachedContext>>>>,
}

impl RunContexts {
    /// The context rooted at `dir`; `None` when it cannot be opened (passes then hold back).
    pub(crate) fn get(&self, dir: &Path) -> Option<Arc<CachedContext>> {
        if let Some(known) = lock(&self.by_dir).get(dir) {
            return known.clone();
        }
        let ctx = FsContext::new(dir)
            .ok()
            .map(|fs| Arc::new(CachedContext::new(fs)));
        // Two threads may open the same directory at once; the first one kept wins.
        lock(&self.by_dir)
            .entry(dir.to_path_buf())
            .or_insert(ctx)
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn answers_are_kept_and_too_deep_listings_remembered() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), b"one").unwrap();
        let ctx = CachedContext::new(FsContext::new(dir.path()).unwrap());
        assert_eq!(ctx.read("a.txt").as_deref(), Some(&b"one"[..]));
        assert_eq!(ctx.list("").map(|l| l.len()), Some(1));
        // every caller gets the one listing, not a copy
        assert!(ctx.list("").unwrap().same(&ctx.list("").unwrap()));
        fs::write(dir.path().join("a.txt"), b"two").unwrap();
        fs::write(dir.path().join("b.txt"), b"").unwrap();
        // the run sees the context as it first read it
        assert_eq!(ctx.read("a.txt").as_deref(), Some(&b"one"[..]));
        assert_eq!(ctx.list("").map(|l| l.len()), Some(1));
        assert_eq!(ctx.too_large(), None);

        let deep = vec!["d"; super::super::fsio::MAX_LIST_DEPTH + 1].join("/");
        fs::create_dir_all(dir.path().join(&deep)).unwrap();
        assert_eq!(ctx.list(&deep), None);
        // one level less is listed: it holds the last `d`
        assert_eq!(
            ctx.list(&deep[2..])
                .map(|l| l.iter().map(|(n, k)| (n.to_owned(), k)).collect::<Vec<_>>()),
            Some(vec![("d".to_owned(), dfrewrite::EntryKind::Directory)])
        );
        assert_eq!(ctx.too_large(), Some((deep, 1)));
    }

    #[test]
    fn one_context_per_directory() {
        let dir = tempfile::tempdir().unwrap();
        let contexts = RunContexts::default();
        let a = contexts.get(dir.path()).unwrap();
        let b = contexts.get(dir.path()).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(contexts.get(&dir.path().join("nope")).is_none());
    }
}
