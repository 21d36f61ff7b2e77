//! The parsed shell: commands, chains and words, every piece with its byte range in the
//! joined text.

use crate::text::JoinedRange;

/// Why a RUN body is left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opaque {
    /// The tree has an ERROR or MISSING node; `offset` is where the first one starts.
    Syntax { offset: u32 },
    /// Nesting deeper than the walker follows (guards the stack, not a shell limit).
    TooDeep,
}

/// A parsed RUN body. Boxed slices, not vectors, and the parts few bodies have behind one
/// box: the script cache keeps one per distinct body of a file, and most are a command or
/// two.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Script {
    /// Every simple command in source order, including those nested in control flow,
    /// subshells, substitutions and heredoc redirects.
    pub commands: Box<[Command]>,
    /// The top-level and-or lists in source order.
    pub chains: Box<[Chain]>,
    /// Function definitions and backgrounds; `None` when there are neither.
    rare: Option<Box<Rare>>,
    /// Each command's argv, built on first use and shared by the model of every RUN with
    /// this body (a large file repeats bodies; each copy of the words added to the peak).
    pub(crate) argvs: Argvs,
}

/// The parts of a [`Script`] that few bodies have.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Rare {
    functions: Box<[Function]>,
    backgrounds: Box<[JoinedRange]>,
}

/// A command's name and arguments, each `None` when its value is not known.
pub(crate) type Argv = std::sync::Arc<[Option<String>]>;

/// [`Script::argvs`]'s cache: derived from the commands, so it takes no part in comparing
/// or printing a script (a script compares equal whether or not a model has read it).
#[derive(Clone, Default)]
pub(crate) struct Argvs(std::sync::OnceLock<Box<[Argv]>>);

impl PartialEq for Argvs {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Argvs {}

impl std::fmt::Debug for Argvs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Argvs")
    }
}

/// A [`Script`] being built: the parsers push onto vectors, and [`Self::finish`] boxes them.
#[derive(Default)]
pub(super) struct ScriptParts {
    pub(super) commands: Vec<Command>,
    pub(super) chains: Vec<ChainParts>,
    pub(super) functions: Vec<Function>,
    pub(super) backgrounds: Vec<JoinedRange>,
}

/// A [`Chain`] being built: its operators are pushed as they are met.
pub(super) struct ChainParts {
    pub(super) range: JoinedRange,
    pub(super) operators: Vec<(AndOr, JoinedRange)>,
    pub(super) separator: Option<(Separator, JoinedRange)>,
}

impl ScriptParts {
    pub(super) fn finish(self) -> Script {
        let chains = self
            .chains
            .into_iter()
            .map(|c| Chain {
                range: c.range,
                operators: c.operators.into(),
                separator: c.separator,
            })
            .collect();
        let rare = (!self.functions.is_empty() || !self.backgrounds.is_empty()).then(|| {
            Box::new(Rare {
                functions: self.functions.into(),
                backgrounds: self.backgrounds.into(),
            })
        });
        Script {
            commands: self.commands.into(),
            chains,
            rare,
            argvs: Argvs::default(),
        }
    }
}

impl Script {
    /// Function definitions (`f() { … }`, `function f { … }`) in source order.
    #[must_use]
    pub fn functions(&self) -> &[Function] {
        self.rare.as_ref().map_or(&[], |r| &r.functions)
    }

    /// Every `&` that puts a list in the background, at any depth.
    pub(crate) fn backgrounds(&self) -> &[JoinedRange] {
        self.rare.as_ref().map_or(&[], |r| &r.backgrounds)
    }

    /// Each command's argv ([`Word::value`] of its name and arguments), in command order.
    pub(crate) fn argvs(&self) -> &[Argv] {
        self.argvs.0.get_or_init(|| {
            self.commands
                .iter()
                .map(|c| {
                    c.name
                        .iter()
                        .chain(&c.args)
                        .map(|w| w.value.as_deref().map(String::from))
                        .collect()
                })
                .collect()
        })
    }
}

/// A word as written, with its value when that is known without running anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub range: JoinedRange,
    /// The source text of the word, quotes included.
    pub text: Box<str>,
    /// The value after quote removal; `None` when the word contains a parameter expansion,
    /// command or process substitution, arithmetic, `$'…'`/`$"…"`, a leading tilde or a
    /// brace expansion (`{a,b}`, `{1..3}`). Glob characters are kept literally.
    pub value: Option<Box<str>>,
}

/// Where a command sits; a pass that does not understand a context skips the command.
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent facts that passes read by name"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CommandContext {
    /// Inside `$(…)`, backticks or `<(…)`/`>(…)`.
    pub in_substitution: bool,
    /// Inside `( … )`.
    pub in_subshell: bool,
    /// Inside `{ …; }`.
    pub in_brace_group: bool,
    /// Inside if/elif/else, for, while/until, case or a function body (conditions included).
    pub in_control_flow: bool,
    /// One of two or more commands of a pipeline.
    pub in_pipeline: bool,
    /// Under `!` (in `! a | b` the whole pipeline, as the shell reads it).
    pub negated: bool,
}

impl CommandContext {
    /// Whether `&&`/`||` here belong to a top-level chain.
    pub(super) fn is_top_level(self) -> bool {
        !(self.in_substitution
            || self.in_subshell
            || self.in_brace_group
            || self.in_control_flow
            || self.in_pipeline)
    }
}

/// A simple command (or `export …`, `unset …`, `[ … ]`, `[[ … ]]`, or bare assignments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// From the first assignment, redirect or name to the end of the last argument or
    /// redirect. A heredoc redirect counts up to its delimiter word, not its body.
    pub range: JoinedRange,
    /// `None` for bare assignments and redirect-only commands.
    pub name: Option<Word>,
    /// argv[1..] in order, redirects excluded.
    pub args: Box<[Word]>,
    /// `VAR=value` prefixes.
    pub assignments: Box<[Word]>,
    /// Each redirect, from its descriptor to its target (`2>&1`, `>/dev/null`, `<<'EOF'`).
    pub redirects: Box<[JoinedRange]>,
    pub context: CommandContext,
    /// Index into [`Script::chains`] of the top-level chain that contains the command.
    pub chain: usize,
}

/// `&&` or `||`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AndOr {
    And,
    Or,
}

/// What ends a top-level chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Separator {
    /// `;`
    Semicolon,
    /// `&`
    Background,
    /// A newline; its range is the `\n` byte.
    Newline,
}

/// One top-level and-or list: pipelines joined by `&&` / `||`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// The whole list, heredoc bodies started on its line included.
    pub range: JoinedRange,
    /// The `&&`/`||` between its elements, in order.
    pub operators: Box<[(AndOr, JoinedRange)]>,
    /// What ends it; `None` at the end of the text.
    pub separator: Option<(Separator, JoinedRange)>,
}

/// A function definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub name: Word,
    pub range: JoinedRange,
    pub context: CommandContext,
}

#[cfg(test)]
mod tests {
    #[test]
    fn argvs_are_the_word_values_and_take_no_part_in_equality() {
        let read = crate::shell::parse("apt-get install -y \"$PKG\"").unwrap();
        let fresh = read.clone();
        let argv: Vec<Option<&str>> = read.argvs()[0].iter().map(Option::as_deref).collect();
        assert_eq!(argv, [Some("apt-get"), Some("install"), Some("-y"), None]);
        assert_eq!(read, fresh);
    }
}
