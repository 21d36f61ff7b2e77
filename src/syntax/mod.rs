//! The lossless Dockerfile parser, following BuildKit's rules (shared/docs/parser.md).
//!
//! Every byte of the input belongs to exactly one item, and within an instruction to exactly
//! one token; printing the unchanged tree reproduces the input byte for byte.

mod instruction;
mod memo;
mod parse;
mod reparse;
mod stages;
mod words;
pub(crate) mod workdir;

pub use instruction::{Instruction, Mount};
pub(crate) use parse::parse_or_give_back;
pub use parse::{parse, parse_owned};
pub use stages::Stage;
pub(crate) use stages::Stages;

pub(crate) use instruction::segment_to_source;

use crate::text::TextRange;

/// A parse failure BuildKit would also report (the message follows BuildKit's wording).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub offset: u32,
    pub message: String,
}

/// A parsed Dockerfile: the source and its items, which tile the source in order.
#[derive(Debug, Clone)]
pub struct Dockerfile {
    pub source: String,
    /// The escape character: `\` or `` ` ``.
    pub escape: char,
    pub items: Vec<Item>,
    /// Whole-text facts the passes ask for per instruction, computed once.
    pub(crate) memo: memo::Memo,
}

/// A top-level item. Every item's range covers whole lines, line terminators included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// The UTF-8 byte-order mark at offset 0.
    Bom(TextRange),
    /// A parser directive line (`# escape=\``). Boxed: an item is then no larger than an
    /// instruction.
    Directive(Box<Directive>),
    /// A comment line outside any instruction.
    Comment(TextRange),
    /// An empty or whitespace-only line outside any instruction.
    Blank(TextRange),
    /// An instruction, from its first line to the end of its last line. Inline, not boxed:
    /// the other variants fit beside its niche, so an item is an instruction's 56 bytes,
    /// and a large file's tree (one instruction per line or two) is one allocation, not one
    /// per instruction beside a list of 16-byte items.
    Instruction(Instruction),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub range: TextRange,
    pub key: TextRange,
    pub value: TextRange,
}

/// Known instruction keywords; anything else is `Unknown` and kept verbatim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Keyword {
    Add,
    Arg,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    From,
    Healthcheck,
    Label,
    Maintainer,
    Onbuild,
    Run,
    Shell,
    Stopsignal,
    User,
    Volume,
    Workdir,
    Unknown,
}

impl Keyword {
    pub fn from_word(word: &str) -> Self {
        const TABLE: [(&str, Keyword); 18] = [
            ("ADD", Keyword::Add),
            ("ARG", Keyword::Arg),
            ("CMD", Keyword::Cmd),
            ("COPY", Keyword::Copy),
            ("ENTRYPOINT", Keyword::Entrypoint),
            ("ENV", Keyword::Env),
            ("EXPOSE", Keyword::Expose),
            ("FROM", Keyword::From),
            ("HEALTHCHECK", Keyword::Healthcheck),
            ("LABEL", Keyword::Label),
            ("MAINTAINER", Keyword::Maintainer),
            ("ONBUILD", Keyword::Onbuild),
            ("RUN", Keyword::Run),
            ("SHELL", Keyword::Shell),
            ("STOPSIGNAL", Keyword::Stopsignal),
            ("USER", Keyword::User),
            ("VOLUME", Keyword::Volume),
            ("WORKDIR", Keyword::Workdir),
        ];
        TABLE
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(word))
            .map_or(Keyword::Unknown, |&(_, k)| k)
    }

    /// The keyword's length in bytes (any case); `None` for `Unknown`.
    pub fn byte_len(self) -> Option<u32> {
        Some(match self {
            Keyword::Add | Keyword::Arg | Keyword::Cmd | Keyword::Env | Keyword::Run => 3,
            Keyword::Copy | Keyword::From | Keyword::User => 4,
            Keyword::Label | Keyword::Shell => 5,
            Keyword::Expose | Keyword::Volume => 6,
            Keyword::Onbuild | Keyword::Workdir => 7,
            Keyword::Entrypoint | Keyword::Maintainer | Keyword::Stopsignal => 10,
            Keyword::Healthcheck => 11,
            Keyword::Unknown => return None,
        })
    }

    /// Whether BuildKit looks for heredocs on this instruction's line.
    pub fn can_contain_heredoc(self) -> bool {
        matches!(self, Keyword::Run | Keyword::Copy | Keyword::Add)
    }
}

/// One piece of the joined text and where it came from: joined bytes
/// `[joined, joined + len)` are source bytes `[source, source + len)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub joined: u32,
    pub source: u32,
    pub len: u32,
}

/// A `--name[=value]` flag after the keyword.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// The whole flag word as written.
    pub range: TextRange,
    /// The name without the leading `--`.
    pub name: TextRange,
    /// The value after `=`, as written (quotes included).
    pub value: Option<TextRange>,
    /// The flag as BuildKit reads it: quotes removed (`--mount=type=cache`).
    pub text: String,
}

/// A word of the arguments: its source range only. Its text as written is
/// [`Instruction::word_text`]: the source's slice at `range`, except for the few words
/// whose text differs (a JSON string, a word across a line continuation), which their
/// instruction keeps. A large file's tree has about one word per instruction: a word is
/// 8 bytes, not 16 with a pointer to the rare text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word {
    pub range: TextRange,
}

/// One string of a JSON array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonElem {
    /// The string literal as written, quotes included.
    pub range: TextRange,
    /// The decoded value where it is not the literal's source text between the quotes (an
    /// escape, a continuation inside): rare, so behind a thin pointer (an element is 16
    /// bytes, not 32 with a `String`, and most have no text of their own).
    decoded: Option<Box<Box<str>>>,
}

impl JsonElem {
    /// The string literal at `range` of `source`, whose decoded value is `value`.
    pub(crate) fn new(range: TextRange, value: String, source: &str) -> Self {
        let inner = (range.start + 1) as usize..(range.end.saturating_sub(1)) as usize;
        let decoded =
            (source.get(inner) != Some(value.as_str())).then(|| Box::new(value.into_boxed_str()));
        JsonElem { range, decoded }
    }

    /// The literal at `range`, whose value is its source text between the quotes.
    pub(crate) fn literal(range: TextRange) -> Self {
        JsonElem {
            range,
            decoded: None,
        }
    }

    /// The decoded value; `source` is the file's.
    pub fn value<'a>(&'a self, source: &'a str) -> &'a str {
        match &self.decoded {
            Some(decoded) => decoded,
            None => TextRange::new(self.range.start + 1, self.range.end - 1).slice(source),
        }
    }
}

/// The arguments of an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Args {
    /// No arguments.
    None,
    /// A JSON string array (exec form): the array's source range (its elements are
    /// [`Instruction::json_elems`]).
    Json { range: TextRange },
    /// Shell form (or plain words): the arguments' source range (first to last non-blank
    /// byte, continuations inside); [`Instruction::shell_range`] gives its range in
    /// [`Instruction::line`].
    Shell { range: TextRange },
}

/// A Dockerfile heredoc (`<<EOF` … `EOF`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The `<<[-]['"]NAME['"]` word.
    pub marker: TextRange,
    pub name: String,
    /// `<<-`: leading tabs are stripped from the body and the terminator.
    pub chomp: bool,
    /// Any part of the delimiter was quoted, so the body is not expanded.
    pub quoted: bool,
    pub fd: u32,
    /// The body lines, terminators included (may be empty).
    pub body: TextRange,
    /// The terminator line, its line break included.
    pub terminator: TextRange,
    /// The body as BuildKit reads it (`\r` before each `\n` dropped).
    pub content: String,
}

/// What the bytes of an instruction are, in order; they tile [`Instruction::range`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Blanks before the keyword or between words.
    Whitespace,
    Keyword,
    Flag,
    /// Argument text (shell text, JSON, words).
    Args,
    /// The escape character, blanks after it and the line break.
    Continuation,
    /// A comment line inside a continuation, its line break included.
    Comment,
    /// An empty or blank line inside a continuation, its line break included.
    Blank,
    /// The line break that ends the instruction's last (non-heredoc) line.
    Newline,
    HeredocBody,
    HeredocTerminator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub range: TextRange,
}

impl Item {
    /// The instruction this item is, if it is one.
    pub fn instruction(&self) -> Option<&Instruction> {
        match self {
            Item::Instruction(i) => Some(i),
            _ => None,
        }
    }
}

impl Dockerfile {
    /// The file of `source` and the items parsed from it.
    fn new(source: String, escape: char, items: Vec<Item>) -> Self {
        Dockerfile {
            source,
            escape,
            items,
            memo: memo::Memo::default(),
        }
    }

    /// The instructions, in order (ONBUILD triggers are inside their ONBUILD). Cloneable: a
    /// walk can look ahead from where it is.
    pub fn instructions(&self) -> impl Iterator<Item = &Instruction> + Clone {
        self.items.iter().filter_map(Item::instruction)
    }

    /// The range an item covers.
    pub fn item_range(item: &Item) -> TextRange {
        match item {
            Item::Bom(r) | Item::Comment(r) | Item::Blank(r) => *r,
            Item::Directive(d) => d.range,
            Item::Instruction(i) => i.range,
        }
    }

    /// The text of `range`.
    pub fn slice(&self, range: TextRange) -> &str {
        range.slice(&self.source)
    }

    /// Every byte of the source, classified, in order: items outside instructions are one
    /// token each; instructions contribute their own tokens.
    pub fn tokens(&self) -> Vec<Token> {
        let mut out = Vec::new();
        for item in &self.items {
            match item {
                Item::Instruction(i) => out.extend(i.tokens()),
                Item::Bom(r) | Item::Blank(r) => out.push(Token {
                    kind: TokenKind::Whitespace,
                    range: *r,
                }),
                Item::Comment(r) => out.push(Token {
                    kind: TokenKind::Comment,
                    range: *r,
                }),
                Item::Directive(d) => out.push(Token {
                    kind: TokenKind::Comment,
                    range: d.range,
                }),
            }
        }
        out
    }

    /// Reassembles the source from its tokens (the identity on every input).
    pub fn print(&self) -> String {
        self.tokens()
            .iter()
            .map(|t| t.range.slice(&self.source))
            .collect()
    }
}
