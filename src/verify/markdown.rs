//! The verify report as Markdown for a pull-request comment or a GitHub step summary: one
//! compact table (bytes, layers, smoke, warm rebuild, config), then what was applied and what
//! differs unexpectedly. The human report and `--json` keep the details.

use std::fmt::Write as _;

use super::compare::Comparison;
use super::render::{exit, short_bytes};
use super::{BuildReport, Report, VerifyStatus as Status};

/// How many unexpected differences the comment lists.
const LIST_LIMIT: usize = 10;

/// The report as Markdown.
pub(crate) fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let verdict = match report.verdict.status {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
        Status::Error => "ERROR",
    };
    let tier = if report.unsafe_fixes {
        "safe and unsafe fixes"
    } else {
        "safe fixes"
    };
    let _ = writeln!(
        out,
        "### dfrewrite verify `{}`: **{verdict}**\n",
        report.dockerfile
    );
    let _ = writeln!(out, "Engine {}, {tier}.", report.engine);
    for reason in &report.verdict.reasons {
        let _ = writeln!(out, "- {}", cell(reason));
    }
    out.push('\n');

    let _ = writeln!(out, "| | original | rewrite | saved |");
    let _ = writeln!(out, "|---|---:|---:|---:|");
    let rewrite = report.rewrite.as_ref();
    let images = (
        report.original.image.as_ref(),
        rewrite.and_then(|r| r.image.as_ref()),
    );
    let cmp = report.comparison.as_ref();
    match images {
        (Some(orig), Some(rewr)) => {
            let _ = writeln!(
                out,
                "| image size | {} | {} | {} |",
                short_bytes(orig.bytes),
                short_bytes(rewr.bytes),
                cmp.map(saved_bytes).unwrap_or_default()
            );
            let _ = writeln!(
                out,
                "| layers | {} | {} | {} |",
                orig.layers.len(),
                rewr.layers.len(),
                cmp.map(|c| c.layers_saved.to_string()).unwrap_or_default()
            );
        }
        _ => {
            let _ = writeln!(
                out,
                "| build | {} | {} | |",
                build_cell(&report.original.build),
                rewrite.map_or_else(|| "not run".into(), |r| build_cell(&r.build))
            );
        }
    }
    if let Some(smoke) = &report.smoke {
        let command = report
            .smoke_command
            .as_ref()
            .map(|argv| format!(" `{}`", cell(&argv.join(" "))))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| smoke{command} | exit {} | exit {} | {} |",
            exit(smoke.original.exit_code),
            exit(smoke.rewrite.exit_code),
            if smoke.rewrite_ok {
                "same result"
            } else {
                "**differs**"
            }
        );
    }
    if let Some(orig_warm) = &report.original.warm_rebuild {
        let touched = report
            .touch
            .as_deref()
            .map(|f| format!(" (edit `{}`)", cell(f)))
            .unwrap_or_default();
        let rewr_warm = rewrite.and_then(|r| r.warm_rebuild.as_ref());
        // Steps, not seconds: the step counts do not vary between runs.
        let saved = rewr_warm.map_or_else(String::new, |r| {
            let steps = i64::from(orig_warm.rerun) - i64::from(r.rerun);
            format!("{steps} re-run step(s)")
        });
        let _ = writeln!(
            out,
            "| warm rebuild{touched} | {} | {} | {saved} |",
            warm_cell(orig_warm),
            rewr_warm.map(warm_cell).unwrap_or_default()
        );
    }
    if let Some(cmp) = cmp {
        let config = if cmp.config.is_empty() {
            "identical".to_owned()
        } else {
            let fields: Vec<String> = cmp
                .config
                .iter()
                .map(|d| match &d.explained_by {
                    Some(pass) => format!("{} ({pass})", d.field),
                    None => format!("**{}**", d.field),
                })
                .collect();
            fields.join(", ")
        };
        let _ = writeln!(out, "| runtime config | | | {config} |");
    }
    out.push('\n');

    if report.applied.is_empty() {
        let _ = writeln!(out, "Applied: nothing (the rewrite is the original).");
    } else {
        let mut passes: Vec<&str> = Vec::new();
        for fix in &report.applied {
            if !passes.contains(&fix.pass) {
                passes.push(fix.pass);
            }
        }
        let names: Vec<String> = passes.iter().map(|p| format!("`{p}`")).collect();
        let _ = writeln!(out, "Applied: {}.", names.join(", "));
    }
    for file in &report.side_files {
        let _ = write!(out, "\nNew `{}` ({})", file.path, file.pass);
        if file.kept_out_total > 0 {
            let shown: Vec<String> = file
                .kept_out
                .iter()
                .take(LIST_LIMIT)
                .map(|p| format!("`{}`", cell(p)))
                .collect();
            let more = if file.kept_out_total > shown.len() {
                ", …"
            } else {
                ""
            };
            let _ = write!(
                out,
                " keeps {} path(s) out of the build: {}{more}",
                file.kept_out_total,
                shown.join(", ")
            );
        }
        out.push_str(".\n");
    }
    if let Some(cmp) = cmp {
        unexpected(&mut out, cmp);
    }
    out
}

fn unexpected(out: &mut String, cmp: &Comparison) {
    let mut lines = Vec::new();
    for (side, diffs) in [
        ("only in the original", &cmp.only_in_original),
        ("only in the rewrite", &cmp.only_in_rewrite),
    ] {
        for diff in diffs.iter().filter(|d| d.expected.is_none()) {
            lines.push(format!("`{}` {side}", cell(&diff.path)));
        }
    }
    for change in cmp.changed.iter().filter(|c| c.expected.is_none()) {
        lines.push(format!(
            "`{}`: `{}` → `{}`",
            cell(&change.path),
            change.original,
            change.rewrite
        ));
    }
    for diff in cmp.config.iter().filter(|d| d.explained_by.is_none()) {
        lines.push(format!(
            "config `{}`: `{}` → `{}`",
            diff.field,
            cell(&diff.original.to_string()),
            cell(&diff.rewrite.to_string())
        ));
    }
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n<details><summary>{} unexpected difference(s)</summary>\n",
        lines.len()
    );
    for line in lines.iter().take(LIST_LIMIT) {
        let _ = writeln!(out, "- {line}");
    }
    if lines.len() > LIST_LIMIT {
        let _ = writeln!(
            out,
            "- … {} more (all in `--json`)",
            lines.len() - LIST_LIMIT
        );
    }
    let _ = writeln!(out, "\n</details>");
}

fn saved_bytes(cmp: &Comparison) -> String {
    let sign = if cmp.bytes_saved < 0 { "-" } else { "" };
    format!(
        "{sign}{} ({:.1} %)",
        short_bytes(cmp.bytes_saved.unsigned_abs()),
        cmp.percent_saved
    )
}

fn build_cell(build: &BuildReport) -> String {
    if build.ok {
        format!("ok, {:.1} s", build.seconds)
    } else {
        "**failed**".into()
    }
}

fn warm_cell(build: &BuildReport) -> String {
    if build.ok {
        format!(
            "{:.1} s, {} of {} steps re-run",
            build.seconds, build.rerun, build.steps.steps
        )
    } else {
        "**failed**".into()
    }
}

/// Text safe inside a table cell and inline code: no pipes, backticks or line breaks.
fn cell(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.replace('|', "\\|").replace('`', "'")
}
