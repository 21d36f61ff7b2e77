//! The parser is lossless: tokens tile the input and printing reproduces it, on the real
//! corpus, on the tricky cases, and on generated Dockerfile-like text.

// Tests report the figures they measure on stderr.
#![allow(clippy::print_stderr)]

mod common;

use dfrewrite::syntax::{self, Args, Dockerfile, Item};
use proptest::prelude::*;
use std::fmt::Write as _;

/// Tokens tile the source: contiguous, non-empty, from 0 to the end; items too.
fn assert_lossless(file: &Dockerfile, source: &str) {
    assert_eq!(file.print(), source, "print is not the identity");
    let mut at = 0;
    for t in file.tokens() {
        assert_eq!(t.range.start, at, "gap or overlap before {t:?}");
        assert!(!t.range.is_empty(), "empty token {t:?}");
        at = t.range.end;
    }
    assert_eq!(at as usize, source.len());
    let mut at = 0;
    for item in &file.items {
        let r = Dockerfile::item_range(item);
        assert_eq!(r.start, at, "items do not tile");
        at = r.end;
    }
    assert_eq!(at as usize, source.len());
}

/// Typed views point at the bytes they describe.
fn assert_views(file: &Dockerfile) {
    for ins in file.instructions() {
        let kw = file.slice(ins.keyword());
        // a keyword may be split by a continuation, but never starts with a blank
        assert!(!kw.starts_with(char::is_whitespace), "keyword {kw:?}");
        assert!(ins.range.contains_range(ins.keyword()));
        for f in ins.flags() {
            assert!(
                file.slice(f.range).starts_with("--"),
                "flag {:?}",
                file.slice(f.range)
            );
        }
        if let Args::Json { range } = &ins.args {
            assert!(file.slice(*range).starts_with('['));
            for e in ins.json_elems().iter() {
                let s = file.slice(e.range);
                assert!(s.starts_with('"') && s.ends_with('"'), "json elem {s:?}");
            }
        }
        for h in ins.heredocs() {
            let term = file.slice(h.terminator);
            let term = term.trim_end_matches(['\r', '\n']);
            let term = if h.chomp {
                term.trim_start_matches('\t')
            } else {
                term
            };
            assert_eq!(term, h.name);
            assert!(file.slice(h.marker).contains("<<"));
        }
        if let Some(text) = ins.shell_text(&file.source) {
            // every segment of the joined line is the source text it claims to be
            for s in ins.segments().iter() {
                let joined =
                    &ins.line(&file.source)[s.joined as usize..(s.joined + s.len) as usize];
                let source = &file.source[s.source as usize..(s.source + s.len) as usize];
                assert_eq!(joined, source);
            }
            assert!(!text.is_empty());
        }
    }
}

#[test]
fn round_trip_on_corpus_and_cases() {
    let (Some(mut files), Some(cases)) = (common::corpus_files(), common::case_files()) else {
        return;
    };
    files.extend(cases);
    let parsed = common::for_each_parsed(&files, |_, text, file| {
        assert_lossless(file, text);
        assert_views(file);
    });
    eprintln!("lossless on {parsed} of {} files", files.len());
    assert!(parsed >= 2015, "only {parsed} files parsed");
}

/// A readable dump of the tree, for snapshots of the tricky cases.
fn dump(file: &Dockerfile) -> String {
    let mut out = String::new();
    writeln!(out, "escape: {:?}", file.escape).unwrap();
    for item in &file.items {
        match item {
            Item::Bom(_) => writeln!(out, "BOM").unwrap(),
            Item::Directive(d) => {
                writeln!(
                    out,
                    "DIRECTIVE {}={}",
                    file.slice(d.key),
                    file.slice(d.value)
                )
                .unwrap();
            }
            Item::Comment(r) => writeln!(out, "COMMENT {:?}", file.slice(*r)).unwrap(),
            Item::Blank(r) => writeln!(out, "BLANK {:?}", file.slice(*r)).unwrap(),
            Item::Instruction(i) => {
                writeln!(
                    out,
                    "INSTRUCTION lines {}-{} {:?} json={} value={:?}",
                    i.start_line,
                    i.end_line(),
                    i.kind,
                    i.json,
                    i.value(&file.source)
                )
                .unwrap();
                for t in i.tokens() {
                    writeln!(out, "  {:?} {:?}", t.kind, file.slice(t.range)).unwrap();
                }
                for f in i.flags() {
                    writeln!(
                        out,
                        "  flag {:?} name={:?} value={:?}",
                        f.text,
                        file.slice(f.name),
                        f.value.map(|v| file.slice(v))
                    )
                    .unwrap();
                }
                for (range, _) in &i.split_words(&file.source, file.escape) {
                    writeln!(out, "  word {:?}", file.slice(*range)).unwrap();
                }
                for h in i.heredocs() {
                    writeln!(
                        out,
                        "  heredoc {:?} chomp={} quoted={} content={:?}",
                        h.name, h.chomp, h.quoted, h.content
                    )
                    .unwrap();
                }
                if let Some(t) = i.trigger() {
                    writeln!(out, "  trigger {:?} {:?}", t.kind, file.slice(t.range)).unwrap();
                }
                if let Some(text) = i.shell_text(&file.source) {
                    writeln!(out, "  joined {text:?}").unwrap();
                }
            }
        }
    }
    out
}

#[test]
fn case_snapshots() {
    insta::glob!("../../shared/cases", "*.Dockerfile", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let rendered = match syntax::parse(&text) {
            Ok(file) => {
                assert_lossless(&file, &text);
                dump(&file)
            }
            Err(e) => format!("error at {}: {}", e.offset, e.message),
        };
        insta::assert_snapshot!(rendered);
    });
}

#[test]
fn tricky_shapes() {
    // `<<` that is not a heredoc, a line holding only `\` before the keyword
    let text = "FROM a\nRUN echo \"a<<b\" $((1<<2)) x<<<y\n\\\nRUN b\n";
    let file = syntax::parse(text).unwrap();
    let ins: Vec<_> = file.instructions().collect();
    assert_eq!(ins.len(), 3);
    assert!(ins[1].heredocs().is_empty());
    assert_eq!(ins[2].start_line, 3);
    assert_eq!(ins[2].shell_text(&file.source), Some("b"));
    // unterminated heredoc is an error pointing at the marker
    let err = syntax::parse("FROM a\nRUN <<EOF\necho\n").unwrap_err();
    assert_eq!(err.offset, 11);
    assert!(err.message.contains("unterminated heredoc"));
    // CMD [not-json] is shell form; ENTRYPOINT [] is an empty exec form
    let file = syntax::parse("FROM a\nCMD [not-json]\nENTRYPOINT []\n").unwrap();
    let ins: Vec<_> = file.instructions().collect();
    assert!(!ins[1].is_json());
    assert_eq!(ins[1].shell_text(&file.source), Some("[not-json]"));
    assert!(ins[2].is_json());
    assert_eq!(ins[2].value(&file.source), Vec::<&str>::new());
}

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("FROM alpine:3.19 AS build".to_owned()),
        Just("RUN apt-get update && \\".to_owned()),
        Just("    apt-get install -y curl".to_owned()),
        Just("RUN echo hi \\  ".to_owned()),
        Just("# a comment".to_owned()),
        Just("  # indented".to_owned()),
        Just(String::new()),
        Just(" \t".to_owned()),
        Just("\\".to_owned()),
        Just("RUN <<EOF".to_owned()),
        Just("RUN cat > /f <<'X' && chmod 644 /f".to_owned()),
        Just("RUN <<-EOT".to_owned()),
        Just("\tEOT".to_owned()),
        Just("EOF".to_owned()),
        Just("X".to_owned()),
        Just("COPY [\"a b\", \"/c/\"]".to_owned()),
        Just("CMD [not-json]".to_owned()),
        Just("ENV A=1 \\".to_owned()),
        Just("    B=2".to_owned()),
        Just("ONBUILD RUN make".to_owned()),
        Just("run --mount=type=cache,target=/root/.cache pip install x".to_owned()),
        Just("# escape=`".to_owned()),
        Just("RUN echo `".to_owned()),
        Just("LABEL a=\"b c\" d=e".to_owned()),
        Just("HEALTHCHECK --interval=5s CMD [\"true\"]".to_owned()),
        "[ -~]{0,20}".prop_map(|s| s),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn generated_text_round_trips(
        bom in any::<bool>(),
        lines in prop::collection::vec((fragment(), prop_oneof![Just("\n"), Just("\r\n"), Just("\n"), Just("")]), 0..14),
    ) {
        let mut text = String::new();
        if bom {
            text.push('\u{feff}');
        }
        for (line, end) in &lines {
            text.push_str(line);
            text.push_str(if end.is_empty() { "\n" } else { end });
        }
        if lines.last().is_some_and(|(_, e)| e.is_empty()) {
            text.pop();
        }
        match syntax::parse(&text) {
            Ok(file) => {
                assert_lossless(&file, &text);
                assert_views(&file);
            }
            Err(e) => prop_assert!(e.offset as usize <= text.len()),
        }
    }
}
