//! The script of a plain body without tree-sitter: `;`-separated lists of pipelines of simple
//! commands joined by `&&`/`||` (`set -ex; apt-get update && curl -fsSL "$URL" | tar -xz >
//! /dev/null 2>&1`), which most real RUN bodies are. Parsing such a body with tree-sitter costs
//! tens of thousands of instructions, most of them fixed per parse; reading it here costs a scan.
//!
//! Words are plain bytes (`*`/`?` globs and `~` included), `'…'`, `"…"` without backslash,
//! backtick or `!`, and `$NAME`/`${NAME}`; `NAME=value` words may precede the command name;
//! redirects are `>`, `>>`, `<` with a target word and `N>&M`, after the command name. A
//! chain element may also be a brace group `{ …; }` of such lists (not nested, not piped, no
//! redirect), and a command may be a one-letter test `[ -e WORD ]` or `[ ! -e WORD ]`: the
//! shape of dfrewrite's own apt cache-mount rewrite.
//! Anything else gets `None` and goes to tree-sitter: other expansions, backslashes,
//! brackets, braces, a tilde in an assignment, `#`, newlines, a lone `&`, heredocs, `&&`/`||`
//! without blanks around them, a reserved or declaration word, a bare assignment, an odd
//! command name, and the shapes where tree-sitter-bash 0.25.1 builds a tree that differs from
//! the shell's reading (each is named where it is declined). The result must equal
//! tree-sitter's script exactly; debug builds check every body against it, and the tests
//! compare token sequences and every corpus body.

use super::model::{
    AndOr, ChainParts, Command, CommandContext, Script, ScriptParts, Separator, Word,
};
use crate::text::JoinedRange;

/// Words that make tree-sitter-bash (with `==`, which it reads as a test operator) build something other than a simple command of words.
const SPECIAL_WORDS: &[&str] = &[
    "if", "then", "elif", "else", "fi", "for", "while", "until", "do", "done", "case", "esac",
    "in", "function", "select", "time", "coproc", "export", "declare", "local", "readonly",
    "typeset", "unset", "==",
];

fn is_plain(byte: u8) -> bool {
    byte.is_ascii_alphanumeric()
        || matches!(
            byte,
            b'_' | b'.' | b'/' | b':' | b'@' | b'%' | b'+' | b',' | b'=' | b'-' | b'*' | b'?'
        )
}

fn is_name_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_'
}

fn is_name(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// The script of `text` when it is one of the shapes this module reads, else `None`.
pub(super) fn parse(text: &str) -> Option<Script> {
    let mut reader = Reader {
        text,
        bytes: text.as_bytes(),
        at: 0,
        script: ScriptParts::default(),
        words: Vec::new(),
        assignments: Vec::new(),
        redirects: Vec::new(),
        pipeline: 0,
        chain_start: None,
        last_end: 0,
        brace: false,
        brace_ready: false,
        closed_brace: false,
    };
    reader.script()?;
    Some(reader.script.finish())
}

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    script: ScriptParts,
    /// The words and redirects of the command being read.
    words: Vec<Word>,
    assignments: Vec<Word>,
    redirects: Vec<JoinedRange>,
    /// Index in `script.commands` of the first command of the current pipeline.
    pipeline: usize,
    /// Operators of the chain being read, and where it starts.
    chain_start: Option<(u32, Vec<(AndOr, JoinedRange)>)>,
    /// Where the last command or brace group read ends.
    last_end: u32,
    /// Inside `{ …; }`; `brace_ready` once a `;` allows the `}`.
    brace: bool,
    brace_ready: bool,
    /// A `{ …; }` just closed: the current element, with no command of its own.
    closed_brace: bool,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    /// Lists of pipelines of simple commands, joined by `&&`/`||` and separated by `;`.
    fn script(&mut self) -> Option<()> {
        loop {
            self.skip_blanks();
            let Some(byte) = self.peek() else {
                return self.end_chain(None);
            };
            let start = self.at;
            match byte {
                b'&' | b'|' if self.bytes.get(start + 1) == Some(&byte) => {
                    self.at += 2;
                    // tree-sitter-bash fails `a&&b%`: only blank-separated operators.
                    let blank = |b: Option<&u8>| matches!(b, Some(b' ' | b'\t'));
                    if !blank(self.bytes.get(self.at))
                        || start == 0
                        || !blank(self.bytes.get(start - 1))
                    {
                        return None;
                    }
                    self.end_element()?;
                    self.end_pipeline();
                    let op = if byte == b'&' { AndOr::And } else { AndOr::Or };
                    let range = JoinedRange::from_usize(start, self.at);
                    let operators = &mut self.chain_start.as_mut()?.1;
                    // Inside braces they belong to no top-level chain.
                    if !self.brace {
                        operators.push((op, range));
                    }
                }
                b'|' => {
                    self.at += 1;
                    // tree-sitter-bash reads `a && b >f | c` as `(a && b >f) | c`.
                    if matches!(self.peek(), Some(b'&'))
                        || self.closed_brace
                        || (!self.redirects.is_empty()
                            && self
                                .chain_start
                                .as_ref()
                                .is_some_and(|(_, ops)| !ops.is_empty()))
                    {
                        return None;
                    }
                    self.end_command()?;
                }
                b';' => {
                    self.at += 1;
                    if matches!(self.peek(), Some(b';' | b'&')) {
                        return None;
                    }
                    if self.brace {
                        self.end_command()?;
                        self.end_pipeline();
                        self.brace_ready = true;
                        continue;
                    }
                    self.end_element()?;
                    self.end_pipeline();
                    self.end_chain(Some((
                        Separator::Semicolon,
                        JoinedRange::from_usize(start, self.at),
                    )))?;
                    self.skip_blanks();
                    if self.peek().is_none() {
                        return Some(());
                    }
                }
                b'>' | b'<' if !self.closed_brace => self.redirect(start)?,
                b'{' if self.blank_after(start) => self.open_brace(start)?,
                b'}' if self.brace && self.brace_ready && self.words.is_empty() => {
                    self.at += 1;
                    if !matches!(self.peek(), None | Some(b' ' | b'\t' | b';')) {
                        return None;
                    }
                    self.brace = false;
                    self.brace_ready = false;
                    self.closed_brace = true;
                    self.last_end = crate::text::to_u32(self.at);
                }
                b'[' if self.blank_after(start) => self.test(start)?,
                _ => {
                    if self.closed_brace {
                        return None;
                    }
                    self.brace_ready = false;
                    let word = self.word()?;
                    match self.peek() {
                        // `2>&1`: a descriptor; any other word directly before `>` is declined.
                        Some(b'>' | b'<') => {
                            // tree-sitter-bash drops a `-` argument before `2>f`.
                            if !word.text.bytes().all(|b| b.is_ascii_digit())
                                || self.words.last().is_some_and(|w| &*w.text == "-")
                            {
                                return None;
                            }
                            self.redirect(start)?;
                        }
                        None | Some(b' ' | b'\t' | b';' | b'|' | b'&') => self.push_word(word)?,
                        _ => return None,
                    }
                }
            }
        }
    }

    fn push_word(&mut self, word: Word) -> Option<()> {
        if self.words.is_empty() {
            let bytes = word.text.as_bytes();
            // `NAME=value` before the command name is an assignment.
            if let Some(eq) = word.text.find('=')
                && eq > 0
                && is_name_start(bytes[0])
                && bytes[..eq].iter().all(|&b| is_name(b))
            {
                // Tildes after `=` or `:` expand in an assignment: declined.
                if !self.redirects.is_empty() || word.text.contains('~') {
                    return None;
                }
                self.assignments.push(word);
                return Some(());
            }
            // Any other first word with `=` is declined; tree-sitter-bash drops a name such
            // as `-` or `%` after `&&`, fails `a%` or `a@`, and reads `export$A` as
            // `export $A` (so `$` only at the start); a redirect first is declined.
            if !self.redirects.is_empty()
                || word.text.get(1..).is_some_and(|rest| rest.contains('$'))
                || !(bytes[0].is_ascii_alphanumeric()
                    || matches!(bytes[0], b'_' | b'.' | b'/' | b'$'))
                || !bytes.iter().all(|&b| {
                    b.is_ascii_alphanumeric()
                        || matches!(
                            b,
                            b'_' | b'.' | b'/' | b'-' | b'+' | b':' | b'$' | b'{' | b'}'
                        )
                })
            {
                return None;
            }
        }
        // tree-sitter-bash drops a leading `==` before an expansion (`==$A`) and fails a word
        // starting `=~`.
        if word.text.starts_with("==")
            || word.text.starts_with("=~")
            || SPECIAL_WORDS.contains(&&*word.text)
            || word
                .value
                .as_deref()
                .is_some_and(|v| SPECIAL_WORDS.contains(&v))
        {
            return None;
        }
        self.words.push(word);
        Some(())
    }

    /// `>`, `>>`, `<` and a target word, or `>&` and a descriptor number; `start` is where
    /// the redirect (its descriptor, if any) starts.
    fn redirect(&mut self, start: usize) -> Option<()> {
        if self.words.is_empty() {
            return None;
        }
        let op = self.peek()?;
        self.at += 1;
        let end = if op == b'>' && self.peek() == Some(b'&') {
            self.at += 1;
            let digits = self.at;
            while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                self.at += 1;
            }
            if self.at == digits {
                return None;
            }
            self.at
        } else {
            if op == b'>' && self.peek() == Some(b'>') {
                self.at += 1;
            }
            self.skip_blanks();
            let target = self.word()?;
            target.range.end as usize
        };
        if !matches!(self.peek(), None | Some(b' ' | b'\t' | b';' | b'|' | b'&')) {
            return None;
        }
        self.redirects.push(JoinedRange::from_usize(start, end));
        Some(())
    }

    /// One word: plain bytes, `'…'`, `"…"` without backslash, backtick or `!`, and
    /// `$NAME`/`${NAME}` (which make its value unknown).
    fn word(&mut self) -> Option<Word> {
        let start = self.at;
        let mut value = String::new();
        let mut known = true;
        while let Some(byte) = self.peek() {
            match byte {
                b'\'' => {
                    let inner = self.at + 1;
                    let close = inner + self.bytes[inner..].iter().position(|&b| b == b'\'')?;
                    let quoted = &self.text[inner..close];
                    if quoted.contains(['\n', '\r']) {
                        return None;
                    }
                    value.push_str(quoted);
                    self.at = close + 1;
                }
                b'"' => {
                    let inner = self.at + 1;
                    self.at = inner;
                    loop {
                        match self.peek()? {
                            b'"' => break,
                            b'$' => {
                                self.expansion()?;
                                known = false;
                            }
                            b'\\' | b'`' | b'!' | b'\n' | b'\r' => return None,
                            _ => self.at += 1,
                        }
                    }
                    value.push_str(&self.text[inner..self.at]);
                    self.at += 1;
                }
                b'$' => {
                    let quoted_before = value.len() != self.at - start;
                    let braced = self.expansion()?;
                    // tree-sitter-bash splits `$A/b$B.c` after the second `$`: an unbraced
                    // expansion after another expansion or quote must end the word.
                    if !braced
                        && (!known || quoted_before)
                        && self
                            .peek()
                            .is_some_and(|b| is_plain(b) || matches!(b, b'$' | b'\'' | b'"'))
                    {
                        return None;
                    }
                    known = false;
                }
                _ if is_plain(byte) || byte == b'~' => {
                    value.push(char::from(byte));
                    self.at += 1;
                }
                _ => break,
            }
        }
        if self.at == start {
            return None;
        }
        let text = &self.text[start..self.at];
        // A leading unquoted `~` is a tilde expansion.
        if text.starts_with('~') {
            known = false;
        }
        Some(Word {
            range: JoinedRange::from_usize(start, self.at),
            text: text.into(),
            value: known.then(|| value.into()),
        })
    }

    /// `$NAME` or `${NAME}` at the reader; whether it was braced.
    fn expansion(&mut self) -> Option<bool> {
        self.at += 1;
        let braced = self.peek() == Some(b'{');
        if braced {
            self.at += 1;
        }
        if !self.peek().is_some_and(is_name_start) {
            return None;
        }
        while self.peek().is_some_and(is_name) {
            self.at += 1;
        }
        if braced {
            if self.peek() != Some(b'}') {
                return None;
            }
            self.at += 1;
        }
        Some(braced)
    }

    fn blank_after(&self, at: usize) -> bool {
        matches!(self.bytes.get(at + 1), Some(b' ' | b'\t'))
    }

    /// Closes the current element: a command, or a brace group already closed.
    fn end_element(&mut self) -> Option<()> {
        if self.closed_brace {
            self.closed_brace = false;
            return Some(());
        }
        self.end_command()
    }

    /// `{` at the start of a top-level chain element (not in a pipeline, not nested).
    fn open_brace(&mut self, start: usize) -> Option<()> {
        if self.brace
            || self.closed_brace
            || !self.words.is_empty()
            || !self.assignments.is_empty()
            || !self.redirects.is_empty()
            || self.pipeline != self.script.commands.len()
        {
            return None;
        }
        if self.chain_start.is_none() {
            self.chain_start = Some((crate::text::to_u32(start), Vec::new()));
        }
        self.brace = true;
        self.brace_ready = false;
        self.at += 1;
        Some(())
    }

    /// `[ -e WORD ]` or `[ ! -e WORD ]` (any one-letter test) as a whole command; `&&`, `||`,
    /// `;` or the end must follow.
    fn test(&mut self, start: usize) -> Option<()> {
        if self.closed_brace || !self.words.is_empty() || !self.assignments.is_empty() {
            return None;
        }
        let fixed = |from: usize, text: &str| Word {
            range: JoinedRange::from_usize(from, from + 1),
            text: text.into(),
            value: Some(text.into()),
        };
        self.brace_ready = false;
        self.words.push(fixed(start, "["));
        self.at += 1;
        self.skip_blanks();
        if self.peek() == Some(b'!') && self.blank_after(self.at) {
            self.words.push(fixed(self.at, "!"));
            self.at += 1;
            self.skip_blanks();
        }
        let op = self.word()?;
        let op_bytes = op.text.as_bytes();
        if op_bytes.len() != 2 || op_bytes[0] != b'-' || !op_bytes[1].is_ascii_lowercase() {
            return None;
        }
        self.words.push(op);
        self.skip_blanks();
        let operand = self.word()?;
        if operand.value.is_none() || operand.text.starts_with('-') {
            return None;
        }
        self.words.push(operand);
        self.skip_blanks();
        if self.peek() != Some(b']') {
            return None;
        }
        self.words.push(fixed(self.at, "]"));
        self.at += 1;
        self.skip_blanks();
        match self.peek() {
            None | Some(b';') => Some(()),
            Some(b'&' | b'|') if self.bytes.get(self.at + 1) == self.peek().as_ref() => Some(()),
            _ => None,
        }
    }

    /// Closes the command read since the last operator; `None` when it has no words.
    fn end_command(&mut self) -> Option<()> {
        let mut drained = self.words.drain(..);
        // Bare assignments (no command name) are declined.
        let name = drained.next()?;
        let args: Vec<Word> = drained.collect();
        let redirects = std::mem::take(&mut self.redirects);
        let assignments = std::mem::take(&mut self.assignments);
        let end = args
            .iter()
            .map(|w| w.range.end)
            .chain(redirects.iter().map(|r| r.end))
            .fold(name.range.end, std::cmp::max);
        let start = assignments
            .first()
            .map_or(name.range.start, |w| w.range.start);
        self.last_end = end;
        if self.chain_start.is_none() {
            self.chain_start = Some((start, Vec::new()));
        }
        let chain = self.script.chains.len();
        self.script.commands.push(Command {
            range: JoinedRange::new(start, end),
            name: Some(name),
            args: args.into(),
            assignments: assignments.into(),
            redirects: redirects.into(),
            context: CommandContext {
                in_brace_group: self.brace,
                ..CommandContext::default()
            },
            chain,
        });
        Some(())
    }

    /// Marks the commands of the pipeline just closed when there are two or more.
    fn end_pipeline(&mut self) {
        let commands = &mut self.script.commands[self.pipeline..];
        if commands.len() > 1 {
            for command in commands {
                command.context.in_pipeline = true;
            }
        }
        self.pipeline = self.script.commands.len();
    }

    fn end_chain(&mut self, separator: Option<(Separator, JoinedRange)>) -> Option<()> {
        if separator.is_none() {
            if self.brace {
                return None;
            }
            self.end_element()?;
            self.end_pipeline();
        }
        let (start, operators) = self.chain_start.take()?;
        let end = self.last_end;
        self.script.chains.push(ChainParts {
            range: JoinedRange::new(start, end),
            operators,
            separator,
        });
        Some(())
    }
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
            "A=1 make",
            "apt-get update && DEBIAN_FRONTEND=noninteractive A='x y' B=$C apt-get install -y a",
            "$INST_SCRIPTS/x.sh ${A}/b",
            "cp a ~/x ~ a~b '~' --prefix=~/x",
            "{ [ ! -e /etc/apt/apt.conf.d/docker-clean ] || mv /etc/apt/apt.conf.d/docker-clean /etc/apt/; } && apt-get update && apt-get install --no-install-recommends -y pkg0 lib0-dev && { [ ! -e /etc/apt/docker-clean ] || mv /etc/apt/docker-clean /etc/apt/apt.conf.d/; }",
            "[ -f x ] && { a | b; c; }; d",
            "echo 'a'",
            "echo $HOME",
            "echo a > b",
            "a | b",
            "a || b",
            "a ; b",
            "a\tb",
            "set -ex; apt-get update && apt-get install -y curl > /dev/null 2>&1",
            "curl -fsSL \"${URL}/x.tgz\" | tar -xz -C /opt && rm -f x",
            "echo \"$A\"'b c'\"\"'' >> /etc/x.conf; cat /etc/x.conf",
            "make >&2 || true",
            "a 2>/dev/null -y b; c < in.txt",
            "cd $HOME/${APP}_dir;",
            "grep -q a f || echo b|sort",
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
            "a && && b",
            "&& a",
            "a &&",
            "a & b",
            "export A=1",
            "unset A",
            "for x in a; do b; done",
            "A=~/x b",
            "~/x b",
            "echo {a,b}",
            "a\nb",
            "ls [ab].txt",
            "[ -f x ] y",
            "[ x ]",
            "{ a; } b",
            "{ a; } | b",
            "a | { b; }",
            "{ a; }> f",
            "{ { a; }; }",
            "{ a }",
            "{ a; ",
            "echo a\\ b",
            "time make",
            "test a == b",
            "x && - a=",
            "A=1",
            "A=1 && b",
            "A=1 > f b",
            ": && true",
            "a ;; b",
            "a ; ; b",
            "; a",
            "a | | b",
            "a |& b",
            "a &> f",
            "a >| f",
            "a << EOF",
            "a <<< x",
            "a >& f",
            "> f a",
            "2>&1 a",
            "a b>f",
            "echo $1",
            "echo ${A:-b}",
            "echo \"a\\b\"",
            "echo \"`a`\"",
            "echo \"a!\"",
            "echo 'a",
            "echo \"a",
            "echo a#b",
            "export$A",
            "a$A b",
            "x ==$A",
            "x $A/b$B.c",
            "x \"$A\"/b$B.c",
            "a - 2>&1",
            "a&&b",
            "x && a%",
            "a@ b",
            "a && b > f | c",
            "'a' b",
            "a 'in'",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }

    /// Every sequence of up to three tokens from a set of awkward ones: the fast path either
    /// declines or gives tree-sitter's script.
    #[test]
    fn token_sequences_match_tree_sitter() {
        let tokens = [
            "a",
            "&&",
            "==",
            "=",
            "=a",
            "a=",
            "a=b",
            "-",
            "--",
            "-f",
            "1",
            "-1",
            ":",
            ".",
            "%",
            "@",
            "+=",
            ",",
            "/x/y",
            "in",
            "export",
            "a==b",
            "||",
            "|",
            ";",
            ">",
            ">>",
            "<",
            "2>&1",
            ">&2",
            "2>",
            ">/dev/null",
            "$A",
            "${A}",
            "\"$A\"",
            "'a b'",
            "''",
            "\"\"",
            "\"a\"",
            "'=='",
            "a'b'",
            "\"a=b\"",
            "$A=b",
            "\t",
            "$A.c",
            "a$A",
            "${A}.c",
            "'a'$A.c",
            "a&&b",
            "\"a b;c|d&e>f#g~{h}*[i](j)'\"",
            "'$A \\ \"x\" `y` !z ;'",
            "\"$A\"x",
            "\"a$A.b$B.c\"",
            "\"${A}$B\"",
            "'a'\"b\"",
            "$A_B",
            "${A}$B",
            "\"é\t\"",
            "a-",
        ];
        // Newer shapes: every sequence of up to three of these, and each beside every token above.
        let newer = [
            "A=1",
            "A=$B",
            "A='x y'",
            "A=",
            "$A/b",
            "A+=1",
            "_a=b",
            "${A}/b",
            "A=a$B.c",
            "~",
            "~/x",
            "a~b",
            "~a",
            "'~'",
            "a=~/x",
            "--prefix=~/x:~/y",
            "A=~/x",
            "=~",
            "{",
            "}",
            "a;",
            "[",
            "]",
            "!",
            "-e",
            "[ -e a ]",
            "{ a;",
            "[ ! -f a ]",
        ];
        let mut accepted = 0;
        let mut check = |text: String| {
            if let Some(fast) = parse(&text) {
                assert_eq!(Some(fast), tree_sitter(&text), "{text}");
                accepted += 1;
            }
        };
        for set in [&tokens[..], &newer[..]] {
            for a in set {
                for b in set {
                    for c in set {
                        check(format!("{a} {b}"));
                        check(format!("{a} {b} {c}"));
                        check(format!("x {a} {b} {c}"));
                        check(format!("x {a}{b} {c}"));
                        check(format!("x {a} {b}{c}"));
                    }
                }
            }
        }
        for a in tokens {
            for b in newer {
                for text in [
                    format!("{a} {b}"),
                    format!("{b} {a}"),
                    format!("x {a} {b}"),
                    format!("x {b} {a}"),
                    format!("{b} {a} ; }}"),
                    format!("a && {b} {a} x"),
                    format!("{b} || a {a} x"),
                    format!("{{ a; }} {a} {b} x"),
                    format!("{b} x; }} {a} x"),
                    format!("{{ {b} && a; }} {a} x"),
                    format!("{{ a || {b}; }}"),
                ] {
                    check(text);
                }
            }
        }
        assert!(accepted > 10_000, "{accepted}");
    }

    /// Every POSIX shell-form RUN body of the corpus (`BuildKit`'s joined text), in file order.
    fn corpus_bodies() -> Vec<String> {
        let mut paths: Vec<_> = std::fs::read_dir("../shared/corpus/real")
            .expect("the corpus at ../shared")
            .flatten()
            .map(|e| e.path())
            .collect();
        paths.sort();
        let mut bodies = Vec::new();
        for path in paths {
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Ok(file) = crate::syntax::parse(&text) else {
                continue;
            };
            let posix = crate::shell::posix_shells(&file);
            for (ins, posix) in file.instructions().zip(posix) {
                let _ = crate::shell::run_script_using(ins, &file.source, posix, |body| {
                    bodies.push(body.to_owned());
                    Err(crate::shell::Opaque::TooDeep)
                });
            }
        }
        bodies
    }

    /// Every corpus RUN body this module reads gives tree-sitter's script.
    #[test]
    fn corpus_bodies_match_tree_sitter() {
        let bodies = corpus_bodies();
        let mut checked = 0;
        for body in &bodies {
            if let Some(fast) = parse(body) {
                assert_eq!(Some(fast), tree_sitter(body), "{body}");
                checked += 1;
            }
        }
        assert!(checked > 6700, "{checked} of {}", bodies.len());
    }
}
