//! Helpers shared by the integration tests: where the corpus and the oracle live.
#![allow(dead_code, unreachable_pub, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The 2000 real Dockerfiles, read by path from the shared folder beside the checkout.
/// `None` (skip) only outside CI; under CI a missing corpus fails the test.
pub fn corpus_files() -> Option<Vec<PathBuf>> {
    files_in(&shared_dir().join("corpus/real"), 1990)
}

/// The tricky cases in `shared/cases`.
pub fn case_files() -> Option<Vec<PathBuf>> {
    files_in(&shared_dir().join("cases"), 24)
}

pub fn shared_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("DFREWRITE_SHARED") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

fn files_in(dir: &Path, minimum: usize) -> Option<Vec<PathBuf>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is missing; corpus tests must not skip under CI",
            dir.display()
        );
        eprintln!("skipping: {} not found", dir.display());
        return None;
    };
    let files = dockerfiles(entries);
    assert!(
        files.len() >= minimum,
        "expected at least {minimum} files in {}, found {}",
        dir.display(),
        files.len()
    );
    Some(files)
}

/// The `*.Dockerfile` paths among `entries`, sorted.
pub fn dockerfiles(entries: std::fs::ReadDir) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "Dockerfile"))
        .collect();
    files.sort();
    files
}

/// Calls `f` with the text and parse of every file that is UTF-8 and parses; returns how
/// many did.
pub fn for_each_parsed(
    files: &[PathBuf],
    mut f: impl FnMut(&Path, &str, &dfrewrite::syntax::Dockerfile),
) -> usize {
    let mut parsed = 0;
    for path in files {
        let bytes = std::fs::read(path).unwrap();
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        let Ok(file) = dfrewrite::syntax::parse(text) else {
            continue;
        };
        f(path, text, &file);
        parsed += 1;
    }
    parsed
}

/// The Python with PyPI `dockerfile==3.4.0` (BuildKit's parser): `DFREWRITE_PYTHON`, or
/// the project's `.venv`. `None` (skip) only outside CI.
pub fn oracle_python() -> Option<PathBuf> {
    let candidate = std::env::var_os("DFREWRITE_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"),
        PathBuf::from,
    );
    let missing = format!(
        "BuildKit oracle unavailable: {} cannot import `dockerfile` (run .ci/run to set up .venv)",
        candidate.display()
    );
    first_working([candidate], &["-c", "import dockerfile"], &missing)
}

/// The first of `candidates` with which `CANDIDATE ARGS…` succeeds. When none does, a test
/// under `CI` fails saying `missing`; elsewhere it skips (`None`) and says why on stderr.
pub fn first_working(
    candidates: impl IntoIterator<Item = PathBuf>,
    args: &[&str],
    missing: &str,
) -> Option<PathBuf> {
    let found = candidates.into_iter().find(|candidate| {
        Command::new(candidate)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{missing}; tests must not skip under CI"
        );
        eprintln!("skipping: {missing}");
    }
    found
}

/// Runs a Python oracle script from tests/oracle on `stdin`, returning its stdout lines.
pub fn run_oracle(script: &str, stdin: &str) -> Option<Vec<String>> {
    use std::io::Write;
    let python = oracle_python()?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/oracle")
        .join(script);
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start oracle");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_owned();
    let writer = std::thread::spawn(move || input.write_all(data.as_bytes()));
    let out = child.wait_with_output().expect("oracle output");
    writer.join().expect("writer").expect("write oracle stdin");
    assert!(out.status.success(), "oracle failed");
    Some(
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .lines()
            .map(str::to_owned)
            .collect(),
    )
}

/// Asserts that BuildKit's own parser accepts every `(name, text)`; returns how many it
/// checked (`None` when the oracle is not installed and `CI` is not set).
pub fn assert_buildkit_accepts(outputs: &[(String, String)]) -> Option<usize> {
    use std::fmt::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let mut list = String::new();
    for (i, (name, output)) in outputs.iter().enumerate() {
        let p = dir.path().join(format!("{i}-{name}"));
        std::fs::write(&p, output).unwrap();
        writeln!(list, "{}", p.display()).unwrap();
    }
    let lines = run_oracle("buildkit.py", &list)?;
    assert_eq!(lines.len(), outputs.len());
    let rejected: Vec<&String> = lines
        .iter()
        .filter(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("oracle json");
            v.get("error").is_some()
        })
        .collect();
    assert!(
        rejected.is_empty(),
        "BuildKit rejects rewritten files: {rejected:?}"
    );
    eprintln!("BuildKit parses all {} rewritten outputs", lines.len());
    Some(lines.len())
}

/// What the binary printed and its exit code.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The real binary run in `dir` with `args`, colour off whatever the environment says.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    run_cmd(binary(dir, args).env("NO_COLOR", "1"), None)
}

/// The real binary, to run in `dir` with `args`, with the environment's colour variables
/// removed (a test sets the ones it is about).
pub fn binary(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dfrewrite"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("CLICOLOR_FORCE")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR");
    cmd
}

/// Runs `cmd` (the binary or any tool) to the end with `stdin` fed from a thread (`None`: an
/// empty stdin), capturing stdout and stderr. A program may stop reading early (a size cap),
/// so a broken pipe while feeding it is not an error.
pub fn output_of(cmd: &mut Command, stdin: Option<&[u8]>) -> std::process::Output {
    use std::io::Write as _;
    let mut child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let pipe = child.stdin.take();
    std::thread::scope(|scope| {
        let feeder = stdin.zip(pipe).map(|(bytes, mut pipe)| {
            scope.spawn(move || match pipe.write_all(bytes) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e),
                _ => Ok(()),
            })
        });
        let out = child.wait_with_output().expect("the program finishes");
        if let Some(feeder) = feeder {
            feeder.join().unwrap().expect("stdin written");
        }
        out
    })
}

/// [`output_of`] as text, with the exit code of a program that exited normally.
pub fn run_cmd(cmd: &mut Command, stdin: Option<&[u8]>) -> Output {
    let out = output_of(cmd, stdin);
    Output {
        code: out.status.code().expect("exited normally"),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}
