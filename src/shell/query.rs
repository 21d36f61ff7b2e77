//! Questions passes ask about a parsed RUN body, in the vocabulary of hadolint's
//! `Shell.hs` (`cmdHasArgs`, `hasFlag`, `getArgsNoFlags`, `dropFlagArg`), but every answer
//! that points at text carries its range.
//!
//! Flags are read syntactically, as hadolint does: every character of `-abc` is a short flag,
//! `--name=value` is the flag `--name`, and `--` ends the options. A word with no literal
//! value (`$OPTS`) is neither a flag nor a known argument.

use super::{Chain, Command, Script, Word};
use crate::text::JoinedRange;

impl Command {
    /// The basename of the literal command name: `apt-get` for `/usr/bin/apt-get`.
    #[must_use]
    pub fn program(&self) -> Option<&str> {
        let name = self.name.as_ref()?.value.as_deref()?;
        // a byte search: asked for every command by many passes, and `rsplit` costs more
        let start = name.bytes().rposition(|b| b == b'/').map_or(0, |i| i + 1);
        Some(&name[start..])
    }

    /// Whether this runs `name` (compared with [`Command::program`]).
    #[must_use]
    pub fn is(&self, name: &str) -> bool {
        self.program() == Some(name)
    }

    /// Whether this runs `name` with every one of `args` among its literal arguments.
    #[must_use]
    pub fn cmd_has_args(&self, name: &str, args: &[&str]) -> bool {
        self.is(name) && args.iter().all(|arg| self.arg_index_of(arg).is_some())
    }

    /// Whether any of `flags` (`-y`, `--yes`) is given.
    #[must_use]
    pub fn has_flag(&self, flags: &[&str]) -> bool {
        flags.iter().any(|flag| self.flag_range(flag).is_some())
    }

    /// Where `flag` is given: the whole word for `-y`, `--yes` and `--yes=value`; the one
    /// character for `y` inside `-qy` when the word is written unquoted (else the whole word).
    #[must_use]
    pub fn flag_range(&self, flag: &str) -> Option<JoinedRange> {
        let short = short_flag(flag);
        for word in self.options() {
            let Some(value) = word.value.as_deref() else {
                continue;
            };
            if value == flag {
                return Some(word.range);
            }
            if let Some(rest) = value.strip_prefix(flag)
                && flag.starts_with("--")
                && rest.starts_with('=')
            {
                return Some(word.range);
            }
            let (Some(c), Some(letters)) = (short, short_letters(value)) else {
                continue;
            };
            let Some(at) = letters.find(c) else {
                continue;
            };
            if *word.text != *value {
                return Some(word.range);
            }
            let start = word.range.start + 1 + crate::text::to_u32(at);
            return Some(JoinedRange::new(
                start,
                start + crate::text::to_u32(c.len_utf8()),
            ));
        }
        None
    }

    /// Arguments that are not flags, in order: operands, and values of flags given as separate
    /// words (`-o Dir::Cache=x` keeps `Dir::Cache=x`; see [`Command::operands`]). Words with
    /// no literal value are kept; `--` is dropped.
    #[must_use]
    pub fn args_no_flags(&self) -> Vec<&Word> {
        self.operands(&[])
    }

    /// Like [`Command::args_no_flags`], also dropping the word after each flag in
    /// `value_flags` when that flag is a word of its own (`-o x`, `--target x`).
    #[must_use]
    pub fn operands(&self, value_flags: &[&str]) -> Vec<&Word> {
        let mut out = Vec::new();
        let mut options_ended = false;
        let mut skip_next = false;
        for word in &self.args {
            if skip_next {
                skip_next = false;
                continue;
            }
            let value = word.value.as_deref();
            if options_ended {
                out.push(word);
            } else if value == Some("--") {
                options_ended = true;
            } else if value.is_some_and(is_flag) {
                skip_next = value.is_some_and(|v| value_flags.contains(&v));
            } else {
                out.push(word);
            }
        }
        out
    }

    /// Index into `args` of the first argument whose literal value is `value`.
    #[must_use]
    pub fn arg_index_of(&self, value: &str) -> Option<usize> {
        self.args
            .iter()
            .position(|w| w.value.as_deref() == Some(value))
    }

    /// The arguments before `--` (where flags can be).
    fn options(&self) -> impl Iterator<Item = &Word> {
        self.args
            .iter()
            .take_while(|w| w.value.as_deref() != Some("--"))
    }

    /// The program a wrapper builtin runs: `export` for `builtin export` or `command export`.
    fn effective_program(&self) -> Option<&str> {
        match self.program()? {
            "builtin" | "command" => {
                let operand = self.args_no_flags().into_iter().next()?;
                // `command -v x` only looks `x` up.
                if self.has_flag(&["-v", "-V"]) {
                    return Some("command");
                }
                operand.value.as_deref()
            }
            program => Some(program),
        }
    }

    /// Whether an effect on the shell state survives the command: not in a subshell, a
    /// substitution or a pipeline element (each of which runs in a child shell).
    fn in_current_shell(&self) -> bool {
        let c = self.context;
        !(c.in_subshell || c.in_substitution || c.in_pipeline)
    }

    fn runs_any(&self, programs: &[&str]) -> bool {
        self.effective_program()
            .is_some_and(|p| programs.contains(&p))
    }
}

/// `-abc`: the letters `abc`; `None` for `--long`, `-` and non-flags.
fn short_letters(value: &str) -> Option<&str> {
    let letters = value.strip_prefix('-')?;
    (!letters.is_empty() && !letters.starts_with('-')).then_some(letters)
}

/// `-y` → `y`; `None` for long or multi-letter flags.
fn short_flag(flag: &str) -> Option<char> {
    let mut chars = short_letters(flag)?.chars();
    let c = chars.next()?;
    chars.next().is_none().then_some(c)
}

fn is_flag(value: &str) -> bool {
    value.starts_with('-') && value != "-"
}

/// Builtins that may change variables, functions or aliases of the current shell.
const ENV_CHANGERS: &[&str] = &[
    "export",
    "unset",
    "unsetenv",
    "declare",
    "typeset",
    "local",
    "readonly",
    "source",
    ".",
    "alias",
    "unalias",
    "umask",
    "ulimit",
    "eval",
    "read",
    "mapfile",
    "readarray",
    "getopts",
];

impl Script {
    /// The first command that may change the working directory of the rest of the script:
    /// `cd`, `pushd`, `popd` or `eval` run in the current shell (function bodies included).
    #[must_use]
    pub fn changes_cwd(&self) -> Option<JoinedRange> {
        self.first_in_current_shell(&["cd", "pushd", "popd", "eval"])
    }

    /// The first thing that may change variables, functions or aliases seen by later
    /// commands: an env builtin, `printf -v`, bare assignments, or a function definition.
    #[must_use]
    pub fn changes_env(&self) -> Option<JoinedRange> {
        let command = self
            .commands
            .iter()
            .filter(|c| c.in_current_shell())
            .find(|c| {
                c.runs_any(ENV_CHANGERS)
                    || (c.name.is_none() && !c.assignments.is_empty())
                    || (c.is("printf") && c.has_flag(&["-v"]))
            })
            .map(|c| c.range);
        let function = self
            .functions()
            .iter()
            .find(|f| !(f.context.in_subshell || f.context.in_substitution))
            .map(|f| f.range);
        earliest(command, function)
    }

    /// The first `set`, `shopt` or `eval` run in the current shell.
    #[must_use]
    pub fn changes_shell_options(&self) -> Option<JoinedRange> {
        self.first_in_current_shell(&["set", "shopt", "eval"])
    }

    /// The first command after which text appended to the script may not run, or may run
    /// differently: `exit`, `return`, `exec`, `trap`, `logout`, `eval`.
    #[must_use]
    pub fn exits_early(&self) -> Option<JoinedRange> {
        self.first_in_current_shell(&["exit", "return", "exec", "trap", "logout", "eval"])
    }

    /// The first `&` that puts something in the background, at any depth.
    #[must_use]
    pub fn has_background(&self) -> Option<JoinedRange> {
        self.backgrounds().first().copied()
    }

    /// The first command whose name is not a literal (`$CMD arg`, `"$(which x)" …`).
    #[must_use]
    pub fn has_dynamic_command(&self) -> Option<&Command> {
        self.commands
            .iter()
            .find(|c| c.name.as_ref().is_some_and(|n| n.value.is_none()))
    }

    /// Commands not in control flow, a subshell, a substitution or a pipeline of two or
    /// more (commands in `{ …; }` are included).
    pub fn top_level_commands(&self) -> impl Iterator<Item = &Command> {
        self.commands.iter().filter(|c| {
            let x = c.context;
            !(x.in_control_flow || x.in_subshell || x.in_substitution || x.in_pipeline)
        })
    }

    /// The commands of chain `index`, nested ones included, in source order.
    pub fn chain_commands(&self, index: usize) -> impl Iterator<Item = &Command> {
        self.commands.iter().filter(move |c| c.chain == index)
    }

    /// The last top-level and-or chain.
    #[must_use]
    pub fn last_chain(&self) -> Option<&Chain> {
        self.chains.last()
    }

    fn first_in_current_shell(&self, programs: &[&str]) -> Option<JoinedRange> {
        self.commands
            .iter()
            .find(|c| c.in_current_shell() && c.runs_any(programs))
            .map(|c| c.range)
    }
}

fn earliest(a: Option<JoinedRange>, b: Option<JoinedRange>) -> Option<JoinedRange> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.start < a.start { b } else { a }),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    fn script(text: &str) -> Script {
        parse(text).unwrap_or_else(|e| panic!("{text:?}: {e:?}"))
    }

    fn first(text: &str) -> Command {
        script(text).commands.into_vec().swap_remove(0)
    }

    fn texts<'a>(words: &[&'a Word]) -> Vec<&'a str> {
        words.iter().map(|w| &*w.text).collect()
    }

    #[test]
    fn program_and_args() {
        let text = "/usr/bin/apt-get -qy install curl";
        let c = first(text);
        assert_eq!(c.program(), Some("apt-get"));
        assert!(c.is("apt-get"));
        assert!(c.cmd_has_args("apt-get", &["install"]));
        assert!(c.cmd_has_args("apt-get", &["install", "curl"]));
        assert!(!c.cmd_has_args("apt-get", &["install", "wget"]));
        assert!(!c.cmd_has_args("apt", &["install"]));
        assert_eq!(c.arg_index_of("install"), Some(1));
        assert_eq!(c.arg_index_of("-y"), None);
    }

    #[test]
    fn combined_short_flags() {
        let text = "apt-get -qy install";
        let c = first(text);
        assert!(c.has_flag(&["-y", "--yes"]));
        assert!(c.has_flag(&["-q"]));
        assert!(!c.has_flag(&["-n", "--no-install-recommends"]));
        assert_eq!(c.flag_range("-y").map(|r| r.slice(text)), Some("y"));
        assert_eq!(c.flag_range("-y"), Some(JoinedRange::new(10, 11)));
        assert_eq!(texts(&c.args_no_flags()), ["install"]);

        let text = "apt-get '-qy' install";
        let c = first(text);
        assert_eq!(c.flag_range("-y").map(|r| r.slice(text)), Some("'-qy'"));
    }

    #[test]
    fn long_flags() {
        let text = "pip install --no-cache-dir -r requirements.txt";
        let c = first(text);
        assert!(c.cmd_has_args("pip", &["install"]));
        assert!(c.has_flag(&["--no-cache-dir"]));
        assert!(!c.has_flag(&["--no-cache"]));
        assert!(c.has_flag(&["-r"]));
        assert_eq!(
            c.flag_range("--no-cache-dir").map(|r| r.slice(text)),
            Some("--no-cache-dir")
        );
        assert_eq!(texts(&c.args_no_flags()), ["install", "requirements.txt"]);
        assert_eq!(texts(&c.operands(&["-r"])), ["install"]);

        let text = "apt-get install --target-release=bookworm -- -y";
        let c = first(text);
        assert_eq!(
            c.flag_range("--target-release").map(|r| r.slice(text)),
            Some("--target-release=bookworm")
        );
        assert!(!c.has_flag(&["-y"]), "after `--`, `-y` is an operand");
        assert_eq!(texts(&c.args_no_flags()), ["install", "-y"]);
    }

    #[test]
    fn flags_behind_expansions_are_unknown() {
        let c = first("apt-get install $OPTS \"-y\" curl");
        assert!(c.has_flag(&["-y"]), "a quoted flag is still a flag");
        assert_eq!(texts(&c.args_no_flags()), ["install", "$OPTS", "curl"]);
    }

    #[test]
    fn cwd() {
        let text = "cd /app && make";
        let s = script(text);
        assert_eq!(s.changes_cwd().map(|r| r.slice(text)), Some("cd /app"));
        assert!(script("(cd /x && make)").changes_cwd().is_none());
        assert!(script("x=$(cd /x && pwd)").changes_cwd().is_none());
        assert!(script("if true; then cd /x; fi").changes_cwd().is_some());
        assert!(script("make -C /x").changes_cwd().is_none());
    }

    #[test]
    fn env() {
        for text in [
            "export A=1",
            "A=1 B=2",
            "x=$(apt-get install foo)",
            ". /etc/os-release && echo $ID",
            "unset A",
            "local a",
            "f() { :; }",
            "builtin export A",
            "printf -v x %s y",
            "read -r line < f",
        ] {
            assert!(script(text).changes_env().is_some(), "{text:?}");
        }
        for text in [
            "FOO=1 make",
            "(export A=1)",
            "echo $(export A=1)",
            "command -v export",
        ] {
            assert!(script(text).changes_env().is_none(), "{text:?}");
        }
        let text = "echo a; A=1 B=2";
        assert_eq!(
            script(text).changes_env().map(|r| r.slice(text)),
            Some("A=1 B=2")
        );
    }

    #[test]
    fn shell_options_and_early_exit() {
        let text = "set -ex; apt-get update && apt-get install -y --no-install-recommends curl \
                    && rm -rf /var/lib/apt/lists/*";
        let s = script(text);
        assert_eq!(
            s.changes_shell_options().map(|r| r.slice(text)),
            Some("set -ex")
        );
        assert!(s.exits_early().is_none());
        assert!(s.changes_cwd().is_none() && s.changes_env().is_none());
        assert!(
            script("shopt -s globstar")
                .changes_shell_options()
                .is_some()
        );
        assert!(script("make || exit 1").exits_early().is_some());
        assert!(script("exec nginx").exits_early().is_some());
        assert!(script("trap 'rm -f x' EXIT").exits_early().is_some());
        assert!(script("(exit 1) || true").exits_early().is_none());
    }

    #[test]
    fn background() {
        let text = "echo hi &";
        assert_eq!(
            script(text).has_background().map(|r| r.slice(text)),
            Some("&")
        );
        assert!(script("a && b").has_background().is_none());
        assert!(script("echo $((1 & 2))").has_background().is_none());
    }

    #[test]
    fn dynamic_command() {
        let text = "$CMD arg";
        let s = script(text);
        let dynamic = s.has_dynamic_command().expect("dynamic");
        assert_eq!(dynamic.name.as_ref().unwrap().range.slice(text), "$CMD");
        assert!(script("echo $CMD").has_dynamic_command().is_none());
        assert!(script("A=1 B=2").has_dynamic_command().is_none());
    }

    #[test]
    fn top_level_and_chains() {
        let text = "set -e\nif [ -f x ]; then apt-get install y; fi; curl -fsSL url | tar -xz; \
                    x=$(date) && make";
        let s = script(text);
        let top: Vec<&str> = s
            .top_level_commands()
            .map(|c| c.range.slice(text))
            .collect();
        assert_eq!(top, ["set -e", "x=$(date)", "make"]);
        let last = s.last_chain().unwrap();
        assert_eq!(last.range.slice(text), "x=$(date) && make");
        let in_last: Vec<&str> = s
            .chain_commands(s.chains.len() - 1)
            .map(|c| c.range.slice(text))
            .collect();
        assert_eq!(in_last, ["x=$(date)", "date", "make"]);
    }

    #[test]
    fn heredoc_chmod_is_queryable() {
        let text = "cat > /f <<'EOF' && chmod 644 /f\nbody\nEOF";
        let s = script(text);
        let chmod = s.commands.iter().find(|c| c.is("chmod")).expect("chmod");
        assert!(chmod.cmd_has_args("chmod", &["644", "/f"]));
        assert_eq!(chmod.range.slice(text), "chmod 644 /f");
    }
}
