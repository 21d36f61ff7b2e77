//! The command line: arguments, modes, file walking, and how results are shown.
//!
//! Everything here runs in the binary, never in the library: this is where files are read and
//! written and where text reaches the terminal.

mod cached;
mod config;
mod contain;
mod dirrun;
mod errstream;
mod fsio;
pub(crate) mod generate;
mod listdir;
pub(crate) mod lsp;
mod output;
mod patch_path;
mod render;
mod signals;
pub(crate) mod verify;
mod walk;
mod write;

use std::collections::BTreeSet;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use clap::ArgGroup;
use dfrewrite::{Applicability, Settings};

use cached::{CachedContext, RunContexts};
use dirrun::Prepared;
use fsio::{Failure, FsContext};
use output::{FileRecord, OutputFormat, RunMode};
use render::{ColorWhen, Printer, Stats};

const AFTER_HELP: &str = "\
Modes:
  --diff     (the default) print a unified diff of what would change; apply it with
             `git apply` or `patch -p1`
  --apply    rewrite the files in place (atomic; keeps mode, CRLF, BOM, final newline)
  --check    list the files that would change, write nothing
  -          read standard input and print the full rewritten text on standard output
             (for editors); with --diff or --check, print the diff or the verdict instead

Applied fixes and advice are reported on standard error as `PATH:LINE: pass: message`,
with a summary line; --output-format json|sarif|github|gitlab prints one report on
standard output instead of the diff or list.

Exit status:
  0  nothing to change, or the changes were applied
  1  --diff or --check found something to change
  2  error: a file that does not parse, is not UTF-8 or cannot be read, an unknown pass,
     a bad flag; nothing is written for that file (and stdout stays empty in `-` mode)

Verify (builds both images and compares them; see `dfrewrite verify --help`):
  dfrewrite verify [--unsafe] [--engine E] [--smoke CMD [--expect TEXT]] [--touch FILE]
                   [--json OUT] Dockerfile

Completions and manual page:
  dfrewrite completions bash|zsh|fish|elvish|powershell
  dfrewrite man

Examples:
  dfrewrite --diff Dockerfile
  dfrewrite --apply Dockerfile
  dfrewrite --check .
  dfrewrite - --stdin-filename Dockerfile < Dockerfile > Dockerfile.new
  dfrewrite --unsafe --diff --select add-to-copy docker/
  dfrewrite --check --output-format sarif . > dfrewrite.sarif
  dfrewrite --explain add-to-copy";

/// Rewrites Dockerfiles into smaller, faster-building, safer ones without changing what the
/// image does.
// One bool per flag is what clap's derive wants; the mode group keeps them consistent.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, clap::Parser)]
#[command(
    name = "dfrewrite",
    version,
    after_help = AFTER_HELP,
    group(ArgGroup::new("mode").args(["diff", "apply", "check"])),
)]
pub(crate) struct Args {
    /// Dockerfiles or directories (searched for Dockerfile, Containerfile, *.Dockerfile,
    /// Dockerfile.*, *.dockerfile, honouring .gitignore); `-` reads standard input.
    /// Defaults to `.`.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Print a unified diff of the changes; exit 1 if anything would change (default mode).
    #[arg(long)]
    diff: bool,

    /// Rewrite the files in place.
    #[arg(long)]
    apply: bool,

    /// Print `Would rewrite: PATH` for each file that would change; exit 1 if any.
    #[arg(long)]
    check: bool,

    /// The name of the file read from standard input, used in messages and to find its
    /// build context (the file's directory).
    #[arg(long, value_name = "NAME")]
    stdin_filename: Option<PathBuf>,

    #[command(flatten)]
    passes: PassArgs,

    #[command(flatten)]
    config: config::ConfigArgs,

    /// The build context root [default: each Dockerfile's own directory].
    #[arg(long, value_name = "DIR")]
    context: Option<PathBuf>,

    /// Rewrite at most N files at once in a directory run [default: one per CPU core, or
    /// RAYON_NUM_THREADS]; 1 rewrites them one after another. Output and exit status are
    /// the same, in the same order, whatever N is.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,

    /// List the passes and exit.
    #[arg(long)]
    list_passes: bool,

    /// Print the documentation of a pass and exit.
    #[arg(long, value_name = "PASS")]
    explain: Option<String>,

    /// What standard output carries: the text output (diffs, lists), or one machine-readable
    /// report of every fix (the files are still written under --apply).
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = OutputFormat::Text)]
    output_format: OutputFormat,

    /// Colour the output: `auto` colours a terminal unless NO_COLOR is set (CLICOLOR_FORCE
    /// forces it).
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto)]
    color: ColorWhen,
}

/// How a run ended; the numeric value is the exit code. A later, worse status wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum RunStatus {
    /// Nothing to change, or the changes were applied.
    Clean = 0,
    /// `--diff` / `--check` found something to change.
    Changed = 1,
    /// Something could not be processed.
    Error = 2,
}

impl From<RunStatus> for u8 {
    fn from(status: RunStatus) -> u8 {
        status as u8
    }
}

/// What to do with a file whose rewrite differs from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Diff,
    Apply,
    Check,
    /// Standard input without a mode flag: print the whole (rewritten or unchanged) text.
    Print,
}

/// Runs the command line and returns how it ended.
pub(crate) fn run(args: &Args) -> RunStatus {
    let mut p = Printer::with(args.color, args.output_format != OutputFormat::Text);
    let status = run_with(args, &mut p);
    // Output lost other than to a closed pipe (a full disk) is an error, reported there.
    if p.flush().is_err() {
        return RunStatus::Error;
    }
    status
}

fn run_with(args: &Args, p: &mut Printer) -> RunStatus {
    if args.list_passes {
        return p.stdout_or_error(&render::pass_table());
    }
    if let Some(name) = &args.explain {
        let Some(pass) = dfrewrite::pass_by_name(name) else {
            if let Some(doc) = config::explain_report(name) {
                return p.stdout_or_error(doc);
            }
            p.error_line(None, &unknown_pass(name, "--explain"));
            return RunStatus::Error;
        };
        return p.stdout_or_error(&render::explain(pass));
    }
    let settings = match settings(args) {
        Ok(s) => s,
        Err(message) => {
            p.error_line(None, &message);
            return RunStatus::Error;
        }
    };
    let fixed_context = match &args.context {
        None => None,
        Some(dir) => match FsContext::new(dir) {
            Ok(ctx) => Some((Arc::new(CachedContext::new(ctx)), dir.clone())),
            Err(e) => {
                p.error_line(Some(&render::display(dir)), &fsio::describe_io(&e));
                return RunStatus::Error;
            }
        },
    };
    let resolver = match config::Resolver::new(&args.config) {
        Ok(r) => r,
        Err(e) => {
            p.error_line(Some(&e.location()), &e.message);
            return RunStatus::Error;
        }
    };
    if let Some(file) = &args.config.show_settings {
        return match resolver.resolve(&settings, Some(file)) {
            Ok(found) => p.stdout_or_error(&config::show(&found, file, resolver.excluded(file))),
            Err(e) => {
                p.error_line(Some(&e.location()), &e.message);
                RunStatus::Error
            }
        };
    }
    let runner = Runner {
        settings,
        resolver,
        reported: Mutex::new(BTreeSet::new()),
        fixed_context,
        contexts: RunContexts::default(),
        proposed: Mutex::new(BTreeSet::new()),
        used: Mutex::default(),
        format: args.output_format,
        records: Mutex::new(Vec::new()),
        stats: Mutex::new(Stats::default()),
    };

    let dash = Path::new("-");
    let reads_stdin = args.paths.iter().any(|path| path == dash)
        || (args.paths.is_empty() && args.stdin_filename.is_some());
    if reads_stdin {
        if args.paths.len() > 1 {
            p.error_line(None, "`-` (standard input) must be the only path");
            return RunStatus::Error;
        }
        let mode = if args.apply {
            p.error_line(
                None,
                "--apply cannot write to standard input; omit it to print the rewritten text",
            );
            return RunStatus::Error;
        } else if args.check {
            Mode::Check
        } else if args.diff {
            Mode::Diff
        } else {
            Mode::Print
        };
        let status = runner.stdin(args.stdin_filename.as_deref(), mode, p);
        runner.context_notes(p);
        return status.max(runner.report(RunMode::Stdin, args, p));
    }
    if args.stdin_filename.is_some() {
        p.error_line(
            None,
            "--stdin-filename only applies when reading standard input (`-`)",
        );
        return RunStatus::Error;
    }

    let mode = if args.apply {
        // Without the handler a signal still stops the run; the next run removes its temp file.
        let _ = signals::install();
        Mode::Apply
    } else if args.check {
        Mode::Check
    } else {
        Mode::Diff
    };
    let default_paths = [PathBuf::from(".")];
    let roots = if args.paths.is_empty() {
        &default_paths[..]
    } else {
        &args.paths[..]
    };
    let targets: Vec<walk::Target> = walk::collect(roots)
        .into_iter()
        .filter(|t| {
            // `extend-exclude` applies to directory walks; a file named explicitly is processed
            roots.contains(&t.path) || t.error.is_some() || !runner.resolver.excluded(&t.path)
        })
        .collect();
    for dir in walk::without_dockerfiles(roots, &targets) {
        p.warning_line(&render::display(dir), walk::NONE_FOUND);
    }
    p.progress_start(targets.len());
    let status = dirrun::run(&runner, &targets, mode, args.threads, p);
    p.progress_finish();
    runner.context_notes(p);
    let run_mode = match mode {
        Mode::Apply => RunMode::Apply,
        Mode::Check => RunMode::Check,
        _ => RunMode::Diff,
    };
    if args.output_format == OutputFormat::Text {
        let counts = runner.stats.lock().unwrap_or_else(PoisonError::into_inner);
        if counts.worth_a_line() {
            p.note(&counts.line(mode == Mode::Apply, args.passes.unsafe_fixes));
        }
    }
    status.max(runner.report(run_mode, args, p))
}

/// The tier and pass selection, shared by the rewrite modes and `verify`.
#[derive(Debug, clap::Args)]
pub(crate) struct PassArgs {
    /// Also apply fixes that may change behaviour or build requirements.
    #[arg(long = "unsafe")]
    unsafe_fixes: bool,

    /// Run only these passes (repeatable, comma-separated).
    #[arg(long, value_name = "PASS", value_delimiter = ',')]
    select: Option<Vec<String>>,

    /// Never run these passes (repeatable, comma-separated).
    #[arg(long, value_name = "PASS", value_delimiter = ',')]
    ignore: Vec<String>,
}

/// Checks pass names and builds the settings shared by every file.
fn settings(args: &Args) -> Result<Settings, String> {
    settings_from(&args.passes)
}

/// The settings for a tier and pass selection, with the pass names checked.
fn settings_from(passes: &PassArgs) -> Result<Settings, String> {
    let PassArgs {
        unsafe_fixes,
        select,
        ignore,
    } = passes;
    let clean = |names: &[String], flag: &str| -> Result<Vec<String>, String> {
        let names: Vec<String> = names
            .iter()
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .collect();
        match names.iter().find(|n| dfrewrite::pass_by_name(n).is_none()) {
            Some(bad) => Err(unknown_pass(bad, flag)),
            None => Ok(names),
        }
    };
    Ok(Settings {
        threshold: if *unsafe_fixes {
            Applicability::Unsafe
        } else {
            Applicability::Safe
        },
        select: select
            .as_deref()
            .map(|s| clean(s, "--select"))
            .transpose()?,
        ignore: clean(ignore, "--ignore")?,
        ..Settings::default()
    })
}

fn unknown_pass(name: &str, flag: &str) -> String {
    let valid: Vec<&str> = dfrewrite::passes().iter().map(|p| p.name).collect();
    format!(
        "unknown pass `{name}` in {flag}; valid passes: {}",
        valid.join(", ")
    )
}

/// Rewrites single inputs under fixed settings.
struct Runner {
    /// The settings the flags give, before any configuration file.
    settings: Settings,
    resolver: config::Resolver,
    /// Configuration files whose error was already reported (once per run).
    reported: Mutex<BTreeSet<PathBuf>>,
    /// The `--context` directory (opened, and as given), when given; otherwise each file's
    /// own directory is used.
    fixed_context: Option<(Arc<CachedContext>, PathBuf)>,
    /// Every other context, opened once per directory and shared by the files in it.
    contexts: RunContexts,
    /// New files already shown or listed in this run (canonical context root joined with the
    /// file's path): two Dockerfiles sharing a context must not propose the file twice.
    proposed: Mutex<BTreeSet<PathBuf>>,
    /// The contexts of the files shown so far, in the order shown (for the notes at the end).
    used: Mutex<Vec<(Arc<CachedContext>, PathBuf)>>,
    format: OutputFormat,
    /// Every input, for a machine-readable report (empty in the text format).
    records: Mutex<Vec<FileRecord>>,
    /// Counts for the summary line.
    stats: Mutex<Stats>,
}

/// Where a Dockerfile's build context is, for reading and for placing new files.
struct ContextDir {
    ctx: Arc<CachedContext>,
    /// The directory as the user named it (for messages, diffs and writing).
    shown: PathBuf,
}

impl Runner {
    /// The context of a Dockerfile at `path` (or of standard input named so).
    fn context_for(&self, dir: Option<&Path>) -> Option<ContextDir> {
        match (&self.fixed_context, dir) {
            (Some((ctx, shown)), _) => Some(ContextDir {
                ctx: Arc::clone(ctx),
                shown: shown.clone(),
            }),
            // A directory that cannot be opened just means passes see no context and hold back.
            (None, Some(dir)) => self.contexts.get(dir).map(|ctx| ContextDir {
                ctx,
                shown: dir.to_path_buf(),
            }),
            (None, None) => None,
        }
    }

    /// The settings for a Dockerfile at `path` from its configuration file and the flags;
    /// `None` (the error reported, once per configuration file) when that file is bad.
    fn configured(&self, path: Option<&Path>, p: &mut Printer) -> Option<Settings> {
        match self.resolver.resolve(&self.settings, path) {
            Ok(resolved) => Some(resolved.settings),
            Err(e) => {
                self.report_config(&e, p);
                None
            }
        }
    }

    /// Reports a bad configuration file, once per run.
    fn report_config(&self, e: &config::ConfigError, p: &mut Printer) {
        let first = self
            .reported
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(e.path.clone());
        if first {
            p.error_line(Some(&e.location()), &e.message);
        }
    }

    fn settings_for(
        base: &Settings,
        context: Option<&ContextDir>,
        dockerfile: Option<&Path>,
    ) -> Settings {
        Settings {
            context: context.map(|c| Arc::clone(&c.ctx) as Arc<dyn dfrewrite::BuildContext>),
            dockerfile: context
                .zip(dockerfile)
                .and_then(|(c, path)| c.ctx.fs().relative(path)),
            ..base.clone()
        }
    }

    /// Reads and rewrites one file: everything but showing and writing, so that files can
    /// be prepared on many threads and then shown one after another.
    fn prepare(&self, path: &Path, name: &str, mode: Mode) -> Prepared {
        let base = match self.resolver.resolve(&self.settings, Some(path)) {
            Ok(resolved) => resolved.settings,
            Err(e) => return Prepared::BadConfig(e),
        };
        let context = self.context_for(Some(context_dir_of(path)));
        let result = fsio::read_dockerfile(path).and_then(|bytes| {
            let text = owned_text(bytes).map_err(Failure::Rewrite)?;
            let settings = Self::settings_for(&base, context.as_ref(), Some(path));
            // a check shows only the outcome: the text is not kept
            let keep = mode != Mode::Check;
            contain::rewrite(name, || self.rewrite(text, &settings, keep)).map_err(Failure::Rewrite)
        });
        Prepared::Done { context, result }
    }

    /// Shows, lists or writes what [`Self::prepare`] found for one file.
    fn emit(
        &self,
        path: &Path,
        name: &str,
        mode: Mode,
        prepared: Prepared,
        p: &mut Printer,
    ) -> RunStatus {
        let (context, result) = match prepared {
            Prepared::Done { context, result } => (context, result),
            Prepared::BadConfig(e) => {
                self.report_config(&e, p);
                return RunStatus::Error;
            }
        };
        if let Some(context) = &context {
            self.note_context(context);
        }
        let (text, outcome, trace) = match result {
            Ok(ok) => ok,
            Err(failure) => {
                p.failure(name, &failure);
                self.record_failure(name, &failure);
                return RunStatus::Error;
            }
        };
        let mut written = false;
        let mut created = BTreeSet::new();
        if mode == Mode::Apply {
            // Temp files a killed run left beside this one.
            write::remove_stale_beside(path);
        }
        // Under --apply the fixes are reported once they are written.
        if mode != Mode::Apply || outcome.output.is_none() {
            p.fixes(name, &outcome, mode == Mode::Apply);
        }
        let mut status = RunStatus::Clean;
        if let Some(new) = &outcome.output {
            status = match mode {
                Mode::Apply => match write::replace(path, text.as_bytes(), new.as_bytes()) {
                    Ok(()) => {
                        written = true;
                        p.fixes(name, &outcome, true);
                        RunStatus::Clean
                    }
                    Err(e) => {
                        p.write_error(name, &e);
                        self.record_write_error(name, e);
                        return RunStatus::Error;
                    }
                },
                Mode::Diff => p.diff_or_error(&text, new, &patch_path::header_path(path, name)),
                Mode::Check => p.would_rewrite(name),
                Mode::Print => unreachable!("print mode is only for standard input"),
            };
        }
        // (a file whose write failed returned above: it counts as an error, not as fixed)
        self.stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .count(&outcome);
        let Some(context) = context else {
            self.record(name, text, trace, written, None, created);
            return status;
        };
        for file in &outcome.files {
            let target = context.shown.join(&file.path);
            let shown = render::display(&target);
            let first = self
                .proposed
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(context.ctx.fs().root().join(&file.path));
            let file_status = match mode {
                // Every file sees the context as the run found it, so under --apply too a
                // later Dockerfile proposes what an earlier one created.
                _ if !first => {
                    p.new_file(name, file, &format!(" ({shown} already proposed above)"));
                    if mode == Mode::Apply {
                        RunStatus::Clean
                    } else {
                        RunStatus::Changed
                    }
                }
                Mode::Apply => match write::create_new(&target, file.content.as_bytes()) {
                    Ok(()) => {
                        created.insert(file.path.clone());
                        p.new_file(name, file, &format!(" (created {shown})"));
                        RunStatus::Clean
                    }
                    // Re-checked at write time: never overwrite, whoever created it.
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        p.new_file(name, file, &format!(" (not written: {shown} exists)"));
                        RunStatus::Clean
                    }
                    Err(e) => {
                        p.error_line(Some(&shown), &fsio::describe_io(&e));
                        RunStatus::Error
                    }
                },
                Mode::Diff => {
                    p.new_file(name, file, "");
                    p.new_file_diff_or_error(
                        &file.content,
                        &patch_path::header_path(&target, &shown),
                    )
                }
                Mode::Check => {
                    p.new_file(name, file, "");
                    p.would_create(&shown)
                }
                Mode::Print => unreachable!("print mode is only for standard input"),
            };
            status = status.max(file_status);
        }
        self.record(name, text, trace, written, Some(context.shown), created);
        status
    }

    fn stdin(&self, filename: Option<&Path>, mode: Mode, p: &mut Printer) -> RunStatus {
        let name = filename.map_or_else(|| "-".to_owned(), render::display);
        let context_dir = filename.map(context_dir_of).filter(|dir| dir.is_dir());
        let context = self.context_for(context_dir);
        if let Some(context) = &context {
            self.note_context(context);
        }
        let Some(base) = self.configured(filename, p) else {
            return RunStatus::Error;
        };
        let settings = Self::settings_for(&base, context.as_ref(), filename);
        let mut bytes = Vec::new();
        let limit = dfrewrite::MAX_INPUT_BYTES as u64 + 1;
        let fail = |p: &mut Printer, failure: Failure| {
            p.failure(&name, &failure);
            self.record_failure(&name, &failure);
            RunStatus::Error
        };
        if let Err(e) = io::stdin().lock().take(limit).read_to_end(&mut bytes) {
            return fail(p, Failure::Io(e));
        }
        if bytes.len() > dfrewrite::MAX_INPUT_BYTES {
            return fail(p, Failure::Rewrite(fsio::too_large(None)));
        }
        let text = match owned_text(bytes) {
            Ok(text) => text,
            Err(e) => return fail(p, Failure::Rewrite(e)),
        };
        let (text, outcome, trace) =
            match contain::rewrite(&name, || self.rewrite(text, &settings, true)) {
                Ok(rewritten) => rewritten,
                Err(e) => return fail(p, Failure::Rewrite(e)),
            };
        let shown = context.map(|c| c.shown);
        self.record(&name, text.clone(), trace, false, shown, BTreeSet::new());
        // in every mode, as `--help` and the README say: editors show standard error
        p.fixes(&name, &outcome, false);
        // Standard input never writes beside itself: new files are advice only.
        for file in &outcome.files {
            p.new_file(
                &name,
                file,
                &format!(
                    " (advice: {} is not created when reading standard input)",
                    file.path
                ),
            );
        }
        if self.format != OutputFormat::Text {
            let changed = outcome.has_changes() && mode != Mode::Print;
            return if changed {
                RunStatus::Changed
            } else {
                RunStatus::Clean
            };
        }
        match (mode, outcome.output) {
            (Mode::Print, new) => p.stdout_or_error(new.as_deref().unwrap_or(&text)),
            (_, None) => RunStatus::Clean,
            (Mode::Diff, Some(new)) => p.diff_or_error(&text, &new, &name),
            (Mode::Check, Some(_)) => p.would_rewrite(&name),
            (Mode::Apply, Some(_)) => unreachable!("--apply is refused for standard input"),
        }
    }
}

/// The bytes of a Dockerfile as its text, without a copy, once [`dfrewrite::decode`] accepts
/// them (its error places the first bad byte).
fn owned_text(bytes: Vec<u8>) -> Result<String, dfrewrite::Error> {
    dfrewrite::decode(&bytes)?;
    String::from_utf8(bytes).map_err(|e| dfrewrite::Error::Internal(e.to_string()))
}

/// The directory a Dockerfile's relative paths are resolved against by default.
fn context_dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}
