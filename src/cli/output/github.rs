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

/// The Markdown that `github` appends to `$GITHUB_STEP_SUMMARY` (as `verify` does): a count
/// per file that has something to say.
pub(crate) fn step_summary(report: &Report<'_>) -> String {
    let mut rows = String::new();
    let (mut applied, mut unsafe_left, mut errors) = (0, 0, 0);
    for record in report.files {
        let checked = match &record.result {
            Ok(checked) => checked,
            Err(error) => {
                errors += 1;
                let _ = writeln!(
                    rows,
                    "| `{}` | error: {} | | |",
                    cell(&record.path),
                    cell(&error.message)
                );
                continue;
            }
        };
        let findings = &checked.trace.findings;
        let count = |keep: &dyn Fn(&dfrewrite::Finding) -> bool| {
            findings.iter().filter(|f| keep(f)).count()
        };
        let fixes = count(&|f| f.applied);
        let left = count(&|f| super::needs_unsafe(f) && !report.unsafe_fixes);
        let advice = count(&|f| f.applicability == Applicability::DisplayOnly);
        if fixes + left + advice > 0 {
            let _ = writeln!(
                rows,
                "| `{}` | {fixes} | {left} | {advice} |",
                cell(&record.path)
            );
        }
        applied += fixes;
        unsafe_left += left;
    }
    let verb = if report.mode == super::RunMode::Apply {
        "applied"
    } else {
        "to apply"
    };
    let mut out = format!(
        "### dfrewrite: {applied} fixes {verb}, {unsafe_left} more with --unsafe, {} files, {errors} errors\n\n",
        report.files.len()
    );
    if !rows.is_empty() {
        out.push_str("| file | fixes | unsafe fixes left | advice |\n| --- | --- | --- | --- |\n");
        out.push_str(&rows);
    }
    out.push('\n');
    out
}

/// Text for one Markdown table cell, inside backticks or not: one line, no `|` or backtick.
fn cell(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.replace('|', "\\|").replace('`', "'")
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
