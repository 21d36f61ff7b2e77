//! `--output-format github`: one GitHub Actions workflow command per finding
//! (`::warning file=…,line=…::message`), shown as annotations on the pull request.

use std::fmt::Write as _;

use dfrewrite::Applicability;

use super::{Lines, Report};

/// Escapes workflow-command text: `%`, CR and LF always; `:` and `,` too in a property.
pub(crate) fn escape(text: &str, property: bool) -> String {
    let mut out = text
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    if property {
        out = out.replace(':', "%3A").replace(',', "%2C");
    }
    out
}

pub(crate) fn render(report: &Report<'_>) -> String {
    let mut out = String::new();
    for record in report.files {
        let file = escape(&record.path, true);
        let checked = match &record.result {
            Ok(checked) => checked,
            Err(error) => {
                let place = error
                    .position
                    .map(|(line, col)| format!(",line={line},col={col}"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "::error file={file}{place},title=dfrewrite::{}",
                    escape(&error.message, false)
                );
                continue;
            }
        };
        let lines = Lines::new(&checked.source);
        for finding in super::by_position(&checked.trace) {
            // GitHub counts columns in characters.
            let span = lines.span(finding.range);
            // What the run applies (or would) is a warning; the rest is a notice.
            let level = if finding.applied { "warning" } else { "notice" };
            let note = match (finding.applied, finding.applicability) {
                (true, _) => "",
                (false, Applicability::Unsafe) if !report.unsafe_fixes => {
                    " (unsafe fix; use --unsafe)"
                }
                (false, Applicability::DisplayOnly) => " (advice, no fix)",
                (false, _) => " (not applied)",
            };
            let title = format!("dfrewrite {}", finding.pass);
            let _ = writeln!(
                out,
                "::{level} file={file},line={},col={},endLine={},endColumn={},title={}::{}",
                span.start.line,
                span.start.column,
                span.end.line,
                span.end.column,
                escape(&title, true),
                escape(&format!("{}{note}", finding.message), false)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_ends_a_command() {
        assert_eq!(escape("a%b\r\nc:d,e", false), "a%25b%0D%0Ac:d,e");
        assert_eq!(escape("a:b,c", true), "a%3Ab%2Cc");
    }
}
