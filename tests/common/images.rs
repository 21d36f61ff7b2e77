//! Set-up shared by the real-image tests (tests/verify.rs, tests/verify_docker.rs): tiny
//! `FROM scratch` contexts whose only program is a static busybox, the check that the engines
//! are there, and clean-up. Included with `#[path]` by those two files only.
#![allow(dead_code, unreachable_pub, clippy::print_stderr)]

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::RwLock;

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_dfrewrite");
pub const BUSYBOX: &str = "/bin/busybox";

/// `ADD hello.txt` becomes `COPY hello.txt` (add-to-copy, safe with a readable context).
pub const ADD_CASE: &str = "\
FROM scratch
COPY bin/ /bin/
ADD hello.txt /hello.txt
RUN mkdir -p /srv && echo built > /srv/built.txt
USER 1000
CMD [\"/bin/sh\", \"-c\", \"cat /hello.txt\"]
";

/// Whether `program ARGS…` runs and succeeds.
pub fn works(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether buildah, podman, busybox-static and the `other` tools are all there; under `CI` a
/// missing one fails the test (`hint` says how CI installs them), elsewhere it skips.
pub fn ready(other: &[(&str, bool)], hint: &str) -> bool {
    let missing: Vec<&str> = other
        .iter()
        .copied()
        .chain([
            ("buildah", works("buildah", &["version"])),
            ("podman", works("podman", &["version"])),
            ("busybox-static", Path::new(BUSYBOX).is_file()),
        ])
        .filter(|(_, ok)| !ok)
        .map(|(name, _)| name)
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but {} missing ({hint})",
        missing.join(", ")
    );
    eprintln!("skipping: {} not available", missing.join(", "));
    false
}

/// A build context: static busybox as /bin/busybox and /bin/sh (busybox picks the applet from
/// argv[0]), `hello.txt` (see [`hello`]), the Dockerfile and the `extra` files.
pub fn busybox_context(dockerfile: &str, extra: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    fs::create_dir(&bin).unwrap();
    fs::copy(BUSYBOX, bin.join("busybox")).unwrap();
    fs::copy(BUSYBOX, bin.join("sh")).unwrap();
    fs::write(dir.path().join("hello.txt"), hello(dir.path())).unwrap();
    fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    for (name, text) in extra {
        fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

/// `hello.txt`: "hello" and a token unique to this context, so that no earlier run's layer
/// cache serves its steps and the cached/re-run counts are the same on every run.
pub fn hello(dir: &Path) -> String {
    format!("hello {}\n", dir.file_name().unwrap().to_string_lossy())
}

/// The names in `dir`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// What one `dfrewrite verify` printed, its exit code and its JSON report. Dropping it removes
/// the images and the kept log directory the run left behind, holding `store` for writing when
/// given (removing images while a build runs breaks buildah's cache lookup).
pub struct Run {
    pub engine: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub report: Option<Value>,
    pub store: Option<&'static RwLock<()>>,
}

/// Runs `dfrewrite verify --engine ENGINE ARGS… --json OUT Dockerfile` in `dir` with `env`
/// added; OUT is a file beside `dir`, read and removed.
pub fn verify(dir: &Path, engine: &str, args: &[&str], env: &[(&str, &Path)]) -> Run {
    let json = dir.with_extension(format!("{engine}.json"));
    let out = Command::new(BIN)
        .args(["verify", "--engine", engine])
        .args(args)
        .arg("--json")
        .arg(&json)
        .arg("Dockerfile")
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .output()
        .expect("binary runs");
    let report = fs::read_to_string(&json)
        .ok()
        .map(|text| serde_json::from_str(&text).expect("--json writes JSON"));
    let _ = fs::remove_file(&json);
    Run {
        engine: engine.to_owned(),
        code: out.status.code().expect("exited"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
        report,
        store: None,
    }
}

impl Run {
    pub fn report(&self) -> &Value {
        self.report.as_ref().unwrap_or_else(|| {
            panic!(
                "{}: no JSON report; exit {}\nstdout:\n{}\nstderr:\n{}",
                self.engine, self.code, self.stdout, self.stderr
            )
        })
    }

    /// Fails unless the run exited with `code`, showing the kept build logs, which say why a
    /// build failed.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert!(
            self.code == code,
            "{}: exit {} instead of {code}\nstdout:\n{}\nstderr:\n{}\n{}",
            self.engine,
            self.code,
            self.stdout,
            self.stderr,
            kept_logs(self.report.as_ref())
        );
        self
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let Some(report) = &self.report else { return };
        let _cleaning = self.store.map(|store| {
            store
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        });
        let program = if self.engine == "docker" {
            "docker"
        } else {
            "buildah"
        };
        remove_images_and_logs(report, program);
    }
}

/// The build logs a verification kept (named by the report's `logs`), each after its path.
pub fn kept_logs(report: Option<&Value>) -> String {
    let mut logs = String::new();
    let dir = report.and_then(|r| r["logs"].as_str());
    for entry in dir.and_then(|d| fs::read_dir(d).ok()).into_iter().flatten() {
        let path = entry.unwrap().path();
        let text = fs::read_to_string(&path).unwrap_or_default();
        let _ = write!(logs, "--- {}\n{text}", path.display());
    }
    logs
}

/// Removes the images a verification's report names (with `program rmi -f`) and its kept log
/// directory.
pub fn remove_images_and_logs(report: &Value, program: &str) {
    for side in ["original", "rewrite"] {
        for build in ["build", "warm_rebuild"] {
            if let Some(tag) = report[side][build]["tag"].as_str() {
                let _ = Command::new(program)
                    .args(["rmi", "-f", tag])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
    if let Some(logs) = report["logs"].as_str() {
        let _ = fs::remove_dir_all(logs);
    }
}

/// Whether a process runs with exactly this argv.
pub fn running(argv: &[&str]) -> bool {
    let wanted: Vec<u8> = argv
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .any(|entry| fs::read(entry.path().join("cmdline")).is_ok_and(|cmdline| cmdline == wanted))
}
