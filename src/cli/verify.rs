//! `dfrewrite verify`: the command line around [`crate::verify`].
//!
//! `verify` is recognised as the first argument by `main` rather than declared as a clap
//! subcommand, so the flat `dfrewrite [FLAGS] PATH…` command line keeps working unchanged
//! (a file literally named `verify` is reached as `./verify`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::verify::{self, EngineChoice, Event, Failure, Phase, SmokeCommand, Touch};

use super::fsio::{self, Failure as FileFailure, FsContext};
use super::render::{self, Printer};

/// Set on Ctrl-C or SIGTERM; every wait in verify checks it and unwinds, removing the
/// temporary Dockerfile, containers and scratch directories on the way out.
static STOP: AtomicBool = AtomicBool::new(false);

/// The exit code after an interruption (128 + SIGINT), as shells report it.
const INTERRUPTED: u8 = 130;

const AFTER_HELP: &str = "\
Builds the original and the rewrite (the same passes and tiers as --diff) against the same
context, and compares image bytes, layers, the final filesystem, the runtime config, an
optional smoke command and, with --touch, the warm rebuild after a one-line source edit.
The rewrite is written to a temporary directory outside the context and removed afterwards
(also on error and Ctrl-C); the user's files are never modified.

Engines: Docker with BuildKit (`docker buildx build --load`, or `DOCKER_BUILDKIT=1 docker
build` with a client before 23) on the daemon the client reaches (DOCKER_HOST honoured);
buildah (with podman to read image sizes) over the default store, `--isolation chroot`,
`--layers --format docker --pull=never`; podman alone when `podman run` works. `auto` takes
the first that works, in that order. Install with `apt-get install docker.io` or
`apt-get install buildah podman`.

Exit status:
  0  both build, the smoke results agree, and no unexpected difference
  1  the rewrite does not build, fails the smoke, or differs unexpectedly
  2  the original does not build (or fails its own smoke), no engine is available, or
     another error
Build logs are kept in a temporary directory, named in the report, unless the
verification passed.

Examples:
  dfrewrite verify Dockerfile
  dfrewrite verify --unsafe --smoke 'python -c \"import app\"' --expect ok app/Dockerfile
  dfrewrite verify --smoke '[\"/app/server\", \"--version\"]' --touch main.go --json out.json Dockerfile
  dfrewrite verify --engine docker --output-format markdown Dockerfile > comment.md";

/// Builds a Dockerfile and its rewrite and compares the two images.
#[derive(Debug, clap::Parser)]
#[command(name = "dfrewrite verify", bin_name = "dfrewrite verify", after_help = AFTER_HELP)]
pub(crate) struct VerifyArgs {
    /// The Dockerfile to verify.
    #[arg(value_name = "DOCKERFILE")]
    dockerfile: PathBuf,

    #[command(flatten)]
    passes: super::PassArgs,

    /// The container engine.
    #[arg(long, value_enum, default_value_t = EngineChoice::Auto)]
    engine: EngineChoice,

    /// The build context [default: the Dockerfile's directory].
    #[arg(long, value_name = "DIR")]
    context: Option<PathBuf>,

    /// A command to run in both images: a shell command (run with /bin/sh -c) or, like a
    /// Dockerfile's exec form, a JSON array of strings. Exit codes and stdout must agree.
    #[arg(long, value_name = "CMD", allow_hyphen_values = true)]
    smoke: Option<String>,

    /// Text the smoke command's output must contain.
    #[arg(
        long,
        value_name = "TEXT",
        requires = "smoke",
        allow_hyphen_values = true
    )]
    expect: Option<String>,

    /// A source file (in the context) to edit for the warm rebuild: a comment line is
    /// appended to it in a scratch copy of the context, and both images are rebuilt.
    #[arg(long, value_name = "FILE")]
    touch: Option<PathBuf>,

    /// The comment prefix for --touch [default: `//` for .go/.js/.ts/.c/.rs and similar,
    /// `#` otherwise].
    #[arg(
        long,
        value_name = "PREFIX",
        requires = "touch",
        allow_hyphen_values = true
    )]
    touch_comment: Option<String>,

    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "OUT")]
    json: Option<PathBuf>,

    /// Put both images' whole file listings (path, kind, size, mode, owner, link target) in
    /// the --json report.
    #[arg(long, requires = "json")]
    json_files: bool,

    /// The report on standard output: `human` (a table and the differences), `markdown` (a
    /// compact table for a pull-request comment), or `github` (the human report, the Markdown
    /// appended to $GITHUB_STEP_SUMMARY when it is set, and a workflow annotation).
    #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
    output_format: OutputFormat,
}

/// What `verify` prints on standard output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OutputFormat {
    Human,
    Markdown,
    Github,
}

/// Runs `dfrewrite verify` and returns the exit code.
pub(crate) fn run(args: &VerifyArgs) -> u8 {
    let mut p = Printer::new();
    let code = run_with(args, &mut p);
    if p.flush().is_err() {
        return 2;
    }
    code
}

fn run_with(args: &VerifyArgs, p: &mut Printer) -> u8 {
    // Without the handler Ctrl-C still stops everything, only without the clean-up.
    if let Err(e) = ctrlc::set_handler(|| STOP.store(true, Ordering::SeqCst)) {
        p.error_line(None, &format!("cannot handle Ctrl-C: {e}"));
    }
    let name = render::display(&args.dockerfile);
    let settings = match super::settings_from(&args.passes) {
        Ok(s) => s,
        Err(message) => {
            p.error_line(None, &message);
            return 2;
        }
    };
    // the configuration file that applies to the Dockerfile, as for `--diff`
    let mut settings = match super::config::discovered(&settings, Some(&args.dockerfile)) {
        Ok(s) => s,
        Err(e) => {
            p.error_line(Some(&e.location()), &e.message);
            return 2;
        }
    };
    let context = args
        .context
        .clone()
        .unwrap_or_else(|| super::context_dir_of(&args.dockerfile).to_path_buf());
    match set_context(&mut settings, &context, &args.dockerfile) {
        Ok(()) => {}
        Err(e) => {
            p.error_line(Some(&render::display(&context)), &fsio::describe_io(&e));
            return 2;
        }
    }
    let source = match fsio::read_dockerfile(&args.dockerfile).and_then(|bytes| {
        dfrewrite::decode(&bytes)
            .map(str::to_owned)
            .map_err(FileFailure::Rewrite)
    }) {
        Ok(source) => source,
        Err(failure) => {
            p.failure(&name, &failure);
            return 2;
        }
    };
    let request = verify::Request {
        dockerfile: &args.dockerfile,
        source: &source,
        context: &context,
        settings: &settings,
        engine: args.engine,
        smoke: args.smoke.as_deref().map(SmokeCommand::parse),
        expect: args.expect.clone(),
        touch: args.touch.clone().map(|file| Touch {
            file,
            comment: args.touch_comment.clone(),
        }),
        stop: &STOP,
        list_files: args.json_files,
    };
    let result = verify::verify(&request, &mut |event| p.note(&progress(&event)));
    let report = match result {
        Ok(report) => report,
        Err(Failure::Interrupted) => {
            p.error_line(Some(&name), "interrupted; temporary files removed");
            return INTERRUPTED;
        }
        Err(failure) => {
            p.error_line(Some(&name), &failure.to_string());
            return 2;
        }
    };
    if let Some(out) = &args.json {
        let json = serde_json::to_string_pretty(&report).expect("reports serialise");
        if let Err(e) = std::fs::write(out, json + "\n") {
            p.error_line(Some(&render::display(out)), &fsio::describe_io(&e));
            return 2;
        }
    }
    let text = match args.output_format {
        OutputFormat::Human => verify::render::human(&report),
        OutputFormat::Markdown => verify::markdown::markdown(&report),
        OutputFormat::Github => {
            if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY") {
                let markdown = verify::markdown::markdown(&report) + "\n";
                if let Err(e) = append(std::path::Path::new(&summary), &markdown) {
                    p.error_line(Some("$GITHUB_STEP_SUMMARY"), &fsio::describe_io(&e));
                    return 2;
                }
            }
            verify::render::human(&report) + &annotation(&name, &report)
        }
    };
    if p.stdout_or_error(&text) != super::RunStatus::Clean {
        return 2;
    }
    report.verdict.exit_code
}

pub(crate) fn append(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(text.as_bytes())
}

/// A GitHub Actions workflow command that shows the verdict on the Dockerfile.
fn annotation(name: &str, report: &verify::Report) -> String {
    let escape = super::output::github::escape;
    let (level, message) = match report.verdict.status {
        verify::VerifyStatus::Pass => {
            let saved = report.comparison.as_ref().map_or(String::new(), |c| {
                format!(": {:.1} % smaller", c.percent_saved)
            });
            ("notice", format!("the rewrite verified{saved}"))
        }
        _ => ("error", report.verdict.reasons.join("; ")),
    };
    format!(
        "::{level} file={},title=dfrewrite verify::{}\n",
        escape(name, true),
        escape(&message, false)
    )
}

fn progress(event: &Event<'_>) -> String {
    match event {
        Event::Engine(name) => format!("verify: engine {name}"),
        Event::Build {
            side,
            phase: Phase::First,
        } => format!("verify: building the {}", side.name()),
        Event::Build {
            side,
            phase: Phase::Settle,
        } => format!(
            "verify: rebuilding the {} from a scratch copy of the context (cached)",
            side.name()
        ),
        Event::Build {
            side,
            phase: Phase::Warm,
        } => format!("verify: rebuilding the {} after the touch", side.name()),
        Event::Step { side, line } => format!("  {:<8} {line}", side.name()),
        Event::Measure(side) => format!("verify: measuring the {}", side.name()),
        Event::Smoke(side) => format!("verify: smoke in the {}", side.name()),
    }
}

/// Opens the build context into `settings`, with the Dockerfile's place in it (as for the
/// other modes: which ignore file applies depends on it).
fn set_context(
    settings: &mut dfrewrite::Settings,
    context: &Path,
    dockerfile: &Path,
) -> std::io::Result<()> {
    let ctx = FsContext::new(context)?;
    settings.dockerfile = ctx.relative(dockerfile);
    settings.context = Some(Arc::new(ctx));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::VerifyArgs;
    use clap::Parser as _;

    #[test]
    fn the_dockerfile_is_placed_in_its_context() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("docker")).unwrap();
        let dockerfile = dir.path().join("docker/api.Dockerfile");
        std::fs::write(&dockerfile, "FROM a\n").unwrap();
        let mut settings = dfrewrite::Settings::default();
        super::set_context(&mut settings, dir.path(), &dockerfile).unwrap();
        assert!(settings.context.is_some());
        assert_eq!(
            settings.dockerfile.as_deref(),
            Some("docker/api.Dockerfile")
        );
    }

    #[test]
    fn values_may_start_with_a_hyphen() {
        // app.toml texts such as `-> 302 …` or `- [Usage]` are values, not flags
        let args = VerifyArgs::try_parse_from([
            "verify",
            "--smoke",
            "-c true",
            "--expect",
            "-> 302",
            "--touch",
            "a.ts",
            "--touch-comment",
            "--",
            "Dockerfile",
        ])
        .unwrap();
        assert_eq!(args.smoke.as_deref(), Some("-c true"));
        assert_eq!(args.expect.as_deref(), Some("-> 302"));
        assert_eq!(args.touch_comment.as_deref(), Some("--"));
    }
}
