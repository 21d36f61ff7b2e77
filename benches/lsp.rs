//! Language-server latency benchmark (not a test): prints figures, asserts nothing about time.
//!
//! `cargo bench --bench lsp` starts `dfrewrite lsp` once, opens a document, and then times
//! one-character changes: from writing `didChange` to reading the `publishDiagnostics` for
//! that version (process already running, framing and JSON included), then `formatting` and
//! the code actions for a two-line range near the top (what an editor asks for when the
//! cursor moves), each once per change. Two documents: a 200-line Dockerfile and the 2,200-line synthetic file
//! (200 stages × 10 instructions and a blank line, 4 RUNs each).
//!
//! `DFREWRITE_BENCH_BIN=PATH` measures that binary instead of this build's (an older build,
//! for a before/after with the same client, or a script that runs it under
//! `valgrind --tool=callgrind` for instruction counts); `DFREWRITE_BENCH_ROUNDS=N` makes N
//! changes per document instead of 101 and 31.

#![allow(clippy::print_stdout)]
#![allow(clippy::cast_precision_loss)]
// a quantile index: non-negative and far below usize::MAX
#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

use serde_json::{Value, json};

mod common;
use common::synthetic;

fn main() {
    // `cargo test --all-targets` runs bench targets without `--bench`: measure only here
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let stages = synthetic(200);
    assert_eq!(stages.lines().count(), 2200);
    let short: String = stages.split_inclusive('\n').take(200).collect();
    let rounds = std::env::var("DFREWRITE_BENCH_ROUNDS")
        .ok()
        .and_then(|n| n.parse::<usize>().ok());
    for (label, text, default) in [("200-line", short, 101), ("2,200-line", stages, 31)] {
        let rounds = rounds.unwrap_or(default).max(1);
        let path = dir.path().join("Dockerfile");
        std::fs::write(&path, &text).expect("write");
        measure(label, &path, &text, rounds);
    }
}

struct Server {
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Server {
    fn send(&mut self, message: &Value) {
        let body = serde_json::to_vec(message).expect("JSON");
        write!(self.stdin, "Content-Length: {}\r\n\r\n", body.len()).expect("write");
        self.stdin.write_all(&body).expect("write");
        self.stdin.flush().expect("flush");
    }

    fn receive(&mut self) -> Value {
        let mut length = 0;
        loop {
            let mut line = String::new();
            assert!(
                self.stdout.read_line(&mut line).expect("read") > 0,
                "server closed"
            );
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(n) = line.strip_prefix("Content-Length: ") {
                length = n.parse().expect("length");
            }
        }
        let mut body = vec![0; length];
        self.stdout.read_exact(&mut body).expect("body");
        serde_json::from_slice(&body).expect("JSON")
    }

    /// Waits for the diagnostics of `version`; returns how many there were.
    fn diagnostics(&mut self, version: i64) -> usize {
        loop {
            let m = self.receive();
            if m["method"] == "textDocument/publishDiagnostics" && m["params"]["version"] == version
            {
                return m["params"]["diagnostics"].as_array().map_or(0, Vec::len);
            }
        }
    }

    fn response(&mut self, id: i64) -> Value {
        loop {
            let m = self.receive();
            if m["id"] == id && m.get("method").is_none() {
                return m;
            }
        }
    }
}

fn measure(label: &str, path: &std::path::Path, text: &str, rounds: usize) {
    let binary = std::env::var_os("DFREWRITE_BENCH_BIN")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_dfrewrite").into());
    let mut child = Command::new(binary)
        .arg("lsp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dfrewrite lsp starts");
    let mut server = Server {
        stdin: child.stdin.take().expect("stdin"),
        stdout: BufReader::new(child.stdout.take().expect("stdout")),
    };
    let uri = format!("file://{}", path.display());
    server.send(&json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"processId": null, "rootUri": null, "capabilities": {}}}));
    server.response(0);
    server.send(&json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
    let open = Instant::now();
    server.send(
        &json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": uri, "languageId": "dockerfile", "version": 1, "text": text}}}),
    );
    let found = server.diagnostics(1);
    let open_ms = open.elapsed().as_secs_f64() * 1e3;

    let (mut change_ms, mut format_ms, mut action_ms) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        // one character: the first `A=1` becomes `A=2` and back
        let version = i64::try_from(round).expect("small") + 2;
        let new_text = if round % 2 == 0 {
            text.replacen("A=1", "A=2", 1)
        } else {
            text.to_owned()
        };
        let start = Instant::now();
        server.send(
            &json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"text": new_text}]}}),
        );
        server.diagnostics(version);
        change_ms.push(start.elapsed().as_secs_f64() * 1e3);

        let id = version * 1000;
        let start = Instant::now();
        server.send(&json!({"jsonrpc": "2.0", "id": id, "method": "textDocument/formatting",
            "params": {"textDocument": {"uri": uri}, "options": {"tabSize": 4, "insertSpaces": true}}}));
        server.response(id);
        format_ms.push(start.elapsed().as_secs_f64() * 1e3);

        let id = id + 1;
        let start = Instant::now();
        server.send(
            &json!({"jsonrpc": "2.0", "id": id, "method": "textDocument/codeAction",
            "params": {"textDocument": {"uri": uri},
                "range": {"start": {"line": 4, "character": 0}, "end": {"line": 6, "character": 0}},
                "context": {"diagnostics": []}}}),
        );
        server.response(id);
        action_ms.push(start.elapsed().as_secs_f64() * 1e3);
    }
    server.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "shutdown"}));
    server.response(1);
    server.send(&json!({"jsonrpc": "2.0", "method": "exit"}));
    let _ = child.wait();

    println!(
        "{label} ({} lines, {found} diagnostics): open {open_ms:.1} ms; after a one-character \
         change, diagnostics {}; formatting {}; code actions {}",
        text.lines().count(),
        summary(&mut change_ms),
        summary(&mut format_ms),
        summary(&mut action_ms)
    );
}

fn summary(samples: &mut [f64]) -> String {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    format!(
        "median {:.2} ms (min {:.2}, p90 {:.2}, n={})",
        at(0.5),
        at(0.0),
        at(0.9),
        samples.len()
    )
}
