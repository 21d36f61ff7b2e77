//! The "ignore this pass here" code action: a `# dfrewrite: ignore=PASS` line above the
//! instruction a finding is about (see the README's "Inline ignores").

use dfrewrite::Finding;
use dfrewrite::text::TextRange;

/// A sub-kind of `quickfix`, so that clients asking for quick fixes get it too, while a
/// client (or test) can tell it from the fix itself.
pub(super) const KIND: &str = "quickfix.dfrewrite.ignore";

/// The insertion that puts a pragma for `finding`'s pass above the instruction it is about,
/// indented and ended like that instruction's line; `None` for a finding about no single
/// instruction (a proposed file, a report on a pragma, an addition at the end of the file).
pub(super) fn pragma_edit(text: &str, finding: &Finding) -> Option<(TextRange, String)> {
    if finding.file.is_some() || dfrewrite::pass_by_name(finding.pass).is_none() {
        return None;
    }
    let file = dfrewrite::syntax::parse(text).ok()?;
    let at = finding.range.start;
    let ins = file
        .instructions()
        .find(|i| i.range.start <= at && at < i.range.end)?;
    // instructions start at the start of a line; the blanks before the keyword are its indent
    let start = ins.range.start as usize;
    let indent = &text[start..ins.keyword.start as usize];
    let line = &text[start..ins.range.end as usize];
    let eol = if line.contains("\r\n") { "\r\n" } else { "\n" };
    Some((
        TextRange::empty(ins.range.start),
        format!("{indent}# dfrewrite: ignore={}{eol}", finding.pass),
    ))
}
