//! `dfrewrite lsp`: a language server over standard input and output.
//!
//! Built on `lsp-server` + `lsp-types` (rust-analyzer's, synchronous): the server is one loop
//! over one message at a time and the rewrite is a pure function of the text, so an async
//! runtime would add nothing but weight. Diagnostics come from [`dfrewrite::rewrite_traced`],
//! so they are exactly the fixes and advice `--diff` reports, located in the buffer.
//!
//! Standard output carries only protocol messages; logs go to standard error (written on the
//! locked stream, as everywhere in the binary) and, for what the user should see,
//! `window/logMessage`.

mod context;
mod document;
mod ignore;
mod text;

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{self, Write as _};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use crossbeam_channel::TryRecvError;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{self as note, Notification as _};
use lsp_types::request::{self as req, Request as _};
use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionProviderCapability, ConfigurationItem,
    ConfigurationParams, DidChangeConfigurationParams, DidChangeTextDocumentParams,
    DidCloseTextDocumentParams, DidOpenTextDocumentParams, InitializeParams, LogMessageParams,
    MessageType, OneOf, PositionEncodingKind, PublishDiagnosticsParams, SaveOptions,
    ServerCapabilities, ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextDocumentSyncOptions, TextDocumentSyncSaveOptions, Uri,
};
use serde_json::Value;

use context::Contexts;
use document::{Document, Options};

/// The code action kind of "apply every fix" (`source.fixAll.dfrewrite`).
pub(crate) const FIX_ALL: &str = "source.fixAll.dfrewrite";

/// The environment variable that enables the `dfrewrite/debugPanic` request, which panics on
/// purpose so that tests can check the server survives a panic.
const PANIC_HOOK_VAR: &str = "DFREWRITE_LSP_TEST_PANIC";

const USAGE: &str = "\
Usage: dfrewrite lsp [--stdio]

Runs the dfrewrite language server on standard input and output (`server` is an alias;
--stdio is accepted for clients that pass it). See the README for editor set-up.";

/// Runs the server; returns the exit code (0 after `shutdown` then `exit`, 1 otherwise).
pub(crate) fn run(args: &[OsString]) -> u8 {
    for arg in args {
        match arg.to_str() {
            Some("--stdio") => {}
            Some("-h" | "--help") => {
                let _ = writeln!(io::stdout().lock(), "{USAGE}");
                return 0;
            }
            _ => {
                let _ = writeln!(
                    io::stderr().lock(),
                    "error: unexpected argument `{}`\n\n{USAGE}",
                    arg.to_string_lossy()
                );
                return 2;
            }
        }
    }
    let (connection, io_threads) = Connection::stdio();
    let code = match serve(&connection) {
        Ok(clean) => u8::from(!clean),
        Err(e) => {
            let _ = writeln!(io::stderr().lock(), "dfrewrite lsp: {e}");
            1
        }
    };
    drop(connection);
    if let Err(e) = io_threads.join() {
        let _ = writeln!(io::stderr().lock(), "dfrewrite lsp: {e}");
        return 1;
    }
    code
}

fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(PositionEncodingKind::UTF16),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::FULL),
                save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                    include_text: Some(false),
                })),
                ..TextDocumentSyncOptions::default()
            },
        )),
        document_formatting_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![
                CodeActionKind::QUICKFIX,
                CodeActionKind::from(FIX_ALL),
            ]),
            ..CodeActionOptions::default()
        })),
        ..ServerCapabilities::default()
    }
}

/// Serves until `exit`; `Ok(true)` when a `shutdown` came first.
fn serve(connection: &Connection) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
    let (id, params) = connection.initialize_start()?;
    let init: InitializeParams = serde_json::from_value(params)?;
    let result = serde_json::json!({
        "capabilities": capabilities(),
        "serverInfo": ServerInfo {
            name: "dfrewrite".to_owned(),
            version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        },
    });
    connection.initialize_finish(id, result)?;
    let mut server = Server::new(connection, &init);
    server.main_loop()
}

/// Everything the server keeps between messages.
struct Server<'a> {
    connection: &'a Connection,
    documents: HashMap<Uri, Document>,
    options: Options,
    /// The first workspace folder, against which a relative `context` setting is resolved.
    root: Option<PathBuf>,
    contexts: Contexts,
    /// Whether the client answers `workspace/configuration`.
    pulls_configuration: bool,
    /// Whether the client applies `CreateFile` in a workspace edit.
    creates_files: bool,
    /// Documents changed since their diagnostics were last published.
    dirty: Vec<Uri>,
    next_request: i32,
    debug_panics: bool,
}

impl<'a> Server<'a> {
    fn new(connection: &'a Connection, init: &InitializeParams) -> Self {
        let workspace = init.capabilities.workspace.as_ref();
        let pulls_configuration = workspace.and_then(|w| w.configuration) == Some(true);
        let creates_files = workspace
            .and_then(|w| w.workspace_edit.as_ref())
            .and_then(|e| e.resource_operations.as_ref())
            .is_some_and(|ops| ops.contains(&lsp_types::ResourceOperationKind::Create));
        #[allow(deprecated)] // root_uri is what older clients send
        let root = init
            .workspace_folders
            .as_ref()
            .and_then(|f| f.first())
            .map(|f| &f.uri)
            .or(init.root_uri.as_ref())
            .and_then(document::uri_to_path);
        let mut server = Self {
            connection,
            documents: HashMap::new(),
            options: Options::default(),
            root,
            contexts: Contexts::default(),
            pulls_configuration,
            creates_files,
            dirty: Vec::new(),
            next_request: 0,
            debug_panics: std::env::var_os(PANIC_HOOK_VAR).is_some(),
        };
        match &init.initialization_options {
            Some(options) => server.set_options(options),
            None => server.pull_configuration(),
        }
        server
    }

    fn main_loop(&mut self) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
        loop {
            // Changes already waiting are taken before anything is linted: a burst of
            // keystrokes is linted once, at its end (debouncing without a timer).
            let message = if self.dirty.is_empty() {
                match self.connection.receiver.recv() {
                    Ok(message) => message,
                    Err(_) => return Ok(false),
                }
            } else {
                match self.connection.receiver.try_recv() {
                    Ok(message) => message,
                    Err(TryRecvError::Empty) => {
                        self.publish_dirty();
                        continue;
                    }
                    Err(TryRecvError::Disconnected) => return Ok(false),
                }
            };
            match message {
                Message::Request(request) => {
                    if self.connection.handle_shutdown(&request)? {
                        return Ok(true);
                    }
                    self.request(request);
                }
                Message::Notification(notification) => {
                    if notification.method == note::Exit::METHOD {
                        return Ok(false);
                    }
                    self.notification(notification);
                }
                Message::Response(response) => self.response(response),
            }
        }
    }

    fn request(&mut self, request: Request) {
        let id = request.id.clone();
        let method = request.method.clone();
        let outcome = catch_unwind(AssertUnwindSafe(|| self.dispatch(request)));
        let response = match outcome {
            Ok(Ok(value)) => Response::new_ok(id, value),
            Ok(Err((code, message))) => Response::new_err(id, code as i32, message),
            Err(panic) => {
                let message = format!(
                    "internal error: {method} panicked: {} (please report)",
                    panic_message(&*panic)
                );
                self.log(MessageType::ERROR, &message);
                Response::new_err(id, ErrorCode::InternalError as i32, message)
            }
        };
        self.send(response.into());
    }

    fn dispatch(&mut self, request: Request) -> Result<Value, (ErrorCode, String)> {
        let bad = |e: serde_json::Error| (ErrorCode::InvalidParams, e.to_string());
        match request.method.as_str() {
            req::Formatting::METHOD => {
                let params: lsp_types::DocumentFormattingParams =
                    serde_json::from_value(request.params).map_err(bad)?;
                let uri = params.text_document.uri;
                let edits = self.document(&uri).map(Document::formatting);
                Ok(serde_json::to_value(edits).unwrap_or(Value::Null))
            }
            req::CodeActionRequest::METHOD => {
                let params: lsp_types::CodeActionParams =
                    serde_json::from_value(request.params).map_err(bad)?;
                let creates_files = self.creates_files;
                let uri = params.text_document.uri.clone();
                let actions = self
                    .document(&uri)
                    .map(|doc| doc.code_actions(&params, creates_files));
                Ok(serde_json::to_value(actions).unwrap_or(Value::Null))
            }
            "dfrewrite/debugPanic" if self.debug_panics => {
                panic!("dfrewrite/debugPanic was requested")
            }
            other => Err((
                ErrorCode::MethodNotFound,
                format!("dfrewrite lsp does not handle {other}"),
            )),
        }
    }

    fn notification(&mut self, notification: Notification) {
        let method = notification.method.clone();
        let outcome = catch_unwind(AssertUnwindSafe(|| self.notified(notification)));
        if let Err(panic) = outcome {
            self.log(
                MessageType::ERROR,
                &format!(
                    "internal error: {method} panicked: {} (please report)",
                    panic_message(&*panic)
                ),
            );
        }
    }

    fn notified(&mut self, notification: Notification) {
        match notification.method.as_str() {
            note::DidOpenTextDocument::METHOD => {
                let Ok(params) =
                    serde_json::from_value::<DidOpenTextDocumentParams>(notification.params)
                else {
                    return;
                };
                let item = params.text_document;
                if !document::claims(&item.uri, &item.language_id) {
                    return;
                }
                let doc = Document::new(item.uri.clone(), item.version, item.text);
                self.documents.insert(item.uri.clone(), doc);
                self.mark_dirty(item.uri);
            }
            note::DidChangeTextDocument::METHOD => {
                let Ok(params) =
                    serde_json::from_value::<DidChangeTextDocumentParams>(notification.params)
                else {
                    return;
                };
                let uri = params.text_document.uri;
                let Some(doc) = self.documents.get_mut(&uri) else {
                    return;
                };
                // Full sync: the last change holds the whole text.
                if let Some(change) = params.content_changes.into_iter().last() {
                    doc.replace(params.text_document.version, change.text);
                    self.mark_dirty(uri);
                }
            }
            note::DidCloseTextDocument::METHOD => {
                let Ok(params) =
                    serde_json::from_value::<DidCloseTextDocumentParams>(notification.params)
                else {
                    return;
                };
                let uri = params.text_document.uri;
                if self.documents.remove(&uri).is_some() {
                    self.dirty.retain(|u| *u != uri);
                    self.publish(uri, Vec::new(), None);
                }
            }
            note::DidSaveTextDocument::METHOD | note::DidChangeWatchedFiles::METHOD => {
                // The context may have changed on disk: read it afresh, for every document.
                self.contexts.clear();
                self.mark_all_dirty();
            }
            note::DidChangeConfiguration::METHOD => {
                let Ok(params) =
                    serde_json::from_value::<DidChangeConfigurationParams>(notification.params)
                else {
                    return;
                };
                if params.settings.is_null()
                    || params
                        .settings
                        .as_object()
                        .is_some_and(serde_json::Map::is_empty)
                {
                    self.pull_configuration();
                } else {
                    self.set_options(&params.settings);
                }
            }
            _ => {}
        }
    }

    /// The answer to our `workspace/configuration` request.
    fn response(&mut self, response: Response) {
        let Ok(Value::Array(items)) = response.response_result else {
            return;
        };
        if let Some(settings) = items.into_iter().next().filter(|v| !v.is_null()) {
            self.set_options(&settings);
        }
    }

    fn pull_configuration(&mut self) {
        if !self.pulls_configuration {
            return;
        }
        self.next_request += 1;
        let params = ConfigurationParams {
            items: vec![ConfigurationItem {
                scope_uri: None,
                section: Some("dfrewrite".to_owned()),
            }],
        };
        let request = Request::new(
            RequestId::from(format!("dfrewrite-config-{}", self.next_request)),
            req::WorkspaceConfiguration::METHOD.to_owned(),
            params,
        );
        self.send(request.into());
    }

    fn set_options(&mut self, value: &Value) {
        let (options, warnings) = Options::parse(value);
        for warning in warnings {
            self.log(MessageType::WARNING, &warning);
        }
        self.options = options;
        self.contexts.clear();
        self.mark_all_dirty();
    }

    fn mark_dirty(&mut self, uri: Uri) {
        if !self.dirty.contains(&uri) {
            self.dirty.push(uri);
        }
    }

    fn mark_all_dirty(&mut self) {
        for doc in self.documents.values_mut() {
            doc.invalidate();
        }
        let uris: Vec<Uri> = self.documents.keys().cloned().collect();
        for uri in uris {
            self.mark_dirty(uri);
        }
    }

    /// The document, analysed under the current settings.
    fn document(&mut self, uri: &Uri) -> Option<&Document> {
        let doc = self.documents.get_mut(uri)?;
        doc.analyse(&self.options, self.root.as_deref(), &mut self.contexts);
        Some(&*doc)
    }

    fn publish_dirty(&mut self) {
        for uri in std::mem::take(&mut self.dirty) {
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                self.document(&uri)
                    .map(|doc| (doc.diagnostics(), doc.version()))
            }));
            match outcome {
                Ok(Some((diagnostics, version))) => self.publish(uri, diagnostics, Some(version)),
                Ok(None) => {}
                Err(panic) => {
                    let message = format!(
                        "internal error: checking {} panicked: {} (please report)",
                        uri.as_str(),
                        panic_message(&*panic)
                    );
                    self.log(MessageType::ERROR, &message);
                    if let Some(doc) = self.documents.get_mut(&uri) {
                        let diagnostics = vec![document::internal_error(&message)];
                        let version = doc.version();
                        doc.invalidate();
                        self.publish(uri, diagnostics, Some(version));
                    }
                }
            }
        }
    }

    fn publish(&self, uri: Uri, diagnostics: Vec<lsp_types::Diagnostic>, version: Option<i32>) {
        let params = PublishDiagnosticsParams {
            uri,
            diagnostics,
            version,
        };
        self.send(Notification::new(note::PublishDiagnostics::METHOD.to_owned(), params).into());
    }

    fn log(&self, kind: MessageType, message: &str) {
        let _ = writeln!(io::stderr().lock(), "dfrewrite lsp: {message}");
        let params = LogMessageParams {
            typ: kind,
            message: message.to_owned(),
        };
        self.send(Notification::new(note::LogMessage::METHOD.to_owned(), params).into());
    }

    fn send(&self, message: Message) {
        // A closed channel means the client is gone; the loop ends on the next receive.
        let _ = self.connection.sender.send(message);
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}
