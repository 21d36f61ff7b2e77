use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{FixAvailability, PassContext};
use crate::NewFile;
use crate::context::{BuildContext, ContextEntry, EntryKind};
use crate::syntax::{Dockerfile, Instruction, Keyword};
use crate::text::{Applicability, Fix};

use super::ignore_patterns::{IgnoreFile, Pattern};

super::declare_pass! {
    /// ## What it does
    /// Proposes a `.dockerignore` for a build context that has none, listing only what the
    /// context holds and the build does not need. It looks for `.git`, `node_modules` beside
    /// a `package.json`, Python's `__pycache__`, `*.pyc`, `.venv` and test caches, Cargo's
    /// `target` beside a `Cargo.toml`, `dist` and `build`, `.env*` files, editor folders
    /// (`.idea`, `.vscode`), `*.log` and `.DS_Store`. Only patterns that match something
    /// present are listed, and never one that excludes a path a `COPY`, `ADD` or
    /// `RUN --mount=type=bind` of the file names (a named `.env.example` is kept with
    /// `!.env.example`). The fix is a new file, not an edit of the Dockerfile. Nothing is
    /// proposed when a `.dockerignore` or BuildKit's `<Dockerfile>.dockerignore` exists.
    ///
    /// ## Why
    /// Everything in the context is sent to the builder on every build, and `COPY . .`
    /// invalidates its cache whenever any of it changes: a `git commit`, a local
    /// `npm install` or a test run rebuilds the layer and everything after it. `.git` and
    /// `.env` files in a context also end up in images by accident.
    ///
    /// ## Example
    /// With a context holding `.git/`, `node_modules/`, `package.json` and `server.js`:
    /// ```dockerfile
    /// FROM node:20-slim
    /// COPY package.json server.js ./
    /// RUN npm install --omit=dev
    /// ```
    /// becomes the same Dockerfile
    /// ```dockerfile
    /// FROM node:20-slim
    /// COPY package.json server.js ./
    /// RUN npm install --omit=dev
    /// ```
    /// and a new `.dockerignore` beside it (safe: no source lies under what it excludes):
    /// ```text
    /// # Written by dfrewrite (dockerignore): kept out of the build context.
    /// .git
    /// node_modules
    /// ```
    ///
    /// ## Fix safety
    /// Every COPY, ADD and bind-mount source (wildcards expanded against the context, as
    /// BuildKit does) is checked against the proposed file with BuildKit's own matching
    /// rules: when a pattern would exclude a source, the source is kept with a `!` exception
    /// (for patterns naming kinds of files: `.env*`, `*.log`, `*.pyc`) or the pattern is
    /// dropped. The fix is then **safe** when nothing it excludes lies under a source: only
    /// the upload to the builder shrinks. It is **unsafe** when a source is a directory that
    /// holds an excluded entry (`COPY . .` with a `.git` present): the image would no longer
    /// contain those files, which is the point but changes the final filesystem; the message
    /// names them. It is also unsafe when a source would copy the new file itself (the
    /// context root, or a wildcard matching `.dockerignore`), and when another Dockerfile
    /// shares the context, since its sources were not checked. There is no fix without a readable context, when the
    /// Dockerfile's place in the context is unknown, when an ignore file exists, when a
    /// source holds a variable, quotes or escapes or leaves the context, when a source goes
    /// through a symlink, when the context is too large to walk (20 000 entries), or when a
    /// `**/` pattern could reach into a directory it kept but did not walk.
    pub(crate) static DOCKERIGNORE = {
        name: "dockerignore",
        fix: FixAvailability::Sometimes,
        run: no_edits,
        files: propose,
    };
}

/// The file proposed, relative to the context root.
const IGNORE_FILE: &str = ".dockerignore";
/// The first line of the proposed file.
const HEADER: &str = "# Written by dfrewrite (dockerignore): kept out of the build context.\n";
/// Walking stops (and nothing is proposed) after this many entries.
const MAX_ENTRIES: usize = 20_000;
/// Names listed in a message before "and N more".
const MAX_NAMED: usize = 5;

/// What an entry must be for a rule to take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Dir,
    File,
    Any,
}

/// A condition on a match.
#[derive(Debug, Clone, Copy)]
enum Needs {
    Nothing,
    /// A file of this name in the same directory (`package.json` beside `node_modules`).
    Beside(&'static str),
    /// A file of this name inside the matched directory (`pyvenv.cfg` in a virtualenv).
    Inside(&'static str),
}

/// One kind of thing a build does not need.
struct Rule {
    /// A one-segment `.dockerignore` glob, matched against entry names.
    name: &'static str,
    want: Want,
    /// Matches count at any depth (the pattern becomes `**/name`), not only at the root.
    anywhere: bool,
    needs: Needs,
    /// A source the pattern would exclude may be kept with a `!source` exception (patterns
    /// naming kinds of files); otherwise the pattern is dropped.
    exceptions: bool,
}

const fn rule(name: &'static str, want: Want, anywhere: bool, needs: Needs) -> Rule {
    Rule {
        name,
        want,
        anywhere,
        needs,
        exceptions: false,
    }
}

const fn files(name: &'static str, anywhere: bool) -> Rule {
    Rule {
        name,
        want: Want::Any,
        anywhere,
        needs: Needs::Nothing,
        exceptions: true,
    }
}

/// What is proposed, in the order it is written.
const RULES: &[Rule] = &[
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

fn no_edits(_: &PassContext<'_>) -> Vec<Fix> {
    Vec::new()
}

fn propose(ctx: &PassContext<'_>) -> Vec<NewFile> {
    propose_for(ctx.file, ctx.settings).into_iter().collect()
}

fn propose_for(file: &Dockerfile, settings: &crate::Settings) -> Option<NewFile> {
    let context = settings.context.as_deref()?;
    let dockerfile = settings.dockerfile.as_deref()?;
    let own_ignore = format!("{dockerfile}.dockerignore");
    if [IGNORE_FILE, own_ignore.as_str()]
        .iter()
        .any(|p| context.probe(p) != ContextEntry::Missing)
    {
        return None;
    }
    let uses = context_uses(file)?;
    let tree = Tree::walk(context)?;
    let sources = expand(context, &tree, &uses)?;

    let mut chosen = choose(&tree);
    let mut exceptions: Vec<String> = Vec::new();
    // Keep every source: add exceptions or drop patterns until none is excluded.
    loop {
        let ignore = build(&chosen, &exceptions);
        let Some((path, literal)) = sources
            .iter()
            .flat_map(|s| s.paths.iter().map(move |p| (p, s.literal)))
            .find(|(p, _)| ignore.excludes(p))
        else {
            break;
        };
        let culprits: Vec<usize> = (0..chosen.len())
            .filter(|&i| chosen[i].1.iter().any(|p| parse(p).matches_or_parent(path)))
            .collect();
        if culprits.is_empty() {
            return None;
        }
        let exception = format!("!{path}");
        if literal
            && culprits.iter().all(|&i| RULES[chosen[i].0].exceptions)
            && !exceptions.contains(&exception)
        {
            exceptions.push(exception);
        } else {
            for i in culprits.into_iter().rev() {
                chosen.remove(i);
            }
        }
    }
    // Tuned: drop patterns that leave nothing out, then exceptions no pattern needs.
    let ignore = build(&chosen, &exceptions);
    for (_, pats) in &mut chosen {
        pats.retain(|p| {
            let pattern = parse(p);
            tree.entries
                .keys()
                .any(|e| pattern.matches(e) && ignore.excludes(e))
        });
    }
    chosen.retain(|(_, pats)| !pats.is_empty());
    let positives: Vec<Pattern> = chosen
        .iter()
        .flat_map(|(_, p)| p)
        .map(|p| parse(p))
        .collect();
    exceptions.retain(|e| positives.iter().any(|p| p.matches_or_parent(&e[1..])));
    if chosen.is_empty() {
        return None;
    }
    let ignore = build(&chosen, &exceptions);
    // the checks above must hold for the final file
    if sources
        .iter()
        .flat_map(|s| &s.paths)
        .any(|p| ignore.excludes(p))
    {
        return None;
    }
    // The walk did not enter what rules took; a pattern that could reach inside one that
    // stays in the context (a source lies there) would exclude entries nobody looked at.
    // Generated patterns are root names, `**/name` or plain paths, so this test is exact.
    let unseen = tree
        .matches
        .iter()
        .flatten()
        .filter(|d| tree.kind(d) == Some(EntryKind::Directory) && !ignore.excludes(d));
    for dir in unseen {
        let inside = format!("{dir}/");
        if ignore.patterns.iter().any(|p| {
            !p.exception && (p.cleaned.starts_with("**") || p.cleaned.starts_with(&inside))
        }) {
            return None;
        }
    }
    let excluded = tree.top_excluded(&ignore);
    Some(new_file(
        &chosen,
        &exceptions,
        &excluded,
        &tree,
        &sources,
        dockerfile,
        file,
    ))
}

fn new_file(
    chosen: &[(usize, Vec<String>)],
    exceptions: &[String],
    excluded: &[&str],
    tree: &Tree,
    sources: &[Source],
    dockerfile: &str,
    file: &Dockerfile,
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
        .entries
        .iter()
        .filter(|(p, k)| {
            **k == EntryKind::File && p.as_str() != dockerfile && is_dockerfile_name(base(p))
        })
        .map(|(p, _)| p.as_str())
        .collect();
    let first_line = file.instructions().next().map_or(1, |i| i.start_line);
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

fn name_list<'a>(names: impl Iterator<Item = &'a str>) -> String {
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

fn parse(line: &str) -> Pattern {
    Pattern::parse(line).expect("generated patterns are not blank")
}

fn build(chosen: &[(usize, Vec<String>)], exceptions: &[String]) -> IgnoreFile {
    IgnoreFile {
        patterns: chosen
            .iter()
            .flat_map(|(_, p)| p)
            .chain(exceptions)
            .map(|p| parse(p))
            .collect(),
    }
}

fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// BuildKit's per-Dockerfile ignore files aside, the names the CLI walks for.
fn is_dockerfile_name(name: &str) -> bool {
    !name.ends_with(".dockerignore")
        && (name == "Dockerfile"
            || name == "Containerfile"
            || name.starts_with("Dockerfile.")
            || name.ends_with(".Dockerfile")
            || name.ends_with(".dockerfile"))
}

// ---------------------------------------------------------------- the context

/// The walked context: every entry outside the directories a rule takes, which are listed
/// but not entered.
struct Tree {
    entries: BTreeMap<String, EntryKind>,
    /// Per rule, the entries it takes.
    matches: Vec<Vec<String>>,
}

impl Tree {
    fn walk(context: &dyn BuildContext) -> Option<Self> {
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
                let taken: Vec<usize> = RULES
                    .iter()
                    .enumerate()
                    .filter(|(i, r)| takes(context, r, &names[*i], &dir, name, *kind, &children))
                    .map(|(i, _)| i)
                    .collect();
                if let Some(&first) = taken.first() {
                    tree.matches[first].push(path);
                } else if *kind == EntryKind::Directory {
                    stack.push(path);
                }
            }
        }
        Some(tree)
    }

    fn kind(&self, path: &str) -> Option<EntryKind> {
        self.entries.get(path).copied()
    }

    /// Whether `path` or one of its parents is a symlink the walk saw.
    fn through_symlink(&self, path: &str) -> bool {
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
    fn top_excluded(&self, ignore: &IgnoreFile) -> Vec<&str> {
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

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// Whether `rule` takes the entry `name` of `dir`, a sibling of `children`.
fn takes(
    context: &dyn BuildContext,
    rule: &Rule,
    rule_name: &Pattern,
    dir: &str,
    name: &str,
    kind: EntryKind,
    children: &[(String, EntryKind)],
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
            .any(|(n, k)| n == file && *k == EntryKind::File),
        Needs::Inside(file) => matches!(
            context.probe(&join(&join(dir, name), file)),
            ContextEntry::File { .. }
        ),
    }
}

/// Per rule that took something, its patterns: `name` when everything it took is at the
/// root, `**/name` when that matches nothing else, otherwise each path.
fn choose(tree: &Tree) -> Vec<(usize, Vec<String>)> {
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
        let over = tree.entries.keys().any(|e| {
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
fn plain_name(path: &str) -> bool {
    !path.starts_with(['#', '!'])
        && path.trim() == path
        && !path.contains(['*', '?', '[', ']', '\\'])
}

// ---------------------------------------------------------------- the sources

/// One source the build reads from the context.
struct Source {
    /// `COPY`, `ADD` or `RUN --mount`.
    what: &'static str,
    line: u32,
    /// Written without wildcards (so an exception can keep it).
    literal: bool,
    /// It would pick up the new file itself: the root, or a wildcard matching its name.
    takes_new_file: bool,
    /// The context paths it names (`""` is the root), wildcards expanded.
    paths: Vec<String>,
}

/// One source as written.
struct Use {
    what: &'static str,
    line: u32,
    /// Cleaned, relative to the root; `""` for the root.
    path: String,
}

/// Every context path the Dockerfile reads, or `None` when that cannot be known.
fn context_uses(file: &Dockerfile) -> Option<Vec<Use>> {
    let mut uses = Vec::new();
    for ins in file.instructions() {
        match ins.kind {
            Keyword::Copy | Keyword::Add => copy_sources(ins, &mut uses)?,
            Keyword::Run => mount_sources(ins, &mut uses)?,
            _ => {}
        }
    }
    Some(uses)
}

fn copy_sources(ins: &Instruction, uses: &mut Vec<Use>) -> Option<()> {
    if ins.flag_value("from").is_some() {
        return Some(());
    }
    let words = ins.paths();
    let Some((_dest, sources)) = words.split_last() else {
        return Some(());
    };
    let what = if ins.kind == Keyword::Add {
        "ADD"
    } else {
        "COPY"
    };
    for source in sources {
        if (!ins.heredocs.is_empty() && source.starts_with("<<"))
            || source.contains("://")
            || source.starts_with("git@")
        {
            continue;
        }
        uses.push(Use {
            what,
            line: ins.start_line,
            path: context_path(source)?,
        });
    }
    Some(())
}

fn mount_sources(ins: &Instruction, uses: &mut Vec<Use>) -> Option<()> {
    for mount in ins.mounts() {
        if mount.kind.eq_ignore_ascii_case("bind") && mount.from.is_none() {
            uses.push(Use {
                what: "RUN --mount",
                line: ins.start_line,
                path: context_path(mount.source.as_deref().unwrap_or("."))?,
            });
        }
    }
    Some(())
}

/// A source as a cleaned path relative to the context root; `None` when it cannot be read
/// without evaluating (variables, quotes, escapes) or leaves the context.
fn context_path(source: &str) -> Option<String> {
    if source.is_empty() || source.contains(['$', '"', '\'', '\\', '`']) {
        return None;
    }
    let cleaned = super::ignore_patterns::clean(source.trim_start_matches('/'));
    if cleaned == ".." || cleaned.starts_with("../") {
        return None;
    }
    Some(if cleaned == "." {
        String::new()
    } else {
        cleaned
    })
}

fn has_wildcard(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

/// Each use with the paths it names; `None` when one goes through a symlink.
fn expand(context: &dyn BuildContext, tree: &Tree, uses: &[Use]) -> Option<Vec<Source>> {
    let mut sources = Vec::new();
    for u in uses {
        let literal = !has_wildcard(&u.path);
        let paths = if literal {
            vec![u.path.clone()]
        } else {
            let mut found = Vec::new();
            expand_glob(context, "", &u.path, &mut found)?;
            found
        };
        if paths.iter().any(|p| tree.through_symlink(p)) {
            return None;
        }
        let takes_new_file = u.path.is_empty()
            || (!literal
                && !u.path.contains('/')
                && Pattern::segment(&u.path).matches(IGNORE_FILE));
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
fn expand_glob(
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
    let next: Vec<String> = if has_wildcard(segment) {
        let glob = Pattern::segment(segment);
        context
            .list(dir)?
            .into_iter()
            .filter(|(name, _)| glob.matches(name))
            .map(|(name, _)| join(dir, &name))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BuildContext, Settings};
    use std::sync::Arc;

    /// A context from a list of paths; a trailing `/` marks a directory, `@` a symlink.
    struct Fake(BTreeMap<String, EntryKind>);

    impl Fake {
        fn new(paths: &[&str]) -> Self {
            let mut map = BTreeMap::new();
            for p in paths {
                let (p, kind) = if let Some(d) = p.strip_suffix('/') {
                    (d, EntryKind::Directory)
                } else if let Some(l) = p.strip_suffix('@') {
                    (l, EntryKind::Symlink)
                } else {
                    (*p, EntryKind::File)
                };
                let mut at = p;
                while let Some((parent, _)) = at.rsplit_once('/') {
                    map.insert(parent.to_owned(), EntryKind::Directory);
                    at = parent;
                }
                map.insert(p.to_owned(), kind);
            }
            Self(map)
        }
    }

    impl BuildContext for Fake {
        fn probe(&self, path: &str) -> ContextEntry {
            match self.0.get(path) {
                _ if path.is_empty() => ContextEntry::Directory,
                Some(EntryKind::Directory) => ContextEntry::Directory,
                Some(EntryKind::File) => ContextEntry::File { head: Vec::new() },
                Some(_) => ContextEntry::Unreadable,
                None => ContextEntry::Missing,
            }
        }

        fn list(&self, dir: &str) -> Option<Vec<(String, EntryKind)>> {
            Some(
                self.0
                    .iter()
                    .filter_map(|(p, k)| {
                        let name = if dir.is_empty() {
                            p.as_str()
                        } else {
                            p.strip_prefix(dir)?.strip_prefix('/')?
                        };
                        (!name.contains('/')).then(|| (name.to_owned(), *k))
                    })
                    .collect(),
            )
        }
    }

    fn propose(src: &str, paths: &[&str]) -> Option<NewFile> {
        let settings = Settings {
            context: Some(Arc::new(Fake::new(paths)) as Arc<dyn BuildContext>),
            dockerfile: Some("Dockerfile".into()),
            ..Settings::default()
        };
        let file = crate::syntax::parse(src).unwrap();
        propose_for(&file, &settings)
    }

    fn lines(f: &NewFile) -> Vec<&str> {
        f.content.lines().skip(1).collect()
    }

    #[test]
    fn node_project() {
        let f = propose(
            "FROM node\nCOPY package.json ./\nCOPY src ./src\n",
            &[
                ".git/HEAD",
                "package.json",
                "node_modules/a/index.js",
                "src/index.js",
            ],
        )
        .unwrap();
        assert_eq!(lines(&f), [".git", "node_modules"]);
        assert_eq!(f.applicability, Applicability::Safe);
        assert!(f.message.contains(".git, node_modules"), "{}", f.message);
    }

    #[test]
    fn copy_dot_is_unsafe_and_says_what_is_lost() {
        let f = propose("FROM a\nCOPY . .\n", &[".git/HEAD", "app.py", ".env"]).unwrap();
        assert_eq!(lines(&f), [".git", ".env*"]);
        assert_eq!(f.applicability, Applicability::Unsafe);
        assert_eq!(f.line, 2);
        assert!(
            f.message
                .contains("COPY on line 2 copies a directory holding .env, .git")
        );
    }

    #[test]
    fn named_sources_are_never_excluded() {
        let f = propose(
            "FROM a\nCOPY .env.example dist/ /app/\n",
            &[".env", ".env.example", "dist/x.js", "build/y"],
        )
        .unwrap();
        assert_eq!(lines(&f), ["build", ".env*", "!.env.example"]);
        assert_eq!(f.applicability, Applicability::Safe);
        // only the named file is there: nothing left to exclude
        assert!(propose("FROM a\nCOPY .env.example /app/\n", &[".env.example"]).is_none());
    }

    #[test]
    fn sources_under_an_excluded_directory_drop_the_pattern() {
        let f = propose(
            "FROM a\nCOPY node_modules/vendored /v\n",
            &["package.json", "node_modules/vendored/a", ".DS_Store"],
        )
        .unwrap();
        assert_eq!(lines(&f), [".DS_Store"]);
    }

    #[test]
    fn wildcards_are_expanded_against_the_context() {
        let f = propose(
            "FROM a\nCOPY */package.json ./\n",
            &["dist/package.json", "web/package.json", "a.log"],
        )
        .unwrap();
        assert_eq!(lines(&f), ["*.log"]);
        assert_eq!(f.applicability, Applicability::Safe);
        let f = propose("FROM a\nCOPY *.log /l/\n", &["a.log", "b/c.log", ".idea/x"]).unwrap();
        assert_eq!(lines(&f), [".idea"]);
    }

    #[test]
    fn nested_matches_use_double_star_unless_that_over_matches() {
        let f = propose(
            "FROM a\nCOPY app /app\n",
            &["app/pkg/__pycache__/m.pyc", "app/m.py", "__pycache__/x.pyc"],
        )
        .unwrap();
        assert_eq!(lines(&f), ["**/__pycache__"]);
        assert_eq!(f.applicability, Applicability::Unsafe);
        // node_modules without a package.json beside it is not taken
        let f = propose(
            "FROM a\nCOPY x /x\n",
            &[
                "package.json",
                "node_modules/a",
                "web/package.json",
                "web/node_modules/b",
                "static/node_modules/c",
            ],
        )
        .unwrap();
        assert_eq!(lines(&f), ["node_modules", "web/node_modules"]);
    }

    #[test]
    fn nothing_without_need_or_with_an_ignore_file() {
        assert!(propose("FROM a\nCOPY . .\n", &["app.py"]).is_none());
        assert!(propose("FROM a\nCOPY . .\n", &[".git/HEAD", ".dockerignore"]).is_none());
        assert!(
            propose(
                "FROM a\nCOPY . .\n",
                &[".git/HEAD", "Dockerfile.dockerignore"]
            )
            .is_none()
        );
        assert!(propose("FROM a\nCOPY $X .\n", &[".git/HEAD"]).is_none());
        assert!(propose("FROM a\nCOPY ../x .\n", &[".git/HEAD"]).is_none());
        assert!(propose("FROM a\nCOPY lib/x .\n", &[".git/HEAD", "lib@"]).is_none());
        // cargo's target only beside Cargo.toml
        assert!(propose("FROM a\nCOPY src src\n", &["target/x", "src/main.rs"]).is_none());
    }

    #[test]
    fn sources_inside_what_the_walk_skipped_stop_anywhere_patterns() {
        // node_modules stays (a source is inside it) but was never walked: `**/*.log` could
        // exclude logs in it that nobody saw
        let paths = ["package.json", "node_modules/lib/a.js", "src/debug.log"];
        assert!(propose("FROM a\nCOPY node_modules/lib /l\n", &paths).is_none());
        // a root-only pattern cannot reach inside
        let paths = ["package.json", "node_modules/lib/a.js", "debug.log"];
        let f = propose("FROM a\nCOPY node_modules/lib /l\n", &paths).unwrap();
        assert_eq!(lines(&f), ["*.log"]);
    }

    #[test]
    fn a_wildcard_that_would_copy_the_new_file_is_unsafe() {
        let f = propose("FROM a\nCOPY .[de]* /cfg/\n", &[".editorconfig", ".idea/x"])
            .unwrap_or_else(|| {
                panic!("a proposal");
            });
        assert_eq!(lines(&f), [".idea"]);
        assert_eq!(f.applicability, Applicability::Unsafe);
        assert!(
            f.message
                .ends_with("COPY on line 2 would also copy the new .dockerignore"),
            "{}",
            f.message
        );
    }

    #[test]
    fn a_context_too_large_to_walk_gets_nothing() {
        let names: Vec<String> = (0..=MAX_ENTRIES).map(|i| format!("src/f{i}")).collect();
        let mut paths: Vec<&str> = names.iter().map(String::as_str).collect();
        paths.push(".idea/x");
        assert!(propose("FROM a\nCOPY src /src\n", &paths).is_none());
    }

    #[test]
    fn from_stages_and_remote_sources_are_not_the_context() {
        let f = propose(
            "FROM a AS b\nFROM c\nCOPY --from=b dist /d\nADD https://x/y /y\n",
            &["dist/a", ".vscode/s"],
        )
        .unwrap();
        assert_eq!(lines(&f), ["dist", ".vscode"]);
        assert_eq!(f.applicability, Applicability::Safe);
    }

    #[test]
    fn bind_mounts_and_sibling_dockerfiles() {
        let f = propose(
            "FROM a\nRUN --mount=type=bind,source=build,target=/b make\nRUN --mount=type=cache,target=/c x\n",
            &["build/a", "dist/b"],
        )
        .unwrap();
        assert_eq!(lines(&f), ["dist"]);
        assert_eq!(f.applicability, Applicability::Safe);
        let f = propose(
            "FROM a\nRUN --mount=type=bind,target=/src make\n",
            &["dist/b"],
        )
        .unwrap();
        assert_eq!(f.applicability, Applicability::Unsafe);
        assert!(
            f.message.contains("no longer reach the build"),
            "{}",
            f.message
        );
        let f = propose("FROM a\nCOPY x /x\n", &["x", "dist/b", "Dockerfile.dev"]).unwrap();
        assert_eq!(f.applicability, Applicability::Unsafe);
        assert!(f.message.contains("Dockerfile.dev shares"), "{}", f.message);
    }
}
