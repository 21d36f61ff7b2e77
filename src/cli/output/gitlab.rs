//! `--output-format gitlab`: GitLab Code Quality JSON (an array of issues with
//! `description`, `check_name`, `fingerprint`, `severity` and `location`).

use serde_json::{Value, json};

use dfrewrite::Applicability;

use super::{Lines, Report};

pub(crate) fn render(report: &Report<'_>) -> String {
    let mut issues = Vec::new();
    for record in report.files {
        let checked = match &record.result {
            Ok(checked) => checked,
            Err(error) => {
                let line = error.position.map_or(1, |(line, _)| line);
                issues.push(issue(
                    "dfrewrite-error",
                    &error.message,
                    "blocker",
                    &record.path,
                    line,
                    &[&record.path, "error", &error.message],
                ));
                continue;
            }
        };
        let lines = Lines::new(&checked.source);
        for finding in super::by_position(&checked.trace) {
            let line = lines.span(finding.range).start.line;
            let severity = match finding.applicability {
                Applicability::Safe => "minor",
                Applicability::Unsafe | Applicability::DisplayOnly => "info",
            };
            // The fingerprint names the text the finding covers, not its line, so it
            // survives edits above it.
            let covered = finding.range.slice(&checked.source);
            issues.push(issue(
                finding.pass,
                &finding.message,
                severity,
                &record.path,
                line,
                &[&record.path, finding.pass, &finding.message, covered],
            ));
        }
    }
    let mut out = serde_json::to_string_pretty(&Value::Array(issues)).unwrap_or_default();
    out.push('\n');
    out
}

fn issue(check: &str, message: &str, severity: &str, path: &str, line: u32, key: &[&str]) -> Value {
    json!({
        "type": "issue",
        "check_name": check,
        "description": format!("{check}: {message}"),
        "categories": ["Performance"],
        "severity": severity,
        "fingerprint": fingerprint(key),
        "location": {"path": path, "lines": {"begin": line}},
    })
}

/// A stable 128-bit hex digest of the parts (two FNV-1a 64 hashes with different offsets);
/// GitLab only needs it to be the same for the same issue from run to run.
fn fingerprint(parts: &[&str]) -> String {
    let hash = |mut h: u64| {
        for part in parts {
            for byte in part.bytes().chain([0xff]) {
                h ^= u64::from(byte);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        h
    };
    format!(
        "{:016x}{:016x}",
        hash(0xcbf2_9ce4_8422_2325),
        hash(0x6c62_272e_07bb_0142)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable_and_tell_parts_apart() {
        assert_eq!(fingerprint(&["a", "b"]), fingerprint(&["a", "b"]));
        assert_ne!(fingerprint(&["ab", ""]), fingerprint(&["a", "b"]));
        assert_eq!(fingerprint(&["x"]).len(), 32);
    }
}
