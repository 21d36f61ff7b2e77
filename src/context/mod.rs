//! What passes may learn about the build context, without the library touching the disk:
//! the [`BuildContext`] the CLI implements, which paths of it reach the builder (`ignore`),
//! and the few questions about context paths that more than one pass asks.

mod entries;
pub(crate) mod ignore;
mod memo;

pub use entries::DirEntries;
pub use memo::Memo;
pub(crate) use memo::shared;

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
    /// [`Self::probe`]; `""` is the root): each name with what it is, symlinks not followed,
    /// in no particular order. `None` when the directory cannot be listed; the default lists
    /// nothing. Shared, not copied: a context that keeps its listings hands every caller the
    /// same one.
    fn list(&self, dir: &str) -> Option<DirEntries> {
        let _ = dir;
        None
    }

    /// Where results computed from this context alone are kept, when the context lives
    /// longer than one rewrite (a directory run shares it between its Dockerfiles); `None`
    /// (the default) computes them for every rewrite.
    fn memo(&self) -> Option<&Memo> {
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

/// A COPY/ADD or bind-mount source as a path relative to the context root, cleaned (`""` is
/// the root; a leading `/` is the root too, as BuildKit reads sources); `None` when it is
/// not a plain path inside the context: its value needs evaluating (a variable, quotes, an
/// escape character) or it steps up with `..`. Wildcards are kept: see [`has_wildcard`].
pub(crate) fn context_path(source: &str) -> Option<String> {
    if source.is_empty() || source.contains(['$', '"', '\'', '\\', '`']) {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in source.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// `name` (a name or a relative path) inside the context directory `dir` (`""` is the root).
pub(crate) fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// The context directory `dir` with `parts` below it.
pub(crate) fn join_all(dir: &str, parts: &[String]) -> String {
    parts
        .iter()
        .fold(dir.to_owned(), |path, part| join(&path, part))
}

/// Whether a source holds a wildcard that BuildKit expands against the context.
pub(crate) fn has_wildcard(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

/// Whether a file is a Dockerfile, by name (case-sensitive, as BuildKit and editors use
/// them): `Dockerfile`, `dockerfile`, `Containerfile`, `Dockerfile.*`, `Containerfile.*`,
/// `*.Dockerfile`, `*.dockerfile`, `*.containerfile`, but not BuildKit's per-Dockerfile
/// ignore files (`Dockerfile.dockerignore`).
pub fn is_dockerfile_name(name: &str) -> bool {
    !name.ends_with(".dockerignore")
        && (name == "Dockerfile"
            || name == "dockerfile"
            || name == "Containerfile"
            || name.starts_with("Dockerfile.")
            || name.starts_with("Containerfile.")
            || name.ends_with(".Dockerfile")
            || name.ends_with(".dockerfile")
            || name.ends_with(".containerfile"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_paths() {
        assert_eq!(context_path(".").as_deref(), Some(""));
        assert_eq!(context_path("/").as_deref(), Some(""));
        assert_eq!(context_path("./src//app/").as_deref(), Some("src/app"));
        assert_eq!(context_path("/etc/x").as_deref(), Some("etc/x"));
        assert_eq!(context_path("*.json").as_deref(), Some("*.json"));
        for no in ["", "..", "a/../b", "$SRC", "\"a\"", "a\\b", "a`b", "'a'"] {
            assert_eq!(context_path(no), None, "{no}");
        }
        assert!(has_wildcard("a/*.txt") && has_wildcard("[ab]") && !has_wildcard("a.txt"));
    }

    #[test]
    fn dockerfile_names() {
        for yes in [
            "Dockerfile",
            "Containerfile",
            "Dockerfile.dev",
            "api.Dockerfile",
            "api.dockerfile",
            "dockerfile",
            "Containerfile.dev",
            "api.containerfile",
        ] {
            assert!(is_dockerfile_name(yes), "{yes}");
        }
        for no in [
            "Dockerfile.dockerignore",
            "Containerfile.dockerignore",
            "api.Dockerfile.dockerignore",
            "DockerfileX",
            "DOCKERFILE",
            "README.md",
            ".dockerignore",
        ] {
            assert!(!is_dockerfile_name(no), "{no}");
        }
    }
}
