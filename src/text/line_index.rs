//! Line and column for messages, computed once per text.

use super::TextRange;

/// Maps byte offsets to 1-based line and column numbers.
///
/// Lines end at `\n` (a CRLF line ends at its `\n` too). Columns count characters, so a
/// multi-byte UTF-8 character or a tab is one column, and the BOM is not counted.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<u32>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        // sized exactly: a large file's index is kept for the whole rewrite
        let breaks = memchr::memchr_iter(b'\n', text.as_bytes());
        let mut starts = Vec::with_capacity(1 + breaks.count());
        starts.push(0);
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| super::to_u32(i + 1)));
        Self { starts }
    }

    /// 1-based line and column of `offset` in `text` (the text this index was built from).
    pub fn line_col(&self, text: &str, offset: u32) -> (u32, u32) {
        let line = self.line(offset) as usize - 1;
        let start = self.starts[line];
        let mut col = TextRange::new(start, offset.min(super::to_u32(text.len())))
            .slice(text)
            .chars()
            .count();
        if line == 0 && text.starts_with('\u{feff}') && offset > 0 {
            col -= 1;
        }
        (super::to_u32(line + 1), super::to_u32(col + 1))
    }

    /// 1-based line of `offset`.
    pub fn line(&self, offset: u32) -> u32 {
        super::to_u32(self.starts.partition_point(|&s| s <= offset))
    }

    /// The offset where 1-based `line` starts (the end of the text past the last line).
    pub fn line_start(&self, line: u32) -> u32 {
        let at = (line.max(1) - 1) as usize;
        self.starts
            .get(at)
            .copied()
            .unwrap_or(*self.starts.last().unwrap_or(&0))
    }

    /// Number of lines (a final line without terminator counts; a trailing `\n` opens none).
    pub fn line_count(&self) -> usize {
        self.starts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns() {
        let text = "\u{feff}FROM a\r\nRUN é x\n";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_col(text, 3), (1, 1));
        assert_eq!(idx.line_col(text, 11), (2, 1));
        let x = u32::try_from(text.find('x').unwrap()).unwrap();
        assert_eq!(idx.line_col(text, x), (2, 7));
    }
}
