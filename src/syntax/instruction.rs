//! One instruction: its tokens and typed view, the map from its joined line back to the
//! source, and the views passes read (`FROM` parts, flags, `COPY`/`ADD` paths, mounts).

use super::{Args, Flag, Heredoc, JsonElem, Keyword, Segment, Token, TokenKind, Word};
use crate::text::TextRange;

/// An instruction with its typed view. Lists are boxed slices and the rarely present parts
/// share one box: a large file's tree holds one instruction per line or two.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Whole lines, from the first line's start to the end of the last line (heredoc bodies
    /// and terminators included), line break included.
    pub range: TextRange,
    /// Where the keyword starts, from `range.start`; its length follows from `kind`
    /// ([`Self::keyword`]). [`KEYWORD_KEPT`] when it does not (an unknown keyword, an
    /// indent of 64 KiB): the range is then in `Rarer` (an instruction is then 56 bytes,
    /// not 64, and a large file has one per line or two).
    pub(super) keyword_at: u16,
    pub kind: Keyword,
    /// BuildKit's `json` attribute: exec form (for HEALTHCHECK, of its `CMD`).
    pub json: bool,
    /// 1-based first line, as BuildKit numbers them ([`Self::end_line`] gives the last).
    pub start_line: u32,
    pub args: Args,
    /// The arguments split into words as BuildKit splits them (quotes kept). Empty for RUN,
    /// CMD, ENTRYPOINT and SHELL (outside ONBUILD) in shell form, whose words no pass reads
    /// (a large file's tree would hold a second copy of every shell body):
    /// [`Self::split_words`] gives them. In exec form ([`Args::Json`]) they are the JSON
    /// strings' literals, except for a RUN, CMD, ENTRYPOINT or SHELL with a string whose
    /// decoded value is not its source text (an escape): where none has one, the strings
    /// are read from the words ([`Self::json_elems`]), and a one-line exec-form CMD needs
    /// no `Rare`.
    pub words: Box<[Word]>,
    /// The length of the joined line ([`Self::line`]): 0 for none (an ONBUILD trigger, an
    /// empty instruction).
    pub(super) line_len: u32,
    /// Flags, the segments, line and tokens of a multi-line instruction, heredocs and the
    /// ONBUILD trigger, when there are any.
    pub(super) rare: Option<Box<Rare>>,
}

/// A token without its end, which is the next token's start (or the instruction's end): a
/// large file has several per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TokenStart {
    pub(super) start: u32,
    pub(super) kind: TokenKind,
}

/// The parts few instructions have: those of a multi-line instruction or a JSON array
/// inline, the rarer ones behind one more box (a large file's multi-line RUNs then take
/// 64 bytes each here, not 112).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Rare {
    /// Map from [`Instruction::line`] offsets back to the source; empty when it is the one
    /// segment from the keyword on (a one-line instruction): [`Instruction::segments`].
    pub(super) segments: Box<[Segment]>,
    /// The joined line, kept when there are `segments` (otherwise it is the source from
    /// the keyword on).
    pub(super) line: Box<str>,
    /// The strings of [`Args::Json`].
    pub(super) elems: Box<[JsonElem]>,
    /// [`Instruction::end_line`], kept with the rest (an instruction without `Rare` ends on
    /// its first line).
    pub(super) end_line: u32,
    pub(super) rarer: Option<Box<Rarer>>,
}

/// The parts fewer instructions still have.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Rarer {
    /// Every byte of [`Instruction::range`], classified: each token's kind and start (it
    /// ends where the next starts); [`Instruction::tokens`] gives them whole. Empty when
    /// they follow from the keyword, flag and argument ranges and the segments (all but a
    /// multi-line instruction with a comment line inside, a heredoc, or the text ending in
    /// a continuation): here, not in `Rare`, which a large file's multi-line instructions
    /// all have.
    pub(super) tokens: Box<[TokenStart]>,
    pub(super) flags: Box<[Flag]>,
    pub(super) heredocs: Box<[Heredoc]>,
    pub(super) trigger: Option<Box<Instruction>>,
    /// [`Instruction::keyword`] when `keyword_at` cannot give it.
    pub(super) keyword: Option<TextRange>,
    /// The texts of the words whose text is not the source's slice at their range (a word
    /// across a line continuation), by word index ([`Instruction::word_text`]).
    pub(super) written: Box<[(u32, Box<str>)]>,
}

/// `keyword_at`'s value for a keyword kept in `Rarer`.
const KEYWORD_KEPT: u16 = u16::MAX;

impl Instruction {
    /// The keyword's source range.
    pub fn keyword(&self) -> TextRange {
        match self.kind.byte_len() {
            Some(len) if self.keyword_at != KEYWORD_KEPT => {
                let start = self.range.start + u32::from(self.keyword_at);
                TextRange::new(start, start + len)
            }
            _ => self.rarer().and_then(|r| r.keyword).unwrap_or_default(),
        }
    }

    /// Sets the keyword's range (after `range`, which it is kept relative to).
    pub(super) fn set_keyword(&mut self, keyword: TextRange) {
        let at = keyword
            .start
            .checked_sub(self.range.start)
            .and_then(|at| u16::try_from(at).ok())
            .filter(|&at| at != KEYWORD_KEPT && self.kind.byte_len() == Some(keyword.len()));
        if let Some(at) = at {
            self.keyword_at = at;
            if let Some(rarer) = self.rare.as_mut().and_then(|r| r.rarer.as_mut()) {
                rarer.keyword = None;
            }
        } else {
            self.keyword_at = KEYWORD_KEPT;
            self.rare_mut().rarer.get_or_insert_default().keyword = Some(keyword);
        }
    }

    /// Sets `range`, the keyword staying where it is in the source.
    pub(super) fn set_range(&mut self, range: TextRange) {
        let keyword = self.keyword();
        self.range = range;
        self.set_keyword(keyword);
    }

    /// The 1-based last line, as BuildKit numbers them (heredoc terminators included).
    pub fn end_line(&self) -> u32 {
        self.rare.as_ref().map_or(self.start_line, |r| r.end_line)
    }

    /// The joined line (continuations and interior comment lines removed), from the keyword;
    /// `source` is the file's. A one-line instruction's is a slice of the source, not a copy
    /// (a large file has one per line or two). Empty for an ONBUILD trigger, whose arguments
    /// are in its ONBUILD's line.
    pub fn line<'a>(&'a self, source: &'a str) -> &'a str {
        if self.stored_segments().is_empty() {
            let start = self.keyword().start as usize;
            source
                .get(start..start + self.line_len as usize)
                .unwrap_or_default()
        } else {
            self.rare.as_ref().map_or("", |r| &r.line)
        }
    }

    /// Map from [`Self::line`] offsets back to the source, in order.
    pub fn segments(&self) -> std::borrow::Cow<'_, [Segment]> {
        match self.implicit_segment() {
            Some(one) => std::borrow::Cow::Owned(vec![one]),
            None => std::borrow::Cow::Borrowed(self.stored_segments()),
        }
    }

    /// The one segment not stored: the whole line, from the keyword.
    fn implicit_segment(&self) -> Option<Segment> {
        (self.stored_segments().is_empty() && self.line_len != 0).then_some(Segment {
            joined: 0,
            source: self.keyword().start,
            len: self.line_len,
        })
    }

    /// Applies `f` to the segments, without building a list for the implicit one.
    fn with_segments<T>(&self, f: impl FnOnce(&[Segment]) -> T) -> T {
        match self.implicit_segment() {
            Some(one) => f(&[one]),
            None => f(self.stored_segments()),
        }
    }

    /// Every byte of [`Self::range`], classified, in order (none for an ONBUILD trigger,
    /// whose bytes are its ONBUILD's).
    pub fn tokens(&self) -> impl DoubleEndedIterator<Item = Token> + ExactSizeIterator + '_ {
        let stored = self.stored_tokens();
        let starts = if stored.is_empty() && self.line_len != 0 {
            std::borrow::Cow::Owned(self.implied_token_starts())
        } else {
            std::borrow::Cow::Borrowed(stored)
        };
        let end = self.range.end;
        (0..starts.len()).map(move |i| Token {
            kind: starts[i].kind,
            range: TextRange::new(starts[i].start, starts.get(i + 1).map_or(end, |t| t.start)),
        })
    }

    /// The tokens that follow from the keyword, flag and argument ranges and the segments:
    /// blanks before the keyword and between the parts, a continuation between two
    /// segments, and the line break after the last. The parse keeps the tokens it found
    /// wherever these differ (a comment line inside a continuation, a heredoc).
    pub(super) fn implied_token_starts(&self) -> Vec<TokenStart> {
        // the common case, more simply (a large file's parse checks every instruction's)
        if self.stored_segments().is_empty() {
            return self.implied_one_line_token_starts();
        }
        // in source order, not overlapping
        let mut parts = self
            .token_parts()
            .filter(|(_, r)| r.start < r.end)
            .peekable();
        let mut out: Vec<TokenStart> = Vec::with_capacity(6 + 2 * self.flags().len());
        let mut push = |start: u32, kind: TokenKind| {
            if out.last().is_none_or(|t| t.kind != kind) {
                out.push(TokenStart { start, kind });
            }
        };
        let mut at = self.range.start;
        self.with_segments(|segments| {
            for (k, segment) in segments.iter().enumerate() {
                if at < segment.source {
                    let kind = if k == 0 {
                        TokenKind::Whitespace
                    } else {
                        TokenKind::Continuation
                    };
                    push(at, kind);
                }
                // the segment's bytes, by the part each is in (blanks between them)
                let end = segment.source + segment.len;
                at = segment.source;
                while at < end {
                    while parts.next_if(|(_, r)| r.end <= at).is_some() {}
                    let (kind, next) = match parts.peek() {
                        Some(&(kind, r)) if r.start <= at => (kind, r.end),
                        Some(&(_, r)) => (TokenKind::Whitespace, r.start),
                        None => (TokenKind::Whitespace, end),
                    };
                    push(at, kind);
                    at = next.min(end);
                }
            }
        });
        if at < self.range.end {
            push(at, TokenKind::Newline);
        }
        out
    }

    /// The keyword, the flags and the arguments, each with its token kind, in source order.
    fn token_parts(&self) -> impl Iterator<Item = (TokenKind, TextRange)> + '_ {
        let args = match &self.args {
            Args::None => None,
            Args::Json { range, .. } | Args::Shell { range, .. } => Some(*range),
        };
        std::iter::once((TokenKind::Keyword, self.keyword()))
            .chain(self.flags().iter().map(|f| (TokenKind::Flag, f.range)))
            .chain(args.map(|r| (TokenKind::Args, r)))
    }

    /// The tokens of a one-line instruction, from its keyword, flag and argument ranges:
    /// blanks between them, and the line break after the line's content.
    fn implied_one_line_token_starts(&self) -> Vec<TokenStart> {
        let mut out = Vec::with_capacity(6 + 2 * self.flags().len());
        let mut at = self.range.start;
        for (kind, range) in self.token_parts() {
            if at < range.start {
                out.push(TokenStart {
                    start: at,
                    kind: TokenKind::Whitespace,
                });
            }
            if range.start < range.end {
                out.push(TokenStart {
                    start: range.start,
                    kind,
                });
            }
            at = at.max(range.end);
        }
        let content_end = self.keyword().start + self.line_len;
        if at < content_end {
            out.push(TokenStart {
                start: at,
                kind: TokenKind::Whitespace,
            });
        }
        if content_end.max(at) < self.range.end {
            out.push(TokenStart {
                start: content_end.max(at),
                kind: TokenKind::Newline,
            });
        }
        out
    }

    fn stored_tokens(&self) -> &[TokenStart] {
        self.rarer().map_or(&[], |r| &r.tokens)
    }

    fn stored_segments(&self) -> &[Segment] {
        self.rare.as_ref().map_or(&[], |r| &r.segments)
    }

    /// The parts few instructions have, made on first use.
    pub(super) fn rare_mut(&mut self) -> &mut Rare {
        self.rare.get_or_insert_default()
    }

    fn rarer(&self) -> Option<&Rarer> {
        self.rare.as_ref().and_then(|r| r.rarer.as_deref())
    }

    /// The text as written of word `i` of [`Self::words`]: a JSON array's string, a text
    /// the parse kept, or the source's slice at the word's range (`source` is the file's).
    ///
    /// # Panics
    /// When there is no word `i`.
    pub fn word_text<'a>(&'a self, i: usize, source: &'a str) -> &'a str {
        let range = self.words[i].range;
        if matches!(self.args, Args::Json { .. }) {
            // a JSON array's words are its strings' literals
            return match self.stored_elems().get(i) {
                Some(elem) => elem.value(source),
                None => TextRange::new(range.start + 1, range.end - 1).slice(source),
            };
        }
        self.rarer()
            .and_then(|r| r.written.iter().find(|&&(at, _)| at as usize == i))
            .map_or_else(|| range.slice(source), |(_, text)| text)
    }

    /// The texts as written of [`Self::words`], in order ([`Self::word_text`]).
    pub fn word_texts<'a>(
        &'a self,
        source: &'a str,
    ) -> impl DoubleEndedIterator<Item = &'a str> + ExactSizeIterator + Clone + 'a {
        (0..self.words.len()).map(move |i| self.word_text(i, source))
    }

    /// The `--name[=value]` flags after the keyword.
    pub fn flags(&self) -> &[Flag] {
        self.rarer().map_or(&[], |r| &r.flags)
    }

    /// The strings of a JSON array argument ([`Args::Json`]), in order: kept, or, where
    /// none has a decoded value of its own, the words (their literals' ranges).
    pub fn json_elems(&self) -> std::borrow::Cow<'_, [JsonElem]> {
        let stored = self.stored_elems();
        if stored.is_empty() && matches!(self.args, Args::Json { .. }) {
            let from_words = self.words.iter().map(|w| JsonElem::literal(w.range));
            std::borrow::Cow::Owned(from_words.collect())
        } else {
            std::borrow::Cow::Borrowed(stored)
        }
    }

    fn stored_elems(&self) -> &[JsonElem] {
        self.rare.as_ref().map_or(&[], |r| &r.elems)
    }

    /// The decoded values of [`Self::json_elems`], in order (`source` is the file's).
    fn json_values<'a>(&'a self, source: &'a str) -> Vec<&'a str> {
        let stored = self.stored_elems();
        if stored.is_empty() {
            (0..self.words.len())
                .map(|i| self.word_text(i, source))
                .collect()
        } else {
            stored.iter().map(|e| e.value(source)).collect()
        }
    }

    /// The heredocs, in the order their markers appear.
    pub fn heredocs(&self) -> &[Heredoc] {
        self.rarer().map_or(&[], |r| &r.heredocs)
    }

    /// For ONBUILD, the wrapped instruction (its `range` is the trigger's text).
    pub fn trigger(&self) -> Option<&Instruction> {
        self.rarer().and_then(|r| r.trigger.as_deref())
    }
}

impl Instruction {
    /// Whether the arguments are a JSON array (exec form).
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// The joined shell text of a shell-form instruction (BuildKit's value); `source` is the
    /// file's.
    pub fn shell_text<'a>(&'a self, source: &'a str) -> Option<&'a str> {
        self.line(source).get(self.shell_range()?.as_usize())
    }

    /// The range of [`Args::Shell`]'s arguments in [`Self::line`].
    pub fn shell_range(&self) -> Option<TextRange> {
        match self.args {
            Args::Shell { range } => Some(self.range_to_joined(range)),
            _ => None,
        }
    }

    /// Maps a source range of the joined text (its ends in segments) to the joined line:
    /// the inverse of [`Self::range_to_source`].
    fn range_to_joined(&self, range: TextRange) -> TextRange {
        self.with_segments(|segments| {
            let at = |offset: u32, is_end: bool| {
                segments
                    .iter()
                    .find(|s| {
                        if is_end {
                            s.source < offset && offset <= s.source + s.len
                        } else {
                            s.source <= offset && offset < s.source + s.len
                        }
                    })
                    .map_or(0, |s| s.joined + (offset - s.source))
            };
            TextRange::new(at(range.start, false), at(range.end, true))
        })
    }

    /// The arguments split into words as BuildKit splits them (quotes kept): [`Self::words`],
    /// or for RUN, CMD, ENTRYPOINT and SHELL, the JSON array's strings or the words of the
    /// shell text, split now with the file's escape character (`source` is the file's).
    /// Each word's source range and text.
    pub fn split_words(&self, source: &str, escape: char) -> Vec<(TextRange, String)> {
        let shell_kind = matches!(
            self.kind,
            Keyword::Run | Keyword::Cmd | Keyword::Entrypoint | Keyword::Shell
        );
        // an ONBUILD trigger has no joined line of its own and keeps its words
        if !shell_kind || !self.words.is_empty() || self.line_len == 0 {
            return self
                .words
                .iter()
                .zip(self.word_texts(source))
                .map(|(w, text)| (w.range, text.to_owned()))
                .collect();
        }
        let joined = match &self.args {
            Args::Shell { range } => self.range_to_joined(*range),
            Args::Json { .. } => {
                return self
                    .json_elems()
                    .iter()
                    .map(|e| (e.range, e.value(source).to_owned()))
                    .collect();
            }
            Args::None => return Vec::new(),
        };
        let start = joined.start as usize;
        super::words::parse_words(joined.slice(self.line(source)), escape)
            .into_iter()
            .map(|(r, text)| {
                let range = self.with_segments(|segments| {
                    super::parse::map_range(segments, r.start + start..r.end + start)
                });
                (range, text)
            })
            .collect()
    }

    /// BuildKit's value for this instruction (what `dockerfile.parse` reports), built from the
    /// words, the JSON strings and the joined line: not kept, as for a RUN it would be a
    /// third copy of the shell text. An ONBUILD trigger has no value of its own (its
    /// ONBUILD's is the trigger's). `source` is the file's.
    pub fn value<'a>(&'a self, source: &'a str) -> Vec<&'a str> {
        self.value_in(self, self.line(source), source)
    }

    /// The value, with `owner` the instruction whose joined line `line` the argument ranges
    /// are in (an ONBUILD trigger's are in its ONBUILD's line).
    fn value_in<'a>(&'a self, owner: &Instruction, line: &'a str, source: &'a str) -> Vec<&'a str> {
        let texts = || self.word_texts(source).collect();
        let rest = match self.args {
            Args::Shell { range } => line
                .get(owner.range_to_joined(range).as_usize())
                .unwrap_or_default(),
            _ => "",
        };
        match self.kind {
            Keyword::Run
            | Keyword::Cmd
            | Keyword::Entrypoint
            | Keyword::Shell
            | Keyword::Add
            | Keyword::Copy
            | Keyword::Volume => match &self.args {
                Args::Json { .. } => self.json_values(source),
                Args::Shell { .. }
                    if matches!(
                        self.kind,
                        Keyword::Run | Keyword::Cmd | Keyword::Entrypoint | Keyword::Shell
                    ) =>
                {
                    vec![rest]
                }
                Args::Shell { .. } => texts(),
                Args::None => Vec::new(),
            },
            Keyword::Expose | Keyword::From | Keyword::Arg => texts(),
            Keyword::Maintainer | Keyword::Stopsignal | Keyword::User | Keyword::Workdir => {
                if rest.is_empty() {
                    Vec::new()
                } else {
                    vec![rest]
                }
            }
            Keyword::Env | Keyword::Label => {
                let Some(first) = self.word_texts(source).next() else {
                    return Vec::new();
                };
                if first.contains('=') {
                    // the parse checked that every word has one
                    self.word_texts(source)
                        .flat_map(|text| {
                            let (k, v) = text.split_once('=').unwrap_or((text, ""));
                            [k, v]
                        })
                        .collect()
                } else {
                    let split = rest
                        .find(super::words::is_split_space)
                        .unwrap_or(rest.len());
                    let value = rest[split..].trim_start_matches(super::words::is_split_space);
                    vec![&rest[..split], value]
                }
            }
            Keyword::Healthcheck => {
                if self.json {
                    return texts();
                }
                let sep = rest.find(char::is_whitespace).unwrap_or(rest.len());
                if sep == 0 {
                    return Vec::new();
                }
                let cmd = rest[sep..].trim_start_matches(char::is_whitespace);
                let mut out = vec![&rest[..sep]];
                if !cmd.is_empty() {
                    out.push(cmd);
                }
                out
            }
            Keyword::Onbuild => self
                .trigger()
                .map_or_else(Vec::new, |t| t.value_in(owner, line, source)),
            Keyword::Unknown => vec![""],
        }
    }

    /// Maps a joined-line offset to a source offset. At a point where two segments meet,
    /// `side` picks the end of the earlier segment (`Before`) or the start of the later one.
    pub fn to_source(&self, joined: u32, side: crate::text::InsertionSide) -> u32 {
        self.with_segments(|segments| segment_to_source(segments, joined, side))
    }

    /// Maps a joined-line range to the source range from its first to its last byte.
    pub fn range_to_source(&self, range: TextRange) -> TextRange {
        use crate::text::InsertionSide::{After, Before};
        if range.is_empty() {
            let at = self.to_source(range.start, After);
            return TextRange::empty(at);
        }
        TextRange::new(
            self.to_source(range.start, After),
            self.to_source(range.end, Before),
        )
    }

    /// The offset just before the line break of the last line of the instruction proper
    /// (before any heredoc body): where text appended to the arguments goes.
    pub fn content_end(&self) -> u32 {
        self.tokens()
            .rev()
            .find(|t| {
                !matches!(
                    t.kind,
                    TokenKind::HeredocBody | TokenKind::HeredocTerminator | TokenKind::Newline
                )
            })
            .map_or(self.range.end, |t| t.range.end)
    }
}

pub(crate) fn segment_to_source(
    segments: &[Segment],
    joined: u32,
    side: crate::text::InsertionSide,
) -> u32 {
    use crate::text::InsertionSide;
    let Some(last) = segments.last() else {
        return 0;
    };
    // index of the first segment that ends at or after `joined`
    for (i, seg) in segments.iter().enumerate() {
        let end = seg.joined + seg.len;
        if joined < end
            || (joined == end && (side == InsertionSide::Before || i + 1 == segments.len()))
        {
            if joined < seg.joined {
                return seg.source;
            }
            return seg.source + (joined - seg.joined);
        }
    }
    last.source + last.len
}

impl Instruction {
    /// For `FROM base [AS name]`, the base as written and the stage name, if any.
    /// `source` is the file's.
    pub fn from_parts<'a>(&'a self, source: &'a str) -> Option<(&'a str, Option<&'a str>)> {
        if self.kind != Keyword::From {
            return None;
        }
        // no list of the words: passes ask this of every FROM, several times a round
        let text = |i| self.word_text(i, source);
        let name = (self.words.len() == 3 && text(1).eq_ignore_ascii_case("as")).then(|| text(2));
        Some((self.word_texts(source).next().unwrap_or_default(), name))
    }

    /// The value of the first flag called `name` (`--from=build` → `build`), quotes removed.
    pub fn flag_value(&self, name: &str) -> Option<&str> {
        self.flags().iter().find_map(|f| {
            let text = f.text.strip_prefix("--")?;
            match text.split_once('=') {
                Some((n, v)) if n == name => Some(v),
                None if text == name => Some(""),
                _ => None,
            }
        })
    }

    /// For `COPY --from=X`, the stage or image `X`.
    pub fn copy_from(&self) -> Option<&str> {
        (self.kind == Keyword::Copy)
            .then(|| self.flag_value("from"))
            .flatten()
    }

    /// The paths of a `COPY` or `ADD` as BuildKit splits them: the JSON strings, or the words
    /// as written (quotes kept); the sources, then the destination. Empty without arguments.
    /// `source` is the file's.
    pub fn paths<'a>(&'a self, source: &'a str) -> Vec<&'a str> {
        match &self.args {
            Args::Json { .. } => self.json_values(source),
            Args::Shell { .. } => self.word_texts(source).collect(),
            Args::None => Vec::new(),
        }
    }

    /// The `--mount` flags of a RUN, read as BuildKit reads their CSV options.
    pub fn mounts(&self) -> Vec<Mount> {
        self.flags()
            .iter()
            .filter_map(|f| f.text.strip_prefix("--mount="))
            .map(Mount::parse)
            .collect()
    }
}

/// One `RUN --mount=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// `bind` (BuildKit's default), `cache`, `tmpfs`, `secret`, `ssh`.
    pub kind: String,
    /// `target`/`dst`/`destination`, when given.
    pub target: Option<String>,
    /// `rw`/`readwrite` on a bind mount: writes are visible to the rest of the RUN only.
    pub read_write: bool,
    /// `source`/`src`: the path in the context (or in `from`), when given.
    pub source: Option<String>,
    /// `from`: a stage or image instead of the build context, when given.
    pub from: Option<String>,
}

impl Mount {
    fn parse(spec: &str) -> Self {
        let mut mount = Mount {
            kind: "bind".to_owned(),
            target: None,
            read_write: false,
            source: None,
            from: None,
        };
        for field in spec.split(',') {
            let (key, value) = field.split_once('=').unwrap_or((field, ""));
            match key.trim().to_ascii_lowercase().as_str() {
                "type" => value.trim().clone_into(&mut mount.kind),
                "target" | "dst" | "destination" => mount.target = Some(value.trim().to_owned()),
                "source" | "src" => mount.source = Some(value.trim().to_owned()),
                "from" => mount.from = Some(value.trim().to_owned()),
                "rw" | "readwrite" => {
                    mount.read_write = !matches!(value.trim(), "false" | "0");
                }
                _ => {}
            }
        }
        mount
    }
}

#[cfg(test)]
mod tests {
    use crate::syntax::parse;

    #[test]
    fn mounts() {
        let file = parse(
            "FROM a\nRUN --mount=type=cache,target=/root/.cache/pip --mount=target=/src,rw pip install .\n",
        )
        .unwrap();
        let mounts = file.instructions().nth(1).unwrap().mounts();
        assert_eq!(mounts.len(), 2);
        assert_eq!(mounts[0].kind, "cache");
        assert_eq!(mounts[0].target.as_deref(), Some("/root/.cache/pip"));
        assert_eq!(mounts[1].kind, "bind");
        assert!(mounts[1].read_write);
        assert_eq!(
            (mounts[1].source.as_deref(), mounts[1].from.as_deref()),
            (None, None)
        );
    }
}

#[cfg(test)]
mod size {
    /// The tree of a large file is mostly instructions: a field added inline costs its size
    /// once per instruction (rarely present parts go in `Rare`).
    #[test]
    fn instruction_stays_small() {
        assert!(
            size_of::<super::Instruction>() <= 56,
            "{}",
            size_of::<super::Instruction>()
        );
        // an instruction is inline in its item: the other variants fit beside its niche
        assert_eq!(
            size_of::<crate::syntax::Item>(),
            size_of::<super::Instruction>()
        );
        assert!(
            size_of::<super::Rare>() <= 64,
            "{}",
            size_of::<super::Rare>()
        );
        assert_eq!(size_of::<crate::syntax::Word>(), 8);
        assert_eq!(size_of::<crate::syntax::JsonElem>(), 16);
    }

    /// The keyword's range follows from `keyword_at` and the kind, or is kept in `Rarer`
    /// (an unknown keyword, a trigger's unknown keyword, an empty instruction).
    #[test]
    fn keywords_are_where_the_source_has_them() {
        let text = "  from a\\\n  b\n\tFooBar x\nONBUILD Cmd y\nONBUILD zap  q\nrun z\n \\\n";
        let file = crate::syntax::parse(text).unwrap();
        let keywords: Vec<(&str, Option<&str>)> = file
            .instructions()
            .map(|i| {
                assert!(i.range.contains_range(i.keyword()));
                (
                    file.slice(i.keyword()),
                    i.trigger().map(|t| file.slice(t.keyword())),
                )
            })
            .collect();
        assert_eq!(
            keywords,
            [
                ("from", None),
                ("FooBar", None),
                ("ONBUILD", Some("Cmd")),
                ("ONBUILD", Some("zap")),
                ("run", None),
                ("", None),
            ]
        );
        // an indent `keyword_at` cannot hold
        let text = format!("{}RUN x\n", " ".repeat(70_000));
        let file = crate::syntax::parse(&text).unwrap();
        let run = file.instructions().next().unwrap();
        assert_eq!(run.keyword(), crate::text::TextRange::new(70_000, 70_003));
        assert_eq!((run.start_line, run.end_line()), (1, 1));
    }

    /// A word is its range; the instruction keeps the texts that are not the source's
    /// slice there (a word across a continuation, a HEALTHCHECK's JSON strings), and a
    /// JSON array's words read its strings.
    #[test]
    fn word_texts_differ_from_the_source_only_where_kept() {
        let text = "ENV a=b\\\nc d=e\nCOPY [\"x y\", \"/\\u0041\"]\nHEALTHCHECK CMD [\"t\"]\nFROM i AS n\nONBUILD CMD [\"o\"]\n";
        let file = crate::syntax::parse(text).unwrap();
        let words: Vec<(Vec<&str>, usize)> = file
            .instructions()
            .map(|i| {
                let kept = |i: &super::Instruction| i.rarer().map_or(0, |r| r.written.len());
                let trigger = i.trigger().map_or(0, kept);
                let texts = i.trigger().unwrap_or(i).word_texts(&file.source).collect();
                (texts, kept(i) + trigger)
            })
            .collect();
        assert_eq!(
            words,
            [
                (vec!["a=bc", "d=e"], 1),
                (vec!["x y", "/A"], 0),
                (vec!["CMD", "t"], 1),
                (vec!["i", "AS", "n"], 0),
                (vec!["o"], 0),
            ]
        );
        // a JSON string keeps its decoded value only where it has an escape
        let copy = file.instructions().nth(1).unwrap();
        let decoded: Vec<bool> = copy
            .json_elems()
            .iter()
            .map(|e| e.decoded.is_some())
            .collect();
        assert_eq!(decoded, [false, true]);
        let from = file.instructions().nth(3).unwrap();
        assert_eq!(from.from_parts(&file.source), Some(("i", Some("n"))));
    }

    /// An exec-form string with no escape is read from its word: a one-line exec-form CMD
    /// keeps no `Rare`; one with an escape keeps its strings (and, as a CMD, no words).
    #[test]
    fn exec_form_strings_are_their_words_unless_decoded() {
        let text = "CMD [\"python\", \"-m\", \"a\"]\nCMD [\"a\\u0041\"]\nCOPY [\"x\", \"/y/\"]\n";
        let file = crate::syntax::parse(text).unwrap();
        let seen: Vec<(bool, usize, usize, Vec<&str>)> = file
            .instructions()
            .map(|i| {
                let elems = i.json_elems().len();
                (
                    i.rare.is_some(),
                    i.words.len(),
                    elems,
                    i.value(&file.source),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                (false, 3, 3, vec!["python", "-m", "a"]),
                (true, 0, 1, vec!["aA"]),
                (false, 2, 2, vec!["x", "/y/"]),
            ]
        );
    }

    /// One-line instructions keep neither tokens nor segments: both follow from the ranges;
    /// a multi-line one keeps its segments, and its tokens only where a comment line or a
    /// heredoc is among them, or the text ends in a continuation.
    #[test]
    fn instructions_keep_no_token_list_where_it_follows_from_the_ranges() {
        let text = "FROM a AS b\n  RUN --mount=type=cache,target=/c  x  \r\nCOPY [\"a\", \"b\"]\nRUN y \\\n z\nRUN --f=a \\\n  --g \\\r\n b\nRUN x \\\n# c\n d\nRUN <<E\nx\nE\nRUN a\\\n";
        let file = crate::syntax::parse(text).unwrap();
        let kept: Vec<(usize, usize)> = file
            .instructions()
            .map(|i| (i.stored_tokens().len(), i.stored_segments().len()))
            .collect();
        assert_eq!(
            kept,
            [
                (0, 0),
                (0, 0),
                (0, 0),
                (0, 2),
                (0, 3),
                (7, 2),
                (6, 0),
                (4, 0)
            ]
        );
        assert_eq!(file.print(), text);
    }
}
