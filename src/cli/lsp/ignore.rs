//! The "ignore this pass here" code action: a `# dfrewrite: ignore=PASS` line above the
//! instruction a finding is about (see the README's "Inline ignores").

use dfrewrite::Finding;
use dfrewrite::text::TextRange;

/// A sub-kind of `quickfix`, so that clients asking for quick fixes get it too, while a
/// client (or test) can tell it from the fix itself.
pub(super) const KIND: &str = "quickfix.dfrewrite.ignore";

/// Where the instructions of a text lie, parsed once per analysis: a code action request
/// (sent on every cursor move) then finds a finding's instruction without parsing again.
pub(super) struct Instructions {
    /// `(start, keyword start, end)` of each instruction, in text order. Instructions are
    /// whole lines and never overlap, so the one holding an offset is found by binary search.
    spans: Vec<(u32, u32, u32)>,
}

impl Instructions {
    /// `None` when the text does not parse (then no pragma is offered).
    pub(super) fn of(text: &str) -> Option<Self> {
        let file = dfrewrite::syntax::parse(text).ok()?;
        let spans = file
            .instructions()
            .map(|i| (i.range.start, i.keyword().start, i.range.end))
            .collect();
        Some(Self { spans })
    }

    fn holding(&self, at: u32) -> Option<(u32, u32, u32)> {
        let after = self.spans.partition_point(|&(start, _, _)| start <= at);
        let span = *self.spans.get(after.checked_sub(1)?)?;
        (at < span.2).then_some(span)
    }
}

/// The insertion that puts a pragma for `finding`'s pass above the instruction it is about,
/// indented and ended like that instruction's line; `None` for a finding about no single
/// instruction (a proposed file, a report on a pragma, an addition at the end of the file).
/// `instructions` gives the text's instructions (`None` when it does not parse); it is only
/// called for a finding that can have a pragma.
pub(super) fn pragma_edit<'i>(
    text: &str,
    instructions: impl FnOnce() -> Option<&'i Instructions>,
    finding: &Finding,
) -> Option<(TextRange, String)> {
    if finding.file.is_some() || dfrewrite::pass_by_name(finding.pass).is_none() {
        return None;
    }
    let (start, keyword, end) = instructions()?.holding(finding.range.start)?;
    // instructions start at the start of a line; the blanks before the keyword are its indent
    let indent = &text[start as usize..keyword as usize];
    let line = &text[start as usize..end as usize];
    let eol = if line.contains("\r\n") { "\r\n" } else { "\n" };
    Some((
        TextRange::empty(start),
        format!("{indent}# dfrewrite: ignore={}{eol}", finding.pass),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_instruction_holding_an_offset_is_found() {
        let text = "FROM a\n\n  RUN b \\\n  c\nCOPY d e\n";
        let ins = Instructions::of(text).unwrap();
        let at = |s: &str| u32::try_from(text.find(s).unwrap()).unwrap();
        let (run, copy, len) = (at("RUN"), at("COPY"), u32::try_from(text.len()).unwrap());
        // the blank line between instructions, the indent, the continuation, the last byte
        assert_eq!(ins.holding(7), None);
        assert_eq!(ins.holding(8), Some((8, run, copy)));
        assert_eq!(ins.holding(run + 9).map(|s| s.1), Some(run));
        assert_eq!(ins.holding(copy), Some((copy, copy, len)));
        assert_eq!(ins.holding(len - 1).map(|s| s.0), Some(copy));
        assert_eq!(ins.holding(len), None);
        assert_eq!(ins.holding(0), Some((0, 0, 7)));
    }
}
