//! Differential test against BuildKit's own parser (PyPI `dockerfile==3.4.0`, BuildKit
//! v0.12.5): on every corpus file and case BuildKit accepts, our instruction list must equal
//! BuildKit's in keyword, lines, flags, JSON-ness, value and heredocs.

// Tests report the figures they measure on stderr.
#![allow(clippy::print_stderr)]

mod common;

use dfrewrite::syntax::{self, Instruction};
use serde_json::Value;

/// Files where BuildKit v0.12.5 and dfrewrite are known to differ, with the reason.
/// Keep this list short; every entry is a deliberate decision.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

fn ours(i: &Instruction, text: &str) -> Value {
    let sub = i.trigger();
    let shown = sub.unwrap_or(i);
    serde_json::json!({
        "cmd": i.keyword().slice(text).to_ascii_uppercase(),
        "sub_cmd": sub.map(|t| t.keyword().slice(text).to_ascii_uppercase()),
        "json": shown.is_json(),
        "start_line": i.start_line,
        "end_line": i.end_line(),
        "flags": if sub.is_some() { vec![] } else { i.flags().iter().map(|f| f.text.clone()).collect::<Vec<_>>() },
        "value": i.value(text),
        "heredocs": if sub.is_some() { vec![] } else {
            i.heredocs().iter().map(|h| serde_json::json!({"name": h.name, "fd": h.fd, "content": h.content})).collect::<Vec<_>>()
        },
    })
}

fn normalise(v: &Value) -> Value {
    let mut v = v.clone();
    for key in ["cmd", "sub_cmd"] {
        if let Some(s) = v[key].as_str() {
            v[key] = Value::String(s.to_ascii_uppercase());
        } else if key == "cmd" {
            // BuildKit's empty instruction (a lone continuation) has no keyword
            v[key] = Value::String(String::new());
        }
    }
    v
}

#[test]
fn instructions_match_buildkit() {
    let (Some(mut files), Some(cases)) = (common::corpus_files(), common::case_files()) else {
        return;
    };
    files.extend(cases);
    let list: String = files
        .iter()
        .map(|p| p.display().to_string() + "\n")
        .collect();
    let Some(lines) = common::run_oracle("buildkit.py", &list) else {
        return;
    };
    assert_eq!(lines.len(), files.len());
    let mut compared = 0;
    let mut failures = Vec::new();
    for (path, line) in files.iter().zip(&lines) {
        let oracle: Value = serde_json::from_str(line).expect("oracle json");
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let known = KNOWN_DIFFERENCES.iter().any(|(f, _)| *f == name);
        let bytes = std::fs::read(path).unwrap();
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        let parsed = syntax::parse(text);
        if let Some(err) = oracle.get("error") {
            // BuildKit rejects it: we must reject it too, unless it is "no instructions",
            // which we represent as an empty file.
            let ours_ok = parsed
                .as_ref()
                .is_ok_and(|f| f.instructions().next().is_some());
            if ours_ok && !known {
                failures.push(format!("{name}: BuildKit rejects ({err}) but we accept"));
            }
            continue;
        }
        let file = match parsed {
            Ok(f) => f,
            Err(e) => {
                if !known {
                    failures.push(format!("{name}: BuildKit accepts, we reject: {e}"));
                }
                continue;
            }
        };
        let mine: Vec<Value> = file.instructions().map(|i| ours(i, text)).collect();
        let theirs: Vec<Value> = oracle["commands"]
            .as_array()
            .unwrap()
            .iter()
            .map(normalise)
            .collect();
        compared += 1;
        if mine.len() != theirs.len() {
            if !known {
                failures.push(format!(
                    "{name}: {} instructions, BuildKit {}",
                    mine.len(),
                    theirs.len()
                ));
            }
            continue;
        }
        for (a, b) in mine.iter().zip(&theirs) {
            if a != b && !known {
                failures.push(format!("{name}:\n  ours     {a}\n  buildkit {b}"));
                break;
            }
        }
    }
    eprintln!(
        "compared {compared} BuildKit-accepted files; {} differ",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} files differ from BuildKit:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
