//! Inline pragmas through the real binary: `# dfrewrite: ignore=…` on an instruction, a stage
//! and a file, hadolint's `# hadolint ignore=…`, the reports on unused and invalid pragmas,
//! `--no-inline-ignores`, and the hadolint table against hadolint's rule list.

use std::fs;
use std::path::Path;

mod common;
use common::{Output, run_in as run};

/// A repository (a `.git` directory ends the configuration search) holding `Dockerfile` and
/// two plain files `add-to-copy` can copy.
fn project(dockerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join(".git")).unwrap();
    // an ignore file of its own keeps `dockerignore` (which would keep .git out) quiet
    fs::write(dir.path().join(".dockerignore"), ".git\n").unwrap();
    fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    fs::write(dir.path().join("a.py"), "print(1)\n").unwrap();
    fs::write(dir.path().join("b.py"), "print(2)\n").unwrap();
    dir
}

/// `--apply`, then the file.
fn applied(dir: &Path, extra: &[&str]) -> (Output, String) {
    let mut args = vec!["--apply"];
    args.extend_from_slice(extra);
    args.push("Dockerfile");
    let out = run(dir, &args);
    let text = fs::read_to_string(dir.join("Dockerfile")).unwrap();
    (out, text)
}

/// `--diff EXTRA… Dockerfile` in `dir` proposes nothing: exit 0 and no output.
fn assert_no_diff(dir: &Path, extra: &[&str]) {
    let out = run(dir, &[&["--diff"], extra, &["Dockerfile"]].concat());
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{}", out.stderr);
}

#[test]
fn an_instruction_pragma_holds_back_that_instruction_only() {
    let src = "FROM alpine\n\
               # dfrewrite: ignore=add-to-copy reason=\"the tarball step needs ADD\"\n\
               ADD a.py /app/\n\
               ADD b.py /app/\n";
    let dir = project(src);
    let (out, text) = applied(dir.path(), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        text,
        "FROM alpine\n\
         # dfrewrite: ignore=add-to-copy reason=\"the tarball step needs ADD\"\n\
         ADD a.py /app/\n\
         COPY b.py /app/\n"
    );
    assert!(!out.stderr.contains("pragma"), "{}", out.stderr);
    // and the result is a fixed point: nothing is proposed again
    assert_no_diff(dir.path(), &[]);
}

#[test]
fn a_stage_pragma_covers_its_stage_and_a_file_pragma_the_file() {
    let src = "FROM alpine AS one\nADD a.py /app/\n\
               # dfrewrite: ignore-stage=add-to-copy\nFROM alpine AS two\nADD a.py /app/\nADD b.py /app/\n";
    let dir = project(src);
    let (out, text) = applied(dir.path(), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        text,
        "FROM alpine AS one\nCOPY a.py /app/\n\
         # dfrewrite: ignore-stage=add-to-copy\nFROM alpine AS two\nADD a.py /app/\nADD b.py /app/\n"
    );

    let src = "# syntax=docker/dockerfile:1\n# dfrewrite: ignore-file=add-to-copy\nFROM alpine\nADD a.py /app/\n";
    assert_no_diff(project(src).path(), &[]);
}

#[test]
fn unused_and_invalid_pragmas_are_reported_with_their_line() {
    let src = "FROM alpine\n\
               # dfrewrite: ignore=no-cache-flags\n\
               COPY a.py /app/\n\
               # dfrewrite: ignore=add-to-copy,no-such-pass\n\
               ADD a.py /app/\n\
               # dfrewrite: ignore=add-to-copy\n\
               \n\
               ADD b.py /app/\n";
    let dir = project(src);
    let out = run(dir.path(), &["--diff", "Dockerfile"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("Dockerfile:2: unused-pragma: pragma held back no fix of `no-cache-flags`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("Dockerfile:4: invalid-pragma: unknown pass `no-such-pass` in pragma"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(
            "Dockerfile:6: invalid-pragma: `ignore=` pragma is not directly above an instruction"
        ),
        "{}",
        out.stderr
    );
    // the known pass of line 4 still holds its ADD back; the misplaced one holds nothing
    assert!(
        out.stdout.contains("-ADD b.py /app/\n+COPY b.py /app/\n"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("-ADD a.py"), "{}", out.stdout);
    // the reports are explained like passes (the language server links them there)
    for report in ["unused-pragma", "invalid-pragma"] {
        let out = run(dir.path(), &["--explain", report]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(
            out.stdout.starts_with(&format!("# {report}\n")),
            "{}",
            out.stdout
        );
    }
    // a pragma for a pass that did not run is not called unused
    let out = run(
        dir.path(),
        &["--diff", "--select", "add-to-copy", "Dockerfile"],
    );
    assert!(!out.stderr.contains("unused-pragma"), "{}", out.stderr);
}

#[test]
fn no_inline_ignores_turns_every_pragma_off() {
    let src = "FROM alpine\n# dfrewrite: ignore=add-to-copy\nADD a.py /app/\n# dfrewrite: ignore=bogus\nRUN true\n";
    let dir = project(src);
    let out = run(dir.path(), &["--diff", "--no-inline-ignores", "Dockerfile"]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("+COPY a.py /app/"), "{}", out.stdout);
    assert!(!out.stderr.contains("pragma"), "{}", out.stderr);
    // and the same from the configuration file
    fs::write(
        dir.path().join("dfrewrite.toml"),
        "inline-ignores = false\n",
    )
    .unwrap();
    let out = run(dir.path(), &["--diff", "Dockerfile"]);
    assert!(out.stdout.contains("+COPY a.py /app/"), "{}", out.stdout);
}

#[test]
fn hadolint_pragmas_hold_back_the_passes_their_codes_stand_for() {
    let src = "FROM alpine\n\
               # hadolint ignore=DL3020,DL3008 # we need ADD here\n\
               ADD a.py /app/\n\
               # hadolint ignore=DL3008\n\
               ADD b.py /app/\n";
    let dir = project(src);
    let out = run(dir.path(), &["--diff", "Dockerfile"]);
    assert_eq!(out.code, 1);
    assert!(!out.stdout.contains("-ADD a.py"), "{}", out.stdout);
    assert!(out.stdout.contains("+COPY b.py /app/"), "{}", out.stdout);
    // hadolint reads these comments too: never reported as unused or invalid
    assert!(!out.stderr.contains("pragma"), "{}", out.stderr);

    let src = "# hadolint global ignore=DL3020\nFROM alpine\nADD a.py /app/\n";
    assert_no_diff(project(src).path(), &[]);
}

#[test]
fn merges_never_cross_or_swallow_a_pragma() {
    // merge-run-chains would join these two RUNs (the second cleans up after the first)
    let plain = "FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\nRUN rm -rf /var/lib/apt/lists/*\n";
    let dir = project(plain);
    let out = run(
        dir.path(),
        &["--diff", "--select", "merge-run-chains", "Dockerfile"],
    );
    assert_eq!(out.code, 1, "the fixture premise: {}", out.stderr);
    let with = "FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\n\
                # dfrewrite: ignore=no-install-recommends\nRUN rm -rf /var/lib/apt/lists/*\n";
    assert_no_diff(project(with).path(), &["--select", "merge-run-chains"]);
}

#[test]
fn a_held_back_fix_is_not_reproposed_and_the_rest_converges() {
    // same-layer-cleanup is held back on the install; the other safe passes still apply,
    // and a second run finds nothing
    let src = "FROM debian:bookworm\n\
               # dfrewrite: ignore=same-layer-cleanup reason=\"lists are read by a later stage\"\n\
               RUN apt-get update && apt-get install -y curl\n\
               RUN pip install flask\n";
    let dir = project(src);
    let (out, text) = applied(dir.path(), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(text.contains("# dfrewrite: ignore=same-layer-cleanup reason=\"lists are read by a later stage\"\nRUN apt-get update"), "{text}");
    assert!(!text.contains("/var/lib/apt/lists"), "{text}");
    assert!(text.contains("pip install --no-cache-dir flask"), "{text}");
    assert!(!out.stderr.contains("unused-pragma"), "{}", out.stderr);
    assert_no_diff(dir.path(), &[]);
}

#[test]
fn every_hadolint_code_in_the_table_is_a_hadolint_rule() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rules = fs::read_to_string(root.join("tests/data/hadolint-rules.txt")).unwrap();
    let rules: Vec<&str> = rules
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    assert!(rules.len() > 50, "the vendored list looks truncated");
    let table: toml::Table =
        toml::from_str(&fs::read_to_string(root.join("transforms/hadolint.toml")).unwrap())
            .unwrap();
    let codes = table["codes"].as_table().unwrap();
    assert!(!codes.is_empty());
    let passes: Vec<&str> = dfrewrite::passes().iter().map(|p| p.name).collect();
    for (code, mapped) in codes {
        assert!(
            rules.contains(&code.as_str()),
            "{code} is not in hadolint's rule list"
        );
        for pass in mapped.as_array().unwrap() {
            let pass = pass.as_str().unwrap();
            assert!(passes.contains(&pass), "{code}: no pass `{pass}`");
        }
    }
}

/// `text` with `pragma` on a line of its own above every instruction that starts a line
/// outside continuations (judged from the parse), in the file's line ending.
fn with_pragmas(text: &str, pragma: &str) -> Option<String> {
    let file = dfrewrite::syntax::parse(text).ok()?;
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut out = String::new();
    let mut at = 0;
    for ins in file.instructions() {
        let start = ins.range.start as usize;
        out.push_str(&text[at..start]);
        out.push_str(pragma);
        out.push_str(eol);
        at = start;
    }
    out.push_str(&text[at..]);
    Some(out)
}

#[test]
fn pragmas_above_every_instruction_of_every_fixture_hold_and_survive() {
    // Each fixture with `ignore=<its pass>` above every instruction: that pass applies
    // nothing, the rewrite still converges, and every pragma line is still there, in order.
    // With a pragma for another pass (one that never fires on these files), the other passes
    // still work around the comment lines without an internal error.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let settings = dfrewrite::Settings {
        threshold: dfrewrite::Applicability::Unsafe,
        ..dfrewrite::Settings::default()
    };
    let mut checked = 0;
    for pass_dir in fs::read_dir(&root).unwrap() {
        let pass_dir = pass_dir.unwrap().path();
        let pass = pass_dir.file_name().unwrap().to_string_lossy().into_owned();
        for entry in fs::read_dir(&pass_dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "Dockerfile") {
                continue;
            }
            let Ok(text) = fs::read_to_string(&path) else {
                continue;
            };
            for pragma in [
                format!("# dfrewrite: ignore={pass}"),
                "# dfrewrite: ignore=strip-binaries reason=\"a bystander\"".to_owned(),
            ] {
                let Some(input) = with_pragmas(&text, &pragma) else {
                    continue;
                };
                let outcome = match dfrewrite::rewrite(&input, &settings) {
                    Ok(outcome) => outcome,
                    Err(dfrewrite::Error::Invalid { .. }) => continue,
                    Err(e) => panic!("{}: {pragma}: {e}", path.display()),
                };
                if pragma.ends_with(&format!("={pass}")) {
                    assert!(
                        outcome.applied.iter().all(|f| f.pass != pass),
                        "{}: {pass} applied under its pragma: {:?}",
                        path.display(),
                        outcome.applied
                    );
                }
                let output = outcome.output.as_deref().unwrap_or(&input);
                let count = |t: &str| t.lines().filter(|l| l.trim_end() == pragma).count();
                assert_eq!(
                    count(output),
                    count(&input),
                    "{}: a pragma line was lost:\n{output}",
                    path.display()
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "only {checked} fixtures checked");
}

#[test]
fn a_pass_waiting_on_a_held_back_pass_does_not_wait_forever() {
    // non-root-user waits while split-stages has a fix to apply; with split-stages held back
    // on the stage, it must decide on the stage as it stands
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/split-stages");
    let dir = tempfile::tempdir().unwrap();
    for entry in fs::read_dir(fixture.join("c_gcc_output.context")).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    let text = fs::read_to_string(fixture.join("c_gcc_output.Dockerfile")).unwrap();
    fs::write(
        dir.path().join("Dockerfile"),
        format!("# dfrewrite: ignore-stage=split-stages\n{text}"),
    )
    .unwrap();
    let out = run(
        dir.path(),
        &[
            "--diff",
            "--unsafe",
            "--select",
            "split-stages,non-root-user",
            "Dockerfile",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!out.stdout.contains("+FROM"), "{}", out.stdout);
    assert!(out.stdout.contains("+USER 10001"), "{}", out.stdout);
}
