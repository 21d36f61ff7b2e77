//! The walk of the build context: every entry outside the directories a rule takes.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::MAX_ENTRIES;
use super::rules::{RULES, takes};
use crate::context::ignore::{IgnoreFile, Pattern};
use crate::context::join;
use crate::context::{BuildContext, DirEntries, EntryKind};

/// The walked context: every entry outside the directories a rule takes, which are listed
/// but not entered. The listings are the context's own (shared, not copied); the one index
/// of every entry by path is built only when a proposal needs it, which a context where no
/// rule takes anything (one Dockerfile in a folder of 2000) never does.
pub(super) struct Tree {
    /// The listing of every directory the walk entered, by path (`""` is the root).
    dirs: HashMap<String, DirEntries>,
    /// Per rule, the entries it takes, in the order of a walk that lists each directory
    /// sorted by name and enters the last-pushed directory first.
    pub(super) matches: Vec<Vec<String>>,
    /// Every entry by path, in path order.
    index: OnceLock<Vec<(String, EntryKind)>>,
    /// Paths looked up by scanning so far (by every Dockerfile sharing the context).
    scans: AtomicUsize,
}

/// Up to this many paths are looked up by scanning their directory's listing; then the
/// index is built: the few sources one Dockerfile names are cheaper to find than a sort of
/// the whole context, a wildcard matching thousands or a folder of Dockerfiles sharing the
/// context are not.
const SCANS_BEFORE_INDEX: usize = 32;

impl Tree {
    pub(super) fn walk(context: &dyn BuildContext) -> Option<Self> {
        let mut tree = Tree {
            dirs: HashMap::new(),
            matches: vec![Vec::new(); RULES.len()],
            index: OnceLock::new(),
            scans: AtomicUsize::new(0),
        };
        // compiled once: the walk asks every rule about every entry
        let names: Vec<Pattern> = RULES.iter().map(|r| Pattern::segment(r.name)).collect();
        let ends = Ends::new();
        let mut seen = 0;
        let mut stack = vec![String::new()];
        while let Some(dir) = stack.pop() {
            let children = context.list(&dir)?;
            seen += children.len();
            if seen > MAX_ENTRIES {
                return None;
            }
            // Only what a rule takes and the directories entered need an order: sorting
            // those few by name gives the walk's order without sorting the listing.
            let mut taken: Vec<(&str, usize)> = Vec::new();
            let mut enter: Vec<&str> = Vec::new();
            for (name, kind) in children.iter() {
                // the first rule that takes it, asking only those its ends allow: their bits
                // in order, lowest first (most entries have none, and ask no rule at all)
                let mut candidates = ends.candidates(name) & ALL_RULES;
                let first = loop {
                    if candidates == 0 {
                        break None;
                    }
                    let i = candidates.trailing_zeros() as usize;
                    if takes(context, &RULES[i], &names[i], &dir, name, kind, &children) {
                        break Some(i);
                    }
                    candidates &= candidates - 1;
                };
                match first {
                    Some(rule) => taken.push((name, rule)),
                    None if kind == EntryKind::Directory => enter.push(name),
                    None => {}
                }
            }
            taken.sort_unstable();
            for (name, rule) in taken {
                tree.matches[rule].push(join(&dir, name));
            }
            enter.sort_unstable();
            stack.extend(enter.into_iter().map(|name| join(&dir, name)));
            tree.dirs.insert(dir, children);
        }
        Some(tree)
    }

    /// Every entry the walk saw, by path in path order.
    pub(super) fn entries(&self) -> &[(String, EntryKind)] {
        self.index.get_or_init(|| {
            let mut all: Vec<(String, EntryKind)> = self
                .dirs
                .iter()
                .flat_map(|(dir, listing)| {
                    listing.iter().map(|(name, kind)| (join(dir, name), kind))
                })
                .collect();
            all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            all
        })
    }

    pub(super) fn kind(&self, path: &str) -> Option<EntryKind> {
        let index = match self.index.get() {
            Some(index) => Some(index.as_slice()),
            None if self.scans.fetch_add(1, Ordering::Relaxed) >= SCANS_BEFORE_INDEX => {
                Some(self.entries())
            }
            None => None,
        };
        if let Some(index) = index {
            return index
                .binary_search_by(|(p, _)| p.as_str().cmp(path))
                .ok()
                .map(|at| index[at].1);
        }
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        self.dirs
            .get(dir)?
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, kind)| kind)
    }

    /// Whether any of `paths` or one of their parents is a symlink the walk saw.
    pub(super) fn through_symlink<'a>(&self, mut paths: impl Iterator<Item = &'a str>) -> bool {
        paths.any(|path| {
            let mut at = path;
            loop {
                if self.kind(at) == Some(EntryKind::Symlink) {
                    return true;
                }
                match at.rsplit_once('/') {
                    Some((parent, _)) => at = parent,
                    None => return false,
                }
            }
        })
    }

    /// The excluded entries whose parent is not excluded, in order.
    pub(super) fn top_excluded(&self, ignore: &IgnoreFile) -> Vec<&str> {
        self.entries()
            .iter()
            .map(|(p, _)| p)
            .filter(|p| {
                ignore.excludes(p)
                    && p.rsplit_once('/')
                        .is_none_or(|(parent, _)| !ignore.excludes(parent))
            })
            .map(String::as_str)
            .collect()
    }
}

/// Which rules could take a name, by its first and last byte: a rule's glob that starts (or
/// ends) with a literal character takes only names that do. Most entries of a context
/// (source files) end the walk's questions here, before any glob is matched.
struct Ends {
    first: [u32; 256],
    last: [u32; 256],
}

// one bit per rule
const _: () = assert!(RULES.len() <= 32);

/// The bits of every rule.
const ALL_RULES: u32 = if RULES.len() == 32 {
    u32::MAX
} else {
    (1 << RULES.len()) - 1
};

impl Ends {
    fn new() -> Self {
        let mut ends = Ends {
            first: [0; 256],
            last: [0; 256],
        };
        for (i, rule) in RULES.iter().enumerate() {
            let bit = 1 << i;
            let glob = rule.name.as_bytes();
            for (table, end) in [
                (&mut ends.first, glob.first()),
                (&mut ends.last, glob.last()),
            ] {
                match end {
                    Some(&c) if !matches!(c, b'*' | b'?' | b'[' | b']' | b'\\') => {
                        table[usize::from(c)] |= bit;
                    }
                    // a wildcard, a class or an escape there: any byte may match
                    _ => table.iter_mut().for_each(|rules| *rules |= bit),
                }
            }
        }
        ends
    }

    /// The rules (one bit each, in table order) that may take `name`.
    fn candidates(&self, name: &str) -> u32 {
        match (name.as_bytes().first(), name.as_bytes().last()) {
            (Some(&first), Some(&last)) => {
                self.first[usize::from(first)] & self.last[usize::from(last)]
            }
            _ => u32::MAX,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ends_never_rule_out_a_rule_whose_glob_matches() {
        let ends = Ends::new();
        let mut names: Vec<String> = [
            "0000.Dockerfile",
            "a.pyc",
            ".pyc",
            "x.log",
            ".env",
            ".env.local",
            "main.rs",
            ".DS_Store",
            "é.log",
            "ß",
            "build.gradle",
        ]
        .iter()
        .map(|n| (*n).to_owned())
        .collect();
        names.extend(RULES.iter().map(|r| r.name.replace('*', "x")));
        for name in &names {
            let candidates = ends.candidates(name);
            for (i, rule) in RULES.iter().enumerate() {
                if Pattern::segment(rule.name).matches(name) {
                    assert!(candidates & (1 << i) != 0, "{} on {name}", rule.name);
                }
            }
        }
        // and rule out what cannot match
        assert_eq!(ends.candidates("0000.Dockerfile"), 0);
        assert_eq!(ends.candidates("main.rs"), 0);
    }

    /// A context of a root holding `a/` (with `b` and `.git/`), the symlink `l` and `f`.
    struct Small;

    impl BuildContext for Small {
        fn probe(&self, _: &str) -> crate::ContextEntry {
            crate::ContextEntry::Missing
        }
        fn list(&self, dir: &str) -> Option<DirEntries> {
            let entries: &[(&str, EntryKind)] = match dir {
                "" => &[
                    ("l", EntryKind::Symlink),
                    ("f", EntryKind::File),
                    ("a", EntryKind::Directory),
                ],
                "a" => &[("b", EntryKind::File), (".git", EntryKind::Directory)],
                "a/.git" => &[],
                _ => return None,
            };
            Some(entries.iter().map(|(n, k)| ((*n).to_owned(), *k)).collect())
        }
    }

    #[test]
    fn kinds_are_the_same_before_and_after_the_index_is_built() {
        let tree = Tree::walk(&Small).unwrap();
        // `.git` is taken (and not entered) only at the root: inside `a` it is walked
        assert!(tree.matches.iter().all(Vec::is_empty));
        let expected = [
            ("a", Some(EntryKind::Directory)),
            ("a/b", Some(EntryKind::File)),
            ("a/.git", Some(EntryKind::Directory)),
            ("l", Some(EntryKind::Symlink)),
            ("f", Some(EntryKind::File)),
            ("x", None),
            ("a/x", None),
            ("", None),
            ("a/", None),
        ];
        for round in 0..=SCANS_BEFORE_INDEX / expected.len() + 1 {
            for (path, kind) in expected {
                assert_eq!(tree.kind(path), kind, "{path} in round {round}");
            }
        }
        assert!(tree.index.get().is_some());
        assert!(tree.through_symlink(["f", "l/x"].into_iter()));
        assert!(!tree.through_symlink(["a/b", "f"].into_iter()));
        let paths: Vec<&str> = tree.entries().iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["a", "a/.git", "a/b", "f", "l"]);
    }
}
