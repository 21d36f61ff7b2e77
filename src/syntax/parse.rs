//! The line-oriented parser: BuildKit's `parser.Parse` loop, keeping every byte.

use std::collections::VecDeque;
use std::ops::Range;

use super::instruction::{Rare, Rarer, TokenStart};
use super::words::{self, RawFlag};
use super::{
    Args, Directive, Dockerfile, Flag, Heredoc, Instruction, Item, JsonElem, Keyword, ParseError,
    Segment, Token, TokenKind, Word,
};
use crate::text::{TextRange, to_u32};

const BOM: &str = "\u{feff}";

/// One physical line: `[start, end)` including its terminator; `content_end` is where the
/// text ends once trailing `\r`/`\n` are removed (BuildKit's `trimNewline`).
#[derive(Clone, Copy)]
struct Line {
    start: usize,
    content_end: usize,
    end: usize,
}

/// Where the lines of `source[from..]` start, then the source's length: line `i` is
/// `[starts[i], starts[i + 1])`. Four bytes a line, sized exactly (the newlines are counted
/// first): a large file's table was 24 bytes a line, grown by doubling.
fn line_starts(source: &str, from: usize) -> Vec<u32> {
    let body = &source.as_bytes()[from..];
    let mut starts = Vec::with_capacity(memchr::memchr_iter(b'\n', body).count() + 2);
    starts.push(to_u32(from));
    starts.extend(memchr::memchr_iter(b'\n', body).map(|i| to_u32(from + i + 1)));
    // a last line without a terminator
    if starts.last() != Some(&to_u32(source.len())) {
        starts.push(to_u32(source.len()));
    }
    starts
}

fn trim_start_ws(s: &str) -> &str {
    s.trim_start_matches(char::is_whitespace)
}

/// Parses `source` into a lossless tree, or reports what BuildKit would reject.
pub fn parse(source: &str) -> Result<Dockerfile, ParseError> {
    parse_owned(source.to_owned())
}

/// [`parse`], the tree keeping `source` itself rather than a copy.
pub fn parse_owned(source: String) -> Result<Dockerfile, ParseError> {
    parse_or_give_back(source).map_err(|(e, _)| e)
}

/// [`parse_owned`], which gives `source` back beside an error (to place it in the text).
pub(crate) fn parse_or_give_back(source: String) -> Result<Dockerfile, (ParseError, String)> {
    match Parser::new(&source).run() {
        Ok((escape, items)) => Ok(Dockerfile::new(source, escape, items)),
        Err(e) => Err((e, source)),
    }
}

pub(super) struct Parser<'s> {
    src: &'s str,
    /// See [`line_starts`].
    starts: Vec<u32>,
    pub(super) escape: char,
    /// A queue: [`incremental`](super::reparse) takes the old tree's items from its front
    /// while it adds the new ones at its back, so the two trees share one allocation.
    pub(super) items: VecDeque<Item>,
}

impl<'s> Parser<'s> {
    pub(super) fn new(src: &'s str) -> Self {
        let body_start = if src.starts_with(BOM) { BOM.len() } else { 0 };
        Self {
            src,
            starts: line_starts(src, body_start),
            escape: '\\',
            items: VecDeque::new(),
        }
    }

    /// Line `i` (`i < self.line_count()`).
    fn line(&self, i: usize) -> Line {
        let start = self.starts[i] as usize;
        let end = self.starts[i + 1] as usize;
        let bytes = self.src.as_bytes();
        let mut content_end = end;
        while content_end > start && matches!(bytes[content_end - 1], b'\n' | b'\r') {
            content_end -= 1;
        }
        Line {
            start,
            content_end,
            end,
        }
    }

    fn content(&self, line: Line) -> &'s str {
        &self.src[line.start..line.content_end]
    }

    fn is_comment(&self, line: Line) -> bool {
        trim_start_ws(self.content(line)).starts_with('#')
    }

    fn is_blank(&self, line: Line) -> bool {
        trim_start_ws(self.content(line)).is_empty()
    }

    /// BuildKit's `trimContinuationCharacter`: the text before a final escape (plus blanks),
    /// when the character before that escape is not itself the escape.
    fn continuation_cut(&self, text: &str) -> Option<usize> {
        let trimmed = text.trim_end_matches([' ', '\t']);
        let before = trimmed.strip_suffix(self.escape)?;
        if before.is_empty() || !before.ends_with(self.escape) {
            Some(before.len())
        } else {
            None
        }
    }

    fn run(mut self) -> Result<(char, Vec<Item>), ParseError> {
        // an item takes one line or more: room for them all, not doubling (a copy of a large
        // file's tree); pages of the room left over are never touched
        self.items.reserve_exact(self.line_count() + 1);
        let mut i = self.header()?;
        while i < self.line_count() {
            i = self.item(i)?;
        }
        Ok(self.finish())
    }

    /// Adds `item` at the back of the queue; room grows by a sixteenth, not by doubling: the
    /// queue is a large file's whole tree.
    pub(super) fn push(&mut self, item: Item) {
        if self.items.len() == self.items.capacity() {
            self.items.reserve_exact(self.items.len() / 16 + 16);
        }
        self.items.push_back(item);
    }

    /// The BOM item, if any, and the parser directives; returns the index of the first
    /// other line.
    pub(super) fn header(&mut self) -> Result<usize, ParseError> {
        if self.src.starts_with(BOM) {
            self.push(Item::Bom(TextRange::from_usize(0, BOM.len())));
        }
        self.directives()
    }

    /// Parses the item (comment, blank line or instruction) starting at line `i`; returns
    /// the index of the line after it.
    pub(super) fn item(&mut self, i: usize) -> Result<usize, ParseError> {
        let line = self.line(i);
        let range = TextRange::from_usize(line.start, line.end);
        if self.is_comment(line) {
            self.push(Item::Comment(range));
            Ok(i + 1)
        } else if self.is_blank(line) {
            self.push(Item::Blank(range));
            Ok(i + 1)
        } else {
            let (instruction, next) = self.instruction(i)?;
            self.push(Item::Instruction(instruction));
            Ok(next)
        }
    }

    /// The number of physical lines.
    pub(super) fn line_count(&self) -> usize {
        self.starts.len() - 1
    }

    /// The start of line `i` (the source's length past the last line).
    pub(super) fn line_start(&self, i: usize) -> usize {
        self.starts.get(i).map_or(self.src.len(), |&s| s as usize)
    }

    /// The escape character and the items, for [`Dockerfile::new`] with the source: the
    /// caller's own string, not a copy of it.
    pub(super) fn finish(self) -> (char, Vec<Item>) {
        // in place (the queue is rotated, not copied); the tree keeps its items for good
        let mut items = Vec::from(self.items);
        items.shrink_to_fit();
        (self.escape, items)
    }

    /// Parser directives at the very top; returns the index of the first other line.
    fn directives(&mut self) -> Result<usize, ParseError> {
        let mut seen: Vec<String> = Vec::new();
        for i in 0..self.line_count() {
            let line = self.line(i);
            let text = self.content(line);
            let Some((key, value)) = directive(text) else {
                return Ok(i);
            };
            let name = key.slice_of(text).to_ascii_lowercase();
            if !matches!(name.as_str(), "syntax" | "escape" | "check") {
                return Ok(i);
            }
            let key_range = shift(key, line.start);
            if seen.contains(&name) {
                return Err(ParseError {
                    offset: key_range.start,
                    message: format!("only one {name} parser directive can be used"),
                });
            }
            let value_text = value.slice_of(text);
            if name == "escape" {
                self.escape = match value_text {
                    "\\" => '\\',
                    "`" => '`',
                    other => {
                        return Err(ParseError {
                            offset: to_u32(line.start + value.start),
                            message: format!(
                                "invalid escape token '{other}' does not match ` or \\"
                            ),
                        });
                    }
                };
            }
            seen.push(name);
            self.push(Item::Directive(Box::new(Directive {
                range: TextRange::from_usize(line.start, line.end),
                key: key_range,
                value: shift(value, line.start),
            })));
        }
        Ok(self.line_count())
    }

    /// Parses the instruction starting at line `first`; returns it and the next line index.
    fn instruction(&self, first: usize) -> Result<(Instruction, usize), ParseError> {
        let mut tokens = Vec::new();
        let mut segments = Vec::new();
        let mut joined = String::new();
        let start_line = self.line(first);

        let text = self.content(start_line);
        let indent = text.len() - trim_start_ws(text).len();
        push_token(
            &mut tokens,
            TokenKind::Whitespace,
            start_line.start,
            start_line.start + indent,
        );
        let mut i = first;
        let mut piece_start = start_line.start + indent;
        loop {
            let line = self.line(i);
            let text = &self.src[piece_start..line.content_end];
            let cut = self.continuation_cut(text);
            let piece_len = cut.unwrap_or(text.len());
            if piece_len > 0 {
                segments.push(Segment {
                    joined: to_u32(joined.len()),
                    source: to_u32(piece_start),
                    len: to_u32(piece_len),
                });
                joined.push_str(&text[..piece_len]);
            }
            // placeholder covering the content; split into keyword/flags/args later
            push_token(
                &mut tokens,
                TokenKind::Args,
                piece_start,
                piece_start + piece_len,
            );
            i += 1;
            if cut.is_none() {
                push_token(
                    &mut tokens,
                    TokenKind::Newline,
                    piece_start + piece_len,
                    line.end,
                );
                break;
            }
            push_token(
                &mut tokens,
                TokenKind::Continuation,
                piece_start + piece_len,
                line.end,
            );
            // skip comment and blank lines inside the continuation
            while i < self.line_count() {
                let l = self.line(i);
                if self.is_comment(l) {
                    push_token(&mut tokens, TokenKind::Comment, l.start, l.end);
                } else if self.is_blank(l) {
                    push_token(&mut tokens, TokenKind::Blank, l.start, l.end);
                } else {
                    break;
                }
                i += 1;
            }
            if i >= self.line_count() {
                break;
            }
            piece_start = self.line_start(i);
        }

        let node = node_from_line(&joined, 0, self.escape).map_err(|message| ParseError {
            offset: to_u32(start_line.start + indent),
            message,
        })?;
        let heredoc_kind = node.trigger.as_deref().map_or(node.kind, |t| {
            if t.kind == Keyword::Onbuild {
                Keyword::Unknown
            } else {
                t.kind
            }
        });
        let json = node.trigger.as_deref().unwrap_or(&node).args_json;
        let mut heredocs = Vec::new();
        // a heredoc word holds `<<`, made of two `<` of the line (the lexer only drops
        // characters, or adds a `$`): with fewer, the word split cannot find one
        if heredoc_kind.can_contain_heredoc()
            && !json
            && joined.bytes().filter(|&b| b == b'<').nth(1).is_some()
            && let Some(words) = words::shell_words(&joined)
        {
            {
                for w in words {
                    let Some(h) = words::heredoc_word(&w.raw) else {
                        continue;
                    };
                    let marker = map_range(&segments, w.range.clone());
                    let (doc, next) = self.heredoc_body(i, h, marker)?;
                    push_token(
                        &mut tokens,
                        TokenKind::HeredocBody,
                        doc.body.start as usize,
                        doc.body.end as usize,
                    );
                    push_token(
                        &mut tokens,
                        TokenKind::HeredocTerminator,
                        doc.terminator.start as usize,
                        doc.terminator.end as usize,
                    );
                    heredocs.push(doc);
                    i = next;
                }
            }
        }

        // the end of the instruction's last line (`i` is past its first)
        let end = self.line_start(i);
        let classified = classify(&tokens, &segments, &node);
        let mut instruction = node.into_instruction(&segments, &joined, self.src);
        instruction.set_range(TextRange::from_usize(start_line.start, end));
        if segments.is_empty() {
            // a continuation with nothing after it: BuildKit's empty instruction
            instruction.set_keyword(TextRange::from_usize(
                start_line.start + indent,
                start_line.start + indent,
            ));
        }
        // only starts are kept: the tokens must tile the instruction
        debug_assert!(
            classified
                .first()
                .is_none_or(|t| t.range.start == instruction.range.start)
                && classified
                    .windows(2)
                    .all(|w| w[0].range.end == w[1].range.start)
                && classified
                    .last()
                    .is_none_or(|t| t.range.end == instruction.range.end),
            "tokens do not tile the instruction"
        );
        let starts: Vec<TokenStart> = classified
            .iter()
            .map(|t| TokenStart {
                start: t.range.start,
                kind: t.kind,
            })
            .collect();
        if !heredocs.is_empty() {
            let heredocs = heredocs.into_boxed_slice();
            instruction
                .rare_mut()
                .rarer
                .get_or_insert_default()
                .heredocs = heredocs;
        }
        instruction.start_line = to_u32(first + 1);
        instruction.line_len = to_u32(joined.len());
        // one segment from the keyword on is implied by the line (`Instruction::segments`),
        // and the line is then the source from the keyword on (`Instruction::line`)
        let implicit = matches!(
            segments.as_slice(),
            [one] if one.joined == 0
                && one.source == instruction.keyword().start
                && one.len as usize == joined.len()
        );
        if !implicit {
            let rare = instruction.rare_mut();
            rare.segments = segments.into_boxed_slice();
            rare.line = joined.into_boxed_str();
        }
        // tokens that follow from the ranges are not kept (`Instruction::tokens`)
        if instruction.line_len == 0 || instruction.implied_token_starts() != starts {
            instruction.rare_mut().rarer.get_or_insert_default().tokens = starts.into_boxed_slice();
        }
        // the last line is the first unless kept (`Instruction::end_line`)
        if instruction.rare.is_some() || i != first + 1 {
            instruction.rare_mut().end_line = to_u32(i);
        }
        Ok((instruction, i))
    }

    fn heredoc_body(
        &self,
        from: usize,
        h: words::HeredocWord,
        marker: TextRange,
    ) -> Result<(Heredoc, usize), ParseError> {
        let body_start = self.line_start(from);
        let mut content = String::new();
        for i in from..self.line_count() {
            let line = self.line(i);
            let mut candidate = self.content(line);
            if h.chomp {
                candidate = candidate.trim_start_matches('\t');
            }
            if candidate == h.name {
                let doc = Heredoc {
                    marker,
                    name: h.name,
                    chomp: h.chomp,
                    quoted: h.quoted,
                    fd: h.fd,
                    body: TextRange::from_usize(body_start, line.start),
                    terminator: TextRange::from_usize(line.start, line.end),
                    content: shrunk(content),
                };
                return Ok((doc, i + 1));
            }
            let raw = &self.src[line.start..line.end];
            content.push_str(raw.strip_suffix('\n').unwrap_or(raw));
            content.push('\n');
        }
        Err(ParseError {
            offset: marker.start,
            message: format!("unterminated heredoc {}", h.name),
        })
    }
}

fn push_token(tokens: &mut Vec<Token>, kind: TokenKind, start: usize, end: usize) {
    if start < end {
        tokens.push(Token {
            kind,
            range: TextRange::from_usize(start, end),
        });
    }
}

fn shift(r: Range<usize>, by: usize) -> TextRange {
    TextRange::from_usize(r.start + by, r.end + by)
}

trait SliceOf {
    fn slice_of<'a>(&self, s: &'a str) -> &'a str;
}

impl SliceOf for Range<usize> {
    fn slice_of<'a>(&self, s: &'a str) -> &'a str {
        &s[self.clone()]
    }
}

/// BuildKit's directive regex `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`, applied after
/// leading whitespace is trimmed. Returns the key and value ranges within `line`.
fn directive(line: &str) -> Option<(Range<usize>, Range<usize>)> {
    let is_re_space = |c: char| matches!(c, '\t' | '\n' | '\u{c}' | '\r' | ' ');
    let lead = line.len() - trim_start_ws(line).len();
    let rest = line[lead..].strip_prefix('#')?;
    let mut pos = lead + 1;
    pos += rest.len() - rest.trim_start_matches(is_re_space).len();
    let key_start = pos;
    let bytes = line.as_bytes();
    if !bytes.get(pos)?.is_ascii_alphabetic() {
        return None;
    }
    while bytes.get(pos).is_some_and(u8::is_ascii_alphanumeric) {
        pos += 1;
    }
    let key = key_start..pos;
    let after = &line[pos..];
    pos += after.len() - after.trim_start_matches(is_re_space).len();
    if bytes.get(pos) != Some(&b'=') {
        return None;
    }
    pos += 1;
    let after = &line[pos..];
    pos += after.len() - after.trim_start_matches(is_re_space).len();
    let value_end = pos + line[pos..].trim_end_matches(is_re_space).len();
    if value_end <= pos {
        return None;
    }
    Some((key, pos..value_end))
}

/// Maps a range of the joined line to source bytes.
pub(super) fn map_range(segments: &[Segment], r: Range<usize>) -> TextRange {
    use crate::text::InsertionSide::{After, Before};
    let start = super::segment_to_source(segments, to_u32(r.start), After);
    if r.is_empty() {
        return TextRange::empty(start);
    }
    TextRange::new(
        start,
        super::segment_to_source(segments, to_u32(r.end), Before),
    )
}

/// An instruction parsed from its joined line, in joined coordinates.
struct Node {
    keyword: Range<usize>,
    kind: Keyword,
    flags: Vec<RawFlag>,
    /// `None` for no arguments.
    args: Option<Range<usize>>,
    args_json: bool,
    json_elems: Vec<(Range<usize>, String)>,
    words: Vec<(Range<usize>, String)>,
    trigger: Option<Box<Node>>,
}

/// BuildKit's `newNodeFromLine` on `line[base..]`; ranges are offsets into `line`.
fn node_from_line(line: &str, base: usize, escape: char) -> Result<Node, String> {
    let text = &line[base..];
    let lead = text.len() - trim_start_ws(text).len();
    let trimmed = text.trim_matches(char::is_whitespace);
    let kw_len = trimmed.find(words::is_split_space).unwrap_or(trimmed.len());
    let keyword = base + lead..base + lead + kw_len;
    let kind = Keyword::from_word(&line[keyword.clone()]);
    let after_kw = &trimmed[kw_len..];
    let rest_off = base
        + lead
        + kw_len
        + (after_kw.len() - after_kw.trim_start_matches(words::is_split_space).len());
    let rest_end = base + lead + trimmed.len();
    let rest_all = &line[rest_off..rest_end];
    let (mut flags, args_at) = words::extract_flags(rest_all);
    for f in &mut flags {
        f.range = f.range.start + rest_off..f.range.end + rest_off;
    }
    let args_raw = &rest_all[args_at..];
    let args_trim = args_raw.trim_matches(char::is_whitespace);
    let args_start = rest_off
        + args_at
        + (args_raw.len() - args_raw.trim_start_matches(char::is_whitespace).len());
    let args = args_start..args_start + args_trim.len();
    let mut node = Node {
        keyword,
        kind,
        flags,
        args: (!args_trim.is_empty()).then_some(args.clone()),
        args_json: false,
        json_elems: Vec::new(),
        words: Vec::new(),
        trigger: None,
    };
    let rest = args_trim;
    let off = |r: Range<usize>| r.start + args.start..r.end + args.start;
    let whitespace_list = |node: &mut Node| {
        if !rest.is_empty() {
            for r in words::split_whitespace_delimited(rest) {
                node.words.push((off(r.clone()), rest[r].to_owned()));
            }
        }
    };
    match kind {
        Keyword::Run | Keyword::Cmd | Keyword::Entrypoint | Keyword::Shell => {
            // no pass reads the words of shell text (the shell model does): they are split
            // on demand by `Instruction::split_words`, not kept for every RUN of a file
            if !rest.is_empty() && try_json(&mut node, rest, args.start)? {
                // the same strings as `Args::Json`'s elements
                node.words = Vec::new();
            }
        }
        Keyword::Add | Keyword::Copy | Keyword::Volume => {
            if !try_json(&mut node, rest, args.start)? {
                whitespace_list(&mut node);
            }
        }
        Keyword::Expose | Keyword::From => whitespace_list(&mut node),
        Keyword::Env | Keyword::Label => {
            let name = if kind == Keyword::Env { "ENV" } else { "LABEL" };
            let ws = words::parse_words(rest, escape);
            node.words = ws
                .iter()
                .map(|(r, t)| (off(r.clone()), t.clone()))
                .collect();
            // the errors BuildKit reports; `Instruction::value` splits the same way
            if let Some((_, first)) = ws.first() {
                if first.contains('=') {
                    if let Some((_, w)) = ws.iter().find(|(_, w)| !w.contains('=')) {
                        return Err(format!(
                            "Syntax error - can't find = in {w:?}. Must be of the form: name=value"
                        ));
                    }
                } else if !rest.contains(words::is_split_space) {
                    return Err(format!("{name} must have two arguments"));
                }
            }
        }
        Keyword::Arg => {
            node.words = words::parse_words(rest, escape)
                .into_iter()
                .map(|(r, t)| (off(r), t))
                .collect();
        }
        Keyword::Maintainer | Keyword::Stopsignal | Keyword::User | Keyword::Workdir => {
            if !rest.is_empty() {
                node.words = words::parse_words(rest, escape)
                    .into_iter()
                    .map(|(r, t)| (off(r), t))
                    .collect();
            }
        }
        Keyword::Healthcheck => {
            let sep = rest.find(char::is_whitespace).unwrap_or(rest.len());
            if sep > 0 {
                node.words.push((off(0..sep), rest[..sep].to_owned()));
                let cmd = trim_start_ws(&rest[sep..]);
                let cmd_off = args.start + rest.len() - cmd.len();
                if !cmd.is_empty() && try_json(&mut node, cmd, cmd_off)? {
                    node.words.insert(0, (off(0..sep), rest[..sep].to_owned()));
                    node.args = Some(args.clone());
                }
            }
        }
        Keyword::Onbuild => {
            if !rest.is_empty() {
                let mut child = node_from_line(line, args.start, escape)?;
                // a trigger has no joined line of its own to split later: its words now
                let shell_kind = matches!(
                    child.kind,
                    Keyword::Run | Keyword::Cmd | Keyword::Entrypoint | Keyword::Shell
                );
                if shell_kind && child.args_json {
                    child.words.clone_from(&child.json_elems);
                } else if shell_kind && let Some(at) = child.args.clone() {
                    child.words = words::parse_words(&line[at.clone()], escape)
                        .into_iter()
                        .map(|(r, t)| (r.start + at.start..r.end + at.start, t))
                        .collect();
                }
                node.trigger = Some(Box::new(child));
            }
        }
        Keyword::Unknown => {}
    }
    Ok(node)
}

/// BuildKit's `parseJSON`: a JSON string array at the start of `rest` (trailing text is
/// ignored, as Go's decoder does). `Ok(false)` means "not JSON, use shell form".
fn try_json(node: &mut Node, rest: &str, at: usize) -> Result<bool, String> {
    let lead = rest.len() - trim_start_ws(rest).len();
    let body = &rest[lead..];
    if !body.starts_with('[') {
        return Ok(false);
    }
    let mut stream = serde_json::Deserializer::from_str(body).into_iter::<serde_json::Value>();
    let Some(Ok(serde_json::Value::Array(values))) = stream.next() else {
        return Ok(false);
    };
    let end = stream.byte_offset();
    let mut strings = Vec::with_capacity(values.len());
    for v in values {
        let serde_json::Value::String(s) = v else {
            return Err(
                "when using JSON array syntax, arrays must be comprised of strings only".into(),
            );
        };
        strings.push(s);
    }
    // locate each string literal inside the array text
    let array = &body[..end];
    let bytes = array.as_bytes();
    let mut elems = Vec::with_capacity(strings.len());
    let mut pos = 0;
    let mut values = strings.into_iter();
    while pos < bytes.len() {
        if bytes[pos] == b'"' {
            let start = pos;
            pos += 1;
            while bytes[pos] != b'"' {
                pos += if bytes[pos] == b'\\' { 2 } else { 1 };
            }
            pos += 1;
            let base = at + lead;
            elems.push((base + start..base + pos, values.next().unwrap_or_default()));
        } else {
            pos += 1;
        }
    }
    node.words.clone_from(&elems);
    node.json_elems = elems;
    node.args_json = true;
    node.args = Some(at + lead..at + lead + end);
    Ok(true)
}

impl Node {
    fn into_instruction(self, segments: &[Segment], joined: &str, source: &str) -> Instruction {
        let map = |r: &Range<usize>| map_range(segments, r.clone());
        let Node {
            keyword,
            kind,
            flags,
            args,
            args_json,
            json_elems,
            words,
            trigger,
        } = self;
        // the node's strings move into the instruction: no copy per word or flag
        let flags = flags
            .into_iter()
            .map(|f| {
                let raw = &joined[f.range.clone()];
                let name_end = raw.find('=').unwrap_or(raw.len());
                Flag {
                    range: map(&f.range),
                    name: map(&(f.range.start + 2..f.range.start + name_end)),
                    value: (name_end < raw.len())
                        .then(|| map(&(f.range.start + name_end + 1..f.range.end))),
                    text: shrunk(f.text),
                }
            })
            .collect();
        let mut elems: Box<[JsonElem]> = Box::default();
        let args = match &args {
            None => Args::None,
            Some(r) if args_json && trigger.is_none() && kind != Keyword::Healthcheck => {
                elems = json_elems
                    .into_iter()
                    .map(|(r, v)| JsonElem::new(map(&r), v, source))
                    .collect();
                Args::Json { range: map(r) }
            }
            Some(r) => Args::Shell { range: map(r) },
        };
        // a JSON array's words are its strings (`Instruction::word_text`): not kept twice
        let json_words = matches!(args, Args::Json { .. });
        debug_assert!(
            !json_words
                || words.is_empty()
                || words
                    .iter()
                    .map(|(_, t)| t.as_str())
                    .eq(elems.iter().map(|e| e.value(source)))
        );
        let mut written = Vec::new();
        let mut words: Box<[Word]> = words
            .into_iter()
            .enumerate()
            .map(|(k, (r, text))| {
                let range = map(&r);
                if !json_words && source.get(range.as_usize()) != Some(text.as_str()) {
                    let k = u32::try_from(k).expect("a word index fits in u32, as offsets do");
                    written.push((k, text.into_boxed_str()));
                }
                Word { range }
            })
            .collect();
        // strings with no decoded value of their own are read from their literals, the
        // words (`Instruction::json_elems`): a one-line exec-form CMD then needs no `Rare`
        if json_words && elems.iter().all(|e| e.decoded.is_none()) {
            if words.is_empty() {
                words = elems.iter().map(|e| Word { range: e.range }).collect();
            }
            debug_assert!(
                words
                    .iter()
                    .map(|w| w.range)
                    .eq(elems.iter().map(|e| e.range))
            );
            elems = Box::default();
        }
        let trigger = trigger.map(|t| {
            let mut child = t.into_instruction(segments, joined, source);
            let keyword = child.keyword();
            let start = keyword.start;
            let end = match &child.args {
                Args::None => child.flags().last().map_or(keyword.end, |f| f.range.end),
                Args::Json { range, .. } | Args::Shell { range, .. } => range.end,
            };
            child.set_range(TextRange::new(start, end.max(start)));
            Box::new(child)
        });
        let flags: Box<[Flag]> = flags;
        let rarer = (!flags.is_empty() || trigger.is_some() || !written.is_empty()).then(|| {
            Box::new(Rarer {
                flags,
                trigger,
                written: written.into_boxed_slice(),
                ..Rarer::default()
            })
        });
        let rare = (rarer.is_some() || !elems.is_empty()).then(|| {
            Box::new(Rare {
                elems,
                rarer,
                ..Rare::default()
            })
        });
        let keyword = map(&keyword);
        let mut instruction = Instruction {
            // the keyword is kept relative to the range: `set_range` moves the range only
            range: TextRange::new(keyword.start, keyword.start),
            keyword_at: 0,
            kind,
            json: args_json,
            start_line: 0,
            args,
            words,
            line_len: 0,
            rare,
        };
        instruction.set_keyword(keyword);
        instruction
    }
}

/// A string without the spare capacity its building left (the tree keeps it for good).
fn shrunk(mut s: String) -> String {
    s.shrink_to_fit();
    s
}

/// Splits the content tokens (provisionally `Args`) into keyword, flag, args and whitespace
/// tokens by the node's joined ranges.
fn classify(tokens: &[Token], segments: &[Segment], node: &Node) -> Vec<Token> {
    // labelled joined ranges, sorted
    let mut labels: Vec<(Range<usize>, TokenKind)> =
        vec![(node.keyword.clone(), TokenKind::Keyword)];
    labels.extend(
        node.flags
            .iter()
            .map(|f| (f.range.clone(), TokenKind::Flag)),
    );
    if let Some(r) = &node.args {
        labels.push((r.clone(), TokenKind::Args));
    }
    labels.sort_by_key(|(r, _)| r.start);
    let kind_at = |joined: usize| {
        labels
            .iter()
            .find(|(r, _)| r.start <= joined && joined < r.end)
            .map_or(TokenKind::Whitespace, |(_, k)| *k)
    };
    let mut out = Vec::with_capacity(tokens.len() + 4);
    let mut cuts: Vec<usize> = Vec::new();
    // the content tokens and the segments are both in source order: one cursor, no rescan
    let mut next_seg = 0;
    for t in tokens {
        if t.kind != TokenKind::Args {
            out.push(*t);
            continue;
        }
        // find the segment that starts here
        while segments
            .get(next_seg)
            .is_some_and(|s| s.source < t.range.start)
        {
            next_seg += 1;
        }
        let Some(seg) = segments.get(next_seg).filter(|s| s.source == t.range.start) else {
            out.push(*t);
            continue;
        };
        let js = seg.joined as usize;
        let je = js + seg.len as usize;
        cuts.clear();
        cuts.extend([js, je]);
        for (r, _) in &labels {
            for p in [r.start, r.end] {
                if js < p && p < je {
                    cuts.push(p);
                }
            }
        }
        cuts.sort_unstable();
        cuts.dedup();
        for w in cuts.windows(2) {
            let kind = kind_at(w[0]);
            let s = seg.source as usize + (w[0] - js);
            let e = seg.source as usize + (w[1] - js);
            match out.last_mut() {
                Some(last) if last.kind == kind && last.range.end as usize == s => {
                    last.range.end = to_u32(e);
                }
                _ => push_token(&mut out, kind, s, e),
            }
        }
    }
    out
}
