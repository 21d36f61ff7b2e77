//! What must hold for any input, whatever its bytes. A failed property panics, which libFuzzer
//! records as a crash; the main crate's `tests/fuzz_regressions.rs` includes this file and
//! replays every saved crash through it.

use std::sync::Arc;

use dfrewrite::syntax::{self, Dockerfile, Item, Keyword};
use dfrewrite::{Applicability, BuildContext, ContextEntry, EntryKind, Error, Settings};

/// Inputs are cut here: the properties are about structure, and libFuzzer's default length
/// cap (4096) is far below it; the cap keeps a seed replay of the 2000-file corpus quick.
const MAX_LEN: usize = 64 * 1024;

/// The parser: never panics, and printing what it parsed gives the input back byte for byte.
pub fn parse(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Ok(file) = syntax::parse(text) {
        assert_eq!(file.print(), text, "parse → print is not the identity");
        // Items tile the source in order.
        let mut at = 0;
        for item in &file.items {
            let range = item_range(item);
            assert_eq!(range.0, at, "items leave a gap or overlap");
            at = range.1;
        }
        assert_eq!(at, text.len(), "items do not reach the end");
    }
}

/// The shell layer: the input as a RUN body and as a whole Dockerfile; never panics, and every
/// range it reports lies on character boundaries of the text it was given (edits are built
/// from them).
pub fn shell(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Ok(script) = dfrewrite::shell::parse(text) {
        check_script(&script, text);
    }
    let Ok(file) = syntax::parse(text) else {
        return;
    };
    let posix = dfrewrite::shell::posix_shells(&file);
    for (instruction, posix) in file.instructions().zip(posix) {
        if instruction.kind != Keyword::Run {
            continue;
        }
        if let Ok(run) = dfrewrite::shell::run_script(instruction, &file.source, posix) {
            if let Some(joined) = instruction.shell_text(&file.source) {
                check_script(&run.script, joined);
            }
            for command in &run.script.commands {
                let source = run.to_source(command.range);
                assert!(
                    text.get(source.start as usize..source.end as usize)
                        .is_some(),
                    "a command maps outside the file or inside a character"
                );
                assert!(
                    source.start >= instruction.range.start && source.end <= instruction.range.end,
                    "a command maps outside its RUN"
                );
            }
        }
    }
}

fn check_script(script: &dfrewrite::shell::Script, text: &str) {
    let within = |start: u32, end: u32| text.get(start as usize..end as usize).is_some();
    for command in &script.commands {
        assert!(
            within(command.range.start, command.range.end),
            "command range"
        );
        let words = command
            .name
            .iter()
            .chain(&command.args)
            .chain(&command.assignments);
        for word in words {
            let slice = text.get(word.range.start as usize..word.range.end as usize);
            assert_eq!(slice, Some(&*word.text), "a word's text is its source");
        }
        assert!(command.chain < script.chains.len(), "chain index");
    }
    for chain in &script.chains {
        assert!(within(chain.range.start, chain.range.end), "chain range");
    }
}

/// The whole rewrite, safe-only and `--unsafe`, every pass: never panics nor fails inside
/// (an internal error is a bug), the output reparses and prints back, a second run changes
/// nothing, and what no edit may touch is unchanged.
pub fn rewrite(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let parsed = syntax::parse(text);
    for (threshold, context) in [
        (Applicability::Safe, false),
        (Applicability::Unsafe, false),
        (Applicability::Safe, true),
        (Applicability::Unsafe, true),
    ] {
        let settings = Settings {
            threshold,
            context: context.then(|| Arc::new(Context) as Arc<dyn BuildContext>),
            dockerfile: context.then(|| "Dockerfile".to_owned()),
            ..Settings::default()
        };
        let outcome = match dfrewrite::rewrite(text, &settings) {
            Ok(outcome) => outcome,
            Err(Error::Invalid { .. }) => {
                assert!(parsed.is_err(), "rewrite refused a file the parser reads");
                return;
            }
            Err(Error::Internal(message)) => panic!("internal error: {message}"),
        };
        let Some(output) = outcome.output else {
            continue;
        };
        let original = parsed.as_ref().expect("a rewritten file parsed");
        let reparsed = syntax::parse(&output).expect("the output reparses");
        assert_eq!(reparsed.print(), output, "the output prints back");
        let again = dfrewrite::rewrite(&output, &settings).expect("the output rewrites");
        assert!(
            again.output.is_none(),
            "a second run changed the output again ({threshold:?}, context: {context})"
        );
        untouched_kept(original, &reparsed, threshold == Applicability::Safe);
    }
}

/// Edits replace bytes inside instructions; what lies outside them must survive: the BOM and
/// parser directives, every comment line, the line-ending style and
/// whether the file ends with a newline. (The engine keeps its edit ranges to itself, so
/// this checks what they must leave alone rather than the ranges.)
///
/// Comment lines are checked in the safe tier only: under `--unsafe`, `cache-mounts` drops an
/// index cleanup that an earlier merge carried into the RUN together with the comment lines
/// between them (`# cleanup` / `rm -rf /var/lib/apt/lists/*`); the comment describes the
/// removed command and lies inside the removed range (found by this target, kept as
/// `regressions/rewrite/unsafe-cleanup-comment`).
fn untouched_kept(before: &Dockerfile, after: &Dockerfile, check_comments: bool) {
    let head = |file: &Dockerfile| -> Vec<String> {
        file.items
            .iter()
            .take_while(|item| matches!(item, Item::Bom(_) | Item::Directive(_)))
            .map(|item| slice(file, item).to_owned())
            .collect()
    };
    assert_eq!(
        head(before),
        head(after),
        "BOM or parser directives changed"
    );
    // Comment lines anywhere: a merge may carry one into a continuation, never drop it.
    let comments = |file: &Dockerfile| -> Vec<String> {
        let mut lines: Vec<String> = file
            .source
            .lines()
            .map(str::trim)
            .filter(|line| line.starts_with('#'))
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    };
    if check_comments {
        let (mut lost, kept) = (comments(before), comments(after));
        lost.retain(|line| kept.binary_search(line).is_err());
        assert!(lost.is_empty(), "comment lines lost: {lost:?}");
    }
    let (old, new) = (before.source.as_str(), after.source.as_str());
    if !old.is_empty() {
        assert_eq!(
            old.ends_with('\n'),
            new.ends_with('\n'),
            "the final newline changed"
        );
    }
    if !old.contains('\r') {
        assert!(!new.contains('\r'), "CR added to a file without any");
    }
}

/// A build context in which the passes that read one find something: a name with a dot is a
/// small file, any other a directory; the root holds what `.dockerignore` and
/// `manifests-first` look for.
struct Context;

impl BuildContext for Context {
    fn probe(&self, path: &str) -> ContextEntry {
        match path.rsplit('/').next() {
            Some(name) if name.contains('.') => ContextEntry::File {
                head: b"print(1)\n".to_vec(),
            },
            _ => ContextEntry::Directory,
        }
    }

    fn read(&self, path: &str) -> Option<Vec<u8>> {
        path.contains('.').then(|| b"requests==2.31.0\n".to_vec())
    }

    fn list(&self, dir: &str) -> Option<dfrewrite::context::DirEntries> {
        let entries: &[(&str, EntryKind)] = if dir.is_empty() {
            &[
                (".git", EntryKind::Directory),
                ("node_modules", EntryKind::Directory),
                ("app.py", EntryKind::File),
                ("requirements.txt", EntryKind::File),
                ("package.json", EntryKind::File),
                ("src", EntryKind::Directory),
                ("Dockerfile", EntryKind::File),
            ]
        } else {
            &[("main.py", EntryKind::File)]
        };
        Some(entries.iter().map(|(n, k)| ((*n).to_owned(), *k)).collect())
    }
}

fn slice<'a>(file: &'a Dockerfile, item: &Item) -> &'a str {
    let (start, end) = item_range(item);
    &file.source[start..end]
}

fn item_range(item: &Item) -> (usize, usize) {
    let range = match item {
        Item::Bom(r) | Item::Comment(r) | Item::Blank(r) => *r,
        Item::Directive(d) => d.range,
        Item::Instruction(i) => i.range,
    };
    (range.start as usize, range.end as usize)
}

fn text(data: &[u8]) -> Option<&str> {
    let data = &data[..data.len().min(MAX_LEN)];
    // A cut inside a character is not UTF-8 and is refused like any other such input.
    dfrewrite::decode(data).ok()
}
