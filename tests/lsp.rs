//! `dfrewrite lsp` driven over stdio by a scripted client: the real binary, real framing.
//!
//! Every expectation is taken from the command line (`--diff`'s report, `-` mode's text), so
//! the server is held to what the CLI does on the same file.

// the helpers take `json!` values at every call site; references would only add `&`
#![allow(clippy::needless_pass_by_value)]

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::thread;
use std::time::Duration;

use serde_json::{Value, json};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_dfrewrite");
/// Only so that a hung server fails the test instead of hanging it; not a speed check.
const PATIENCE: Duration = Duration::from_mins(5);

/// A Dockerfile with safe fixes in two rounds and unsafe advice (with `app.py` in its
/// directory, `add-to-copy` is safe).
const APT: &str =
    "FROM debian\nRUN apt-get update\nRUN apt-get install -y curl\nADD app.py /app/\n";

struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    inbox: Receiver<Value>,
    /// Notifications seen while waiting for something else.
    pending: Vec<Value>,
    next_id: i64,
}

impl Client {
    fn start(dir: &Path, options: Option<Value>) -> Self {
        Self::start_with(dir, &["lsp"], options, &[])
    }

    fn start_with(dir: &Path, args: &[&str], options: Option<Value>, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("the binary starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, inbox) = channel();
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(n) = line.strip_prefix("Content-Length: ") {
                        length = Some(n.parse::<usize>().expect("a length"));
                    }
                }
                let mut body = vec![0; length.expect("a Content-Length header")];
                reader.read_exact(&mut body).expect("a whole body");
                let message = serde_json::from_slice(&body).expect("JSON");
                if tx.send(message).is_err() {
                    return;
                }
            }
        });
        let stdin = child.stdin.take();
        let mut client = Self {
            child,
            stdin,
            inbox,
            pending: Vec::new(),
            next_id: 0,
        };
        let mut params = json!({"processId": null, "rootUri": null, "capabilities": {}});
        if let Some(options) = options {
            params["initializationOptions"] = options;
        }
        let result = client.request("initialize", params);
        assert_eq!(result["capabilities"]["documentFormattingProvider"], true);
        client.notify("initialized", json!({}));
        client
    }

    fn send(&mut self, message: &Value) {
        let body = serde_json::to_vec(message).unwrap();
        let stdin = self.stdin.as_mut().expect("stdin open");
        write!(stdin, "Content-Length: {}\r\n\r\n", body.len()).unwrap();
        stdin.write_all(&body).unwrap();
        stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request and waits for its response, keeping notifications for later.
    fn request_raw(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let message = self.receive();
            if message["id"] == id && message.get("method").is_none() {
                return message;
            }
            self.pending.push(message);
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let response = self.request_raw(method, params);
        assert!(response.get("error").is_none(), "{method}: {response}");
        response["result"].clone()
    }

    fn receive(&mut self) -> Value {
        self.inbox
            .recv_timeout(PATIENCE)
            .expect("the server answers")
    }

    /// The next diagnostics published for `uri`.
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        let is_ours = |m: &Value| {
            m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri
        };
        if let Some(at) = self.pending.iter().position(is_ours) {
            let message = self.pending.remove(at);
            return message["params"]["diagnostics"].as_array().unwrap().clone();
        }
        loop {
            let message = self.receive();
            if is_ours(&message) {
                return message["params"]["diagnostics"].as_array().unwrap().clone();
            }
            self.pending.push(message);
        }
    }

    fn open(&mut self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "dockerfile", "version": 1, "text": text}}),
        );
    }

    fn change(&mut self, uri: &str, version: i32, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}),
        );
    }

    fn formatting(&mut self, uri: &str) -> Vec<Value> {
        let result = self.request(
            "textDocument/formatting",
            json!({"textDocument": {"uri": uri}, "options": {"tabSize": 4, "insertSpaces": true}}),
        );
        result.as_array().cloned().unwrap_or_default()
    }

    fn code_actions(&mut self, uri: &str, only: Option<&[&str]>) -> Vec<Value> {
        let mut context = json!({"diagnostics": []});
        if let Some(only) = only {
            context["only"] = json!(only);
        }
        let result = self.request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri},
                   "range": {"start": {"line": 0, "character": 0}, "end": {"line": 100_000, "character": 0}},
                   "context": context}),
        );
        result.as_array().cloned().unwrap_or_default()
    }

    /// `shutdown` then `exit`; returns the exit code.
    fn shutdown(mut self) -> i32 {
        assert_eq!(self.request("shutdown", Value::Null), Value::Null);
        self.notify("exit", Value::Null);
        self.stdin = None;
        self.child.wait().unwrap().code().unwrap_or(-1)
    }
}

fn uri_of(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// The CLI's report for `Dockerfile` in `dir`: `LINE: pass: message`, notes removed.
fn cli_report(dir: &Path, file: &str, extra: &[&str]) -> Vec<String> {
    let stderr = common::run_in(dir, &[&["--diff", file], extra].concat()).stderr;
    let mut report: Vec<&str> = stderr.lines().collect();
    // the summary line (`N fixes to apply, …`) that ends a run which found something
    if report
        .last()
        .is_some_and(|last| !last.starts_with(&format!("{file}:")))
    {
        report.pop();
    }
    let mut lines: Vec<String> = report
        .into_iter()
        .map(|line| {
            let rest = line.strip_prefix(&format!("{file}:")).expect(line);
            rest.trim_end_matches(" (unsafe fix not applied; use --unsafe)")
                .trim_end_matches(" (advice, no fix)")
                .to_owned()
        })
        .collect();
    lines.sort();
    lines
}

/// The diagnostics as `LINE: pass: message`, in the CLI's terms.
fn lsp_report(diagnostics: &[Value]) -> Vec<String> {
    let mut lines: Vec<String> = diagnostics
        .iter()
        .map(|d| {
            let message = d["message"].as_str().unwrap();
            let message = message
                .trim_end_matches(" (unsafe fix, not applied; enable the `unsafe` setting)")
                .trim_end_matches(" (advice, no fix)");
            format!(
                "{}: {}: {message}",
                d["range"]["start"]["line"].as_u64().unwrap() + 1,
                d["code"].as_str().unwrap()
            )
        })
        .collect();
    lines.sort();
    lines
}

/// `-` mode's output for `text` named `file` in `dir`.
fn stdin_mode(dir: &Path, file: &str, text: &str, extra: &[&str]) -> String {
    let args = [&["-", "--stdin-filename", file], extra].concat();
    let out = common::output_of(&mut common::binary(dir, &args), Some(text.as_bytes()));
    assert_eq!(out.status.code(), Some(0));
    String::from_utf8(out.stdout).unwrap()
}

/// The byte offset of an LSP position (UTF-16 units; lines end at `\n`, `\r\n` or `\r`),
/// written independently of the server's own conversion.
fn offset(text: &str, position: &Value) -> usize {
    let line = usize::try_from(position["line"].as_u64().unwrap()).unwrap();
    let character = usize::try_from(position["character"].as_u64().unwrap()).unwrap();
    let bytes = text.as_bytes();
    let mut starts = vec![0];
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
            starts.push(i + 1);
        }
    }
    let Some(&start) = starts.get(line) else {
        return text.len();
    };
    let mut units = 0;
    for (i, c) in text[start..].char_indices() {
        if units >= character || c == '\n' || c == '\r' {
            return start + i;
        }
        units += c.len_utf16();
    }
    text.len()
}

/// Applies LSP text edits (all on the same original text) to `text`.
fn apply(text: &str, edits: &[Value]) -> String {
    let mut spans: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|e| {
            (
                offset(text, &e["range"]["start"]),
                offset(text, &e["range"]["end"]),
                e["newText"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    spans.sort_by_key(|s| (s.0, s.1));
    let mut out = text.to_owned();
    for (start, end, new) in spans.iter().rev() {
        out.replace_range(*start..*end, new);
    }
    out
}

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    dir
}

/// A project holding `APT` as its Dockerfile and `app.py`, and a server started there with
/// `options` that has the Dockerfile open: the directory, the document's URI and the client.
fn open_apt(options: Option<Value>) -> (tempfile::TempDir, String, Client) {
    let dir = project(&[("Dockerfile", APT), ("app.py", "print(1)\n")]);
    let uri = uri_of(&dir.path().join("Dockerfile"));
    let mut client = Client::start(dir.path(), options);
    client.open(&uri, APT);
    (dir, uri, client)
}

fn edits_of(action: &Value, uri: &str) -> Vec<Value> {
    action["edit"]["changes"][uri].as_array().unwrap().clone()
}

#[test]
fn diagnostics_are_the_fixes_diff_reports() {
    let (dir, uri, mut client) = open_apt(None);
    let diagnostics = client.diagnostics(&uri);
    let expected = cli_report(dir.path(), "Dockerfile", &[]);
    assert!(expected.len() >= 4, "{expected:?}");
    assert_eq!(lsp_report(&diagnostics), expected);
    for d in &diagnostics {
        let pass = d["code"].as_str().unwrap();
        let unsafe_advice = d["message"]
            .as_str()
            .unwrap()
            .contains("unsafe fix, not applied");
        // safe = warning, unsafe = hint
        assert_eq!(d["severity"], if unsafe_advice { 4 } else { 2 }, "{d}");
        assert_eq!(d["source"], "dfrewrite");
        assert_eq!(
            d["codeDescription"]["href"],
            format!("dfrewrite://explain/{pass}")
        );
    }
    assert_eq!(client.shutdown(), 0);
}

#[test]
fn formatting_gives_the_stdin_mode_output_as_small_edits() {
    let cases: &[(&str, &str)] = &[
        ("lf", APT),
        ("crlf", &APT.replace('\n', "\r\n")),
        ("bom", &format!("\u{feff}{APT}")),
        (
            "non-ascii",
            "FROM python:3.12\n# café ☕ 𝄞\nRUN echo 'é𝄞' && pip install flask\nRUN echo ok\n",
        ),
    ];
    for (label, text) in cases {
        let dir = project(&[("Dockerfile", text), ("app.py", "print(1)\n")]);
        let uri = uri_of(&dir.path().join("Dockerfile"));
        let mut client = Client::start(dir.path(), None);
        client.open(&uri, text);
        let edits = client.formatting(&uri);
        let expected = stdin_mode(dir.path(), "Dockerfile", text, &[]);
        assert_ne!(&expected, text, "{label}: the case must have fixes");
        assert_eq!(apply(text, &edits), expected, "{label}");
        // minimal: no edit replaces the whole document
        let whole = edits.iter().any(|e| {
            offset(text, &e["range"]["start"]) == 0
                && offset(text, &e["range"]["end"]) == text.len()
        });
        assert!(!whole, "{label}: {edits:?}");
        if *label == "bom" {
            // the BOM is one UTF-16 unit the edits leave alone
            assert!(
                edits
                    .iter()
                    .all(|e| offset(text, &e["range"]["start"]) >= 3)
            );
        }
        assert_eq!(client.shutdown(), 0, "{label}");
    }
}

#[test]
fn positions_count_utf16_units() {
    let text = "FROM python:3.12\nRUN echo 'é𝄞' && pip install flask\n";
    let dir = project(&[("Dockerfile", text)]);
    let uri = uri_of(&dir.path().join("Dockerfile"));
    let mut client = Client::start(dir.path(), None);
    client.open(&uri, text);
    let diagnostics = client.diagnostics(&uri);
    assert!(
        diagnostics.iter().any(|d| d["code"] == "no-cache-flags"),
        "{diagnostics:?}"
    );
    let actions = client.code_actions(&uri, Some(&["quickfix"]));
    let fix = actions
        .iter()
        .find(|a| a["diagnostics"][0]["code"] == "no-cache-flags")
        .expect("a quick fix for no-cache-flags");
    let edits = edits_of(fix, &uri);
    let line = text.lines().nth(1).unwrap();
    let install = line.find("install").unwrap() + "install".len();
    let utf16 = line[..install].encode_utf16().count();
    assert!(utf16 < install, "the line must hold non-ASCII text");
    assert!(
        edits
            .iter()
            .any(|e| e["range"]["start"]["line"] == 1 && e["range"]["start"]["character"] == utf16),
        "{edits:?}"
    );
    assert_eq!(client.shutdown(), 0);
}

#[test]
fn code_actions_offer_one_quick_fix_per_diagnostic_and_fix_all() {
    let (dir, uri, mut client) = open_apt(None);
    let diagnostics = client.diagnostics(&uri);
    let actions = client.code_actions(&uri, None);
    let quick: Vec<&Value> = actions.iter().filter(|a| a["kind"] == "quickfix").collect();
    assert_eq!(quick.len(), diagnostics.len(), "{actions:?}");
    for (action, diagnostic) in quick.iter().zip(&diagnostics) {
        assert_eq!(&action["diagnostics"][0], diagnostic);
        let is_unsafe = diagnostic["severity"] == 4;
        let title = action["title"].as_str().unwrap();
        assert_eq!(title.contains("(unsafe)"), is_unsafe, "{title}");
        if is_unsafe {
            assert_eq!(action["isPreferred"], false, "{title}");
        }
        // every quick fix changes the buffer
        assert_ne!(apply(APT, &edits_of(action, &uri)), APT, "{title}");
    }
    // the first-round quick fix is the fix alone
    let copy = quick
        .iter()
        .find(|a| a["diagnostics"][0]["code"] == "add-to-copy")
        .unwrap();
    assert_eq!(
        apply(APT, &edits_of(copy, &uri)),
        APT.replace("ADD app.py", "COPY app.py")
    );
    // fix-all, asked for alone as editors do on save, is the `-` mode output
    let all = client.code_actions(&uri, Some(&["source.fixAll"]));
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["kind"], "source.fixAll.dfrewrite");
    assert_eq!(
        apply(APT, &edits_of(&all[0], &uri)),
        stdin_mode(dir.path(), "Dockerfile", APT, &[])
    );
    assert_eq!(client.shutdown(), 0);
}

#[test]
fn a_parse_error_gives_one_error_and_no_edits() {
    let (dir, uri, mut client) = open_apt(None);
    assert!(!client.diagnostics(&uri).is_empty());
    let broken = format!("{APT}RUN <<EOF\necho\n");
    client.change(&uri, 2, &broken);
    let diagnostics = client.diagnostics(&uri);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0]["severity"], 1);
    assert_eq!(diagnostics[0]["range"]["start"]["line"], 4);
    assert_eq!(diagnostics[0]["range"]["start"]["character"], 4);
    assert!(client.formatting(&uri).is_empty());
    assert!(client.code_actions(&uri, None).is_empty());
    // and back: fixing the text brings the fixes back
    client.change(&uri, 3, APT);
    assert_eq!(
        lsp_report(&client.diagnostics(&uri)),
        cli_report(dir.path(), "Dockerfile", &[])
    );
    assert_eq!(client.shutdown(), 0);
}

#[test]
fn settings_select_the_passes_and_the_tier() {
    let (dir, uri, mut client) = open_apt(Some(json!({"unsafe": true})));
    assert_eq!(
        lsp_report(&client.diagnostics(&uri)),
        cli_report(dir.path(), "Dockerfile", &["--unsafe"])
    );
    assert_eq!(
        apply(APT, &client.formatting(&uri)),
        stdin_mode(dir.path(), "Dockerfile", APT, &["--unsafe"])
    );
    client.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"dfrewrite": {"ignore": ["add-to-copy"], "select": null}}}),
    );
    assert_eq!(
        lsp_report(&client.diagnostics(&uri)),
        cli_report(dir.path(), "Dockerfile", &["--ignore", "add-to-copy"])
    );
    assert_eq!(client.shutdown(), 0);
}

#[test]
fn the_build_context_defaults_to_the_documents_directory_and_can_be_set() {
    // app.py lies beside docker/, not in it: add-to-copy is safe only with the parent as context
    let text = "FROM alpine\nADD app.py /app/\n";
    let dir = project(&[("docker/Dockerfile", text), ("app.py", "print(1)\n")]);
    let uri = uri_of(&dir.path().join("docker/Dockerfile"));
    let mut client = Client::start(dir.path(), None);
    client.open(&uri, text);
    assert_eq!(
        lsp_report(&client.diagnostics(&uri)),
        cli_report(dir.path(), "docker/Dockerfile", &[])
    );
    let context = dir.path().to_str().unwrap();
    client.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"context": context}}),
    );
    let with_context = cli_report(dir.path(), "docker/Dockerfile", &["--context", context]);
    assert_ne!(
        with_context,
        cli_report(dir.path(), "docker/Dockerfile", &[])
    );
    assert_eq!(lsp_report(&client.diagnostics(&uri)), with_context);
    assert_eq!(client.shutdown(), 0);
}

#[test]
fn only_dockerfiles_are_claimed_and_closing_clears() {
    let dir = project(&[("Dockerfile", APT), ("app.py", "print(1)\n")]);
    let mut client = Client::start(dir.path(), None);
    let readme = uri_of(&dir.path().join("README.md"));
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": readme, "languageId": "markdown", "version": 1, "text": APT}}),
    );
    // requests are answered in order, so nothing was published for it before this answer
    assert_eq!(
        client.request(
            "textDocument/formatting",
            json!({"textDocument": {"uri": readme}, "options": {"tabSize": 4, "insertSpaces": true}})
        ),
        Value::Null
    );
    assert!(client.pending.iter().all(|m| m["params"]["uri"] != readme));
    // a name the directory walk picks, whatever the language id
    let named = uri_of(&dir.path().join("api.Dockerfile"));
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": named, "languageId": "plaintext", "version": 1, "text": APT}}),
    );
    assert!(!client.diagnostics(&named).is_empty());
    client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": named}}),
    );
    assert!(client.diagnostics(&named).is_empty());
    assert_eq!(client.shutdown(), 0);
}

#[test]
fn a_panic_in_a_request_is_answered_and_the_server_goes_on() {
    let dir = project(&[("Dockerfile", APT), ("app.py", "print(1)\n")]);
    let uri = uri_of(&dir.path().join("Dockerfile"));
    let mut client = Client::start_with(
        dir.path(),
        &["lsp"],
        None,
        &[("DFREWRITE_LSP_TEST_PANIC", "1")],
    );
    client.open(&uri, APT);
    let response = client.request_raw("dfrewrite/debugPanic", Value::Null);
    assert_eq!(response["error"]["code"], -32603, "{response}");
    assert_eq!(
        apply(APT, &client.formatting(&uri)),
        stdin_mode(dir.path(), "Dockerfile", APT, &[])
    );
    assert_eq!(client.shutdown(), 0);
}

#[test]
fn a_ten_megabyte_document_gets_one_diagnostic() {
    let dir = project(&[]);
    let uri = uri_of(&dir.path().join("Dockerfile"));
    let mut client = Client::start(dir.path(), None);
    let line = "RUN apt-get update && apt-get install -y curl\n";
    let text = format!(
        "FROM debian\n{}",
        line.repeat(10 * 1024 * 1024 / line.len())
    );
    assert!(text.len() >= 10_000_000);
    client.open(&uri, &text);
    let diagnostics = client.diagnostics(&uri);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert!(client.formatting(&uri).is_empty());
    assert_eq!(client.shutdown(), 0);
}

#[test]
fn exit_without_shutdown_is_an_error_and_usage_is_checked() {
    let dir = project(&[]);
    let mut client = Client::start(dir.path(), None);
    client.notify("exit", Value::Null);
    client.stdin = None;
    assert_eq!(client.child.wait().unwrap().code(), Some(1));
    let out = Command::new(BIN).args(["lsp", "--bogus"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

/// The fenced blocks of the README's editor section, with their language tags.
fn readme_snippets() -> Vec<(String, String)> {
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("## Editors: the language server")
        .expect("the editor section");
    let section = &readme[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let mut blocks = Vec::new();
    let mut rest = section;
    while let Some(open) = rest.find("```") {
        let after = &rest[open + 3..];
        let tag_end = after.find('\n').unwrap();
        let body = &after[tag_end + 1..];
        let close = body.find("```").unwrap();
        blocks.push((after[..tag_end].to_owned(), body[..close].to_owned()));
        rest = &body[close + 3..];
    }
    blocks
}

/// The quoted strings of the first `{ … }` after `key` in a Lua table.
fn lua_list(lua: &str, key: &str) -> Vec<String> {
    let at = lua.find(key).unwrap_or_else(|| panic!("{key} in {lua}"));
    let open = at + lua[at..].find('{').unwrap();
    let close = open + lua[open..].find('}').unwrap();
    lua[open + 1..close]
        .split(',')
        .map(|s| s.trim().trim_matches('\'').to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Starts the server as a snippet's command line does and checks it reports fixes.
fn serves(command: &[String], options: Option<Value>) {
    assert_eq!(
        command.first().map(String::as_str),
        Some("dfrewrite"),
        "{command:?}"
    );
    let args: Vec<&str> = command[1..].iter().map(String::as_str).collect();
    let dir = project(&[("Dockerfile", APT), ("app.py", "print(1)\n")]);
    let uri = uri_of(&dir.path().join("Dockerfile"));
    let mut client = Client::start_with(dir.path(), &args, options, &[]);
    client.open(&uri, APT);
    assert!(!client.diagnostics(&uri).is_empty(), "{command:?}");
    assert_eq!(client.shutdown(), 0, "{command:?}");
}

/// Runs a pipe formatter's command line (with `file` for the file-name placeholder) and
/// checks it prints the rewrite.
fn pipes(command: &[String], placeholder: &str) {
    assert_eq!(
        command.first().map(String::as_str),
        Some("dfrewrite"),
        "{command:?}"
    );
    let dir = project(&[("Dockerfile", APT), ("app.py", "print(1)\n")]);
    let file = dir.path().join("Dockerfile");
    let args: Vec<String> = command[1..]
        .iter()
        .map(|a| a.replace(placeholder, file.to_str().unwrap()))
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = common::output_of(&mut common::binary(dir.path(), &args), Some(APT.as_bytes()));
    assert_eq!(out.status.code(), Some(0), "{args:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        stdin_mode(dir.path(), "Dockerfile", APT, &[]),
        "{args:?}"
    );
}

#[test]
fn readme_editor_snippets_run_the_right_command_lines() {
    let blocks = readme_snippets();
    let tags: Vec<&str> = blocks.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(tags, ["json", "lua", "toml", "json", "elisp"]);

    // VS Code (glspc)
    let vscode: Value = serde_json::from_str(&blocks[0].1).unwrap();
    let mut command = vec![vscode["glspc.server.command"].as_str().unwrap().to_owned()];
    for arg in vscode["glspc.server.commandArguments"].as_array().unwrap() {
        command.push(arg.as_str().unwrap().to_owned());
    }
    assert_eq!(vscode["glspc.server.languageId"], json!(["dockerfile"]));
    serves(
        &command,
        Some(vscode["glspc.server.initializationOptions"].clone()),
    );

    // Neovim: the server and conform's pipe
    let lua = &blocks[1].1;
    serves(&lua_list(lua, "cmd ="), Some(json!({"unsafe": false})));
    let conform_at = lua.find("formatters =").unwrap();
    let line = lua[conform_at..]
        .lines()
        .find(|l| l.contains("command ="))
        .unwrap();
    let mut conform = vec![line.split('\'').nth(1).unwrap().to_owned()];
    conform.extend(lua_list(&lua[conform_at..], "args ="));
    pipes(&conform, "$FILENAME");

    // Helix
    let helix: toml::Value = toml::from_str(&blocks[2].1).unwrap();
    let server = &helix["language-server"]["dfrewrite"];
    let mut command = vec![server["command"].as_str().unwrap().to_owned()];
    for arg in server["args"].as_array().unwrap() {
        command.push(arg.as_str().unwrap().to_owned());
    }
    let config: Value = serde_json::to_value(server["config"].clone()).unwrap();
    serves(&command, Some(config));
    let language = &helix["language"].as_array().unwrap()[0];
    assert_eq!(
        language["language-servers"].as_array().unwrap()[0].as_str(),
        Some("dfrewrite")
    );

    // Zed: the pipe
    let zed: Value = serde_json::from_str(&blocks[3].1).unwrap();
    let external = &zed["languages"]["Dockerfile"]["formatter"]["external"];
    let mut command = vec![external["command"].as_str().unwrap().to_owned()];
    for arg in external["arguments"].as_array().unwrap() {
        command.push(arg.as_str().unwrap().to_owned());
    }
    pipes(&command, "{buffer_path}");

    // Emacs: the strings of the server list before its first keyword
    let elisp = &blocks[4].1;
    let list = &elisp[elisp.find(". (").unwrap() + 3..];
    let list = &list[..list.find(':').unwrap()];
    let command: Vec<String> = list
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    serves(&command, Some(json!({"unsafe": false})));
}

#[test]
fn the_configuration_file_and_pragmas_apply_as_on_the_command_line() {
    let text =
        "FROM alpine\n# dfrewrite: ignore=no-such-pass\nADD app.py /app/\nRUN pip install flask\n";
    let dir = project(&[
        (".git/HEAD", ""),
        (".dockerignore", ".git\n"),
        ("Dockerfile", text),
        ("app.py", "print(1)\n"),
        ("dfrewrite.toml", "ignore = [\"add-to-copy\"]\n"),
    ]);
    let uri = uri_of(&dir.path().join("Dockerfile"));
    let mut client = Client::start(dir.path(), None);
    client.open(&uri, text);
    let report = lsp_report(&client.diagnostics(&uri));
    assert_eq!(report, cli_report(dir.path(), "Dockerfile", &[]));
    assert!(
        !report.iter().any(|l| l.contains("add-to-copy")),
        "{report:?}"
    );
    assert!(
        report.iter().any(|l| l.starts_with("2: invalid-pragma")),
        "{report:?}"
    );
    assert!(
        report.iter().any(|l| l.contains("no-cache-flags")),
        "{report:?}"
    );
    assert_eq!(client.shutdown(), 0);
}

#[test]
fn the_ignore_action_writes_a_pragma_that_holds_the_pass_back() {
    let (_dir, uri, mut client) = open_apt(None);
    let before = client.diagnostics(&uri);
    let actions = client.code_actions(&uri, None);
    let ignore = actions
        .iter()
        .find(|a| {
            a["kind"] == "quickfix.dfrewrite.ignore" && a["diagnostics"][0]["code"] == "add-to-copy"
        })
        .expect("an ignore action for add-to-copy");
    let text = apply(APT, &edits_of(ignore, &uri));
    assert!(
        text.contains("# dfrewrite: ignore=add-to-copy\nADD app.py"),
        "{text}"
    );
    client.change(&uri, 2, &text);
    let after = lsp_report(&client.diagnostics(&uri));
    assert!(
        !after.iter().any(|l| l.contains("add-to-copy")),
        "{after:?}"
    );
    assert!(!after.iter().any(|l| l.contains("pragma")), "{after:?}");
    // everything else is still reported
    assert_eq!(after.len(), before.len() - 1, "{after:?}");
    assert_eq!(client.shutdown(), 0);
}
