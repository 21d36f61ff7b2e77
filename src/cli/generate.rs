//! `dfrewrite completions SHELL` and `dfrewrite man`: shell completions (clap_complete) and
//! a manual page (clap_mangen), both generated from the same clap definitions as `--help`,
//! so they never drift from the flags.

use std::ffi::OsString;
use std::io::{self, Write as _};

use clap::{CommandFactory as _, Parser};
use clap_complete::Shell;

use super::Args;
use super::verify::VerifyArgs;

/// The whole command line as clap sees it, with the words `main` dispatches before clap
/// (`verify`, `lsp`, `completions`, `man`) as subcommands, for completion and the manual.
fn command() -> clap::Command {
    Args::command()
        .subcommand(
            VerifyArgs::command()
                .name("verify")
                .about("Build the original and the rewrite and compare the images"),
        )
        .subcommand(
            clap::Command::new("lsp")
                .alias("server")
                .about("Run the language server on standard input and output"),
        )
        .subcommand(
            clap::Command::new("completions")
                .about("Print shell completions")
                .arg(
                    clap::Arg::new("shell")
                        .value_parser(clap::value_parser!(Shell))
                        .required(true),
                ),
        )
        .subcommand(clap::Command::new("man").about("Print the manual page (roff)"))
}

#[derive(Debug, Parser)]
#[command(name = "dfrewrite completions")]
/// Print shell completions for dfrewrite on standard output.
struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    shell: Shell,
}

#[derive(Debug, Parser)]
#[command(name = "dfrewrite man")]
/// Print dfrewrite's manual page (roff) on standard output: `dfrewrite man > dfrewrite.1`.
struct ManArgs {}

/// `dfrewrite completions SHELL`; `words` starts with `completions`.
pub(crate) fn completions(words: &[OsString]) -> Result<Vec<u8>, clap::Error> {
    let args = CompletionsArgs::try_parse_from(words)?;
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command(), "dfrewrite", &mut out);
    Ok(out)
}

/// `dfrewrite man`; `words` starts with `man`.
pub(crate) fn man(words: &[OsString]) -> Result<Vec<u8>, clap::Error> {
    ManArgs::try_parse_from(words)?;
    let mut out = Vec::new();
    clap_mangen::Man::new(command())
        .render(&mut out)
        .map_err(|e| clap::Error::raw(clap::error::ErrorKind::Io, e))?;
    Ok(out)
}

/// Writes generated text on stdout; a closed pipe is not an error.
pub(crate) fn print(bytes: &[u8]) -> u8 {
    match io::stdout().lock().write_all(bytes) {
        Ok(()) => 0,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            let _ = writeln!(
                io::stderr().lock(),
                "error: cannot write to standard output: {}",
                super::fsio::describe_io(&e)
            );
            2
        }
    }
}
