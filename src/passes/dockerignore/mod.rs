//! The dockerignore pass: this file decides what to propose; `rules` is the table of what a
//! build does not need, `tree` the walk of the context, `sources` what the Dockerfile reads,
//! `message` the new file and its explanation.

mod message;
mod rules;
mod sources;
mod tree;

use super::{FixAvailability, PassContext};
use crate::NewFile;
use crate::context::EntryKind;
use crate::context::ignore::{IgnoreFile, Pattern};
use crate::text::Fix;
use message::new_file;
use rules::{RULES, choose};
use sources::{context_uses, expand};
use tree::Tree;

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
    /// dropped. Then the fix is:
    /// - **safe** when nothing it excludes lies under a source: only the upload to the
    ///   builder shrinks;
    /// - **unsafe** when a source is a directory that holds an excluded entry (`COPY . .`
    ///   with a `.git` present): the image would no longer contain those files, which is the
    ///   point but changes the final filesystem; the message names them;
    /// - **unsafe** when a source would copy the new file itself (the context root, or a
    ///   wildcard matching `.dockerignore`);
    /// - **unsafe** when another Dockerfile shares the context: its sources were not checked.
    ///
    /// There is no fix:
    /// - without a readable context, or when the Dockerfile's place in it is unknown;
    /// - when an ignore file applies (`<Dockerfile>.dockerignore` or `.dockerignore`);
    /// - when a source holds a variable, quotes or escapes, steps up with `..` or goes
    ///   through a symlink;
    /// - when the context is too large to walk (20 000 entries), or a `**/` pattern could
    ///   reach into a directory it kept but did not walk.
    pub(crate) static DOCKERIGNORE = {
        name: "dockerignore",
        summary: "Proposes a `.dockerignore` listing what the context holds and the build does not need",
        fix: FixAvailability::Sometimes,
        may: [proposes_file],
        run: no_edits,
        files: propose,
    };
}

/// The file proposed, relative to the context root.
pub(super) const IGNORE_FILE: &str = crate::context::ignore::ROOT_IGNORE_FILE;
/// The first line of the proposed file.
pub(super) const HEADER: &str =
    "# Written by dfrewrite (dockerignore): kept out of the build context.\n";
/// Walking stops (and nothing is proposed) after this many entries.
pub(super) const MAX_ENTRIES: usize = 20_000;

fn no_edits(_: &PassContext<'_>) -> Vec<Fix> {
    Vec::new()
}

fn propose(ctx: &PassContext<'_>) -> Vec<NewFile> {
    propose_for(ctx).into_iter().collect()
}

fn propose_for(ctx: &PassContext<'_>) -> Option<NewFile> {
    let file = ctx.file;
    let context = ctx.context()?;
    let dockerfile = ctx.settings.dockerfile.as_deref()?;
    // an ignore file that applies (the Dockerfile's own or the root's) is never replaced
    if ctx.ignore_rules()?.file().is_some() {
        return None;
    }
    // the walk depends on the context alone: once per context, whatever shares it
    let walked = crate::context::shared(context, || Tree::walk(context));
    let tree = walked.as_ref().as_ref()?;
    let mut chosen = choose(tree);
    // nothing to keep out: the proposal below would end empty, so the Dockerfile's sources
    // (a list as long as its COPYs) are not gathered
    if chosen.is_empty() {
        return None;
    }
    let mut uses = context_uses(file)?;
    for u in &mut uses {
        u.line = ctx.original_line(u.line);
    }
    let sources = expand(context, tree, uses)?;

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
            tree.entries()
                .iter()
                .any(|(e, _)| pattern.matches(e) && ignore.excludes(e))
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
        tree,
        &sources,
        dockerfile,
        file.instructions().next().map_or(1, |i| ctx.line(i)),
    ))
}

pub(super) fn parse(line: &str) -> Pattern {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Applicability, BuildContext, ContextEntry, Settings};
    use std::collections::BTreeMap;
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

        // in reverse path order: what the pass proposes must not depend on the listing's
        fn list(&self, dir: &str) -> Option<crate::context::DirEntries> {
            Some(
                self.0
                    .iter()
                    .rev()
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
        let scripts = crate::passes::ScriptCache::default();
        propose_for(&PassContext::new(&file, &settings, &scripts))
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
    fn a_source_written_again_is_reported_at_its_first_use() {
        // `COPY . .` in both stages is one use; an ADD of `.` is another keyword's
        let src = "FROM a AS one\nCOPY . .\nFROM a\nCOPY . /app\nADD . /b\n";
        let f = propose(src, &[".git/HEAD", "app.py"]).unwrap();
        assert_eq!(f.line, 2);
        assert!(
            f.message
                .contains("COPY on line 2 copies a directory holding .git"),
            "{}",
            f.message
        );
        let uses = sources::context_uses(&crate::syntax::parse(src).unwrap()).unwrap();
        let read: Vec<(&str, u32)> = uses.iter().map(|u| (u.what, u.line)).collect();
        assert_eq!(read, [("COPY", 2), ("ADD", 5)]);
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
