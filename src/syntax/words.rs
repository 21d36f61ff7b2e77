//! Word splitting exactly as BuildKit's parser does it, with byte ranges.
//!
//! BuildKit splits a line in several slightly different ways (flags, ENV/LABEL/ARG words,
//! whitespace-delimited lists, and its shell lexer for heredoc detection); each function
//! here mirrors one of them. Ranges are byte offsets into the string passed in.

use std::ops::Range;

/// BuildKit's `reWhitespace`: `[\t\v\f\r ]+`.
pub(crate) fn is_split_space(c: char) -> bool {
    matches!(c, '\t' | '\u{b}' | '\u{c}' | '\r' | ' ')
}

/// `reWhitespace.Split(s, -1)`, with ranges (empty pieces kept, as Go does).
pub(crate) fn split_whitespace_delimited(s: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if is_split_space(c) {
            out.push(start..i);
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if !is_split_space(d) {
                    break;
                }
                end = j + d.len_utf8();
                chars.next();
            }
            start = end;
        }
    }
    out.push(start..s.len());
    out
}

/// A `--flag` word found by BuildKit's `extractBuilderFlags`.
pub(crate) struct RawFlag {
    pub(crate) range: Range<usize>,
    /// The flag with quotes removed, as BuildKit reports it.
    pub(crate) text: String,
}

/// BuildKit's `extractBuilderFlags`: leading `--name[=value]` words. Returns the flags and
/// the offset where the remaining arguments begin (`s.len()` when nothing remains).
pub(crate) fn extract_flags(s: &str) -> (Vec<RawFlag>, usize) {
    let bytes = s.as_bytes();
    let mut flags = Vec::new();
    let mut pos = 0;
    loop {
        while pos < s.len() {
            let c = s[pos..].chars().next().unwrap_or(' ');
            if !c.is_whitespace() {
                break;
            }
            pos += c.len_utf8();
        }
        if pos >= s.len() {
            return (flags, s.len());
        }
        if !(bytes[pos] == b'-' && bytes.get(pos + 1) == Some(&b'-')) {
            return (flags, pos);
        }
        let start = pos;
        let mut word = String::new();
        let mut blank_ok = false;
        let mut quote: Option<char> = None;
        while pos < s.len() {
            let c = s[pos..].chars().next().unwrap_or(' ');
            let w = c.len_utf8();
            match quote {
                None if c.is_whitespace() => break,
                None if c == '\'' || c == '"' => {
                    quote = Some(c);
                    blank_ok = true;
                }
                Some(q) if c == q => quote = None,
                _ if c == '\\' => {
                    if pos + 1 == s.len() {
                        pos += 1;
                        continue;
                    }
                    let next = s[pos + 1..].chars().next().unwrap_or(' ');
                    word.push(next);
                    pos += 1 + next.len_utf8();
                    continue;
                }
                _ => word.push(c),
            }
            pos += w;
        }
        if word == "--" {
            return (flags, pos);
        }
        if blank_ok || !word.is_empty() {
            flags.push(RawFlag {
                range: start..pos,
                text: word,
            });
        }
    }
}

/// An escape character and the character it escapes, both kept as written; a trailing
/// escape character with nothing after it is dropped.
fn push_escaped(
    word: &mut String,
    c: char,
    iter: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
) {
    if let Some((_, next)) = iter.next() {
        word.push(c);
        word.push(next);
    }
}

/// BuildKit's `parseWords` (ENV, LABEL, ARG): whitespace-separated words with quotes and
/// escapes kept as written. Returns each word's range and text.
pub(crate) fn parse_words(s: &str, escape: char) -> Vec<(Range<usize>, String)> {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote(char),
    }
    let mut out = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word = String::new();
    let mut start = 0;
    let mut blank_ok = false;
    let mut iter = s.char_indices().peekable();
    while let Some((pos, c)) = iter.next() {
        if phase == Phase::Spaces {
            if c.is_whitespace() {
                continue;
            }
            phase = Phase::Word;
            start = pos;
        }
        match phase {
            Phase::Word => {
                if c.is_whitespace() {
                    if blank_ok || !word.is_empty() {
                        // an exact-size copy; the buffer is reused for the next word
                        out.push((start..pos, word.clone()));
                    }
                    word.clear();
                    blank_ok = false;
                    phase = Phase::Spaces;
                    continue;
                }
                if c == '\'' || c == '"' {
                    phase = Phase::Quote(c);
                    blank_ok = true;
                }
                if c == escape {
                    push_escaped(&mut word, c, &mut iter);
                    continue;
                }
                word.push(c);
            }
            Phase::Quote(q) => {
                if c == q {
                    phase = Phase::Word;
                }
                if c == escape && q != '\'' {
                    if iter.peek().is_none() {
                        phase = Phase::Word;
                    }
                    push_escaped(&mut word, c, &mut iter);
                    continue;
                }
                word.push(c);
            }
            Phase::Spaces => unreachable!("handled above"),
        }
    }
    if phase != Phase::Spaces && (blank_ok || !word.is_empty()) {
        out.push((start..s.len(), word.as_str().to_owned()));
    }
    out
}

/// A word from BuildKit's shell lexer, as heredoc detection sees it.
pub(crate) struct ShellWord {
    pub(crate) range: Range<usize>,
    /// The word with quotes and escapes kept (`RawQuotes`, `RawEscapes`).
    pub(crate) raw: String,
}

/// BuildKit's shell lexer in the mode heredoc detection uses (escape `\`, quotes and escapes
/// kept, variables expanded against an empty environment). `None` when the lexer would
/// fail (an unterminated quote or `${`), in which case BuildKit finds no heredoc.
pub(crate) fn shell_words(line: &str) -> Option<Vec<ShellWord>> {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut word = String::new();
    let mut start: Option<usize> = None;
    let end_of = |i: usize| chars.get(i).map_or(line.len(), |&(p, _)| p);
    while i < chars.len() {
        let (pos, c) = chars[i];
        if c.is_whitespace() {
            if let Some(st) = start.take() {
                out.push(ShellWord {
                    range: st..pos,
                    raw: std::mem::take(&mut word),
                });
            }
            i += 1;
            continue;
        }
        start.get_or_insert(pos);
        match c {
            '\'' => {
                let close = (i + 1..chars.len()).find(|&j| chars[j].1 == '\'')?;
                word.push_str(&line[pos..end_of(close + 1)]);
                i = close + 1;
            }
            '"' => {
                let mut j = i + 1;
                loop {
                    let &(_, d) = chars.get(j)?;
                    if d == '"' {
                        break;
                    }
                    if d == '\\' {
                        j += 1;
                    } else if d == '$' && chars.get(j + 1).map(|c| c.1) == Some('{') {
                        j = skip_braces(&chars, j + 1)?;
                    }
                    j += 1;
                }
                word.push_str(&line[pos..end_of(j + 1)]);
                i = j + 1;
            }
            '\\' => {
                let next = (i + 1).min(chars.len());
                word.push_str(&line[pos..end_of(next + 1)]);
                i = next + 1;
            }
            '$' => {
                if chars.get(i + 1).map(|c| c.1) == Some('{') {
                    let close = skip_braces(&chars, i + 1)?;
                    i = close + 1;
                } else {
                    // `$name` expands to nothing; `$` followed by anything else stays.
                    let mut j = i + 1;
                    let is_name = |c: char| c.is_alphanumeric() || c == '_';
                    match chars.get(j).map(|c| c.1) {
                        Some(d)
                            if d.is_ascii_digit()
                                || matches!(d, '*' | '#' | '@' | '?' | '$' | '!' | '-') =>
                        {
                            j += 1;
                        }
                        Some(d) if is_name(d) => {
                            while chars.get(j).is_some_and(|c| is_name(c.1)) {
                                j += 1;
                            }
                        }
                        _ => word.push('$'),
                    }
                    i = j;
                }
            }
            _ => {
                word.push(c);
                i += 1;
            }
        }
    }
    if let Some(st) = start {
        out.push(ShellWord {
            range: st..line.len(),
            raw: word,
        });
    }
    Some(out)
}

/// Index of the `}` that closes the `{` at `open`, or `None` when there is none.
fn skip_braces(chars: &[(usize, char)], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut j = open;
    while let Some(&(_, c)) = chars.get(j) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            '\\' => j += 1,
            _ => {}
        }
        j += 1;
    }
    None
}

/// A heredoc opener found in a word (`[digits]<<[-]NAME`).
pub(crate) struct HeredocWord {
    pub(crate) name: String,
    pub(crate) chomp: bool,
    pub(crate) quoted: bool,
    pub(crate) fd: u32,
}

/// BuildKit's `ParseHeredoc` on one raw word.
pub(crate) fn heredoc_word(raw: &str) -> Option<HeredocWord> {
    let digits = raw.bytes().take_while(u8::is_ascii_digit).count();
    let rest = raw[digits..].strip_prefix("<<")?;
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    if rest.is_empty() || rest.contains('<') {
        return None;
    }
    let (unquoted, quote_count_kept) = unquote(rest)?;
    let raw_quote_count = rest.chars().filter(|&c| c == '\'' || c == '"').count();
    Some(HeredocWord {
        name: unquoted,
        chomp,
        quoted: quote_count_kept != raw_quote_count,
        fd: raw[..digits].parse().unwrap_or(0),
    })
}

/// Removes quotes and escapes from a single shell word; `None` when it is not exactly one
/// word. Also returns how many quote characters survive (escaped or nested quotes).
fn unquote(s: &str) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                for d in chars.by_ref() {
                    if d == '\'' {
                        break;
                    }
                    out.push(d);
                }
            }
            '"' => {
                while let Some(d) = chars.next() {
                    match d {
                        '"' => break,
                        '\\' => out.push(chars.next()?),
                        _ => out.push(d),
                    }
                }
            }
            '\\' => out.push(chars.next()?),
            c if c.is_whitespace() => return None,
            _ => out.push(c),
        }
    }
    let kept = out.chars().filter(|&c| c == '\'' || c == '"').count();
    Some((out, kept))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_rest() {
        let s = "--mount=type=cache,target=\"/x\" --network=none  apt-get install";
        let (flags, rest) = extract_flags(s);
        assert_eq!(flags.len(), 2);
        assert_eq!(flags[0].text, "--mount=type=cache,target=/x");
        assert_eq!(&s[flags[1].range.clone()], "--network=none");
        assert_eq!(&s[rest..], "apt-get install");
        let (flags, rest) = extract_flags("--x -- echo");
        assert_eq!(flags.len(), 1);
        assert_eq!(rest, 6, "args start right after `--` (trimmed later)");
    }

    #[test]
    fn words_keep_quotes() {
        let w = parse_words(r#"PATH="/opt/bin:$PATH" X='y z' EMPTY="#, '\\');
        let texts: Vec<_> = w.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(texts, [r#"PATH="/opt/bin:$PATH""#, "X='y z'", "EMPTY="]);
    }

    #[test]
    fn heredoc_detection() {
        let line = r#"RUN cat <<EOF > /x && echo "<<" && echo $((1<<2))"#;
        let words = shell_words(line).unwrap();
        let docs: Vec<_> = words.iter().filter_map(|w| heredoc_word(&w.raw)).collect();
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].name, "EOF");
        let q = heredoc_word("<<-'EOT'").unwrap();
        assert!(q.chomp && q.quoted);
        assert_eq!(q.name, "EOT");
        assert!(heredoc_word("<<<x").is_none());
        assert!(shell_words("echo it's <<EOF").is_none());
    }

    #[test]
    fn whitespace_split() {
        let s = "1  2\t3";
        let parts: Vec<_> = split_whitespace_delimited(s)
            .into_iter()
            .map(|r| &s[r])
            .collect();
        assert_eq!(parts, ["1", "2", "3"]);
    }
}
