//! The script of a plain body without tree-sitter: simple commands of plain words joined by
//! `&&` (`apt-get update && apt-get install -y curl`), which more than half of real RUN
//! bodies are. Parsing such a body with tree-sitter costs tens of thousands of instructions,
//! most of them fixed per parse; reading it here costs a scan.
//!
//! Anything else gets `None` and goes to tree-sitter: a byte outside a small set that has no
//! meaning to the shell beyond `*`/`?` globs (no quote, `$`, backslash, `[`, brace, tilde,
//! redirect, `;`, `|`, newline or tab), a lone `&`, a reserved or declaration word, an
//! assignment, or a command name that does not start with a letter, digit, `_`, `.` or `/`.
//! The result must equal tree-sitter's script exactly; debug builds check every body against
//! it, and the tests compare token sequences and every corpus body.

use super::model::{AndOr, Chain, Command, CommandContext, Script, Word};
use crate::text::JoinedRange;

/// Words that make tree-sitter-bash (with `==`, which it reads as a test operator) build something other than a simple command of words.
const SPECIAL_WORDS: &[&str] = &[
    "if", "then", "elif", "else", "fi", "for", "while", "until", "do", "done", "case", "esac",
    "in", "function", "select", "time", "coproc", "export", "declare", "local", "readonly",
    "typeset", "unset",
];

fn is_plain(byte: u8) -> bool {
    byte.is_ascii_alphanumeric()
        || matches!(
            byte,
            b'_' | b'.' | b'/' | b':' | b'@' | b'%' | b'+' | b',' | b'=' | b'-' | b'*' | b'?'
        )
}

/// The script of `text` when it is plain words and `&&` separated by spaces, else `None`.
pub(super) fn parse(text: &str) -> Option<Script> {
    let bytes = text.as_bytes();
    if !bytes.iter().all(|&b| b == b' ' || b == b'&' || is_plain(b)) {
        return None;
    }
    let mut commands: Vec<Command> = Vec::new();
    let mut operators = Vec::new();
    let mut words: Vec<Word> = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b' ' {
            at += 1;
            continue;
        }
        let start = at;
        while at < bytes.len() && bytes[at] != b' ' {
            at += 1;
        }
        let range = JoinedRange::from_usize(start, at);
        let token = &text[start..at];
        if token == "&&" {
            operators.push((AndOr::And, range));
            commands.push(command(&mut words)?);
        } else if token.contains('&') || token == "==" || SPECIAL_WORDS.contains(&token) {
            return None;
        } else {
            // A first word with `=` is an assignment, not a command name; tree-sitter-bash
            // drops a name such as `-` or `%` after `&&`.
            if words.is_empty()
                && (token.contains('=')
                    || !token.bytes().next().is_some_and(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/')
                    }))
            {
                return None;
            }
            words.push(Word {
                range,
                text: token.to_owned(),
                value: Some(token.to_owned()),
            });
        }
    }
    commands.push(command(&mut words)?);
    let range = JoinedRange::new(
        commands[0].range.start,
        commands[commands.len() - 1].range.end,
    );
    commands.shrink_to_fit();
    operators.shrink_to_fit();
    Some(Script {
        commands,
        chains: vec![Chain {
            range,
            operators,
            separator: None,
        }],
        functions: Vec::new(),
        ..Script::default()
    })
}

/// The command of the words read since the last `&&`; `None` when there are none.
fn command(words: &mut Vec<Word>) -> Option<Command> {
    let mut drained = words.drain(..);
    let name = drained.next()?;
    let args: Vec<Word> = drained.collect();
    let end = args.last().map_or(name.range.end, |w| w.range.end);
    Some(Command {
        range: JoinedRange::new(name.range.start, end),
        name: Some(name),
        args,
        assignments: Vec::new(),
        redirects: Vec::new(),
        context: CommandContext::default(),
        chain: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree_sitter(text: &str) -> Option<Script> {
        super::super::walk::parse_tree(text).ok()
    }

    #[test]
    fn plain_bodies_match_tree_sitter() {
        for text in [
            "apt-get update",
            "apt-get update && apt-get install -y pkg0 lib0-dev",
            "  pip install --no-cache-dir pkg0==1.0  ",
            "npm install && npm run build && rm -rf /tmp/x",
            "mkdir -p /usr/src/app",
            "rm -rf /var/lib/apt/lists/* /tmp/?.log",
            "a2enmod rewrite",
            "useradd -u 1000 -g 1000 app",
            "chown -R app:app /app",
            "curl -fsSL https://example.com/a.tar.gz -o /tmp/a.tar.gz",
            "go build -ldflags=-s -o /out/app ./cmd/app",
            "echo a,b%c@d+e",
            "pip install -r requirements.txt --index-url=https://x/simple",
            "ln -s /a /b && ln -sf /c/d.so.1 /e",
            "make -j4 && make install DESTDIR=/out PREFIX=/usr",
            "apk add --no-cache 1 2 3",
            "cmd --x= --=y =",
        ] {
            let fast = parse(text);
            assert!(fast.is_some(), "{text}");
            assert_eq!(fast, tree_sitter(text), "{text}");
        }
    }

    #[test]
    fn anything_else_goes_to_tree_sitter() {
        for text in [
            "",
            "   ",
            "A=1 make",
            "a && && b",
            "&& a",
            "a &&",
            "a & b",
            "a&&b",
            "export A=1",
            "unset A",
            "for x in a; do b; done",
            "echo 'a'",
            "echo $HOME",
            "echo ~/x",
            "echo {a,b}",
            "echo a > b",
            "a | b",
            "a || b",
            "a ; b",
            "a\nb",
            "a\tb",
            "ls [ab].txt",
            "[ -f x ]",
            "echo a\\ b",
            "time make",
            "test a == b",
            "x && - a=",
            ": && true",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }

    /// Every sequence of up to three tokens from a set of awkward ones: the fast path either
    /// declines or gives tree-sitter's script.
    #[test]
    fn token_sequences_match_tree_sitter() {
        let tokens = [
            "a", "&&", "==", "=", "=a", "a=", "a=b", "-", "--", "-f", "-eq", "1", "-1", "0x1", ":",
            ".", "%", "@", "+=", "a+=b", ",", "/x/y", "in", "do", "export", "a==b",
        ];
        let mut accepted = 0;
        for a in tokens {
            for b in tokens {
                for c in tokens {
                    for text in [
                        format!("{a} {b}"),
                        format!("{a} {b} {c}"),
                        format!("x {a} {b} {c}"),
                    ] {
                        if let Some(fast) = parse(&text) {
                            assert_eq!(Some(fast), tree_sitter(&text), "{text}");
                            accepted += 1;
                        }
                    }
                }
            }
        }
        assert!(accepted > 10_000, "{accepted}");
    }

    /// Every corpus RUN line this module reads gives tree-sitter's script.
    #[test]
    fn corpus_bodies_match_tree_sitter() {
        let dir = std::fs::read_dir("../shared/corpus/real").expect("the corpus at ../shared");
        let mut checked = 0;
        for entry in dir.flatten() {
            let Ok(text) = std::fs::read_to_string(entry.path()) else {
                continue;
            };
            let joined = text.replace("\\\n", " ");
            for line in joined.lines() {
                let Some(body) = line.trim_start().strip_prefix("RUN ") else {
                    continue;
                };
                if let Some(fast) = parse(body) {
                    assert_eq!(Some(fast), tree_sitter(body), "{body}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 1000, "{checked}");
    }
}
