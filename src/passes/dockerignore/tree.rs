//! The walk of the build context: every entry outside the directories a rule takes.

use std::collections::BTreeMap;

use super::MAX_ENTRIES;
use super::rules::{RULES, takes};
use crate::context::ignore::{IgnoreFile, Pattern};
use crate::context::join;
use crate::context::{BuildContext, EntryKind};

/// The walked context: every entry outside the directories a rule takes, which are listed
/// but not entered.
pub(super) struct Tree {
    pub(super) entries: BTreeMap<String, EntryKind>,
    /// Per rule, the entries it takes.
    pub(super) matches: Vec<Vec<String>>,
}

impl Tree {
    pub(super) fn walk(context: &dyn BuildContext) -> Option<Self> {
        let mut tree = Tree {
            entries: BTreeMap::new(),
            matches: vec![Vec::new(); RULES.len()],
        };
        // compiled once: the walk asks every rule about every entry
        let names: Vec<Pattern> = RULES.iter().map(|r| Pattern::segment(r.name)).collect();
        let mut stack = vec![String::new()];
        while let Some(dir) = stack.pop() {
            let mut children = context.list(&dir)?;
            children.sort_by(|a, b| a.0.cmp(&b.0));
            for (name, kind) in &children {
                let path = join(&dir, name);
                if tree.entries.len() >= MAX_ENTRIES {
                    return None;
                }
                tree.entries.insert(path.clone(), *kind);
                // the first rule that takes it (the walk asks every entry: no list built)
                let taken = RULES
                    .iter()
                    .enumerate()
                    .position(|(i, r)| takes(context, r, &names[i], &dir, name, *kind, &children));
                if let Some(first) = taken {
                    tree.matches[first].push(path);
                } else if *kind == EntryKind::Directory {
                    stack.push(path);
                }
            }
        }
        Some(tree)
    }

    pub(super) fn kind(&self, path: &str) -> Option<EntryKind> {
        self.entries.get(path).copied()
    }

    /// Whether `path` or one of its parents is a symlink the walk saw.
    pub(super) fn through_symlink(&self, path: &str) -> bool {
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
    }

    /// The excluded entries whose parent is not excluded, in order.
    pub(super) fn top_excluded(&self, ignore: &IgnoreFile) -> Vec<&str> {
        self.entries
            .keys()
            .filter(|p| {
                ignore.excludes(p)
                    && p.rsplit_once('/')
                        .is_none_or(|(parent, _)| !ignore.excludes(parent))
            })
            .map(String::as_str)
            .collect()
    }
}
