//! JSON schema version 2 is exact: replaying each file's applied fixes round by round (the
//! README's rule) gives, byte for byte, the rewrite that `--diff` shows and `-` prints; on
//! the whole corpus with `--unsafe` and on the benchmark's synthetic input.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::Value;

#[path = "../benches/common/mod.rs"]
mod bench;
mod common;

fn offset(position: &Value) -> usize {
    usize::try_from(position["offset"].as_u64().expect("an offset")).unwrap()
}

/// The README's replay: round 0 is the file as given; round r + 1 is round r with the edits
/// of round r's applied fixes spliced in by ascending `order`, an edit that two fixes share
/// (same `order`) once.
fn replay(source: &str, fixes: &[Value]) -> String {
    let mut text = source.to_owned();
    let applied: Vec<&Value> = fixes.iter().filter(|f| f["applied"] == true).collect();
    let last = applied.iter().filter_map(|f| f["round"].as_u64()).max();
    for round in 0..=last.unwrap_or(0) {
        if last.is_none() {
            break;
        }
        let mut edits: BTreeMap<u64, (usize, usize, &str)> = BTreeMap::new();
        for fix in applied
            .iter()
            .filter(|f| f["round"].as_u64() == Some(round))
        {
            for edit in fix["edits"].as_array().unwrap() {
                let order = edit["order"]
                    .as_u64()
                    .expect("an applied edit has an order");
                let range = &edit["range"];
                let this = (
                    offset(&range["start"]),
                    offset(&range["end"]),
                    edit["content"].as_str().unwrap(),
                );
                if let Some(other) = edits.insert(order, this) {
                    assert_eq!(other, this, "two edits with order {order}");
                }
            }
        }
        assert!(!edits.is_empty(), "round {round} applies nothing");
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end, content) in edits.into_values() {
            assert!(
                at <= start && start <= end && end <= text.len(),
                "edits overlap"
            );
            out.push_str(&text[at..start]);
            out.push_str(content);
            at = end;
        }
        out.push_str(&text[at..]);
        text = out;
    }
    text
}

/// The new text of every file a `--diff` output changes (by the path in its `+++ b/`
/// header), applying its hunks to the file as read from `dir`; created files are skipped.
fn diff_results(dir: &Path, diff: &str) -> HashMap<String, String> {
    let mut results = HashMap::new();
    let lines: Vec<&str> = diff.split_inclusive('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        let Some(old) = lines[i].strip_prefix("--- ") else {
            i += 1;
            continue;
        };
        let path = lines[i + 1]
            .strip_prefix("+++ b/")
            .expect("a +++ header")
            .trim_end_matches('\n')
            .to_owned();
        i += 2;
        let created = old.trim_end() == "/dev/null";
        let source = if created {
            String::new()
        } else {
            std::fs::read_to_string(dir.join(&path)).unwrap()
        };
        let old_lines: Vec<&str> = source.split_inclusive('\n').collect();
        let mut out = String::new();
        let mut next = 0; // old lines copied so far
        while i < lines.len() && lines[i].starts_with("@@ ") {
            let header = lines[i];
            let old_range = header[4..].split(' ').next().unwrap();
            let (start, count) = old_range.split_once(',').unwrap_or((old_range, "1"));
            let (start, count): (usize, usize) = (start.parse().unwrap(), count.parse().unwrap());
            // an empty old range lies after line `start`
            let first = if count == 0 { start } else { start - 1 };
            for line in &old_lines[next..first] {
                out.push_str(line);
            }
            next = first;
            i += 1;
            while i < lines.len() && !lines[i].starts_with("@@ ") && !lines[i].starts_with("--- ") {
                let line = lines[i];
                match line.as_bytes()[0] {
                    b' ' => {
                        assert_eq!(
                            &line[1..].trim_end_matches('\n'),
                            &old_lines[next].trim_end_matches('\n')
                        );
                        out.push_str(old_lines[next]);
                        next += 1;
                    }
                    b'-' => {
                        assert_eq!(
                            &line[1..].trim_end_matches('\n'),
                            &old_lines[next].trim_end_matches('\n')
                        );
                        next += 1;
                    }
                    b'+' => {
                        out.push_str(&line[1..]);
                        if lines
                            .get(i + 1)
                            .is_some_and(|l| l.starts_with("\\ No newline"))
                        {
                            out.pop();
                        }
                    }
                    b'\\' => {}
                    _ => panic!("not a diff line: {line:?}"),
                }
                i += 1;
            }
        }
        for line in &old_lines[next..] {
            out.push_str(line);
        }
        if !created {
            results.insert(path, out);
        }
    }
    results
}

#[test]
fn the_diff_reader_applies_hunks() {
    let dir = tempfile::tempdir().unwrap();
    let old = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk";
    std::fs::write(dir.path().join("f"), old).unwrap();
    let diff = "--- a/f\n+++ b/f\n@@ -1,2 +1,3 @@\n+z\n a\n b\n@@ -9,3 +10,3 @@\n i\n j\n-k\n\\ No newline at end of file\n+K\n\\ No newline at end of file\n";
    let got = diff_results(dir.path(), diff);
    assert_eq!(got["f"], "z\na\nb\nc\nd\ne\nf\ng\nh\ni\nj\nK");
}

/// Runs the binary in `dir` on `.` with `args`, as JSON and as a diff, and checks that the
/// JSON replays to the diff's text for every file; returns how many files changed.
fn replays_to_the_diff(dir: &Path, args: &[&str]) -> usize {
    let mut json_args = args.to_vec();
    json_args.extend(["--output-format", "json", "."]);
    let json = common::output_of(&mut common::binary(dir, &json_args), None);
    let doc: Value = serde_json::from_slice(&json.stdout).expect("a JSON document");
    let mut diff_args = args.to_vec();
    diff_args.push(".");
    let diff = common::output_of(common::binary(dir, &diff_args).env("NO_COLOR", "1"), None);
    let diff = String::from_utf8(diff.stdout).expect("a UTF-8 diff");
    let rewritten = diff_results(dir, &diff);
    let mut changed = 0;
    let mut seen = 0;
    for file in doc["files"].as_array().unwrap() {
        if file["status"] == "error" {
            continue;
        }
        let path = file["path"].as_str().unwrap();
        let source = std::fs::read_to_string(dir.join(path)).unwrap();
        let got = replay(&source, file["fixes"].as_array().unwrap());
        match rewritten.get(path.trim_start_matches("./")) {
            Some(want) => {
                seen += 1;
                changed += 1;
                assert!(got == *want, "{path}: the JSON replays to another text");
            }
            None => assert!(got == source, "{path}: the JSON changes an unchanged file"),
        }
    }
    assert_eq!(seen, rewritten.len(), "every changed file is in the JSON");
    changed
}

#[test]
fn json_replays_to_the_rewrite_on_the_corpus() {
    if common::corpus_files().is_none() {
        return;
    }
    let dir = common::shared_dir().join("corpus/real");
    let changed = replays_to_the_diff(&dir, &["--diff", "--unsafe"]);
    assert!(changed > 1000, "only {changed} files changed");
}

#[test]
fn json_replays_to_the_rewrite_on_the_synthetic_input() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), bench::synthetic(200)).unwrap();
    for args in [&["--diff"][..], &["--diff", "--unsafe"][..]] {
        assert_eq!(replays_to_the_diff(dir.path(), args), 1, "{args:?}");
    }
}
