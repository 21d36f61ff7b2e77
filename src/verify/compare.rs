//! Comparing the original's image with the rewrite's: pure functions over [`ImageReport`]s.
//!
//! A difference is *expected* when something the rewrite applied explains it (a cache
//! directory a size pass exists to remove, a config field an unsafe pass sets); every other
//! difference is *unexpected* and fails the verification.

use std::collections::BTreeMap;

use dfrewrite::AppliedFix;
use serde::Serialize;

use super::model::{FileEntry, FileKind, ImageReport, RuntimeConfig, SmokeResult};

/// The runtime-config fields a pass that may change the user (its metadata says so) changes.
const USER_FIELDS: &[&str] = &["User"];

/// The runtime-config fields a pass that adds a stage changes: the runtime image's own
/// environment (PATH, version variables) replaces the builder image's; every variable the
/// Dockerfile sets is kept.
const STAGE_FIELDS: &[&str] = &["Env"];

/// The runtime-config fields a pass that changes metadata changes (MAINTAINER's value moves
/// into a label).
const METADATA_FIELDS: &[&str] = &["Labels"];

/// Passes whose metadata says they may change the runtime config, with the fields.
fn config_changing_passes() -> Vec<(&'static str, &'static [&'static str])> {
    let mut out = Vec::new();
    for pass in dfrewrite::passes() {
        if pass.may.changes_user {
            out.push((pass.name, USER_FIELDS));
        }
        if pass.may.adds_stage {
            out.push((pass.name, STAGE_FIELDS));
        }
        if pass.may.changes_metadata {
            out.push((pass.name, METADATA_FIELDS));
        }
    }
    out
}

/// Why a size-only change of a file present in both images is not held against the rewrite.
const SIZE_ONLY: &str = "size differs only (contents are not compared; logs and generated \
                         files vary between builds of the same step)";

/// What the applied fixes allow to differ.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Expectations {
    /// Directories whose contents may be missing from the rewrite's image, each with a reason.
    pub(crate) removed_dirs: Vec<(String, String)>,
    /// Runtime-config fields (as named in [`RuntimeConfig`]'s JSON) that may change, each with
    /// the pass that changes it.
    pub(crate) config_changes: Vec<(String, String)>,
    /// The applied pass that changes the installed package set, if any.
    pub(crate) package_set_changed_by: Option<String>,
    /// Context paths a side file of the rewrite keeps out of its build, each with the file.
    pub(crate) kept_out: Vec<(String, String)>,
    /// Side files the rewrite adds to its context (relative paths).
    pub(crate) side_files: Vec<String>,
    /// The applied pass that changes the user (and may add one and give it directories).
    pub(crate) user_changed_by: Option<String>,
}

/// The files adding a user rewrites (with their `-` backups) and the login records it may
/// touch.
const USER_DATABASE: &[&str] = &[
    "/etc/passwd",
    "/etc/group",
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/subuid",
    "/etc/subgid",
    "/etc/passwd-",
    "/etc/group-",
    "/etc/shadow-",
    "/etc/gshadow-",
    "/etc/subuid-",
    "/etc/subgid-",
    "/var/log/lastlog",
    "/var/log/faillog",
];

impl Expectations {
    /// The expectations for a rewrite that applied `applied`, from verify's own tables.
    pub(crate) fn for_fixes(applied: &[AppliedFix]) -> Self {
        // per-user caches (`/root/.npm`) also where another user's HOME puts them
        let dirs = dfrewrite::removable_cache_dirs();
        let homes: Vec<String> = dirs
            .iter()
            .filter_map(|d| d.strip_prefix("/root/").map(|r| format!("/home/*/{r}")))
            .collect();
        let all: Vec<&str> = dirs
            .iter()
            .copied()
            .chain(homes.iter().map(String::as_str))
            .collect();
        let mut expectations = Self::from_tables(applied, &all, &config_changing_passes());
        // A pass that changes which packages are installed (its metadata says so): files
        // present in only one image (or changed) are the point of the fix, not a defect; the
        // smoke command then decides whether the image still does its job.
        expectations.package_set_changed_by = applied
            .iter()
            .filter_map(|fix| dfrewrite::pass_by_name(fix.pass))
            .find(|pass| pass.may.changes_package_set)
            .map(|pass| pass.name.to_owned());
        expectations.user_changed_by = applied
            .iter()
            .filter_map(|fix| dfrewrite::pass_by_name(fix.pass))
            .find(|pass| pass.may.changes_user)
            .map(|pass| pass.name.to_owned());
        expectations
    }

    /// The hook for passes to declare what they change: today the tables are verify's
    /// constants; later each pass's metadata can supply its own rows.
    pub(crate) fn from_tables(
        applied: &[AppliedFix],
        cache_dirs: &[&str],
        config_passes: &[(&str, &[&str])],
    ) -> Self {
        let removed_dirs = cache_dirs
            .iter()
            .map(|dir| ((*dir).to_owned(), "package-manager cache".to_owned()))
            .collect();
        let mut config_changes = Vec::new();
        for (pass, fields) in config_passes {
            if applied.iter().any(|fix| fix.pass == *pass) {
                config_changes.extend(
                    fields
                        .iter()
                        .map(|field| ((*field).to_owned(), (*pass).to_owned())),
                );
            }
        }
        Self {
            removed_dirs,
            config_changes,
            package_set_changed_by: None,
            kept_out: Vec::new(),
            side_files: Vec::new(),
            user_changed_by: None,
        }
    }

    /// Adds what the rewrite's side files explain: the paths they keep out of the context may
    /// be missing from the rewrite's image, and the files themselves may appear in it (a
    /// `COPY . /app` copies a new `.dockerignore` too).
    pub(crate) fn add_side_files(&mut self, files: &[super::SideFileReport]) {
        for file in files {
            self.side_files.push(file.path.clone());
            self.kept_out.extend(
                file.kept_out
                    .iter()
                    .map(|path| (path.clone(), file.path.clone())),
            );
        }
    }

    /// Why `entry` may be missing from the rewrite: it is, or lies in, a copy of a context path
    /// that a side file keeps out. Paths are matched by their tail, since the Dockerfile may
    /// copy the context anywhere.
    fn kept_out_reason(&self, entry: &FileEntry) -> Option<String> {
        self.kept_out.iter().find_map(|(path, file)| {
            let tail = format!("/{path}");
            let hit = entry.path.ends_with(&tail) || entry.path.contains(&format!("{tail}/"));
            hit.then(|| format!("kept out of the context by the proposed {file} ({path})"))
        })
    }

    /// Why `entry` may be only in the rewrite: it is a copy of a side file.
    fn side_file_reason(&self, entry: &FileEntry) -> Option<String> {
        self.side_files
            .iter()
            .find(|file| entry.path.ends_with(&format!("/{file}")))
            .map(|file| format!("the proposed {file}, copied with the context"))
    }

    /// Why a file may be in one image only, or differ: the package set changed.
    fn package_reason(&self) -> Option<String> {
        self.package_set_changed_by
            .as_ref()
            .map(|pass| format!("the installed package set changed ({pass})"))
    }

    /// Why the user database may differ: a pass added a user.
    fn user_reason(&self, entry: &FileEntry) -> Option<String> {
        let pass = self.user_changed_by.as_ref()?;
        USER_DATABASE
            .contains(&entry.path.as_str())
            .then(|| format!("a user was added ({pass})"))
    }

    /// Why an entry may differ only in its owner: a pass gave it to the new user.
    fn owner_reason(&self, old: &FileEntry, new: &FileEntry) -> Option<String> {
        let pass = self.user_changed_by.as_ref()?;
        let same_but_owner = FileEntry {
            uid: new.uid,
            gid: new.gid,
            ..old.clone()
        } == *new;
        (same_but_owner && new.uid != 0).then(|| format!("given to the new user ({pass})"))
    }

    /// Why `path` may be missing from the rewrite: it is one of the removable directories, lies
    /// under one, or is a directory that only exists to hold one (`/root/.cache` for pip's).
    fn removal_reason(&self, entry: &FileEntry) -> Option<String> {
        self.removed_dirs.iter().find_map(|(dir, reason)| {
            let inside = is_within(&entry.path, dir);
            let holds = entry.kind == FileKind::Dir && is_within(dir, &entry.path);
            (inside || holds).then(|| format!("{reason} ({dir})"))
        })
    }
}

/// Whether `path` is `dir` or lies below it; `*` in `dir` stands for one path component
/// (`/home/*/.npm`).
fn is_within(path: &str, dir: &str) -> bool {
    if dir.contains('*') {
        let mut got = path.split('/');
        return dir
            .trim_end_matches('/')
            .split('/')
            .all(|want| got.next().is_some_and(|g| want == "*" || want == g));
    }
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// A path that exists in one image only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PathDiff {
    pub(crate) path: String,
    pub(crate) kind: FileKind,
    pub(crate) size: u64,
    /// Why this is fine, or `None` when it is unexpected.
    pub(crate) expected: Option<String>,
}

/// A path present in both images whose entry differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Changed {
    pub(crate) path: String,
    pub(crate) original: String,
    pub(crate) rewrite: String,
    pub(crate) expected: Option<String>,
}

/// A runtime-config field that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ConfigDiff {
    pub(crate) field: String,
    pub(crate) original: serde_json::Value,
    pub(crate) rewrite: serde_json::Value,
    /// The applied pass that changes this field, or `None` when it is unexpected.
    pub(crate) explained_by: Option<String>,
}

/// Both images' smoke results and what they mean together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct SmokeComparison {
    pub(crate) original: SmokeResult,
    pub(crate) rewrite: SmokeResult,
    pub(crate) expect: Option<String>,
    /// The original exited 0 and printed the expected text: the baseline is usable.
    pub(crate) original_ok: bool,
    /// The rewrite exited like the original, printed the same standard output and the
    /// expected text.
    pub(crate) rewrite_ok: bool,
}

impl SmokeComparison {
    pub(crate) fn new(original: SmokeResult, rewrite: SmokeResult, expect: Option<&str>) -> Self {
        let shows = |r: &SmokeResult| {
            expect.is_none_or(|text| r.stdout.contains(text) || r.stderr.contains(text))
        };
        let original_ok = original.exit_code == Some(0) && shows(&original);
        let rewrite_ok = rewrite.exit_code == original.exit_code
            && rewrite.stdout == original.stdout
            && shows(&rewrite);
        Self {
            original,
            rewrite,
            expect: expect.map(str::to_owned),
            original_ok,
            rewrite_ok,
        }
    }
}

/// How the rewrite's image differs from the original's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Comparison {
    /// Original bytes minus rewrite bytes (negative when the rewrite is larger).
    pub(crate) bytes_saved: i64,
    /// `bytes_saved` as a percentage of the original's bytes.
    pub(crate) percent_saved: f64,
    pub(crate) layers_saved: i64,
    pub(crate) only_in_original: Vec<PathDiff>,
    pub(crate) only_in_rewrite: Vec<PathDiff>,
    pub(crate) changed: Vec<Changed>,
    pub(crate) config: Vec<ConfigDiff>,
}

impl Comparison {
    /// The differences nothing explains.
    pub(crate) fn unexpected(&self) -> usize {
        let paths = self
            .only_in_original
            .iter()
            .chain(&self.only_in_rewrite)
            .filter(|d| d.expected.is_none())
            .count();
        let changed = self.changed.iter().filter(|c| c.expected.is_none()).count();
        let config = self
            .config
            .iter()
            .filter(|c| c.explained_by.is_none())
            .count();
        paths + changed + config
    }
}

/// Compares the two images.
pub(crate) fn compare(
    original: &ImageReport,
    rewrite: &ImageReport,
    expectations: &Expectations,
) -> Comparison {
    let bytes_saved = signed(original.bytes) - signed(rewrite.bytes);
    #[allow(clippy::cast_precision_loss)] // a percentage to one decimal
    let percent_saved = if original.bytes == 0 {
        0.0
    } else {
        bytes_saved as f64 * 100.0 / original.bytes as f64
    };
    let layers_saved = signed(original.layers.len() as u64) - signed(rewrite.layers.len() as u64);

    let before: BTreeMap<&str, &FileEntry> = original
        .files
        .iter()
        .map(|f| (f.path.as_str(), f))
        .collect();
    let after: BTreeMap<&str, &FileEntry> =
        rewrite.files.iter().map(|f| (f.path.as_str(), f)).collect();
    let only_in_original = before
        .iter()
        .filter(|(path, _)| !after.contains_key(*path))
        .map(|(_, entry)| {
            let reason = expectations
                .removal_reason(entry)
                .or_else(|| expectations.kept_out_reason(entry))
                .or_else(|| expectations.package_reason());
            path_diff(entry, reason)
        })
        .collect();
    let only_in_rewrite = after
        .iter()
        .filter(|(path, _)| !before.contains_key(*path))
        .map(|(_, entry)| {
            // a cache mount's parent directory (`/root/.cache` for pip's) is left behind by
            // the engine that creates the mount point, and what lies in a cache directory
            // (npm's timestamped logs under /root/.npm/_logs) differs between any two builds
            let cache = expectations
                .removal_reason(entry)
                .or_else(|| expectations.user_reason(entry));
            let reason = cache
                .or_else(|| expectations.side_file_reason(entry))
                .or_else(|| expectations.package_reason());
            path_diff(entry, reason)
        })
        .collect();
    let changed = before
        .iter()
        .filter_map(|(path, old)| {
            let new = after.get(path)?;
            (old != new).then(|| changed(old, new, expectations))
        })
        .collect();
    Comparison {
        bytes_saved,
        percent_saved,
        layers_saved,
        only_in_original,
        only_in_rewrite,
        changed,
        config: config_diffs(&original.config, &rewrite.config, expectations),
    }
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn path_diff(entry: &FileEntry, expected: Option<String>) -> PathDiff {
    PathDiff {
        path: entry.path.clone(),
        kind: entry.kind,
        size: entry.size,
        expected,
    }
}

fn changed(old: &FileEntry, new: &FileEntry, expectations: &Expectations) -> Changed {
    let size_only = old.kind == FileKind::File
        && FileEntry {
            size: new.size,
            ..old.clone()
        } == *new;
    let expected = expectations
        .removal_reason(old)
        .or_else(|| size_only.then(|| SIZE_ONLY.to_owned()))
        .or_else(|| expectations.user_reason(old))
        .or_else(|| expectations.owner_reason(old, new))
        .or_else(|| expectations.package_reason());
    Changed {
        path: old.path.clone(),
        original: describe(old),
        rewrite: describe(new),
        expected,
    }
}

/// An entry as `ls -l` would summarise it: kind and mode, owner, size or link target.
pub(crate) fn describe(entry: &FileEntry) -> String {
    let kind = match entry.kind {
        FileKind::File => '-',
        FileKind::Dir => 'd',
        FileKind::Symlink => 'l',
        FileKind::Other => '?',
    };
    let tail = match &entry.target {
        Some(target) => format!("-> {target}"),
        None => entry.size.to_string(),
    };
    format!(
        "{kind}{:04o} {}:{} {tail}",
        entry.mode, entry.uid, entry.gid
    )
}

fn config_diffs(
    original: &RuntimeConfig,
    rewrite: &RuntimeConfig,
    expectations: &Expectations,
) -> Vec<ConfigDiff> {
    let as_map = |config: &RuntimeConfig| match serde_json::to_value(config) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let (old, new) = (as_map(original), as_map(rewrite));
    old.iter()
        .filter_map(|(field, value)| {
            let other = new.get(field).cloned().unwrap_or(serde_json::Value::Null);
            (*value != other).then(|| ConfigDiff {
                field: field.clone(),
                original: value.clone(),
                rewrite: other,
                explained_by: expectations
                    .config_changes
                    .iter()
                    .find(|(f, _)| f == field)
                    .map(|(_, pass)| pass.clone()),
            })
        })
        .collect()
}

/// Paths counted by their first two components (`/var/lib/apt/lists/x` → `/var/lib`), with
/// total bytes, for a short human summary of a long list.
pub(crate) fn group_by_top_dirs(diffs: &[&PathDiff]) -> Vec<(String, usize, u64)> {
    let mut groups: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    for diff in diffs {
        let top: Vec<&str> = diff
            .path
            .split('/')
            .filter(|c| !c.is_empty())
            .take(2)
            .collect();
        let key = format!("/{}", top.join("/"));
        let slot = groups.entry(key).or_default();
        slot.0 += 1;
        slot.1 += diff.size;
    }
    groups
        .into_iter()
        .map(|(dir, (count, bytes))| (dir, count, bytes))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::super::recorded as data;
    use super::*;
    use dfrewrite::Applicability;

    /// An image report from recorded `podman image inspect` and `podman history` output.
    fn recorded(name: &str, files: Vec<FileEntry>) -> ImageReport {
        let inspect = parse::inspect(&data(&format!("inspect-{name}.json"))).unwrap();
        let rows = parse::history(&data(&format!("history-{name}.json"))).unwrap();
        ImageReport {
            tag: name.to_owned(),
            bytes: inspect.bytes,
            layers: parse::layers(&inspect, &rows),
            caches: Vec::new(),
            files,
            config: inspect.config,
        }
    }

    fn file(path: &str, size: u64) -> FileEntry {
        FileEntry {
            path: path.to_owned(),
            kind: FileKind::File,
            size,
            mode: 0o644,
            uid: 0,
            gid: 0,
            target: None,
        }
    }

    fn dir(path: &str) -> FileEntry {
        FileEntry {
            kind: FileKind::Dir,
            mode: 0o755,
            size: 0,
            ..file(path, 0)
        }
    }

    fn fix(pass: &'static str) -> AppliedFix {
        AppliedFix {
            pass,
            applicability: Applicability::Unsafe,
            message: "".into(),
            line: 1,
        }
    }

    /// The recorded pair: the rewrite merged two RUN steps and no longer leaves
    /// /var/cache/apt/junk behind.
    fn pair() -> (ImageReport, ImageReport) {
        let common = [dir("/"), dir("/bin"), file("/bin/sh", 1_982_256)];
        let mut orig_files = common.to_vec();
        orig_files.extend([
            file("/hello.txt", 6),
            dir("/var"),
            dir("/var/cache"),
            dir("/var/cache/apt"),
            file("/var/cache/apt/junk", 2),
        ]);
        let mut rewr_files = common.to_vec();
        rewr_files.extend([file("/hello.txt", 6), dir("/var")]);
        (recorded("orig", orig_files), recorded("rewr", rewr_files))
    }

    #[test]
    fn recorded_pair_saves_bytes_and_a_layer_and_cache_removal_is_expected() {
        let (orig, rewr) = pair();
        let cmp = compare(&orig, &rewr, &Expectations::for_fixes(&[]));
        assert_eq!(cmp.bytes_saved, 3_983_955 - 3_979_319);
        assert!(
            (cmp.percent_saved - 0.1164).abs() < 0.0001,
            "{}",
            cmp.percent_saved
        );
        assert_eq!(cmp.layers_saved, 1);
        let only: Vec<&str> = cmp
            .only_in_original
            .iter()
            .map(|d| d.path.as_str())
            .collect();
        assert_eq!(
            only,
            ["/var/cache", "/var/cache/apt", "/var/cache/apt/junk"]
        );
        // /var/cache holds /var/cache/apt, so it is expected too.
        assert!(cmp.only_in_original.iter().all(|d| d.expected.is_some()));
        assert!(cmp.only_in_rewrite.is_empty());
        assert!(cmp.config.is_empty());
        assert_eq!(cmp.unexpected(), 0);
    }

    #[test]
    fn a_file_missing_outside_cache_dirs_is_unexpected() {
        let (orig, mut rewr) = pair();
        rewr.files.retain(|f| f.path != "/hello.txt");
        rewr.files.push(file("/var/cache/apt-extra", 1));
        let cmp = compare(&orig, &rewr, &Expectations::for_fixes(&[]));
        let hello = cmp
            .only_in_original
            .iter()
            .find(|d| d.path == "/hello.txt")
            .unwrap();
        assert_eq!(hello.expected, None);
        // A sibling whose name merely starts like a cache dir is not inside it, and nothing
        // explains a path that appears only in the rewrite.
        assert_eq!(cmp.only_in_rewrite[0].path, "/var/cache/apt-extra");
        assert_eq!(cmp.only_in_rewrite[0].expected, None);
        assert_eq!(cmp.unexpected(), 2);
    }

    #[test]
    fn a_directory_that_only_holds_a_cache_dir_may_appear_in_the_rewrite() {
        let (orig, mut rewr) = pair();
        rewr.files
            .extend([dir("/root"), dir("/root/.cache"), file("/root/.cache/x", 1)]);
        let cmp = compare(&orig, &rewr, &Expectations::for_fixes(&[]));
        let unexpected: Vec<&str> = cmp
            .only_in_rewrite
            .iter()
            .filter(|d| d.expected.is_none())
            .map(|d| d.path.as_str())
            .collect();
        assert_eq!(unexpected, ["/root/.cache/x"]);
        // inside a cache directory: npm's timestamped log of the rewrite's build
        rewr.files.push(file(
            "/root/.npm/_logs/2026-11-28T10_00_00_000Z-debug-0.log",
            9,
        ));
        let cmp = compare(&orig, &rewr, &Expectations::for_fixes(&[]));
        assert_eq!(cmp.unexpected(), 1);
    }

    #[test]
    fn a_new_user_explains_the_user_database_and_new_owners_only() {
        let (mut orig, mut rewr) = pair();
        orig.files
            .extend([dir("/app"), dir("/app/data"), file("/etc/passwd", 900)]);
        rewr.files.extend([
            dir("/app"),
            FileEntry {
                uid: 10001,
                ..dir("/app/data")
            },
            file("/etc/passwd", 950),
            file("/etc/passwd-", 900),
            FileEntry {
                mode: 0o777,
                ..dir("/srv")
            },
        ]);
        orig.files.push(dir("/srv"));
        let without = compare(&orig, &rewr, &Expectations::for_fixes(&[]));
        let with = compare(
            &orig,
            &rewr,
            &Expectations::for_fixes(&[fix("non-root-user")]),
        );
        // /app/data's owner, /etc/passwd- and /srv's mode are unexplained without the pass
        assert_eq!(without.unexpected(), 3);
        // with it, only the mode change (never the pass's doing) stays unexplained
        assert_eq!(with.unexpected(), 1);
    }

    #[test]
    fn a_changed_package_set_explains_file_differences_only_when_its_pass_applied() {
        let (orig, mut rewr) = pair();
        rewr.files.retain(|f| f.path != "/hello.txt");
        rewr.files.push(file("/usr/share/doc/extra", 1));
        let without = compare(
            &orig,
            &rewr,
            &Expectations::for_fixes(&[fix("add-to-copy")]),
        );
        assert_eq!(without.unexpected(), 2);
        let with = compare(
            &orig,
            &rewr,
            &Expectations::for_fixes(&[fix("no-install-recommends")]),
        );
        assert_eq!(with.unexpected(), 0);
        assert!(
            with.only_in_rewrite[0]
                .expected
                .as_deref()
                .is_some_and(|r| r.contains("no-install-recommends"))
        );
    }

    #[test]
    fn changed_entries_mode_is_unexpected_size_alone_is_noted() {
        let (orig, mut rewr) = pair();
        for f in &mut rewr.files {
            if f.path == "/bin/sh" {
                f.mode = 0o700;
            }
            if f.path == "/hello.txt" {
                f.size = 7;
            }
        }
        let cmp = compare(&orig, &rewr, &Expectations::for_fixes(&[]));
        assert_eq!(cmp.changed.len(), 2);
        let sh = cmp.changed.iter().find(|c| c.path == "/bin/sh").unwrap();
        assert_eq!(
            (sh.original.as_str(), sh.rewrite.as_str()),
            ("-0644 0:0 1982256", "-0700 0:0 1982256")
        );
        assert_eq!(sh.expected, None);
        let hello = cmp.changed.iter().find(|c| c.path == "/hello.txt").unwrap();
        assert!(hello.expected.is_some());
        assert_eq!(cmp.unexpected(), 1);
    }

    #[test]
    fn config_difference_is_unexpected_unless_an_applied_pass_explains_it() {
        let (orig, mut rewr) = pair();
        rewr.config.user = "app".into();
        rewr.config.exposed_ports.insert("8080/tcp".into());
        let cmp = compare(&orig, &rewr, &Expectations::for_fixes(&[]));
        let fields: Vec<&str> = cmp.config.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["ExposedPorts", "User"]);
        assert_eq!(cmp.config[1].original, serde_json::json!("1000"));
        assert_eq!(cmp.config[1].rewrite, serde_json::json!("app"));
        assert_eq!(cmp.unexpected(), 2);

        let table: &[(&str, &[&str])] = &[("non-root-user", &["User"])];
        let applied = Expectations::from_tables(
            &[fix("non-root-user")],
            &dfrewrite::removable_cache_dirs(),
            table,
        );
        let cmp = compare(&orig, &rewr, &applied);
        assert_eq!(cmp.config[1].explained_by.as_deref(), Some("non-root-user"));
        assert_eq!(cmp.unexpected(), 1);
        // The same table explains nothing when the pass did not apply.
        let not_applied = Expectations::from_tables(
            &[fix("add-to-copy")],
            &dfrewrite::removable_cache_dirs(),
            table,
        );
        assert_eq!(compare(&orig, &rewr, &not_applied).unexpected(), 2);
    }

    #[test]
    fn a_larger_rewrite_saves_negative_bytes() {
        let (orig, rewr) = pair();
        let cmp = compare(&rewr, &orig, &Expectations::for_fixes(&[]));
        assert_eq!(cmp.bytes_saved, -4636);
        assert_eq!(cmp.layers_saved, -1);
        assert!(cmp.percent_saved < 0.0);
    }

    fn smoke(code: i32, stdout: &str) -> SmokeResult {
        SmokeResult {
            exit_code: Some(code),
            stdout: stdout.into(),
            stderr: String::new(),
        }
    }

    #[test]
    fn smoke_needs_same_exit_code_same_stdout_and_the_expected_text() {
        let same = SmokeComparison::new(smoke(0, "v1\n"), smoke(0, "v1\n"), Some("v1"));
        assert!(same.original_ok && same.rewrite_ok);
        let other = SmokeComparison::new(smoke(0, "v1\n"), smoke(0, "v2\n"), None);
        assert!(other.original_ok && !other.rewrite_ok);
        let failing = SmokeComparison::new(smoke(0, "v1\n"), smoke(127, "v1\n"), None);
        assert!(!failing.rewrite_ok);
        let missing = SmokeComparison::new(smoke(0, "v1\n"), smoke(0, "v1\n"), Some("v9"));
        assert!(!missing.original_ok && !missing.rewrite_ok);
        let broken_baseline = SmokeComparison::new(smoke(1, ""), smoke(1, ""), None);
        assert!(!broken_baseline.original_ok && broken_baseline.rewrite_ok);
    }

    #[test]
    fn groups_count_paths_and_bytes_by_two_leading_components() {
        let diffs = [
            path_diff(&file("/var/lib/apt/lists/a", 10), None),
            path_diff(&file("/var/lib/apt/lists/b", 5), None),
            path_diff(&file("/etc", 0), None),
        ];
        let refs: Vec<&PathDiff> = diffs.iter().collect();
        assert_eq!(
            group_by_top_dirs(&refs),
            [("/etc".to_owned(), 1, 0), ("/var/lib".to_owned(), 2, 15)]
        );
    }

    #[test]
    fn describe_shows_links_and_special_bits() {
        let link = FileEntry {
            kind: FileKind::Symlink,
            mode: 0o777,
            target: Some("busybox".into()),
            ..file("/bin/ls", 0)
        };
        assert_eq!(describe(&link), "l0777 0:0 -> busybox");
        let suid = FileEntry {
            mode: 0o4755,
            ..file("/bin/su", 3)
        };
        assert_eq!(describe(&suid), "-4755 0:0 3");
    }
}
