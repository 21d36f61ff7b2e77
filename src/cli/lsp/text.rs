//! Byte offsets ↔ LSP positions, and the minimal edits between two texts.

use dfrewrite::text::TextRange;
use lsp_types::{Position, Range, TextEdit};
use similar::{Algorithm, DiffOp, TextDiff};

/// Line starts of a document, for LSP positions: lines end at `\n`, `\r\n` or a lone `\r`
/// (all three, as the protocol says), and characters are counted in UTF-16 code units (the
/// protocol's default, the only encoding this server offers).
pub(crate) struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => starts.push(i + 1),
                b'\r' if bytes.get(i + 1) != Some(&b'\n') => starts.push(i + 1),
                _ => {}
            }
            i += 1;
        }
        Self { text, starts }
    }

    /// The position of byte `offset` (clamped to the text, moved back to a char boundary).
    pub(crate) fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let character: usize = self.text[start..offset].chars().map(char::len_utf16).sum();
        Position::new(to_u32(line), to_u32(character))
    }

    pub(crate) fn range(&self, range: TextRange) -> Range {
        Range::new(
            self.position(range.start as usize),
            self.position(range.end as usize),
        )
    }

    /// The byte offset of `position`; a character past the line's end means its end, a line
    /// past the last means the end of the text.
    pub(crate) fn offset(&self, position: Position) -> usize {
        let Some(&start) = self.starts.get(position.line as usize) else {
            return self.text.len();
        };
        let end = self.line_end(position.line as usize);
        let mut units = 0usize;
        for (i, c) in self.text[start..end].char_indices() {
            if units >= position.character as usize {
                return start + i;
            }
            units += c.len_utf16();
        }
        end
    }

    /// The end of line `line`'s content (before its line break).
    pub(crate) fn line_end(&self, line: usize) -> usize {
        let next = self
            .starts
            .get(line + 1)
            .copied()
            .unwrap_or(self.text.len());
        let content = &self.text[self.starts[line]..next];
        next - (content.len() - content.trim_end_matches(['\n', '\r']).len())
    }

    /// The line holding byte `offset`.
    pub(crate) fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset) - 1
    }
}

pub(crate) fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The edits that turn `old` into `new`: one per changed run of lines, trimmed to the
/// characters that differ, so the cursor and undo history outside them survive.
pub(crate) fn minimal_edits(old: &str, new: &str) -> Vec<(TextRange, String)> {
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .diff_lines(old, new);
    let old_starts = offsets(diff.iter_old_slices());
    let new_starts = offsets(diff.iter_new_slices());
    let mut edits: Vec<(TextRange, String)> = Vec::new();
    for op in diff.ops() {
        if let DiffOp::Equal { .. } = op {
            continue;
        }
        let (o, n) = (op.old_range(), op.new_range());
        let (os, oe) = (old_starts[o.start], old_starts[o.end]);
        let (ns, ne) = (new_starts[n.start], new_starts[n.end]);
        edits.push(trim(old, new, os..oe, ns..ne));
    }
    edits
}

/// Cumulative byte offsets of a list of slices (one more entry than slices).
fn offsets<'s>(slices: impl Iterator<Item = &'s str>) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = 0;
    out.push(0);
    for s in slices {
        at += s.len();
        out.push(at);
    }
    out
}

/// One replacement of `old[o]` by `new[n]`, without the characters both share at either end.
fn trim(
    old: &str,
    new: &str,
    o: std::ops::Range<usize>,
    n: std::ops::Range<usize>,
) -> (TextRange, String) {
    let (a, b) = (&old[o.clone()], &new[n]);
    let prefix: usize = a
        .chars()
        .zip(b.chars())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x.len_utf8())
        .sum();
    let suffix: usize = a[prefix..]
        .chars()
        .rev()
        .zip(b[prefix..].chars().rev())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x.len_utf8())
        .sum();
    // never split a CRLF pair: a client normalising line ends could see a lone `\r`
    let (mut prefix, mut suffix) = (prefix, suffix);
    if a[..prefix].ends_with('\r') && a[prefix..].starts_with('\n') {
        prefix -= 1;
    }
    if a[..a.len() - suffix].ends_with('\r') && a[a.len() - suffix..].starts_with('\n') {
        suffix -= 1;
    }
    let range = TextRange::new(to_u32(o.start + prefix), to_u32(o.end - suffix));
    (range, b[prefix..b.len() - suffix].to_owned())
}

/// Byte-range edits as LSP text edits over the text `lines` indexes.
pub(crate) fn text_edits(lines: &Lines<'_>, edits: &[(TextRange, String)]) -> Vec<TextEdit> {
    edits
        .iter()
        .map(|(range, text)| TextEdit::new(lines.range(*range), text.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(old: &str, edits: &[(TextRange, String)]) -> String {
        let mut out = old.to_owned();
        for (range, text) in edits.iter().rev() {
            out.replace_range(range.start as usize..range.end as usize, text);
        }
        out
    }

    #[test]
    fn utf16_positions_and_back() {
        let text = "a\r\né𝄞x\rz\n";
        let lines = Lines::new(text);
        let x = text.find('x').unwrap();
        assert_eq!(lines.position(x), Position::new(1, 3));
        assert_eq!(lines.offset(Position::new(1, 3)), x);
        assert_eq!(lines.position(text.find('z').unwrap()), Position::new(2, 0));
        assert_eq!(lines.line_end(0), 1);
        assert_eq!(lines.offset(Position::new(0, 99)), 1);
        assert_eq!(lines.offset(Position::new(9, 0)), text.len());
    }

    #[test]
    fn edits_are_small_and_reproduce_the_new_text() {
        let cases = [
            ("FROM a\nADD x /\nRUN y\n", "FROM a\nCOPY x /\nRUN y\n"),
            ("FROM a\r\nRUN a\r\nRUN b\r\n", "FROM a\r\nRUN a && b\r\n"),
            ("x", "y\nx"),
            ("same\n", "same\n"),
            ("\u{feff}é\n", "\u{feff}é é\n"),
        ];
        for (old, new) in cases {
            let edits = minimal_edits(old, new);
            assert_eq!(apply(old, &edits), new, "{old:?} -> {new:?}");
        }
        let edits = minimal_edits("FROM a\nADD x /\nRUN y\n", "FROM a\nCOPY x /\nRUN y\n");
        assert_eq!(edits, vec![(TextRange::new(7, 10), "COPY".to_owned())]);
        // a CRLF pair is replaced whole, never split
        let edits = minimal_edits("a\r\nb\r\n", "a\nb\r\n");
        assert_eq!(edits, vec![(TextRange::new(1, 3), "\n".to_owned())]);
    }
}
