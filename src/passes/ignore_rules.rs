//! `.dockerignore` as BuildKit reads it, enough to tell whether a path of the build context
//! reaches the builder: patterns are cleaned, a leading `/` dropped, `!` re-includes, the last
//! matching pattern wins, and a pattern that matches a parent directory matches its contents.
//! `*` and `?` stop at `/`, `**` crosses directories. A pattern this module does not model
//! (character classes, escapes) makes every answer [`Status::Unsure`].

/// Whether a context path is sent to the builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Included,
    Excluded,
    Unsure,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Char(char),
    /// `*`: any run of characters other than `/`.
    Star,
    /// `?`: one character other than `/`.
    Any,
    /// `**`: any run of characters.
    Stars,
    /// `**/`: nothing, or any run of characters ending in `/`.
    StarsSlash,
}

/// The patterns of one `.dockerignore`.
#[derive(Debug, Default)]
pub(crate) struct IgnoreRules {
    patterns: Vec<(bool, Vec<Token>)>,
    unsure: bool,
}

impl IgnoreRules {
    /// Reads the text of a `.dockerignore`.
    pub(crate) fn parse(text: &str) -> Self {
        let mut rules = Self::default();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (exclusion, pattern) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let cleaned = clean(pattern);
            if cleaned.contains(['[', '\\']) {
                rules.unsure = true;
                continue;
            }
            rules.patterns.push((exclusion, compile(&cleaned)));
        }
        rules
    }

    /// Rules about which nothing is known (an unreadable `.dockerignore`).
    pub(crate) fn unknown() -> Self {
        Self {
            patterns: Vec::new(),
            unsure: true,
        }
    }

    /// Whether `path` (cleaned, relative to the context root) reaches the builder.
    pub(crate) fn status(&self, path: &str) -> Status {
        if self.unsure {
            return Status::Unsure;
        }
        let parts: Vec<&str> = path.split('/').collect();
        let mut excluded = false;
        for (exclusion, tokens) in &self.patterns {
            if *exclusion != excluded {
                continue;
            }
            let hit = (1..=parts.len()).any(|n| {
                let candidate: Vec<char> = parts[..n].join("/").chars().collect();
                matches(tokens, &candidate)
            });
            if hit {
                excluded = !exclusion;
            }
        }
        if excluded {
            Status::Excluded
        } else {
            Status::Included
        }
    }
}

/// Go's `filepath.Clean` for slash paths, then without a leading `/` (BuildKit's cleaning).
fn clean(pattern: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in pattern.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

fn compile(pattern: &str) -> Vec<Token> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                while chars.get(i) == Some(&'*') {
                    i += 1;
                }
                if chars.get(i) == Some(&'/') {
                    i += 1;
                    out.push(Token::StarsSlash);
                } else {
                    out.push(Token::Stars);
                }
                continue;
            }
            '*' => out.push(Token::Star),
            '?' => out.push(Token::Any),
            c => out.push(Token::Char(c)),
        }
        i += 1;
    }
    out
}

/// Whether `tokens` match the whole of `text` (backtracking; paths and patterns are short).
fn matches(tokens: &[Token], text: &[char]) -> bool {
    let Some((first, rest)) = tokens.split_first() else {
        return text.is_empty();
    };
    match first {
        Token::Char(c) => text.first() == Some(c) && matches(rest, &text[1..]),
        Token::Any => text.first().is_some_and(|c| *c != '/') && matches(rest, &text[1..]),
        Token::Star => {
            for n in 0..=text.len() {
                if matches(rest, &text[n..]) {
                    return true;
                }
                if text.get(n) == Some(&'/') {
                    break;
                }
            }
            false
        }
        Token::Stars => (0..=text.len()).any(|n| matches(rest, &text[n..])),
        Token::StarsSlash => {
            matches(rest, text)
                || (1..=text.len()).any(|n| text[n - 1] == '/' && matches(rest, &text[n..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buildkit_rules() {
        let r = IgnoreRules::parse(
            "# comment\nnode_modules\n/dist/\n*.log\n**/secret.txt\ndocs\n!docs/keep.md\n",
        );
        assert_eq!(r.status("node_modules"), Status::Excluded);
        assert_eq!(r.status("node_modules/x/package.json"), Status::Excluded);
        assert_eq!(r.status("web/node_modules"), Status::Included);
        assert_eq!(r.status("dist/a.js"), Status::Excluded);
        assert_eq!(r.status("npm-debug.log"), Status::Excluded);
        assert_eq!(r.status("sub/npm-debug.log"), Status::Included);
        assert_eq!(r.status("a/b/secret.txt"), Status::Excluded);
        assert_eq!(r.status("secret.txt"), Status::Excluded);
        assert_eq!(r.status("docs/keep.md"), Status::Included);
        assert_eq!(r.status("docs/other.md"), Status::Excluded);
        assert_eq!(r.status("package.json"), Status::Included);
        let all = IgnoreRules::parse("*\n!package.json\n");
        assert_eq!(all.status("package.json"), Status::Included);
        assert_eq!(all.status("package-lock.json"), Status::Excluded);
        assert_eq!(
            IgnoreRules::parse("[a-z].txt\n").status("x"),
            Status::Unsure
        );
    }
}
