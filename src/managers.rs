//! Package-manager knowledge, loaded from the TOML files in `transforms/` (compiled in), and
//! the one question every pass asks of it: which manager, if any, does this shell command
//! run, and with which subcommand.
//!
//! Passes take every manager fact (subcommands, flags, cache and index directories, cleanup
//! commands) from here; the schema is documented in `transforms/README.md`.

use std::sync::LazyLock;

use crate::shell::{Command, Word};

/// One `transforms/*.toml` file.
#[derive(Debug)]
pub(crate) struct Family {
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "build/managers.rs checks it is the file's name")
    )]
    pub(crate) name: &'static str,
    #[expect(dead_code, reason = "documentation in the data file")]
    pub(crate) distributions: &'static [&'static str],
    pub(crate) managers: &'static [Manager],
}

#[derive(Debug)]
pub(crate) struct Manager {
    pub(crate) name: &'static str,
    pub(crate) invocations: &'static [&'static [&'static str]],
    pub(crate) value_options: &'static [&'static str],
    pub(crate) install: &'static [&'static str],
    pub(crate) refresh: &'static [&'static str],
    pub(crate) upgrade: &'static [&'static str],
    pub(crate) remove: &'static [&'static str],
    pub(crate) clean: &'static [&'static str],
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "data for the passes of issue 6")
    )]
    pub(crate) assume_yes: &'static [&'static str],
    pub(crate) no_recommends: Option<NoRecommends>,
    pub(crate) index: Option<Index>,
    pub(crate) cache: Option<Cache>,
    pub(crate) no_cache: Option<NoCache>,
    pub(crate) cache_mount: Option<CacheMount>,
    pub(crate) manifests: Option<Manifests>,
    pub(crate) cache_cleanup: &'static [CacheCleanup],
}

/// `[[manager.cache_cleanup]]`: a cache the `cache-cleanup` pass removes in the RUN that
/// wrote it, and what makes that removal visible.
#[derive(Debug)]
pub(crate) struct CacheCleanup {
    /// Where the cache lives for root; a directory under `/root/` lies under the HOME of the
    /// user that runs the manager.
    pub(crate) dirs: &'static [&'static str],
    /// The command that removes it, when `rm -rf` of `dirs` is not the way.
    pub(crate) command: Option<&'static str>,
    /// Subcommands that write it; empty: every command of the manager.
    pub(crate) on: &'static [&'static str],
    /// Whether the manager without a subcommand writes it (`yarn` installs).
    pub(crate) bare_writes: bool,
    /// Whether the manager's no-cache flag on every writing command (`[manager.no_cache]`)
    /// keeps the cache empty enough that no removal is proposed.
    pub(crate) unless_no_cache: bool,
    /// Subcommands that may read it when run later (`*`: any command of the manager).
    pub(crate) readers: &'static [&'static str],
    /// Other programs that read it (`npx`).
    pub(crate) runners: &'static [&'static str],
    /// Flags of the writing command that move the cache or make the install live in it.
    pub(crate) moved_by: &'static [&'static str],
    /// Text whose mention in the RUN or an earlier instruction means no fix: variables that
    /// move the cache or change how it is read, configuration files, tools that swap the
    /// manager.
    pub(crate) mentions: &'static [&'static str],
    /// Files or directories that, in the build context, mean the project may use the cache
    /// as its install (Yarn Berry's `.yarnrc.yml`).
    pub(crate) project_files: &'static [&'static str],
    /// Text that, in a `package.json` of the build context, means the same.
    pub(crate) project_texts: &'static [&'static str],
    pub(crate) tier: Tier,
    /// Why the fix is unsafe (required with `tier = "unsafe"`).
    pub(crate) reason: Option<&'static str>,
}

impl CacheCleanup {
    /// Whether a command with subcommand `sub` (`None`: none, or unreadable) writes the cache.
    pub(crate) fn written_by(&self, sub: Option<&str>, bare: bool) -> bool {
        if self.on.is_empty() {
            return true;
        }
        match sub {
            Some(s) => self.on.contains(&s),
            None => !bare || self.bare_writes,
        }
    }

    /// Whether a later command with subcommand `sub` (`None`: none, or unreadable) may read
    /// the cache.
    pub(crate) fn read_by(&self, sub: Option<&str>) -> bool {
        if self.readers.contains(&"*") {
            return true;
        }
        if self.readers.is_empty() {
            return false;
        }
        sub.is_none_or(|s| self.readers.contains(&s))
    }
}

/// How to keep the download cache in a BuildKit cache mount (only where the recipe was
/// checked on a real build).
#[derive(Debug)]
pub(crate) struct CacheMount {
    /// What the mount keeps, for messages (default: the download cache).
    pub(crate) what: Option<&'static str>,
    pub(crate) targets: &'static [&'static str],
    pub(crate) sharing: Option<&'static str>,
    /// Directories the RUN needs only while it runs, mounted as tmpfs rather than cached
    /// (apt's lists: a second locked cache mount hangs older buildah; see transforms/apt.toml).
    pub(crate) tmpfs: &'static [&'static str],
    pub(crate) on: &'static [&'static str],
    pub(crate) drop_flags: &'static [&'static str],
    pub(crate) drop_commands: &'static [&'static str],
    pub(crate) env: &'static [&'static str],
    pub(crate) before: Option<&'static str>,
    pub(crate) after: Option<&'static str>,
}

/// `[manager.manifests]`: how an install reads only dependency manifests (manifests-first).
#[derive(Debug)]
pub(crate) struct Manifests {
    /// Subcommands (words after the options, space-separated) that install from manifests.
    pub(crate) commands: &'static [&'static str],
    /// Options whose value names a manifest (`pip install -r FILE`).
    pub(crate) file_options: &'static [&'static str],
    /// Manifests read from the working directory when no option names one; all must exist.
    pub(crate) files: &'static [&'static str],
    /// Read from the working directory when present.
    pub(crate) optional: &'static [&'static str],
    /// Lockfiles: `locked` subcommands and `locked_flags` fail without one of them.
    pub(crate) lockfiles: &'static [&'static str],
    pub(crate) locked: &'static [&'static str],
    pub(crate) locked_flags: &'static [&'static str],
    /// Lifecycle scripts of the root package that an install runs, and flags that stop them.
    pub(crate) scripts: &'static [&'static str],
    pub(crate) script_flags: &'static [&'static str],
    /// Flags the command must carry for it to read only the manifests.
    pub(crate) required_flags: &'static [&'static str],
    /// Flags the command may carry; any other flag means no fix.
    pub(crate) flags: &'static [&'static str],
    /// Of `flags`, those that take the next word as their value when written apart.
    pub(crate) value_flags: &'static [&'static str],
    /// Whether package names may be given as operands (fetched from the index).
    pub(crate) packages: bool,
    /// What the install writes into the working directory.
    pub(crate) writes: &'static [&'static str],
    /// Paths that, present in the working directory, mean the install reads more.
    pub(crate) needs_more: &'static [&'static str],
    /// How to read the manifest for local references.
    pub(crate) format: ManifestFormat,
    /// Whether nothing can be said without reading the manifest.
    pub(crate) requires_context: bool,
    /// What to copy when the build context cannot be read.
    pub(crate) fallback: &'static [&'static str],
}

/// The manifest formats the manifests-first pass can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ManifestFormat {
    Requirements,
    PackageJson,
    GoMod,
    Cargo,
    Gemfile,
    ComposerJson,
    Pyproject,
    Pipfile,
}

#[derive(Debug)]
pub(crate) struct NoRecommends {
    pub(crate) flag: &'static str,
    pub(crate) decided: &'static [&'static str],
    pub(crate) config_keys: &'static [&'static str],
    pub(crate) config_paths: &'static [&'static str],
    /// Package → recommended packages its everyday use needs (added by name).
    pub(crate) companions: &'static [(&'static str, &'static [&'static str])],
}

#[derive(Debug)]
pub(crate) struct Index {
    pub(crate) dirs: &'static [&'static str],
    pub(crate) cleanup: &'static str,
    pub(crate) needed_by: &'static [&'static str],
    pub(crate) refresh_flags: &'static [&'static str],
    pub(crate) fresh_flags: &'static [&'static str],
    pub(crate) auto_refresh: bool,
    /// Other programs that read this index whatever their arguments (`aptitude`, `apt-cache`).
    pub(crate) readers: &'static [&'static str],
}

#[derive(Debug)]
pub(crate) struct Cache {
    pub(crate) dirs: &'static [&'static str],
    pub(crate) cleanup: Option<&'static str>,
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "data for the cache-mounts pass")
    )]
    pub(crate) env: &'static [&'static str],
}

#[derive(Debug)]
pub(crate) struct NoCache {
    pub(crate) flag: &'static str,
    pub(crate) on: &'static [&'static str],
    pub(crate) decided: &'static [&'static str],
    pub(crate) env: &'static [&'static str],
    pub(crate) tier: Tier,
    /// For an unsafe flag: what may change, said in the fix's message.
    pub(crate) may_change: Option<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tier {
    Safe,
    Unsafe,
}

impl From<Tier> for crate::text::Applicability {
    fn from(tier: Tier) -> Self {
        match tier {
            Tier::Safe => Self::Safe,
            Tier::Unsafe => Self::Unsafe,
        }
    }
}

include!(concat!(env!("OUT_DIR"), "/managers.rs"));

/// Every manager of every family.
pub(crate) fn all() -> impl Iterator<Item = &'static Manager> {
    FAMILIES.iter().flat_map(|f| f.managers.iter())
}

/// The directories the passes may leave out of an image: package indexes (removed by
/// same-layer-cleanup), caches a no-cache flag keeps empty, cache-mount targets, and the
/// caches cache-cleanup removes (for root; [`home_pattern`] gives other users' place).
pub(crate) fn removable_dirs() -> Vec<&'static str> {
    let mut dirs: Vec<&'static str> = Vec::new();
    for m in all() {
        let index = m.index.iter().flat_map(|i| i.dirs.iter());
        let no_cache = m
            .cache
            .iter()
            .filter(|_| m.no_cache.is_some())
            .flat_map(|c| c.dirs.iter());
        let mounted = m
            .cache_mount
            .iter()
            .flat_map(|c| c.targets.iter().chain(c.tmpfs));
        let cleaned = m.cache_cleanup.iter().flat_map(|c| c.dirs.iter());
        for dir in index.chain(no_cache).chain(mounted).chain(cleaned) {
            if !dirs.contains(dir) {
                dirs.push(dir);
            }
        }
    }
    dirs
}

/// For a directory under root's HOME (`/root/.npm`), the same place for any other user:
/// `/home/*/.npm`.
pub(crate) fn home_pattern(dir: &str) -> Option<String> {
    dir.strip_prefix("/root/")
        .map(|rest| format!("/home/*/{rest}"))
}

/// Every manager with the directories it keeps an index or a cache in (indexes, caches,
/// cache-mount targets, caches cache-cleanup removes), each once; per-user caches also as
/// [`home_pattern`].
pub(crate) fn cache_locations() -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for m in all() {
        let index = m.index.iter().flat_map(|i| i.dirs.iter());
        let cache = m.cache.iter().flat_map(|c| c.dirs.iter());
        let mounted = m
            .cache_mount
            .iter()
            .flat_map(|c| c.targets.iter().chain(c.tmpfs));
        let cleaned = m.cache_cleanup.iter().flat_map(|c| c.dirs.iter());
        for dir in index.chain(cache).chain(mounted).chain(cleaned) {
            for place in std::iter::once((*dir).to_owned()).chain(home_pattern(dir)) {
                if !out.iter().any(|(n, d)| *n == m.name && *d == place) {
                    out.push((m.name, place));
                }
            }
        }
    }
    out
}

/// What a subcommand does, as far as the passes care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Install,
    Refresh,
    Upgrade,
    Remove,
    Clean,
    Other,
}

/// A shell command that runs a known package manager.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Invocation<'a> {
    pub(crate) manager: &'static Manager,
    pub(crate) command: &'a Command,
    /// The subcommand word; `None` when it cannot be read (an expansion comes first, or there
    /// is none).
    pub(crate) sub: Option<&'a Word>,
}

impl Invocation<'_> {
    /// The subcommand's value, when it is literal.
    pub(crate) fn sub_value(&self) -> Option<&str> {
        self.sub?.value.as_deref()
    }

    /// What the subcommand does; `None` when it cannot be read.
    pub(crate) fn action(&self) -> Option<Action> {
        let sub = self.sub_value()?;
        let m = self.manager;
        let has = |list: &[&str]| list.contains(&sub);
        Some(if has(m.install) {
            Action::Install
        } else if has(m.refresh) {
            Action::Refresh
        } else if has(m.upgrade) {
            Action::Upgrade
        } else if has(m.remove) {
            Action::Remove
        } else if has(m.clean) {
            Action::Clean
        } else {
            Action::Other
        })
    }

    /// Whether any of `flags` is given (see [`Command::has_flag`]).
    pub(crate) fn has_any(&self, flags: &[&str]) -> bool {
        flags.iter().any(|f| self.command.has_flag(&[f]))
    }

    /// Whether this command needs the package index as left by earlier commands: its
    /// subcommand reads the index, and it neither refreshes it nor fetches a fresh one itself.
    pub(crate) fn needs_stored_index(&self) -> bool {
        let Some(index) = &self.manager.index else {
            return false;
        };
        let Some(sub) = self.sub_value() else {
            // an unreadable subcommand may be anything
            return !index.needed_by.is_empty();
        };
        index.needed_by.contains(&sub)
            && !self.has_any(index.refresh_flags)
            && !self.has_any(index.fresh_flags)
    }

    /// Whether this command writes the package index into the layer.
    pub(crate) fn stores_index(&self) -> bool {
        let Some(index) = &self.manager.index else {
            return false;
        };
        match self.action() {
            Some(Action::Refresh) => true,
            // `apk add --update --no-cache` fetches a fresh index and stores nothing
            Some(Action::Install | Action::Upgrade) => {
                !self.has_any(index.fresh_flags)
                    && (index.auto_refresh || self.has_any(index.refresh_flags))
            }
            _ => false,
        }
    }
}

impl Manager {
    /// Whether `other` keeps its index where this one does (`apt` and `apt-get` share one).
    pub(crate) fn shares_index_with(&self, other: &Manager) -> bool {
        match (&self.index, &other.index) {
            (Some(a), Some(b)) => a.dirs.iter().any(|d| b.dirs.contains(d)),
            _ => false,
        }
    }

    /// Every directory the manager keeps an index or a cache in.
    pub(crate) fn state_dirs(&self) -> impl Iterator<Item = &'static str> {
        let index = self.index.iter().flat_map(|i| i.dirs.iter());
        let cache = self.cache.iter().flat_map(|c| c.dirs.iter());
        index.chain(cache).copied()
    }
}

/// Every manager's invocation patterns, indexed by program name: [`invocation`] runs for
/// each command of each RUN, many times per file, and most commands run no manager.
struct Patterns {
    /// (manager, the words after the program), in the order of [`all`] and of each
    /// manager's `invocations`: the first that matches wins.
    entries: Vec<(&'static Manager, &'static [&'static str])>,
    /// Per literal program name, the positions in `entries` of its patterns, ascending.
    literal: crate::hash::FxMap<&'static str, Vec<usize>>,
    /// The `prefix*` patterns (`pip*`): the prefix and the position in `entries`, ascending.
    starred: Vec<(&'static str, usize)>,
}

static PATTERNS: LazyLock<Patterns> = LazyLock::new(|| {
    let mut patterns = Patterns {
        entries: Vec::new(),
        literal: crate::hash::FxMap::default(),
        starred: Vec::new(),
    };
    for manager in all() {
        for words in manager.invocations {
            let Some((first, rest)) = words.split_first() else {
                continue;
            };
            let at = patterns.entries.len();
            patterns.entries.push((manager, rest));
            match first.strip_suffix('*') {
                Some(prefix) => patterns.starred.push((prefix, at)),
                None => patterns.literal.entry(first).or_default().push(at),
            }
        }
    }
    patterns
});

/// The manager commands among `commands` (see [`crate::shell::Found`]). The first few are gathered on
/// the stack, so that the list is allocated once, at its length: collected through a Vec,
/// each non-empty list was allocated with room for four and then shrunk (reallocated).
pub(crate) fn found<'c>(commands: impl Iterator<Item = &'c Command>) -> crate::shell::Found {
    let mut few = [None; 4];
    let mut more = Vec::new();
    for (at, command) in commands.enumerate() {
        let Some(inv) = invocation(command) else {
            continue;
        };
        let sub = inv
            .sub
            .and_then(|w| command.args.iter().position(|a| std::ptr::eq(a, w)));
        let entry = (at, inv.manager, sub);
        match few.iter_mut().find(|e| e.is_none()) {
            Some(slot) => *slot = Some(entry),
            None => more.push(entry),
        }
    }
    let mut list = Vec::with_capacity(few.iter().flatten().count() + more.len());
    list.extend(few.iter().flatten());
    list.extend(more);
    list.into_boxed_slice()
}

/// The manager `command` runs, with its subcommand.
pub(crate) fn invocation(command: &Command) -> Option<Invocation<'_>> {
    let program = command.program()?;
    let patterns = &*PATTERNS;
    // the first matching pattern in table order, of the literal and of the starred ones
    let matching = |at: &usize| {
        let rest = patterns.entries[*at].1;
        command.args.len() >= rest.len()
            && rest
                .iter()
                .zip(&command.args)
                .all(|(want, got)| got.value.as_deref() == Some(*want))
    };
    let literal = patterns
        .literal
        .get(program)
        .and_then(|ats| ats.iter().find(|at| matching(at)));
    let starred = patterns
        .starred
        .iter()
        .filter(|(prefix, _)| star_matches(prefix, program))
        .map(|(_, at)| at)
        .find(|at| matching(at));
    let at = *match (literal, starred) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b)?,
    };
    let (manager, rest) = patterns.entries[at];
    let sub = subcommand(manager, &command.args[rest.len()..]);
    Some(Invocation {
        manager,
        command,
        sub,
    })
}

/// A `prefix*` pattern (its prefix) against a command's basename: the star stands for
/// digits and dots only (`python3.11`, `pip3`).
fn star_matches(prefix: &str, program: &str) -> bool {
    program
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.bytes().all(|c| c.is_ascii_digit() || c == b'.'))
}

/// The first operand after the manager's options; `None` when an expansion comes first.
fn subcommand<'a>(manager: &Manager, args: &'a [Word]) -> Option<&'a Word> {
    let mut skip_next = false;
    for word in args {
        if skip_next {
            skip_next = false;
            continue;
        }
        let value = word.value.as_deref()?;
        if value == "--" {
            return None;
        }
        if value.starts_with('-') && value != "-" {
            skip_next = manager.value_options.contains(&value);
            continue;
        }
        return Some(word);
    }
    None
}

/// Whether the directory `a` contains `b` or is `b` (`/var/lib/apt` covers
/// `/var/lib/apt/lists`), comparing normalised absolute paths.
pub(crate) fn covers(a: &str, b: &str) -> bool {
    let a = a.trim_end_matches('/');
    let b = b.trim_end_matches('/');
    b == a || (b.starts_with(a) && b.as_bytes().get(a.len()) == Some(&b'/')) || a.is_empty()
}

/// The build script's reading of the tables, for the tests.
#[cfg(test)]
#[path = "../build/managers.rs"]
mod build;

#[cfg(test)]
mod tests {
    use super::*;

    fn first(text: &str) -> Command {
        crate::shell::parse(text)
            .unwrap()
            .commands
            .into_vec()
            .swap_remove(0)
    }

    #[test]
    fn every_file_loads() {
        let names: Vec<&str> = FAMILIES.iter().map(|f| f.name).collect();
        assert_eq!(names, build::FAMILIES);
        for f in FAMILIES {
            assert!(!f.managers.is_empty(), "{}", f.name);
            for m in f.managers {
                assert!(!m.invocations.is_empty(), "{}", m.name);
                assert!(m.invocations.iter().all(|i| !i.is_empty()), "{}", m.name);
                if let Some(index) = &m.index {
                    assert!(index.dirs.iter().all(|d| d.starts_with('/')), "{}", m.name);
                }
                if let Some(cache) = &m.cache {
                    assert!(cache.dirs.iter().all(|d| d.starts_with('/')), "{}", m.name);
                    assert!(cache.cleanup.as_ref().is_none_or(|c| !c.is_empty()));
                    assert!(cache.env.iter().all(|v| !v.contains(' ')));
                }
                for c in m.cache_cleanup {
                    assert!(!c.dirs.is_empty(), "{}", m.name);
                    assert!(c.dirs.iter().all(|d| d.starts_with('/')), "{}", m.name);
                    assert_eq!(
                        c.tier == Tier::Unsafe,
                        c.reason.is_some(),
                        "{}: an unsafe cleanup says why, a safe one has no reason",
                        m.name
                    );
                }
                assert!(
                    m.assume_yes.iter().all(|f| f.starts_with('-')),
                    "{}",
                    m.name
                );
            }
        }
        let names: Vec<&str> = all().map(|m| m.name).collect();
        for want in [
            "apt-get", "apt", "apk", "dnf", "yum", "microdnf", "zypper", "pip", "uv-pip", "npm",
            "yarn", "pnpm", "gem", "bundler", "composer", "go", "cargo", "poetry", "uv", "pipenv",
        ] {
            assert!(names.contains(&want), "{want} missing");
        }
    }

    use super::build;

    fn generated(text: &str) -> Result<String, String> {
        build::rust(&[("x", toml::from_str(text).unwrap())])
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let text = "family = \"x\"\ndistributions = []\n[[manager]]\nname = \"x\"\nbogus = 1\n";
        let e = generated(text).unwrap_err();
        assert!(
            e.starts_with("transforms/x.toml: manager: unknown key `bogus`"),
            "{e}"
        );
    }

    #[test]
    fn missing_and_mistyped_keys_are_rejected() {
        let e = generated("family = \"x\"\nmanager = []\n").unwrap_err();
        assert!(e.contains("missing key `distributions`"), "{e}");
        let e = generated("family = \"y\"\ndistributions = []\nmanager = []\n").unwrap_err();
        assert!(e.contains("family is Some(\"y\")"), "{e}");
        let e = generated("family = \"x\"\ndistributions = [1]\nmanager = []\n").unwrap_err();
        assert!(e.contains("distributions: a string expected"), "{e}");
        let ok = generated("family = \"x\"\ndistributions = [\"d\"]\nmanager = []\n").unwrap();
        assert!(
            ok.contains(r#"Family { name: "x", distributions: &["d"], managers: &[], }"#),
            "{ok}"
        );
    }

    #[test]
    fn recognises_invocations_and_subcommands() {
        let cases = [
            (
                "apt-get -o Dpkg::Options::=--force-confold install -y x",
                "apt-get",
                Some("install"),
                Some(Action::Install),
            ),
            (
                "/usr/bin/apt-get -qq update",
                "apt-get",
                Some("update"),
                Some(Action::Refresh),
            ),
            (
                "DEBIAN_FRONTEND=noninteractive apt install -y x",
                "apt",
                Some("install"),
                Some(Action::Install),
            ),
            (
                "apk --no-cache add curl",
                "apk",
                Some("add"),
                Some(Action::Install),
            ),
            (
                "python3 -m pip install -r r.txt",
                "pip",
                Some("install"),
                Some(Action::Install),
            ),
            (
                "pip3.11 install x",
                "pip",
                Some("install"),
                Some(Action::Install),
            ),
            (
                "uv pip install x",
                "uv-pip",
                Some("install"),
                Some(Action::Install),
            ),
            (
                "zypper --non-interactive in x",
                "zypper",
                Some("in"),
                Some(Action::Install),
            ),
            (
                "yum makecache",
                "yum",
                Some("makecache"),
                Some(Action::Refresh),
            ),
            ("apt-get $OPTS install x", "apt-get", None, None),
            ("npm ci", "npm", Some("ci"), Some(Action::Install)),
        ];
        for (text, manager, sub, action) in cases {
            let c = first(text);
            let inv = invocation(&c).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(inv.manager.name, manager, "{text}");
            assert_eq!(inv.sub_value(), sub, "{text}");
            assert_eq!(inv.action(), action, "{text}");
        }
        assert_ne!(
            invocation(&first("pipenv install")).map(|i| i.manager.name),
            Some("pip")
        );
        for text in ["python -m venv x", "python3 app.py", "apt-cache policy"] {
            assert!(invocation(&first(text)).is_none(), "{text}");
        }
    }

    #[test]
    fn the_index_finds_what_a_walk_over_the_tables_finds() {
        // the first pattern in table order whose program and following words match
        fn walk(command: &Command) -> Option<(&'static str, Option<&str>)> {
            let program = command.program()?;
            for manager in all() {
                for words in manager.invocations {
                    let Some((first, rest)) = words.split_first() else {
                        continue;
                    };
                    let program_ok = first
                        .strip_suffix('*')
                        .map_or(*first == program, |p| star_matches(p, program));
                    if program_ok
                        && command.args.len() >= rest.len()
                        && rest
                            .iter()
                            .zip(&command.args)
                            .all(|(w, g)| g.value.as_deref() == Some(*w))
                    {
                        let sub = subcommand(manager, &command.args[rest.len()..]);
                        return Some((manager.name, sub.and_then(|w| w.value.as_deref())));
                    }
                }
            }
            None
        }
        for text in [
            "python3 -m pip install x",
            "python3.11 -m pip install x",
            "python -m venv x",
            "python3x -m pip install x",
            "pip3 install x",
            "pip3.11 install x",
            "pip3a install x",
            "pip",
            "uv pip install x",
            "uv sync",
            "uv",
            "php composer.phar install",
            "php -v",
            "composer.phar install",
            "/usr/local/bin/composer install",
            "dnf5 install -y x",
            "bundle install",
            "bundler install",
            "/usr/bin/apt-get -qq update",
            "apt install x",
            "yarn",
            "echo hi",
            "$PIP install x",
        ] {
            let c = first(text);
            let found =
                invocation(&c).map(|i| (i.manager.name, i.sub.and_then(|w| w.value.as_deref())));
            assert_eq!(found, walk(&c), "{text}");
        }
    }

    #[test]
    fn index_needs() {
        let inv = |t: &'static str| {
            let c = Box::leak(Box::new(first(t)));
            invocation(c).unwrap()
        };
        assert!(inv("apt-get install -y x").needs_stored_index());
        assert!(!inv("apt-get update").needs_stored_index());
        assert!(inv("apt-get update").stores_index());
        assert!(!inv("apk add --no-cache x").needs_stored_index());
        assert!(!inv("apk add -U x").needs_stored_index());
        assert!(inv("apk add -U x").stores_index());
        assert!(
            inv("apk add x").needs_stored_index(),
            "an index stored by an earlier layer is what a plain `apk add` reads"
        );
        assert!(
            inv("apk add x").stores_index(),
            "apk fetches a missing index and keeps it"
        );
        assert!(!inv("apk add --no-cache x").stores_index());
        assert!(!inv("apk --update --no-cache add x").stores_index());
        assert!(inv("dnf install -y x").stores_index());
        assert!(!inv("dnf install -y x").needs_stored_index());
    }

    #[test]
    fn removable_dirs_are_what_the_passes_remove() {
        let dirs = removable_dirs();
        for want in [
            "/var/lib/apt/lists",
            "/var/cache/apt",
            "/var/cache/apk",
            "/root/.cache/pip",
            "/root/.npm",
            "/root/.cache/go-build",
            "/var/cache/dnf",
        ] {
            assert!(dirs.contains(&want), "{want}");
        }
        // the module cache goes only by the unsafe cache-cleanup
        assert!(dirs.contains(&"/go/pkg/mod"));
    }

    #[test]
    fn cache_locations_cover_every_user() {
        let places = cache_locations();
        let has = |m: &str, d: &str| places.iter().any(|(n, p)| *n == m && p == d);
        assert!(has("npm", "/root/.npm"));
        assert!(has("npm", "/home/*/.npm"));
        assert!(has("apt-get", "/var/lib/apt/lists"));
        assert!(has("go", "/root/.cache/go-build"));
        assert!(has("go", "/go/pkg/mod"));
        assert!(!has("apt-get", "/home/*/var/lib/apt/lists"));
    }

    #[test]
    fn cleanup_writers_and_readers() {
        let npm = all().find(|m| m.name == "npm").unwrap();
        let c = &npm.cache_cleanup[0];
        assert!(
            c.written_by(Some("run"), false),
            "every npm command logs there"
        );
        assert!(c.read_by(Some("ci")));
        assert!(!c.read_by(Some("run")));
        assert!(c.read_by(None), "an unreadable subcommand may read");
        let yarn = all().find(|m| m.name == "yarn").unwrap();
        let y = &yarn.cache_cleanup[0];
        assert!(y.written_by(None, true), "bare `yarn` installs");
        assert!(!y.written_by(Some("run"), false));
        let go = all().find(|m| m.name == "go").unwrap();
        assert!(
            !go.cache_cleanup[0].read_by(Some("build")),
            "a build cache only speeds up"
        );
        assert!(go.cache_cleanup[1].read_by(Some("version")));
    }

    #[test]
    fn path_cover() {
        assert!(covers("/var/lib/apt", "/var/lib/apt/lists"));
        assert!(covers("/var/lib/apt/lists/", "/var/lib/apt/lists"));
        assert!(!covers("/var/lib/ap", "/var/lib/apt/lists"));
        assert!(!covers("/var/lib/apt/lists", "/var/lib/apt"));
        assert!(covers("/", "/var"));
    }
}
