//! The Docker engine: BuildKit builds through the `docker` client (`docker buildx build --load`,
//! or `DOCKER_BUILDKIT=1 docker build` with a client older than 23 that still has BuildKit
//! built in), sizes from `docker image inspect` and `docker history`, the final filesystem from
//! the `docker save` stream, smoke commands with `docker run`. The client finds the daemon
//! itself (`DOCKER_HOST`, the current context), so a remote daemon or Docker Desktop works: no
//! mount and no root on this side.

use std::fs::File;
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use serde::Deserialize;

use super::buildkit_log::{self, FirstTitles};
use super::engine::{BuildSpec, Built, Engine, Measured, first_line};
use super::exec::{self, ExecError};
use super::model::SmokeResult;
use super::parse::{self, HistoryRow};
use super::{Failure, files, saved};

/// How the client runs a BuildKit build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Builder {
    /// `docker buildx build --load`.
    Buildx,
    /// `DOCKER_BUILDKIT=1 docker build`: clients before 23 carry BuildKit themselves.
    Classic,
}

pub(crate) struct Docker {
    builder: Builder,
    stop: &'static AtomicBool,
}

/// Docker when a daemon answers and the client can build with BuildKit; otherwise why not.
pub(crate) fn probe(stop: &'static AtomicBool) -> Result<Box<dyn Engine>, Failure> {
    let run = |args: &[&str]| {
        exec::capture(Command::new("docker").args(args), stop).map_err(|e| match e {
            ExecError::Interrupted => Failure::Interrupted,
            other => Failure::NoEngine(format!("docker: {other}")),
        })
    };
    let info = run(&["info", "--format", "{{.ServerVersion}}"])?;
    if !info.status.success() || info.stdout.trim().is_empty() {
        return Err(Failure::NoEngine(format!(
            "no Docker daemon answers (`docker info`: {})",
            first_line(&info.stderr)
        )));
    }
    if run(&["buildx", "version"])?.status.success() {
        return Ok(Box::new(Docker {
            builder: Builder::Buildx,
            stop,
        }));
    }
    let client = run(&["version", "--format", "{{.Client.Version}}"])?;
    let version = client.stdout.trim();
    let major = version
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok());
    match major {
        Some(major) if major < 23 => Ok(Box::new(Docker {
            builder: Builder::Classic,
            stop,
        })),
        _ => Err(Failure::NoEngine(format!(
            "the docker client ({version}) has no buildx plugin, which BuildKit builds need \
             (Docker's docker-buildx-plugin, or Debian's docker-buildx)"
        ))),
    }
}

/// One line of `docker history --human=false --format '{{json .}}'`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawRow {
    #[serde(default)]
    created_by: String,
    size: String,
}

/// Parses `docker history --no-trunc --human=false --format '{{json .}}'`: one JSON object
/// per line, newest first, sizes as decimal strings.
pub(crate) fn history(lines: &str) -> Result<Vec<HistoryRow>, String> {
    lines
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let raw: RawRow =
                serde_json::from_str(line).map_err(|e| format!("docker history output: {e}"))?;
            let size = raw
                .size
                .trim()
                .parse()
                .map_err(|e| format!("docker history size {:?}: {e}", raw.size))?;
            Ok(HistoryRow {
                size,
                created_by: raw.created_by,
            })
        })
        .collect()
}

impl Docker {
    fn command() -> Command {
        let mut cmd = Command::new("docker");
        cmd.env("DOCKER_BUILDKIT", "1");
        cmd
    }

    fn output(&self, args: &[&str]) -> Result<String, Failure> {
        let what = format!("docker {}", args.join(" "));
        exec::capture(Self::command().args(args), self.stop)
            .map_err(|e| failure(&what, e))?
            .ok(&what)
            .map_err(Failure::Engine)
    }
}

fn failure(what: &str, e: ExecError) -> Failure {
    match e {
        ExecError::Interrupted => Failure::Interrupted,
        other => Failure::Engine(format!("{what}: {other}")),
    }
}

/// Removes its container on drop, also after an error or an interruption.
struct Container {
    name: String,
}

impl Drop for Container {
    fn drop(&mut self) {
        // Not through `output`: this must run even when the stop flag is already set. The
        // container is usually gone already (`run --rm`).
        let _ = Command::new("docker")
            .args(["rm", "-f", &self.name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Engine for Docker {
    fn name(&self) -> &'static str {
        "docker"
    }

    fn build(&self, spec: &BuildSpec<'_>, on_step: &mut dyn FnMut(&str)) -> Result<Built, Failure> {
        let mut cmd = Self::command();
        match self.builder {
            Builder::Buildx => cmd.args(["buildx", "build", "--load"]),
            Builder::Classic => cmd.arg("build"),
        };
        // Host networking, as buildah's chroot isolation has; daemons started without a
        // bridge (`--bridge=none`) cannot build on the default network at all.
        cmd.args(["--progress=plain", "--network", "host"])
            .arg("-f")
            .arg(spec.dockerfile)
            .args(["-t", spec.tag])
            .arg(spec.context);
        let mut log = File::create(spec.log)
            .map_err(|e| Failure::Engine(format!("cannot write {}: {e}", spec.log.display())))?;
        let mut titles = FirstTitles::default();
        let mut on_line = |line: &str| {
            if titles.is_new(line) {
                on_step(line);
            }
        };
        let started = Instant::now();
        let (status, output) = exec::stream(&mut cmd, &mut log, self.stop, &mut on_line)
            .map_err(|e| failure("docker build", e))?;
        Ok(Built {
            ok: status.success(),
            seconds: started.elapsed().as_secs_f64(),
            steps: buildkit_log::step_counts(&output),
        })
    }

    fn measure(&self, tag: &str) -> Result<Measured, Failure> {
        let json = self.output(&["image", "inspect", tag])?;
        let mut inspect = parse::inspect(&json).map_err(Failure::Engine)?;
        let lines = self.output(&[
            "history",
            "--no-trunc",
            "--human=false",
            "--format",
            "{{json .}}",
            tag,
        ])?;
        let rows = history(&lines).map_err(Failure::Engine)?;
        let what = format!("docker save {tag}");
        let (status, image, stderr) =
            exec::read_stdout(Self::command().args(["save", tag]), self.stop, |out| {
                saved::read(out)
            })
            .map_err(|e| failure(&what, e))?;
        if !status.success() {
            return Err(Failure::Engine(format!(
                "{what} failed ({status}): {}",
                stderr.trim()
            )));
        }
        let image = image.map_err(|e| Failure::Engine(format!("{what}: {e}")))?;
        // `docker image inspect` has no history; the config in the saved image does, with
        // the marks of the steps that made no layer.
        inspect.history = image.history;
        Ok(Measured {
            inspect,
            rows,
            files: image.files,
        })
    }

    fn run(&self, tag: &str, argv: &[String]) -> Result<SmokeResult, Failure> {
        let container = Container {
            name: format!("dfrewrite-verify-{}", files::run_token()),
        };
        let mut cmd = Self::command();
        // The entrypoint is cleared so every engine runs exactly `argv`, as `buildah run` does.
        cmd.args(["run", "--rm", "--name", &container.name])
            .args(["--network", "host", "--entrypoint", "", tag])
            .args(argv);
        let out = exec::capture(&mut cmd, self.stop).map_err(|e| failure("docker run", e))?;
        drop(container);
        Ok(SmokeResult {
            exit_code: out.status.code(),
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::recorded as data;
    use super::*;

    #[test]
    fn history_reads_sizes_and_steps_newest_first() {
        let rows = history(&data("docker-history.jsonl")).unwrap();
        assert_eq!(rows.len(), 7);
        assert_eq!(rows[0].created_by, r#"CMD ["cat" "/count"]"#);
        assert_eq!(rows[6].size, 3_964_512);
        assert!(rows[6].created_by.starts_with("COPY bin/ /bin/"));
        assert!(history("{\"Size\": \"3MB\"}").is_err());
    }

    #[test]
    fn inspect_reads_dockers_nulls_as_empty() {
        let inspect = parse::inspect(&data("docker-inspect.json")).unwrap();
        assert_eq!(inspect.bytes, 3_964_560);
        assert_eq!(inspect.layer_count, 5);
        assert_eq!(inspect.config.working_dir, "/");
        assert!(inspect.config.labels.is_empty());
        assert!(inspect.history.is_empty());
    }
}
