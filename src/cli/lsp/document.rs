//! One open document: its text, its analysis, and what the protocol asks of it.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dfrewrite::text::TextRange;
use dfrewrite::{Applicability, Finding, Settings, Trace};
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, CodeDescription, CreateFile,
    CreateFileOptions, Diagnostic, DiagnosticSeverity, DocumentChangeOperation, DocumentChanges,
    NumberOrString, OneOf, OptionalVersionedTextDocumentIdentifier, Position, Range, ResourceOp,
    TextDocumentEdit, TextEdit, Uri, WorkspaceEdit,
};
use serde_json::Value;

use super::FIX_ALL;
use super::context::Contexts;
use super::ignore::Instructions;
use super::text::{Lines, minimal_edits, text_edits};

/// Documents larger than this get one diagnostic and no rewrite: a Dockerfile that large
/// is generated, and checking it on every keystroke would stall the editor.
pub(crate) const MAX_DOCUMENT_BYTES: usize = 2 * 1024 * 1024;

const SOURCE: &str = "dfrewrite";

/// The settings a client may send (`initializationOptions`, `workspace/didChangeConfiguration`
/// or `workspace/configuration` for section `dfrewrite`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    /// Also apply fixes that may change behaviour.
    unsafe_fixes: bool,
    select: Option<Vec<String>>,
    ignore: Vec<String>,
    /// The build context directory; relative to the workspace folder when relative.
    context: Option<PathBuf>,
}

impl Options {
    /// Reads settings leniently: `{ "dfrewrite": { … } }` or the object itself; a bad field
    /// or an unknown pass is left out with a warning rather than refusing everything.
    pub(crate) fn parse(value: &Value) -> (Self, Vec<String>) {
        let value = value.get("dfrewrite").unwrap_or(value);
        let mut options = Self::default();
        let mut warnings = Vec::new();
        if !value.is_object() {
            if !value.is_null() {
                warnings.push(format!("settings must be an object, not {value}"));
            }
            return (options, warnings);
        }
        match value.get("unsafe") {
            None | Some(Value::Null) => {}
            Some(Value::Bool(b)) => options.unsafe_fixes = *b,
            Some(other) => warnings.push(format!(
                "setting `unsafe` must be true or false, not {other}"
            )),
        }
        let mut names = |key: &str| -> Option<Vec<String>> {
            let list = value.get(key).filter(|v| !v.is_null())?;
            let Some(items) = list.as_array() else {
                warnings.push(format!("setting `{key}` must be a list of pass names"));
                return None;
            };
            let mut out = Vec::new();
            for item in items {
                match item.as_str().map(str::trim) {
                    Some(name) if dfrewrite::pass_by_name(name).is_some() => {
                        out.push(name.to_owned());
                    }
                    _ => warnings.push(format!("setting `{key}`: unknown pass {item}, left out")),
                }
            }
            Some(out)
        };
        options.select = names("select");
        options.ignore = names("ignore").unwrap_or_default();
        match value.get("context") {
            None | Some(Value::Null) => {}
            Some(Value::String(dir)) if !dir.is_empty() => {
                options.context = Some(PathBuf::from(dir));
            }
            Some(other) => warnings.push(format!(
                "setting `context` must be a directory path, not {other}"
            )),
        }
        (options, warnings)
    }

    fn threshold(&self) -> Applicability {
        if self.unsafe_fixes {
            Applicability::Unsafe
        } else {
            Applicability::Safe
        }
    }
}

/// Whether the server takes a document: the names the directory walk picks, or a document
/// the client says is a Dockerfile.
pub(crate) fn claims(uri: &Uri, language_id: &str) -> bool {
    if language_id.eq_ignore_ascii_case("dockerfile") {
        return true;
    }
    let path = uri.as_str().split(['?', '#']).next().unwrap_or_default();
    let name = path.rsplit('/').next().unwrap_or_default();
    dfrewrite::context::is_dockerfile_name(&percent_decode(name))
}

/// The local path of a `file:` URI.
pub(crate) fn uri_to_path(uri: &Uri) -> Option<PathBuf> {
    let rest = uri.as_str().strip_prefix("file://")?;
    let rest = rest.split(['?', '#']).next()?;
    // file:///path or file://localhost/path
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return None;
    }
    Some(PathBuf::from(percent_decode(path)))
}

fn path_to_uri(path: &Path) -> Option<Uri> {
    let mut out = String::from("file://");
    for byte in path.to_str()?.bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out.parse().ok()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Why a document has no rewrite.
enum Problem {
    /// Does not parse (or is not text BuildKit takes): a byte offset and a message.
    Invalid {
        offset: usize,
        message: String,
    },
    /// A bug in dfrewrite.
    Internal(String),
    TooLarge(usize),
}

/// One rewrite of one text under one set of settings, and what requests derived from it.
/// Diagnostics need only the trace; the rest is computed on the first request that needs it
/// and kept until the text or the settings change (editors ask for code actions on every
/// cursor move, and for formatting again on save).
struct Analysis {
    result: Result<Trace, Problem>,
    /// Where the build context is, for new-file proposals.
    context_dir: Option<PathBuf>,
    /// The whole rewrite as minimal edits of the text (formatting, fix-all).
    rewrite_edits: OnceCell<Vec<TextEdit>>,
    /// The text's instructions, for the ignore action; `None` inside when it does not parse.
    instructions: OnceCell<Option<Instructions>>,
}

impl Analysis {
    fn new(result: Result<Trace, Problem>, context_dir: Option<PathBuf>) -> Self {
        Self {
            result,
            context_dir,
            rewrite_edits: OnceCell::new(),
            instructions: OnceCell::new(),
        }
    }
}

pub(crate) struct Document {
    uri: Uri,
    version: i32,
    text: String,
    analysis: Option<Analysis>,
}

impl Document {
    pub(crate) fn new(uri: Uri, version: i32, text: String) -> Self {
        Self {
            uri,
            version,
            text,
            analysis: None,
        }
    }

    pub(crate) fn version(&self) -> i32 {
        self.version
    }

    pub(crate) fn replace(&mut self, version: i32, text: String) {
        self.version = version;
        self.text = text;
        self.analysis = None;
    }

    pub(crate) fn invalidate(&mut self) {
        self.analysis = None;
    }

    /// Rewrites the text under `options` unless that is already done for this version.
    pub(crate) fn analyse(
        &mut self,
        options: &Options,
        root: Option<&Path>,
        contexts: &mut Contexts,
    ) {
        if self.analysis.is_some() {
            return;
        }
        if self.text.len() > MAX_DOCUMENT_BYTES {
            self.analysis = Some(Analysis::new(Err(Problem::TooLarge(self.text.len())), None));
            return;
        }
        let path = uri_to_path(&self.uri);
        let context_dir = match (&options.context, &path) {
            (Some(dir), _) if dir.is_absolute() => Some(dir.clone()),
            (Some(dir), path) => root
                .map(Path::to_path_buf)
                .or_else(|| {
                    path.as_ref()
                        .and_then(|p| p.parent().map(Path::to_path_buf))
                })
                .map(|base| base.join(dir)),
            (None, Some(path)) => path.parent().map(Path::to_path_buf),
            (None, None) => None,
        };
        let context = context_dir.as_deref().and_then(|dir| contexts.get(dir));
        let settings = Settings {
            threshold: options.threshold(),
            select: options.select.clone(),
            ignore: options.ignore.clone(),
            dockerfile: context
                .as_ref()
                .zip(path.as_ref())
                .and_then(|(ctx, path)| ctx.fs().relative(path)),
            context: context.map(|c| c as Arc<dyn dfrewrite::BuildContext>),
            ..Settings::default()
        };
        // the client's settings over the configuration file found for the document, as
        // flags over it on the command line; a configuration that does not load is left out
        // (the command line reports it)
        let settings =
            super::super::config::discovered(&settings, path.as_deref()).unwrap_or(settings);
        let result = dfrewrite::rewrite_traced(&self.text, &settings).map_err(|e| match e {
            dfrewrite::Error::Invalid {
                line,
                column,
                message,
            } => Problem::Invalid {
                offset: offset_of(&self.text, line, column),
                message,
            },
            dfrewrite::Error::Internal(message) => Problem::Internal(message),
        });
        self.analysis = Some(Analysis::new(result, context_dir));
    }

    fn analysis(&self) -> &Analysis {
        self.analysis
            .as_ref()
            .expect("documents are analysed before they are asked about")
    }

    pub(crate) fn diagnostics(&self) -> Vec<Diagnostic> {
        let lines = Lines::new(&self.text);
        match &self.analysis().result {
            Ok(trace) => trace
                .findings
                .iter()
                .map(|f| diagnostic(&lines, &self.text, f))
                .collect(),
            Err(Problem::Invalid { offset, message }) => {
                let start = lines.position(*offset);
                let end = lines.position(lines.line_end(lines.line_of(*offset)).max(*offset));
                vec![Diagnostic {
                    range: Range::new(start, end),
                    severity: Some(DiagnosticSeverity::ERROR),
                    source: Some(SOURCE.to_owned()),
                    message: format!(
                        "{message} (dfrewrite does not rewrite a file that does not parse)"
                    ),
                    ..Diagnostic::default()
                }]
            }
            Err(Problem::Internal(message)) => vec![internal_error(message)],
            Err(Problem::TooLarge(len)) => vec![Diagnostic {
                range: Range::default(),
                severity: Some(DiagnosticSeverity::INFORMATION),
                source: Some(SOURCE.to_owned()),
                message: format!(
                    "not checked: the document is {len} bytes; the language server checks \
                     documents up to {MAX_DOCUMENT_BYTES} bytes (the command line, up to {} bytes)",
                    dfrewrite::MAX_INPUT_BYTES
                ),
                ..Diagnostic::default()
            }],
        }
    }

    /// The rewrite as minimal edits; none when the text does not parse.
    pub(crate) fn formatting(&self) -> Vec<TextEdit> {
        self.rewrite_edits()
            .map(<[TextEdit]>::to_vec)
            .unwrap_or_default()
    }

    /// The rewrite as minimal edits, computed once per analysis; `None` when the text does
    /// not parse or the rewrite changes nothing.
    fn rewrite_edits(&self) -> Option<&[TextEdit]> {
        let analysis = self.analysis();
        let output = analysis.result.as_ref().ok()?.outcome.output.as_ref()?;
        let edits = analysis.rewrite_edits.get_or_init(|| {
            text_edits(&Lines::new(&self.text), &minimal_edits(&self.text, output))
        });
        Some(edits)
    }

    pub(crate) fn code_actions(
        &self,
        params: &CodeActionParams,
        creates_files: bool,
    ) -> Vec<CodeActionOrCommand> {
        let Ok(trace) = &self.analysis().result else {
            return Vec::new();
        };
        let wants = |kind: &str| {
            params.context.only.as_ref().is_none_or(|only| {
                only.iter().any(|k| {
                    let k = k.as_str();
                    kind == k
                        || kind
                            .strip_prefix(k)
                            .is_some_and(|rest| rest.starts_with('.'))
                })
            })
        };
        let lines = Lines::new(&self.text);
        let wanted = TextRange::new(
            super::text::to_u32(lines.offset(params.range.start)),
            super::text::to_u32(lines.offset(params.range.end)),
        );
        let mut actions = Vec::new();
        if wants(CodeActionKind::QUICKFIX.as_str()) {
            for finding in &trace.findings {
                let shown = shown_range(&self.text, finding.range);
                let touches = shown.start <= wanted.end && wanted.start <= shown.end;
                if !touches {
                    continue;
                }
                if let Some(action) = self.quick_fix(&lines, trace, finding, creates_files) {
                    actions.push(CodeActionOrCommand::CodeAction(action));
                }
            }
        }
        if wants(super::ignore::KIND) {
            // parsed on the first finding that needs it: most cursor moves touch none
            let instructions = || {
                self.analysis()
                    .instructions
                    .get_or_init(|| Instructions::of(&self.text))
                    .as_ref()
            };
            for finding in &trace.findings {
                let shown = shown_range(&self.text, finding.range);
                if !(shown.start <= wanted.end && wanted.start <= shown.end) {
                    continue;
                }
                let Some(edit) = super::ignore::pragma_edit(&self.text, instructions, finding)
                else {
                    continue;
                };
                actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                    title: format!("dfrewrite: ignore {} on this instruction", finding.pass),
                    kind: Some(CodeActionKind::from(super::ignore::KIND)),
                    diagnostics: Some(vec![diagnostic(&lines, &self.text, finding)]),
                    edit: Some(self.edit(text_edits(&lines, &[edit]))),
                    ..CodeAction::default()
                }));
            }
        }
        if wants(FIX_ALL)
            && let Some(edits) = self.rewrite_edits()
        {
            {
                let edits = edits.to_vec();
                let title = if trace
                    .findings
                    .iter()
                    .any(|f| f.applied && f.applicability < Applicability::Safe)
                {
                    "dfrewrite: apply all fixes (unsafe ones included)"
                } else {
                    "dfrewrite: apply all safe fixes"
                };
                actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                    title: title.to_owned(),
                    kind: Some(CodeActionKind::from(FIX_ALL)),
                    edit: Some(self.edit(edits)),
                    ..CodeAction::default()
                }));
            }
        }
        actions
    }

    /// The one quick fix of a finding; `None` when there is nothing to apply.
    fn quick_fix(
        &self,
        lines: &Lines<'_>,
        trace: &Trace,
        finding: &Finding,
        creates_files: bool,
    ) -> Option<CodeAction> {
        let unsafe_note = if finding.applicability < Applicability::Safe {
            " (unsafe)"
        } else {
            ""
        };
        let diagnostic = diagnostic(lines, &self.text, finding);
        if let Some(file) = &finding.file {
            // A new file: only clients that create files can take it, and never over one.
            let dir = self.analysis().context_dir.as_ref()?;
            if !creates_files {
                return None;
            }
            let uri = path_to_uri(&dir.join(&file.path))?;
            let create = DocumentChangeOperation::Op(ResourceOp::Create(CreateFile {
                uri: uri.clone(),
                options: Some(CreateFileOptions {
                    overwrite: Some(false),
                    ignore_if_exists: Some(true),
                }),
                annotation_id: None,
            }));
            let fill = DocumentChangeOperation::Edit(TextDocumentEdit {
                text_document: OptionalVersionedTextDocumentIdentifier { uri, version: None },
                edits: vec![OneOf::Left(TextEdit::new(
                    Range::default(),
                    file.content.clone(),
                ))],
            });
            return Some(CodeAction {
                title: format!("dfrewrite: create {}{unsafe_note}", file.path),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![diagnostic]),
                edit: Some(WorkspaceEdit {
                    document_changes: Some(DocumentChanges::Operations(vec![create, fill])),
                    ..WorkspaceEdit::default()
                }),
                ..CodeAction::default()
            });
        }
        let fix = finding.fix.as_ref()?;
        if fix.edits().is_empty() || finding.applicability == Applicability::DisplayOnly {
            return None;
        }
        let (edits, note) = if finding.round == 0 {
            let edits: Vec<(TextRange, String)> = fix
                .edits()
                .iter()
                .map(|e| (e.range, e.content.clone()))
                .collect();
            (edits, String::new())
        } else {
            // Found only after earlier rounds: its edits are on a text the buffer is not yet.
            let after = trace.apply_alone(finding)?;
            let earlier = trace.applied_before(finding.round);
            (
                minimal_edits(&self.text, &after),
                format!(
                    " (with the {earlier} earlier fix{} it builds on)",
                    if earlier == 1 { "" } else { "es" }
                ),
            )
        };
        Some(CodeAction {
            title: format!(
                "dfrewrite{unsafe_note}: {}: {}{note}",
                finding.pass, finding.message
            ),
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: Some(vec![diagnostic]),
            edit: Some(self.edit(text_edits(lines, &edits))),
            is_preferred: Some(finding.applicability == Applicability::Safe && finding.round == 0),
            ..CodeAction::default()
        })
    }

    /// Edits of this document, tied to its version so a stale edit is refused by the client.
    // lsp-types' Uri caches its parse inside, but hashes and compares by its text
    #[allow(clippy::mutable_key_type)]
    fn edit(&self, edits: Vec<TextEdit>) -> WorkspaceEdit {
        let mut changes = HashMap::new();
        changes.insert(self.uri.clone(), edits);
        WorkspaceEdit {
            changes: Some(changes),
            ..WorkspaceEdit::default()
        }
    }
}

/// A finding as a diagnostic: severity by tier, the pass as code, a link `--explain` answers.
fn diagnostic(lines: &Lines<'_>, text: &str, finding: &Finding) -> Diagnostic {
    let severity = match finding.applicability {
        Applicability::Safe => DiagnosticSeverity::WARNING,
        Applicability::Unsafe => DiagnosticSeverity::HINT,
        Applicability::DisplayOnly => DiagnosticSeverity::INFORMATION,
    };
    let note = match (finding.applied, finding.applicability) {
        (true, _) => "",
        (false, Applicability::Unsafe) => " (unsafe fix, not applied; enable the `unsafe` setting)",
        (false, _) => " (advice, no fix)",
    };
    Diagnostic {
        range: lines.range(shown_range(text, finding.range)),
        severity: Some(severity),
        code: Some(NumberOrString::String(finding.pass.to_owned())),
        code_description: explain_uri(finding.pass).map(|href| CodeDescription { href }),
        source: Some(SOURCE.to_owned()),
        message: format!("{}{note}", finding.message),
        ..Diagnostic::default()
    }
}

/// `dfrewrite://explain/PASS`: what `dfrewrite --explain PASS` prints.
fn explain_uri(pass: &str) -> Option<Uri> {
    format!("dfrewrite://explain/{pass}").parse().ok()
}

/// An empty range (an insertion point) widened to its line, so the editor has something to
/// underline.
fn shown_range(text: &str, range: TextRange) -> TextRange {
    if !range.is_empty() {
        return range;
    }
    let at = range.start as usize;
    let start = text[..at].rfind(['\n', '\r']).map_or(0, |i| i + 1);
    let end = text[at..].find(['\n', '\r']).map_or(text.len(), |i| at + i);
    TextRange::new(super::text::to_u32(start), super::text::to_u32(end))
}

pub(crate) fn internal_error(message: &str) -> Diagnostic {
    Diagnostic {
        range: Range::new(Position::new(0, 0), Position::new(0, 0)),
        severity: Some(DiagnosticSeverity::ERROR),
        source: Some(SOURCE.to_owned()),
        message: format!("internal error: {message} (please report)"),
        ..Diagnostic::default()
    }
}

/// The byte offset of a 1-based line and character column as the library reports them
/// (lines end at `\n`; the BOM is not counted in the first line's columns).
fn offset_of(text: &str, line: u32, column: u32) -> usize {
    let mut start = 0usize;
    for _ in 1..line {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let mut skip = column.saturating_sub(1) as usize;
    if start == 0 && text.starts_with('\u{feff}') {
        skip += 1;
    }
    let line_text = &text[start..];
    line_text.char_indices().nth(skip).map_or(
        start + line_text.find('\n').unwrap_or(line_text.len()),
        |(i, _)| start + i,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_language_ids_claimed() {
        let uri = |s: &str| -> Uri { s.parse().unwrap() };
        assert!(claims(&uri("file:///a/Dockerfile"), "plaintext"));
        assert!(claims(&uri("file:///a/api.Dockerfile"), ""));
        assert!(claims(&uri("file:///a/Containerfile"), ""));
        assert!(claims(&uri("file:///a/Dockerfile.dev"), ""));
        assert!(claims(&uri("untitled:Untitled-1"), "dockerfile"));
        assert!(!claims(&uri("file:///a/README.md"), "markdown"));
        assert!(!claims(&uri("file:///a/Dockerfile.dockerignore"), "ignore"));
    }

    #[test]
    fn file_uris_round_trip() {
        let path = Path::new("/tmp/a b/Dockerfile");
        let uri = path_to_uri(path).unwrap();
        assert_eq!(uri.as_str(), "file:///tmp/a%20b/Dockerfile");
        assert_eq!(uri_to_path(&uri).unwrap(), path);
        assert_eq!(uri_to_path(&"untitled:x".parse().unwrap()), None);
    }

    #[test]
    fn settings_are_read_leniently() {
        let (options, warnings) = Options::parse(&serde_json::json!({
            "dfrewrite": {"unsafe": true, "select": ["add-to-copy", "nope"], "context": "ctx"}
        }));
        assert!(options.unsafe_fixes);
        assert_eq!(options.select, Some(vec!["add-to-copy".to_owned()]));
        assert_eq!(options.context, Some(PathBuf::from("ctx")));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    /// A document that reads nothing from the disk (no path: no configuration, no context).
    fn analysed(text: &str, options: &Options) -> Document {
        let mut doc = Document::new("untitled:Dockerfile".parse().unwrap(), 1, text.to_owned());
        doc.analyse(options, None, &mut Contexts::default());
        doc
    }

    fn actions(doc: &Document, line: u32) -> Vec<CodeAction> {
        let params: CodeActionParams = serde_json::from_value(serde_json::json!({
            "textDocument": {"uri": "untitled:Dockerfile"},
            "range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 0}},
            "context": {"diagnostics": []}
        }))
        .unwrap();
        doc.code_actions(&params, false)
            .into_iter()
            .map(|a| match a {
                CodeActionOrCommand::CodeAction(a) => a,
                CodeActionOrCommand::Command(_) => panic!("commands are never offered"),
            })
            .collect()
    }

    fn edit_texts(action: &CodeAction) -> Vec<(Range, String)> {
        let edit = action.edit.as_ref().unwrap();
        let edits = edit.changes.iter().flat_map(|c| c.values()).next().unwrap();
        edits
            .iter()
            .map(|e| (e.range, e.new_text.clone()))
            .collect()
    }

    const APT: &str = "FROM debian\nRUN apt-get update\nRUN apt-get install -y curl\n";

    #[test]
    fn kept_edits_follow_the_text_and_the_settings() {
        let mut doc = analysed(APT, &Options::default());
        let first = doc.formatting();
        assert!(!first.is_empty());
        // asked again for the same text: the same edits
        assert_eq!(doc.formatting(), first);
        let fix_all = |doc: &Document| {
            let actions = actions(doc, 0);
            let all = actions
                .iter()
                .find(|a| a.kind == Some(CodeActionKind::from(FIX_ALL)))
                .expect("a fix-all action");
            edit_texts(all)
        };
        let as_pairs = |edits: &[TextEdit]| -> Vec<(Range, String)> {
            edits
                .iter()
                .map(|e| (e.range, e.new_text.clone()))
                .collect()
        };
        assert_eq!(fix_all(&doc), as_pairs(&first));

        // a new text is rewritten afresh: its own edits, on its own lines
        let moved = format!("# a comment\n{APT}");
        doc.replace(2, moved.clone());
        doc.analyse(&Options::default(), None, &mut Contexts::default());
        let second = doc.formatting();
        assert_ne!(second, first);
        assert_eq!(second, analysed(&moved, &Options::default()).formatting());
        assert_eq!(fix_all(&doc), as_pairs(&second));
        // a text the rewrite leaves alone gets no edits
        let done = dfrewrite::rewrite(&moved, &Settings::default())
            .unwrap()
            .output
            .unwrap();
        doc.replace(3, done);
        doc.analyse(&Options::default(), None, &mut Contexts::default());
        assert_eq!(doc.formatting(), Vec::new());

        // new settings (the server invalidates every document) give the new settings' edits
        let (unsafe_on, _) = Options::parse(&serde_json::json!({"unsafe": true}));
        doc.replace(4, APT.to_owned());
        doc.analyse(&Options::default(), None, &mut Contexts::default());
        assert_eq!(doc.formatting(), first);
        doc.invalidate();
        doc.analyse(&unsafe_on, None, &mut Contexts::default());
        let unsafe_edits = doc.formatting();
        assert_ne!(unsafe_edits, first);
        assert_eq!(unsafe_edits, analysed(APT, &unsafe_on).formatting());
    }

    #[test]
    fn kept_instructions_follow_the_text() {
        let pragma_line = |doc: &Document, line: u32| -> Vec<u32> {
            actions(doc, line)
                .iter()
                .filter(|a| a.kind == Some(CodeActionKind::from(super::super::ignore::KIND)))
                .flat_map(edit_texts)
                .map(|(range, text)| {
                    assert!(text.starts_with("# dfrewrite: ignore="), "{text}");
                    range.start.line
                })
                .collect()
        };
        let mut doc = analysed(APT, &Options::default());
        let before = pragma_line(&doc, 2);
        assert!(!before.is_empty() && before.contains(&2), "{before:?}");
        // two lines more above: the same instructions, two lines lower
        let moved = format!("# one\n# two\n{APT}");
        doc.replace(2, moved.clone());
        doc.analyse(&Options::default(), None, &mut Contexts::default());
        let after = pragma_line(&doc, 4);
        assert_eq!(after, before.iter().map(|l| l + 2).collect::<Vec<_>>());
        assert_eq!(
            after,
            pragma_line(&analysed(&moved, &Options::default()), 4)
        );
    }

    #[test]
    fn error_columns_become_offsets() {
        let text = "\u{feff}FROM a\nRUN é <<EOF\n";
        assert_eq!(offset_of(text, 1, 1), 3);
        let heredoc = text.find("<<").unwrap();
        assert_eq!(offset_of(text, 2, 7), heredoc);
    }
}
