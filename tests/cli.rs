//! End-to-end tests of the `dfrewrite` binary: every mode, every exit code, and the file
//! handling promises (atomic writes that keep bytes, mode and symlinks; diffs that apply).

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

mod common;

/// A Dockerfile that `add-to-copy` rewrites when `app.py` in its context is a plain file.
const BEFORE: &str = "FROM alpine\nADD app.py /app/\n";
const AFTER: &str = "FROM alpine\nCOPY app.py /app/\n";
const DIFF: &str = "\
--- a/Dockerfile
+++ b/Dockerfile
@@ -1,2 +1,2 @@
 FROM alpine
-ADD app.py /app/
+COPY app.py /app/
";
/// Needs no change.
const CLEAN: &str = "FROM alpine\nCOPY app.py /app/\nRUN true\n";
const HEREDOC: &str = "FROM a\nRUN <<EOF\necho\n";
const LIMIT: usize = 16 * 1024 * 1024;

struct Output {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

impl Output {
    fn stdout(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }
}

fn run(dir: &Path, args: &[&str]) -> Output {
    run_stdin(dir, args, None)
}

// Owned bytes, as the tests build them (`Some(BEFORE.into())`).
#[allow(clippy::needless_pass_by_value)]
fn run_stdin(dir: &Path, args: &[&str], stdin: Option<Vec<u8>>) -> Output {
    let out = common::output_of(
        common::binary(dir, args).env("NO_COLOR", "1"),
        stdin.as_deref(),
    );
    Output {
        code: out.status.code().expect("exited normally"),
        stdout: out.stdout,
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

fn write(path: &Path, contents: impl AsRef<[u8]>) {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).unwrap();
    }
    fs::write(path, contents).unwrap();
}

/// A directory with `Dockerfile` = `dockerfile` and a plain `app.py` beside it.
fn project(dockerfile: impl AsRef<[u8]>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("Dockerfile"), dockerfile);
    write(&dir.path().join("app.py"), "print('hi')\n");
    dir
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap()
}

fn valid_pass_names() -> String {
    dfrewrite::passes()
        .iter()
        .map(|p| p.name)
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------- informational flags

#[test]
fn help_explains_modes_exit_codes_and_examples() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--help"]);
    assert_eq!(out.code, 0);
    let help = out.stdout();
    for needle in [
        "--diff     (the default)",
        "--apply",
        "--check",
        "0  nothing to change, or the changes were applied",
        "1  --diff or --check found something to change",
        "2  error",
        "dfrewrite - --stdin-filename Dockerfile",
    ] {
        assert!(help.contains(needle), "help lacks {needle:?}:\n{help}");
    }
}

#[test]
fn a_panic_in_one_file_is_reported_and_the_run_goes_on() {
    // DFREWRITE_TEST_PANIC is read by debug builds only: the rewrite of a matching file
    // panics, as a bug in a pass would.
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("a/Dockerfile"), BEFORE);
    write(&dir.path().join("a/app.py"), "print(1)\n");
    write(&dir.path().join("b/Dockerfile"), BEFORE);
    write(&dir.path().join("b/app.py"), "print(1)\n");
    let out = common::output_of(
        common::binary(dir.path(), &["--check", "."])
            .env("NO_COLOR", "1")
            .env("DFREWRITE_TEST_PANIC", "b/Dockerfile"),
        None,
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("b/Dockerfile: internal error: panicked at "))
        .unwrap_or_else(|| panic!("no internal error line in\n{stderr}"));
    assert!(line.ends_with("(please report)"), "{line}");
    assert!(
        !stderr.contains("thread '"),
        "the default panic message leaked:\n{stderr}"
    );
    // the other file was still processed
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("a/Dockerfile"),
        "{stderr}"
    );
    // in standard-input mode too: nothing on stdout, exit 2
    let out = run_stdin(
        dir.path(),
        &["-", "--stdin-filename", "b/Dockerfile"],
        Some(BEFORE.into()),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = common::output_of(
        common::binary(dir.path(), &["-", "--stdin-filename", "b/Dockerfile"])
            .env("DFREWRITE_TEST_PANIC", "b/Dockerfile"),
        Some(BEFORE.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

#[test]
fn list_passes_prints_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--list-passes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let table = out.stdout();
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("PASS"), "{header}");
    assert!(header.ends_with("  FIX        SUMMARY"), "{header}");
    let width = header.find("  FIX").unwrap();
    let add = dfrewrite::pass_by_name("add-to-copy").unwrap();
    let expected = format!(
        "{:<width$}  {:<9}  {}",
        "add-to-copy",
        format!("{:?}", add.fix).to_lowercase(),
        add.summary
    );
    assert!(lines.any(|l| l == expected), "no {expected:?} in\n{table}");
    assert_eq!(table.lines().count(), dfrewrite::passes().len() + 1);
}

#[test]
fn explain_prints_the_pass_documentation() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--explain", "add-to-copy"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = out.stdout();
    assert!(text.starts_with("# add-to-copy\n\nFix is "), "{text}");
    assert!(text.contains("\n## What it does\n"), "{text}");
    let doc = dfrewrite::pass_by_name("add-to-copy").unwrap().doc;
    let first = doc.lines().find(|l| !l.trim().is_empty()).unwrap().trim();
    assert!(text.contains(first));
}

#[test]
fn unknown_pass_names_exit_2_and_list_the_valid_ones() {
    let dir = project(BEFORE);
    for (args, flag) in [
        (&["--select", "nope", "Dockerfile"][..], "--select"),
        (
            &["--ignore", "add-to-copy,nope", "Dockerfile"][..],
            "--ignore",
        ),
        (&["--explain", "nope"][..], "--explain"),
    ] {
        let out = run(dir.path(), args);
        assert_eq!(out.code, 2, "{args:?}");
        assert!(out.stdout.is_empty());
        assert_eq!(
            out.stderr,
            format!(
                "error: unknown pass `nope` in {flag}; valid passes: {}\n",
                valid_pass_names()
            )
        );
    }
}

#[test]
fn conflicting_modes_are_a_usage_error() {
    let dir = project(BEFORE);
    let out = run(dir.path(), &["--diff", "--apply", "Dockerfile"]);
    assert_eq!(out.code, 2);
    assert!(out.stdout.is_empty());
    assert_eq!(read(&dir.path().join("Dockerfile")), BEFORE.as_bytes());
}

// ---------------------------------------------------------------- --diff

#[test]
fn diff_prints_a_patch_and_exits_1() {
    let dir = project(BEFORE);
    let out = run(dir.path(), &["--diff", "Dockerfile"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout(), DIFF);
    assert!(
        out.stderr.starts_with("Dockerfile:2: add-to-copy: "),
        "{}",
        out.stderr
    );
    assert_eq!(read(&dir.path().join("Dockerfile")), BEFORE.as_bytes());
}

#[test]
fn diff_is_the_default_mode() {
    let dir = project(BEFORE);
    let out = run(dir.path(), &["Dockerfile"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout(), DIFF);
}

#[test]
fn diff_of_a_clean_file_is_empty_and_exits_0() {
    let dir = project(CLEAN);
    let out = run(dir.path(), &["--diff", "Dockerfile"]);
    assert_eq!(
        (out.code, out.stdout(), out.stderr.as_str()),
        (0, String::new(), "")
    );
}

/// Writes three Dockerfiles that need the same fix: LF, CRLF, and no final newline.
fn patch_tree(root: &Path) {
    write(&root.join("Dockerfile"), BEFORE);
    write(&root.join("app.py"), "print()\n");
    write(
        &root.join("crlf/Dockerfile"),
        "# keep\r\nFROM alpine\r\nADD app.py /app/\r\nRUN true\r\n",
    );
    write(&root.join("crlf/app.py"), "print()\n");
    write(
        &root.join("nofinal/Dockerfile"),
        "FROM alpine\nADD app.py /app/",
    );
    write(&root.join("nofinal/app.py"), "print()\n");
    // a context without a .dockerignore: the diff creates one (only root-level entries, so the
    // outer contexts propose nothing)
    write(&root.join("svc/Dockerfile"), SVC_DOCKERFILE);
    write(&root.join("svc/app.py"), "print()\n");
    write(&root.join("svc/.env"), "SECRET=1\n");
    write(&root.join("svc/.venv/pyvenv.cfg"), "home = /usr/bin\n");
}

/// Copies one file out of a context holding a virtualenv and a `.env`.
const SVC_DOCKERFILE: &str = "FROM python:3.12-slim\nCOPY app.py /app/\n";
/// What `dockerignore` proposes for `svc/`.
const SVC_IGNORE: &str = "\
# Written by dfrewrite (dockerignore): kept out of the build context.
.venv
.env*
";

fn assert_patched(root: &Path) {
    assert_eq!(read(&root.join("Dockerfile")), AFTER.as_bytes());
    assert_eq!(
        read(&root.join("crlf/Dockerfile")),
        b"# keep\r\nFROM alpine\r\nCOPY app.py /app/\r\nRUN true\r\n"
    );
    assert_eq!(
        read(&root.join("nofinal/Dockerfile")),
        b"FROM alpine\nCOPY app.py /app/"
    );
    assert_eq!(
        String::from_utf8(read(&root.join("svc/.dockerignore"))).unwrap(),
        SVC_IGNORE
    );
    assert_eq!(
        read(&root.join("svc/Dockerfile")),
        SVC_DOCKERFILE.as_bytes()
    );
}

fn diff_of_patch_tree(root: &Path) -> Vec<u8> {
    let out = run(root, &["--diff", "."]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let text = out.stdout();
    assert!(
        text.contains("--- a/crlf/Dockerfile\n+++ b/crlf/Dockerfile\n"),
        "{text}"
    );
    assert!(
        text.contains("-ADD app.py /app/\r\n+COPY app.py /app/\r\n"),
        "{text}"
    );
    assert!(text.contains("\n\\ No newline at end of file\n"), "{text}");
    assert!(
        text.contains("--- /dev/null\n+++ b/svc/.dockerignore\n@@ -0,0 +1,3 @@\n+# Written"),
        "{text}"
    );
    assert_eq!(text.matches("/dev/null").count(), 1, "{text}");
    out.stdout
}

fn tool(name: &str, args: &[&str], dir: &Path, stdin: &[u8]) -> std::process::Output {
    common::output_of(Command::new(name).args(args).current_dir(dir), Some(stdin))
}

fn have(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

#[test]
fn diff_applies_with_git_apply() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    patch_tree(root);
    let diff = diff_of_patch_tree(root);
    let init = tool("git", &["init", "-q"], root, b"");
    assert!(init.status.success(), "{init:?}");
    let applied = tool("git", &["apply", "-"], root, &diff);
    assert!(applied.status.success(), "git apply: {applied:?}");
    assert_patched(root);
}

#[test]
fn diff_applies_with_patch_p1() {
    if !have("patch") && std::env::var_os("CI").is_none() {
        // Tests may tell the developer why they did nothing.
        #[allow(clippy::print_stderr)]
        {
            eprintln!("skipped: no `patch` binary");
        }
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    patch_tree(root);
    let diff = diff_of_patch_tree(root);
    let applied = tool("patch", &["-p1", "--batch"], root, &diff);
    assert!(applied.status.success(), "patch -p1: {applied:?}");
    assert_patched(root);
}

// ---------------------------------------------------------------- --check

#[test]
fn check_lists_files_that_would_change_and_exits_1() {
    let dir = project(BEFORE);
    let out = run(dir.path(), &["--check", "Dockerfile"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout(), "Would rewrite: Dockerfile\n");
    assert_eq!(read(&dir.path().join("Dockerfile")), BEFORE.as_bytes());
}

#[test]
fn check_of_a_clean_file_exits_0() {
    let dir = project(CLEAN);
    let out = run(dir.path(), &["--check", "Dockerfile"]);
    assert_eq!(
        (out.code, out.stdout(), out.stderr.as_str()),
        (0, String::new(), "")
    );
}

// ---------------------------------------------------------------- --apply

#[test]
fn apply_rewrites_in_place_and_exits_0() {
    let dir = project(BEFORE);
    let out = run(dir.path(), &["--apply", "Dockerfile"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.starts_with("Dockerfile:2: add-to-copy: "),
        "{}",
        out.stderr
    );
    assert_eq!(read(&dir.path().join("Dockerfile")), AFTER.as_bytes());
    // Applying again finds nothing.
    let again = run(dir.path(), &["--check", "Dockerfile"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
}

#[test]
fn apply_keeps_crlf_bom_and_missing_final_newline() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("app.py"), "print()\n");
    let cases: [(&str, &[u8], &[u8]); 3] = [
        (
            "crlf.Dockerfile",
            b"FROM alpine\r\nADD app.py /app/\r\n",
            b"FROM alpine\r\nCOPY app.py /app/\r\n",
        ),
        (
            "bom.Dockerfile",
            b"\xEF\xBB\xBFFROM alpine\nADD app.py /app/\n",
            b"\xEF\xBB\xBFFROM alpine\nCOPY app.py /app/\n",
        ),
        (
            "nofinal.Dockerfile",
            b"FROM alpine\nADD app.py /app/",
            b"FROM alpine\nCOPY app.py /app/",
        ),
    ];
    for (name, before, _) in &cases {
        write(&root.join(name), before);
    }
    let out = run(root, &["--apply", "."]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for (name, _, after) in &cases {
        assert_eq!(
            String::from_utf8_lossy(&read(&root.join(name))),
            String::from_utf8_lossy(after),
            "{name}"
        );
    }
}

#[cfg(unix)]
#[test]
fn apply_keeps_permission_bits() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("app.py"), "print()\n");
    for (name, mode) in [("exec.Dockerfile", 0o755), ("plain.Dockerfile", 0o644)] {
        write(&root.join(name), BEFORE);
        fs::set_permissions(root.join(name), fs::Permissions::from_mode(mode)).unwrap();
    }
    let out = run(root, &["--apply", "exec.Dockerfile", "plain.Dockerfile"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for (name, mode) in [("exec.Dockerfile", 0o755), ("plain.Dockerfile", 0o644)] {
        assert_eq!(read(&root.join(name)), AFTER.as_bytes(), "{name}");
        let got = fs::metadata(root.join(name)).unwrap().permissions().mode() & 0o7777;
        assert_eq!(got, mode, "{name}: {got:o}");
    }
}

#[cfg(unix)]
#[test]
fn apply_writes_through_a_symlink() {
    let dir = project(BEFORE);
    let root = dir.path();
    fs::rename(root.join("Dockerfile"), root.join("real.Dockerfile")).unwrap();
    std::os::unix::fs::symlink("real.Dockerfile", root.join("Dockerfile")).unwrap();
    let out = run(root, &["--apply", "Dockerfile"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let link = fs::symlink_metadata(root.join("Dockerfile")).unwrap();
    assert!(link.file_type().is_symlink(), "the link was replaced");
    assert_eq!(
        fs::read_link(root.join("Dockerfile")).unwrap(),
        Path::new("real.Dockerfile")
    );
    assert_eq!(read(&root.join("real.Dockerfile")), AFTER.as_bytes());
}

#[cfg(unix)]
#[test]
fn non_regular_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--apply", "/dev/null"]);
    assert_eq!(out.code, 2);
    assert!(out.stdout.is_empty());
    assert_eq!(out.stderr, "/dev/null: error: not a regular file\n");
}

// ---------------------------------------------------------------- standard input

#[test]
fn stdin_prints_the_rewritten_text() {
    let dir = project("unused");
    let out = run_stdin(
        dir.path(),
        &["-", "--stdin-filename", "Dockerfile"],
        Some(BEFORE.into()),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout(), AFTER);
    // the applied fixes go to standard error, as in the other modes
    assert!(
        out.stderr.starts_with("Dockerfile:2: add-to-copy: "),
        "{}",
        out.stderr
    );
}

#[test]
fn stdin_prints_unchanged_text_byte_for_byte() {
    let dir = project("unused");
    let input = b"\xEF\xBB\xBF# x\r\nFROM alpine\r\nRUN true".to_vec();
    let out = run_stdin(dir.path(), &["-"], Some(input.clone()));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, input);
}

#[test]
fn stdin_filename_locates_the_build_context() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("svc/app.py"), "print()\n");
    let out = run_stdin(
        dir.path(),
        &["-", "--stdin-filename", "svc/Dockerfile"],
        Some(BEFORE.into()),
    );
    assert_eq!(
        (out.code, out.stdout()),
        (0, AFTER.to_owned()),
        "{}",
        out.stderr
    );
    // The context is svc/, not the working directory: here app.py is missing, so the file
    // cannot be shown to be a plain file and ADD stays.
    let out = run_stdin(
        dir.path(),
        &["-", "--stdin-filename", "Dockerfile"],
        Some(BEFORE.into()),
    );
    assert_eq!(
        (out.code, out.stdout()),
        (0, BEFORE.to_owned()),
        "{}",
        out.stderr
    );
}

#[test]
fn stdin_with_diff_and_check() {
    let dir = project("unused");
    let out = run_stdin(
        dir.path(),
        &["--diff", "-", "--stdin-filename", "Dockerfile"],
        Some(BEFORE.into()),
    );
    assert_eq!(
        (out.code, out.stdout()),
        (1, DIFF.to_owned()),
        "{}",
        out.stderr
    );
    let out = run_stdin(
        dir.path(),
        &["--check", "-", "--stdin-filename", "Dockerfile"],
        Some(BEFORE.into()),
    );
    assert_eq!(
        (out.code, out.stdout()),
        (1, "Would rewrite: Dockerfile\n".to_owned()),
        "{}",
        out.stderr
    );
}

#[test]
fn stdin_refuses_apply_and_other_paths() {
    let dir = project(BEFORE);
    for args in [&["--apply", "-"][..], &["-", "Dockerfile"][..]] {
        let out = run_stdin(dir.path(), args, Some(BEFORE.into()));
        assert_eq!(out.code, 2, "{args:?}");
        assert!(out.stdout.is_empty());
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    }
    assert_eq!(read(&dir.path().join("Dockerfile")), BEFORE.as_bytes());
}

/// Bad inputs and the one stderr line each must give, for a file called `NAME`.
fn bad_inputs() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    vec![
        (
            "utf8",
            b"FROM \xFF\n".to_vec(),
            "NAME:1:6: error: file is not valid UTF-8\n",
        ),
        (
            "nul",
            b"FROM alpine\nRUN a\0b\n".to_vec(),
            "NAME:2:6: error: file contains a NUL byte; not a text file\n",
        ),
        (
            "heredoc",
            HEREDOC.into(),
            "NAME:2:5: error: unterminated heredoc EOF\n",
        ),
    ]
}

#[test]
fn stdin_bad_input_prints_nothing_on_stdout_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    for (what, bytes, line) in bad_inputs() {
        let out = run_stdin(
            dir.path(),
            &["-", "--stdin-filename", "Dockerfile"],
            Some(bytes),
        );
        assert_eq!(out.code, 2, "{what}");
        assert!(out.stdout.is_empty(), "{what}");
        assert_eq!(out.stderr, line.replace("NAME", "Dockerfile"), "{what}");
    }
}

#[test]
fn stdin_over_the_size_cap_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut big = b"FROM alpine\n".to_vec();
    big.resize(LIMIT + 1, b'#');
    let out = run_stdin(dir.path(), &["-"], Some(big));
    assert_eq!(out.code, 2);
    assert!(out.stdout.is_empty());
    assert_eq!(
        out.stderr,
        "-:1:1: error: input is larger than the 16777216 byte limit\n"
    );
}

// ---------------------------------------------------------------- bad files

#[test]
fn bad_files_exit_2_and_are_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for mode in ["--apply", "--diff", "--check"] {
        for (what, bytes, line) in bad_inputs() {
            let name = format!("{what}/Dockerfile");
            write(&root.join(&name), &bytes);
            let out = run(root, &[mode, &name]);
            assert_eq!(out.code, 2, "{mode} {what}");
            assert!(out.stdout.is_empty(), "{mode} {what}");
            assert_eq!(out.stderr, line.replace("NAME", &name), "{mode} {what}");
            assert_eq!(read(&root.join(&name)), bytes, "{mode} {what}");
        }
    }
}

#[test]
fn files_over_the_size_cap_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut big = b"FROM alpine\nADD app.py /app/\n".to_vec();
    big.resize(LIMIT + 1, b'#');
    write(&dir.path().join("Dockerfile"), &big);
    let out = run(dir.path(), &["--apply", "Dockerfile"]);
    assert_eq!(out.code, 2);
    assert!(out.stdout.is_empty());
    assert_eq!(
        out.stderr,
        "Dockerfile:1:1: error: file is 16777217 bytes, larger than the 16777216 byte limit\n"
    );
    assert_eq!(
        fs::metadata(dir.path().join("Dockerfile")).unwrap().len(),
        (LIMIT + 1) as u64
    );
}

#[test]
fn missing_file_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--check", "nope/Dockerfile"]);
    assert_eq!(out.code, 2);
    assert!(out.stdout.is_empty());
    assert_eq!(
        out.stderr,
        "nope/Dockerfile: error: No such file or directory\n"
    );
}

// ---------------------------------------------------------------- directories

/// Every file the walk must pick holds a NUL byte, so each one picked shows up as exactly one
/// error line, whatever the passes do.
#[test]
fn directory_walk_picks_dockerfile_names_and_honours_gitignore() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let picked = [
        "Containerfile",
        "Containerfile.dev",
        "Dockerfile",
        "Dockerfile.dev",
        "api.Dockerfile",
        "api.containerfile",
        "lower/dockerfile",
        "sub/Dockerfile",
        "web.dockerfile",
    ];
    let skipped = [
        "Dockerfile.dockerignore",
        "Containerfile.dockerignore",
        "README.md",
        "DOCKERFILE",
        "ignored/Dockerfile",
        "build.Dockerfile",
        ".hidden/Dockerfile",
    ];
    for name in picked.iter().chain(&skipped) {
        write(&root.join(name), "FROM a\0\n");
    }
    write(&root.join(".gitignore"), "ignored/\nbuild.*\n");
    let out = run(root, &["--check", "."]);
    assert_eq!(out.code, 2);
    assert!(out.stdout.is_empty());
    let expected = picked.iter().fold(String::new(), |mut acc, n| {
        acc.push_str(n);
        acc.push_str(":1:7: error: file contains a NUL byte; not a text file\n");
        acc
    });
    assert_eq!(out.stderr, expected);

    // Named explicitly, any file is processed.
    let out = run(root, &["--check", "README.md", "ignored/Dockerfile"]);
    assert_eq!(out.code, 2);
    assert_eq!(out.stderr.lines().count(), 2, "{}", out.stderr);
}

#[test]
fn directory_with_one_bad_file_still_processes_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for sub in ["a", "b", "c"] {
        write(&root.join(sub).join("app.py"), "print()\n");
    }
    write(&root.join("a/Dockerfile"), BEFORE);
    write(&root.join("b/Dockerfile"), HEREDOC);
    write(&root.join("c/Dockerfile"), CLEAN);
    write(&root.join("c/extra.Dockerfile"), BEFORE);

    let out = run(root, &["--check", "."]);
    assert_eq!(out.code, 2, "2 wins over 1");
    assert_eq!(
        out.stdout(),
        "Would rewrite: a/Dockerfile\nWould rewrite: c/extra.Dockerfile\n"
    );
    assert!(
        out.stderr
            .contains("b/Dockerfile:2:5: error: unterminated heredoc EOF\n"),
        "{}",
        out.stderr
    );

    let out = run(root, &["--apply", "."]);
    assert_eq!(out.code, 2);
    assert_eq!(read(&root.join("a/Dockerfile")), AFTER.as_bytes());
    assert_eq!(read(&root.join("b/Dockerfile")), HEREDOC.as_bytes());
    assert_eq!(read(&root.join("c/extra.Dockerfile")), AFTER.as_bytes());
}

#[test]
fn no_path_means_the_current_directory() {
    let dir = project(BEFORE);
    let out = run(dir.path(), &["--check"]);
    assert_eq!(
        (out.code, out.stdout()),
        (1, "Would rewrite: Dockerfile\n".to_owned()),
        "{}",
        out.stderr
    );
}

// ---------------------------------------------------------------- settings

#[test]
fn select_and_ignore_choose_passes() {
    let dir = project(BEFORE);
    let out = run(
        dir.path(),
        &["--check", "--ignore", "add-to-copy", "Dockerfile"],
    );
    assert_eq!(
        (out.code, out.stdout()),
        (0, String::new()),
        "{}",
        out.stderr
    );
    let out = run(
        dir.path(),
        &["--check", "--select", "add-to-copy", "Dockerfile"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
}

#[test]
fn context_flag_sets_the_build_context() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("app.py"), "print()\n");
    write(&root.join("docker/Dockerfile"), BEFORE);
    // By default the context is docker/, which has no app.py.
    let out = run(root, &["--check", "docker/Dockerfile"]);
    assert_eq!(
        (out.code, out.stdout()),
        (0, String::new()),
        "{}",
        out.stderr
    );
    let out = run(root, &["--check", "--context", ".", "docker/Dockerfile"]);
    assert_eq!(
        (out.code, out.stdout()),
        (1, "Would rewrite: docker/Dockerfile\n".to_owned()),
        "{}",
        out.stderr
    );
    let out = run(root, &["--check", "--context", "nope", "docker/Dockerfile"]);
    assert_eq!(out.code, 2);
    assert_eq!(out.stderr, "nope: error: No such file or directory\n");
}

#[test]
fn unsafe_fixes_are_advice_until_unsafe_is_given() {
    // Without a build context the pass cannot prove app.py is not an archive: unsafe.
    let dir = tempfile::tempdir().unwrap();
    let out = run_stdin(dir.path(), &["--diff", "-"], Some(BEFORE.into()));
    assert_eq!(
        (out.code, out.stdout()),
        (0, String::new()),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.starts_with("-:2: add-to-copy: "),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .ends_with(" (unsafe fix not applied; use --unsafe)\n"),
        "{}",
        out.stderr
    );
    let out = run_stdin(dir.path(), &["--unsafe", "-"], Some(BEFORE.into()));
    assert_eq!(
        (out.code, out.stdout()),
        (0, AFTER.to_owned()),
        "{}",
        out.stderr
    );
}

// ---------------------------------------------------------------- new files (.dockerignore)

/// A node project whose context holds `node_modules` beside `package.json`, and no
/// `.dockerignore`.
fn node_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        &root.join("Dockerfile"),
        "FROM node:20-alpine\nCOPY package.json server.js ./\n",
    );
    write(&root.join("package.json"), "{}\n");
    write(&root.join("server.js"), "console.log(1)\n");
    write(&root.join("node_modules/express/index.js"), "1\n");
    dir
}

const NODE_IGNORE: &str = "\
# Written by dfrewrite (dockerignore): kept out of the build context.
node_modules
";

#[test]
fn diff_and_check_propose_a_new_file_without_writing_it() {
    let dir = node_project();
    let root = dir.path();
    let out = run(root, &["--diff", "Dockerfile"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.stdout(),
        "--- /dev/null\n+++ b/.dockerignore\n@@ -0,0 +1,2 @@\n\
         +# Written by dfrewrite (dockerignore): kept out of the build context.\n\
         +node_modules\n"
    );
    assert!(
        out.stderr
            .starts_with("Dockerfile:1: dockerignore: add .dockerignore: keeps node_modules"),
        "{}",
        out.stderr
    );
    let out = run(root, &["--check", "."]);
    assert_eq!(
        (out.code, out.stdout()),
        (1, "Would create: .dockerignore\n".to_owned()),
        "{}",
        out.stderr
    );
    assert!(!root.join(".dockerignore").exists());
    // the pass is selected and ignored like any other
    let out = run(root, &["--check", "--ignore", "dockerignore", "."]);
    assert_eq!((out.code, out.stdout()), (0, String::new()));
}

#[test]
fn apply_creates_the_file_and_a_second_run_is_clean() {
    let dir = node_project();
    let root = dir.path();
    let out = run(root, &["--apply", "Dockerfile"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.contains("(created .dockerignore)"),
        "{}",
        out.stderr
    );
    assert_eq!(
        String::from_utf8(read(&root.join(".dockerignore"))).unwrap(),
        NODE_IGNORE
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(root.join(".dockerignore"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o644, "{mode:o}");
    }
    for mode in ["--check", "--diff"] {
        let again = run(root, &[mode, "."]);
        assert_eq!(
            (again.code, again.stdout(), again.stderr.as_str()),
            (0, String::new(), ""),
            "{mode}"
        );
    }
}

#[test]
fn two_dockerfiles_in_one_context_propose_the_file_once() {
    let dir = node_project();
    let root = dir.path();
    write(
        &root.join("dev.Dockerfile"),
        "FROM node:20-slim\nCOPY package.json ./\n",
    );
    // each one names the other as sharing the context, so the proposal is unsafe
    let out = run(root, &["--diff", "."]);
    assert_eq!(
        (out.code, out.stdout()),
        (0, String::new()),
        "{}",
        out.stderr
    );
    let out = run(root, &["--diff", "--unsafe", "."]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout().matches("+++ b/.dockerignore").count(), 1);
    assert!(
        out.stderr
            .contains("(.dockerignore already proposed above)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("Dockerfile shares this context"),
        "{}",
        out.stderr
    );
}

#[test]
fn unsafe_new_files_wait_for_unsafe() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("Dockerfile"), "FROM alpine\nCOPY . /app\n");
    write(&root.join("run.sh"), "echo\n");
    write(&root.join(".env"), "SECRET=1\n");
    let out = run(root, &["--check", "Dockerfile"]);
    assert_eq!((out.code, out.stdout()), (0, String::new()));
    assert!(
        out.stderr.starts_with(
            "Dockerfile:2: dockerignore: add .dockerignore: keeps .env out of the build \
             context; COPY on line 2 copies a directory holding .env, which would no longer \
             reach the image; COPY on line 2 would also copy the new .dockerignore (unsafe fix \
             not applied; use --unsafe)"
        ),
        "{}",
        out.stderr
    );
    let out = run(root, &["--apply", "--unsafe", "Dockerfile"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(root.join(".dockerignore").is_file());
}

#[test]
fn stdin_never_writes_new_files() {
    let dir = node_project();
    let root = dir.path();
    let input = read(&root.join("Dockerfile"));
    for args in [
        &["-", "--stdin-filename", "Dockerfile"][..],
        &["--diff", "-", "--stdin-filename", "Dockerfile"][..],
        &["--check", "-", "--stdin-filename", "Dockerfile"][..],
    ] {
        let out = run_stdin(root, args, Some(input.clone()));
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        let expected: &[u8] = if args[0] == "-" { &input } else { b"" };
        assert_eq!(out.stdout, expected, "{args:?}");
        assert!(
            out.stderr
                .ends_with(" (advice: .dockerignore is not created when reading standard input)\n"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(!root.join(".dockerignore").exists(), "{args:?}");
    }
}

#[test]
fn context_flag_places_the_new_file_in_the_context() {
    let dir = node_project();
    let root = dir.path();
    fs::rename(root.join("Dockerfile"), root.join("Dockerfile.tmp")).unwrap();
    write(
        &root.join("docker/Dockerfile"),
        read(&root.join("Dockerfile.tmp")),
    );
    fs::remove_file(root.join("Dockerfile.tmp")).unwrap();
    let out = run(root, &["--diff", "--context", ".", "docker/Dockerfile"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stdout()
            .starts_with("--- /dev/null\n+++ b/.dockerignore\n"),
        "{}",
        out.stdout()
    );
    // BuildKit would read docker/Dockerfile.dockerignore first: then nothing is proposed
    write(
        &root.join("docker/Dockerfile.dockerignore"),
        "node_modules\n",
    );
    let out = run(root, &["--check", "--context", ".", "docker/Dockerfile"]);
    assert_eq!(
        (out.code, out.stdout()),
        (0, String::new()),
        "{}",
        out.stderr
    );
}
