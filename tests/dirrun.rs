//! Directory runs: files rewritten on many threads give the output of a run on one thread,
//! byte for byte and in the same order; a context too large to walk is skipped with a note.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_dfrewrite");

fn run(dir: &Path, args: &[&str], panic_on: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .env_remove("CLICOLOR_FORCE")
        .env_remove("RAYON_NUM_THREADS")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    if let Some(suffix) = panic_on {
        cmd.env("DFREWRITE_TEST_PANIC", suffix);
    }
    cmd.output().expect("binary runs")
}

/// The same run on 1 thread and on 4 threads: stdout, stderr and exit status must match.
fn assert_same_as_serial(dir: &Path, args: &[&str], panic_on: Option<&str>) -> Output {
    let serial = run(dir, &[args, &["--threads", "1"]].concat(), panic_on);
    let parallel = run(dir, &[args, &["--threads", "4"]].concat(), panic_on);
    assert_eq!(
        String::from_utf8_lossy(&parallel.stderr),
        String::from_utf8_lossy(&serial.stderr),
        "stderr of {args:?}"
    );
    assert!(
        parallel.stdout == serial.stdout,
        "stdout of {args:?} differs between 4 threads and 1"
    );
    assert_eq!(parallel.status.code(), serial.status.code(), "{args:?}");
    serial
}

#[test]
fn parallel_output_is_the_serial_output() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // One context shared by three Dockerfiles (the .dockerignore is proposed once, then
    // "already proposed above"), one with its own context, a file that does not parse, one
    // that is not UTF-8, one whose rewrite panics, and clean ones.
    fs::create_dir_all(root.join("shared/.git")).unwrap();
    fs::write(root.join("shared/app.py"), "print()\n").unwrap();
    for (name, body) in [
        ("shared/Dockerfile", "FROM alpine\nADD app.py /app/\n"),
        ("shared/api.Dockerfile", "FROM alpine\nADD app.py /srv/\n"),
        ("shared/Dockerfile.dev", "FROM alpine\nCOPY app.py /app/\n"),
        (
            "solo/Dockerfile",
            "FROM debian\nRUN apt-get update\nRUN apt-get install -y curl\n",
        ),
        ("bad/Dockerfile", "FROM alpine\nRUN <<EOF\necho\n"),
        ("panics/Dockerfile", "FROM alpine\nRUN true\n"),
        ("z/Dockerfile", "FROM alpine\nRUN true\n"),
    ] {
        fs::create_dir_all(root.join(name).parent().unwrap()).unwrap();
        fs::write(root.join(name), body).unwrap();
    }
    fs::write(root.join("solo/Containerfile"), b"FROM a\nRUN \xff\n").unwrap();
    // a bad configuration file, reported once for the two Dockerfiles under it
    fs::create_dir_all(root.join("cfg/sub")).unwrap();
    fs::write(root.join("cfg/dfrewrite.toml"), "select = [\n").unwrap();
    for name in ["cfg/Dockerfile", "cfg/sub/Dockerfile"] {
        fs::write(root.join(name), "FROM alpine\nRUN true\n").unwrap();
    }

    for mode in ["--diff", "--check"] {
        for tier in [&[][..], &["--unsafe"][..]] {
            let args = [&[mode][..], tier, &["."][..]].concat();
            let out = assert_same_as_serial(root, &args, Some("panics/Dockerfile"));
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            // dockerignore is unsafe where Dockerfiles share a context
            assert_eq!(
                stderr.contains("already proposed above"),
                !tier.is_empty(),
                "{stderr}"
            );
            assert!(stderr.contains("internal error"), "{stderr}");
            assert_eq!(stderr.matches("dfrewrite.toml").count(), 1, "{stderr}");
        }
    }
}

#[test]
fn parallel_output_is_the_serial_output_on_the_corpus() {
    let Some(files) = common::corpus_files() else {
        return;
    };
    // Named one by one, the files still share their folder as context. A few hundred keep
    // the test quick in a debug build; the whole folder is the benchmark's (bench/dirrun.sh).
    let names: Vec<String> = files
        .iter()
        .step_by(16)
        .map(|p| p.display().to_string())
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    for mode in ["--diff", "--check"] {
        let out = assert_same_as_serial(here, &[&["--unsafe", mode][..], &names].concat(), None);
        assert_eq!(out.status.code(), Some(1), "the corpus has files to change");
    }
}

#[test]
fn a_context_too_deep_to_walk_is_skipped_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let deep: Vec<&str> = vec!["d"; 40];
    fs::create_dir_all(root.join(deep.join("/"))).unwrap();
    fs::create_dir_all(root.join(".git")).unwrap();
    fs::write(root.join("Dockerfile"), "FROM alpine\nCOPY app.py /app/\n").unwrap();
    fs::write(root.join("app.py"), "print()\n").unwrap();
    let out = assert_same_as_serial(root, &["--check", "."], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            ".: note: build context too large, skipped: d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/\
             d/d/d/d/d/d/d/d/d/d/d/d/d is more than 32 levels deep"
        ),
        "{stderr}"
    );
    // dockerignore held back: without the limit it proposes `.git`
    assert!(!stderr.contains("dockerignore"), "{stderr}");
    assert_eq!(stderr.matches("note:").count(), 1, "{stderr}");

    // the same context, shallow enough, is walked
    fs::remove_dir_all(root.join("d")).unwrap();
    let out = run(root, &["--check", "."], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("dockerignore"), "{stderr}");
    assert!(!stderr.contains("note:"), "{stderr}");
}

#[test]
fn threads_must_be_a_positive_number() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--threads", "0", "."], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn apply_writes_the_same_files_whatever_the_threads() {
    let mut results = Vec::new();
    for threads in ["1", "4"] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join(".git")).unwrap();
        fs::write(root.join("app.py"), "print()\n").unwrap();
        for name in [
            "Dockerfile",
            "api.Dockerfile",
            "b.Dockerfile",
            "c.Dockerfile",
        ] {
            fs::write(root.join(name), "FROM alpine\nADD app.py /app/\n").unwrap();
        }
        let out = run(
            root,
            &["--apply", "--unsafe", "--threads", threads, "."],
            None,
        );
        assert_eq!(out.status.code(), Some(0));
        let stderr = String::from_utf8(out.stderr).unwrap();
        // the first file in walk order creates it; the others see the context as the run
        // found it and are told it was proposed above
        let created: Vec<&str> = stderr
            .lines()
            .filter(|l| l.ends_with("(created .dockerignore)"))
            .collect();
        assert!(
            created.len() == 1 && created[0].starts_with("Dockerfile:1: dockerignore: "),
            "{stderr}"
        );
        assert_eq!(
            stderr.matches("already proposed above").count(),
            3,
            "{stderr}"
        );
        let mut files: Vec<(String, String)> = fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                (name, fs::read_to_string(&p).unwrap())
            })
            .collect();
        files.sort();
        assert!(files.iter().all(|(_, text)| !text.contains("ADD")));
        results.push((stderr, files));
    }
    assert_eq!(results[0], results[1]);
}
