//! A directory run: files are read and rewritten on many threads, then shown, listed and
//! written one after another in the order of the walk, so the output (stdout, stderr, exit
//! status) is byte for byte the one of a run on one thread (`--threads 1`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, mpsc};

use super::fsio::{Failure, MAX_LIST_DEPTH, MAX_LIST_ENTRIES};
use super::render::{self, Printer};
use super::walk::Target;
use super::{ContextDir, Mode, RunStatus, Runner};

/// The stack of Linux's main thread (`ulimit -s` default); rayon's own default is 2 MiB.
const MAIN_STACK: usize = 8 * 1024 * 1024;

/// One file read and rewritten, not yet shown or written.
// A few are alive at a time (one per file in flight): boxing the large variant saves nothing.
#[allow(clippy::large_enum_variant)]
pub(super) enum Prepared {
    Done {
        context: Option<ContextDir>,
        result: Result<(String, dfrewrite::Outcome, Option<dfrewrite::Trace>), Failure>,
    },
    /// Its configuration file is bad (reported when shown, once per file).
    BadConfig(super::config::ConfigError),
}

/// Runs every target, `threads` at a time (`None`: one per core), and returns the worst
/// status.
pub(super) fn run(
    runner: &Runner,
    targets: &[Target],
    mode: Mode,
    threads: Option<u16>,
    p: &mut Printer,
) -> RunStatus {
    let parallel = targets.len() > 1 && threads != Some(1);
    let pool = parallel
        .then(|| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads.map_or(0, usize::from))
                // the main thread's 8 MiB: what parses serially parses on any thread
                .stack_size(MAIN_STACK)
                .build()
                .ok()
        })
        .flatten();
    let Some(pool) = pool else {
        return serial(runner, targets, mode, p);
    };
    // Workers take the files in walk order, so they finish nearly in order: few results
    // wait for an earlier one, and the bounded channel holds back workers that run ahead
    // of a slow reader of stdout. Memory stays a few files per thread.
    let workers = pool.current_num_threads();
    let claimed = AtomicUsize::new(0);
    // Set once stdout is closed: files not taken yet are skipped.
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::sync_channel(2 * workers);
    let mut status = RunStatus::Clean;
    pool.in_place_scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (claimed, stop) = (&claimed, &stop);
            scope.spawn(move |_| {
                while !stop.load(Ordering::Relaxed) {
                    let i = claimed.fetch_add(1, Ordering::Relaxed);
                    let Some(target) = targets.get(i) else {
                        break;
                    };
                    // The receiver only goes away once every worker is done.
                    let _ = tx.send((i, prepare(runner, target, mode)));
                }
            });
        }
        // the workers hold the only senders: the loop below ends when they are done
        drop(tx);
        let mut done = BTreeMap::new();
        let mut next = 0;
        for (i, prepared) in rx {
            done.insert(i, prepared);
            while let Some(prepared) = done.remove(&next) {
                let target = &targets[next];
                next += 1;
                if p.stdout_closed() {
                    stop.store(true, Ordering::Relaxed);
                    continue;
                }
                status = status.max(emit(runner, target, mode, prepared, p));
            }
        }
    });
    status
}

fn serial(runner: &Runner, targets: &[Target], mode: Mode, p: &mut Printer) -> RunStatus {
    let mut status = RunStatus::Clean;
    for target in targets {
        // A closed stdout (`| head`) ends the run, as SIGPIPE would.
        if p.stdout_closed() {
            break;
        }
        let prepared = prepare(runner, target, mode);
        status = status.max(emit(runner, target, mode, prepared, p));
    }
    status
}

/// A target the walk could not read has nothing to prepare.
fn prepare(runner: &Runner, target: &Target, mode: Mode) -> Option<Prepared> {
    if target.error.is_some() {
        return None;
    }
    Some(runner.prepare(&target.path, &render::display(&target.path), mode))
}

fn emit(
    runner: &Runner,
    target: &Target,
    mode: Mode,
    prepared: Option<Prepared>,
    p: &mut Printer,
) -> RunStatus {
    let name = render::display(&target.path);
    p.progress_next(&name);
    match (&target.error, prepared) {
        (Some(message), _) => {
            p.error_line(Some(&name), message);
            runner.record_error(&name, None, message.clone());
            RunStatus::Error
        }
        (None, Some(prepared)) => {
            let status = runner.emit(&target.path, &name, mode, prepared, p);
            // one write of the file's stderr lines, shown as soon as the file is done
            p.flush_err();
            status
        }
        (None, None) => unreachable!("every readable target is prepared"),
    }
}

impl Runner {
    /// Remembers that a file of this context was shown.
    pub(super) fn note_context(&self, context: &ContextDir) {
        let mut used = self.used.lock().unwrap_or_else(PoisonError::into_inner);
        if !used.iter().any(|(ctx, _)| Arc::ptr_eq(ctx, &context.ctx)) {
            used.push((Arc::clone(&context.ctx), context.shown.clone()));
        }
    }

    /// One note per context of the files shown that was too large to list where a pass
    /// asked: those passes held back, and the user should know why.
    pub(super) fn context_notes(&self, p: &mut Printer) {
        let used = self.used.lock().unwrap_or_else(PoisonError::into_inner);
        for (ctx, shown) in used.iter() {
            let Some((dir, count)) = ctx.too_large() else {
                continue;
            };
            let depth = dir.split('/').filter(|c| !c.is_empty()).count();
            let why = if depth > MAX_LIST_DEPTH {
                format!("is more than {MAX_LIST_DEPTH} levels deep")
            } else {
                format!("holds more than {MAX_LIST_ENTRIES} entries")
            };
            let more = match count {
                1 => String::new(),
                n => format!(" (and {} more directories)", n - 1),
            };
            let at = render::display(&shown.join(&dir));
            p.note(&format!(
                "{}: note: build context too large, skipped: {at} {why}{more}; the passes \
                 that walk the context held back",
                render::display(shown),
            ));
        }
    }
}
