//! `--output-format sarif`: SARIF 2.1.0 for code scanning (GitHub shows `fixes[]` as
//! suggested changes). Checked against the OASIS schema in `tests/data/`.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::{Lines, Report, Span, applicability_name, source_edits};
use dfrewrite::Applicability;

const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

pub(crate) fn render(report: &Report<'_>) -> String {
    let passes = dfrewrite::passes();
    let rules: Vec<Value> = passes.iter().map(|pass| rule(pass)).collect();
    let mut results = Vec::new();
    let mut notifications = Vec::new();
    for record in report.files {
        let uri = uri(&record.path);
        let checked = match &record.result {
            Ok(checked) => checked,
            Err(error) => {
                let mut location = json!({"physicalLocation": {"artifactLocation": {"uri": uri}}});
                if let Some((line, column)) = error.position {
                    location["physicalLocation"]["region"] =
                        json!({"startLine": line, "startColumn": column});
                }
                notifications.push(json!({
                    "level": "error",
                    "message": {"text": error.message},
                    "locations": [location],
                }));
                continue;
            }
        };
        let lines = Lines::new(&checked.source);
        for finding in super::by_position(&checked.trace) {
            let rule_index = passes.iter().position(|p| p.name == finding.pass);
            let mut result = json!({
                "ruleId": finding.pass,
                "level": level(finding.applicability),
                "message": {"text": finding.message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri},
                        "region": region(&lines.span(finding.range)),
                    }
                }],
                "properties": {
                    "applicability": applicability_name(finding.applicability),
                    "applied": finding.applied,
                    "round": finding.round,
                },
            });
            if let Some(i) = rule_index {
                result["ruleIndex"] = json!(i);
            }
            if let Some(proposal) = &finding.file {
                let shown = checked.shown(&proposal.path);
                result["fixes"] = json!([{
                    "description": {"text": format!("create {shown}")},
                    "artifactChanges": [{
                        "artifactLocation": {"uri": self::uri(&shown)},
                        "replacements": [{
                            "deletedRegion": {"byteOffset": 0, "byteLength": 0},
                            "insertedContent": {"text": proposal.content},
                        }],
                    }],
                }]);
            } else {
                // display-only advice is never applied: no suggested change (as in the LSP)
                let suggest = finding.applicability != Applicability::DisplayOnly;
                match source_edits(&checked.trace, finding) {
                    Some(edits) if suggest && !edits.is_empty() => {
                        let replacements: Vec<Value> = edits
                            .iter()
                            .map(|e| {
                                json!({
                                    "deletedRegion": region(&lines.span(e.range)),
                                    "insertedContent": {"text": e.content},
                                })
                            })
                            .collect();
                        result["fixes"] = json!([{
                            "description": {"text": finding.message},
                            "artifactChanges": [{
                                "artifactLocation": {"uri": uri},
                                "replacements": replacements,
                            }],
                        }]);
                    }
                    // found only after earlier fixes: no change on the file as given is
                    // known to be this fix alone
                    None if suggest => {
                        result["properties"]["needsEarlierFixes"] = json!(true);
                    }
                    _ => {}
                }
            }
            results.push(result);
        }
    }
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "dfrewrite",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "utf16CodeUnits",
            "invocations": [{
                "executionSuccessful": notifications.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    });
    let mut out = serde_json::to_string_pretty(&log).unwrap_or_default();
    out.push('\n');
    out
}

/// One rule per pass: its summary, its whole documentation (`--explain`), and the level of
/// its results when they are fixes.
fn rule(pass: &dfrewrite::PassInfo) -> Value {
    let doc = super::super::render::explain(pass);
    let default_level = match pass.fix {
        dfrewrite::FixAvailability::Never => "note",
        _ => "warning",
    };
    json!({
        "id": pass.name,
        "name": pass.name,
        "shortDescription": {"text": pass.summary},
        "fullDescription": {"text": doc, "markdown": doc},
        "help": {"text": doc, "markdown": doc},
        "helpUri": format!("dfrewrite://explain/{}", pass.name),
        "defaultConfiguration": {"enabled": true, "level": default_level},
    })
}

/// Fixes are warnings (something to change); display-only advice is a note.
fn level(applicability: Applicability) -> &'static str {
    match applicability {
        Applicability::DisplayOnly => "note",
        _ => "warning",
    }
}

/// A SARIF region: lines and UTF-16 columns (the run's `columnKind`) and the byte range.
fn region(span: &Span) -> Value {
    json!({
        "startLine": span.start.line,
        "startColumn": span.start.utf16_column,
        "endLine": span.end.line,
        "endColumn": span.end.utf16_column,
        "byteOffset": span.start.offset,
        "byteLength": span.end.offset - span.start.offset,
    })
}

/// A path as a URI reference: relative paths stay relative (code scanning resolves them
/// from the repository root), absolute ones become `file://` URIs; bytes outside the
/// unreserved set and `/` are percent-encoded.
pub(crate) fn uri(path: &str) -> String {
    let mut out = String::new();
    let path = path.replace('\\', "/");
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_encode_what_is_not_a_path_character() {
        assert_eq!(uri("svc/Dockerfile"), "svc/Dockerfile");
        assert_eq!(uri("my app/Dockerfile"), "my%20app/Dockerfile");
        assert_eq!(uri("/abs/Dockerfile"), "file:///abs/Dockerfile");
        assert_eq!(uri("é"), "%C3%A9");
    }
}
