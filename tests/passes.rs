//! Every pass: its documentation is complete and its example is what it does; its fixtures
//! produce the snapshotted diff, and the harness invariants hold in safe and unsafe runs.

// Tests report the figures they measure on stderr.
#![allow(clippy::print_stderr)]

mod common;

use dfrewrite::{
    Applicability, BuildContext, ContextEntry, EntryKind, FixAvailability, NewFile, PassInfo,
    Settings, passes, rewrite, syntax,
};
use std::collections::BTreeMap;
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

    fn list(&self, dir: &str) -> Option<dfrewrite::context::DirEntries> {
        let entries = std::fs::read_dir(self.0.join(dir)).ok()?;
        entries
            .map(|e| {
                let e = e.ok()?;
                let t = e.file_type().ok()?;
                let kind = if t.is_symlink() {
                    EntryKind::Symlink
                } else if t.is_dir() {
                    EntryKind::Directory
                } else {
                    EntryKind::File
                };
                Some((e.file_name().into_string().ok()?, kind))
            })
            .collect()
    }

    fn read(&self, path: &str) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.0.join(path)).ok()?;
        (bytes.len() <= dfrewrite::context::READ_LIMIT).then_some(bytes)
    }
}

/// A build context held in memory: a fixture's `NAME.tree` listing (one path a line, `/` at
/// the end for a directory, `#` comments), for entries git cannot hold such as `.git`; and,
/// laid over another context, the files a first run proposed (for the idempotence check).
#[derive(Default)]
struct MemContext {
    base: Option<Arc<dyn BuildContext>>,
    entries: BTreeMap<String, EntryKind>,
}

impl MemContext {
    fn add(&mut self, path: &str) {
        let (path, kind) = match path.strip_suffix('/') {
            Some(dir) => (dir, EntryKind::Directory),
            None => (path, EntryKind::File),
        };
        let mut at = path;
        while let Some((parent, _)) = at.rsplit_once('/') {
            self.entries.insert(parent.to_owned(), EntryKind::Directory);
            at = parent;
        }
        self.entries.insert(path.to_owned(), kind);
    }

    fn from_listing(text: &str) -> Self {
        let mut ctx = Self::default();
        for line in text.lines().map(str::trim) {
            if !line.is_empty() && !line.starts_with('#') {
                ctx.add(line);
            }
        }
        ctx
    }
}

impl BuildContext for MemContext {
    fn probe(&self, path: &str) -> ContextEntry {
        match self.entries.get(path) {
            Some(EntryKind::Directory) => ContextEntry::Directory,
            Some(_) => ContextEntry::File { head: Vec::new() },
            None if path.is_empty() || path == "." => ContextEntry::Directory,
            None => self
                .base
                .as_ref()
                .map_or(ContextEntry::Missing, |b| b.probe(path)),
        }
    }

    fn list(&self, dir: &str) -> Option<dfrewrite::context::DirEntries> {
        let mut found: BTreeMap<String, EntryKind> = match &self.base {
            Some(base) => base
                .list(dir)?
                .iter()
                .map(|(n, k)| (n.to_owned(), k))
                .collect(),
            None => BTreeMap::new(),
        };
        for (path, kind) in &self.entries {
            let name = if dir.is_empty() {
                Some(path.as_str())
            } else {
                path.strip_prefix(dir).and_then(|r| r.strip_prefix('/'))
            };
            if let Some(name) = name.filter(|n| !n.contains('/')) {
                found.insert(name.to_owned(), *kind);
            }
        }
        Some(found.into_iter().collect())
    }
}

fn settings(
    pass: &str,
    threshold: Applicability,
    context: Option<Arc<dyn BuildContext>>,
) -> Settings {
    Settings {
        threshold,
        select: Some(vec![pass.to_owned()]),
        // a fixture's Dockerfile stands at the root of its context, as `Dockerfile`
        dockerfile: context.is_some().then(|| "Dockerfile".to_owned()),
        context,
        ..Settings::default()
    }
}

/// The context of a fixture: `NAME.context/`, else `NAME.tree`, else the pass's `context/`.
fn fixture_context(dir: &Path, name: &str) -> Option<Arc<dyn BuildContext>> {
    let own = dir.join(format!("{name}.context"));
    let tree = dir.join(format!("{name}.tree"));
    let shared = dir.join("context");
    if own.is_dir() {
        Some(Arc::new(DirContext(own)))
    } else if tree.is_file() {
        let listing = std::fs::read_to_string(tree).unwrap();
        Some(Arc::new(MemContext::from_listing(&listing)))
    } else if shared.is_dir() {
        Some(Arc::new(DirContext(shared)))
    } else {
        None
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
        // the example runs with the unsafe tier, without a build context unless the pass's
        // fixtures hold one for it (`example.context/`)
        let example_context = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(pass.name)
            .join("example.context");
        let context: Option<Arc<dyn BuildContext>> = example_context
            .is_dir()
            .then(|| Arc::new(DirContext(example_context)) as Arc<dyn BuildContext>);
        let out = rewrite(
            &blocks[0],
            &settings(pass.name, Applicability::Unsafe, context),
        )
        .unwrap()
        .output
        .unwrap_or_else(|| blocks[0].clone());
        assert_eq!(
            out, blocks[1],
            "{}: the example's after is not what the pass does",
            pass.name
        );
        assert!(
            !pass.summary.is_empty()
                && !pass.summary.contains('\n')
                && !pass.summary.ends_with('.'),
            "{}: the summary is one line without a final period",
            pass.name
        );
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

/// The new files of one run: each one's applicability, message and content, for the
/// snapshot; checks they are the pass's own and that a run with them in place (over the same
/// context) proposes nothing more.
fn check_files(
    name: &str,
    pass: &PassInfo,
    input: &str,
    s: &Settings,
    files: &[NewFile],
) -> String {
    let mut report = String::new();
    if files.is_empty() {
        return report;
    }
    assert!(
        pass.may.proposes_file,
        "{name}: a new file from a pass that does not declare `proposes_file`"
    );
    let pass = pass.name;
    let mut overlay = MemContext {
        base: s.context.clone(),
        ..MemContext::default()
    };
    for file in files {
        assert_eq!(file.pass, pass, "{name}: foreign new file");
        overlay.add(&file.path);
        write!(
            report,
            "+++ new file {} ({}, line {})\n# {}\n{}",
            file.path, file.applicability, file.line, file.message, file.content
        )
        .unwrap();
    }
    let with_files = Settings {
        context: Some(Arc::new(overlay)),
        ..s.clone()
    };
    let again = rewrite(input, &with_files).unwrap();
    assert!(
        again.files.is_empty() && again.advice.iter().all(|a| a.pass != pass),
        "{name}: a run with the new files in place proposes more"
    );
    report
}

/// For a pass that may move instructions: every instruction of the input keeps its text; the RUNs are the same
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
            ins.flags().iter().all(|f| !f.text.starts_with("--from")),
            "{name}: inserted COPY --from"
        );
        let flags: Vec<&str> = ins.flags().iter().map(|f| f.text.as_str()).collect();
        let source_copy = out_others[at + 1..].iter().find(|i| {
            matches!(i.kind, syntax::Keyword::Copy | syntax::Keyword::Add)
                && i.flags()
                    .iter()
                    .map(|f| f.text.as_str())
                    .collect::<Vec<_>>()
                    == flags
                && others_in.iter().any(|o| o == out.slice(i.range))
        });
        assert!(
            source_copy.is_some(),
            "{name}: inserted {text:?} precedes no source COPY"
        );
        assert!(
            ins.words.len() >= 2
                && ins
                    .word_texts(&out.source)
                    .next_back()
                    .unwrap()
                    .ends_with('/'),
            "{name}: inserted COPY needs a directory destination: {text:?}"
        );
    }
    assert!(
        expected.next().is_none(),
        "{name}: an instruction other than RUN changed or moved"
    );
}

/// For a pass that changes the user: every instruction of the input is still there, in
/// order, a COPY perhaps with `--chown=N` added after its keyword; what is new is only USER
/// and RUN instructions, and never `chmod 777` or USER root.
fn user_changes_kept(name: &str, source: &syntax::Dockerfile, output: &str) {
    let out = syntax::parse(output).unwrap();
    let mut expected = source.instructions().peekable();
    for ins in out.instructions() {
        let text = out.slice(ins.range);
        if let Some(e) = expected.peek() {
            let before = source.slice(e.range);
            let chowned = e.kind == syntax::Keyword::Copy && ins.kind == syntax::Keyword::Copy && {
                let kw = out.slice(ins.keyword());
                let rest = &text[kw.len()..];
                rest.strip_prefix(" --chown=")
                    .and_then(|r| r.split_once(' '))
                    .is_some_and(|(uid, r)| {
                        uid.chars().all(|c| c.is_ascii_digit()) && before == format!("{kw} {r}")
                    })
            };
            if before == text || chowned {
                expected.next();
                continue;
            }
        }
        assert!(
            matches!(ins.kind, syntax::Keyword::User | syntax::Keyword::Run),
            "{name}: unexpected new or changed instruction {text:?}"
        );
        assert!(
            !text.contains("777")
                && !ins
                    .value(&out.source)
                    .iter()
                    .any(|v| *v == "root" || *v == "0"),
            "{name}: {text:?}"
        );
    }
    assert!(
        expected.next().is_none(),
        "{name}: an instruction of the input changed or went missing"
    );
}

/// For a pass that changes a base: the same instructions in the same order, a FROM perhaps
/// with another tag of the same repository.
fn base_changes_kept(name: &str, source: &syntax::Dockerfile, output: &str) {
    let out = syntax::parse(output).unwrap();
    let before: Vec<_> = source.instructions().collect();
    let after: Vec<_> = out.instructions().collect();
    assert_eq!(
        before.len(),
        after.len(),
        "{name}: instructions added or removed"
    );
    for (b, a) in before.iter().zip(&after) {
        let (bt, at) = (source.slice(b.range), out.slice(a.range));
        if bt == at {
            continue;
        }
        assert_eq!(b.kind, syntax::Keyword::From, "{name}: {at:?} changed");
        let repo = |t: &str| t.split(':').next().unwrap_or_default().to_owned();
        assert_eq!(
            repo(b.word_text(0, &source.source)),
            repo(a.word_text(0, &out.source)),
            "{name}: another repository"
        );
    }
}

/// For a pass that changes metadata: the same instructions in the same order, a MAINTAINER
/// perhaps turned into a LABEL of the OCI authors key.
fn metadata_changes_kept(name: &str, source: &syntax::Dockerfile, output: &str) {
    let out = syntax::parse(output).unwrap();
    let before: Vec<_> = source.instructions().collect();
    let after: Vec<_> = out.instructions().collect();
    assert_eq!(
        before.len(),
        after.len(),
        "{name}: instructions added or removed"
    );
    for (b, a) in before.iter().zip(&after) {
        if source.slice(b.range) == out.slice(a.range) {
            continue;
        }
        assert!(
            b.kind == syntax::Keyword::Maintainer
                && a.kind == syntax::Keyword::Label
                && a.value(&out.source).first().copied()
                    == Some("org.opencontainers.image.authors"),
            "{name}: {:?} became {:?}",
            source.slice(b.range),
            out.slice(a.range)
        );
    }
}

/// What a pass declares about its fixes holds for one run: a pass that never fixes applies
/// nothing; a pass that always fixes leaves no finding unapplied in an `--unsafe` run.
fn check_fix_availability(name: &str, pass: &PassInfo, s: &Settings, outcome: &dfrewrite::Outcome) {
    let own = |f: &&dfrewrite::AppliedFix| f.pass == pass.name;
    match pass.fix {
        FixAvailability::Never => assert!(
            outcome.applied.is_empty() && outcome.files.is_empty(),
            "{name}: `fix: Never`, yet a fix was applied"
        ),
        FixAvailability::Always if s.threshold == Applicability::Unsafe => assert!(
            outcome.advice.iter().filter(own).count() == 0,
            "{name}: `fix: Always`, yet a finding has no fix"
        ),
        FixAvailability::Always | FixAvailability::Sometimes => {}
    }
}

/// The shape of the file changes only as the pass declares: the number of RUNs only when
/// it merges, the stages only when it adds one, the USER instructions only when it changes
/// the user.
fn check_declared_shape(name: &str, pass: &PassInfo, source: &syntax::Dockerfile, output: &str) {
    let out = syntax::parse(output).unwrap();
    let of = |f: &syntax::Dockerfile, kind: syntax::Keyword| -> Vec<String> {
        f.instructions()
            .filter(|i| i.kind == kind)
            .map(|i| f.slice(i.range).to_owned())
            .collect()
    };
    // a pass that adds a stage or changes the user may add RUNs
    if !pass.may.merges && !pass.may.adds_stage && !pass.may.changes_user {
        assert_eq!(
            of(source, syntax::Keyword::Run).len(),
            of(&out, syntax::Keyword::Run).len(),
            "{name}: the number of RUNs changed, but the pass does not declare `merges`"
        );
    }
    if pass.may.adds_stage && !pass.may.merges {
        // a new stage brings RUNs of its own; the file's own RUNs stay
        let trim = |r: &String| r.trim_end_matches(['\r', '\n']).to_owned();
        let after: Vec<String> = of(&out, syntax::Keyword::Run).iter().map(trim).collect();
        for run in of(source, syntax::Keyword::Run) {
            assert!(after.contains(&trim(&run)), "{name}: RUN changed: {run:?}");
        }
    }
    if !pass.may.adds_stage && !pass.may.changes_base {
        assert_eq!(
            of(source, syntax::Keyword::From),
            of(&out, syntax::Keyword::From),
            "{name}: the stages changed, but the pass does not declare `adds_stage`"
        );
    }
    if !pass.may.changes_user {
        assert_eq!(
            of(source, syntax::Keyword::User),
            of(&out, syntax::Keyword::User),
            "{name}: USER changed, but the pass does not declare `changes_user`"
        );
    }
}

/// What users read of one run: each applied fix and each finding not applied, with the line
/// of the original file it refers to.
fn messages(outcome: &dfrewrite::Outcome) -> String {
    let mut out = String::new();
    for (what, fixes) in [("applied", &outcome.applied), ("advice", &outcome.advice)] {
        for f in fixes {
            writeln!(
                out,
                "{what}: line {}: {} ({}): {}",
                f.line, f.pass, f.applicability, f.message
            )
            .unwrap();
        }
    }
    out
}

/// The harness invariants for one run; returns the messages, the unified diff with the new
/// files' report (empty when unchanged), and the output, if any.
fn check_run(
    name: &str,
    info: &PassInfo,
    input: &str,
    s: &Settings,
) -> (String, String, Option<String>) {
    let pass = info.name;
    let outcome = rewrite(input, s).unwrap_or_else(|e| panic!("{name}: {e}"));
    let said = messages(&outcome);
    let files = check_files(name, info, input, s, &outcome.files);
    check_fix_availability(name, info, s, &outcome);
    let Some(output) = outcome.output else {
        assert!(
            outcome.applied.is_empty(),
            "{name}: fixes applied but no output"
        );
        return (said, files, None);
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
    // a merge may drop the blank lines between two RUNs, a move the blank line left behind
    let blank = !info.may.merges && !info.may.moves;
    let kept = trivia_lines(&output, blank);
    if info.may.moves {
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
    check_declared_shape(name, info, &source, &output);
    if info.may.moves {
        moved_instructions_kept(name, &source, &output);
    } else if info.may.changes_user {
        user_changes_kept(name, &source, &output);
    } else if info.may.changes_base {
        base_changes_kept(name, &source, &output);
    } else if info.may.changes_metadata {
        metadata_changes_kept(name, &source, &output);
    } else {
        // the passes rewrite only RUN and ADD instructions: every other instruction keeps its
        // bytes exactly, in order
        let mut rest = output.as_str();
        for ins in source.instructions() {
            if matches!(ins.kind, syntax::Keyword::Run | syntax::Keyword::Add) {
                continue;
            }
            let mut text = source.slice(ins.range);
            // a pass that adds a stage names the FROM it splits (` AS build`), or renames it
            // when the runtime stage takes its name
            if info.may.adds_stage && ins.kind == syntax::Keyword::From {
                text = text.trim_end_matches(['\r', '\n']);
                if let Some((_, Some(stage))) = ins.from_parts(&source.source) {
                    text = text.trim_end();
                    text = &text[..text.len() - stage.len()];
                }
            }
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
    (said, diff + &files, Some(output))
}

/// The spellings every fixture also runs in, generated here rather than copied by hand: the
/// same file with CRLF line ends, with a BOM, ending in a comment without a line break, and
/// with the
/// backtick escape character. Each must give the fixture's own result, spelled the same way.
#[derive(Debug, Clone, Copy)]
enum Variant {
    Crlf,
    Bom,
    NoFinalNewline,
    Backtick,
}

const VARIANTS: [Variant; 4] = [
    Variant::Crlf,
    Variant::Bom,
    Variant::NoFinalNewline,
    Variant::Backtick,
];

impl Variant {
    /// The fixture respelled, or `None` when it is already spelled so (or, for the
    /// backtick, holds a backslash that is not a line continuation, which would read
    /// differently).
    fn input(self, input: &str) -> Option<String> {
        match self {
            Variant::Crlf => (!input.contains('\r')).then(|| self.respell(input)),
            Variant::Bom => (!input.starts_with('\u{feff}')).then(|| self.respell(input)),
            Variant::NoFinalNewline => input.ends_with('\n').then(|| self.respell(input)),
            Variant::Backtick => {
                let only_continuations = input.match_indices('\\').all(|(at, _)| {
                    input[at + 1..].starts_with('\n') || input[at + 1..].starts_with("\r\n")
                });
                let directive = input
                    .lines()
                    .next()
                    .is_some_and(|l| l.starts_with("# escape") || l.starts_with("# syntax"));
                (only_continuations && !input.contains('`') && !directive)
                    .then(|| self.respell(input))
            }
        }
    }

    /// The same respelling of a whole text (the expected output).
    fn respell(self, text: &str) -> String {
        match self {
            Variant::Crlf => text.replace('\n', "\r\n"),
            Variant::Bom => format!("\u{feff}{text}"),
            // a last line without a line break after the instructions: the instructions keep
            // theirs (a last instruction without one has fixtures of its own)
            Variant::NoFinalNewline => format!("{text}# end"),
            Variant::Backtick => {
                let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
                // a BOM stays first: after the directive it would start an unknown instruction
                let (bom, text) = text
                    .strip_prefix('\u{feff}')
                    .map_or(("", text), |rest| ("\u{feff}", rest));
                let body = text.replace("\\\r\n", "`\r\n").replace("\\\n", "`\n");
                format!("{bom}# escape=`{newline}{body}")
            }
        }
    }

    /// Lines the respelling adds before the first line.
    fn line_shift(self) -> u32 {
        match self {
            Variant::Backtick => 1,
            _ => 0,
        }
    }
}

/// Runs `input` respelled as `variant` and checks the invariants and that the result is the
/// fixture's own, respelled: the same output and the same fixes on the same lines.
fn check_variant(
    name: &str,
    pass: &PassInfo,
    input: &str,
    s: &Settings,
    variant: Variant,
    expected: &dfrewrite::Outcome,
) {
    let Some(spelled) = variant.input(input) else {
        return;
    };
    let label = format!("{name} ({variant:?})");
    check_run(&label, pass, &spelled, s);
    let got = rewrite(&spelled, s).unwrap();
    assert_eq!(
        got.output,
        expected.output.as_deref().map(|o| variant.respell(o)),
        "{label}: not the fixture's output, respelled"
    );
    let lines = |o: &dfrewrite::Outcome, shift: u32| -> Vec<(String, u32)> {
        o.applied
            .iter()
            .chain(&o.advice)
            .map(|f| (format!("{} {}", f.pass, f.applicability), f.line + shift))
            .collect()
    };
    assert_eq!(
        lines(&got, 0),
        lines(expected, variant.line_shift()),
        "{label}: not the fixture's fixes and lines"
    );
}

/// Fixtures per pass; a new pass starts with at least this many.
const MIN_FIXTURES: usize = 15;

#[test]
fn fixtures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    // DFREWRITE_FIXTURE=pass or pass/case runs only those fixtures
    let filter = std::env::var("DFREWRITE_FIXTURE").ok();
    let wanted = |pass: &str, name: &str| {
        filter
            .as_deref()
            .is_none_or(|f| f == pass || f == format!("{pass}/{name}"))
    };
    let mut total = 0;
    let mut outputs = Vec::new();
    for pass in passes() {
        let dir = root.join(pass.name);
        let mut fixed = false;
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
            if !wanted(pass.name, &name) {
                continue;
            }
            let input = std::fs::read_to_string(&path).unwrap();
            // a first-line header runs the fixture without the build context
            let no_context = input.starts_with("# fixture: no-context");
            let mut report = String::new();
            for threshold in [Applicability::Safe, Applicability::Unsafe] {
                let context = if no_context {
                    None
                } else {
                    fixture_context(&dir, &name)
                };
                let s = settings(pass.name, threshold, context);
                let (said, diff, output) = check_run(&name, pass, &input, &s);
                let base = rewrite(&input, &s).unwrap();
                for variant in VARIANTS {
                    check_variant(&name, pass, &input, &s, variant, &base);
                }
                fixed |= output.is_some() || diff.contains("+++ new file");
                outputs.extend(output.map(|o| (format!("{}-{name}", pass.name), o)));
                if name.ends_with("_noop") {
                    assert!(diff.is_empty(), "{name}: a _noop fixture changed:\n{diff}");
                }
                // an `_unsafe` fixture: no change in the safe tier, a change with --unsafe
                if name.ends_with("_unsafe") {
                    let expect_change = threshold == Applicability::Unsafe;
                    assert_eq!(
                        !diff.is_empty(),
                        expect_change,
                        "{name}: an _unsafe fixture must change with --unsafe only ({threshold}):\n{diff}"
                    );
                }
                writeln!(report, "--- {threshold} ---\n{said}{diff}").unwrap();
            }
            insta::with_settings!({ snapshot_suffix => format!("{}__{name}", pass.name), prepend_module_to_snapshot => false }, {
                insta::assert_snapshot!("fixture", report);
            });
            total += 1;
        }
        // a pass that fixes always or sometimes shows a fix in at least one fixture
        assert!(
            fixed || filter.is_some() || pass.fix == FixAvailability::Never,
            "{}: `fix: {:?}`, yet no fixture is fixed",
            pass.name,
            pass.fix
        );
    }
    match &filter {
        None => assert!(total >= MIN_FIXTURES * passes().len()),
        Some(f) => assert!(total > 0, "DFREWRITE_FIXTURE={f} matches no fixture"),
    }
    common::assert_buildkit_accepts(&outputs);
}
