//! Configuration files through the real binary: discovery (nearest wins, the repository root
//! ends the search), `--config`, `[[overrides]]`, `extend-exclude`, flags over the file,
//! errors with file, line and column, and `--show-settings`.

use std::fs;
use std::path::Path;

mod common;
use common::{Output, run_in as run};

/// `add-to-copy` rewrites it when `app.py` beside it is a plain file (a safe fix).
const ADD: &str = "FROM alpine\nADD app.py /app/\n";

fn write(path: &Path, contents: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

/// A repository root (it holds `.git`) with a Dockerfile `ADD` fixes at each of `dirs`.
fn repo(dirs: &[&str]) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    fs::create_dir(root.path().join(".git")).unwrap();
    // an ignore file of its own keeps `dockerignore` (which would keep .git out) quiet
    write(&root.path().join(".dockerignore"), ".git\n");
    for d in dirs {
        write(&root.path().join(d).join("Dockerfile"), ADD);
        write(&root.path().join(d).join("app.py"), "print(1)\n");
    }
    root
}

/// The files `--check` would rewrite, as printed.
fn would_rewrite(out: &Output) -> Vec<String> {
    out.stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Would rewrite: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_nearest_configuration_wins() {
    let root = repo(&[".", "sub", "sub/deeper"]);
    write(
        &root.path().join("dfrewrite.toml"),
        "ignore = [\"add-to-copy\"]\n",
    );
    write(
        &root.path().join("sub/.dfrewrite.toml"),
        "select = [\"add-to-copy\"]\n",
    );
    let out = run(root.path(), &["--check", "."]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        would_rewrite(&out),
        ["sub/Dockerfile", "sub/deeper/Dockerfile"],
        "{}",
        out.stderr
    );
}

#[test]
fn the_search_stops_at_the_repository_root() {
    let outer = tempfile::tempdir().unwrap();
    write(
        &outer.path().join("dfrewrite.toml"),
        "ignore = [\"add-to-copy\"]\n",
    );
    write(&outer.path().join("repo/Dockerfile"), ADD);
    write(&outer.path().join("repo/app.py"), "print(1)\n");
    // without .git the file above applies; with it, the search ends at repo/
    let out = run(outer.path(), &["--check", "repo/Dockerfile"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    fs::create_dir(outer.path().join("repo/.git")).unwrap();
    let out = run(outer.path(), &["--check", "repo/Dockerfile"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
}

#[test]
fn config_flag_replaces_discovery() {
    let root = repo(&["."]);
    write(
        &root.path().join("dfrewrite.toml"),
        "ignore = [\"add-to-copy\"]\n",
    );
    write(
        &root.path().join("ci/strict.toml"),
        "select = [\"add-to-copy\"]\n",
    );
    let out = run(root.path(), &["--check", "--config", "ci/strict.toml", "."]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let out = run(root.path(), &["--check", "--config", "missing.toml", "."]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.starts_with("missing.toml: error: "),
        "{}",
        out.stderr
    );
}

#[test]
fn overrides_apply_to_matching_paths() {
    let root = repo(&["app", "legacy/old"]);
    write(
        &root.path().join("dfrewrite.toml"),
        "[[overrides]]\nfiles = [\"legacy/**\"]\nignore = [\"add-to-copy\"]\n",
    );
    let out = run(root.path(), &["--check", "."]);
    assert_eq!(would_rewrite(&out), ["app/Dockerfile"], "{}", out.stderr);

    // `unsafe = true` in an override turns on unsafe fixes there only
    let apt = "FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n";
    write(&root.path().join("app/Dockerfile"), apt);
    write(&root.path().join("legacy/old/Dockerfile"), apt);
    write(
        &root.path().join("dfrewrite.toml"),
        "select = [\"no-install-recommends\"]\n[[overrides]]\nfiles = [\"legacy/**\"]\nunsafe = true\n",
    );
    let out = run(root.path(), &["--check", "."]);
    assert_eq!(
        would_rewrite(&out),
        ["legacy/old/Dockerfile"],
        "{}",
        out.stderr
    );
}

#[test]
fn flags_override_the_configuration() {
    let root = repo(&["."]);
    write(
        &root.path().join("dfrewrite.toml"),
        "ignore = [\"add-to-copy\"]\n",
    );
    assert_eq!(run(root.path(), &["--check", "Dockerfile"]).code, 0);
    let out = run(
        root.path(),
        &["--check", "--select", "add-to-copy", "Dockerfile"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    // and --unsafe over `unsafe = false`
    let apt = "FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n";
    write(&root.path().join("Dockerfile"), apt);
    write(
        &root.path().join("dfrewrite.toml"),
        "unsafe = false\nselect = [\"no-install-recommends\"]\n",
    );
    assert_eq!(run(root.path(), &["--check", "Dockerfile"]).code, 0);
    assert_eq!(
        run(root.path(), &["--check", "--unsafe", "Dockerfile"]).code,
        1
    );
}

#[test]
fn extend_exclude_applies_to_directory_walks_only() {
    let root = repo(&["app", "vendor/lib", "third/party"]);
    write(
        &root.path().join("dfrewrite.toml"),
        "extend-exclude = [\"vendor\", \"third/**\"]\n",
    );
    let out = run(root.path(), &["--check", "."]);
    assert_eq!(would_rewrite(&out), ["app/Dockerfile"], "{}", out.stderr);
    // a file named on the command line is processed
    let out = run(root.path(), &["--check", "vendor/lib/Dockerfile"]);
    assert_eq!(
        would_rewrite(&out),
        ["vendor/lib/Dockerfile"],
        "{}",
        out.stderr
    );
}

#[test]
fn bad_configurations_are_errors_with_file_line_and_column() {
    let cases = [
        (
            "select = [\"add-to-copy\"]\ncolour = true\n",
            "dfrewrite.toml:2:1: error: unknown field `colour`",
        ),
        (
            "ignore = [\"add-to-copy\", \"add-too-copy\"]\n",
            "dfrewrite.toml:1:26: error: unknown pass `add-too-copy`",
        ),
        (
            "unsafe = \"yes\"\n",
            "dfrewrite.toml:1:10: error: invalid type: string \"yes\", expected a boolean",
        ),
        (
            "[[overrides]]\nignore = [\"add-to-copy\"]\n",
            "dfrewrite.toml:1:1: error: missing field `files`",
        ),
        (
            "[[overrides]]\nfiles = [\"a/[\"]\n",
            "dfrewrite.toml:2:10: error: bad glob",
        ),
        ("select = [\n", "dfrewrite.toml:1:11: error: unclosed array"),
    ];
    for (text, expected) in cases {
        let root = repo(&["."]);
        write(&root.path().join("dfrewrite.toml"), text);
        let out = run(root.path(), &["--check", "."]);
        assert_eq!(out.code, 2, "{text}");
        assert!(
            out.stderr.starts_with(expected),
            "{text:?}:\n{}",
            out.stderr
        );
        assert_eq!(out.stdout, "", "{text}");
        // one line, reported once
        assert_eq!(out.stderr.matches("error:").count(), 1, "{}", out.stderr);
    }
}

#[test]
fn show_settings_prints_what_a_file_gets() {
    let root = repo(&["legacy"]);
    write(
        &root.path().join("dfrewrite.toml"),
        "select = [\"add-to-copy\", \"no-cache-flags\"]\nextend-exclude = [\"vendor\"]\n\
         [[overrides]]\nfiles = [\"legacy/**\"]\nignore = [\"no-cache-flags\"]\nunsafe = true\n",
    );
    let out = run(root.path(), &["--show-settings", "legacy/Dockerfile"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "# settings for legacy/Dockerfile\n\
             # configuration: dfrewrite.toml\n\
             # override matched: files = [\"legacy/**\"]\n\
             select = [\"add-to-copy\"]\n\
             unsafe = true\n\
             inline-ignores = true\n\
             extend-exclude = [\"vendor\"]\n\
             # excluded from directory walks: false\n"
    );
    let out = run(
        root.path(),
        &[
            "--show-settings",
            "other/Dockerfile",
            "--select",
            "no-cache-flags",
            "--no-inline-ignores",
        ],
    );
    assert!(
        out.stdout
            .contains("\nselect = [\"no-cache-flags\"]\nunsafe = false\ninline-ignores = false\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_hidden_name_wins_in_one_directory_and_standard_input_is_configured_by_its_name() {
    let root = repo(&["app"]);
    write(
        &root.path().join("app/.dfrewrite.toml"),
        "ignore = [\"add-to-copy\"]\n",
    );
    write(
        &root.path().join("app/dfrewrite.toml"),
        "select = [\"add-to-copy\"]\n",
    );
    let out = run(root.path(), &["--check", "app/Dockerfile"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);

    // `-` finds the configuration from --stdin-filename's directory
    let stdin = |name: &str| {
        let mut cmd = common::binary(root.path(), &["-", "--stdin-filename", name]);
        common::run_cmd(cmd.env("NO_COLOR", "1"), Some(ADD.as_bytes())).stdout
    };
    assert_eq!(stdin("app/Dockerfile"), ADD);
    write(&root.path().join("Dockerfile"), ADD);
    write(&root.path().join("app.py"), "print(1)\n");
    assert_eq!(stdin("Dockerfile"), "FROM alpine\nCOPY app.py /app/\n");
}

#[test]
fn verify_reads_the_configuration_too() {
    // a bad configuration stops verify before any build (so no engine is needed here)
    let root = repo(&["."]);
    write(
        &root.path().join("dfrewrite.toml"),
        "selcet = [\"add-to-copy\"]\n",
    );
    let out = run(root.path(), &["verify", "Dockerfile"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("dfrewrite.toml:1:1: error: unknown field `selcet`"),
        "{}",
        out.stderr
    );
}

/// The first fenced block of `lang` in the README section `heading`.
fn readme_block(heading: &str, lang: &str) -> String {
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme.split(heading).nth(1).expect("README section");
    let block = section
        .split(&format!("```{lang}\n"))
        .nth(1)
        .expect("a block");
    block.split("```").next().unwrap().to_owned()
}

#[test]
fn the_readme_examples_are_valid() {
    let root = repo(&["legacy"]);
    write(
        &root.path().join("dfrewrite.toml"),
        &readme_block("## Configuration\n", "toml"),
    );
    let out = run(root.path(), &["--show-settings", "legacy/Dockerfile"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("# override matched: files = [\"legacy/**\"]"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("\nunsafe = true\n"), "{}", out.stdout);

    // the pragmas example: every pragma is well placed and names passes that exist
    let dir = repo(&[]);
    write(
        &dir.path().join("Dockerfile"),
        &readme_block("## Inline ignores\n", "dockerfile"),
    );
    let out = run(dir.path(), &["--diff", "Dockerfile"]);
    assert_ne!(out.code, 2, "{}", out.stderr);
    assert!(!out.stderr.contains("invalid-pragma"), "{}", out.stderr);
}
