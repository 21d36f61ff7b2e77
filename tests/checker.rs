//! A checker for the classes of broken rewrites that review found, run over the whole corpus
//! safe-only and `--unsafe`. It reads the input and the output as text, on its own terms
//! (not through the passes' guards), and reports:
//!
//! - **deleted-read**: a rewrite stops a path from reaching the image (a new `rm` of it, a
//!   new cache mount on it, `apk --no-cache` or a dropped `apk update`) while a later
//!   instruction of the stage, or of a stage built `FROM` it or copying `--from` it, reads it:
//!   a package manager that reads the index without refreshing it first in its own RUN, or a
//!   `COPY --from` of the path;
//! - **merged-variable**: a merge puts a command after one that sets a variable it reads
//!   (`for PKG in …`, `read X`, `X=…`, `export X`, `local X`, `getopts … X`), so it sees a
//!   value it did not see before;
//! - **long-line**: an added line longer than the longer of 120 characters and the input's
//!   longest line.
//!
//! - **lost-mount**: the `--unsafe` run of the input mounts a cache in a stage that the
//!   `--unsafe` run of the safe output does not (what a safe pass wrote blocks cache-mounts
//!   later).
//!
//! Findings are printed with the file and the line; the test fails on any of them.

// Tests report the figures they measure on stderr.
#![allow(clippy::print_stderr)]

mod common;

use dfrewrite::syntax::{self, Dockerfile, Instruction, Keyword};
use dfrewrite::{Applicability, Settings, rewrite};
use std::collections::BTreeMap;

/// A path-keeping thing a package manager needs, with the words that read it and the words
/// that refresh it in the same RUN.
struct Store {
    dir: &'static str,
    readers: &'static [&'static str],
    /// An argument after which a reader does not need the stored copy.
    fresh: &'static [&'static str],
}

const STORES: &[Store] = &[
    Store {
        dir: "/var/lib/apt/lists",
        readers: &[
            "apt-get",
            "apt",
            "aptitude",
            "apt-cache",
            "gdebi",
            "apt-file",
        ],
        fresh: &["update"],
    },
    Store {
        dir: "/var/cache/apk",
        readers: &["apk"],
        fresh: &["update", "-U", "--update", "--update-cache", "--no-cache"],
    },
];

/// Shell words of a body, roughly: split at blanks and operators, quotes dropped.
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')' | '`' | '{' | '}') {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            if !c.is_whitespace() {
                out.push(c.to_string());
            }
        } else if c != '"' && c != '\'' {
            word.push(c);
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

fn is_separator(w: &str) -> bool {
    matches!(w, ";" | "&" | "|" | "(" | ")" | "`" | "{" | "}")
}

/// The command words of the body: the first word of each simple command (after wrappers
/// like `sudo`, `env`, `-c` strings are split the same way).
fn commands(text: &str) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    for w in words(text) {
        if is_separator(&w) {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else {
            current.push(w);
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    // drop wrappers and assignments in front
    for c in &mut out {
        while let Some(first) = c.first() {
            let wrapper = matches!(
                first.as_str(),
                "sudo"
                    | "env"
                    | "nice"
                    | "command"
                    | "eatmydata"
                    | "xargs"
                    | "nohup"
                    | "then"
                    | "do"
                    | "else"
                    | "if"
                    | "!"
            ) || first.contains('=')
                || (first.starts_with('-') && c.len() > 1);
            if !wrapper {
                break;
            }
            c.remove(0);
        }
    }
    out.retain(|c| !c.is_empty());
    out
}

fn base(w: &str) -> &str {
    w.rsplit('/').next().unwrap_or(w)
}

/// Whether a later instruction's body reads `store` without refreshing it first.
fn reads_store(body: &str, store: &Store) -> bool {
    for c in commands(body) {
        if !store.readers.contains(&base(&c[0])) {
            continue;
        }
        if c.iter().skip(1).any(|w| store.fresh.contains(&w.as_str())) {
            return false;
        }
        // `apt-get clean`, `apk del`, `apk --version`: not reads
        let sub = c.iter().skip(1).find(|w| !w.starts_with('-'));
        if sub.is_some_and(|s| {
            matches!(
                s.as_str(),
                "clean" | "autoclean" | "del" | "remove" | "purge" | "autoremove" | "info"
            )
        }) {
            continue;
        }
        if c.len() > 1 {
            return true;
        }
    }
    false
}

/// Paths a RUN stops from reaching the image that the input RUN kept: new `rm` operands,
/// new cache-mount targets, `apk add --no-cache` where there was none.
fn newly_removed(before: &str, after: &str) -> Vec<String> {
    let mut out = Vec::new();
    let old = words(before);
    for c in commands(after) {
        if base(&c[0]) == "rm" {
            for w in c.iter().skip(1).filter(|w| !w.starts_with('-')) {
                if !old.contains(w) {
                    out.push(w.trim_end_matches('*').trim_end_matches('/').to_owned());
                }
            }
        }
    }
    for w in words(after) {
        if let Some(target) = w
            .strip_prefix("--mount=")
            .filter(|m| m.contains("type=cache"))
            .and_then(|m| {
                m.split(',').find_map(|kv| {
                    kv.strip_prefix("target=")
                        .or_else(|| kv.strip_prefix("dst="))
                        .or_else(|| kv.strip_prefix("destination="))
                })
            })
            && !before.contains(&format!("target={target}"))
        {
            out.push(target.to_owned());
        }
    }
    let apk_no_cache = |t: &str| {
        commands(t)
            .iter()
            .filter(|c| base(&c[0]) == "apk")
            .filter(|c| c.iter().any(|w| w == "--no-cache"))
            .count()
    };
    if apk_no_cache(after) > apk_no_cache(before) {
        out.push("/var/cache/apk".to_owned());
    }
    out
}

fn covers(a: &str, b: &str) -> bool {
    let a = a.trim_end_matches('/');
    let b = b.trim_end_matches('/');
    a.is_empty() || a == b || (b.starts_with(a) && b.as_bytes().get(a.len()) == Some(&b'/'))
}

/// Per instruction (file order): its stage index.
fn stage_of(file: &Dockerfile) -> Vec<Option<usize>> {
    let mut stage = None;
    file.instructions()
        .map(|i| {
            if i.kind == Keyword::From {
                stage = Some(stage.map_or(0, |s: usize| s + 1));
            }
            stage
        })
        .collect()
}

/// For each stage, the stages whose content includes it: itself, stages built `FROM` it
/// (directly or not), and stages that `COPY --from` it.
fn downstream(file: &Dockerfile) -> Vec<Vec<usize>> {
    let stages = file.stages();
    let index_of = |name: &str| {
        name.parse::<usize>().ok().or_else(|| {
            stages
                .iter()
                .find(|s| s.name.is_some_and(|n| n.eq_ignore_ascii_case(name)))
                .map(|s| s.index)
        })
    };
    let parent: Vec<Option<usize>> = stages.iter().map(|s| s.base.and_then(index_of)).collect();
    (0..stages.len())
        .map(|s| {
            (0..stages.len())
                .filter(|&t| {
                    let mut at = Some(t);
                    while let Some(x) = at {
                        if x == s {
                            return true;
                        }
                        at = parent[x].filter(|&p| p < x);
                    }
                    false
                })
                .collect()
        })
        .collect()
}

fn body(source: &str, ins: &Instruction) -> String {
    ins.shell_text(source)
        .map_or_else(|| ins.value(source).join(" "), str::to_owned)
}

/// deleted-read findings of one rewrite.
fn deleted_reads(input: &Dockerfile, output: &Dockerfile) -> Vec<String> {
    let mut found = Vec::new();
    let old_runs: Vec<String> = input
        .instructions()
        .filter(|i| i.kind == Keyword::Run)
        .map(|i| input.slice(i.range).to_owned())
        .collect();
    let ins: Vec<&Instruction> = output.instructions().collect();
    let stages = stage_of(output);
    let down = downstream(output);
    for (at, run) in ins.iter().enumerate() {
        if run.kind != Keyword::Run || old_runs.iter().any(|o| o == output.slice(run.range)) {
            continue;
        }
        // the input RUNs this output RUN holds (a merge holds several)
        let text = body(&output.source, run);
        let before: String = input
            .instructions()
            .filter(|i| i.kind == Keyword::Run)
            .map(|i| body(&input.source, i))
            .filter(|b| {
                let w = words(b);
                !w.is_empty() && w.iter().take(3).all(|x| text.contains(x.as_str()))
            })
            .collect::<Vec<_>>()
            .join(" ; ");
        let removed = newly_removed(
            &before,
            &format!(
                "{} {text}",
                run.flags()
                    .iter()
                    .map(|f| f.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        );
        let Some(stage) = stages[at] else {
            continue;
        };
        for path in removed {
            for later in &ins[at + 1..] {
                let Some(ls) = stages[ins.iter().position(|i| std::ptr::eq(*i, *later)).unwrap()]
                else {
                    continue;
                };
                let from_stage = later.copy_from().and_then(|f| {
                    f.parse::<usize>().ok().or_else(|| {
                        output
                            .stages()
                            .iter()
                            .find(|s| s.name.is_some_and(|n| n.eq_ignore_ascii_case(f)))
                            .map(|s| s.index)
                    })
                });
                if let Some(from) = from_stage
                    && down[stage].contains(&from)
                {
                    let paths: Vec<&str> = later.word_texts(&output.source).collect();
                    let sources = &paths[..paths.len().saturating_sub(1)];
                    if sources
                        .iter()
                        .any(|s| covers(s, &path) || covers(&path, s.trim_end_matches('*')))
                    {
                        found.push(format!(
                            "line {}: {path} removed, copied out on line {}",
                            run.start_line, later.start_line
                        ));
                    }
                }
                if !down[stage].contains(&ls) || later.kind != Keyword::Run {
                    continue;
                }
                for store in STORES
                    .iter()
                    .filter(|s| covers(&path, s.dir) || covers(s.dir, &path))
                {
                    if reads_store(&body(&output.source, later), store) {
                        found.push(format!(
                            "line {}: {} removed, read on line {}",
                            run.start_line, store.dir, later.start_line
                        ));
                    }
                }
            }
        }
    }
    found
}

/// Variables a body sets for the rest of its shell.
fn set_variables(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let valid = |v: &str| {
        !v.is_empty()
            && !v.starts_with(|c: char| c.is_ascii_digit())
            && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    for c in commands(text) {
        let first = c[0].as_str();
        match first {
            "for" | "select" => out.extend(c.get(1).cloned()),
            "read" | "export" | "local" | "declare" | "typeset" | "readonly" => out.extend(
                c.iter()
                    .skip(1)
                    .filter(|w| !w.starts_with('-'))
                    .map(|w| w.split('=').next().unwrap_or(w).to_owned()),
            ),
            "getopts" => out.extend(c.get(2).cloned()),
            _ => {}
        }
    }
    // bare assignments at a command's start: `X=1;` `X=1 &&`
    for w in words(text) {
        if let Some((name, _)) = w.split_once('=')
            && valid(name)
            && text.contains(&format!("{w};"))
        {
            out.push(name.to_owned());
        }
    }
    out.retain(|v| valid(v));
    out
}

fn reads_variable(text: &str, var: &str) -> bool {
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices(var) {
        let before = &text[..i];
        let after = bytes.get(i + var.len()).copied();
        let boundary = after.is_none_or(|b| !(b.is_ascii_alphanumeric() || b == b'_'));
        if boundary && (before.ends_with('$') || before.ends_with("${")) {
            return true;
        }
    }
    false
}

/// merged-variable findings: an output RUN that holds two adjacent input RUN bodies, the
/// first setting a variable the second reads.
fn merged_variables(input: &Dockerfile, output: &Dockerfile) -> Vec<String> {
    let mut found = Vec::new();
    let runs: Vec<&Instruction> = input.instructions().collect();
    let outs: Vec<String> = output
        .instructions()
        .filter(|i| i.kind == Keyword::Run)
        .map(|i| body(&output.source, i))
        .collect();
    for pair in runs.windows(2) {
        let [a, b] = pair else { continue };
        if a.kind != Keyword::Run || b.kind != Keyword::Run {
            continue;
        }
        let (ta, tb) = (body(&input.source, a), body(&input.source, b));
        let merged = outs.iter().any(|o| {
            let ia = o.find(ta.trim());
            let ib = o.rfind(tb.trim());
            matches!((ia, ib), (Some(x), Some(y)) if x < y)
        });
        if !merged || outs.iter().any(|o| o.trim() == tb.trim()) {
            continue;
        }
        for var in set_variables(&ta) {
            if reads_variable(&tb, &var) {
                found.push(format!(
                    "line {}: ${var} set here is seen by line {}",
                    a.start_line, b.start_line
                ));
            }
        }
    }
    found
}

/// long-line findings: added lines longer than max(120, the input's longest line).
fn long_lines(input: &str, output: &str) -> (Vec<String>, usize, usize) {
    let longest = input.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    let limit = longest.max(120);
    let count = |t: &str| t.lines().filter(|l| l.chars().count() > 120).count();
    let mut found = Vec::new();
    let diff = similar::TextDiff::from_lines(input, output);
    for change in diff.iter_all_changes() {
        if change.tag() == similar::ChangeTag::Insert {
            let line = change.value().trim_end_matches(['\n', '\r']);
            if line.chars().count() > limit {
                found.push(format!(
                    "added line of {} characters (limit {limit})",
                    line.chars().count()
                ));
            }
        }
    }
    (found, count(input), count(output))
}

#[test]
fn corpus_has_none_of_the_reviewed_classes() {
    let Some(files) = common::corpus_files() else {
        return;
    };
    let mut totals: BTreeMap<(String, &str), usize> = BTreeMap::new();
    let mut examples: Vec<String> = Vec::new();
    let mut over_120 = BTreeMap::new();
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let Ok(text) = dfrewrite::decode(&bytes) else {
            continue;
        };
        let Ok(input) = syntax::parse(text) else {
            continue;
        };
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for threshold in [Applicability::Safe, Applicability::Unsafe] {
            let settings = Settings {
                threshold,
                ..Settings::default()
            };
            let Ok(outcome) = rewrite(text, &settings) else {
                continue;
            };
            let out_text = outcome.output.as_deref().unwrap_or(text);
            let (_, before, after) = long_lines(text, text);
            let entry = over_120.entry(threshold.to_string()).or_insert((0, 0));
            entry.0 += before;
            let Some(out) = outcome.output.as_deref() else {
                entry.1 += before;
                continue;
            };
            let _ = after;
            let output = syntax::parse(out_text).unwrap();
            let (long, _, out_count) = long_lines(text, out);
            entry.1 += out_count;
            let lost = if threshold == Applicability::Unsafe {
                lost_mounts(text, out)
            } else {
                Vec::new()
            };
            for (class, list) in [
                ("deleted-read", deleted_reads(&input, &output)),
                ("merged-variable", merged_variables(&input, &output)),
                ("long-line", long),
                ("lost-mount", lost),
            ] {
                *totals.entry((threshold.to_string(), class)).or_default() += list.len();
                for f in list {
                    examples.push(format!("{threshold} {class} {name}: {f}"));
                }
            }
        }
    }
    for e in &examples {
        eprintln!("{e}");
    }
    eprintln!("tier | class | findings");
    for ((tier, class), n) in &totals {
        eprintln!("{tier} | {class} | {n}");
    }
    for (tier, (before, after)) in &over_120 {
        eprintln!(
            "{tier}: lines over 120 characters: {before} in the inputs, {after} in the outputs"
        );
    }
    assert!(
        examples.is_empty(),
        "{} findings: {examples:#?}",
        examples.len()
    );
}

/// The caches a text mounts, per stage: (stage, target) of each `--mount=type=cache` flag
/// (a merge of two RUNs that mounted the same cache mounts it once).
fn cache_mounts(text: &str) -> std::collections::BTreeSet<(usize, String)> {
    let Ok(file) = syntax::parse(text) else {
        return std::collections::BTreeSet::new();
    };
    let stages = stage_of(&file);
    file.instructions()
        .zip(stages)
        .flat_map(|(i, stage)| {
            i.flags()
                .iter()
                .filter_map(|f| f.text.strip_prefix("--mount="))
                .filter(|m| m.split(',').any(|kv| kv == "type=cache"))
                .filter_map(|m| {
                    m.split(',').find_map(|kv| {
                        kv.strip_prefix("target=")
                            .or_else(|| kv.strip_prefix("dst="))
                            .or_else(|| kv.strip_prefix("destination="))
                    })
                })
                .map(|t| (stage.unwrap_or(0), t.to_owned()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// lost-mount findings: `unsafe_output` is the `--unsafe` run of the input; the `--unsafe`
/// run of its safe output must mount at least as many caches.
fn lost_mounts(input: &str, unsafe_output: &str) -> Vec<String> {
    let safe = |threshold| Settings {
        threshold,
        ..Settings::default()
    };
    let Ok(safe_run) = rewrite(input, &safe(Applicability::Safe)) else {
        return Vec::new();
    };
    let Some(safe_output) = safe_run.output else {
        return Vec::new();
    };
    let Ok(again) = rewrite(&safe_output, &safe(Applicability::Unsafe)) else {
        return vec!["the safe output does not rewrite".to_owned()];
    };
    let composed = again.output.as_deref().unwrap_or(&safe_output);
    let via_safe = cache_mounts(composed);
    cache_mounts(unsafe_output)
        .difference(&via_safe)
        .map(|(stage, target)| format!("stage {stage}: {target} is mounted from the input only"))
        .collect()
}

#[test]
fn the_checker_finds_each_class() {
    let check = |before: &str, after: &str| {
        let input = syntax::parse(before).unwrap();
        let output = syntax::parse(after).unwrap();
        (
            deleted_reads(&input, &output).len(),
            merged_variables(&input, &output).len(),
        )
    };
    assert_eq!(
        check(
            "FROM a\nRUN apt-get update && apt-get install -y x\nRUN sudo apt-get install -y y\n",
            "FROM a\nRUN apt-get update && apt-get install -y x && rm -rf /var/lib/apt/lists/*\nRUN sudo apt-get install -y y\n",
        ),
        (1, 0)
    );
    assert_eq!(
        check(
            "FROM a AS b\nRUN apt-get update && apt-get install -y x\nFROM c\nCOPY --from=b / /\n",
            "FROM a AS b\nRUN apt-get update && apt-get install -y x && rm -rf /var/lib/apt/lists/*\nFROM c\nCOPY --from=b / /\n",
        ),
        (1, 0)
    );
    assert_eq!(
        check(
            "FROM a\nRUN apk update && apk add x\nRUN apk add y\n",
            "FROM a\nRUN apk add --no-cache x\nRUN apk add y\n",
        ),
        (1, 0)
    );
    assert_eq!(
        check(
            "FROM a\nRUN apt-get update && apt-get install -y x\nRUN apt-get update && apt-get install -y y\n",
            "FROM a\nRUN apt-get update && apt-get install -y x && rm -rf /var/lib/apt/lists/*\nRUN apt-get update && apt-get install -y y\n",
        ),
        (0, 0)
    );
    assert_eq!(
        check(
            "FROM a\nRUN for PKG in curl git; do echo $PKG; done\nRUN apt-get install -y $PKG\n",
            "FROM a\nRUN for PKG in curl git; do echo $PKG; done && \\\n    apt-get install -y $PKG\n",
        ),
        (0, 1)
    );
    let (long, _, _) = long_lines(
        "FROM a\nRUN x\n",
        &format!("FROM a\nRUN {}\n", "x".repeat(130)),
    );
    assert_eq!(long.len(), 1);
    let (long, _, _) = long_lines(
        &format!("FROM a\nRUN {}\n", "x".repeat(130)),
        &format!("FROM a\nRUN {} \\\n    y\n", "x".repeat(130)),
    );
    assert_eq!(long.len(), 1, "one character past the input's longest line");
    // the safe tier's npm cache removal must not keep the unsafe tier from mounting it
    let input = "FROM node:20\nRUN npm ci\n";
    let direct = rewrite(
        input,
        &Settings {
            threshold: Applicability::Unsafe,
            ..Settings::default()
        },
    )
    .unwrap()
    .output
    .unwrap();
    assert_eq!(lost_mounts(input, &direct), Vec::<String>::new());
    assert_eq!(
        lost_mounts(
            input,
            "FROM node:20\nRUN --mount=type=cache,target=/x --mount=type=cache,target=/root/.npm npm ci\n"
        )
        .len(),
        1
    );
}
