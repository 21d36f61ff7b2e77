//! `--output-format json`: one document per run, schema version [`VERSION`] (README,
//! "JSON output").

use serde::Serialize;

use super::{Checked, FileRecord, Lines, Report, Span, applicability_name, round_edits};

/// Bumped when a field changes meaning or goes away (adding a field does not bump it).
pub(crate) const VERSION: u32 = 2;

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    tool: Tool,
    mode: &'static str,
    #[serde(rename = "unsafe")]
    unsafe_fixes: bool,
    files: Vec<File<'a>>,
    summary: Summary,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct File<'a> {
    path: &'a str,
    /// `unchanged`, `changed` or `error`.
    status: &'static str,
    written: bool,
    error: Option<Error<'a>>,
    fixes: Vec<Fix>,
    new_files: Vec<NewFile<'a>>,
}

#[derive(Serialize)]
struct Error<'a> {
    line: Option<u32>,
    column: Option<u32>,
    message: &'a str,
}

#[derive(Serialize)]
struct Fix {
    pass: &'static str,
    applicability: &'static str,
    applied: bool,
    message: String,
    /// Where the fix lies in the file as given.
    range: Span,
    /// The rewrite round that found it (0: the file as given).
    round: usize,
    /// On the text of round `round`.
    edits: Vec<Edit>,
}

#[derive(Serialize)]
struct Edit {
    range: Span,
    content: String,
    /// For an applied fix, the edit's place among the edits its round splices.
    order: Option<u32>,
}

#[derive(Serialize)]
struct NewFile<'a> {
    /// As shown to the user (the build context directory joined with `context_path`).
    path: String,
    context_path: &'a str,
    pass: &'static str,
    applicability: &'static str,
    applied: bool,
    written: bool,
    message: &'a str,
    line: u32,
    content: &'a str,
}

#[derive(Serialize, Default)]
struct Summary {
    files: usize,
    changed: usize,
    errors: usize,
    fixes_applied: usize,
    more_with_unsafe: usize,
}

pub(crate) fn render(report: &Report<'_>) -> String {
    let mut summary = Summary::default();
    let files = report
        .files
        .iter()
        .map(|record| file(record, report.unsafe_fixes, &mut summary))
        .collect();
    let document = Document {
        version: VERSION,
        tool: Tool {
            name: "dfrewrite",
            version: env!("CARGO_PKG_VERSION"),
        },
        mode: report.mode.name(),
        unsafe_fixes: report.unsafe_fixes,
        files,
        summary,
    };
    let mut out = serde_json::to_string_pretty(&document).unwrap_or_default();
    out.push('\n');
    out
}

fn file<'a>(record: &'a FileRecord, unsafe_fixes: bool, summary: &mut Summary) -> File<'a> {
    summary.files += 1;
    let checked = match &record.result {
        Ok(checked) => checked,
        Err(error) => {
            summary.errors += 1;
            return File {
                path: &record.path,
                status: "error",
                written: false,
                error: Some(Error {
                    line: error.position.map(|(line, _)| line),
                    column: error.position.map(|(_, column)| column),
                    message: &error.message,
                }),
                fixes: Vec::new(),
                new_files: Vec::new(),
            };
        }
    };
    let Checked {
        source,
        trace,
        written,
        created,
        ..
    } = checked;
    let lines = Lines::new(source);
    // the lines of each round's text, for the edits found in it
    let mut round_lines: std::collections::HashMap<usize, Lines<'_>> =
        std::collections::HashMap::new();
    let mut fixes = Vec::new();
    let mut new_files = Vec::new();
    for finding in super::by_position(trace) {
        if finding.applied {
            summary.fixes_applied += 1;
        } else if super::needs_unsafe(finding) && !unsafe_fixes {
            summary.more_with_unsafe += 1;
        }
        if let Some(proposal) = &finding.file {
            new_files.push(NewFile {
                path: checked.shown(&proposal.path),
                context_path: &proposal.path,
                pass: proposal.pass,
                applicability: applicability_name(proposal.applicability),
                applied: finding.applied,
                written: created.contains(&proposal.path),
                message: &proposal.message,
                line: proposal.line,
                content: &proposal.content,
            });
            continue;
        }
        let edits = round_edits(finding);
        let on = round_lines
            .entry(finding.round)
            .or_insert_with(|| Lines::new(trace.text(finding.round)));
        let edits = edits
            .into_iter()
            .map(|e| Edit {
                range: on.span(e.range),
                content: e.content,
                order: e.order,
            })
            .collect();
        fixes.push(Fix {
            pass: finding.pass,
            applicability: applicability_name(finding.applicability),
            applied: finding.applied,
            message: finding.message.clone(),
            range: lines.span(finding.range),
            round: finding.round,
            edits,
        });
    }
    let changed = trace.outcome.has_changes();
    if changed {
        summary.changed += 1;
    }
    File {
        path: &record.path,
        status: if changed { "changed" } else { "unchanged" },
        written: *written,
        error: None,
        fixes,
        new_files,
    }
}
