//! The shell inside shell-form RUN: parses the joined text with tree-sitter-bash and flattens
//! the tree into commands and top-level and-or chains, every piece with its byte range.
//!
//! The input is the *joined* text (continuations and comment lines already removed, heredoc
//! bodies appended as `BuildKit` does); every range points into that text. A tree with an
//! `ERROR` or `MISSING` node is [`Opaque`]: passes skip such a RUN rather than guess.
//!
//! `model` holds the types, `walk` the tree-sitter walker, `literal` the value of a word
//! after quote removal, [`query`] the questions passes ask, `run` the Dockerfile side.

mod kinds;
mod literal;
mod model;
mod parsed;
pub mod query;
mod run;
mod simple;
pub mod state;
mod walk;
pub mod wrappers;

pub use model::{AndOr, Chain, Command, CommandContext, Function, Opaque, Script, Separator, Word};
pub use parsed::Parsed;
pub(crate) use parsed::{Body, Found};
pub(crate) use run::posix_shells_in;
pub use run::{RunScript, Skip, posix_shells, run_script, run_script_using};
pub use walk::parse;

#[cfg(test)]
mod tests;
