//! The human-readable verify report: a table of both images and the differences.

use std::fmt::Write as _;

use super::compare::{self, Comparison, PathDiff, SmokeComparison};
use super::model::ImageReport;
use super::{BuildReport, Report, SideReport, VerifyStatus};

/// How many individual paths or changes to list before summarising the rest.
const LIST_LIMIT: usize = 20;

/// The report as text for a terminal.
pub(crate) fn human(report: &Report) -> String {
    let mut out = String::new();
    let tier = if report.unsafe_fixes {
        "safe and unsafe fixes"
    } else {
        "safe fixes"
    };
    let _ = writeln!(
        out,
        "dfrewrite verify {} (engine {}, {tier})",
        report.dockerfile, report.engine
    );
    if report.applied.is_empty() {
        let _ = writeln!(out, "applied: nothing (the rewrite is the original)");
    } else {
        let fixes: Vec<String> = report
            .applied
            .iter()
            .map(|f| format!("{} (line {})", f.pass, f.line))
            .collect();
        let _ = writeln!(out, "applied: {}", fixes.join(", "));
    }
    for file in &report.side_files {
        let _ = write!(out, "side file: {} ({})", file.path, file.pass);
        if file.kept_out_total > 0 {
            let shown: Vec<&str> = file
                .kept_out
                .iter()
                .take(LIST_LIMIT)
                .map(String::as_str)
                .collect();
            let _ = write!(
                out,
                ", keeps out {} path(s): {}",
                file.kept_out_total,
                shown.join(", ")
            );
            if file.kept_out_total > shown.len() {
                out.push_str(", …");
            }
        }
        out.push('\n');
    }
    out.push('\n');

    let rewrite = report.rewrite.as_ref();
    let mut rows: Vec<[String; 4]> = vec![[
        String::new(),
        "original".into(),
        "rewrite".into(),
        "saved".into(),
    ]];
    rows.push([
        "build".into(),
        build_cell(&report.original.build),
        rewrite.map_or_else(|| "not run".into(), |r| build_cell(&r.build)),
        String::new(),
    ]);
    let images = (
        report.original.image.as_ref(),
        rewrite.and_then(|r| r.image.as_ref()),
    );
    if let (Some(orig), Some(rewr)) = images {
        let cmp = report.comparison.as_ref();
        rows.push([
            "image bytes".into(),
            bytes(orig.bytes),
            bytes(rewr.bytes),
            cmp.map(|c| format!("{} ({:.1}%)", signed(c.bytes_saved), c.percent_saved))
                .unwrap_or_default(),
        ]);
        rows.push([
            "layers".into(),
            orig.layers.len().to_string(),
            rewr.layers.len().to_string(),
            cmp.map(|c| c.layers_saved.to_string()).unwrap_or_default(),
        ]);
        rows.push([
            "files".into(),
            orig.file_count().to_string(),
            rewr.file_count().to_string(),
            String::new(),
        ]);
    }
    if let Some(smoke) = &report.smoke {
        rows.push([
            "smoke".into(),
            smoke_cell(&smoke.original, smoke.original_ok),
            smoke_cell(&smoke.rewrite, smoke.rewrite_ok),
            if smoke.rewrite_ok { "agree" } else { "DIFFER" }.into(),
        ]);
    }
    if let Some(orig_warm) = &report.original.warm_rebuild {
        let rewr_warm = rewrite.and_then(|r| r.warm_rebuild.as_ref());
        rows.push([
            "warm rebuild".into(),
            warm_cell(orig_warm),
            rewr_warm.map(warm_cell).unwrap_or_default(),
            String::new(),
        ]);
    }
    table(&mut out, &rows);

    if let (Some(orig), Some(rewr)) = images {
        for (name, image) in [("original", orig), ("rewrite", rewr)] {
            let _ = writeln!(out, "\nlayers of the {name}:");
            for layer in &image.layers {
                let _ = writeln!(
                    out,
                    "  {:>10}  {}",
                    short_bytes(layer.size),
                    instruction(&layer.created_by)
                );
            }
        }
    }
    if let (Some(orig), Some(rewr)) = images {
        cache_bytes(&mut out, orig, rewr);
    } else if let Some(orig) = images.0 {
        cache_bytes(&mut out, orig, orig);
    }
    if let Some(cmp) = &report.comparison {
        differences(&mut out, cmp);
    }
    if let Some(smoke) = &report.smoke {
        smoke_details(&mut out, smoke);
    }

    let verdict = match report.verdict.status {
        VerifyStatus::Pass => "PASS",
        VerifyStatus::Fail => "FAIL",
        VerifyStatus::Error => "ERROR",
    };
    let _ = write!(out, "\nverdict: {verdict}");
    if report.verdict.reasons.is_empty() {
        out.push('\n');
    } else {
        let _ = writeln!(out, ": {}", report.verdict.reasons.join("; "));
    }
    let logs = [Some(&report.original), rewrite]
        .into_iter()
        .flatten()
        .flat_map(|s: &SideReport| [Some(&s.build), s.warm_rebuild.as_ref()])
        .flatten()
        .filter_map(|b| b.log.as_deref());
    for log in logs {
        let _ = writeln!(out, "build log: {log}");
    }
    out
}

fn differences(out: &mut String, cmp: &Comparison) {
    for (title, diffs) in [
        ("only in the original", &cmp.only_in_original),
        ("only in the rewrite", &cmp.only_in_rewrite),
    ] {
        if diffs.is_empty() {
            continue;
        }
        let expected: Vec<&PathDiff> = diffs.iter().filter(|d| d.expected.is_some()).collect();
        let unexpected: Vec<&PathDiff> = diffs.iter().filter(|d| d.expected.is_none()).collect();
        let _ = writeln!(
            out,
            "\n{title}: {} path(s), {} expected, {} unexpected",
            diffs.len(),
            expected.len(),
            unexpected.len()
        );
        for (dir, count, size) in compare::group_by_top_dirs(&expected) {
            let _ = writeln!(
                out,
                "  expected    {dir:<24} {count:>6} path(s) {:>10}",
                short_bytes(size)
            );
        }
        for diff in unexpected.iter().take(LIST_LIMIT) {
            let _ = writeln!(
                out,
                "  UNEXPECTED  {} ({})",
                diff.path,
                short_bytes(diff.size)
            );
        }
        more(out, unexpected.len());
    }
    if !cmp.changed.is_empty() {
        let unexpected: Vec<_> = cmp
            .changed
            .iter()
            .filter(|c| c.expected.is_none())
            .collect();
        let _ = writeln!(
            out,
            "\nchanged in both: {} path(s), {} unexpected",
            cmp.changed.len(),
            unexpected.len()
        );
        for change in unexpected.iter().take(LIST_LIMIT) {
            let _ = writeln!(
                out,
                "  UNEXPECTED  {}: {} -> {}",
                change.path, change.original, change.rewrite
            );
        }
        more(out, unexpected.len());
        let noted = cmp.changed.len() - unexpected.len();
        if noted > 0 {
            let _ = writeln!(
                out,
                "  {noted} file(s) differ in size only (contents are not compared)"
            );
        }
    }
    if cmp.config.is_empty() {
        let _ = writeln!(out, "\nruntime config: identical");
    } else {
        let _ = writeln!(out, "\nruntime config differences:");
        for diff in &cmp.config {
            let why = diff.explained_by.as_deref().map_or_else(
                || "UNEXPECTED".to_owned(),
                |pass| format!("expected ({pass})"),
            );
            let _ = writeln!(
                out,
                "  {why:<12} {}: {} -> {}",
                diff.field, diff.original, diff.rewrite
            );
        }
    }
}

fn more(out: &mut String, total: usize) {
    if total > LIST_LIMIT {
        let _ = writeln!(out, "  … {} more (all in --json)", total - LIST_LIMIT);
    }
}

fn smoke_details(out: &mut String, smoke: &SmokeComparison) {
    if smoke.original_ok && smoke.rewrite_ok {
        return;
    }
    for (name, result) in [("original", &smoke.original), ("rewrite", &smoke.rewrite)] {
        let _ = writeln!(
            out,
            "\nsmoke output of the {name} (exit {}):",
            exit(result.exit_code)
        );
        for line in result
            .stdout
            .lines()
            .chain(result.stderr.lines())
            .take(LIST_LIMIT)
        {
            let _ = writeln!(out, "  | {line}");
        }
    }
    if let Some(expect) = &smoke.expect {
        let _ = writeln!(out, "expected text: {expect:?}");
    }
}

fn table(out: &mut String, rows: &[[String; 4]]) {
    let width = |col: usize| {
        rows.iter()
            .map(|r| r[col].chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths = [width(0), width(1), width(2)];
    for row in rows {
        let line = format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

fn build_cell(build: &BuildReport) -> String {
    if build.ok {
        format!("ok, {:.1} s", build.seconds)
    } else {
        "FAILED".into()
    }
}

fn warm_cell(build: &BuildReport) -> String {
    if build.ok {
        format!(
            "{:.1} s, {} cached, {} re-run",
            build.seconds, build.steps.cached, build.rerun
        )
    } else {
        "FAILED".into()
    }
}

fn smoke_cell(result: &super::model::SmokeResult, ok: bool) -> String {
    format!(
        "exit {}{}",
        exit(result.exit_code),
        if ok { "" } else { " (bad)" }
    )
}

pub(super) fn exit(code: Option<i32>) -> String {
    code.map_or_else(|| "signal".into(), |c| c.to_string())
}

/// `1234567` → `1,234,567 (1.2 MB)`.
/// The bytes left under package-manager cache and index directories, per directory, in
/// both images.
fn cache_bytes(out: &mut String, orig: &ImageReport, rewr: &ImageReport) {
    let mut dirs: Vec<(&str, &str)> = orig
        .caches
        .iter()
        .chain(&rewr.caches)
        .map(|c| (c.dir.as_str(), c.managers.as_str()))
        .collect();
    dirs.sort_unstable();
    dirs.dedup_by(|a, b| a.0 == b.0);
    let total = |image: &ImageReport| image.caches.iter().map(|c| c.bytes).sum::<u64>();
    let _ = writeln!(
        out,
        "\nbytes under package-manager cache and index directories: {} / {}",
        short_bytes(total(orig)),
        short_bytes(total(rewr))
    );
    let of = |image: &ImageReport, dir: &str| {
        image
            .caches
            .iter()
            .find(|c| c.dir == dir)
            .map_or(0, |c| c.bytes)
    };
    for (dir, managers) in dirs {
        let _ = writeln!(
            out,
            "  {:>10}  {:>10}  {dir} ({managers})",
            short_bytes(of(orig, dir)),
            short_bytes(of(rewr, dir))
        );
    }
}

pub(super) fn bytes(n: u64) -> String {
    format!("{} ({})", thousands(n), short_bytes(n))
}

pub(super) fn signed(n: i64) -> String {
    let sign = if n < 0 { "-" } else { "" };
    format!("{sign}{}", thousands(n.unsigned_abs()))
}

pub(super) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Decimal units, as podman prints them.
#[allow(clippy::cast_precision_loss)] // one decimal place
pub(super) fn short_bytes(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.1} kB", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        _ => format!("{:.2} GB", n as f64 / 1e9),
    }
}

/// A history entry as the Dockerfile step it came from: without buildah's `/bin/sh -c #(nop) `
/// wrapper or BuildKit's `RUN /bin/sh -c … # buildkit`, cut to one line.
pub(crate) fn instruction(created_by: &str) -> String {
    let created_by = created_by.trim_end();
    let created_by = created_by.strip_suffix(" # buildkit").unwrap_or(created_by);
    let text = if let Some(rest) = created_by.strip_prefix("/bin/sh -c #(nop) ") {
        rest.to_owned()
    } else if let Some(rest) = created_by.strip_prefix("/bin/sh -c ") {
        format!("RUN {rest}")
    } else if let Some(rest) = created_by.strip_prefix("RUN /bin/sh -c ") {
        format!("RUN {rest}")
    } else {
        created_by.to_owned()
    };
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 90 {
        let cut: String = one_line.chars().take(89).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_like_podman_and_humans() {
        assert_eq!(thousands(3_986_006), "3,986,006");
        assert_eq!(thousands(999), "999");
        assert_eq!(bytes(1_536), "1,536 (1.5 kB)");
        assert_eq!(signed(-1_536), "-1,536");
        assert_eq!(short_bytes(158_285_379), "158.3 MB");
    }

    #[test]
    fn history_entries_read_as_dockerfile_steps() {
        assert_eq!(
            instruction("/bin/sh -c #(nop) COPY dir:abc in /bin/ "),
            "COPY dir:abc in /bin/"
        );
        assert_eq!(
            instruction("/bin/sh -c apt-get update &&     apt-get install -y curl"),
            "RUN apt-get update && apt-get install -y curl"
        );
        assert!(instruction(&format!("/bin/sh -c {}", "x".repeat(200))).ends_with('…'));
        // BuildKit's history text
        assert_eq!(
            instruction("RUN /bin/sh -c wc -c /app.txt > /count # buildkit"),
            "RUN wc -c /app.txt > /count"
        );
        assert_eq!(instruction("COPY bin/ /bin/ # buildkit"), "COPY bin/ /bin/");
    }
}
