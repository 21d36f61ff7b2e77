//! Container engines: what verify asks of one, and the buildah and podman implementations,
//! which shell out to the tools (shared/docs/images.md, recipe A). Docker is in `docker.rs`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use super::exec::{self, ExecError};
use super::model::{FileEntry, SmokeResult, StepCounts};
use super::parse::{self, HistoryRow, Inspect};
use super::{Failure, docker, files};

/// The machine's extra CA certificates, bind-mounted read-only into builds so HTTPS inside
/// RUN works (images.md §5). The mounted files are not committed.
const EXTRA_CAS: &str = "/usr/local/share/ca-certificates";

/// buildah's message when a concurrent `rmi` removed a layer its cache check was reading.
const STORE_RACE: &str = "getting top layer info: layer not known";

/// What to install when no engine works.
pub(crate) const INSTALL_HINT: &str = "apt-get install buildah podman";

/// Which engine the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum EngineChoice {
    /// The first of docker buildx, podman and buildah that works.
    Auto,
    Docker,
    Podman,
    Buildah,
}

/// One build to run.
pub(crate) struct BuildSpec<'a> {
    pub(crate) dockerfile: &'a Path,
    pub(crate) context: &'a Path,
    pub(crate) tag: &'a str,
    pub(crate) log: &'a Path,
}

/// How a build went.
#[derive(Debug, Clone)]
pub(crate) struct Built {
    pub(crate) ok: bool,
    pub(crate) seconds: f64,
    /// Steps run and served from the layer cache, as read from the output.
    pub(crate) steps: StepCounts,
}

/// Everything read from one built image.
#[derive(Debug, Clone)]
pub(crate) struct Measured {
    pub(crate) inspect: Inspect,
    /// Per-step sizes, newest first.
    pub(crate) rows: Vec<HistoryRow>,
    /// The image's final filesystem.
    pub(crate) files: Vec<FileEntry>,
}

/// What verify needs from a container engine.
pub(crate) trait Engine {
    fn name(&self) -> &'static str;
    /// Builds `spec.dockerfile` against `spec.context`, tagging the image `spec.tag`; every
    /// output line goes to `spec.log`, and each step's title line, once, to `on_step`.
    fn build(&self, spec: &BuildSpec<'_>, on_step: &mut dyn FnMut(&str)) -> Result<Built, Failure>;
    /// Size, config, layers and final filesystem of a built image.
    fn measure(&self, tag: &str) -> Result<Measured, Failure>;
    /// Runs `argv` in a new container of the image.
    fn run(&self, tag: &str, argv: &[String]) -> Result<SmokeResult, Failure>;
}

/// Picks the engine: the requested one if it works, or under `auto` the first that does.
/// The error names what was tried and what to install.
pub(crate) fn detect(
    choice: EngineChoice,
    stop: &'static AtomicBool,
) -> Result<Box<dyn Engine>, Failure> {
    let candidates: &[EngineChoice] = match choice {
        EngineChoice::Auto => &[
            EngineChoice::Docker,
            EngineChoice::Podman,
            EngineChoice::Buildah,
        ],
        _ => std::slice::from_ref(&choice),
    };
    let mut reasons = Vec::new();
    for &candidate in candidates {
        match probe(candidate, stop) {
            Ok(engine) => return Ok(engine),
            Err(Failure::Interrupted) => return Err(Failure::Interrupted),
            Err(Failure::Engine(reason) | Failure::NoEngine(reason)) => reasons.push(reason),
            Err(other) => return Err(other),
        }
    }
    Err(Failure::NoEngine(format!(
        "no container engine works: {}; install one with `{INSTALL_HINT}`, or Docker with \
         BuildKit (`apt-get install docker.io`)",
        reasons.join("; ")
    )))
}

fn probe(choice: EngineChoice, stop: &'static AtomicBool) -> Result<Box<dyn Engine>, Failure> {
    let works = |program: &str, args: &[&str]| -> Result<(), String> {
        match exec::capture(Command::new(program).args(args), stop) {
            Ok(out) if out.status.success() => Ok(()),
            Ok(out) => Err(format!(
                "`{program} {}` failed: {}",
                args.join(" "),
                first_line(&out.stderr)
            )),
            Err(ExecError::Interrupted) => Err(String::new()),
            Err(e) => Err(e.to_string()),
        }
    };
    let interrupted = || stop.load(std::sync::atomic::Ordering::SeqCst);
    let fail = |reason: String| {
        if interrupted() {
            Failure::Interrupted
        } else {
            Failure::NoEngine(reason)
        }
    };
    match choice {
        EngineChoice::Auto => unreachable!("auto is expanded by detect"),
        EngineChoice::Docker => docker::probe(stop),
        EngineChoice::Podman => {
            works("podman", &["version"]).map_err(fail)?;
            // Smoke commands need `podman run`, which fails on some hosts (rlimits) even where
            // `podman build` works; running the host's own root needs no image.
            works("podman", &["run", "--rm", "--rootfs", "/", "true"]).map_err(fail)?;
            Ok(Box::new(Containers {
                tool: Tool::Podman,
                stop,
            }))
        }
        EngineChoice::Buildah => {
            works("buildah", &["version"]).map_err(fail)?;
            // buildah has no command that prints an image's size; podman reads the same store.
            works("podman", &["version"])
                .map_err(|e| fail(format!("{e} (podman reads image sizes for buildah)")))?;
            Ok(Box::new(Containers {
                tool: Tool::Buildah,
                stop,
            }))
        }
    }
}

pub(crate) fn first_line(text: &str) -> &str {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    Buildah,
    Podman,
}

/// buildah or podman over their default store, with chroot isolation (the OCI runtime fails on
/// these hosts: "cgroups in hybrid mode not supported"). Both read sizes with podman.
struct Containers {
    tool: Tool,
    stop: &'static AtomicBool,
}

impl Containers {
    fn program(&self) -> &'static str {
        match self.tool {
            Tool::Buildah => "buildah",
            Tool::Podman => "podman",
        }
    }

    fn command(program: &str) -> Command {
        let mut cmd = Command::new(program);
        // `buildah from` runs ONBUILD triggers, so chroot isolation is needed beyond `build`.
        cmd.env("BUILDAH_ISOLATION", "chroot");
        cmd
    }

    /// Runs a short command and returns its stdout, or an engine failure quoting stderr.
    fn output(&self, program: &str, args: &[&str]) -> Result<String, Failure> {
        let what = format!("{program} {}", args.join(" "));
        exec::capture(Self::command(program).args(args), self.stop)
            .map_err(|e| exec_failure(&what, e))?
            .ok(&what)
            .map_err(Failure::Engine)
    }

    /// A working container of `tag` (buildah), removed when dropped.
    fn container(&self, tag: &str) -> Result<WorkingContainer, Failure> {
        let out = self.output("buildah", &["from", "--pull-never", "--quiet", tag])?;
        let name = out.lines().last().unwrap_or("").trim().to_owned();
        if name.is_empty() {
            return Err(Failure::Engine(format!(
                "buildah from {tag} printed no container name"
            )));
        }
        Ok(WorkingContainer { name })
    }
}

/// Removes its buildah container on drop, also after an error or an interruption.
struct WorkingContainer {
    name: String,
}

impl Drop for WorkingContainer {
    fn drop(&mut self) {
        // Not through `output`: this must run even when the stop flag is already set.
        let _ = Containers::command("buildah")
            .args(["rm", &self.name])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

fn exec_failure(what: &str, e: ExecError) -> Failure {
    match e {
        ExecError::Interrupted => Failure::Interrupted,
        ExecError::NotFound(program) => Failure::NoEngine(format!(
            "`{program}` is not installed; install it with `{INSTALL_HINT}`"
        )),
        ExecError::Io(e) => Failure::Engine(format!("{what}: {e}")),
    }
}

impl Engine for Containers {
    fn name(&self) -> &'static str {
        self.program()
    }

    fn build(&self, spec: &BuildSpec<'_>, on_step: &mut dyn FnMut(&str)) -> Result<Built, Failure> {
        let mut cmd = Self::command(self.program());
        cmd.args(["build", "--isolation", "chroot", "--layers"])
            // Without it a failed or interrupted step leaves its working container behind.
            .arg("--force-rm")
            // The default OCI format silently drops HEALTHCHECK, SHELL and ONBUILD.
            .args(["--format", "docker", "--pull=never"]);
        if Path::new(EXTRA_CAS).is_dir() {
            cmd.arg("-v").arg(format!("{EXTRA_CAS}:{EXTRA_CAS}:ro"));
        }
        cmd.arg("-f")
            .arg(spec.dockerfile)
            .args(["-t", spec.tag])
            .arg(spec.context);
        let mut log = File::create(spec.log)
            .map_err(|e| Failure::Engine(format!("cannot write {}: {e}", spec.log.display())))?;
        let mut attempt = 0;
        loop {
            let started = Instant::now();
            let mut on_line = |line: &str| {
                if parse::step_instruction(line).is_some() {
                    on_step(line);
                }
            };
            let (status, output) = exec::stream(&mut cmd, &mut log, self.stop, &mut on_line)
                .map_err(|e| exec_failure("build", e))?;
            attempt += 1;
            // buildah's cache lookup fails this way when another process removes an image
            // from the shared store at the same moment; the build itself is fine.
            if !status.success() && output.contains(STORE_RACE) && attempt < 2 {
                continue;
            }
            return Ok(Built {
                ok: status.success(),
                seconds: started.elapsed().as_secs_f64(),
                steps: parse::step_counts(&output),
            });
        }
    }

    fn measure(&self, tag: &str) -> Result<Measured, Failure> {
        let json = self.output("podman", &["image", "inspect", tag])?;
        let inspect = parse::inspect(&json).map_err(Failure::Engine)?;
        let json = self.output("podman", &["history", "--format", "json", tag])?;
        let rows = parse::history(&json).map_err(Failure::Engine)?;
        Ok(Measured {
            inspect,
            rows,
            files: self.files(tag)?,
        })
    }

    fn run(&self, tag: &str, argv: &[String]) -> Result<SmokeResult, Failure> {
        let ctr;
        let mut cmd = Self::command(self.program());
        match self.tool {
            Tool::Buildah => {
                ctr = self.container(tag)?;
                cmd.args(["run", "--isolation", "chroot", &ctr.name, "--"]);
            }
            // The entrypoint is cleared so both engines run exactly `argv`, as `buildah run`
            // does.
            Tool::Podman => {
                cmd.args(["run", "--rm", "--entrypoint=", tag]);
            }
        }
        cmd.args(argv);
        let out = exec::capture(&mut cmd, self.stop).map_err(|e| exec_failure("smoke", e))?;
        Ok(SmokeResult {
            exit_code: out.status.code(),
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }
}

impl Containers {
    /// The final filesystem of a buildah image, from a mount of it.
    fn files(&self, tag: &str) -> Result<Vec<FileEntry>, Failure> {
        let listing = |root: &str| {
            files::list(Path::new(root))
                .map_err(|e| Failure::Engine(format!("listing {tag} mounted at {root}: {e}")))
        };
        match self.tool {
            Tool::Buildah => {
                let ctr = self.container(tag)?;
                let root = self.output("buildah", &["mount", &ctr.name])?;
                let listed = listing(root.trim());
                let _ = self.output("buildah", &["umount", &ctr.name]);
                listed
            }
            Tool::Podman => {
                let root = self.output("podman", &["image", "mount", tag])?;
                let listed = listing(root.trim());
                let _ = self.output("podman", &["image", "unmount", tag]);
                listed
            }
        }
    }
}

/// The image tag verify uses for one side of one Dockerfile: stable across runs (so the layer
/// cache of an earlier run is reused and images do not pile up) and distinct per Dockerfile.
pub(crate) fn tag_for(dockerfile: &Path, side: &str) -> String {
    let absolute = std::path::absolute(dockerfile).unwrap_or_else(|_| PathBuf::from(dockerfile));
    // FNV-1a: a short, stable name; collisions only cost a shared tag.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in absolute.as_os_str().as_encoded_bytes() {
        hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("localhost/dfrewrite-verify:{hash:016x}-{side}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_stable_per_file_and_side() {
        let a = tag_for(Path::new("/x/Dockerfile"), "original");
        assert_eq!(a, tag_for(Path::new("/x/Dockerfile"), "original"));
        assert_ne!(a, tag_for(Path::new("/y/Dockerfile"), "original"));
        assert_ne!(a, tag_for(Path::new("/x/Dockerfile"), "rewrite"));
        assert!(a.starts_with("localhost/dfrewrite-verify:") && a.ends_with("-original"));
    }
}
