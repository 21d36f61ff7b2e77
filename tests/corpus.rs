//! The whole real corpus through the rewriter, safe-only and `--unsafe`: no panic, outputs
//! reparse (ours and BuildKit's), a second run changes nothing, safe runs keep each stage's
//! runtime config (as the semantic model reads it), every run keeps the final stage's, and a
//! per-pass table of how many files change (an insta snapshot).

// Tests report the figures they measure on stderr.
#![allow(clippy::print_stderr)]

mod common;

use dfrewrite::semantic::{Model, RuntimeConfig};
use dfrewrite::syntax::{self, Dockerfile};
use dfrewrite::{Applicability, Settings, rewrite};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Per stage, the runtime config it ends with, from the semantic model.
fn runtime_config(file: &Dockerfile) -> Vec<RuntimeConfig> {
    let model = Model::new(file);
    model.stages().map(|s| s.runtime.clone()).collect()
}

/// How many RUN bodies the shell layer cannot read: a rewrite must never add one (a merge or
/// an appended command that broke the shell would show up here).
fn opaque_runs(file: &Dockerfile) -> usize {
    let posix = dfrewrite::shell::posix_shells(file);
    file.instructions()
        .zip(posix)
        .filter(|(i, p)| {
            matches!(
                dfrewrite::shell::run_script(i, &file.source, *p),
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
    let mut held: BTreeMap<String, usize> = BTreeMap::new();
    // files with advice from the passes that only advise (`fix: Never`)
    let mut advised: BTreeMap<&str, usize> = BTreeMap::new();
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
            if threshold == Applicability::Unsafe {
                let mut advisers: Vec<&str> = outcome
                    .advice
                    .iter()
                    .filter(|a| {
                        dfrewrite::pass_by_name(a.pass)
                            .is_some_and(|p| p.fix == dfrewrite::FixAvailability::Never)
                    })
                    .map(|a| a.pass)
                    .collect();
                advisers.sort_unstable();
                advisers.dedup();
                for p in advisers {
                    *advised.entry(p).or_default() += 1;
                }
                for a in &outcome.advice {
                    if let Some(kind) = a
                        .message
                        .split_once("held back (")
                        .and_then(|(_, r)| r.split_once(')'))
                    {
                        *held.entry(format!("{} ({})", a.pass, kind.0)).or_default() += 1;
                    }
                }
            }
            let Some(output) = outcome.output else {
                continue;
            };
            let mut passes: Vec<&str> = outcome.applied.iter().map(|f| f.pass).collect();
            passes.sort_unstable();
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
            let (before, mut after) = (runtime_config(&original), runtime_config(&reparsed));
            // a pass that declares it changes the user may set the final stage's USER, to a
            // user other than root
            let user_changed = outcome
                .applied
                .iter()
                .any(|f| dfrewrite::pass_by_name(f.pass).is_some_and(|p| p.may.changes_user));
            if user_changed && let (Some(b), Some(a)) = (before.last(), after.last_mut()) {
                let user = a.user.clone().unwrap_or_default();
                let who = user.split(':').next().unwrap_or_default();
                assert!(
                    !who.is_empty() && who != "root" && who != "0",
                    "{name}: the new user is {user:?}"
                );
                a.user.clone_from(&b.user);
            }
            // a pass that declares it changes metadata may add labels (MAINTAINER's value
            // moves into one) to any stage
            let metadata_changed = outcome
                .applied
                .iter()
                .any(|f| dfrewrite::pass_by_name(f.pass).is_some_and(|p| p.may.changes_metadata));
            if metadata_changed {
                for (b, a) in before.iter().zip(after.iter_mut()) {
                    a.labels.retain(|l| {
                        l.0 != "org.opencontainers.image.authors" || b.labels.contains(l)
                    });
                }
            }
            // a split that installs into a virtual environment puts its scripts first on PATH
            // (issue 12 asks for `ENV PATH=/opt/venv/bin:$PATH`): the final stage may gain a
            // PATH that only prepends to the inherited one, where the file set none
            let split = outcome
                .applied
                .iter()
                .any(|f| dfrewrite::pass_by_name(f.pass).is_some_and(|p| p.may.adds_stage));
            if split
                && let (Some(b), Some(a)) = (before.last(), after.last_mut())
                && !b.env.iter().any(|(n, _)| n == "PATH")
            {
                a.env.retain(|(n, v)| {
                    let v = v.trim_matches(['"', '\'']);
                    n != "PATH" || !(v.ends_with(":$PATH") || v.ends_with(":${PATH}"))
                });
            }
            if threshold == Applicability::Safe {
                assert_eq!(
                    before, after,
                    "{name}: safe passes changed the runtime config"
                );
            }
            // any tier: the image's own config (the last stage's) stays, also when a pass
            // splits the build into stages
            assert_eq!(
                before.last(),
                after.last(),
                "{name}: the final stage's runtime config changed"
            );
            outputs.push((name, output));
        }
    }
    let mut table = String::from("pass | tier | files changed\n--- | --- | ---\n");
    for ((pass, tier), n) in &counts {
        writeln!(table, "{pass} | {tier} | {n}").unwrap();
    }
    let mut reasons = String::from("pass (held back, --unsafe) | files\n--- | ---\n");
    for (kind, n) in &held {
        writeln!(reasons, "{kind} | {n}").unwrap();
    }
    let mut advice = String::from("pass (advice only, --unsafe) | files\n--- | ---\n");
    for (pass, n) in &advised {
        writeln!(advice, "{pass} | {n}").unwrap();
    }
    // a snapshot, so that a change in what the passes do to real files shows in review
    insta::assert_snapshot!(
        "corpus_files_changed_per_pass",
        format!("{checked} corpus files read\n\n{table}\n{reasons}\n{advice}")
    );

    // Every output must still parse with BuildKit's own parser.
    common::assert_buildkit_accepts(&outputs);
}
