//! The path a diff header names, so that `git apply` and `patch -p1` accept the diff.
//!
//! A path given as typed (`svc/Dockerfile`) is used as it is. An absolute path, or one that
//! climbs out with `..`, would give `a//abs/Dockerfile` or `a/../x`, which both tools refuse;
//! such a path is named as git names it: relative to the current directory when the file is
//! below it, otherwise relative to the root of the git repository holding it (apply the diff
//! there), otherwise without its leading `/` (apply it from `/`).

use std::path::{Component, Path, PathBuf};

/// The path to write after `a/` and `b/` for the file at `path`, shown as `shown`.
pub(crate) fn header_path(path: &Path, shown: &str) -> String {
    let plain = path
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if plain {
        return shown.to_owned();
    }
    let Some(absolute) = resolve(path) else {
        return shown.trim_start_matches('/').to_owned();
    };
    if let Some(rel) = std::env::current_dir()
        .ok()
        .and_then(|cwd| cwd.canonicalize().ok())
        .and_then(|cwd| relative(&absolute, &cwd))
    {
        return rel;
    }
    if let Some(rel) = repository_root(&absolute).and_then(|root| relative(&absolute, &root)) {
        return rel;
    }
    to_slashes(absolute.strip_prefix("/").unwrap_or(&absolute))
}

/// The absolute path with symlinked directories resolved (the file itself may not exist
/// yet: a proposed new file).
fn resolve(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    Some(dir.canonicalize().ok()?.join(name))
}

fn relative(path: &Path, base: &Path) -> Option<String> {
    let rel = path.strip_prefix(base).ok()?;
    (!rel.as_os_str().is_empty()).then(|| to_slashes(rel))
}

/// The nearest directory above `path` holding `.git` (a directory, or a file in a worktree).
fn repository_root(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .skip(1)
        .find(|dir| dir.join(".git").exists())
        .map(Path::to_path_buf)
}

fn to_slashes(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_relative_paths_are_kept() {
        assert_eq!(
            header_path(Path::new("./svc/Dockerfile"), "svc/Dockerfile"),
            "svc/Dockerfile"
        );
    }

    #[test]
    fn absolute_paths_outside_any_repository_lose_the_leading_slash() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("Dockerfile");
        std::fs::write(&file, "FROM a\n").unwrap();
        let canonical = dir.path().canonicalize().unwrap().join("Dockerfile");
        let header = header_path(&file, &file.to_string_lossy());
        // below the current directory (when the tests run from /tmp) or from the root
        assert!(!header.starts_with('/'), "{header}");
        assert!(canonical.to_string_lossy().ends_with(&header), "{header}");
    }
}
