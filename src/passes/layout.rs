//! How new text is laid out so that a rewrite reads as if the file's author wrote it: the
//! indentation of its continuation lines, whether `&&` ends a line or starts the next, and a
//! line length beyond which added text goes on a continuation line of its own.

use crate::shell::RunScript;
use crate::syntax::{Dockerfile, Instruction, Keyword};
use crate::text::{Edit, TextRange, to_u32};

/// Added text that would make a line longer than this (or than the file's longest line)
/// goes on a new continuation line.
pub(crate) const MAX_LINE: usize = 120;

/// The longest a line may grow in `file`: [`MAX_LINE`], or the file's longest line.
pub(crate) fn limit(file: &Dockerfile) -> usize {
    let longest = *file.memo.longest_line.get_or_init(|| {
        file.source
            .lines()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0)
    });
    longest.max(MAX_LINE)
}

/// An edit that inserts `words` (starting with a blank: ` --flag`) at `at` inside the shell
/// text of `ins`; when that line would grow past [`limit`], the rest of the line moves to a
/// continuation line of its own instead.
pub(crate) fn insert_words(file: &Dockerfile, ins: &Instruction, at: u32, words: &str) -> Edit {
    insert_words_sharing(file, ins, at, words, 0)
}

/// [`insert_words`] when another edit of the same fix adds `shared` characters further
/// along the same line.
pub(crate) fn insert_words_sharing(
    file: &Dockerfile,
    ins: &Instruction,
    at: u32,
    words: &str,
    shared: usize,
) -> Edit {
    if line_length_with(file, at, words) + shared <= limit(file) || !ins.heredocs().is_empty() {
        return Edit::insert(at, words.to_owned());
    }
    let rest = &file.source[at as usize..];
    let blanks = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    let after = &rest[blanks..];
    let layout = Layout::of(file, ins);
    // at the end of the line or before its continuation, the words go on a line of their own
    if after.is_empty() || after.starts_with(['\n', '\r']) || after.starts_with(file.escape) {
        return Edit::insert(at, format!("{}{}", layout.word_break(), words.trim_start()));
    }
    let line_start = file.source[..at as usize].rfind('\n').map_or(0, |i| i + 1);
    let head = file.source[line_start..at as usize].chars().count();
    let rest = line_length_with(file, at, "") - head;
    let range = TextRange::new(at, at + to_u32(blanks));
    // the rest of the line moves down, or, when the head would still be too long, the words
    // go down with it (or on a line of their own)
    let limit = limit(file);
    let indent = layout.indent.chars().count();
    if head + words.chars().count() + 2 <= limit {
        Edit::replace(range, format!("{words}{}", layout.word_break()))
    } else if indent + words.trim_start().chars().count() + 1 + rest <= limit {
        Edit::replace(
            range,
            format!("{}{} ", layout.word_break(), words.trim_start()),
        )
    } else {
        Edit::replace(
            range,
            format!(
                "{}{}{}",
                layout.word_break(),
                words.trim_start(),
                layout.word_break()
            ),
        )
    }
}

/// The file's continuation style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Indentation of a continuation line.
    pub(crate) indent: String,
    /// `&&` starts the continuation line (`    && b`) rather than ending the one before.
    pub(crate) leading_ops: bool,
    /// The escape character and line break of the file.
    pub(crate) escape: char,
    pub(crate) newline: &'static str,
}

impl Layout {
    /// The layout near `ins`: its own continuation lines first, else the file's RUNs', else
    /// four spaces with `&&` at the end of the line.
    pub(crate) fn of(file: &Dockerfile, ins: &Instruction) -> Self {
        // the file-wide figures are the same for every instruction: kept in the memo
        let memo = &file.memo;
        let own = code_continuations(file, ins);
        let starts_with_op = |l: &str| l.trim_start().starts_with("&&");
        let leading = |lines: &[&str]| {
            let lead = lines.iter().filter(|l| starts_with_op(l)).count();
            (lead > 0).then_some(lead)
        };
        let trailing = *memo.trailing_ops.get_or_init(|| trailing_ops(file));
        let leading_ops = leading(&own)
            .or_else(|| {
                *memo.leading_ops.get_or_init(|| {
                    let all: Vec<&str> = file
                        .instructions()
                        .filter(|i| i.kind == Keyword::Run)
                        .flat_map(|i| code_continuations(file, i))
                        .collect();
                    leading(&all)
                })
            })
            .unwrap_or(0)
            > trailing;
        // the lines a new command would be: those that start with `&&`, or follow a line
        // ending with `&&` (not the deeper package lines of `apt-get install -y \`)
        let commands = |ins: &Instruction| -> Vec<&str> {
            let lines = code_continuations(file, ins);
            let first = file.slice(ins.range).lines().next().unwrap_or("");
            let mut picked = Vec::new();
            let mut previous = first;
            for line in &lines {
                let ends_op = previous
                    .trim_end()
                    .strip_suffix(file.escape)
                    .is_some_and(|p| p.trim_end().ends_with("&&"));
                if starts_with_op(line) == leading_ops && (leading_ops || ends_op) {
                    picked.push(*line);
                }
                previous = line;
            }
            if picked.is_empty() { lines } else { picked }
        };
        let file_indent = || {
            memo.command_indent[usize::from(leading_ops)]
                .get_or_init(|| {
                    let all_commands: Vec<&str> = file
                        .instructions()
                        .filter(|i| i.kind == Keyword::Run)
                        .flat_map(&commands)
                        .collect();
                    most_common_indent(&all_commands)
                })
                .clone()
        };
        let indent = most_common_indent(&commands(ins))
            .filter(|i| !i.is_empty())
            .or_else(|| file_indent().filter(|i| !i.is_empty()))
            .unwrap_or_else(|| "    ".to_owned());
        let newline = if *memo
            .crlf
            .get_or_init(|| file.source.contains('\r') && file.source.contains("\r\n"))
        {
            "\r\n"
        } else {
            "\n"
        };
        Self {
            indent,
            leading_ops,
            escape: file.escape,
            newline,
        }
    }

    /// The text that joins `left` and a next command on a new continuation line, with `&&`
    /// where the file puts it: ` && \⏎    ` or ` \⏎    && `.
    pub(crate) fn and_break(&self) -> String {
        if self.leading_ops {
            format!(" {}{}{}&& ", self.escape, self.newline, self.indent)
        } else {
            format!(" && {}{}{}", self.escape, self.newline, self.indent)
        }
    }

    /// A line break inside the flags of a RUN: ` \⏎    `.
    pub(crate) fn word_break(&self) -> String {
        format!(" {}{}{}", self.escape, self.newline, self.indent)
    }
}

/// Where a line of a RUN body may break: a run of blanks between two shell words.
#[derive(Debug, Clone, Copy)]
struct Gap {
    blanks: crate::text::TextRange,
    /// Next to a `&&`/`||` of a top-level list (on the side the file puts its breaks).
    at_operator: bool,
}

/// The blanks of `script` where a line break keeps what the shell reads: after each
/// `&&`/`||` of a top-level list (before it when the file leads with operators), and
/// between the words of a command outside command substitutions. A break replaces the
/// blanks by ` \⏎INDENT`; BuildKit joins the lines back and the shell still sees blanks
/// between the same words.
fn gaps(file: &Dockerfile, script: &RunScript<'_>, leading_ops: bool) -> Vec<Gap> {
    let source = &file.source;
    let is_blank = |from: usize, to: usize| {
        from < to && source[from..to].bytes().all(|b| b == b' ' || b == b'\t')
    };
    let mut out = Vec::new();
    if !script.instruction.heredocs().is_empty() {
        return out;
    }
    for chain in &script.script.chains {
        for (_, op) in &chain.operators {
            let op = script.to_source(*op);
            let (from, to) = if leading_ops {
                let before = &source[..op.start as usize];
                let trimmed = before.trim_end_matches([' ', '\t']).len();
                (trimmed, op.start as usize)
            } else {
                let after = &source[op.end as usize..];
                let blanks = after.len() - after.trim_start_matches([' ', '\t']).len();
                (op.end as usize, op.end as usize + blanks)
            };
            let next = source[to..].chars().next();
            if is_blank(from, to)
                && !next.is_some_and(|c| c == file.escape || c == '\n' || c == '\r' || c == '#')
            {
                out.push(Gap {
                    blanks: TextRange::new(to_u32(from), to_u32(to)),
                    at_operator: true,
                });
            }
        }
    }
    for command in &script.script.commands {
        if command.context.in_substitution {
            continue;
        }
        let mut words: Vec<TextRange> = command
            .assignments
            .iter()
            .chain(&command.name)
            .chain(&command.args)
            .map(|w| script.to_source(w.range))
            .collect();
        words.sort_by_key(|r| r.start);
        for pair in words.windows(2) {
            let (from, to) = (pair[0].end as usize, pair[1].start as usize);
            if is_blank(from, to) {
                out.push(Gap {
                    blanks: TextRange::new(to_u32(from), to_u32(to)),
                    at_operator: false,
                });
            }
        }
    }
    out.sort_by_key(|g| g.blanks.start);
    out
}

/// The edits that break the text from `from` to `end` of a RUN body (one source line; it
/// starts at `from` after `prefix` characters) so that each piece fits in [`limit`], the last
/// with `extra` characters added after `end`. Breaks go after `&&` (or before it, as the file
/// writes), else between words, as far right as fits. Empty when it fits as it is; `None`
/// when it cannot be made to fit. No break touches the edits in `avoid` (the rest of the fix).
pub(crate) fn fit(
    file: &Dockerfile,
    (script, layout): (&RunScript<'_>, &Layout),
    (from, prefix): (u32, usize),
    (end, extra): (u32, usize),
    avoid: &[Edit],
) -> Option<Vec<Edit>> {
    let limit = limit(file);
    let width = |a: u32, b: u32| file.source[a as usize..b as usize].chars().count();
    let indent = layout.indent.chars().count();
    let gaps: Vec<Gap> = gaps(file, script, layout.leading_ops)
        .into_iter()
        .filter(|g| g.blanks.start > from && g.blanks.end < end)
        .filter(|g| {
            let edit = Edit::replace(g.blanks, String::new());
            !avoid.iter().any(|a| crate::text::edits_overlap(a, &edit))
        })
        .collect();
    let mut edits = Vec::new();
    let (mut start, mut lead) = (from, prefix);
    while lead + width(start, end) + extra > limit {
        // the first line of the piece ends with ` \`
        let fits =
            |g: &&Gap| g.blanks.start > start && lead + width(start, g.blanks.start) + 2 <= limit;
        let gap = gaps
            .iter()
            .filter(|g| g.at_operator)
            .rfind(fits)
            .or_else(|| gaps.iter().rfind(fits))?;
        edits.push(Edit::replace(gap.blanks, layout.word_break()));
        start = gap.blanks.end;
        lead = indent;
    }
    Some(edits)
}

/// Whether an instruction's `text` is one line: only blanks follow its first line break
/// (most instructions; found with memchr, as a line iterator costs more on a short text).
fn one_line(text: &str) -> bool {
    memchr::memchr(b'\n', text.as_bytes()).is_none_or(|first| text[first + 1..].trim().is_empty())
}

/// The lines after the first of `ins` that carry code (not comments, not blank).
fn code_continuations<'f>(file: &'f Dockerfile, ins: &Instruction) -> Vec<&'f str> {
    let text = file.slice(ins.range);
    if one_line(text) {
        return Vec::new();
    }
    text.lines()
        .skip(1)
        .filter(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#')
        })
        .take_while(|_| ins.heredocs().is_empty())
        .collect()
}

fn most_common_indent(lines: &[&str]) -> Option<String> {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for line in lines {
        let indent = &line[..line.len() - line.trim_start_matches([' ', '\t']).len()];
        match counts.iter_mut().find(|(i, _)| *i == indent) {
            Some((_, n)) => *n += 1,
            None => counts.push((indent, 1)),
        }
    }
    // the most common; on a tie the first seen
    let mut best: Option<(&str, usize)> = None;
    for (indent, n) in counts {
        if best.is_none_or(|(_, m)| n > m) {
            best = Some((indent, n));
        }
    }
    best.map(|(i, _)| i.to_owned())
}

/// How many RUN lines end with `&&` before their continuation.
fn trailing_ops(file: &Dockerfile) -> usize {
    let escape = file.escape;
    let ends_op = |l: &str| {
        l.trim_end()
            .strip_suffix(escape)
            .is_some_and(|rest| rest.trim_end().ends_with("&&"))
    };
    file.instructions()
        .filter(|i| i.kind == Keyword::Run)
        .map(|i| {
            let text = file.slice(i.range);
            // its one line, trimmed at the end as `ends_op` trims it: no line iterator
            if one_line(text) {
                usize::from(ends_op(text))
            } else {
                text.lines().filter(|l| ends_op(l)).count()
            }
        })
        .sum()
}

/// The length in characters of the source line holding byte `offset`, were `added` inserted
/// there.
pub(crate) fn line_length_with(file: &Dockerfile, offset: u32, added: &str) -> usize {
    let at = offset as usize;
    let start = file.source[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = file.source[at..]
        .find(['\n', '\r'])
        .map_or(file.source.len(), |i| at + i);
    file.source[start..end].chars().count() + added.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(text: &str, which: usize) -> Layout {
        let file = crate::syntax::parse(text).unwrap();
        let ins = file.instructions().nth(which).unwrap();
        Layout::of(&file, ins)
    }

    #[test]
    fn follows_the_file() {
        let l = layout(
            "FROM a\nRUN a\nRUN b && \\\n  c \\\n      d \\\n      e\n",
            1,
        );
        assert_eq!((l.indent.as_str(), l.leading_ops), ("  ", false));
        let l = layout(
            "FROM a\nRUN a \\\n\t&& b \\\n\t\tpkg \\\n\t\tpkg2 \\\n\t&& c\nRUN d\n",
            2,
        );
        assert_eq!((l.indent.as_str(), l.leading_ops), ("\t", true));
        assert_eq!(l.and_break(), " \\\n\t&& ");
        // a blank or comment line inside a continuation is not the style
        let l = layout("FROM a\nRUN a \\\n\n# x\n    && b\n", 1);
        assert_eq!((l.indent.as_str(), l.leading_ops), ("    ", true));
        let l = layout("FROM a\nRUN a\n", 1);
        assert_eq!(l.and_break(), " && \\\n    ");
    }

    #[test]
    fn line_length() {
        let file = crate::syntax::parse("FROM a\nRUN abc\n").unwrap();
        assert_eq!(line_length_with(&file, 10, "xy"), 9);
    }
}
