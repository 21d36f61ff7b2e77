//! Turning path arguments into the list of Dockerfiles to process.

use std::path::{Path, PathBuf};

use super::fsio;

/// One input, or the reason a path argument yielded none.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Target {
    pub(crate) path: PathBuf,
    pub(crate) error: Option<String>,
}

/// Expands directories into the Dockerfiles below them (honouring .gitignore and skipping
/// hidden entries); files named explicitly are kept whatever their name. Sorted and
/// deduplicated so output does not depend on directory order.
pub(crate) fn collect(roots: &[PathBuf]) -> Vec<Target> {
    let mut targets = Vec::new();
    for root in roots {
        match std::fs::metadata(root) {
            Err(e) => targets.push(Target {
                path: root.clone(),
                error: Some(fsio::describe_io(&e)),
            }),
            Ok(meta) if meta.is_dir() => walk_dir(root, &mut targets),
            // Non-regular files are refused when read, with the file's own message.
            Ok(_) => targets.push(Target {
                path: root.clone(),
                error: None,
            }),
        }
    }
    targets.sort();
    targets.dedup_by(|a, b| a.path == b.path);
    targets
}

fn walk_dir(root: &Path, targets: &mut Vec<Target>) {
    // require_git(false): a .gitignore counts even outside a git checkout, as in ruff.
    let walker = ignore::WalkBuilder::new(root).require_git(false).build();
    for entry in walker {
        match entry {
            Ok(entry) => {
                // Symlinks are not followed while walking (the same file twice, or one outside
                // the tree); name a symlinked Dockerfile explicitly to process it.
                let is_file = entry.file_type().is_some_and(|t| t.is_file());
                if is_file
                    && dfrewrite::context::is_dockerfile_name(&entry.file_name().to_string_lossy())
                {
                    targets.push(Target {
                        path: entry.into_path(),
                        error: None,
                    });
                }
            }
            Err(e) => targets.push(Target {
                path: root.to_path_buf(),
                error: Some(e.to_string()),
            }),
        }
    }
}

/// What a directory without Dockerfiles says (ruff: "No Python files found").
pub(crate) const NONE_FOUND: &str = "no Dockerfile found (looked for Dockerfile, Containerfile, \
    dockerfile, Dockerfile.*, Containerfile.*, *.Dockerfile, *.dockerfile, *.containerfile)";

/// The directory arguments under which the walk found nothing.
pub(crate) fn without_dockerfiles<'r>(roots: &'r [PathBuf], targets: &[Target]) -> Vec<&'r Path> {
    roots
        .iter()
        .filter(|root| root.is_dir())
        .filter(|root| !targets.iter().any(|t| t.path.starts_with(root)))
        .map(PathBuf::as_path)
        .collect()
}
