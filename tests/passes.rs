//! Every pass: its documentation is complete and its example is what it does; its fixtures
//! produce the snapshotted diff, and the harness invariants hold in safe and unsafe runs.

// Tests report the figures they measure on stderr.
#![allow(clippy::print_stderr)]

mod common;

use dfrewrite::{Applicability, BuildContext, ContextEntry, Settings, passes, rewrite, syntax};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const SECTIONS: [&str; 4] = ["## What it does", "## Why", "## Example", "## Fix safety"];

/// A build context over a directory, for fixtures (the CLI has its own).
struct DirContext(PathBuf);

impl BuildContext for DirContext {
    fn probe(&self, path: &str) -> ContextEntry {
        let full = self.0.join(path);
        match std::fs::metadata(&full) {
            Ok(m) if m.is_dir() => ContextEntry::Directory,
            Ok(m) if m.is_file() => {
                let mut head = std::fs::read(&full).unwrap_or_default();
                head.truncate(dfrewrite::context::HEAD_BYTES);
                ContextEntry::File { head }
            }
            Ok(_) => ContextEntry::Unreadable,
            Err(_) => ContextEntry::Missing,
        }
    }

    fn read(&self, path: &str) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.0.join(path)).ok()?;
        (bytes.len() <= dfrewrite::context::READ_LIMIT).then_some(bytes)
    }
}

fn settings(pass: &str, threshold: Applicability, context: Option<&Path>) -> Settings {
    Settings {
        threshold,
        select: Some(vec![pass.to_owned()]),
        context: context.map(|c| Arc::new(DirContext(c.to_owned())) as Arc<dyn BuildContext>),
        ..Settings::default()
    }
}

fn dockerfile_blocks(doc: &str) -> Vec<String> {
    doc.split("```dockerfile\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn every_pass_is_documented_and_its_example_holds() {
    assert!(!passes().is_empty());
    for pass in passes() {
        let mut at = 0;
        for section in SECTIONS {
            let found = pass.doc[at..].find(section).unwrap_or_else(|| {
                panic!("{}: missing or misplaced section {section:?}", pass.name)
            });
            at += found;
        }
        assert!(
            pass.name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '-'),
            "{}: not kebab-case",
            pass.name
        );
        let blocks = dockerfile_blocks(&pass.documentation());
        assert_eq!(
            blocks.len(),
            2,
            "{}: example needs a before and an after block",
            pass.name
        );
        // the example runs with the unsafe tier, without a build context
        let out = rewrite(
            &blocks[0],
            &settings(pass.name, Applicability::Unsafe, None),
        )
        .unwrap()
        .output
        .unwrap_or_else(|| blocks[0].clone());
        assert_eq!(
            out, blocks[1],
            "{}: the example's after is not what the pass does",
            pass.name
        );
        assert!(!pass.summary().is_empty());
    }
}

/// Lines that are comments (or, with `blank`, blank), in order: a rewrite must keep them.
fn trivia_lines(text: &str, blank: bool) -> Vec<&str> {
    text.split_inclusive('\n')
        .filter(|l| {
            let t = l.trim_start();
            t.starts_with('#') || (blank && t.trim().is_empty())
        })
        .collect()
}

/// Passes that join RUNs and may drop the blank lines between them.
const MERGING: [&str; 2] = ["merge-run-chains", "apt-update-with-install"];

/// Passes that move RUNs (with the comment lines above them) and insert COPYs of single
/// files; they may drop a blank line left behind.
const MOVING: [&str; 1] = ["manifests-first"];

/// For a moving pass: every instruction of the input keeps its text; the RUNs are the same
/// multiset; the other instructions keep their order, and what is new is only COPYs of
/// plain files carrying flags of the COPY they precede, and copies of later WORKDIRs.
fn moved_instructions_kept(name: &str, source: &syntax::Dockerfile, output: &str) {
    let out = syntax::parse(output).unwrap();
    let texts = |f: &syntax::Dockerfile, run: bool| -> Vec<String> {
        f.instructions()
            .filter(|i| (i.kind == syntax::Keyword::Run) == run)
            .map(|i| f.slice(i.range).to_owned())
            .collect()
    };
    let (mut runs_in, mut runs_out) = (texts(source, true), texts(&out, true));
    runs_in.sort_unstable();
    runs_out.sort_unstable();
    assert_eq!(runs_in, runs_out, "{name}: RUN instructions changed");
    let others_in = texts(source, false);
    let out_others: Vec<&syntax::Instruction> = out
        .instructions()
        .filter(|i| i.kind != syntax::Keyword::Run)
        .collect();
    let mut expected = others_in.iter().peekable();
    for (at, ins) in out_others.iter().enumerate() {
        let text = out.slice(ins.range);
        if expected.peek().is_some_and(|e| *e == text) {
            expected.next();
            continue;
        }
        // a WORKDIR repeated before the one it copies
        if ins.kind == syntax::Keyword::Workdir && expected.clone().any(|e| e == text) {
            continue;
        }
        // an inserted COPY: no --from, plain file sources, followed (later) by a COPY
        // or ADD with the same flags
        assert_eq!(
            ins.kind,
            syntax::Keyword::Copy,
            "{name}: unexpected {text:?}"
        );
        assert!(
            ins.flags.iter().all(|f| !f.text.starts_with("--from")),
            "{name}: inserted COPY --from"
        );
        let flags: Vec<&str> = ins.flags.iter().map(|f| f.text.as_str()).collect();
        let source_copy = out_others[at + 1..].iter().find(|i| {
            matches!(i.kind, syntax::Keyword::Copy | syntax::Keyword::Add)
                && i.flags.iter().map(|f| f.text.as_str()).collect::<Vec<_>>() == flags
                && others_in.iter().any(|o| o == out.slice(i.range))
        });
        assert!(
            source_copy.is_some(),
            "{name}: inserted {text:?} precedes no source COPY"
        );
        assert!(
            ins.words.len() >= 2 && ins.words.last().unwrap().text.ends_with('/'),
            "{name}: inserted COPY needs a directory destination: {text:?}"
        );
    }
    assert!(
        expected.next().is_none(),
        "{name}: an instruction other than RUN changed or moved"
    );
}

/// The harness invariants for one run; returns the unified diff (empty when unchanged) and
/// the output, if any.
fn check_run(name: &str, pass: &str, input: &str, s: &Settings) -> (String, Option<String>) {
    let outcome = rewrite(input, s).unwrap_or_else(|e| panic!("{name}: {e}"));
    let Some(output) = outcome.output else {
        assert!(
            outcome.applied.is_empty(),
            "{name}: fixes applied but no output"
        );
        return (String::new(), None);
    };
    // 1. the output reparses
    syntax::parse(&output).unwrap_or_else(|e| panic!("{name}: output does not parse: {e}"));
    // 2. idempotence: a second run changes nothing
    let again = rewrite(&output, s).unwrap();
    assert_eq!(
        again.output, None,
        "{name}: second run still changes the file"
    );
    // 3. untouched bytes: BOM, final newline, line endings and every comment/blank line stay
    assert_eq!(
        input.starts_with('\u{feff}'),
        output.starts_with('\u{feff}'),
        "{name}: BOM"
    );
    assert_eq!(
        input.ends_with('\n'),
        output.ends_with('\n'),
        "{name}: final newline"
    );
    assert_eq!(
        input.contains("\r\n"),
        output.contains("\r\n"),
        "{name}: line endings"
    );
    let blank = !MERGING.contains(&pass) && !MOVING.contains(&pass);
    let kept = trivia_lines(&output, blank);
    if MOVING.contains(&pass) {
        // comment lines move with the RUN they describe: the same lines, maybe reordered
        let mut before = trivia_lines(input, false);
        let mut after = kept.clone();
        before.sort_unstable();
        after.sort_unstable();
        assert_eq!(before, after, "{name}: comment lines changed");
    } else {
        let mut it = kept.iter();
        for line in trivia_lines(input, blank) {
            assert!(
                it.any(|l| *l == line),
                "{name}: lost comment or blank line {line:?}"
            );
        }
    }
    let source = syntax::parse(input).unwrap();
    if MOVING.contains(&pass) {
        moved_instructions_kept(name, &source, &output);
    } else {
        // the passes rewrite only RUN and ADD instructions: every other instruction keeps its
        // bytes exactly, in order
        let mut rest = output.as_str();
        for ins in source.instructions() {
            if matches!(ins.kind, syntax::Keyword::Run | syntax::Keyword::Add) {
                continue;
            }
            let text = source.slice(ins.range);
            let at = rest
                .find(text)
                .unwrap_or_else(|| panic!("{name}: instruction changed or moved: {text:?}"));
            rest = &rest[at + text.len()..];
        }
    }
    // 4. every applied fix is the pass's own
    assert!(
        outcome.applied.iter().all(|f| f.pass == pass),
        "{name}: foreign fix"
    );
    let diff = similar::TextDiff::from_lines(input, &output)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string();
    (diff, Some(output))
}

/// Fixtures per pass; a new pass starts with at least this many.
const MIN_FIXTURES: usize = 15;

#[test]
fn fixtures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut total = 0;
    let mut outputs = Vec::new();
    for pass in passes() {
        let dir = root.join(pass.name);
        let context = dir.join("context");
        let context = context.is_dir().then_some(context.as_path());
        let files = common::dockerfiles(
            std::fs::read_dir(&dir)
                .unwrap_or_else(|_| panic!("{}: no fixtures at {}", pass.name, dir.display())),
        );
        assert!(
            files.len() >= MIN_FIXTURES,
            "{}: only {} fixtures",
            pass.name,
            files.len()
        );
        for path in files {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let input = std::fs::read_to_string(&path).unwrap();
            // a first-line header runs the fixture without the build context
            let context = if input.starts_with("# fixture: no-context") {
                None
            } else {
                context
            };
            let mut report = String::new();
            for threshold in [Applicability::Safe, Applicability::Unsafe] {
                let s = settings(pass.name, threshold, context);
                let (diff, output) = check_run(&name, pass.name, &input, &s);
                outputs.extend(output.map(|o| (format!("{}-{name}", pass.name), o)));
                if name.ends_with("_noop") {
                    assert!(diff.is_empty(), "{name}: a _noop fixture changed:\n{diff}");
                }
                writeln!(report, "--- {threshold} ---\n{diff}").unwrap();
            }
            insta::with_settings!({ snapshot_suffix => format!("{}__{name}", pass.name), prepend_module_to_snapshot => false }, {
                insta::assert_snapshot!("fixture", report);
            });
            total += 1;
        }
    }
    assert!(total >= MIN_FIXTURES * passes().len());
    buildkit_accepts(&outputs);
}

/// Every rewritten fixture must parse with BuildKit's own parser (skipped without the
/// oracle outside CI; `common::oracle_python` fails under `CI`).
fn buildkit_accepts(outputs: &[(String, String)]) {
    let dir = tempfile::tempdir().unwrap();
    let mut list = String::new();
    for (i, (name, output)) in outputs.iter().enumerate() {
        let p = dir.path().join(format!("{i}-{name}"));
        std::fs::write(&p, output).unwrap();
        writeln!(list, "{}", p.display()).unwrap();
    }
    if let Some(lines) = common::run_oracle("buildkit.py", &list) {
        assert_eq!(lines.len(), outputs.len());
        for line in lines {
            let v: serde_json::Value = serde_json::from_str(&line).expect("oracle json");
            assert!(
                v.get("error").is_none(),
                "BuildKit rejects a fixture output: {line}"
            );
        }
    }
}
