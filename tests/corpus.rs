//! The whole real corpus through the rewriter, safe-only and `--unsafe`: no panic, outputs
//! reparse (ours and BuildKit's), a second run changes nothing, safe runs keep each stage's
//! runtime config, and a per-pass table of how many files change.

// Tests report the figures they measure on stderr.
#![allow(clippy::print_stderr)]

mod common;

use dfrewrite::syntax::{self, Dockerfile, Keyword};
use dfrewrite::{Applicability, Settings, rewrite};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Per stage, the instructions that make up the image's runtime config, in order.
fn runtime_config(file: &Dockerfile) -> Vec<Vec<(String, Vec<String>)>> {
    file.stages()
        .iter()
        .map(|stage| {
            stage
                .instructions
                .iter()
                .filter(|i| {
                    matches!(
                        i.kind,
                        Keyword::User
                            | Keyword::Cmd
                            | Keyword::Entrypoint
                            | Keyword::Env
                            | Keyword::Expose
                            | Keyword::Workdir
                            | Keyword::Volume
                            | Keyword::Label
                            | Keyword::Healthcheck
                            | Keyword::Stopsignal
                            | Keyword::Shell
                    )
                })
                .map(|i| (format!("{:?}", i.kind), i.value.clone()))
                .collect()
        })
        .collect()
}

/// How many RUN bodies the shell layer cannot read: a rewrite must never add one (a merge or
/// an appended command that broke the shell would show up here).
fn opaque_runs(file: &Dockerfile) -> usize {
    let posix = dfrewrite::shell::posix_shells(file);
    file.instructions()
        .zip(posix)
        .filter(|(i, p)| {
            matches!(
                dfrewrite::shell::run_script(i, *p),
                Err(dfrewrite::shell::Skip::Opaque(_))
            )
        })
        .count()
}

#[test]
fn corpus_rewrites_hold_the_invariants() {
    let Some(files) = common::corpus_files() else {
        return;
    };
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut outputs = Vec::new();
    let mut checked = 0;
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let Ok(text) = dfrewrite::decode(&bytes) else {
            continue;
        };
        let Ok(original) = syntax::parse(text) else {
            continue;
        };
        checked += 1;
        for threshold in [Applicability::Safe, Applicability::Unsafe] {
            let settings = Settings {
                threshold,
                ..Settings::default()
            };
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rewrite(text, &settings)))
                    .unwrap_or_else(|_| panic!("{name}: panic"))
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            let Some(output) = outcome.output else {
                continue;
            };
            let mut passes: Vec<&str> = outcome.applied.iter().map(|f| f.pass).collect();
            passes.dedup();
            for p in passes {
                *counts
                    .entry((p.to_owned(), threshold.to_string()))
                    .or_default() += 1;
            }
            let reparsed = syntax::parse(&output)
                .unwrap_or_else(|e| panic!("{name}: output does not parse: {e}"));
            assert!(
                opaque_runs(&reparsed) <= opaque_runs(&original),
                "{name}: the rewrite made a RUN body unreadable"
            );
            let again = rewrite(&output, &settings).unwrap();
            assert_eq!(again.output, None, "{name}: not idempotent");
            if threshold == Applicability::Safe {
                assert_eq!(
                    runtime_config(&original),
                    runtime_config(&reparsed),
                    "{name}: safe passes changed the runtime config"
                );
            }
            outputs.push((name, output));
        }
    }
    let mut table = String::from("pass | tier | files changed\n--- | --- | ---\n");
    for ((pass, tier), n) in &counts {
        writeln!(table, "{pass} | {tier} | {n}").unwrap();
    }
    eprintln!("{checked} corpus files rewritten\n{table}");

    // Every output must still parse with BuildKit's own parser.
    common::assert_buildkit_accepts(&outputs);
}
