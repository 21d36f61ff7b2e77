//! `.dockerignore` patterns as BuildKit reads them (moby/patternmatcher): Go `filepath.Match`
//! syntax (`*`, `?`, `[…]`, `\`) plus `**` for any number of directories, `!` exceptions,
//! patterns cleaned and a leading `/` dropped, and a pattern that matches a directory
//! excluding everything under it. The last pattern that matches a path decides.

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
}
