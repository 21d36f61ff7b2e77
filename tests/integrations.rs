//! The pre-commit hooks of `.pre-commit-hooks.yaml`, run by PyPI `pre-commit try-repo` on a
//! scratch git repository, with the binary under test.
//!
//! The hooks say `language: rust`, with which pre-commit first builds dfrewrite with
//! `cargo install` (minutes, on every fresh cache). The test runs a copy of the file in which
//! only `language: rust` is swapped for `language: system`, with this build's binary first
//! on PATH: ids, entries, arguments and file patterns are the real ones.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_dfrewrite");
const HOOKS: &str = include_str!("../.pre-commit-hooks.yaml");

/// `.venv/bin/pre-commit` (as `.ci/run` installs it) or one on PATH; `None` (skip) only
/// outside CI.
fn pre_commit() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/pre-commit");
    common::first_working(
        [venv, PathBuf::from("pre-commit")],
        &["--version"],
        "pre-commit is missing",
    )
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn try_repo(pre_commit: &Path, hooks: &Path, project: &Path, home: &Path, hook: &str) -> Output {
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    Command::new(pre_commit)
        .args([
            "try-repo",
            hooks.to_str().unwrap(),
            hook,
            "--all-files",
            "--color",
            "never",
        ])
        .current_dir(project)
        .env("PATH", path)
        .env("PRE_COMMIT_HOME", home)
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .output()
        .expect("pre-commit runs")
}

#[test]
fn pre_commit_hooks_check_and_apply() {
    let Some(pre_commit) = pre_commit() else {
        return;
    };
    // the hooks repository: the real file, built with `system` instead of `rust`
    assert_eq!(HOOKS.matches("language: rust").count(), 2, "{HOOKS}");
    let hooks = tempfile::tempdir().unwrap();
    fs::write(
        hooks.path().join(".pre-commit-hooks.yaml"),
        HOOKS.replace("language: rust", "language: system"),
    )
    .unwrap();
    git(hooks.path(), &["init", "-q"]);
    git(hooks.path(), &["add", "."]);
    git(hooks.path(), &["commit", "-qm", "hooks"]);

    // a project with one Dockerfile a safe fix changes, one already clean, and a
    // .dockerignore the patterns must leave out
    let project = tempfile::tempdir().unwrap();
    let root = project.path();
    fs::create_dir_all(root.join("svc")).unwrap();
    fs::write(
        root.join("svc/Dockerfile"),
        "FROM alpine\nADD app.py /app/\n",
    )
    .unwrap();
    fs::write(root.join("svc/app.py"), "print('hi')\n").unwrap();
    fs::write(root.join("api.containerfile"), "FROM alpine\nCOPY a /a\n").unwrap();
    fs::write(root.join("Dockerfile.dockerignore"), "ADD\n").unwrap();
    git(root, &["init", "-q"]);
    git(root, &["add", "."]);
    git(root, &["commit", "-qm", "project"]);
    let home = tempfile::tempdir().unwrap();

    let out = try_repo(
        &pre_commit,
        hooks.path(),
        root,
        home.path(),
        "dfrewrite-check",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("Failed"), "{stdout}");
    assert!(
        stdout.contains("+COPY app.py /app/"),
        "the diff is shown: {stdout}"
    );
    assert_eq!(
        fs::read_to_string(root.join("svc/Dockerfile")).unwrap(),
        "FROM alpine\nADD app.py /app/\n",
        "the check hook writes nothing"
    );

    let out = try_repo(&pre_commit, hooks.path(), root, home.path(), "dfrewrite");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("files were modified by this hook"),
        "{stdout}"
    );
    assert_eq!(
        fs::read_to_string(root.join("svc/Dockerfile")).unwrap(),
        "FROM alpine\nCOPY app.py /app/\n"
    );
    assert_eq!(
        fs::read_to_string(root.join("Dockerfile.dockerignore")).unwrap(),
        "ADD\n"
    );

    git(root, &["add", "."]);
    for hook in ["dfrewrite", "dfrewrite-check"] {
        let out = try_repo(&pre_commit, hooks.path(), root, home.path(), hook);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{hook}: {stdout}");
        assert!(stdout.contains("Passed"), "{hook}: {stdout}");
    }
}

/// The `run:` steps of the README's GitHub Actions snippet that call dfrewrite, in order.
fn readme_workflow_steps() -> Vec<String> {
    let readme = include_str!("../README.md");
    let block = readme
        .split("```yaml\nname: dfrewrite\n")
        .nth(1)
        .expect("README has the GitHub Actions snippet")
        .split("```")
        .next()
        .unwrap();
    block
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("run: "))
        .filter(|command| command.starts_with("dfrewrite "))
        .map(str::to_owned)
        .collect()
}

/// The snippet's steps, run by `sh` as the runner would: the SARIF and annotation steps pass
/// on a Dockerfile that would change (so the upload runs), and the last step fails the job.
#[test]
fn readme_github_actions_steps_behave_as_described() {
    let steps = readme_workflow_steps();
    assert_eq!(steps.len(), 3, "{steps:?}");
    let project = tempfile::tempdir().unwrap();
    let root = project.path();
    fs::write(root.join("Dockerfile"), "FROM alpine\nADD app.py /app/\n").unwrap();
    fs::write(root.join("app.py"), "print('hi')\n").unwrap();
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let run = |command: &str| {
        Command::new("sh")
            .args(["-c", command])
            .current_dir(root)
            .env("PATH", &path)
            .env("NO_COLOR", "1")
            .output()
            .expect("sh runs")
    };
    let sarif = run(&steps[0]);
    assert_eq!(sarif.status.code(), Some(0), "{}", steps[0]);
    let log: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(root.join("dfrewrite.sarif")).unwrap()).unwrap();
    assert_eq!(log["runs"][0]["results"][0]["ruleId"], "add-to-copy");
    let annotations = run(&steps[1]);
    assert_eq!(annotations.status.code(), Some(0), "{}", steps[1]);
    assert!(String::from_utf8_lossy(&annotations.stdout).starts_with("::warning file=Dockerfile,"));
    let fail = run(&steps[2]);
    assert_eq!(fail.status.code(), Some(1), "{}", steps[2]);
    assert!(String::from_utf8_lossy(&fail.stdout).contains("+COPY app.py /app/"));
    // and a file that needs nothing passes every step
    fs::write(root.join("Dockerfile"), "FROM alpine\nCOPY app.py /app/\n").unwrap();
    for step in &steps {
        assert_eq!(run(step).status.code(), Some(0), "{step}");
    }
}
