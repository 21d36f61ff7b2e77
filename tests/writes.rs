//! `--apply` never loses the user's work, and no input crashes the binary: signals at exact
//! moments of a write (through the `DFREWRITE_TEST_PAUSE` hook), concurrent edits,
//! permissions, owners, hard links, a closed stdout, and absurd nesting.
#![cfg(unix)]
// Tests that cannot run here say so on stderr (and fail under CI, which runs as root).
#![allow(clippy::print_stderr)]

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_dfrewrite");
/// `add-to-copy` rewrites this when `app.py` beside it is a plain file.
const BEFORE: &str = "FROM alpine\nADD app.py /app/\n";
const AFTER: &str = "FROM alpine\nCOPY app.py /app/\n";

const SIGHUP: i32 = 1;
const SIGINT: i32 = 2;
const SIGKILL: i32 = 9;
const SIGTERM: i32 = 15;

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("Dockerfile"), BEFORE).unwrap();
    fs::write(dir.path().join("app.py"), "print(1)\n").unwrap();
    dir
}

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("DFREWRITE_TEST_PAUSE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = command(dir, args).output().unwrap();
    (
        out.status.code().expect("exited normally"),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A run paused at `stage` of its write: `marker` exists while it waits.
struct Paused {
    child: Child,
    marker: PathBuf,
    _markers: tempfile::TempDir,
}

impl Paused {
    fn start(dir: &Path, args: &[&str], stage: &str) -> Self {
        let markers = tempfile::tempdir().unwrap();
        let marker = markers.path().join("paused");
        let child = command(dir, args)
            .env(
                "DFREWRITE_TEST_PAUSE",
                format!("{stage}:{}", marker.display()),
            )
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut paused = Self {
            child,
            marker,
            _markers: markers,
        };
        // A generous bound so a loaded machine does not fail the test; never hit normally.
        let deadline = Instant::now() + Duration::from_mins(2);
        while !paused.marker.exists() {
            if let Some(status) = paused.child.try_wait().unwrap() {
                panic!("finished before reaching {stage}: {status}");
            }
            assert!(Instant::now() < deadline, "never reached {stage}");
            std::thread::sleep(Duration::from_millis(5));
        }
        paused
    }

    fn signal(&self, signal: i32) {
        let ok = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{signal}");
    }

    fn resume(&self) {
        fs::remove_file(&self.marker).unwrap();
    }

    fn wait(self) -> ExitStatus {
        self.finish().status
    }

    fn finish(self) -> std::process::Output {
        self.child.wait_with_output().unwrap()
    }
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn temp_files(dir: &Path) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| {
            n.starts_with(".Dockerfile.dfrewrite-")
                && Path::new(n).extension().is_some_and(|e| e == "tmp")
        })
        .collect()
}

#[test]
fn interrupting_signals_remove_the_temp_file_and_keep_the_original() {
    for stage in ["temp-created", "temp-written"] {
        for signal in [SIGINT, SIGTERM, SIGHUP] {
            let dir = project();
            let paused = Paused::start(dir.path(), &["--apply", "Dockerfile"], stage);
            assert_eq!(
                temp_files(dir.path()).len(),
                1,
                "{stage}: the temp is there"
            );
            paused.signal(signal);
            let status = paused.wait();
            assert_eq!(status.signal(), Some(signal), "{stage}: dies by the signal");
            assert_eq!(
                names(dir.path()),
                ["Dockerfile", "app.py"],
                "{stage} {signal}"
            );
            assert_eq!(
                fs::read_to_string(dir.path().join("Dockerfile")).unwrap(),
                BEFORE
            );
        }
    }
}

#[test]
fn a_sigkill_leftover_is_removed_by_the_next_apply() {
    let dir = project();
    let paused = Paused::start(dir.path(), &["--apply", "Dockerfile"], "temp-written");
    paused.signal(SIGKILL);
    assert_eq!(paused.wait().signal(), Some(SIGKILL));
    assert_eq!(
        fs::read_to_string(dir.path().join("Dockerfile")).unwrap(),
        BEFORE
    );
    assert_eq!(temp_files(dir.path()).len(), 1, "SIGKILL cannot be caught");

    // --diff and --check never touch the directory.
    assert_eq!(run(dir.path(), &["--check", "Dockerfile"]).0, 1);
    assert_eq!(temp_files(dir.path()).len(), 1);

    let (code, _, stderr) = run(dir.path(), &["--apply", "Dockerfile"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(names(dir.path()), ["Dockerfile", "app.py"]);
    assert_eq!(
        fs::read_to_string(dir.path().join("Dockerfile")).unwrap(),
        AFTER
    );
}

#[test]
fn apply_with_nothing_to_change_still_removes_stale_temps() {
    let dir = project();
    fs::write(dir.path().join("Dockerfile"), AFTER).unwrap();
    let stale = dir.path().join(".Dockerfile.dfrewrite-AbC123.tmp");
    fs::write(&stale, "FROM alp").unwrap();
    // Not ours: a name we never give.
    let foreign = dir.path().join(".Dockerfile.tmpAbC123");
    fs::write(&foreign, "x").unwrap();
    assert_eq!(run(dir.path(), &["--apply", "Dockerfile"]).0, 0);
    assert!(!stale.exists());
    assert!(foreign.exists());
}

#[test]
fn a_signal_during_an_in_place_write_waits_for_it() {
    let dir = project();
    let df = dir.path().join("Dockerfile");
    let other = dir.path().join("Dockerfile.link");
    fs::hard_link(&df, &other).unwrap();
    let paused = Paused::start(dir.path(), &["--apply", "Dockerfile"], "in-place");
    paused.signal(SIGTERM);
    // Half the rewrite is on disk now; the handler must let the write finish.
    std::thread::sleep(Duration::from_millis(50));
    paused.resume();
    assert_eq!(paused.wait().signal(), Some(SIGTERM));
    assert_eq!(fs::read_to_string(&df).unwrap(), AFTER);
    assert_eq!(fs::read_to_string(&other).unwrap(), AFTER);
}

#[test]
fn a_concurrent_edit_is_kept_and_nothing_is_written() {
    // In place (an editor writing the same inode) and by rename (a new inode).
    for by_rename in [false, true] {
        let dir = project();
        let df = dir.path().join("Dockerfile");
        let edited = "FROM alpine\nADD app.py /srv/\n";
        let paused = Paused::start(dir.path(), &["--apply", "Dockerfile"], "temp-written");
        if by_rename {
            let saved = dir.path().join("saved~");
            fs::write(&saved, edited).unwrap();
            fs::rename(&saved, &df).unwrap();
        } else {
            fs::write(&df, edited).unwrap();
        }
        paused.resume();
        let out = paused.finish();
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "Dockerfile: error: changed while rewriting; nothing written\n"
        );
        assert_eq!(fs::read_to_string(&df).unwrap(), edited);
        assert_eq!(names(dir.path()), ["Dockerfile", "app.py"]);
    }
}

#[test]
fn a_file_replaced_by_the_same_text_is_still_rewritten() {
    // Only a content change counts as an edit; `git checkout` of the same text loses nothing.
    let dir = project();
    let df = dir.path().join("Dockerfile");
    let paused = Paused::start(dir.path(), &["--apply", "Dockerfile"], "temp-written");
    fs::write(&df, BEFORE).unwrap();
    paused.resume();
    assert_eq!(paused.wait().code(), Some(0));
    assert_eq!(fs::read_to_string(&df).unwrap(), AFTER);
}

#[test]
fn read_only_files_are_refused() {
    let dir = project();
    let df = dir.path().join("Dockerfile");
    fs::set_permissions(&df, fs::Permissions::from_mode(0o444)).unwrap();
    let (code, stdout, stderr) = run(dir.path(), &["--apply", "Dockerfile"]);
    assert_eq!(code, 2);
    assert_eq!(stdout, "");
    assert!(
        stderr.ends_with("Dockerfile: error: read-only file\n"),
        "{stderr}"
    );
    assert_eq!(fs::read_to_string(&df).unwrap(), BEFORE);
    assert_eq!(fs::metadata(&df).unwrap().mode() & 0o777, 0o444);
    assert_eq!(names(dir.path()), ["Dockerfile", "app.py"]);
    // Reviewing a read-only file is fine.
    assert_eq!(run(dir.path(), &["--diff", "Dockerfile"]).0, 1);
}

#[test]
fn hard_links_are_kept() {
    let dir = project();
    let df = dir.path().join("Dockerfile");
    let other = dir.path().join("elsewhere.Dockerfile");
    fs::hard_link(&df, &other).unwrap();
    let inode = fs::metadata(&df).unwrap().ino();
    let (code, _, stderr) = run(dir.path(), &["--apply", "Dockerfile"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(fs::read_to_string(&other).unwrap(), AFTER);
    let meta = fs::metadata(&df).unwrap();
    assert_eq!((meta.ino(), meta.nlink()), (inode, 2));
    assert_eq!(
        names(dir.path()),
        ["Dockerfile", "app.py", "elsewhere.Dockerfile"]
    );
}

/// CI runs as root with util-linux: there a test that cannot run is a failure.
fn skip(why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "cannot run under CI: {why}"
    );
    eprintln!("skipped: {why}");
}

fn is_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// `cmd` run as `nobody`, when this test runs as root and `setpriv` exists.
fn as_nobody(dir: &Path, args: &[&str]) -> Option<(i32, String)> {
    if !is_root() || Command::new("setpriv").arg("--version").output().is_err() {
        skip("needs root and setpriv to run as another user");
        return None;
    }
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN])
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    Some((
        out.status.code().unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    ))
}

/// A project any user may enter and write in.
fn open_project() -> tempfile::TempDir {
    let dir = project();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
    fs::set_permissions(dir.path().join("app.py"), fs::Permissions::from_mode(0o644)).unwrap();
    dir
}

#[test]
fn root_keeps_the_owner_and_group() {
    if !is_root() {
        skip("needs root to own files as another user");
        return;
    }
    let dir = project();
    let df = dir.path().join("Dockerfile");
    std::os::unix::fs::chown(&df, Some(65534), Some(65534)).unwrap();
    let (code, _, stderr) = run(dir.path(), &["--apply", "Dockerfile"]);
    assert_eq!(code, 0, "{stderr}");
    let meta = fs::metadata(&df).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
    assert_eq!(fs::read_to_string(&df).unwrap(), AFTER);
}

#[test]
fn another_users_writable_file_is_written_in_place_and_keeps_its_owner() {
    let dir = open_project();
    let df = dir.path().join("Dockerfile");
    fs::set_permissions(&df, fs::Permissions::from_mode(0o666)).unwrap();
    let Some((code, stderr)) = as_nobody(dir.path(), &["--apply", "Dockerfile"]) else {
        return;
    };
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(fs::read_to_string(&df).unwrap(), AFTER);
    assert_eq!(fs::metadata(&df).unwrap().uid(), 0, "still root's");
    assert_eq!(names(dir.path()), ["Dockerfile", "app.py"]);
}

#[test]
fn a_file_the_caller_cannot_write_is_refused() {
    let dir = open_project();
    let df = dir.path().join("Dockerfile");
    fs::set_permissions(&df, fs::Permissions::from_mode(0o644)).unwrap();
    // The directory is writable, so a rename would have replaced root's file.
    let Some((code, stderr)) = as_nobody(dir.path(), &["--apply", "Dockerfile"]) else {
        return;
    };
    assert_eq!(code, 2);
    assert!(
        stderr.ends_with("Dockerfile: error: read-only file\n"),
        "{stderr}"
    );
    assert_eq!(fs::read_to_string(&df).unwrap(), BEFORE);
    assert_eq!(fs::metadata(&df).unwrap().uid(), 0);
}

#[test]
fn a_writable_file_in_a_read_only_directory_is_written_in_place() {
    let dir = open_project();
    let df = dir.path().join("Dockerfile");
    fs::set_permissions(&df, fs::Permissions::from_mode(0o666)).unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let Some((code, stderr)) = as_nobody(dir.path(), &["--apply", "Dockerfile"]) else {
        return;
    };
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(fs::read_to_string(&df).unwrap(), AFTER);
}

/// Runs with stdout a pipe whose reading end is already closed.
fn run_into_closed_pipe(dir: &Path, args: &[&str]) -> (ExitStatus, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = command(dir, args).stdout(writer).output().unwrap();
    (out.status, String::from_utf8(out.stderr).unwrap())
}

#[test]
fn a_closed_stdout_ends_the_run_quietly() {
    let dir = project();
    // The diff was found (1) though nobody read it; no error is reported.
    let (status, stderr) = run_into_closed_pipe(dir.path(), &["--diff", "Dockerfile"]);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
    let (status, stderr) = run_into_closed_pipe(dir.path(), &["--list-passes"]);
    assert_eq!((status.code(), stderr.as_str()), (Some(0), ""));
    let (status, stderr) = run_into_closed_pipe(dir.path(), &["--check", "."]);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
}

#[test]
fn a_full_stdout_is_an_error() {
    let dir = project();
    let Ok(full) = fs::OpenOptions::new().write(true).open("/dev/full") else {
        skip("no /dev/full");
        return;
    };
    let out = command(dir.path(), &["--list-passes"])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: cannot write to standard output: No space left on device\n"
    );
}

#[test]
fn a_million_nested_substitutions_do_not_crash() {
    let dir = project();
    let depth = 1_000_000;
    for body in [
        format!("echo {}x{}", "$(".repeat(depth), ")".repeat(depth)),
        format!("echo {}", "$(".repeat(depth)),
        format!("apt-get update && echo \"{}\"", "$(".repeat(depth)),
    ] {
        let text = format!("FROM debian\nRUN {body}\n");
        let mut child = command(dir.path(), &["--unsafe", "-"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let feed = text.clone();
        let feeder = std::thread::spawn(move || {
            use std::io::Write;
            stdin.write_all(feed.as_bytes()).unwrap();
        });
        let out = child.wait_with_output().unwrap();
        feeder.join().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        // Too deep to read: left as it is.
        assert!(out.stdout == text.as_bytes(), "the RUN is left unfixed");
    }
}
