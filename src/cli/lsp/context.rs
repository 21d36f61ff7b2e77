//! The build context as the language server reads it: the CLI's cached context
//! ([`CachedContext`]), so a keystroke does not walk the context again.
//!
//! Entries are kept until a document is saved, the client reports changed files, the settings
//! change, or [`MAX_AGE`] passes; whichever comes first. The walk itself is bounded by the
//! passes (dockerignore stops at 20,000 entries, reads stop at 1 MiB a file) and by the
//! listing limits of the filesystem context; the cache stops keeping file contents after
//! 32 MiB.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cli::cached::CachedContext;
use crate::cli::fsio::FsContext;

/// How long a cached context is trusted without any sign of change.
const MAX_AGE: Duration = Duration::from_secs(30);

/// The cached contexts by directory.
#[derive(Default)]
pub(crate) struct Contexts {
    by_dir: HashMap<PathBuf, (Instant, Arc<CachedContext>)>,
}

impl Contexts {
    /// The context rooted at `dir`; `None` when it cannot be opened (passes then hold back).
    pub(crate) fn get(&mut self, dir: &Path) -> Option<Arc<CachedContext>> {
        if let Some((created, ctx)) = self.by_dir.get(dir)
            && created.elapsed() < MAX_AGE
        {
            return Some(Arc::clone(ctx));
        }
        let ctx = Arc::new(CachedContext::new(FsContext::new(dir).ok()?));
        self.by_dir
            .insert(dir.to_path_buf(), (Instant::now(), Arc::clone(&ctx)));
        Some(ctx)
    }

    /// Forgets everything read: files may have changed.
    pub(crate) fn clear(&mut self) {
        self.by_dir.clear();
    }
}
