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
    let works = Command::new(&candidate)
        .args(["-c", "import dockerfile"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if works {
        return Some(candidate);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "BuildKit oracle unavailable: {} cannot import `dockerfile` (run .ci/run to set up .venv)",
        candidate.display()
    );
    eprintln!("skipping: BuildKit oracle not installed");
    None
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
    let out = Command::new(env!("CARGO_BIN_EXE_dfrewrite"))
        .args(args)
        .current_dir(dir)
        .env_remove("CLICOLOR_FORCE")
        .env("NO_COLOR", "1")
        .output()
        .expect("binary runs");
    Output {
        code: out.status.code().expect("exited normally"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}
