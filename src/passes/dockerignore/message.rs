//! The proposed file and the message that explains it: what it keeps out, and why the fix
//! is safe or unsafe.

use std::fmt::Write as _;

use super::sources::Source;
use super::tree::Tree;
use super::{DOCKERIGNORE, HEADER, IGNORE_FILE};
use crate::NewFile;
use crate::context::EntryKind;
use crate::text::Applicability;

/// Names listed in a message before "and N more".
const MAX_NAMED: usize = 5;

pub(super) fn new_file(
    chosen: &[(usize, Vec<String>)],
    exceptions: &[String],
    excluded: &[&str],
    tree: &Tree,
    sources: &[Source],
    dockerfile: &str,
    first_line: u32,
) -> NewFile {
    let mut content = HEADER.to_owned();
    for line in chosen.iter().flat_map(|(_, p)| p).chain(exceptions) {
        content.push_str(line);
        content.push('\n');
    }
    let mut message = format!(
        "add {IGNORE_FILE}: keeps {} out of the build context",
        name_list(excluded.iter().copied())
    );
    // Sources that copy a directory holding something excluded: the image changes.
    let mut lost: Vec<(&Source, Vec<&str>)> = Vec::new();
    for source in sources {
        for dir in source
            .paths
            .iter()
            .filter(|p| p.is_empty() || tree.kind(p) == Some(EntryKind::Directory))
        {
            let under: Vec<&str> = excluded
                .iter()
                .copied()
                .filter(|e| dir.is_empty() || e.starts_with(&format!("{dir}/")))
                .collect();
            if !under.is_empty() {
                lost.push((source, under));
            }
        }
    }
    let siblings: Vec<&str> = tree
        .entries()
        .iter()
        .filter(|(p, k)| {
            *k == EntryKind::File
                && p.as_str() != dockerfile
                && crate::context::is_dockerfile_name(base(p))
        })
        .map(|(p, _)| p.as_str())
        .collect();
    let (applicability, line) = if let Some((source, under)) = lost.first() {
        let _ = write!(
            message,
            "; {} on line {} copies a directory holding {}, which would no longer reach {}",
            source.what,
            source.line,
            name_list(under.iter().copied()),
            if source.what == "RUN --mount" {
                "the build"
            } else {
                "the image"
            }
        );
        (Applicability::Unsafe, source.line)
    } else {
        message.push_str("; no COPY, ADD or bind mount uses them");
        (Applicability::Safe, first_line)
    };
    let (applicability, line) = match sources.iter().find(|s| s.takes_new_file) {
        Some(source) => {
            let _ = write!(
                message,
                "; {} on line {} would also copy the new {IGNORE_FILE}",
                source.what, source.line
            );
            let line = if applicability == Applicability::Safe {
                source.line
            } else {
                line
            };
            (Applicability::Unsafe, line)
        }
        None => (applicability, line),
    };
    let applicability = if siblings.is_empty() {
        applicability
    } else {
        let _ = write!(
            message,
            "; {} shares this context and was not checked",
            name_list(siblings.iter().copied())
        );
        Applicability::Unsafe
    };
    NewFile {
        path: IGNORE_FILE.to_owned(),
        content,
        pass: DOCKERIGNORE.name,
        applicability,
        message,
        line,
    }
}

pub(super) fn name_list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    let mut out = names
        .iter()
        .take(MAX_NAMED)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > MAX_NAMED {
        let _ = write!(out, " and {} more", names.len() - MAX_NAMED);
    }
    out
}

pub(super) fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}
