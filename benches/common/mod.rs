//! Inputs and timing shared by the bench targets. Each bench is its own crate and includes
//! this with `mod common;`; not every bench uses every item.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::Instant;

/// `stages` stages of 10 instructions and a blank line, 4 RUNs each, with fixes to find
/// (issue 16's synthetic file; 200 stages make 2,200 lines).
pub(crate) fn synthetic(stages: usize) -> String {
    let mut out = String::new();
    for i in 0..stages {
        let _ = write!(
            out,
            "FROM debian:bookworm AS stage{i}\n\
             WORKDIR /app\n\
             ENV A=1\n\
             COPY . .\n\
             RUN apt-get update\n\
             RUN apt-get install -y curl\n\
             RUN pip install flask\n\
             RUN echo built > /tmp/stage{i}\n\
             EXPOSE 80\n\
             CMD [\"sh\"]\n\n"
        );
    }
    out
}

/// Milliseconds of one run of the `dfrewrite` binary with `args`, output discarded
/// (process start included).
pub(crate) fn run_ms<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> f64 {
    let start = Instant::now();
    Command::new(env!("CARGO_BIN_EXE_dfrewrite"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run dfrewrite");
    start.elapsed().as_secs_f64() * 1e3
}

/// The median of `times` (sorted in place); `times` is not empty.
pub(crate) fn median(times: &mut [f64]) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}
