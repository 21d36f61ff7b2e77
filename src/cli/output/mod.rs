//! Machine-readable reports (`--output-format json|sarif|github|gitlab`).
//!
//! In these formats a run collects one [`FileRecord`] per input and prints one report on
//! standard output at the end; the text output (diffs, file lists, `PATH:LINE:` lines) is not
//! printed, errors still go to standard error. Every fix is located with
//! [`dfrewrite::rewrite_traced`]. JSON gives each fix's edits on the text of the round that
//! found it (replaying the rounds' applied fixes gives the rewrite); SARIF, whose fixes apply
//! to the file as given, gives a later round's fix only when round 0 found the same fix there
//! and did not apply it. Either way the output grows with the edits, not with fixes × earlier
//! fixes.

pub(crate) mod github;
pub(crate) mod gitlab;
pub(crate) mod json;
mod record;
pub(crate) mod sarif;

use std::collections::BTreeSet;
use std::path::PathBuf;

use dfrewrite::text::TextRange;
use dfrewrite::{Applicability, Finding, Trace};

/// What standard output carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OutputFormat {
    /// Diffs, file lists or the rewritten text; fixes on standard error (`human`, as
    /// `verify` calls its default, is accepted too).
    #[default]
    #[value(alias = "human")]
    Text,
    /// One JSON document (schema version 2, see the README).
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// GitHub Actions workflow commands (annotations).
    Github,
    /// GitLab Code Quality JSON.
    Gitlab,
}

/// The run's mode, as reports name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunMode {
    Diff,
    Check,
    Apply,
    /// Standard input: nothing is written.
    Stdin,
}

impl RunMode {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Diff => "diff",
            Self::Check => "check",
            Self::Apply => "apply",
            Self::Stdin => "stdin",
        }
    }
}

/// One input of the run.
pub(crate) struct FileRecord {
    /// The path as shown to the user (relative to the working directory when given so).
    pub(crate) path: String,
    pub(crate) result: Result<Checked, ErrorRecord>,
}

/// An input that could not be processed.
pub(crate) struct ErrorRecord {
    /// 1-based line and column (in characters) when the error has a place in the file.
    pub(crate) position: Option<(u32, u32)>,
    pub(crate) message: String,
}

/// An input that was rewritten (or found clean).
pub(crate) struct Checked {
    pub(crate) source: String,
    pub(crate) trace: Trace,
    /// Whether the rewrite was written back (`--apply`).
    pub(crate) written: bool,
    /// The build context directory as shown, where proposed files go.
    pub(crate) context: Option<PathBuf>,
    /// The proposed files (by their path in the context) that `--apply` created.
    pub(crate) created: BTreeSet<String>,
}

impl Checked {
    /// Where a proposed file (a path in the context) goes, as shown to the user.
    pub(crate) fn shown(&self, path: &str) -> String {
        self.context.as_ref().map_or_else(
            || path.to_owned(),
            |dir| super::render::display(&dir.join(path)),
        )
    }
}

/// The whole run.
pub(crate) struct Report<'r> {
    pub(crate) mode: RunMode,
    pub(crate) unsafe_fixes: bool,
    pub(crate) files: &'r [FileRecord],
}

impl Report<'_> {
    pub(crate) fn render(&self, format: OutputFormat) -> String {
        match format {
            OutputFormat::Text => String::new(),
            OutputFormat::Json => json::render(self),
            OutputFormat::Sarif => sarif::render(self),
            OutputFormat::Github => github::render(self),
            OutputFormat::Gitlab => gitlab::render(self),
        }
    }
}

/// A place in a text, in every unit a consumer may count in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Position {
    /// Byte offset from the start of the text (a BOM counts).
    pub(crate) offset: u32,
    /// 1-based line; lines end at `\n`.
    pub(crate) line: u32,
    /// 1-based column in characters (Unicode scalar values), as messages count.
    pub(crate) column: u32,
    /// 1-based column in UTF-8 bytes.
    pub(crate) utf8_column: u32,
    /// 1-based column in UTF-16 code units (LSP, SARIF's default, VS Code).
    pub(crate) utf16_column: u32,
}

/// Line starts of a text, to turn byte offsets into [`Position`]s.
pub(crate) struct Lines<'t> {
    text: &'t str,
    starts: Vec<usize>,
}

impl<'t> Lines<'t> {
    pub(crate) fn new(text: &'t str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Self { text, starts }
    }

    /// The position of byte `offset` (clamped to the text and to a character boundary).
    /// Columns do not count a BOM at the start of the text: editors do not show it.
    pub(crate) fn position(&self, offset: u32) -> Position {
        let mut at = (offset as usize).min(self.text.len());
        while !self.text.is_char_boundary(at) {
            at -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= at) - 1;
        let mut start = self.starts[line];
        if line == 0 && self.text.starts_with('\u{feff}') && at >= 3 {
            start = 3;
        }
        let before = &self.text[start..at];
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).saturating_add(1);
        Position {
            offset: u32::try_from(at).unwrap_or(u32::MAX),
            line: count(line),
            column: count(before.chars().count()),
            utf8_column: count(before.len()),
            utf16_column: count(before.encode_utf16().count()),
        }
    }

    pub(crate) fn span(&self, range: TextRange) -> Span {
        Span {
            start: self.position(range.start),
            end: self.position(range.end),
        }
    }
}

/// A range of a text: `end` is exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Span {
    pub(crate) start: Position,
    pub(crate) end: Position,
}

/// One replacement of a range of a text: the file as given, or the text of a round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceEdit {
    pub(crate) range: TextRange,
    pub(crate) content: String,
    /// For an applied fix, the edit's place among the edits its round splices.
    pub(crate) order: Option<u32>,
}

/// A finding's edits on the text of its round, without the empty edits advice may carry
/// only to mark its place (they change nothing).
pub(crate) fn round_edits(finding: &Finding) -> Vec<SourceEdit> {
    let Some(fix) = &finding.fix else {
        return Vec::new();
    };
    fix.edits()
        .iter()
        .enumerate()
        .filter(|(_, e)| !(e.range.is_empty() && e.content.is_empty()))
        .map(|(n, e)| SourceEdit {
            range: e.range,
            content: e.content.clone(),
            order: finding.order.get(n).copied(),
        })
        .collect()
}

/// A finding's edits on the file as given ([`Trace::edits_on_source`]): `None` for a
/// later round's fix that needs earlier fixes; empty for a finding without edits.
pub(crate) fn source_edits(trace: &Trace, finding: &Finding) -> Option<Vec<SourceEdit>> {
    if round_edits(finding).is_empty() {
        return Some(Vec::new());
    }
    Some(
        trace
            .edits_on_source(finding)?
            .iter()
            .filter(|e| !(e.range.is_empty() && e.content.is_empty()))
            .map(|e| SourceEdit {
                range: e.range,
                content: e.content.clone(),
                order: None,
            })
            .collect(),
    )
}

/// Whether a finding is a fix `--unsafe` would add.
pub(crate) fn needs_unsafe(finding: &Finding) -> bool {
    !finding.applied && finding.applicability == Applicability::Unsafe
}

/// The name reports use for an applicability.
pub(crate) fn applicability_name(applicability: Applicability) -> &'static str {
    match applicability {
        Applicability::Safe => "safe",
        Applicability::Unsafe => "unsafe",
        Applicability::DisplayOnly => "display-only",
    }
}

/// A trace's findings sorted by where they are, as the text output orders its lines.
pub(crate) fn by_position(trace: &Trace) -> Vec<&Finding> {
    let mut findings: Vec<&Finding> = trace.findings.iter().collect();
    findings.sort_by_key(|f| (f.range.start, f.range.end));
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_bytes_chars_and_utf16_units() {
        // é is 2 bytes, 1 char, 1 UTF-16 unit; 😀 is 4 bytes, 1 char, 2 units: before x,
        // 7 chars, 11 bytes, 8 units.
        let text = "FROM a\nRUN é😀 x\n";
        let lines = Lines::new(text);
        let x = u32::try_from(text.find('x').unwrap()).unwrap();
        let p = lines.position(x);
        assert_eq!(
            (p.line, p.column, p.utf8_column, p.utf16_column),
            (2, 8, 12, 9)
        );
        assert_eq!(p.offset, x);
        let start = lines.position(0);
        assert_eq!((start.line, start.column), (1, 1));
    }

    #[test]
    fn a_bom_is_not_a_column() {
        let text = "\u{feff}FROM a\n";
        let p = Lines::new(text).position(3);
        assert_eq!(
            (p.offset, p.column, p.utf8_column, p.utf16_column),
            (3, 1, 1, 1)
        );
    }
}
