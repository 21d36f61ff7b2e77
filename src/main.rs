//! The `dfrewrite` binary: parses arguments and turns the CLI's status into an exit code.
// No print macros anywhere: terminal output goes through `cli::render::Printer` (writes on
// locked streams), so clippy's print_stdout/print_stderr stay on for the whole binary.

mod cli;
mod verify;

use std::ffi::OsString;
use std::io::{self, Write as _};
use std::process::ExitCode;

use clap::Parser;

// mimalloc instead of glibc's malloc: a third of the engine's instructions were malloc/free
// (many small, short-lived strings and vectors per round). Measured on the release binary:
// 15 MB file 19.8 -> 11.2 s user and 1,080 -> 995 MB peak; 12k-line file 0.20 -> 0.10 s but
// 28 -> 74 MB peak (mimalloc keeps freed pages for reuse); `--version` +0.24 M instructions.
// The library leaves the choice of allocator to whoever links it.
// Built with `no_thp` (Cargo.toml): otherwise mimalloc advises transparent huge pages on its
// 1 GiB arena, so faults zero whole 2 MiB pages. Measured with MIMALLOC_ALLOW_THP=0 on the
// same binary (/usr/bin/time, load 9-11): 15 MB file 6.0 -> 1.5-1.9 s system time (user
// unchanged) and 891 -> 874 MB peak; 12k-line file 0.07-0.11 -> 0.02 s system and
// 52 -> 33 MB peak; 300 one-file runs in the corpus folder 0.61-0.70 -> 0.46 s system.
// .cargo/config.toml makes it read its options with libc's getenv.
// build/purge.c (linked by build.rs) makes it return freed memory at once (README, "allocator").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let words: Vec<OsString> = std::env::args_os().collect();
    // `verify` as the first word selects the subcommand; everything else is the flat CLI
    // (see cli/verify.rs for why this is not a clap subcommand).
    if words.get(1).is_some_and(|word| word == "verify") {
        return match cli::verify::VerifyArgs::try_parse_from(&words[1..]) {
            Ok(args) => ExitCode::from(cli::verify::run(&args)),
            Err(e) => usage_error(&e),
        };
    }
    // `lsp` (or `server`) as the first word runs the language server.
    if words
        .get(1)
        .is_some_and(|word| word == "lsp" || word == "server")
    {
        return ExitCode::from(cli::lsp::run(&words[2..]));
    }
    // `completions SHELL` and `man` print what clap generates from the same definitions.
    if words.get(1).is_some_and(|word| word == "completions") {
        return match cli::generate::completions(&words[1..]) {
            Ok(text) => ExitCode::from(cli::generate::print(&text)),
            Err(e) => usage_error(&e),
        };
    }
    if words.get(1).is_some_and(|word| word == "man") {
        return match cli::generate::man(&words[1..]) {
            Ok(text) => ExitCode::from(cli::generate::print(&text)),
            Err(e) => usage_error(&e),
        };
    }
    // try_parse instead of parse, so that exiting stays here rather than inside clap.
    let args = match cli::Args::try_parse_from(words) {
        Ok(args) => args,
        Err(e) => return usage_error(&e),
    };
    ExitCode::from(u8::from(cli::run(&args)))
}

fn usage_error(e: &clap::Error) -> ExitCode {
    // --help and --version exit 0; usage errors 2, like every other error.
    if !e.use_stderr() {
        let _ = e.print();
        return ExitCode::from(0);
    }
    // A usage error is one line, as every other error: clap's first line (`error: …`) and
    // where to read more, without its tips and usage block.
    let rendered = e.render().to_string();
    let first = rendered.lines().next().unwrap_or("error: bad arguments");
    let _ = writeln!(io::stderr().lock(), "{first} (see --help)");
    ExitCode::from(2)
}
