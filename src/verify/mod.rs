//! `dfrewrite verify`: build the original and the rewrite with a real engine and compare the
//! images (bytes, layers, final filesystem, runtime config, a smoke command, a warm rebuild).
//!
//! Nothing here prints: progress goes to the caller's callback and the result comes back as a
//! [`Report`], which [`render`] turns into text. Engine output goes to log files only.

mod buildkit_log;
mod caches;
pub(crate) mod compare;
mod docker;
mod engine;
mod exec;
mod files;
pub(crate) mod markdown;
mod model;
mod parse;
pub(crate) mod render;
mod saved;
mod side_files;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use dfrewrite::{Applicability, AppliedFix, NewFile, Settings};
use serde::Serialize;

use compare::{Comparison, Expectations, SmokeComparison};
pub(crate) use engine::EngineChoice;
use engine::{BuildSpec, Built, Engine};
pub(crate) use model::SmokeCommand;
use model::{FileEntry, ImageReport, StepCounts};
pub(crate) use side_files::SideFileReport;

/// Why verify could not reach a verdict.
#[derive(Debug)]
pub(crate) enum Failure {
    /// No engine works; the message says what was tried and what to install.
    NoEngine(String),
    /// The inputs are unusable: the Dockerfile does not rewrite, the touch file is missing.
    Input(String),
    /// An engine command other than a build failed unexpectedly.
    Engine(String),
    /// Ctrl-C or SIGTERM; temporary files and containers were removed.
    Interrupted,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoEngine(m) | Self::Input(m) | Self::Engine(m) => f.write_str(m),
            Self::Interrupted => f.write_str("interrupted"),
        }
    }
}

/// The warm-rebuild edit: a comment line appended to one source file of a scratch copy.
#[derive(Debug, Clone)]
pub(crate) struct Touch {
    /// The file, relative to the context.
    pub(crate) file: PathBuf,
    /// The comment prefix; by default chosen from the file's extension.
    pub(crate) comment: Option<String>,
}

/// What to verify.
pub(crate) struct Request<'a> {
    pub(crate) dockerfile: &'a Path,
    /// The Dockerfile's text, already read and decoded.
    pub(crate) source: &'a str,
    pub(crate) context: &'a Path,
    pub(crate) settings: &'a Settings,
    pub(crate) engine: EngineChoice,
    pub(crate) smoke: Option<SmokeCommand>,
    pub(crate) expect: Option<String>,
    pub(crate) touch: Option<Touch>,
    /// Set by the caller's signal handler; every wait checks it.
    pub(crate) stop: &'static AtomicBool,
    /// Put both images' whole file listings in the report.
    pub(crate) list_files: bool,
}

/// The two images of a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Side {
    Original,
    Rewrite,
}

impl Side {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Original => "original",
            Self::Rewrite => "rewrite",
        }
    }
}

/// Which build of a side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// The first build.
    First,
    /// The cached build of the untouched scratch copy before the touch: it makes the layer
    /// chain this side's warm rebuild follows this side's own.
    Settle,
    /// The rebuild after the touch.
    Warm,
}

impl Phase {
    fn log_suffix(self) -> &'static str {
        match self {
            Self::First => "",
            Self::Settle => "-settle",
            Self::Warm => "-touched",
        }
    }
}

/// Progress, for a caller that wants to show it.
#[derive(Debug)]
pub(crate) enum Event<'a> {
    Engine(&'static str),
    /// A build starts.
    Build {
        side: Side,
        phase: Phase,
    },
    /// A step's line of a running build: buildah's `STEP n/m: …` (`[1/2] STEP n/m: …` in a
    /// multi-stage build), BuildKit's first `#N [stage n/m] …`.
    Step {
        side: Side,
        line: &'a str,
    },
    Measure(Side),
    Smoke(Side),
}

/// One build's result.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct BuildReport {
    /// The tag given to the image.
    pub(crate) tag: String,
    pub(crate) ok: bool,
    /// Wall-clock seconds (informative; varies between runs).
    pub(crate) seconds: f64,
    /// Steps run and served from cache (deterministic).
    #[serde(flatten)]
    pub(crate) steps: StepCounts,
    pub(crate) rerun: u32,
    /// The build log, kept when the verification did not pass.
    pub(crate) log: Option<String>,
    #[serde(skip)]
    log_path: PathBuf,
}

impl BuildReport {
    fn new(built: &Built, tag: &str, log_path: PathBuf) -> Self {
        let steps = built.steps;
        Self {
            tag: tag.to_owned(),
            ok: built.ok,
            seconds: built.seconds,
            steps,
            rerun: steps.rerun(),
            log: None,
            log_path,
        }
    }
}

/// Everything learnt about one side.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SideReport {
    pub(crate) build: BuildReport,
    pub(crate) image: Option<ImageReport>,
    /// Number of filesystem entries in the image.
    pub(crate) files: Option<usize>,
    /// The whole listing, with `--json-files`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) file_list: Option<Vec<FileEntry>>,
    /// With `--touch`: the cached build of the untouched scratch copy that comes first.
    pub(crate) settle: Option<BuildReport>,
    /// The rebuild after the one-line edit, with `--touch`.
    pub(crate) warm_rebuild: Option<BuildReport>,
}

/// How the verification ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum VerifyStatus {
    /// Both build, the smoke results agree, no unexpected difference.
    Pass = 0,
    /// The rewrite does not build, fails the smoke, or differs unexpectedly.
    Fail = 1,
    /// The original does not build (or fails its own smoke): nothing to compare against.
    Error = 2,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Verdict {
    pub(crate) status: VerifyStatus,
    pub(crate) exit_code: u8,
    pub(crate) reasons: Vec<String>,
}

/// The result of a verification; serialised as the `--json` output.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Report {
    pub(crate) dockerfile: String,
    pub(crate) context: String,
    pub(crate) engine: &'static str,
    #[serde(rename = "unsafe")]
    pub(crate) unsafe_fixes: bool,
    /// Whether the rewrite differs from the original text.
    pub(crate) rewritten: bool,
    pub(crate) applied: Vec<AppliedFix>,
    /// Files the rewrite adds to the context (a `.dockerignore`), with what they keep out.
    pub(crate) side_files: Vec<SideFileReport>,
    pub(crate) original: SideReport,
    pub(crate) rewrite: Option<SideReport>,
    pub(crate) comparison: Option<Comparison>,
    pub(crate) smoke: Option<SmokeComparison>,
    /// The smoke command, as run (an argv).
    pub(crate) smoke_command: Option<Vec<String>>,
    /// The file edited for the warm rebuild, relative to the context.
    pub(crate) touch: Option<String>,
    pub(crate) verdict: Verdict,
    /// The directory of build logs, kept when the verification did not pass.
    pub(crate) logs: Option<String>,
}

/// Verifies one Dockerfile. `Err` only when no verdict could be reached (no engine, bad
/// input, an engine command failing outside a build, an interruption); a failing build is a
/// verdict.
pub(crate) fn verify(
    req: &Request<'_>,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<Report, Failure> {
    let outcome = dfrewrite::rewrite(req.source, req.settings)
        .map_err(|e| Failure::Input(format!("{}:{e}", req.dockerfile.display())))?;
    let touch_file = req
        .touch
        .as_ref()
        .map(|t| resolve_touch(req.context, &t.file))
        .transpose()?;
    let engine = engine::detect(req.engine, req.stop)?;
    progress(Event::Engine(engine.name()));

    let logs = tempfile::Builder::new()
        .prefix("dfrewrite-verify-")
        .tempdir()
        .map_err(|e| Failure::Engine(format!("cannot create a log directory: {e}")))?;
    let rewritten_text = outcome.output.as_deref().unwrap_or(req.source);
    // Removed when this function returns, whatever the outcome.
    let rewrite_file = temp_dockerfile(req.dockerfile, rewritten_text)?;
    let dockerfiles = [
        (Side::Original, req.dockerfile.to_path_buf()),
        (Side::Rewrite, rewrite_file.path().to_path_buf()),
    ];
    // The rewrite's side files are part of its build: it gets a scratch copy of the context
    // that holds them.
    let side_files = side_files::report(req.context, &outcome.files);
    let rewrite_context = if outcome.files.is_empty() {
        None
    } else {
        Some(scratch_context(req.context, &outcome.files)?)
    };
    let context_of = |side: Side| match (side, &rewrite_context) {
        (Side::Rewrite, Some(scratch)) => scratch.path(),
        _ => req.context,
    };
    let files_of = |side: Side| match side {
        Side::Original => &[][..],
        Side::Rewrite => &outcome.files[..],
    };

    let mut report = Report {
        dockerfile: req.dockerfile.display().to_string(),
        context: req.context.display().to_string(),
        engine: engine.name(),
        unsafe_fixes: req.settings.threshold <= Applicability::Unsafe,
        rewritten: outcome.has_changes(),
        applied: outcome.applied.clone(),
        side_files,
        original: empty_side(),
        rewrite: None,
        comparison: None,
        smoke: None,
        smoke_command: req.smoke.as_ref().map(SmokeCommand::argv),
        touch: touch_file.as_ref().map(|f| f.display().to_string()),
        verdict: Verdict {
            status: VerifyStatus::Pass,
            exit_code: 0,
            reasons: Vec::new(),
        },
        logs: None,
    };
    let mut images = Vec::new();
    for (side, dockerfile) in &dockerfiles {
        let tag = engine::tag_for(req.dockerfile, side.name());
        let build = build(
            engine.as_ref(),
            (*side, Phase::First),
            dockerfile,
            context_of(*side),
            &tag,
            logs.path(),
            progress,
        )?;
        let ok = build.ok;
        let side_report = SideReport {
            build,
            image: None,
            files: None,
            file_list: None,
            settle: None,
            warm_rebuild: None,
        };
        match side {
            Side::Original => report.original = side_report,
            Side::Rewrite => report.rewrite = Some(side_report),
        }
        if !ok {
            let (status, what) = match side {
                Side::Original => (VerifyStatus::Error, "the original does not build"),
                Side::Rewrite => (VerifyStatus::Fail, "the rewrite does not build"),
            };
            return Ok(finish(report, logs, vec![(status, what.to_owned())]));
        }
        images.push((*side, tag));
    }

    let mut measured = Vec::new();
    for (side, tag) in &images {
        progress(Event::Measure(*side));
        measured.push(measure(engine.as_ref(), tag)?);
    }
    let mut problems = Vec::new();
    let mut expectations = Expectations::for_fixes(&outcome.applied);
    expectations.add_side_files(&report.side_files);
    let comparison = compare::compare(&measured[0], &measured[1], &expectations);
    if comparison.unexpected() > 0 {
        problems.push((
            VerifyStatus::Fail,
            format!(
                "{} unexpected difference(s) between the images",
                comparison.unexpected()
            ),
        ));
    }
    report.comparison = Some(comparison);

    if let Some(smoke) = &req.smoke {
        let argv = smoke.argv();
        let mut results = Vec::new();
        for (side, tag) in &images {
            progress(Event::Smoke(*side));
            results.push(engine.run(tag, &argv)?);
        }
        let rewrite = results.pop().expect("two smoke results");
        let original = results.pop().expect("two smoke results");
        let cmp = SmokeComparison::new(original, rewrite, req.expect.as_deref());
        if !cmp.original_ok {
            problems.push((
                VerifyStatus::Error,
                "the smoke command fails on the original (non-zero exit or expected text missing)"
                    .to_owned(),
            ));
        } else if !cmp.rewrite_ok {
            problems.push((
                VerifyStatus::Fail,
                "the rewrite's smoke result differs from the original's".to_owned(),
            ));
        }
        report.smoke = Some(cmp);
    }

    if let (Some(touch), Some(file)) = (&req.touch, &touch_file) {
        let prefix = touch
            .comment
            .as_deref()
            .unwrap_or_else(|| files::comment_prefix(file));
        for (side, dockerfile) in &dockerfiles {
            // A scratch copy and a different edit per side: with one shared edit the second
            // build would reuse the first one's layers wherever the two Dockerfiles agree.
            let scratch = scratch_context(req.context, files_of(*side))?;
            let tag = engine::tag_for(req.dockerfile, &format!("{}-touched", side.name()));
            // Settle first: two builds of Dockerfiles that share a prefix can leave parallel
            // layer chains, and a cached build may follow the other side's chain and miss the
            // rest of its own. A cached build of the untouched copy makes this side's chain
            // the one its warm rebuild follows.
            let settle = build(
                engine.as_ref(),
                (*side, Phase::Settle),
                dockerfile,
                scratch.path(),
                &tag,
                logs.path(),
                progress,
            )?;
            let warm = if settle.ok {
                files::append_touch_line(&scratch.path().join(file), prefix, &files::run_token())
                    .map_err(|e| {
                        Failure::Engine(format!("cannot prepare a scratch context: {e}"))
                    })?;
                Some(build(
                    engine.as_ref(),
                    (*side, Phase::Warm),
                    dockerfile,
                    scratch.path(),
                    &tag,
                    logs.path(),
                    progress,
                )?)
            } else {
                None
            };
            if !warm.as_ref().is_some_and(|w| w.ok) {
                problems.push(match side {
                    Side::Original => (
                        VerifyStatus::Error,
                        "the original does not build after the touch".to_owned(),
                    ),
                    Side::Rewrite => (
                        VerifyStatus::Fail,
                        "the rewrite does not build after the touch".to_owned(),
                    ),
                });
            }
            let slot = match side {
                Side::Original => &mut report.original,
                Side::Rewrite => report.rewrite.as_mut().expect("the rewrite was built"),
            };
            slot.settle = Some(settle);
            slot.warm_rebuild = warm;
        }
    }

    let mut measured = measured.into_iter();
    for slot in [Some(&mut report.original), report.rewrite.as_mut()]
        .into_iter()
        .flatten()
    {
        let image = measured.next();
        slot.files = image.as_ref().map(ImageReport::file_count);
        if req.list_files {
            slot.file_list = image.as_ref().map(|i| i.files.clone());
        }
        slot.image = image;
    }
    Ok(finish(report, logs, problems))
}

fn empty_side() -> SideReport {
    SideReport {
        build: BuildReport {
            tag: String::new(),
            ok: false,
            seconds: 0.0,
            steps: StepCounts::default(),
            rerun: 0,
            log: None,
            log_path: PathBuf::new(),
        },
        image: None,
        files: None,
        file_list: None,
        settle: None,
        warm_rebuild: None,
    }
}

fn build(
    engine: &dyn Engine,
    (side, phase): (Side, Phase),
    dockerfile: &Path,
    context: &Path,
    tag: &str,
    log_dir: &Path,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<BuildReport, Failure> {
    progress(Event::Build { side, phase });
    let log = log_dir.join(format!("{}{}.log", side.name(), phase.log_suffix()));
    let spec = BuildSpec {
        dockerfile,
        context,
        tag,
        log: &log,
    };
    let built = engine.build(&spec, &mut |line| progress(Event::Step { side, line }))?;
    Ok(BuildReport::new(&built, tag, log))
}

/// Inspect, history and listing of one built image.
fn measure(engine: &dyn Engine, tag: &str) -> Result<ImageReport, Failure> {
    let measured = engine.measure(tag)?;
    Ok(ImageReport {
        tag: tag.to_owned(),
        bytes: measured.inspect.bytes,
        layers: parse::layers(&measured.inspect, &measured.rows),
        caches: caches::usage(&measured.files, &dfrewrite::cache_locations()),
        files: measured.files,
        config: measured.inspect.config,
    })
}

/// Sets the verdict from the worst problem, and keeps the logs unless everything passed.
fn finish(
    mut report: Report,
    logs: tempfile::TempDir,
    problems: Vec<(VerifyStatus, String)>,
) -> Report {
    let status = problems
        .iter()
        .map(|(s, _)| *s)
        .max()
        .unwrap_or(VerifyStatus::Pass);
    report.verdict = Verdict {
        status,
        exit_code: status as u8,
        reasons: problems.into_iter().map(|(_, r)| r).collect(),
    };
    if status != VerifyStatus::Pass {
        let dir = logs.keep();
        report.logs = Some(dir.display().to_string());
        let sides = [Some(&mut report.original), report.rewrite.as_mut()];
        for side in sides.into_iter().flatten() {
            for build in [Some(&mut side.build), side.warm_rebuild.as_mut()]
                .into_iter()
                .flatten()
            {
                if build.log_path.exists() {
                    build.log = Some(build.log_path.display().to_string());
                }
            }
        }
    }
    report
}

/// A scratch copy of the context, with `side_files` written into it.
fn scratch_context(context: &Path, side_files: &[NewFile]) -> Result<tempfile::TempDir, Failure> {
    let failed =
        |e: std::io::Error| Failure::Engine(format!("cannot prepare a scratch context: {e}"));
    let scratch = tempfile::Builder::new()
        .prefix("dfrewrite-verify-context-")
        .tempdir()
        .map_err(failed)?;
    files::copy_tree(context, scratch.path()).map_err(failed)?;
    for file in side_files {
        let path = scratch.path().join(&file.path);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(failed)?;
        }
        fs::write(&path, &file.content).map_err(failed)?;
    }
    Ok(scratch)
}

/// The rewrite, written under the original's name in a temporary directory outside the
/// context (removed when the handle is dropped), with the original's
/// `<Dockerfile>.dockerignore` beside it when there is one. Outside, because a file that
/// appears in the context for one run only would be copied by `COPY . .` into the images,
/// and BuildKit's incremental context upload was seen to keep such a file from an earlier
/// run in one image and not the other.
struct RewriteFile {
    /// Held for its removal on drop.
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl RewriteFile {
    fn path(&self) -> &Path {
        &self.path
    }
}

fn temp_dockerfile(dockerfile: &Path, text: &str) -> Result<RewriteFile, Failure> {
    let failed = |e: std::io::Error| Failure::Input(format!("cannot write the rewrite: {e}"));
    let name = dockerfile
        .file_name()
        .map_or_else(|| "Dockerfile".into(), |n| n.to_string_lossy().into_owned());
    let dir = tempfile::Builder::new()
        .prefix("dfrewrite-verify-rewrite-")
        .tempdir()
        .map_err(failed)?;
    let path = dir.path().join(&name);
    fs::write(&path, text).map_err(failed)?;
    let ignore = dockerfile.with_file_name(format!("{name}.dockerignore"));
    if ignore.is_file() {
        fs::copy(&ignore, dir.path().join(format!("{name}.dockerignore"))).map_err(failed)?;
    }
    Ok(RewriteFile { _dir: dir, path })
}

/// The touch file relative to the context: `file` may be relative to the context or a path
/// (relative to the working directory or absolute) that lies inside it.
fn resolve_touch(context: &Path, file: &Path) -> Result<PathBuf, Failure> {
    if file.is_relative() && context.join(file).is_file() {
        return Ok(file.to_path_buf());
    }
    let inside = fs::canonicalize(file).ok().and_then(|abs| {
        let root = fs::canonicalize(context).ok()?;
        abs.strip_prefix(root).ok().map(Path::to_path_buf)
    });
    match inside {
        Some(rel) if context.join(&rel).is_file() => Ok(rel),
        _ => Err(Failure::Input(format!(
            "--touch {}: no such file in the context {}",
            file.display(),
            context.display()
        ))),
    }
}

/// An engine output recorded from a real run, from tests/data/verify/ (unit tests only).
#[cfg(test)]
fn recorded(name: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/verify/");
    std::fs::read_to_string(format!("{path}{name}")).expect("recorded output exists")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touch_resolves_relative_to_the_context_or_to_a_path_inside_it() {
        let ctx = tempfile::tempdir().unwrap();
        fs::create_dir(ctx.path().join("src")).unwrap();
        fs::write(ctx.path().join("src/main.go"), "package main\n").unwrap();
        assert_eq!(
            resolve_touch(ctx.path(), Path::new("src/main.go")).unwrap(),
            Path::new("src/main.go")
        );
        assert_eq!(
            resolve_touch(ctx.path(), &ctx.path().join("src/main.go")).unwrap(),
            Path::new("src/main.go")
        );
        assert!(resolve_touch(ctx.path(), Path::new("src/missing.go")).is_err());
        let outside = tempfile::NamedTempFile::new().unwrap();
        assert!(resolve_touch(ctx.path(), outside.path()).is_err());
    }

    #[test]
    fn the_rewrite_file_lies_outside_the_context_under_the_same_name_and_goes_away() {
        let dir = tempfile::tempdir().unwrap();
        let original = dir.path().join("app.Dockerfile");
        fs::write(&original, "FROM scratch\n").unwrap();
        fs::write(dir.path().join("app.Dockerfile.dockerignore"), "*.log\n").unwrap();
        let file = temp_dockerfile(&original, "FROM scratch\nCOPY a b\n").unwrap();
        assert!(!file.path().starts_with(dir.path()));
        assert_eq!(file.path().file_name().unwrap(), "app.Dockerfile");
        assert_eq!(
            fs::read_to_string(file.path()).unwrap(),
            "FROM scratch\nCOPY a b\n"
        );
        let ignore = file.path().with_file_name("app.Dockerfile.dockerignore");
        assert_eq!(fs::read_to_string(ignore).unwrap(), "*.log\n");
        let path = file.path().to_path_buf();
        drop(file);
        assert!(!path.exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
