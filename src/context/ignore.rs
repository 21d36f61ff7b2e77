//! Which build-context paths reach the builder: the ignore file BuildKit applies to a
//! Dockerfile (`<Dockerfile>.dockerignore` beside it, before `.dockerignore` at the root),
//! read once, and its patterns matched as BuildKit matches them (moby/patternmatcher): Go
//! `filepath.Match` syntax (`*`, `?`, `[…]`, `\`) plus `**` for any number of directories,
//! `!` exceptions, patterns cleaned and a leading `/` dropped, and a pattern that matches a
//! directory excluding everything under it. The last pattern that matches a path decides.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::{BuildContext, ContextEntry};

/// Whether a context path is sent to the builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Inclusion {
    Included,
    Excluded,
    Unsure,
}

/// The ignore rules that apply to one Dockerfile: which ignore file BuildKit reads, and its
/// patterns (or nothing known about them).
#[derive(Debug)]
pub(crate) struct IgnoreRules {
    /// The ignore file that applies, relative to the context root; `None` when there is none.
    file: Option<String>,
    /// Its patterns; `None` when they cannot be known.
    patterns: Option<Arc<IgnoreFile>>,
}

/// The ignore files of one context parsed so far, by path: every Dockerfile sharing the
/// context (and every round of each) reads the same `.dockerignore`.
#[derive(Default)]
struct Parsed(Mutex<HashMap<String, Option<Arc<IgnoreFile>>>>);

impl Default for IgnoreRules {
    /// No ignore file: everything is sent.
    fn default() -> Self {
        Self {
            file: None,
            patterns: Some(Arc::default()),
        }
    }
}

impl IgnoreRules {
    /// The rules BuildKit applies to the Dockerfile at `dockerfile` (relative to the context
    /// root): `<Dockerfile>.dockerignore` when it exists, else `.dockerignore`. When the
    /// Dockerfile's place is unknown, a per-Dockerfile file could exist out of sight: unsure.
    pub(crate) fn for_dockerfile(context: &dyn BuildContext, dockerfile: Option<&str>) -> Self {
        let Some(dockerfile) = dockerfile else {
            return Self {
                file: None,
                patterns: None,
            };
        };
        let own = format!("{dockerfile}.dockerignore");
        for name in [own.as_str(), ROOT_IGNORE_FILE] {
            let patterns = match context.probe(name) {
                ContextEntry::Missing => continue,
                ContextEntry::File { .. } => parsed(context, name),
                _ => None,
            };
            return Self {
                file: Some(name.to_owned()),
                patterns,
            };
        }
        Self::default()
    }

    /// Rules read from the text of an ignore file.
    #[cfg(test)]
    pub(crate) fn parse(text: &str) -> Self {
        Self {
            file: Some(ROOT_IGNORE_FILE.to_owned()),
            patterns: Some(Arc::new(IgnoreFile::parse(text))),
        }
    }

    /// The ignore file that applies, if one exists (readable or not).
    pub(crate) fn file(&self) -> Option<&str> {
        self.file.as_deref()
    }

    /// Whether `path` (cleaned, relative to the context root) reaches the builder.
    pub(crate) fn status(&self, path: &str) -> Inclusion {
        match &self.patterns {
            None => Inclusion::Unsure,
            Some(file) if file.excludes(path) => Inclusion::Excluded,
            Some(_) => Inclusion::Included,
        }
    }
}

/// The patterns of the ignore file at `name` (a regular file), parsed once per context.
fn parsed(context: &dyn BuildContext, name: &str) -> Option<Arc<IgnoreFile>> {
    let known = super::shared(context, Parsed::default);
    let lock = || known.0.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(found) = lock().get(name) {
        return found.clone();
    }
    let patterns = context
        .read(name)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .map(|text| Arc::new(IgnoreFile::parse(&text)));
    lock().insert(name.to_owned(), patterns.clone());
    patterns
}

/// The ignore file at the context root.
pub(crate) const ROOT_IGNORE_FILE: &str = ".dockerignore";

/// One compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    /// `!pattern`: re-includes what earlier patterns excluded.
    pub(crate) exception: bool,
    /// The cleaned pattern (without `!`), as patternmatcher keeps it.
    pub(crate) cleaned: String,
    kind: MatchKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum MatchKind {
    /// No wildcard: the path equals the pattern.
    Exact,
    /// `foo/**`: the path starts with `foo/`.
    Prefix,
    /// `**/foo`: the path ends with `/foo`, or is `foo`.
    Suffix,
    /// Anything else, as patternmatcher's regular expression would read it.
    Tokens(Vec<Token>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Char(char),
    /// `*`: any run of characters but `/`.
    Star,
    /// `?`: one character but `/`.
    Question,
    /// `**` followed by more pattern: any run of whole directories, `(.*/)?`.
    AnyDirs,
    /// `**` at the end (after something else): anything at all, `.*`.
    AnyTail,
    /// `[…]`: ranges, negated with a leading `^`.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Pattern {
    /// Reads one line of a `.dockerignore`; `None` for blank lines and comments.
    pub(crate) fn parse(line: &str) -> Option<Self> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let (exception, rest) = match line.strip_prefix('!') {
            Some(rest) => (true, rest.trim()),
            None => (false, line),
        };
        let mut cleaned = clean(rest);
        if cleaned.len() > 1 && cleaned.starts_with('/') {
            cleaned.remove(0);
        }
        let kind = compile(&cleaned);
        Some(Self {
            exception,
            cleaned,
            kind,
        })
    }

    /// One segment of a COPY source as Go's `filepath.Match` reads it (no `!`, no comments).
    pub(crate) fn segment(glob: &str) -> Self {
        Self {
            exception: false,
            cleaned: glob.to_owned(),
            kind: compile(glob),
        }
    }

    /// Whether the pattern matches `path` itself (cleaned, relative, `/`-separated).
    pub(crate) fn matches(&self, path: &str) -> bool {
        match &self.kind {
            MatchKind::Exact => path == self.cleaned,
            MatchKind::Prefix => path.starts_with(&self.cleaned[..self.cleaned.len() - 2]),
            MatchKind::Suffix => {
                let suffix = &self.cleaned[2..];
                path.ends_with(suffix) || suffix.strip_prefix('/') == Some(path)
            }
            MatchKind::Tokens(tokens) => {
                if !literal_ends_fit(tokens, path) {
                    return false;
                }
                let chars: Vec<char> = path.chars().collect();
                match_tokens(tokens, &chars)
            }
        }
    }

    /// Whether the pattern matches `path` or one of its parent directories.
    pub(crate) fn matches_or_parent(&self, path: &str) -> bool {
        self.matches(path)
            || path
                .match_indices('/')
                .any(|(at, _)| self.matches(&path[..at]))
    }
}

/// A whole ignore file: patterns in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct IgnoreFile {
    pub(crate) patterns: Vec<Pattern>,
}

impl IgnoreFile {
    pub(crate) fn parse(text: &str) -> Self {
        Self {
            patterns: text.lines().filter_map(Pattern::parse).collect(),
        }
    }

    /// Whether `path` is left out of the context: patternmatcher's `MatchesOrParentMatches`,
    /// where the last pattern that matches the path or a parent decides.
    pub(crate) fn excludes(&self, path: &str) -> bool {
        let mut excluded = false;
        for pattern in &self.patterns {
            // An exception only matters once something is excluded, and the other way round.
            if pattern.exception != excluded {
                continue;
            }
            if pattern.matches_or_parent(path) {
                excluded = !pattern.exception;
            }
        }
        excluded
    }
}

/// Go's `filepath.Clean` on a `/`-separated path.
pub(crate) fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// patternmatcher's `compile`, step for step, into tokens instead of a regular expression.
fn compile(pattern: &str) -> MatchKind {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut kind = 0u8; // 0 exact, 1 prefix, 2 suffix, 3 tokens
    let mut i = 0;
    let mut index = 0;
    while i < chars.len() {
        let ch = chars[i];
        i += 1;
        match ch {
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                if i == chars.len() {
                    if kind == 0 {
                        kind = 1;
                    } else {
                        tokens.push(Token::AnyTail);
                        kind = 3;
                    }
                } else {
                    tokens.push(Token::AnyDirs);
                    kind = 3;
                }
                if index == 0 {
                    kind = 2;
                }
            }
            '*' => {
                tokens.push(Token::Star);
                kind = 3;
            }
            '?' => {
                tokens.push(Token::Question);
                kind = 3;
            }
            '\\' => {
                if let Some(&next) = chars.get(i) {
                    i += 1;
                    tokens.push(Token::Char(next));
                    kind = 3;
                } else {
                    tokens.push(Token::Char('\\'));
                }
            }
            '[' => {
                let (class, next) = read_class(&chars, i);
                tokens.push(class);
                i = next;
                kind = 3;
            }
            c => tokens.push(Token::Char(c)),
        }
        index += 1;
    }
    match kind {
        0 => MatchKind::Exact,
        1 => MatchKind::Prefix,
        2 if pattern.len() >= 2 => MatchKind::Suffix,
        _ => MatchKind::Tokens(tokens),
    }
}

/// A `[…]` class starting after the `[` at `start`; returns the token and where it ends.
fn read_class(chars: &[char], start: usize) -> (Token, usize) {
    let mut i = start;
    let negated = chars.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    while let Some(&c) = chars.get(i) {
        if c == ']' && !first {
            return (Token::Class { negated, ranges }, i + 1);
        }
        first = false;
        let mut lo = c;
        i += 1;
        if lo == '\\'
            && let Some(&escaped) = chars.get(i)
        {
            lo = escaped;
            i += 1;
        }
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|&c| c != ']') {
            let mut hi = chars[i + 1];
            i += 2;
            if hi == '\\'
                && let Some(&escaped) = chars.get(i)
            {
                hi = escaped;
                i += 1;
            }
            ranges.push((lo, hi));
        } else {
            ranges.push((lo, lo));
        }
    }
    // An unterminated class is a bad pattern for BuildKit; match nothing.
    (
        Token::Class {
            negated: false,
            ranges: Vec::new(),
        },
        chars.len(),
    )
}

/// Whether `path` starts with the pattern's leading plain characters and ends with its
/// trailing ones, as every path it matches does: a test without allocating, since a context
/// walk asks every rule about every entry and nearly all answers are no.
fn literal_ends_fit(tokens: &[Token], path: &str) -> bool {
    let mut rest = path;
    for token in tokens {
        let Token::Char(c) = token else { break };
        let Some(after) = rest.strip_prefix(*c) else {
            return false;
        };
        rest = after;
    }
    let mut rest = path;
    for token in tokens.iter().rev() {
        let Token::Char(c) = token else { break };
        let Some(before) = rest.strip_suffix(*c) else {
            return false;
        };
        rest = before;
    }
    true
}

fn match_tokens(tokens: &[Token], path: &[char]) -> bool {
    let Some((first, rest)) = tokens.split_first() else {
        return path.is_empty();
    };
    match first {
        Token::Char(c) => path.first() == Some(c) && match_tokens(rest, &path[1..]),
        Token::Question => {
            path.first().is_some_and(|&c| c != '/') && match_tokens(rest, &path[1..])
        }
        Token::Class { negated, ranges } => {
            path.first()
                .is_some_and(|&c| ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated)
                && match_tokens(rest, &path[1..])
        }
        Token::Star => {
            let run = path.iter().take_while(|&&c| c != '/').count();
            (0..=run).any(|n| match_tokens(rest, &path[n..]))
        }
        Token::AnyTail => true,
        Token::AnyDirs => {
            // zero directories, or everything up to and including any `/`
            match_tokens(rest, path)
                || path
                    .iter()
                    .enumerate()
                    .filter(|&(_, &c)| c == '/')
                    .any(|(at, _)| match_tokens(rest, &path[at + 1..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_literal_test_never_rejects_a_match() {
        let patterns = [
            "*.pyc",
            ".env*",
            "a*b",
            "a?c",
            "x[ab]y",
            "**/foo/*.log",
            "a\\*b",
            "fo*o",
            "*",
        ];
        let paths = [
            "x.pyc",
            ".pyc",
            "a/b.pyc",
            ".env",
            ".env.local",
            "ab",
            "acb",
            "a/b",
            "abc",
            "xay",
            "foo/a.log",
            "d/foo/a.log",
            "a*b",
            "foo",
            "fo",
            "o",
            "",
        ];
        let mut rejected = 0;
        for pattern in patterns {
            let MatchKind::Tokens(tokens) = compile(pattern) else {
                panic!("{pattern} compiles to tokens");
            };
            for path in paths {
                let chars: Vec<char> = path.chars().collect();
                let fits = literal_ends_fit(&tokens, path);
                assert!(fits || !match_tokens(&tokens, &chars), "{pattern} {path}");
                rejected += usize::from(!fits);
            }
        }
        assert!(rejected > 50, "{rejected}");
    }

    fn excludes(file: &str, path: &str) -> bool {
        IgnoreFile::parse(file).excludes(path)
    }

    #[test]
    fn anchored_at_the_root() {
        assert!(excludes("*.pyc", "a.pyc"));
        assert!(!excludes("*.pyc", "pkg/a.pyc"));
        assert!(excludes("**/*.pyc", "pkg/sub/a.pyc"));
        assert!(excludes("**/*.pyc", "a.pyc"));
        assert!(excludes("/node_modules", "node_modules/x/y.js"));
        assert!(excludes("./node_modules/", "node_modules"));
        assert!(!excludes("node_modules", "web/node_modules"));
        assert!(excludes("**/node_modules", "web/node_modules/x"));
        assert!(excludes("**/node_modules", "node_modules"));
    }

    #[test]
    fn directories_exclude_what_is_under_them() {
        assert!(excludes(".git", ".git/HEAD"));
        assert!(excludes("target", "target/debug/app"));
        assert!(!excludes("target", "targets"));
        assert!(excludes("build/**", "build/x"));
        assert!(!excludes("build/**", "build"));
        assert!(excludes("a/**/c", "a/c"));
        assert!(excludes("a/**/c", "a/b/b/c"));
        assert!(!excludes("a/*/c", "a/b/b/c"));
    }

    #[test]
    fn exceptions_and_order() {
        let file = ".env*\n!.env.example\n";
        assert!(excludes(file, ".env"));
        assert!(excludes(file, ".env.local"));
        assert!(!excludes(file, ".env.example"));
        assert!(!excludes(file, "env"));
        // the last match decides
        assert!(excludes("!keep\n*\n", "keep"));
        assert!(!excludes(
            "node_modules\n!node_modules/keep\n",
            "node_modules/keep/a.js"
        ));
        assert!(excludes(
            "node_modules\n!node_modules/keep\n",
            "node_modules/other"
        ));
    }

    #[test]
    fn classes_escapes_and_comments() {
        assert!(excludes("file[0-9].log", "file3.log"));
        assert!(!excludes("file[^0-9].log", "file3.log"));
        assert!(excludes("file[^0-9].log", "filex.log"));
        assert!(excludes("a\\*b", "a*b"));
        assert!(!excludes("a\\*b", "axb"));
        assert!(!excludes("# .git\n\n", ".git"));
        assert!(excludes("  .DS_Store  ", ".DS_Store"));
        assert!(excludes("?.txt", "a.txt"));
        assert!(!excludes("?.txt", "ab.txt"));
        assert!(excludes("**", "anything/at/all"));
    }

    #[test]
    fn cleaning() {
        assert_eq!(clean("./a//b/"), "a/b");
        assert_eq!(clean("a/../b"), "b");
        assert_eq!(clean("/"), "/");
        assert_eq!(clean(""), ".");
        assert_eq!(clean("../x"), "../x");
    }

    #[test]
    fn buildkit_rules() {
        let r = IgnoreRules::parse(
            "# comment\nnode_modules\n/dist/\n*.log\n**/secret.txt\ndocs\n!docs/keep.md\n",
        );
        assert_eq!(r.status("node_modules"), Inclusion::Excluded);
        assert_eq!(r.status("node_modules/x/package.json"), Inclusion::Excluded);
        assert_eq!(r.status("web/node_modules"), Inclusion::Included);
        assert_eq!(r.status("dist/a.js"), Inclusion::Excluded);
        assert_eq!(r.status("npm-debug.log"), Inclusion::Excluded);
        assert_eq!(r.status("sub/npm-debug.log"), Inclusion::Included);
        assert_eq!(r.status("a/b/secret.txt"), Inclusion::Excluded);
        assert_eq!(r.status("secret.txt"), Inclusion::Excluded);
        assert_eq!(r.status("docs/keep.md"), Inclusion::Included);
        assert_eq!(r.status("docs/other.md"), Inclusion::Excluded);
        assert_eq!(r.status("package.json"), Inclusion::Included);
        let all = IgnoreRules::parse("*\n!package.json\n");
        assert_eq!(all.status("package.json"), Inclusion::Included);
        assert_eq!(all.status("package-lock.json"), Inclusion::Excluded);
        // character classes are read as BuildKit reads them
        let class = IgnoreRules::parse("[a-z].txt\n");
        assert_eq!(class.status("x.txt"), Inclusion::Excluded);
        assert_eq!(class.status("X.txt"), Inclusion::Included);
    }

    /// A context holding the given files (path, content).
    struct Files(&'static [(&'static str, &'static str)]);

    impl BuildContext for Files {
        fn probe(&self, path: &str) -> ContextEntry {
            self.0
                .iter()
                .find(|(p, _)| *p == path)
                .map_or(ContextEntry::Missing, |_| ContextEntry::File {
                    head: Vec::new(),
                })
        }

        fn read(&self, path: &str) -> Option<Vec<u8>> {
            self.0
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(_, text)| text.as_bytes().to_vec())
        }
    }

    #[test]
    fn the_dockerfiles_own_ignore_file_comes_first() {
        let both = Files(&[
            ("docker/api.Dockerfile.dockerignore", "dist\n"),
            (".dockerignore", "node_modules\n"),
        ]);
        let rules = IgnoreRules::for_dockerfile(&both, Some("docker/api.Dockerfile"));
        assert_eq!(rules.file(), Some("docker/api.Dockerfile.dockerignore"));
        assert_eq!(rules.status("node_modules"), Inclusion::Included);
        assert_eq!(rules.status("dist"), Inclusion::Excluded);
        let rules = IgnoreRules::for_dockerfile(&both, Some("Dockerfile"));
        assert_eq!(rules.file(), Some(".dockerignore"));
        assert_eq!(rules.status("node_modules"), Inclusion::Excluded);
        let none = IgnoreRules::for_dockerfile(&Files(&[]), Some("Dockerfile"));
        assert_eq!((none.file(), none.status("x")), (None, Inclusion::Included));
        // unreadable, or a Dockerfile whose place is unknown: nothing can be said
        assert_eq!(
            IgnoreRules::for_dockerfile(&both, None).status("x"),
            Inclusion::Unsure
        );
    }

    /// [`Files`] kept for a run: with a memo, counting its reads.
    struct Kept(Files, crate::context::Memo, std::sync::atomic::AtomicUsize);

    impl BuildContext for Kept {
        fn probe(&self, path: &str) -> ContextEntry {
            self.0.probe(path)
        }
        fn read(&self, path: &str) -> Option<Vec<u8>> {
            self.2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.0.read(path)
        }
        fn memo(&self) -> Option<&crate::context::Memo> {
            Some(&self.1)
        }
    }

    #[test]
    fn a_kept_context_reads_and_parses_each_ignore_file_once() {
        let kept = Kept(
            Files(&[
                ("api.Dockerfile.dockerignore", "dist\n"),
                (".dockerignore", "node_modules\n"),
            ]),
            crate::context::Memo::default(),
            std::sync::atomic::AtomicUsize::new(0),
        );
        for _ in 0..3 {
            for (dockerfile, excluded) in [
                ("Dockerfile", "node_modules"),
                ("api.Dockerfile", "dist"),
                ("web.Dockerfile", "node_modules"),
            ] {
                let rules = IgnoreRules::for_dockerfile(&kept, Some(dockerfile));
                assert_eq!(rules.status(excluded), Inclusion::Excluded, "{dockerfile}");
                assert_eq!(rules.status("src"), Inclusion::Included, "{dockerfile}");
            }
        }
        assert_eq!(kept.2.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
