//! Commands that run another command: `sudo apt-get …`, `env X=1 apt-get …`, `timeout 60
//! apt-get …`, `xargs apt-get install`, `chroot /x apt-get …`, `su -c "apt-get …"` and
//! `sh -c "apt-get …"`. Which argument starts the wrapped command is data
//! (`transforms/wrappers.toml`); a shell string is parsed as shell, and one that cannot be read
//! is kept as text, so a check can still ask whether it names a program.
//!
//! Passes edit only the commands of the script itself; what is resolved here is for the
//! checks that decide whether an edit is safe ("does a later RUN still read the index?").

use std::sync::LazyLock;

use serde::Deserialize;

use super::{Command, Script, Word};

/// `transforms/wrappers.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, bound(deserialize = "'de: 'static"))]
struct Data {
    wrapper: Vec<Wrapper>,
    shell: Vec<Shell>,
}

/// A program that runs the command given in its arguments.
#[derive(Debug, Deserialize)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent facts of the data file, read by name"
)]
#[serde(deny_unknown_fields)]
struct Wrapper {
    #[serde(borrow)]
    names: Vec<&'static str>,
    /// Options that take the next word as their value when written apart.
    value_options: Vec<&'static str>,
    /// `NAME=value` words before the command are the wrapper's (`env`, `sudo`).
    #[serde(default)]
    assignments: bool,
    /// Operands before the command (`timeout DURATION`, `chroot DIR`, `gosu USER`).
    #[serde(default)]
    operands: usize,
    /// Options after which nothing from the arguments runs (`command -v`, `sudo -s`).
    #[serde(default)]
    no_command_flags: Vec<&'static str>,
    /// Options that make the rest unreadable (`env -S STRING`).
    #[serde(default)]
    opaque_flags: Vec<&'static str>,
    /// Options whose value is a shell string to run (`su -c STRING`).
    #[serde(default)]
    script_options: Vec<&'static str>,
    /// Only a script option runs something (`su` alone starts an interactive shell).
    #[serde(default)]
    script_only: bool,
    /// The command runs as another user (so a cleanup the pass appends would not).
    #[serde(default)]
    other_user: bool,
    /// The command runs in another root filesystem.
    #[serde(default)]
    other_root: bool,
}

/// A shell: with its script flag (`-c`, also inside `-ec`) its first operand is a script;
/// without, its first operand is a script file, and with no operand it reads standard input.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Shell {
    #[serde(borrow)]
    names: Vec<&'static str>,
    script_flag: char,
    value_options: Vec<&'static str>,
}

fn load() -> Result<Data, String> {
    crate::transforms::table("wrappers")
}

static DATA: LazyLock<Data> =
    LazyLock::new(|| load().expect("transforms/wrappers.toml is checked by the test suite"));

// `NAMES`: what `resolve` checks before it loads the table, which most bodies never need
include!(concat!(env!("OUT_DIR"), "/wrapper_names.rs"));

/// How a resolved command is reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent facts that checks read by name"
)]
pub struct Via {
    /// Run by a wrapper (its words are the wrapper's arguments).
    pub wrapped: bool,
    /// Parsed from a shell string: its ranges point into that string, not the RUN.
    pub from_string: bool,
    /// Runs as another user (`sudo`, `su`, `gosu`).
    pub other_user: bool,
    /// Runs in another root filesystem (`chroot`).
    pub other_root: bool,
}

/// A command that runs, with how it is reached.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'a> {
    pub command: &'a Command,
    pub via: Via,
}

/// What a script runs beyond its own commands, read with the script through
/// [`Effective`]. Kept per RUN body for the whole rewrite, so the script's own commands
/// are not copied into it: most scripts run no wrapper, and this is then empty.
#[derive(Debug, Clone, Default)]
pub struct Wrapped {
    /// The commands wrappers run, in source order, each with the index of the script's
    /// command it is reached from.
    commands: Vec<(usize, Command, Via)>,
    opaque: Vec<String>,
    files: Vec<String>,
}

impl Wrapped {
    /// What a script that runs no wrapper runs beyond its own commands: nothing.
    pub(crate) const NONE: &'static Self = &Self {
        commands: Vec::new(),
        opaque: Vec::new(),
        files: Vec::new(),
    };

    /// Whether the script runs nothing beyond its own commands.
    pub(crate) fn is_empty(&self) -> bool {
        self.commands.is_empty() && self.opaque.is_empty() && self.files.is_empty()
    }
}

/// Every command a script runs, wrapped ones resolved.
#[derive(Debug, Clone, Copy)]
pub struct Effective<'a> {
    script: &'a Script,
    wrapped: &'a Wrapped,
    /// Shell text that runs but cannot be read (`sh -c "$SCRIPT"`, a string that does not
    /// parse), as written.
    pub opaque: &'a [String],
    /// Script files run by a shell or `.`/`source` (`sh install.sh`), as written; `-` for a
    /// script read from standard input (`curl … | sh`).
    pub files: &'a [String],
}

impl<'a> Effective<'a> {
    /// `wrapped` must be [`wrapped`] of `script`.
    pub fn new(script: &'a Script, wrapped: &'a Wrapped) -> Self {
        Self {
            script,
            wrapped,
            opaque: &wrapped.opaque,
            files: &wrapped.files,
        }
    }

    /// In source order: each command of the script, then what it runs through a wrapper.
    /// A resolved command takes its wrapper's range, chain and context.
    pub fn commands(&self) -> impl Iterator<Item = Resolved<'a>> + use<'a> {
        Commands {
            own: &self.script.commands,
            next_own: 0,
            wrapped: &self.wrapped.commands,
            next_wrapped: 0,
        }
    }
}

/// [`Effective::commands`]: after each command of the script, the wrapped ones reached
/// from it.
struct Commands<'a> {
    own: &'a [Command],
    next_own: usize,
    wrapped: &'a [(usize, Command, Via)],
    next_wrapped: usize,
}

impl<'a> Iterator for Commands<'a> {
    type Item = Resolved<'a>;

    fn next(&mut self) -> Option<Resolved<'a>> {
        if let Some((from, command, via)) = self.wrapped.get(self.next_wrapped)
            && *from + 1 == self.next_own
        {
            self.next_wrapped += 1;
            return Some(Resolved { command, via: *via });
        }
        let command = self.own.get(self.next_own)?;
        self.next_own += 1;
        Some(Resolved {
            command,
            via: Via::default(),
        })
    }
}

/// Nested wrappers and strings beyond this are treated as unreadable.
const MAX_DEPTH: u32 = 8;

/// What `script` runs through wrappers.
pub fn wrapped(script: &Script) -> Wrapped {
    let mut out = Wrapped::default();
    for (at, command) in script.commands.iter().enumerate() {
        for (next, next_via) in resolve(command, Via::default(), &mut out) {
            push(&mut out, at, next, next_via, 1);
        }
    }
    // kept per RUN for the whole rewrite: no spare capacity
    out.commands.shrink_to_fit();
    out
}

fn push(out: &mut Wrapped, from: usize, command: Command, via: Via, depth: u32) {
    if depth > MAX_DEPTH {
        out.opaque.push(words_text(&command));
        return;
    }
    let inner = resolve(&command, via, out);
    out.commands.push((from, command, via));
    for (next, next_via) in inner {
        push(out, from, next, next_via, depth + 1);
    }
}

/// The command `command` runs through a wrapper, or the commands of a shell string it runs.
/// Unreadable text and script files go to `out`.
fn resolve(command: &Command, via: Via, out: &mut Wrapped) -> Vec<(Command, Via)> {
    let Some(program) = command.program() else {
        return Vec::new();
    };
    if matches!(program, "." | "source") {
        if let Some(file) = command.args.first() {
            out.files.push(file.text.to_string());
        }
        return Vec::new();
    }
    // the table's load costs more than the rest of a small file's wrapper resolution
    if NAMES.binary_search(&program).is_err() {
        return Vec::new();
    }
    let data = &*DATA;
    if let Some(shell) = data.shell.iter().find(|s| s.names.contains(&program)) {
        return shell_runs(shell, command, via, out);
    }
    let Some(wrapper) = data.wrapper.iter().find(|w| w.names.contains(&program)) else {
        return Vec::new();
    };
    let via = Via {
        wrapped: true,
        other_user: via.other_user || wrapper.other_user,
        other_root: via.other_root || wrapper.other_root,
        ..via
    };
    if !wrapper.script_options.is_empty() {
        if let Some(script) = option_value(&command.args, &wrapper.script_options) {
            return string_runs(command, script, via, out);
        }
        if wrapper.script_only {
            return Vec::new();
        }
    }
    let mut at = 0;
    let args = &command.args;
    let mut options_ended = false;
    while let Some(word) = args.get(at) {
        let Some(value) = word.value.as_deref() else {
            // `sudo $CMD …`: what runs is not known
            out.opaque.push(rest_text(&args[at..]));
            return Vec::new();
        };
        if !options_ended && value == "--" {
            options_ended = true;
            at += 1;
            continue;
        }
        if !options_ended && value.starts_with('-') && value != "-" {
            let name = value.split_once('=').map_or(value, |(n, _)| n);
            if has(&wrapper.no_command_flags, name) {
                return Vec::new();
            }
            if has(&wrapper.opaque_flags, name) {
                out.opaque.push(rest_text(&args[at..]));
                return Vec::new();
            }
            let takes_next = !value.contains('=') && has(&wrapper.value_options, value);
            at += if takes_next { 2 } else { 1 };
            continue;
        }
        if wrapper.assignments && is_assignment(value) {
            at += 1;
            continue;
        }
        break;
    }
    let start = at + wrapper.operands;
    let Some(name) = args.get(start) else {
        return Vec::new();
    };
    let inner = Command {
        range: command.range,
        name: Some(name.clone()),
        args: args[start + 1..].into(),
        assignments: Box::default(),
        redirects: Box::default(),
        context: command.context,
        chain: command.chain,
    };
    vec![(inner, via)]
}

/// `sh -c STRING`, `sh FILE`, `… | sh`.
fn shell_runs(
    shell: &Shell,
    command: &Command,
    via: Via,
    out: &mut Wrapped,
) -> Vec<(Command, Via)> {
    let mut script_mode = false;
    let mut at = 0;
    let args = &command.args;
    while let Some(word) = args.get(at) {
        let Some(value) = word.value.as_deref() else {
            out.opaque.push(rest_text(&args[at..]));
            return Vec::new();
        };
        if value == "--" || value == "-" {
            at += 1;
            break;
        }
        if let Some(letters) = value.strip_prefix('-').or_else(|| value.strip_prefix('+')) {
            if has(&shell.value_options, value) {
                at += 2;
                continue;
            }
            if !letters.starts_with('-') && letters.contains(shell.script_flag) {
                script_mode = true;
            }
            at += 1;
            continue;
        }
        break;
    }
    match (script_mode, args.get(at)) {
        (true, Some(script)) => string_runs(command, script, via, out),
        (true, None) => Vec::new(),
        (false, Some(file)) => {
            out.files.push(file.text.to_string());
            Vec::new()
        }
        (false, None) => {
            out.files.push("-".to_owned());
            Vec::new()
        }
    }
}

/// The commands of a shell string, or the string as unreadable text.
fn string_runs(
    command: &Command,
    script: &Word,
    via: Via,
    out: &mut Wrapped,
) -> Vec<(Command, Via)> {
    let Some(text) = script.value.as_deref() else {
        out.opaque.push(script.text.to_string());
        return Vec::new();
    };
    let Ok(parsed) = super::parse(text) else {
        out.opaque.push(text.to_owned());
        return Vec::new();
    };
    let via = Via {
        wrapped: true,
        from_string: true,
        ..via
    };
    parsed
        .commands
        .into_iter()
        .map(|mut c| {
            c.range = command.range;
            c.chain = command.chain;
            (c, via)
        })
        .collect()
}

/// The value of the first of `options` in `args`: the next word, or the part after `=`.
fn option_value<'a>(args: &'a [Word], options: &[&str]) -> Option<&'a Word> {
    for (i, word) in args.iter().enumerate() {
        let value = word.value.as_deref()?;
        if value == "--" {
            return None;
        }
        if has(options, value) {
            return args.get(i + 1);
        }
    }
    None
}

fn has(list: &[&str], value: &str) -> bool {
    list.contains(&value)
}

/// `NAME=value` with a valid variable name.
fn is_assignment(value: &str) -> bool {
    value.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

fn rest_text(words: &[Word]) -> String {
    words.iter().map(|w| &*w.text).collect::<Vec<_>>().join(" ")
}

fn words_text(command: &Command) -> String {
    let name = command.name.iter();
    name.chain(&command.args)
        .map(|w| &*w.text)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn programs(text: &str) -> Vec<(String, Via)> {
        let script = super::super::parse(text).unwrap();
        let wrapped = wrapped(&script);
        Effective::new(&script, &wrapped)
            .commands()
            .filter(|r| r.via.wrapped)
            .map(|r| {
                let c = r.command;
                let words: Vec<&str> = c.name.iter().chain(&c.args).map(|w| &*w.text).collect();
                (words.join(" "), r.via)
            })
            .collect()
    }

    fn runs(text: &str) -> Vec<String> {
        programs(text).into_iter().map(|(w, _)| w).collect()
    }

    #[test]
    fn data_loads() {
        let data = load().unwrap();
        assert!(data.wrapper.iter().any(|w| w.names.contains(&"sudo")));
        assert!(data.shell.iter().any(|s| s.names.contains(&"bash")));
        // the names resolve() checks first are exactly the table's, sorted
        let mut names: Vec<&str> = data
            .wrapper
            .iter()
            .flat_map(|w| w.names.iter())
            .chain(data.shell.iter().flat_map(|s| s.names.iter()))
            .copied()
            .collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(NAMES, names);
    }

    #[test]
    fn wrappers_resolve_to_the_command() {
        let cases = [
            ("sudo apt-get install -y x", vec!["apt-get install -y x"]),
            ("sudo -E -u root apt-get update", vec!["apt-get update"]),
            (
                "env DEBIAN_FRONTEND=noninteractive apt-get install x",
                vec!["apt-get install x"],
            ),
            ("env -u A B=1 apt-get install x", vec!["apt-get install x"]),
            ("timeout 60 apt-get update", vec!["apt-get update"]),
            ("timeout -s KILL 60 apt-get update", vec!["apt-get update"]),
            ("nice -n 10 apt-get install x", vec!["apt-get install x"]),
            ("command apt-get install x", vec!["apt-get install x"]),
            ("eatmydata apt-get install x", vec!["apt-get install x"]),
            (
                "cat list | xargs apt-get install -y",
                vec!["apt-get install -y"],
            ),
            (
                "xargs -n 1 -I{} apt-get install {}",
                vec!["apt-get install {}"],
            ),
            (
                "chroot /target apt-get install x",
                vec!["apt-get install x"],
            ),
            (
                "sudo env A=1 timeout 5 apk add x",
                vec![
                    "env A=1 timeout 5 apk add x",
                    "timeout 5 apk add x",
                    "apk add x",
                ],
            ),
        ];
        for (text, want) in cases {
            assert_eq!(runs(text), want, "{text}");
        }
        assert!(runs("command -v apt-get").is_empty());
        assert!(runs("sudo -s").is_empty());
        assert!(runs("echo sudo apt-get").is_empty());
        let via = programs("chroot /x apt-get update")[0].1;
        assert!(via.other_root && !via.other_user);
        assert!(programs("sudo apt-get update")[0].1.other_user);
    }

    #[test]
    fn shell_strings_are_parsed() {
        assert_eq!(
            runs("sh -c 'apt-get update && apt-get install -y x'"),
            ["apt-get update", "apt-get install -y x"]
        );
        assert_eq!(runs("bash -ec \"apk add x\""), ["apk add x"]);
        assert_eq!(
            runs("su -c 'apt-get install x' root"),
            ["apt-get install x"]
        );
        assert_eq!(
            runs("su root -c 'apt-get install x'"),
            ["apt-get install x"]
        );
        assert_eq!(
            runs("sudo sh -c 'apt-get install x'"),
            ["sh -c 'apt-get install x'", "apt-get install x"]
        );
        let via = programs("sh -c 'apt-get update'")[0].1;
        assert!(via.from_string && via.wrapped);
        assert!(runs("su").is_empty());
    }

    #[test]
    fn unreadable_and_files() {
        let script =
            super::super::parse("sh -c \"$SCRIPT\"; sudo $CMD; env -S 'a b'; sh -c 'if then'")
                .unwrap();
        let e = wrapped(&script);
        assert_eq!(e.opaque, ["\"$SCRIPT\"", "$CMD", "-S 'a b'", "if then"]);
        let script =
            super::super::parse("sh ./install.sh && curl x | bash && . /etc/profile").unwrap();
        assert_eq!(
            wrapped(&script).files,
            ["./install.sh", "-", "/etc/profile"]
        );
        let script = super::super::parse("bash -c 'echo hi'").unwrap();
        assert!(wrapped(&script).files.is_empty());
    }

    #[test]
    fn nesting_is_bounded() {
        let text = format!("{}apt-get update", "sudo ".repeat(20));
        let script = super::super::parse(&text).unwrap();
        let e = wrapped(&script);
        assert_eq!(e.opaque.len(), 1);
    }
}
