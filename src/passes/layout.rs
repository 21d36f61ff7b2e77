//! How new text is laid out so that a rewrite reads as if the file's author wrote it: the
//! indentation of its continuation lines, whether `&&` ends a line or starts the next, and a
//! line length beyond which added text goes on a continuation line of its own.

use crate::syntax::{Dockerfile, Instruction, Keyword};

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
pub(crate) fn insert_words(
    file: &Dockerfile,
    ins: &Instruction,
    at: u32,
    words: &str,
) -> crate::text::Edit {
    use crate::text::{Edit, TextRange};
    if line_length_with(file, at, words) <= limit(file) || !ins.heredocs.is_empty() {
        return Edit::insert(at, words.to_owned());
    }
    let rest = &file.source[at as usize..];
    let blanks = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    let after = &rest[blanks..];
    // at the end of the line or before its continuation, there is nothing to move
    if after.is_empty() || after.starts_with(['\n', '\r']) || after.starts_with(file.escape) {
        return Edit::insert(at, words.to_owned());
    }
    let layout = Layout::of(file, ins);
    Edit::replace(
        TextRange::new(at, at + crate::text::to_u32(blanks)),
        format!("{words}{}", layout.word_break()),
    )
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
        let newline = if *memo.crlf.get_or_init(|| file.source.contains("\r\n")) {
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

/// The lines after the first of `ins` that carry code (not comments, not blank).
fn code_continuations<'f>(file: &'f Dockerfile, ins: &Instruction) -> Vec<&'f str> {
    file.slice(ins.range)
        .lines()
        .skip(1)
        .filter(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#')
        })
        .take_while(|_| ins.heredocs.is_empty())
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
    file.instructions()
        .filter(|i| i.kind == Keyword::Run)
        .flat_map(|i| file.slice(i.range).lines())
        .filter(|l| {
            l.trim_end()
                .strip_suffix(escape)
                .is_some_and(|rest| rest.trim_end().ends_with("&&"))
        })
        .count()
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
