//! The rule table: what the proposed file may list, and which walked entries each rule
//! takes.

use super::parse;
use super::tree::Tree;
use crate::context::ignore::Pattern;
use crate::context::join;
use crate::context::{BuildContext, ContextEntry, DirEntries, EntryKind};

/// What an entry must be for a rule to take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Want {
    Dir,
    File,
    Any,
}

/// A condition on a match.
#[derive(Debug, Clone, Copy)]
pub(super) enum Needs {
    Nothing,
    /// A file of this name in the same directory (`package.json` beside `node_modules`).
    Beside(&'static str),
    /// A file of this name inside the matched directory (`pyvenv.cfg` in a virtualenv).
    Inside(&'static str),
}

/// One kind of thing a build does not need.
pub(super) struct Rule {
    /// A one-segment `.dockerignore` glob, matched against entry names.
    pub(super) name: &'static str,
    pub(super) want: Want,
    /// Matches count at any depth (the pattern becomes `**/name`), not only at the root.
    pub(super) anywhere: bool,
    pub(super) needs: Needs,
    /// A source the pattern would exclude may be kept with a `!source` exception (patterns
    /// naming kinds of files); otherwise the pattern is dropped.
    pub(super) exceptions: bool,
}

pub(super) const fn rule(name: &'static str, want: Want, anywhere: bool, needs: Needs) -> Rule {
    Rule {
        name,
        want,
        anywhere,
        needs,
        exceptions: false,
    }
}

pub(super) const fn files(name: &'static str, anywhere: bool) -> Rule {
    Rule {
        name,
        want: Want::Any,
        anywhere,
        needs: Needs::Nothing,
        exceptions: true,
    }
}

/// What is proposed, in the order it is written.
pub(super) const RULES: &[Rule] = &[
    rule(".git", Want::Any, false, Needs::Nothing),
    rule(
        "node_modules",
        Want::Dir,
        true,
        Needs::Beside("package.json"),
    ),
    rule("__pycache__", Want::Dir, true, Needs::Nothing),
    files("*.pyc", true),
    rule(".venv", Want::Dir, false, Needs::Nothing),
    rule("venv", Want::Dir, false, Needs::Inside("pyvenv.cfg")),
    rule(".pytest_cache", Want::Dir, true, Needs::Nothing),
    rule(".mypy_cache", Want::Dir, true, Needs::Nothing),
    rule("target", Want::Dir, false, Needs::Beside("Cargo.toml")),
    rule("dist", Want::Dir, false, Needs::Nothing),
    rule("build", Want::Dir, false, Needs::Nothing),
    files(".env*", false),
    rule(".idea", Want::Dir, false, Needs::Nothing),
    rule(".vscode", Want::Dir, false, Needs::Nothing),
    files("*.log", true),
    rule(".DS_Store", Want::File, true, Needs::Nothing),
];

/// Whether `rule` takes the entry `name` of `dir`, a sibling of `children`.
pub(super) fn takes(
    context: &dyn BuildContext,
    rule: &Rule,
    rule_name: &Pattern,
    dir: &str,
    name: &str,
    kind: EntryKind,
    children: &DirEntries,
) -> bool {
    let kind_ok = match rule.want {
        Want::Dir => kind == EntryKind::Directory,
        Want::File => kind == EntryKind::File,
        Want::Any => true,
    };
    if !kind_ok || !(rule.anywhere || dir.is_empty()) || !rule_name.matches(name) {
        return false;
    }
    match rule.needs {
        Needs::Nothing => true,
        Needs::Beside(file) => children
            .iter()
            .any(|(n, k)| n == file && k == EntryKind::File),
        Needs::Inside(file) => matches!(
            context.probe(&join(&join(dir, name), file)),
            ContextEntry::File { .. }
        ),
    }
}

/// Per rule that took something, its patterns: `name` when everything it took is at the
/// root, `**/name` when that matches nothing else, otherwise each path.
pub(super) fn choose(tree: &Tree) -> Vec<(usize, Vec<String>)> {
    let mut chosen = Vec::new();
    for (i, rule) in RULES.iter().enumerate() {
        let taken = &tree.matches[i];
        if taken.is_empty() {
            continue;
        }
        if taken.iter().all(|p| !p.contains('/')) {
            chosen.push((i, vec![rule.name.to_owned()]));
            continue;
        }
        let anywhere = format!("**/{}", rule.name);
        let pattern = parse(&anywhere);
        let over = tree.entries().iter().any(|(e, _)| {
            pattern.matches(e)
                && !taken
                    .iter()
                    .any(|t| e == t || e.starts_with(&format!("{t}/")))
        });
        if !over {
            chosen.push((i, vec![anywhere]));
        } else if taken.iter().all(|p| plain_name(p)) {
            chosen.push((i, taken.clone()));
        }
    }
    chosen
}

/// A path that reads as itself in a `.dockerignore` line.
pub(super) fn plain_name(path: &str) -> bool {
    !path.starts_with(['#', '!'])
        && path.trim() == path
        && !path.contains(['*', '?', '[', ']', '\\'])
}
