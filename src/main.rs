//! The `dfrewrite` binary: parses arguments and turns the CLI's status into an exit code.
// The binary is the one place allowed to talk to the terminal (style.md §10).
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // try_parse instead of parse, so that exiting stays here rather than inside clap.
    let args = match cli::Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            // --help and --version exit 0; usage errors 2, like every other error.
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    ExitCode::from(u8::from(cli::run(&args)))
}
