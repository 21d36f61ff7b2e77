//! dfrewrite: rewrites Dockerfiles into smaller, faster-building, safer ones without changing
//! what the image does.
//!
//! The library never prints, exits or touches the filesystem: the CLI reads files, hands the
//! text to [`rewrite`], and decides what to write. Information about the build context (for
//! passes that must look at source files) comes in through the [`BuildContext`] trait.

mod bits;
pub mod context;
mod fixpoint;
mod hash;
mod managers;
pub mod passes;
mod pragma;
pub mod semantic;
pub mod shell;
pub mod syntax;
pub mod text;
mod trace;
mod transforms;

pub use context::{BuildContext, ContextEntry, EntryKind};
pub use fixpoint::{AppliedFix, NewFile, Outcome, rewrite, rewrite_consuming, rewrite_owned};
pub use passes::{FixAvailability, MayDo, PassInfo, pass_by_name, passes};
pub use text::Applicability;
pub use trace::{Finding, Trace, rewrite_traced};

/// Directories that the passes may leave out of an image (package indexes, download caches,
/// cache-mount targets), from the package-manager data: an image check treats their absence
/// in a rewrite as intended.
pub fn removable_cache_dirs() -> Vec<&'static str> {
    managers::removable_dirs()
}

/// Whether a `.dockerignore` reading `ignore` keeps `path` (relative to the context root,
/// `/`-separated) out of the build context, as BuildKit decides it.
pub fn dockerignore_excludes(ignore: &str, path: &str) -> bool {
    context::ignore::IgnoreFile::parse(ignore).excludes(path)
}

/// Each package manager's name with the directories it keeps an index or a cache in, from
/// the package-manager data; a per-user cache appears for root (`/root/.npm`) and as a
/// pattern for other users (`/home/*/.npm`, where `*` is one path component).
pub fn cache_locations() -> Vec<(&'static str, String)> {
    managers::cache_locations()
}

use std::sync::Arc;

/// Inputs larger than this are refused (a Dockerfile that large is not a Dockerfile).
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;

/// What to run and how far to go.
#[derive(Clone)]
pub struct Settings {
    /// The lowest applicability that is applied: `Safe` by default, `Unsafe` with `--unsafe`.
    pub threshold: Applicability,
    /// When set, only these passes run.
    pub select: Option<Vec<String>>,
    /// Passes that never run.
    pub ignore: Vec<String>,
    /// The build context, when it can be read.
    pub context: Option<Arc<dyn BuildContext>>,
    /// Where the Dockerfile lies, relative to the context root (`docker/Dockerfile`), when it
    /// lies inside it. BuildKit reads `<Dockerfile>.dockerignore` beside it.
    pub dockerfile: Option<String>,
    /// Whether inline pragmas (`# dfrewrite: ignore=…`, `# hadolint ignore=…`) are honoured
    /// and reported on; `--no-inline-ignores` turns them off.
    pub inline_ignores: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            threshold: Applicability::Safe,
            select: None,
            ignore: Vec::new(),
            context: None,
            dockerfile: None,
            inline_ignores: true,
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("threshold", &self.threshold)
            .field("select", &self.select)
            .field("ignore", &self.ignore)
            .field("context", &self.context.is_some())
            .field("dockerfile", &self.dockerfile)
            .field("inline_ignores", &self.inline_ignores)
            .finish()
    }
}

impl Settings {
    /// Whether the pass called `name` runs under these settings.
    pub fn runs(&self, name: &str) -> bool {
        if self.ignore.iter().any(|n| n == name) {
            return false;
        }
        self.select
            .as_ref()
            .is_none_or(|sel| sel.iter().any(|n| n == name))
    }
}

/// Why a text could not be rewritten.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input is not a Dockerfile BuildKit would accept (or not text at all).
    #[error("{line}:{column}: error: {message}")]
    Invalid {
        line: u32,
        column: u32,
        message: String,
    },
    /// A bug in dfrewrite: a rewrite that does not converge or does not parse.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Checks raw bytes before parsing: size cap, UTF-8, no NUL bytes.
///
/// Returns the text, or an [`Error::Invalid`] pointing at the first offending byte.
pub fn decode(bytes: &[u8]) -> Result<&str, Error> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(Error::Invalid {
            line: 1,
            column: 1,
            message: format!(
                "file is {} bytes, larger than the {} byte limit",
                bytes.len(),
                MAX_INPUT_BYTES
            ),
        });
    }
    let (valid, invalid_at) = match std::str::from_utf8(bytes) {
        Ok(s) => (s, None),
        Err(e) => {
            let up_to = e.valid_up_to();
            (
                std::str::from_utf8(&bytes[..up_to]).unwrap_or_default(),
                Some(up_to),
            )
        }
    };
    let position = |offset: usize| {
        let idx = text::LineIndex::new(valid);
        idx.line_col(valid, text::to_u32(offset.min(valid.len())))
    };
    if let Some(nul) = valid.bytes().position(|b| b == 0) {
        let (line, column) = position(nul);
        return Err(Error::Invalid {
            line,
            column,
            message: "file contains a NUL byte; not a text file".into(),
        });
    }
    if let Some(at) = invalid_at {
        let (line, column) = position(at);
        return Err(Error::Invalid {
            line,
            column,
            message: "file is not valid UTF-8".into(),
        });
    }
    Ok(valid)
}
