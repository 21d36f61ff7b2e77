//! What the Dockerfile reads from the context: COPY/ADD sources and bind-mount sources,
//! wildcards expanded against the context as BuildKit does.

use super::tree::Tree;
use super::{IGNORE_FILE, MAX_ENTRIES};
use crate::context::ignore::Pattern;
use crate::context::join;
use crate::context::{BuildContext, ContextEntry};
use crate::syntax::{Dockerfile, Instruction, Keyword};

/// One source the build reads from the context.
pub(super) struct Source {
    /// `COPY`, `ADD` or `RUN --mount`.
    pub(super) what: &'static str,
    pub(super) line: u32,
    /// Written without wildcards (so an exception can keep it).
    pub(super) literal: bool,
    /// It would pick up the new file itself: the root, or a wildcard matching its name.
    pub(super) takes_new_file: bool,
    /// The context paths it names (`""` is the root), wildcards expanded.
    pub(super) paths: Vec<String>,
}

/// One source as written.
pub(super) struct ContextRead {
    pub(super) what: &'static str,
    pub(super) line: u32,
    /// Cleaned, relative to the root; `""` for the root.
    pub(super) path: String,
}

/// Every context path the Dockerfile reads, or `None` when that cannot be known. A COPY
/// or ADD source written as an earlier one of the same keyword was is left out: it names
/// the same paths, and only the first use's line is ever reported (a large file repeats
/// `COPY . .` in every stage).
pub(super) fn context_uses(file: &Dockerfile) -> Option<Vec<ContextRead>> {
    let mut uses = Vec::new();
    let mut seen = crate::hash::FxSet::default();
    for ins in file.instructions() {
        match ins.kind {
            Keyword::Copy | Keyword::Add => copy_sources(ins, &file.source, &mut seen, &mut uses)?,
            Keyword::Run => mount_sources(ins, &mut uses)?,
            _ => {}
        }
    }
    Some(uses)
}

fn copy_sources<'a>(
    ins: &'a Instruction,
    source: &'a str,
    seen: &mut crate::hash::FxSet<(&'static str, &'a str)>,
    uses: &mut Vec<ContextRead>,
) -> Option<()> {
    if ins.flag_value("from").is_some() {
        return Some(());
    }
    let words = ins.paths(source);
    let Some((_dest, sources)) = words.split_last() else {
        return Some(());
    };
    let what = if ins.kind == Keyword::Add {
        "ADD"
    } else {
        "COPY"
    };
    for source in sources {
        if (!ins.heredocs().is_empty() && source.starts_with("<<"))
            || source.contains("://")
            || source.starts_with("git@")
        {
            continue;
        }
        if !seen.insert((what, source)) {
            continue;
        }
        uses.push(ContextRead {
            what,
            line: ins.start_line,
            path: crate::context::context_path(source)?,
        });
    }
    Some(())
}

fn mount_sources(ins: &Instruction, uses: &mut Vec<ContextRead>) -> Option<()> {
    for mount in ins.mounts() {
        if mount.kind.eq_ignore_ascii_case("bind") && mount.from.is_none() {
            uses.push(ContextRead {
                what: "RUN --mount",
                line: ins.start_line,
                path: crate::context::context_path(mount.source.as_deref().unwrap_or("."))?,
            });
        }
    }
    Some(())
}

/// Each use with the paths it names; `None` when one goes through a symlink.
pub(super) fn expand(
    context: &dyn BuildContext,
    tree: &Tree,
    uses: Vec<ContextRead>,
) -> Option<Vec<Source>> {
    let mut sources = Vec::with_capacity(uses.len());
    for u in uses {
        let literal = !crate::context::has_wildcard(&u.path);
        let takes_new_file = u.path.is_empty()
            || (!literal
                && !u.path.contains('/')
                && Pattern::segment(&u.path).matches(IGNORE_FILE));
        let paths = if literal {
            vec![u.path]
        } else {
            let mut found = Vec::new();
            expand_glob(context, "", &u.path, &mut found)?;
            found
        };
        if tree.through_symlink(paths.iter().map(String::as_str)) {
            return None;
        }
        sources.push(Source {
            what: u.what,
            line: u.line,
            literal,
            takes_new_file,
            paths,
        });
    }
    Some(sources)
}

/// Expands `rest` (segments with wildcards, as Go's `filepath.Match` reads each) below
/// `dir`, the way BuildKit resolves a COPY source before it applies the ignore file.
pub(super) fn expand_glob(
    context: &dyn BuildContext,
    dir: &str,
    rest: &str,
    found: &mut Vec<String>,
) -> Option<()> {
    if found.len() > MAX_ENTRIES {
        return None;
    }
    let (segment, tail) = rest
        .split_once('/')
        .map_or((rest, None), |(s, t)| (s, Some(t)));
    let next: Vec<String> = if crate::context::has_wildcard(segment) {
        let glob = Pattern::segment(segment);
        context
            .list(dir)?
            .iter()
            .filter(|(name, _)| glob.matches(name))
            .map(|(name, _)| join(dir, name))
            .collect()
    } else {
        let path = join(dir, segment);
        if context.probe(&path) == ContextEntry::Missing {
            Vec::new()
        } else {
            vec![path]
        }
    };
    for path in next {
        match tail {
            None => found.push(path),
            Some(tail) => expand_glob(context, &path, tail, found)?,
        }
    }
    Some(())
}
