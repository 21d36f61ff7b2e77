//! Speed benchmark (not a test): prints figures, asserts nothing about time.
//!
//! `cargo bench --bench speed` measures, over `../shared/corpus/real`:
//! 1. files per second for parse + rewrite (all passes, `--unsafe` tier) in one process;
//! 2. files per second for parse + shell parsing of every RUN body;
//! 3. the median milliseconds of `dfrewrite --diff FILE`, process start included.

#![allow(clippy::print_stdout)]
// Counts here are a few thousand; f64 holds them exactly.
#![allow(clippy::cast_precision_loss)]

use dfrewrite::{Applicability, Settings, rewrite, shell, syntax};
use std::path::{Path, PathBuf};
use std::time::Instant;

mod common;
use common::run_ms;

// The binary's allocator (src/main.rs), so in-process figures match the CLI's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs bench targets without
    // it (Cargo's `test = false` does not apply to them): measure only when benchmarking
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/real");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus at ../shared/corpus/real")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "Dockerfile"))
        .collect();
    files.sort();
    let texts: Vec<String> = files
        .iter()
        .filter_map(|p| String::from_utf8(std::fs::read(p).ok()?).ok())
        .collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let settings = Settings {
        threshold: Applicability::Unsafe,
        ..Settings::default()
    };

    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        for t in &texts {
            let _ = std::hint::black_box(rewrite(t, &settings));
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "parse + rewrite: {} files ({:.1} MB) in {:.1} ms (best of 5) = {:.0} files/s",
        texts.len(),
        bytes as f64 / 1e6,
        best * 1e3,
        texts.len() as f64 / best
    );

    let mut best = f64::MAX;
    let mut bodies = 0;
    for _ in 0..5 {
        bodies = 0;
        let start = Instant::now();
        for t in &texts {
            let Ok(file) = syntax::parse(t) else { continue };
            let posix = shell::posix_shells(&file);
            for (ins, p) in file.instructions().zip(posix) {
                if std::hint::black_box(shell::run_script(ins, &file.source, p)).is_ok() {
                    bodies += 1;
                }
            }
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "parse + shell of every RUN: {} files, {bodies} RUN bodies in {:.1} ms (best of 5) = {:.0} files/s",
        texts.len(),
        best * 1e3,
        texts.len() as f64 / best
    );

    let sample: Vec<&PathBuf> = files.iter().step_by(10).collect();
    let mut times: Vec<f64> = sample
        .iter()
        .map(|p| {
            run_ms(&[
                std::ffi::OsStr::new("--diff"),
                "--unsafe".as_ref(),
                p.as_os_str(),
            ])
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "dfrewrite --diff --unsafe FILE: median {:.2} ms, p90 {:.2} ms over {} files (process start included)",
        times[times.len() / 2],
        times[times.len() * 9 / 10],
        times.len()
    );
}
