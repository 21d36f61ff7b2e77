//! Everything that reaches the terminal: diffs, fix reports, errors, pass docs.

use std::fmt::Write as _;
use std::io::{self, IsTerminal as _, StdoutLock, Write};
use std::path::{Component, Path};

use anstream::{AutoStream, ColorChoice};
use clap::builder::styling::{AnsiColor, Style};
use dfrewrite::{Applicability, AppliedFix, FixAvailability, NewFile, Outcome, PassInfo};
use similar::TextDiff;

use super::RunStatus;
use super::errstream::{ErrStream, Line, Palette, Plain};
use super::fsio::{self, Failure};
use super::write::WriteError;

// the diff's styles (stderr's are errstream's `Palette`)
const BOLD: Style = Palette::COLOURED.bold;
const RED: Style = AnsiColor::Red.on_default();
const GREEN: Style = AnsiColor::Green.on_default();
const CYAN: Style = Palette::COLOURED.cyan;

/// A path as shown to the user: as given, without a leading `./` (walking `.` adds one, and
/// `a/./Dockerfile` in a diff header would not name the file for `git apply`).
pub(crate) fn display(path: &Path) -> String {
    let mut rest = path;
    while let Ok(stripped) = rest.strip_prefix(Component::CurDir) {
        if stripped.as_os_str().is_empty() {
            break;
        }
        rest = stripped;
    }
    rest.to_string_lossy().into_owned()
}

/// The two output streams. Stdout carries only diffs, file lists or the rewritten text, and
/// is never passed through an escape-stripping filter (a Dockerfile may hold ESC bytes);
/// colour is added only when it is a terminal.
pub(crate) struct Printer {
    out: AutoStream<StdoutLock<'static>>,
    color_out: bool,
    /// Buffered: a run's fix lines reach stderr in one write per file (and before anything
    /// on stdout, so `2>&1` keeps the order), not in the many small writes that formatting
    /// through the colour filter makes.
    err: ErrStream,
    /// Write every stderr line at once (`verify`, whose steps take minutes).
    err_now: bool,
    out_state: OutState,
    /// A machine-readable report goes to stdout at the end: no diffs, lists or fix lines.
    machine: bool,
    /// The progress bar of a long directory run on a terminal; cleared around other output.
    progress: Option<indicatif::ProgressBar>,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ColorWhen {
    /// Colour a terminal, unless NO_COLOR is set; CLICOLOR_FORCE colours any stream.
    Auto,
    Always,
    Never,
}

/// Stderr is written when this much is buffered, or sooner (see [`Printer::flush_err`]).
const ERR_BUFFER: usize = 16 * 1024;

/// Directory runs with at least this many files show a progress bar (on a terminal).
const PROGRESS_FROM: usize = 20;

/// Whether stdout still takes output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutState {
    Open,
    /// The reader went away (`| head`): not an error of the user's files, so output stops
    /// quietly, as SIGPIPE would stop it.
    Closed,
    /// Output was lost otherwise (a full disk); reported once, and the run is an error.
    Failed,
}

impl Printer {
    pub(crate) fn new() -> Self {
        Self {
            err_now: true,
            ..Self::with(ColorWhen::Auto, false)
        }
    }

    /// A printer with `--color` and, for `machine`, only errors besides the final report.
    pub(crate) fn with(color: ColorWhen, machine: bool) -> Self {
        let (out_choice, err_choice) = match color {
            ColorWhen::Auto => (
                AutoStream::choice(&io::stdout()),
                AutoStream::choice(&io::stderr()),
            ),
            ColorWhen::Always => (ColorChoice::Always, ColorChoice::Always),
            ColorWhen::Never => (ColorChoice::Never, ColorChoice::Never),
        };
        // A report is data: never coloured.
        let color_out = out_choice != ColorChoice::Never && !machine;
        let out = if color_out {
            AutoStream::new(io::stdout().lock(), out_choice)
        } else {
            AutoStream::always_ansi(io::stdout().lock())
        };
        Self {
            out,
            color_out,
            err: {
                let raw: Box<dyn Write> = Box::new(io::BufWriter::with_capacity(
                    ERR_BUFFER,
                    io::stderr().lock(),
                ));
                // without colour, stripped by errstream (the same bytes, faster)
                if err_choice == ColorChoice::Never {
                    ErrStream::Plain(Plain::new(raw))
                } else {
                    ErrStream::Styled(AutoStream::new(raw, err_choice), String::new())
                }
            },
            err_now: false,
            out_state: OutState::Open,
            machine,
            progress: None,
        }
    }

    /// Starts a progress bar for `files` files, when the run is long and stderr a terminal.
    pub(crate) fn progress_start(&mut self, files: usize) {
        self.flush_err();
        if files < PROGRESS_FROM || !io::stderr().is_terminal() {
            return;
        }
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(files as u64),
            indicatif::ProgressDrawTarget::stderr(),
        );
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} files {wide_msg}")
        {
            bar.set_style(style);
        }
        self.progress = Some(bar);
    }

    /// Advances the progress bar to the file `name`.
    pub(crate) fn progress_next(&mut self, name: &str) {
        if let Some(bar) = &self.progress {
            bar.set_message(name.to_owned());
            bar.inc(1);
        }
    }

    pub(crate) fn progress_finish(&mut self) {
        if let Some(bar) = self.progress.take() {
            bar.finish_and_clear();
        }
    }

    /// Writes one line on stderr (buffered unless a progress bar is drawn), clearing the
    /// progress bar around it.
    fn err_line(&mut self, line: Line<'_>) {
        let err = &mut self.err;
        let write = |err: &mut ErrStream| err.line(line);
        if let Some(bar) = &self.progress {
            bar.suspend(|| {
                write(err);
                // before the bar is drawn again
                let _ = err.flush();
            });
        } else {
            write(err);
            if self.err_now {
                let _ = self.err.flush();
            }
        }
    }

    /// Writes the buffered stderr lines.
    pub(crate) fn flush_err(&mut self) {
        let _ = self.err.flush();
    }

    pub(crate) fn flush(&mut self) -> io::Result<()> {
        // stderr first: all of it was said before what stdout may still hold (a last line
        // without its newline)
        self.flush_err();
        let result = self.out.flush();
        if let Err(e) = &result {
            self.out_error(e);
        }
        self.flush_err();
        match self.out_state {
            OutState::Failed => Err(io::Error::other("stdout write failed")),
            _ => Ok(()),
        }
    }

    /// Whether the reader of stdout went away.
    pub(crate) fn stdout_closed(&self) -> bool {
        self.out_state == OutState::Closed
    }

    /// Writes to stdout. A closed pipe drops the text quietly; another failure makes the run
    /// an error.
    pub(crate) fn stdout_or_error(&mut self, text: &str) -> RunStatus {
        // what stderr was told before comes before it (`2>&1`)
        self.flush_err();
        if self.out_state == OutState::Open
            && let Err(e) = self.out.write_all(text.as_bytes())
        {
            self.out_error(&e);
        }
        match self.out_state {
            OutState::Failed => RunStatus::Error,
            _ => RunStatus::Clean,
        }
    }

    fn out_error(&mut self, e: &io::Error) {
        if self.out_state != OutState::Open {
            return;
        }
        if e.kind() == io::ErrorKind::BrokenPipe {
            self.out_state = OutState::Closed;
        } else {
            self.out_state = OutState::Failed;
            let message = format!("cannot write to standard output: {}", fsio::describe_io(e));
            self.error_line(None, &message);
        }
    }

    pub(crate) fn would_rewrite(&mut self, name: &str) -> RunStatus {
        if self.machine {
            return RunStatus::Changed;
        }
        match self.stdout_or_error(&format!("Would rewrite: {name}\n")) {
            RunStatus::Clean => RunStatus::Changed,
            other => other,
        }
    }

    /// Prints the unified diff of one file; `git apply` and `patch -p1` accept it.
    pub(crate) fn diff_or_error(&mut self, old: &str, new: &str, name: &str) -> RunStatus {
        self.print_diff(unified_diff(old, new, name))
    }

    /// Prints the diff that creates a new file (`--- /dev/null`); `git apply` and `patch -p1`
    /// accept it.
    pub(crate) fn new_file_diff_or_error(&mut self, content: &str, name: &str) -> RunStatus {
        self.print_diff(new_file_diff(content, name))
    }

    /// Prints a diff (coloured on a terminal): a printed diff means "there are changes".
    fn print_diff(&mut self, text: String) -> RunStatus {
        if self.machine {
            return RunStatus::Changed;
        }
        let text = if self.color_out {
            colour_diff(&text)
        } else {
            text
        };
        match self.stdout_or_error(&text) {
            RunStatus::Clean => RunStatus::Changed,
            other => other,
        }
    }

    /// `Would create: PATH` for a proposed new file.
    pub(crate) fn would_create(&mut self, name: &str) -> RunStatus {
        if self.machine {
            return RunStatus::Changed;
        }
        match self.stdout_or_error(&format!("Would create: {name}\n")) {
            RunStatus::Clean => RunStatus::Changed,
            other => other,
        }
    }

    /// Reports one proposed new file with a note (`PATH:LINE: pass: message NOTE`).
    pub(crate) fn new_file(&mut self, name: &str, file: &NewFile, note: &str) {
        if self.machine {
            return;
        }
        self.err_line(&|p, out| {
            let Palette { bold, cyan, .. } = *p;
            write!(
                out,
                "{bold}{name}:{}:{bold:#} {cyan}{}{cyan:#}: {}{note}",
                file.line, file.pass, file.message
            )
        });
    }

    /// Reports applied fixes and remaining advice, one `PATH:LINE: pass: message` each,
    /// ordered by line; `written`: the fixes were applied to the file (`--apply`), which
    /// says `(Fixed)`.
    pub(crate) fn fixes(&mut self, name: &str, outcome: &Outcome, written: bool) {
        if self.machine {
            return;
        }
        let fixed = if written { " (Fixed)" } else { "" };
        let mut lines: Vec<(&AppliedFix, &str)> = outcome
            .applied
            .iter()
            .map(|fix| (fix, fixed))
            .chain(outcome.advice.iter().map(|fix| {
                let note = match fix.applicability {
                    Applicability::Unsafe => " (unsafe fix not applied; use --unsafe)",
                    _ => " (advice, no fix)",
                };
                (fix, note)
            }))
            .collect();
        // stable: fixes on one line keep the order they were found in
        lines.sort_by_key(|(fix, _)| fix.line);
        for (fix, note) in lines {
            self.fix_line(name, fix, note);
        }
    }

    fn fix_line(&mut self, name: &str, fix: &AppliedFix, note: &str) {
        self.err_line(&|p, out| {
            if p.is_plain() {
                // most lines of a run: the same text without the formatting machinery
                // (errstream's debug assertion checks that it is)
                for piece in [name, ":"] {
                    out.push_str(piece);
                }
                write!(out, "{}", fix.line)?;
                for piece in [": ", fix.pass, ": ", &fix.message, note] {
                    out.push_str(piece);
                }
                return Ok(());
            }
            let Palette { bold, cyan, .. } = *p;
            write!(
                out,
                "{bold}{name}:{}:{bold:#} {cyan}{}{cyan:#}: {}{note}",
                fix.line, fix.pass, fix.message
            )
        });
    }

    /// One progress line on stderr.
    pub(crate) fn note(&mut self, text: &str) {
        self.err_line(&|_, out| out.write_str(text));
    }

    /// One line on stderr: `NAME: error: MESSAGE`, or `error: MESSAGE` without a name.
    pub(crate) fn error_line(&mut self, name: Option<&str>, message: &str) {
        self.err_line(&|p, out| {
            let Palette { bold, error, .. } = *p;
            if let Some(name) = name {
                write!(out, "{bold}{name}:{bold:#} ")?;
            }
            write!(out, "{error}error:{error:#} {message}")
        });
    }

    /// One line on stderr: `NAME: warning: MESSAGE`.
    pub(crate) fn warning_line(&mut self, name: &str, message: &str) {
        self.err_line(&|p, out| {
            let Palette { bold, warning, .. } = *p;
            write!(
                out,
                "{bold}{name}:{bold:#} {warning}warning:{warning:#} {message}"
            )
        });
    }

    /// Why `--apply` did not write a file.
    pub(crate) fn write_error(&mut self, name: &str, error: &WriteError) {
        match error {
            WriteError::Changed => {
                self.error_line(Some(name), "changed while rewriting; nothing written");
            }
            WriteError::ReadOnly => self.error_line(Some(name), "read-only file"),
            WriteError::Failure(failure) => self.failure(name, failure),
        }
    }

    pub(crate) fn failure(&mut self, name: &str, failure: &Failure) {
        match failure {
            Failure::Io(e) => self.error_line(Some(name), &fsio::describe_io(e)),
            Failure::NotRegular => self.error_line(Some(name), "not a regular file"),
            Failure::Rewrite(dfrewrite::Error::Invalid {
                line,
                column,
                message,
            }) => {
                self.err_line(&|p, out| {
                    let Palette { bold, error, .. } = *p;
                    write!(
                        out,
                        "{bold}{name}:{line}:{column}:{bold:#} {error}error:{error:#} {message}"
                    )
                });
            }
            Failure::Rewrite(dfrewrite::Error::Internal(message)) => {
                self.err_line(&|p, out| {
                    let Palette { bold, error, .. } = *p;
                    write!(
                        out,
                        "{bold}{name}:{bold:#} {error}internal error:{error:#} {message} (please report)"
                    )
                });
            }
        }
    }
}

/// Counts for the summary line of a text run.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    files: usize,
    fixes: usize,
    unsafe_left: usize,
    pub(crate) errors: usize,
}

impl Stats {
    /// Counts one rewritten file: its fixes and new files, and the unsafe fixes left.
    pub(crate) fn count(&mut self, outcome: &Outcome) {
        self.files += 1;
        self.fixes += outcome.applied.len() + outcome.files.len();
        self.unsafe_left += outcome
            .advice
            .iter()
            .filter(|f| f.applicability == Applicability::Unsafe)
            .count();
    }

    /// A run that found nothing to fix says nothing (as before: quiet when clean).
    pub(crate) fn worth_a_line(&self) -> bool {
        self.fixes + self.unsafe_left > 0
    }

    /// `3 fixes applied, 1 more with --unsafe, 2 files` (`to apply` outside `--apply`).
    pub(crate) fn line(&self, applied: bool, unsafe_given: bool) -> String {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut line = format!(
            "{} {}",
            plural(self.fixes, "fix", "fixes"),
            if applied { "applied" } else { "to apply" }
        );
        if self.unsafe_left > 0 && !unsafe_given {
            let _ = write!(line, ", {} more with --unsafe", self.unsafe_left);
        }
        let _ = write!(line, ", {}", plural(self.files, "file", "files"));
        if self.errors > 0 {
            let _ = write!(line, ", {}", plural(self.errors, "error", "errors"));
        }
        line
    }
}

/// A `git apply` / `patch -p1` compatible diff: `\r` is kept and a missing final newline is
/// marked with `\ No newline at end of file`.
pub(crate) fn unified_diff(old: &str, new: &str, name: &str) -> String {
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string()
}

/// The diff that creates `name` with `content`.
pub(crate) fn new_file_diff(content: &str, name: &str) -> String {
    TextDiff::from_lines("", content)
        .unified_diff()
        .context_radius(3)
        .header("/dev/null", &format!("b/{name}"))
        .to_string()
}

fn colour_diff(diff: &str) -> String {
    let mut out = String::with_capacity(diff.len() + diff.len() / 4);
    for line in diff.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let end = &line[body.len()..];
        let style = if body.starts_with("--- a/")
            || body == "--- /dev/null"
            || body.starts_with("+++ b/")
        {
            BOLD
        } else if body.starts_with("@@") {
            CYAN
        } else if body.starts_with('-') {
            RED
        } else if body.starts_with('+') {
            GREEN
        } else {
            Style::new()
        };
        let _ = write!(out, "{style}{body}{style:#}{end}");
    }
    out
}

/// `--list-passes`: name, whether it fixes, and the first sentence of its doc.
pub(crate) fn pass_table() -> String {
    let passes = dfrewrite::passes();
    let width = passes
        .iter()
        .map(|p| p.name.len())
        .chain(["PASS".len()])
        .max()
        .unwrap_or(0);
    let mut out = format!("{:<width$}  {:<9}  SUMMARY\n", "PASS", "FIX");
    for pass in passes {
        let _ = writeln!(
            out,
            "{:<width$}  {:<9}  {}",
            pass.name,
            fix_word(pass.fix),
            pass.summary
        );
    }
    out
}

fn fix_word(fix: FixAvailability) -> &'static str {
    match fix {
        FixAvailability::Always => "always",
        FixAvailability::Sometimes => "sometimes",
        FixAvailability::Never => "never",
    }
}

/// `--explain`: the pass's documentation, with the doc comments' leading space removed.
pub(crate) fn explain(pass: &PassInfo) -> String {
    let mut out = format!(
        "# {}\n\nFix is {} available.\n\n",
        pass.name,
        fix_word(pass.fix)
    );
    out.push_str(&pass.documentation());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_marks_crlf_and_missing_final_newline() {
        let diff = unified_diff("A\r\nB\r\nC", "A\r\nX\r\nC", "d/Dockerfile");
        assert_eq!(
            diff,
            "--- a/d/Dockerfile\n+++ b/d/Dockerfile\n@@ -1,3 +1,3 @@\n A\r\n-B\r\n+X\r\n C\n\\ No newline at end of file\n"
        );
        let diff = unified_diff("A\nB", "A\nC", "x");
        assert_eq!(
            diff,
            "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n A\n-B\n\\ No newline at end of file\n+C\n\\ No newline at end of file\n"
        );
    }

    #[test]
    fn new_file_diff_starts_from_dev_null() {
        assert_eq!(
            new_file_diff(".git\nnode_modules\n", "svc/.dockerignore"),
            "--- /dev/null\n+++ b/svc/.dockerignore\n@@ -0,0 +1,2 @@\n+.git\n+node_modules\n"
        );
    }

    #[test]
    fn colour_keeps_line_endings_outside_the_style() {
        let coloured = colour_diff("-a\r\n");
        assert!(coloured.ends_with("\r\n"));
        assert!(coloured.contains("-a"));
    }

    #[test]
    fn display_drops_leading_dot_slash() {
        assert_eq!(display(Path::new("./a/Dockerfile")), "a/Dockerfile");
        assert_eq!(display(Path::new("././Dockerfile")), "Dockerfile");
        assert_eq!(display(Path::new(".")), ".");
        assert_eq!(display(Path::new("/abs/Dockerfile")), "/abs/Dockerfile");
    }
}
