//! Machine output and terminal conventions, through the real binary: `--output-format
//! json|sarif|github|gitlab`, `--color`, the summary line, diff headers of absolute paths,
//! one-line errors, the walk's names, completions and the manual page.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

mod common;
use common::Output;

const BIN: &str = env!("CARGO_BIN_EXE_dfrewrite");

/// `add-to-copy` rewrites it (safe, with `app.py` a plain file in the context).
const ADD: &str = "FROM alpine\nADD app.py /app/\n";
/// A safe fix in round 0 (the merge) and one found only after it (the cleanup), and unsafe
/// fixes left.
const APT: &str = "FROM debian\nRUN apt-get update\nRUN apt-get install -y curl\n";

fn run(dir: &Path, args: &[&str]) -> Output {
    run_env(dir, args, &[("NO_COLOR", "1")], None)
}

fn run_env(dir: &Path, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    common::run_cmd(
        common::binary(dir, args).envs(env.iter().copied()),
        stdin.map(str::as_bytes),
    )
}

fn write(path: &Path, contents: &str) {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).unwrap();
    }
    fs::write(path, contents).unwrap();
}

fn project(dockerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("Dockerfile"), dockerfile);
    write(&dir.path().join("app.py"), "print('hi')\n");
    dir
}

fn json(out: &Output) -> Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", out.stdout, out.stderr))
}

/// Applies a list of JSON edits (byte ranges of `source`) to `source`.
fn apply_edits(source: &str, edits: &[Value]) -> String {
    let mut spans: Vec<(usize, usize, &str)> = edits
        .iter()
        .map(|e| {
            let at =
                |end: &str| usize::try_from(e["range"][end]["offset"].as_u64().unwrap()).unwrap();
            (at("start"), at("end"), e["content"].as_str().unwrap())
        })
        .collect();
    spans.sort_by_key(|&(start, end, _)| (start, end));
    let mut out = String::new();
    let mut at = 0;
    for (start, end, content) in spans {
        assert!(
            start >= at && end >= start && end <= source.len(),
            "bad edit"
        );
        out.push_str(&source[at..start]);
        out.push_str(content);
        at = end;
    }
    out.push_str(&source[at..]);
    out
}

/// Recomputes a position from its byte offset, independently of the binary.
fn check_position(source: &str, position: &Value) {
    let offset = usize::try_from(position["offset"].as_u64().unwrap()).unwrap();
    let line_start = source[..offset].rfind('\n').map_or(0, |i| i + 1);
    let before = &source[line_start..offset];
    let line = source[..offset].matches('\n').count() + 1;
    let expect = |key: &str, value: usize| {
        assert_eq!(
            position[key].as_u64(),
            Some(value as u64),
            "{key} of {position}"
        );
    };
    expect("line", line);
    expect("column", before.chars().count() + 1);
    expect("utf8_column", before.len() + 1);
    expect("utf16_column", before.encode_utf16().count() + 1);
}

// ---------------------------------------------------------------- JSON

#[test]
fn json_reports_each_fix_with_edits_that_reproduce_it() {
    let dir = project(ADD);
    let out = run(dir.path(), &["--output-format", "json", "Dockerfile"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    // errors only on stderr: the fix lines are in the report
    assert_eq!(out.stderr, "");
    let doc = json(&out);
    assert_eq!(doc["version"], 2);
    assert_eq!(doc["mode"], "diff");
    assert_eq!(doc["unsafe"], false);
    let file = &doc["files"][0];
    assert_eq!(file["path"], "Dockerfile");
    assert_eq!(file["status"], "changed");
    assert_eq!(file["written"], false);
    let fixes = file["fixes"].as_array().unwrap();
    assert_eq!(fixes.len(), 1, "{fixes:?}");
    let fix = &fixes[0];
    assert_eq!(fix["pass"], "add-to-copy");
    assert_eq!(fix["applicability"], "safe");
    assert_eq!(fix["applied"], true);
    assert_eq!(fix["round"].as_u64(), Some(0));
    let edits = fix["edits"].as_array().unwrap();
    assert_eq!(edits[0]["order"].as_u64(), Some(0));
    assert_eq!(apply_edits(ADD, edits), "FROM alpine\nCOPY app.py /app/\n");
    assert_eq!(fix["range"]["start"]["line"], 2);
    for edit in edits {
        check_position(ADD, &edit["range"]["start"]);
        check_position(ADD, &edit["range"]["end"]);
    }
    assert_eq!(doc["summary"]["fixes_applied"], 1);
    assert_eq!(doc["summary"]["files"], 1);
    // the file is not touched outside --apply
    assert_eq!(
        fs::read_to_string(dir.path().join("Dockerfile")).unwrap(),
        ADD
    );
}

#[test]
fn json_columns_count_bytes_characters_and_utf16_units() {
    // only unsafe fixes: all found on the file as given, after "é😀" on the same line
    let source = "FROM debian\nRUN echo \"é😀\" && apt-get install -y curl\n";
    let dir = project(source);
    let out = run(dir.path(), &["--output-format", "json", "."]);
    let doc = json(&out);
    let fixes = doc["files"][0]["fixes"].as_array().unwrap();
    let fix = fixes
        .iter()
        .find(|f| f["pass"] == "no-install-recommends")
        .expect("no-install-recommends reported");
    assert_eq!(
        (fix["applicability"].as_str(), fix["applied"].as_bool()),
        (Some("unsafe"), Some(false))
    );
    let start = &fix["edits"][0]["range"]["start"];
    // `RUN echo "é😀" && apt-get install` is 36 bytes, 32 characters, 33 UTF-16 units
    assert_eq!(
        (
            start["column"].as_u64(),
            start["utf8_column"].as_u64(),
            start["utf16_column"].as_u64()
        ),
        (Some(33), Some(37), Some(34)),
        "{start}"
    );
    for fix in fixes {
        for edit in fix["edits"].as_array().unwrap() {
            check_position(source, &edit["range"]["start"]);
            check_position(source, &edit["range"]["end"]);
        }
    }
    assert_eq!(
        doc["summary"]["more_with_unsafe"].as_u64(),
        Some(fixes.len() as u64)
    );
}

#[test]
fn json_fixes_found_after_earlier_rounds_are_on_the_text_of_their_round() {
    let dir = project(APT);
    let rewritten = run_env(dir.path(), &["-"], &[], Some(APT)).stdout;
    assert_ne!(rewritten, APT);
    let doc = json(&run(dir.path(), &["--output-format", "json", "."]));
    let fixes = doc["files"][0]["fixes"].as_array().unwrap();
    let applied: Vec<&Value> = fixes.iter().filter(|f| f["applied"] == true).collect();
    let round = |f: &Value| f["round"].as_u64().unwrap();
    let last_round = applied.iter().map(|f| round(f)).max().unwrap();
    assert!(
        last_round > 0,
        "expected a fix found after an earlier round: {fixes:?}"
    );
    // replay: each round's applied edits on the text of that round, by `order`
    let mut text = APT.to_owned();
    for r in 0..=last_round {
        let mut edits: Vec<Value> = Vec::new();
        for fix in applied.iter().filter(|f| round(f) == r) {
            for edit in fix["edits"].as_array().unwrap() {
                check_position(&text, &edit["range"]["start"]);
                check_position(&text, &edit["range"]["end"]);
                if !edits.iter().any(|e| e["order"] == edit["order"]) {
                    edits.push(edit.clone());
                }
            }
        }
        edits.sort_by_key(|e| e["order"].as_u64().unwrap());
        text = apply_edits(&text, &edits);
    }
    assert_eq!(text, rewritten);
    // the range stays on the file as given; fixes not applied have no order
    for fix in fixes {
        assert!(fix["range"]["end"]["offset"].as_u64().unwrap() <= APT.len() as u64);
        if fix["applied"] == false {
            for edit in fix["edits"].as_array().unwrap() {
                assert!(edit["order"].is_null(), "{fix}");
            }
        }
    }
}

/// The replacements of a SARIF result's one fix, as `(offset, length, text)`.
fn replacements(result: &Value) -> Vec<(u64, u64, String)> {
    result["fixes"][0]["artifactChanges"][0]["replacements"]
        .as_array()
        .unwrap_or_else(|| panic!("no fix: {result}"))
        .iter()
        .map(|r| {
            (
                r["deletedRegion"]["byteOffset"].as_u64().unwrap(),
                r["deletedRegion"]["byteLength"].as_u64().unwrap(),
                r["insertedContent"]["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// SARIF's fixes apply to the file as given. A later round's fix that its pass found only
/// after an earlier fix offers none and says it needs the earlier fixes; one that round 0
/// found on the file as given and did not apply (an unsafe fix without `--unsafe`) offers
/// the edits it had there, the same as with `--unsafe`, where round 0 applies it.
#[test]
fn sarif_fixes_of_later_rounds_apply_to_the_file_as_given() {
    let dir = project(APT);
    let sarif = |args: &[&str]| -> Vec<Value> {
        let mut all = args.to_vec();
        all.extend(["--output-format", "sarif", "."]);
        let log: Value = serde_json::from_str(&run(dir.path(), &all).stdout).unwrap();
        log["runs"][0]["results"].as_array().unwrap().clone()
    };
    let safe = sarif(&[]);
    let round = |r: &Value| r["properties"]["round"].as_u64().unwrap();
    let find = |results: &[Value], rule: &str| -> Value {
        results
            .iter()
            .find(|r| r["ruleId"] == rule)
            .unwrap_or_else(|| panic!("no {rule}: {results:?}"))
            .clone()
    };
    // the cleanup is found in the RUN the merge made
    let cleanup = find(&safe, "same-layer-cleanup");
    assert!(round(&cleanup) > 0, "{cleanup}");
    assert!(cleanup.get("fixes").is_none(), "{cleanup}");
    assert_eq!(cleanup["properties"]["needsEarlierFixes"], true);
    // reported after the rounds, found on the file as given too
    let later = find(&safe, "no-install-recommends");
    assert_eq!(
        (round(&later) > 0, later["properties"]["applied"].as_bool()),
        (true, Some(false)),
        "{later}"
    );
    assert!(later["properties"].get("needsEarlierFixes").is_none());
    let first = find(&sarif(&["--unsafe"]), "no-install-recommends");
    assert_eq!(round(&first), 0, "{first}");
    assert_eq!(replacements(&later), replacements(&first));
}

#[test]
fn json_under_apply_says_what_was_written() {
    let dir = project(ADD);
    let out = run(dir.path(), &["--apply", "--output-format", "json", "."]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = json(&out);
    assert_eq!(doc["mode"], "apply");
    assert_eq!(doc["files"][0]["written"], true);
    assert_eq!(
        fs::read_to_string(dir.path().join("Dockerfile")).unwrap(),
        "FROM alpine\nCOPY app.py /app/\n"
    );
}

#[test]
fn json_reports_errors_and_new_files() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("bad/Dockerfile"), "FROM a\0\n");
    // a node project without .dockerignore: dockerignore proposes one
    write(
        &dir.path().join("node/Dockerfile"),
        "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\n",
    );
    write(&dir.path().join("node/package.json"), "{}\n");
    write(&dir.path().join("node/node_modules/x/index.js"), "\n");
    let out = run(dir.path(), &["--output-format", "json", "."]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    // errors still reach stderr, one line each
    assert_eq!(
        out.stderr,
        "bad/Dockerfile:1:7: error: file contains a NUL byte; not a text file\n"
    );
    let doc = json(&out);
    let files = doc["files"].as_array().unwrap();
    let bad = files
        .iter()
        .find(|f| f["path"] == "bad/Dockerfile")
        .unwrap();
    assert_eq!(bad["status"], "error");
    assert_eq!(
        (
            bad["error"]["line"].as_u64(),
            bad["error"]["column"].as_u64()
        ),
        (Some(1), Some(7))
    );
    let node = files
        .iter()
        .find(|f| f["path"] == "node/Dockerfile")
        .unwrap();
    let new_files = node["new_files"].as_array().unwrap();
    assert_eq!(new_files.len(), 1, "{node}");
    assert_eq!(new_files[0]["path"], "node/.dockerignore");
    assert_eq!(new_files[0]["context_path"], ".dockerignore");
    assert_eq!(new_files[0]["written"], false);
    // `COPY . .` copies node_modules: keeping it out is unsafe
    assert_eq!(
        (
            new_files[0]["applicability"].as_str(),
            new_files[0]["applied"].as_bool()
        ),
        (Some("unsafe"), Some(false))
    );
    assert!(
        new_files[0]["content"]
            .as_str()
            .unwrap()
            .contains("node_modules")
    );
    assert_eq!(doc["summary"]["errors"], 1);

    let out = run(
        dir.path(),
        &["--unsafe", "--apply", "--output-format", "json", "node"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = json(&out);
    let proposal = &doc["files"][0]["new_files"][0];
    assert_eq!(
        (proposal["applied"].as_bool(), proposal["written"].as_bool()),
        (Some(true), Some(true))
    );
    assert!(dir.path().join("node/.dockerignore").is_file());
}

#[test]
fn json_from_standard_input() {
    let dir = project(ADD);
    let out = run_env(
        dir.path(),
        &[
            "--output-format",
            "json",
            "-",
            "--stdin-filename",
            "Dockerfile",
        ],
        &[],
        Some(ADD),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = json(&out);
    assert_eq!(doc["mode"], "stdin");
    assert_eq!(doc["files"][0]["fixes"][0]["pass"], "add-to-copy");
}

// ---------------------------------------------------------------- SARIF

/// The Python that has PyPI `jsonschema` (`.venv`, as `.ci/run` installs it); `None` (skip)
/// only outside CI.
fn jsonschema_python() -> Option<PathBuf> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    common::first_working(
        [python],
        &["-c", "import jsonschema"],
        "no .venv with jsonschema",
    )
}

/// Validates `document` against the vendored OASIS SARIF 2.1.0 schema; the error on failure.
fn sarif_errors(python: &Path, document: &str) -> Option<String> {
    schema_errors(
        python,
        "sarif-schema-2.1.0.json",
        "Draft4Validator",
        document,
    )
}

/// Validates `document` against `tests/data/SCHEMA` with jsonschema's `validator` class.
fn schema_errors(python: &Path, schema: &str, validator: &str, document: &str) -> Option<String> {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(schema);
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("out.sarif");
    fs::write(&doc, document).unwrap();
    let out = Command::new(python)
        .args([
            "-c",
            "import json, sys, jsonschema\n\
             schema = json.load(open(sys.argv[1]))\n\
             v = getattr(jsonschema, sys.argv[3])\n\
             v.check_schema(schema)\n\
             v(schema).validate(json.load(open(sys.argv[2])))",
        ])
        .arg(&schema)
        .arg(&doc)
        .arg(validator)
        .output()
        .unwrap();
    (!out.status.success()).then(|| String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A tree with fixes in two rounds and unsafe ones (`a`), a safe fix (`b`), a file that cannot
/// be read as a Dockerfile (`c`), and a Node project in `node` that gets a new .dockerignore.
fn mixed_tree(node: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("a/Dockerfile"), APT);
    write(&dir.path().join("b/Dockerfile"), ADD);
    write(&dir.path().join("b/app.py"), "\n");
    write(&dir.path().join("c/Dockerfile"), "FROM a\0\n");
    write(
        &dir.path().join(node).join("Dockerfile"),
        "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\n",
    );
    write(&dir.path().join(node).join("package.json"), "{}\n");
    write(&dir.path().join(node).join("node_modules/x/index.js"), "\n");
    dir
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let Some(python) = jsonschema_python() else {
        return;
    };
    let dir = mixed_tree("my node");
    let out = run(dir.path(), &["--output-format", "sarif", "."]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    if let Some(errors) = sarif_errors(&python, &out.stdout) {
        panic!("SARIF output does not validate:\n{errors}\n{}", out.stdout);
    }
    // the validator does reject a broken log
    let broken = out.stdout.replacen("\"2.1.0\"", "\"2.0\"", 1);
    assert!(sarif_errors(&python, &broken).is_some());

    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    let run0 = &doc["runs"][0];
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), dfrewrite::passes().len());
    let explain = run(dir.path(), &["--explain", "add-to-copy"]).stdout;
    let rule = rules.iter().find(|r| r["id"] == "add-to-copy").unwrap();
    assert_eq!(
        rule["fullDescription"]["text"].as_str(),
        Some(explain.as_str())
    );
    assert_eq!(rule["helpUri"], "dfrewrite://explain/add-to-copy");
    assert!(rule["defaultConfiguration"]["level"].is_string());
    let results = run0["results"].as_array().unwrap();
    let copy = results
        .iter()
        .find(|r| r["ruleId"] == "add-to-copy")
        .unwrap();
    let location = &copy["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "b/Dockerfile");
    assert_eq!(location["region"]["startLine"], 2);
    let change = &copy["fixes"][0]["artifactChanges"][0];
    assert_eq!(change["replacements"][0]["insertedContent"]["text"], "COPY");
    // a proposed file is a fix that creates it; a path with a space is percent-encoded
    let create = results
        .iter()
        .find(|r| r["ruleId"] == "dockerignore")
        .unwrap();
    assert_eq!(
        create["fixes"][0]["artifactChanges"][0]["artifactLocation"]["uri"],
        "my%20node/.dockerignore"
    );
    // the unreadable file is a notification, and the run says it did not fully succeed
    let invocation = &run0["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    assert_eq!(
        invocation["toolExecutionNotifications"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
            ["uri"],
        "c/Dockerfile"
    );
}

/// The JSON output matches the schema documented in the README (`tests/data/`), in every
/// mode, with errors, new files and fixes of later rounds.
#[test]
fn json_matches_its_schema() {
    let Some(python) = jsonschema_python() else {
        return;
    };
    let dir = mixed_tree("n");
    write(&dir.path().join("d/Dockerfile"), "");
    let mut checked = 0;
    for args in [
        &["--output-format", "json", "."][..],
        &["--check", "--unsafe", "--output-format", "json", "."][..],
        &["--apply", "--unsafe", "--output-format", "json", "."][..],
    ] {
        let out = run(dir.path(), args);
        assert_eq!(out.code, 2, "{args:?} {}", out.stderr);
        if let Some(errors) = schema_errors(
            &python,
            "output-schema-v2.json",
            "Draft202012Validator",
            &out.stdout,
        ) {
            panic!(
                "{args:?}: JSON output does not match its schema:\n{errors}\n{}",
                out.stdout
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 3);
    let stdin = run_env(
        dir.path(),
        &["--output-format", "json", "-"],
        &[],
        Some(APT),
    );
    assert!(
        schema_errors(
            &python,
            "output-schema-v2.json",
            "Draft202012Validator",
            &stdin.stdout
        )
        .is_none()
    );
    // the schema does reject a wrong document
    let wrong = stdin.stdout.replacen("\"version\": 2", "\"version\": 1", 1);
    assert!(
        schema_errors(
            &python,
            "output-schema-v2.json",
            "Draft202012Validator",
            &wrong
        )
        .is_some()
    );
}

/// Display-only advice carries no edit in JSON and no suggested change in SARIF.
#[test]
fn advice_offers_no_change() {
    let dir = project("FROM debian\nRUN echo hi\nCMD [\"bash\"]\n");
    let doc = json(&run(dir.path(), &["--output-format", "json", "."]));
    let fixes = doc["files"][0]["fixes"].as_array().unwrap();
    let advice: Vec<&Value> = fixes
        .iter()
        .filter(|f| f["applicability"] == "display-only")
        .collect();
    assert!(!advice.is_empty(), "{fixes:?}");
    for fix in &advice {
        assert_eq!(fix["applied"], false);
        assert_eq!(fix["edits"].as_array().map(Vec::len), Some(0), "{fix}");
    }
    let out = run(dir.path(), &["--output-format", "sarif", "."]);
    let log: Value = serde_json::from_str(&out.stdout).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    let notes: Vec<&Value> = results
        .iter()
        .filter(|r| r["properties"]["applicability"] == "display-only")
        .collect();
    assert_eq!(notes.len(), advice.len());
    for note in notes {
        assert_eq!(note["level"], "note");
        assert!(note.get("fixes").is_none(), "{note}");
    }
}

// ---------------------------------------------------------------- GitHub, GitLab

#[test]
fn github_format_prints_workflow_annotations() {
    let dir = project(ADD);
    write(&dir.path().join("bad,name/Dockerfile"), "FROM a\0\n");
    let out = run(dir.path(), &["--output-format", "github", "."]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines.contains(
            &"::warning file=Dockerfile,line=2,col=1,endLine=2,endColumn=4,title=dfrewrite add-to-copy::use COPY: the sources are local and not archives"
        ),
        "{}",
        out.stdout
    );
    assert!(
        lines.contains(
            &"::error file=bad%2Cname/Dockerfile,line=1,col=7,title=dfrewrite::file contains a NUL byte; not a text file"
        ),
        "{}",
        out.stdout
    );
    assert!(lines.iter().all(|l| l.starts_with("::")), "{}", out.stdout);
}

#[test]
fn github_format_appends_a_step_summary() {
    let dir = project(APT);
    let summary = dir.path().join("summary.md");
    fs::write(&summary, "before\n").unwrap();
    let out = run_env(
        dir.path(),
        &["--output-format", "github", "Dockerfile"],
        &[("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())],
        None,
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let text = fs::read_to_string(&summary).unwrap();
    assert!(text.starts_with("before\n### dfrewrite: "), "{text}");
    let doc = json(&run(dir.path(), &["--output-format", "json", "Dockerfile"]));
    let (applied, left) = (
        &doc["summary"]["fixes_applied"],
        &doc["summary"]["more_with_unsafe"],
    );
    assert!(
        text.contains(&format!("| `Dockerfile` | {applied} | {left} | 0 |")),
        "{text}"
    );
}

#[test]
fn gitlab_format_is_code_quality_json() {
    let dir = project(APT);
    let first = run(dir.path(), &["--output-format", "gitlab", "."]);
    assert_eq!(first.code, 1, "{}", first.stderr);
    let issues: Vec<Value> = serde_json::from_str(&first.stdout).unwrap();
    assert!(issues.len() >= 3, "{issues:?}");
    let mut fingerprints = std::collections::BTreeSet::new();
    for issue in &issues {
        for key in ["description", "check_name", "fingerprint", "severity"] {
            assert!(issue[key].is_string(), "{key} in {issue}");
        }
        assert!(
            ["info", "minor", "major", "critical", "blocker"]
                .contains(&issue["severity"].as_str().unwrap())
        );
        assert_eq!(issue["location"]["path"], "Dockerfile");
        assert!(issue["location"]["lines"]["begin"].as_u64().unwrap() >= 1);
        fingerprints.insert(issue["fingerprint"].as_str().unwrap().to_owned());
    }
    assert_eq!(fingerprints.len(), issues.len(), "fingerprints are unique");
    // and stable from run to run
    let second = run(dir.path(), &["--output-format", "gitlab", "."]);
    assert_eq!(first.stdout, second.stdout);
}

// ---------------------------------------------------------------- text conventions

#[test]
fn apply_says_fixed_and_unsafe_left_in_line_order_then_a_summary() {
    let dir = project(APT);
    let out = run(dir.path(), &["--apply", "Dockerfile"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stderr.lines().collect();
    let (summary, reports) = lines.split_last().unwrap();
    let numbers: Vec<u32> = reports
        .iter()
        .map(|l| l.split(':').nth(1).unwrap().parse().unwrap())
        .collect();
    assert!(numbers.is_sorted(), "{}", out.stderr);
    let fixed = reports.iter().filter(|l| l.ends_with(" (Fixed)")).count();
    let left = reports
        .iter()
        .filter(|l| l.ends_with(" (unsafe fix not applied; use --unsafe)"))
        .count();
    assert!(fixed >= 2 && left >= 1, "{}", out.stderr);
    assert_eq!(fixed + left, reports.len(), "{}", out.stderr);
    assert_eq!(
        *summary,
        format!("{fixed} fixes applied, {left} more with --unsafe, 1 file")
    );
    // --diff counts what it would apply; a clean run prints no summary
    let dir = project(ADD);
    let out = run(dir.path(), &["--diff", "."]);
    assert!(
        out.stderr.ends_with("\n1 fix to apply, 1 file\n"),
        "{}",
        out.stderr
    );
    let out = run(dir.path(), &["--apply", "."]);
    assert!(
        out.stderr.ends_with(" (Fixed)\n1 fix applied, 1 file\n"),
        "{}",
        out.stderr
    );
    let out = run(dir.path(), &["--diff", "."]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
}

#[test]
fn colour_follows_the_flag_and_the_environment() {
    let dir = project(ADD);
    let esc = |out: &Output| (out.stdout.contains('\u{1b}'), out.stderr.contains('\u{1b}'));
    let plain = run_env(dir.path(), &["--diff", "."], &[], None);
    assert_eq!(esc(&plain), (false, false), "not a terminal: no colour");
    let always = run_env(dir.path(), &["--color", "always", "--diff", "."], &[], None);
    assert_eq!(esc(&always), (true, true));
    assert!(
        always.stdout.contains("\u{1b}[32m+COPY app.py /app/"),
        "{:?}",
        always.stdout
    );
    let forced = run_env(
        dir.path(),
        &["--diff", "."],
        &[("CLICOLOR_FORCE", "1")],
        None,
    );
    assert_eq!(esc(&forced), (true, true));
    let never = run_env(
        dir.path(),
        &["--color", "never", "--diff", "."],
        &[("CLICOLOR_FORCE", "1")],
        None,
    );
    assert_eq!(esc(&never), (false, false));
    let no_color = run_env(dir.path(), &["--diff", "."], &[("NO_COLOR", "1")], None);
    assert_eq!(esc(&no_color), (false, false));
    // a report is never coloured
    let report = run_env(
        dir.path(),
        &["--color", "always", "--output-format", "json", "."],
        &[],
        None,
    );
    assert!(!report.stdout.contains('\u{1b}'));
    let bad = run(dir.path(), &["--color", "sometimes"]);
    assert_eq!(bad.code, 2);
}

#[test]
fn no_progress_bar_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..25 {
        write(&dir.path().join(format!("s{i:02}/Dockerfile")), ADD);
        write(&dir.path().join(format!("s{i:02}/app.py")), "\n");
    }
    let out = run(dir.path(), &["--check", "."]);
    assert_eq!(out.code, 1);
    assert!(!out.stderr.contains('\r'), "{:?}", out.stderr);
    assert!(!out.stderr.contains("files "), "{:?}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 25);
}

/// On a terminal (util-linux `script` gives one) a long directory run draws a bar, and
/// keeps the report lines whole.
#[test]
fn a_progress_bar_on_a_terminal() {
    let have_script = Command::new("script")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have_script {
        assert!(
            std::env::var_os("CI").is_none(),
            "`script` is needed under CI"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for i in 0..25 {
        write(&dir.path().join(format!("s{i:02}/Dockerfile")), ADD);
        write(&dir.path().join(format!("s{i:02}/app.py")), "\n");
    }
    let typescript = dir.path().join("typescript");
    // stdout to /dev/null: only stderr reaches the terminal
    let command = format!("{BIN} --color never --check . > /dev/null");
    let out = Command::new("script")
        .args(["-qec", &command])
        .arg(&typescript)
        .current_dir(dir.path())
        .env("TERM", "xterm")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let screen = fs::read_to_string(&typescript).unwrap();
    assert!(screen.contains("25/25 files"), "{screen}");
    // the bar is cleared around output, and every report line reaches the terminal whole
    assert!(screen.contains("\r\u{1b}[2K"), "{screen}");
    for i in 0..25 {
        let line = format!(
            "s{i:02}/Dockerfile:2: add-to-copy: use COPY: the sources are local and not archives"
        );
        assert!(screen.contains(&format!("{line}\r\n")), "{line}\n{screen}");
    }
    assert!(screen.contains("25 fixes to apply, 25 files"), "{screen}");
}

/// The diff of a file named by absolute path applies with `git apply` and `patch -p1`.
#[test]
fn diff_of_an_absolute_path_applies_with_git_and_patch() {
    let have = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    };
    if !(have("git") && have("patch")) {
        assert!(
            std::env::var_os("CI").is_none(),
            "git and patch are needed under CI"
        );
        return;
    }
    let check = |cwd: &Path, diff: &str| {
        for (tool, args) in [
            ("git", &["apply", "--check", "-"][..]),
            ("patch", &["-p1", "--dry-run"][..]),
        ] {
            let out = common::output_of(
                Command::new(tool).args(args).current_dir(cwd),
                Some(diff.as_bytes()),
            );
            assert!(
                out.status.success(),
                "{tool} refused the diff in {}:\n{diff}\n{}{}",
                cwd.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    };
    // below the current directory: named relative to it
    let dir = project(ADD);
    fs::create_dir(dir.path().join("sub")).unwrap();
    fs::rename(
        dir.path().join("Dockerfile"),
        dir.path().join("sub/Dockerfile"),
    )
    .unwrap();
    fs::rename(dir.path().join("app.py"), dir.path().join("sub/app.py")).unwrap();
    let absolute = dir.path().join("sub/Dockerfile");
    let out = run(dir.path(), &["--diff", absolute.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("--- a/sub/Dockerfile\n+++ b/sub/Dockerfile\n"),
        "{}",
        out.stdout
    );
    check(dir.path(), &out.stdout);

    // elsewhere, inside a git repository: named relative to its root
    let repo = project(ADD);
    let init = Command::new("git")
        .args(["init", "-q"])
        .current_dir(repo.path())
        .status()
        .unwrap();
    assert!(init.success());
    let elsewhere = tempfile::tempdir().unwrap();
    let absolute = repo.path().join("Dockerfile");
    let out = run(elsewhere.path(), &["--diff", absolute.to_str().unwrap()]);
    assert!(
        out.stdout
            .starts_with("--- a/Dockerfile\n+++ b/Dockerfile\n"),
        "{}",
        out.stdout
    );
    check(repo.path(), &out.stdout);
    // and from a subdirectory with `..`
    let nested = repo.path().join("deep");
    fs::create_dir(&nested).unwrap();
    let out = run(&nested, &["--diff", "../Dockerfile"]);
    assert!(
        out.stdout.starts_with("--- a/Dockerfile\n"),
        "{}",
        out.stdout
    );
    check(repo.path(), &out.stdout);
}

#[test]
fn errors_without_a_line_are_one_line_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["missing/Dockerfile"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (2, "missing/Dockerfile: error: No such file or directory\n")
    );
    let out = run(dir.path(), &["--nope"]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        "error: unexpected argument '--nope' found (see --help)\n"
    );
    let out = run(dir.path(), &["--diff", "--apply"]);
    assert_eq!(out.code, 2);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    #[cfg(unix)]
    if !is_root() {
        use std::os::unix::fs::PermissionsExt as _;
        let file = dir.path().join("Dockerfile");
        write(&file, ADD);
        fs::set_permissions(&file, fs::Permissions::from_mode(0o000)).unwrap();
        let out = run(dir.path(), &["Dockerfile"]);
        assert_eq!(out.stderr, "Dockerfile: error: Permission denied\n");
    }
}

#[cfg(unix)]
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

#[test]
fn a_directory_without_dockerfiles_says_so() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("docs/README.md"), "hi\n");
    let out = run(dir.path(), &["docs"]);
    assert_eq!(out.code, 0);
    assert!(
        out.stderr.starts_with("docs: warning: no Dockerfile found"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1);
}

#[test]
fn empty_and_comment_only_files_are_left_alone() {
    for text in ["", "\n", "# just a comment\n# syntax=docker/dockerfile:1\n"] {
        let dir = project(text);
        for mode in ["--diff", "--check", "--apply"] {
            let out = run(dir.path(), &[mode, "."]);
            assert_eq!(
                (out.code, out.stdout.as_str(), out.stderr.as_str()),
                (0, "", ""),
                "{text:?} {mode}"
            );
        }
        assert_eq!(
            fs::read_to_string(dir.path().join("Dockerfile")).unwrap(),
            text
        );
    }
}

// ---------------------------------------------------------------- completions and man

#[test]
fn completions_and_manual_page_come_from_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "complete -F _dfrewrite"),
        ("zsh", "#compdef dfrewrite"),
        ("fish", "complete -c dfrewrite"),
    ] {
        let out = run(dir.path(), &["completions", shell]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(out.stdout.contains(marker), "{shell}: {}", out.stdout);
        for flag in ["output-format", "unsafe", "color"] {
            assert!(out.stdout.contains(flag), "{shell} lacks {flag}");
        }
        assert!(out.stdout.contains("verify"), "{shell} lacks verify");
    }
    // the bash script parses, and completes the formats after --output-format
    let script = dir.path().join("dfrewrite.bash");
    fs::write(&script, run(dir.path(), &["completions", "bash"]).stdout).unwrap();
    let complete = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -e; source {}; COMP_WORDS=(dfrewrite --output-format ''); COMP_CWORD=2; \
             _dfrewrite dfrewrite '' --output-format; echo \"${{COMPREPLY[*]}}\"",
            script.display()
        ))
        .output()
        .unwrap();
    assert!(
        complete.status.success(),
        "{}",
        String::from_utf8_lossy(&complete.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&complete.stdout).trim(),
        "text json sarif github gitlab"
    );
    let out = run(dir.path(), &["completions", "tcsh"]);
    assert_eq!(out.code, 2);
    let man = run(dir.path(), &["man"]);
    assert_eq!(man.code, 0, "{}", man.stderr);
    assert!(man.stdout.contains(".TH dfrewrite 1"), "{}", man.stdout);
    assert!(man.stdout.contains("output\\-format"), "{}", man.stdout);
}
