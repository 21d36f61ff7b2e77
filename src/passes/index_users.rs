//! Who still reads a package index after a RUN: the question every pass that removes an
//! index (or mounts it away) must answer "nobody" before it may. Wrappers are resolved
//! (`sudo apt-get`, `sh -c "apt-get …"`), other readers of the index come from the data
//! (`aptitude`, `apt-cache`), and what cannot be read counts as a reader: a body that cannot
//! be parsed or a shell string that names a manager, a script the RUN executes, a stage that
//! copies the index (or the whole filesystem) out with `COPY --from`.

use super::runs::Runs;
use crate::managers::{self, Action, Manager};
use crate::syntax::Keyword;

/// What [`Runs::index_readers`] finds for one manager: the RUNs that may read the index
/// (their positions in [`Runs::all`]), in order: only those, as a per-RUN table held for
/// every manager asked was megabytes on a large file.
pub(super) struct Readers(Vec<u32>);

impl Readers {
    /// The readers at positions `from` on.
    fn from(&self, from: usize) -> &[u32] {
        let start = self.0.partition_point(|&at| (at as usize) < from);
        &self.0[start..]
    }
}

impl Runs<'_> {
    /// Whether anything after RUN `pos` may need the index that `manager` keeps: a later RUN
    /// of the stage or of a stage built `FROM` it, a deferred command (ONBUILD, CMD, …), or a
    /// `COPY --from` of that stage. Only whether: no pass names the reader, so none is
    /// described (a message built per reader asked, and dropped, was most of its cost).
    pub(crate) fn index_needed_later(&self, pos: usize, manager: &Manager) -> bool {
        let Some(index) = &manager.index else {
            return false;
        };
        let words = index_words(manager);
        let mentions = |text: &str| words.iter().any(|w| text.contains(w));
        let readers = self.index_readers(manager);
        if let Some(family) = self.family(self.all[pos].stage()) {
            // the first reading RUN of each stage from `pos` on, found in the index
            for stage in family {
                let range = self.stage_runs(stage).unwrap_or_default();
                let first = range.start.max(pos + 1);
                if let Some(&at) = readers.from(first).first()
                    && first < range.end
                    && (at as usize) < range.end
                {
                    // a reader by construction
                    return true;
                }
            }
        } else {
            let stage = self.all[pos].stage();
            for &at in readers.from(pos + 1) {
                if self.derives_from(self.all[at as usize].stage(), stage) {
                    return true;
                }
            }
        }
        if self
            .deferred(pos)
            .any(|i| mentions(self.file.slice(i.range)))
        {
            return true;
        }
        self.copied_out(pos, index.dirs)
    }

    /// For `manager`, the RUNs that may read the index: computed once per manager for all
    /// the RUNs that ask, so that asking is not a walk over every later RUN but a binary
    /// search. Positions only (a reason kept for every reader of a large file was megabytes).
    fn index_readers(&self, manager: &Manager) -> std::rc::Rc<Readers> {
        let key = std::ptr::from_ref(manager) as usize;
        if let Some(found) = self.readers.borrow().get(&key) {
            return found.clone();
        }
        // looked up once for all the RUNs asked
        let words = index_words(manager);
        let found = self
            .all
            .iter()
            .enumerate()
            .filter(|(_, run)| self.reads_index(run, manager, &words))
            .map(|(at, _)| crate::text::to_u32(at))
            .collect();
        let readers = std::rc::Rc::new(Readers(found));
        self.readers.borrow_mut().insert(key, readers.clone());
        readers
    }

    /// Whether something in `run` may read `manager`'s index, on its own (a later refresh in
    /// the same RUN covers what follows it): a body that cannot be read and names the
    /// manager, shell text that names it, a script the RUN runs, a reader of the index, a
    /// file copied into the image, or an install that does not refresh the index first.
    /// `words` are [`index_words`] of `manager`.
    fn reads_index(&self, run: &super::runs::Run<'_>, manager: &Manager, words: &[&str]) -> bool {
        let Some(index) = manager.index.as_ref() else {
            return false;
        };
        let mentions = |text: &str| words.iter().any(|w| text.contains(w));
        let copied = self.copied_names.get_or_init(|| copied_names(self));
        let Some(effective) = run.effective() else {
            return mentions(self.file.slice(run.ins.range));
        };
        if effective.opaque.iter().any(|t| mentions(t))
            || effective.files.iter().any(|f| runs_copied_script(f))
        {
            return true;
        }
        let mut refreshed = false;
        for resolved in effective.commands() {
            let command = resolved.command;
            if let Some(program) = command.program()
                && (index.readers.contains(&program))
                && !refreshed
            {
                return true;
            }
            // looked up once: both checks below ask
            let inv = managers::invocation(command);
            if runs_copied_file(command, inv.is_some(), copied) {
                return true;
            }
            let Some(inv) = inv else {
                continue;
            };
            if !inv.manager.shares_index_with(manager) {
                continue;
            }
            // an update in another root filesystem does not refresh this one
            if inv.action() == Some(Action::Refresh) && !resolved.via.other_root {
                refreshed = true;
            } else if !refreshed && inv.needs_stored_index() {
                return true;
            }
        }
        false
    }

    /// A `COPY --from` of RUN `pos`'s stage (or a stage built `FROM` it), after the RUN,
    /// whose source is one of `dirs`, inside one, or holds one (`COPY --from=base / /`).
    fn copied_out(&self, pos: usize, dirs: &[&str]) -> bool {
        let run = &self.all[pos];
        let copies = self.copies_from.get_or_init(|| {
            let stages = &self.stages;
            self.file
                .instructions()
                .enumerate()
                .filter_map(|(index, ins)| {
                    let from = ins.copy_from()?;
                    let from_stage = from.parse::<usize>().ok().or_else(|| {
                        stages
                            .iter()
                            .find(|s| s.name.is_some_and(|n| n.eq_ignore_ascii_case(from)))
                            .map(|s| s.index)
                    });
                    Some((index, from_stage, ins))
                })
                .collect()
        });
        let first_after = copies.partition_point(|(index, _, _)| *index <= run.index());
        for &(_, from_stage, ins) in &copies[first_after..] {
            if from_stage.is_none() || !self.derives_from(from_stage, run.stage()) {
                continue;
            }
            let paths = ins.paths(&self.file.source);
            let sources = &paths[..paths.len().saturating_sub(1)];
            let takes = sources.iter().any(|src| {
                let src = src.trim_matches(['"', '\'']);
                !src.starts_with('/')
                    || src.contains('$')
                    || dirs.iter().any(|d| {
                        managers::covers(src, d) || managers::covers(d, src.trim_end_matches('*'))
                    })
            });
            if takes {
                return true;
            }
        }
        false
    }
}

/// The words by which a body may run something that reads `manager`'s index: every manager
/// sharing the index, and the index's other readers. Asked for every RUN, so computed once
/// per manager of the tables.
fn index_words(manager: &Manager) -> std::borrow::Cow<'static, [&'static str]> {
    // a list, not a map: a few dozen pointer comparisons cost less than hashing the key
    static WORDS: std::sync::LazyLock<Vec<(&'static Manager, Vec<&'static str>)>> =
        std::sync::LazyLock::new(|| managers::all().map(|m| (m, words_for(m))).collect());
    WORDS
        .iter()
        .find(|(m, _)| std::ptr::eq(*m, manager))
        .map_or_else(|| words_for(manager).into(), |(_, w)| w.as_slice().into())
}

fn words_for(manager: &Manager) -> Vec<&'static str> {
    let mut words: Vec<&'static str> = Vec::new();
    for m in managers::all().filter(|m| m.shares_index_with(manager)) {
        for invocation in m.invocations {
            if let Some(first) = invocation.first() {
                words.push(first.trim_end_matches('*'));
            }
        }
        if let Some(index) = &m.index {
            words.extend(index.readers.iter().copied());
        }
    }
    words.sort_unstable();
    words.dedup();
    words
}

/// A script file run by a shell or `.`: anything but the system's own configuration
/// (`. /etc/os-release`).
fn runs_copied_script(file: &str) -> bool {
    !file.trim_matches(['"', '\'']).starts_with("/etc/")
}

/// The names of files that `COPY`/`ADD` take from the build context (the last component of
/// every source and destination that looks like a file name: `install.sh`), which a RUN may
/// then run by name from `PATH`.
fn copied_names<'a>(runs: &Runs<'a>) -> Box<[&'a str]> {
    // through a set: a list of every name, repeats and all, grew to megabytes before
    // its repeats went
    let names: crate::hash::FxSet<&'a str> = runs
        .file
        .instructions()
        .filter(|i| matches!(i.kind, Keyword::Copy | Keyword::Add) && i.copy_from().is_none())
        .flat_map(|i| i.paths(&runs.file.source))
        .filter_map(|p| {
            let p = p.trim_matches(['"', '\'']).trim_end_matches('/');
            let name = p.rsplit('/').next()?;
            // A dot after the first character (by char: names may start with any letter).
            let rest = name.chars().next().map_or("", |c| &name[c.len_utf8()..]);
            let file_like = rest.contains('.') && !name.starts_with('.');
            (file_like && !name.contains(['*', '$', '?'])).then_some(name)
        })
        .collect();
    let mut names: Box<[&'a str]> = names.into_iter().collect();
    names.sort_unstable();
    names
}

/// Whether `command` runs a file the image did not get from a package: a path outside the
/// system's program directories (`./install.sh`, `/tmp/setup`), or a name a COPY/ADD brought.
/// A package manager's command (`is_manager`) runs none.
fn runs_copied_file(command: &crate::shell::Command, is_manager: bool, copied: &[&str]) -> bool {
    let Some(name) = command.name.as_ref().and_then(|n| n.value.as_deref()) else {
        return false;
    };
    if is_manager {
        return false;
    }
    if name.contains('/') {
        const SYSTEM: [&str; 4] = ["/bin/", "/usr/bin/", "/sbin/", "/usr/sbin/"];
        return !SYSTEM.iter().any(|d| name.starts_with(d));
    }
    // a sorted list: the file may copy thousands of names, and every command of every RUN
    // asks
    copied.binary_search(&name).is_ok()
}
