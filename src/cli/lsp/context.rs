//! The build context as the language server reads it: the CLI's filesystem context behind a
//! cache, so a keystroke does not walk the context again.
//!
//! Entries are kept until a document is saved, the client reports changed files, the settings
//! change, or [`MAX_AGE`] passes; whichever comes first. The walk itself is bounded by the
//! passes (dockerignore stops at 20,000 entries, reads stop at 1 MiB a file); the cache
//! stops keeping file contents after [`MAX_CACHED_BYTES`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dfrewrite::{BuildContext, ContextEntry, EntryKind};

use crate::cli::fsio::FsContext;

/// How long a cached context is trusted without any sign of change.
const MAX_AGE: Duration = Duration::from_secs(30);
/// File contents kept at most, over all files of one context.
const MAX_CACHED_BYTES: usize = 32 * 1024 * 1024;

type Listing = Option<Vec<(String, EntryKind)>>;

/// File contents by path, with the bytes kept so far.
#[derive(Default)]
struct Reads {
    files: HashMap<String, Option<Vec<u8>>>,
    bytes: usize,
}

/// One context directory, with what has been asked of it so far.
pub(crate) struct CachedContext {
    inner: FsContext,
    created: Instant,
    probes: Mutex<HashMap<String, ContextEntry>>,
    reads: Mutex<Reads>,
    lists: Mutex<HashMap<String, Listing>>,
}

impl CachedContext {
    fn new(inner: FsContext) -> Self {
        Self {
            inner,
            created: Instant::now(),
            probes: Mutex::default(),
            reads: Mutex::default(),
            lists: Mutex::default(),
        }
    }

    pub(crate) fn fs(&self) -> &FsContext {
        &self.inner
    }
}

impl BuildContext for CachedContext {
    fn probe(&self, path: &str) -> ContextEntry {
        let mut probes = lock(&self.probes);
        if let Some(hit) = probes.get(path) {
            return hit.clone();
        }
        let entry = self.inner.probe(path);
        probes.insert(path.to_owned(), entry.clone());
        entry
    }

    fn read(&self, path: &str) -> Option<Vec<u8>> {
        let mut reads = lock(&self.reads);
        if let Some(hit) = reads.files.get(path) {
            return hit.clone();
        }
        let bytes = self.inner.read(path);
        let size = bytes.as_ref().map_or(0, Vec::len);
        if reads.bytes + size <= MAX_CACHED_BYTES {
            reads.bytes += size;
            reads.files.insert(path.to_owned(), bytes.clone());
        }
        bytes
    }

    fn list(&self, dir: &str) -> Option<Vec<(String, EntryKind)>> {
        let mut lists = lock(&self.lists);
        if let Some(hit) = lists.get(dir) {
            return hit.clone();
        }
        let listing = self.inner.list(dir);
        lists.insert(dir.to_owned(), listing.clone());
        listing
    }
}

/// A poisoned lock only means a pass panicked mid-lookup; the map itself is still whole.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The cached contexts by directory.
#[derive(Default)]
pub(crate) struct Contexts {
    by_dir: HashMap<PathBuf, Arc<CachedContext>>,
}

impl Contexts {
    /// The context rooted at `dir`; `None` when it cannot be opened (passes then hold back).
    pub(crate) fn get(&mut self, dir: &Path) -> Option<Arc<CachedContext>> {
        if let Some(ctx) = self.by_dir.get(dir)
            && ctx.created.elapsed() < MAX_AGE
        {
            return Some(Arc::clone(ctx));
        }
        let ctx = Arc::new(CachedContext::new(FsContext::new(dir).ok()?));
        self.by_dir.insert(dir.to_path_buf(), Arc::clone(&ctx));
        Some(ctx)
    }

    /// Forgets everything read: files may have changed.
    pub(crate) fn clear(&mut self) {
        self.by_dir.clear();
    }
}
