//! Engine speed benchmark (not a test): prints figures, asserts nothing about time.
//!
//! `cargo bench --bench engine` generates its inputs and prints:
//! 1. a growth table: input size → rewrite time in the library (`--unsafe` tier), for the
//!    synthetic, realistic and apt/pip inputs at doubling sizes, with the time per KB, which
//!    stays flat when the engine is linear;
//! 2. the goal rows of issue 16 that are the engine's, timed on the release binary
//!    (`dfrewrite --check FILE`, process start included): the 2,200-line synthetic file
//!    safe and `--unsafe`, a 12k-line realistic file, a 400 KB apt/pip mix, a 15 MB file
//!    with many fixable RUNs (with its peak memory, from `/usr/bin/time -v` when present),
//!    and one 200-line file.
//!
//! `DFREWRITE_BENCH_DUMP=DIR` also writes the generated inputs there, for profiling.

#![allow(clippy::print_stdout)]
// sizes and counts here are far below 2^52: f64 holds them exactly
#![allow(clippy::cast_precision_loss)]

use dfrewrite::{Applicability, Settings, rewrite, rewrite_traced};
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

mod common;
use common::{median, run_ms, synthetic};

// The binary's allocator (src/main.rs), so in-process figures match the CLI's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // `cargo test --all-targets` runs bench targets without `--bench`: measure only here
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    if let Some(dump) = std::env::var_os("DFREWRITE_BENCH_DUMP") {
        dump_inputs(Path::new(&dump));
    }
    // the machine may be shared: the load says how far to trust the figures
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average at start: {}", load.trim());
    }
    growth_table();
    goal_rows(dir.path());
}

/// One stage as services are written: comments, ARG and ENV with continuations, an apt
/// refresh and install in two RUNs, pip and npm installs, ADD of an archive.
fn realistic_stage(out: &mut String, i: usize) {
    let _ = write!(
        out,
        "# stage {i}: build the service\n\
         FROM python:3.12 AS app{i}\n\
         ARG VERSION=1.{i}\n\
         ENV PYTHONUNBUFFERED=1 \\\n    APP_HOME=/srv/app{i}\n\
         WORKDIR /srv/app{i}\n\
         RUN apt-get update\n\
         RUN apt-get install -y \\\n    build-essential \\\n    libpq-dev \\\n    curl\n\
         COPY requirements.txt .\n\
         RUN pip install -r requirements.txt\n\
         ADD app{i}.tar.gz /srv/\n\
         COPY . .\n\
         RUN npm install && npm run build\n\
         RUN echo done > /tmp/app{i}\n\
         EXPOSE 8000\n\
         CMD [\"python\", \"-m\", \"app{i}\"]\n\n"
    );
}

/// Realistic stages up to `lines` lines.
fn realistic(lines: usize) -> String {
    let mut out = String::new();
    let mut i = 0;
    while out.lines().count() < lines {
        realistic_stage(&mut out, i);
        i += 1;
    }
    out
}

/// Realistic stages up to `bytes` bytes.
fn realistic_bytes(bytes: usize) -> String {
    let mut out = String::new();
    let mut i = 0;
    while out.len() < bytes {
        realistic_stage(&mut out, i);
        i += 1;
    }
    out
}

/// One stage of alternating apt-get and pip RUNs, up to `bytes` bytes.
fn apt_pip(bytes: usize) -> String {
    let mut out = String::from("FROM debian:bookworm\n");
    let mut i = 0;
    while out.len() < bytes {
        let _ = write!(
            out,
            "RUN apt-get update && apt-get install -y pkg{i} lib{i}-dev\n\
             RUN pip install pkg{i}==1.{i}\n"
        );
        i += 1;
    }
    out
}

fn dump_inputs(dir: &Path) {
    std::fs::create_dir_all(dir).expect("dump directory");
    let mut inputs = vec![("synthetic-2200".to_owned(), synthetic(200))];
    for lines in [3_000, 6_000, 12_000, 24_000] {
        inputs.push((format!("realistic-{lines}"), realistic(lines)));
    }
    for kb in [50, 100, 200, 400] {
        inputs.push((format!("apt-pip-{kb}k"), apt_pip(kb * 1000)));
    }
    inputs.push(("big-15m".to_owned(), realistic_bytes(15_000_000)));
    for (name, text) in inputs {
        std::fs::write(dir.join(name), text).expect("write an input");
    }
}

/// Seconds of the fastest of `runs` rewrites of `text`.
fn time_rewrite(text: &str, settings: &Settings, runs: usize) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..runs {
        let start = Instant::now();
        let out = rewrite(text, settings).expect("the generated input rewrites");
        std::hint::black_box(out);
        best = best.min(start.elapsed().as_secs_f64());
    }
    best
}

/// How many rounds the fix loop ran on `text`: one per round that applied fixes (each
/// applies at least one), plus the last one that found nothing more to apply.
fn rounds(text: &str, settings: &Settings) -> usize {
    let trace = rewrite_traced(text, settings).expect("the generated input rewrites");
    trace
        .findings
        .iter()
        .filter(|f| f.applied && f.fix.is_some())
        .map(|f| f.round + 1)
        .max()
        .unwrap_or(0)
        + 1
}

/// A family of inputs: its name, how to make one of a size, and the sizes.
type Family = (&'static str, fn(usize) -> String, &'static [usize]);

fn growth_table() {
    let settings = Settings {
        threshold: Applicability::Unsafe,
        ..Settings::default()
    };
    println!(
        "growth (library rewrite, --unsafe tier, best of 3, one run over 1 MB; flat ms/KB = linear):"
    );
    println!(
        "{:<12} {:>9} {:>9} {:>10} {:>8} {:>7}",
        "input", "lines", "KB", "ms", "ms/KB", "rounds"
    );
    let families: [Family; 4] = [
        ("synthetic", synthetic, &[100, 200, 400, 800, 1600]),
        (
            "realistic",
            realistic,
            &[3_000, 6_000, 12_000, 24_000, 48_000],
        ),
        (
            "apt/pip",
            |kb| apt_pip(kb * 1000),
            &[50, 100, 200, 400, 800],
        ),
        // realistic stages by size, from 50 KB to the 15 MB goal row's size
        (
            "by-size",
            |kb| realistic_bytes(kb * 1000),
            &[50, 200, 1_000, 4_000, 15_000],
        ),
    ];
    for (name, make, sizes) in families {
        for &size in sizes {
            let text = make(size);
            // one run of the multi-megabyte inputs is enough to see the slope
            let runs = if text.len() > 1_000_000 { 1 } else { 3 };
            let seconds = time_rewrite(&text, &settings, runs);
            let kb = text.len() as f64 / 1000.0;
            // tracing records every round's text: counted only below 1 MB
            let rounds = if text.len() > 1_000_000 {
                "-".to_owned()
            } else {
                rounds(&text, &settings).to_string()
            };
            println!(
                "{name:<12} {:>9} {kb:>9.0} {:>10.1} {:>8.3} {rounds:>7}",
                text.lines().count(),
                seconds * 1e3,
                seconds * 1e3 / kb
            );
        }
    }
}

/// Median milliseconds of `runs` runs of the binary on `path`.
fn time_binary(path: &Path, args: &[&str], runs: usize) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let mut all: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
            all.push(path.as_os_str());
            run_ms(&all)
        })
        .collect();
    median(&mut times)
}

/// Peak resident memory in KB of `dfrewrite --check path`, from `/usr/bin/time -v`.
fn peak_memory_kb(path: &Path) -> Option<u64> {
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(env!("CARGO_BIN_EXE_dfrewrite"))
        .arg("--check")
        .arg(path)
        .stdout(Stdio::null())
        .output()
        .ok()?;
    let report = String::from_utf8_lossy(&out.stderr);
    report
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok())
}

fn goal_rows(dir: &Path) {
    let write = |name: &str, text: &str| {
        let folder = dir.join(name);
        std::fs::create_dir_all(&folder).expect("a folder");
        let path = folder.join("Dockerfile");
        std::fs::write(&path, text).expect("write");
        path
    };
    let stages = synthetic(200);
    let short: String = stages.split_inclusive('\n').take(200).collect();
    let rows: [(&str, String, &[&str], &str, usize); 6] = [
        (
            "2,200-line synthetic, safe",
            stages.clone(),
            &["--check"],
            "< 25 ms",
            21,
        ),
        (
            "2,200-line synthetic, --unsafe",
            stages,
            &["--check", "--unsafe"],
            "< 40 ms",
            21,
        ),
        (
            "12k-line realistic",
            realistic(12_000),
            &["--check"],
            "< 150 ms",
            7,
        ),
        (
            "400 KB apt/pip mix",
            apt_pip(400_000),
            &["--check"],
            "< 300 ms",
            7,
        ),
        (
            "15 MB with fixes",
            realistic_bytes(15_000_000),
            &["--check"],
            "< 10 s",
            1,
        ),
        ("one 200-line file", short, &["--check"], "< 2 ms", 51),
    ];
    println!();
    println!("goal rows (release binary, process start included, median):");
    for (label, text, args, goal, runs) in rows {
        let path = write(&label.replace([' ', ',', '/'], "-"), &text);
        let ms = time_binary(&path, args, runs);
        let mut line = format!(
            "{label:<32} {:>10} bytes {ms:>10.1} ms   goal {goal}",
            text.len()
        );
        if text.len() > 1_000_000
            && let Some(kb) = peak_memory_kb(&path)
        {
            let ratio = (kb as f64 * 1024.0) / text.len() as f64;
            let _ = write!(
                line,
                "; peak memory {:.0} MB = {ratio:.1}× the file (goal < 10×)",
                kb as f64 / 1024.0
            );
        }
        println!("{line}");
    }
}
