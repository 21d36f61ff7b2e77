//! What the layer-size passes share: every RUN with its stage and parsed shell, the stages
//! built `FROM` a stage, the manager commands of a RUN, and the two structural edits (merging
//! two RUNs, appending a command to one) together with the conditions under which each keeps
//! the build's behaviour. A condition that does not hold is returned as the reason for
//! declining, so the passes stay silent rather than guess.

use crate::managers::{self, Invocation, Manager};
use crate::shell::{self, AndOr, Command, RunScript, Separator, Skip};
use crate::syntax::{Args, Dockerfile, Instruction, Item, Keyword, TokenKind};
use crate::text::{Edit, JoinedRange, TextRange};

/// One RUN instruction of the file.
pub(crate) struct Run<'a> {
    /// Position in [`Dockerfile::instructions`].
    pub(crate) index: usize,
    /// Index of its stage (`None` before the first `FROM`).
    pub(crate) stage: Option<usize>,
    pub(crate) ins: &'a Instruction,
    pub(crate) script: Result<RunScript<'a>, Skip>,
}

impl Run<'_> {
    /// The manager commands of the body, in source order (empty when it cannot be read).
    pub(crate) fn invocations(&self) -> Vec<Invocation<'_>> {
        self.script.as_ref().map_or_else(
            |_| Vec::new(),
            |s| {
                s.script
                    .commands
                    .iter()
                    .filter_map(managers::invocation)
                    .collect()
            },
        )
    }
}

/// The RUNs of a file and how its stages derive from each other.
pub(crate) struct Runs<'a> {
    pub(crate) file: &'a Dockerfile,
    pub(crate) all: Vec<Run<'a>>,
    /// For each stage, the stage it is built `FROM`, if it is one of the file's.
    parents: Vec<Option<usize>>,
    /// Per stage, the instructions whose commands run after the build: ONBUILD triggers,
    /// CMD, ENTRYPOINT and HEALTHCHECK.
    deferred: Vec<(Option<usize>, &'a Instruction)>,
}

impl<'a> Runs<'a> {
    pub(crate) fn new(file: &'a Dockerfile, scripts: &super::ScriptCache) -> Self {
        let posix = shell::posix_shells(file);
        let parents = file.stages().iter().map(|s| s.parent).collect();
        let mut runs = Vec::new();
        let mut deferred = Vec::new();
        let mut stage: Option<usize> = None;
        for (index, ins) in file.instructions().enumerate() {
            match ins.kind {
                Keyword::From => stage = Some(stage.map_or(0, |s| s + 1)),
                Keyword::Run => runs.push(Run {
                    index,
                    stage,
                    ins,
                    script: shell::run_script_using(ins, posix[index], |t| scripts.parse(t)),
                }),
                Keyword::Onbuild | Keyword::Cmd | Keyword::Entrypoint | Keyword::Healthcheck => {
                    deferred.push((stage, ins));
                }
                _ => {}
            }
        }
        Self {
            file,
            all: runs,
            parents,
            deferred,
        }
    }

    /// Whether stage `child` is `stage` or is built (directly or not) `FROM` it.
    fn derives_from(&self, child: Option<usize>, stage: Option<usize>) -> bool {
        let mut at = child;
        while let Some(s) = at {
            if Some(s) == stage {
                return true;
            }
            at = self.parents.get(s).copied().flatten();
        }
        child == stage
    }

    /// The RUNs whose layers sit on top of run `pos`: later RUNs of its stage and the RUNs of
    /// every stage built `FROM` it.
    pub(crate) fn later(&self, pos: usize) -> impl Iterator<Item = &Run<'a>> {
        let this = &self.all[pos];
        self.all[pos + 1..]
            .iter()
            .filter(move |r| self.derives_from(r.stage, this.stage))
    }

    /// The deferred commands (ONBUILD, CMD, ENTRYPOINT, HEALTHCHECK) of run `pos`'s stage
    /// and of the stages built `FROM` it.
    pub(crate) fn deferred(&self, pos: usize) -> impl Iterator<Item = &Instruction> {
        let stage = self.all[pos].stage;
        self.deferred
            .iter()
            .filter(move |(s, _)| self.derives_from(*s, stage))
            .map(|(_, i)| *i)
    }

    /// Pairs of RUNs that follow each other with only comments or blank lines between.
    pub(crate) fn adjacent_pairs(&self) -> impl Iterator<Item = (&Run<'a>, &Run<'a>)> {
        self.all
            .windows(2)
            .filter(|w| w[0].index + 1 == w[1].index)
            .map(|w| (&w[0], &w[1]))
    }

    /// Whether any later RUN (see [`Self::later`]) or deferred command may need the index that
    /// `manager` keeps: a command that reads it without refreshing it first in its own RUN,
    /// or a body that cannot be read but mentions the manager.
    pub(crate) fn index_needed_later(&self, pos: usize, manager: &Manager) -> bool {
        let word = manager_word(manager);
        let unreadable_mentions = |ins: &Instruction| self.file.slice(ins.range).contains(word);
        for run in self.later(pos) {
            if run.script.is_err() {
                if unreadable_mentions(run.ins) {
                    return true;
                }
                continue;
            }
            let mut refreshed = false;
            for inv in run.invocations() {
                if !inv.manager.shares_index_with(manager) {
                    continue;
                }
                if inv.action() == Some(managers::Action::Refresh) {
                    refreshed = true;
                } else if !refreshed && inv.needs_stored_index() {
                    return true;
                }
            }
        }
        self.deferred(pos).any(unreadable_mentions)
    }
}

/// The word a manager is run by (for conservative text checks on bodies we cannot read).
pub(crate) fn manager_word(manager: &Manager) -> &str {
    manager
        .invocations
        .first()
        .and_then(|words| words.first())
        .map_or(manager.name.as_str(), |w| w.trim_end_matches('*'))
}

/// Whether `command` is an `rm` of (something inside) `dir`, or of a directory holding it.
pub(crate) fn removes_dir(command: &Command, dir: &str) -> bool {
    command.is("rm")
        && command.args_no_flags().iter().any(|w| {
            w.value.as_deref().is_some_and(|v| {
                let path = v.trim_end_matches('*').trim_end_matches('/');
                !path.is_empty() && (managers::covers(dir, path) || managers::covers(path, dir))
            })
        })
}

/// Whether a `--mount=type=cache` of `ins` covers `dir` or lies inside it. A cache mount
/// whose target is not a plain absolute path counts as covering (we cannot tell).
pub(crate) fn cache_mount_covers(ins: &Instruction, dir: &str) -> bool {
    ins.mounts().iter().filter(|m| m.kind == "cache").any(|m| {
        let Some(target) = m.target.as_deref() else {
            return true;
        };
        if !target.starts_with('/') || target.contains('$') {
            return true;
        }
        // for a per-user cache such as /root/.cache/pip, the same cache of another user
        let home_suffix = dir.strip_prefix("/root");
        managers::covers(target, dir)
            || managers::covers(dir, target)
            || home_suffix.is_some_and(|s| target.trim_end_matches('/').ends_with(s))
    })
}

/// Whether instruction `index` (in file order) or one before it mentions `needle` in its
/// text: a conservative "may this setting be in effect here".
pub(crate) fn mentioned_through(file: &Dockerfile, index: usize, needle: &str) -> bool {
    file.instructions()
        .take(index + 1)
        .any(|i| file.slice(i.range).contains(needle))
}

/// The source range of the shell arguments of a RUN.
fn args_range(ins: &Instruction) -> Option<TextRange> {
    match ins.args {
        Args::Shell { range, .. } => Some(range),
        _ => None,
    }
}

/// Whether only blanks and the final line break follow `offset` in the instruction.
fn only_blanks_after(ins: &Instruction, offset: u32) -> bool {
    ins.tokens
        .iter()
        .filter(|t| t.range.start >= offset)
        .all(|t| matches!(t.kind, TokenKind::Whitespace | TokenKind::Newline))
}

/// Whether the script can take text after its end: its last list has no separator after it
/// and nothing but blanks follows it (no trailing comment), and no command may skip the rest
/// or run in the background.
fn open_ended(run: &RunScript<'_>) -> Result<(), &'static str> {
    let script = &run.script;
    let text = run.instruction.shell_text().unwrap_or_default();
    let last = script.last_chain().ok_or("the body has no command")?;
    if last.separator.is_some() {
        return Err("the body ends with a separator");
    }
    if !text[last.range.end as usize..].trim().is_empty() {
        return Err("the body ends with a comment");
    }
    if script.exits_early().is_some() {
        return Err("the body may exit early");
    }
    if script.has_background().is_some() {
        return Err("the body runs something in the background");
    }
    Ok(())
}

/// An edit that appends ` && COMMAND` to the body of `run`, so that `COMMAND` runs last
/// and only when the body succeeded, with the body's own status otherwise.
pub(crate) fn append(run: &Run<'_>, command: &str) -> Result<Edit, &'static str> {
    let script = run.script.as_ref().map_err(|_| "the body cannot be read")?;
    open_ended(script)?;
    let s = &script.script;
    if !s.functions.is_empty() {
        return Err("the body defines functions");
    }
    let redefines = s.commands.iter().any(|c| {
        c.is("alias")
            || c.assignments
                .iter()
                .chain(if c.is("export") {
                    c.args.as_slice()
                } else {
                    &[]
                })
                .any(|w| w.text.starts_with("PATH="))
    });
    if redefines {
        return Err("the body changes PATH or aliases");
    }
    let end = args_range(run.ins).ok_or("not shell form")?.end;
    Ok(Edit::insert(end, format!(" && {command}")))
}

/// The edits that merge RUN `b` into the RUN `a` just before it: `a`'s body, ` && `, a
/// continuation in the file's escape character, then `b`'s body on the next line, indented
/// like the file's continuation lines. Comment lines between them stay (inside the
/// continuation, where BuildKit skips them); blank lines between them go.
///
/// Behaviour is kept because `a`'s body cannot change the shell state `b` runs in, `a && b`
/// runs `b` exactly when `a` succeeded (when `a` failed the build stopped anyway), and `b` is
/// one `&&` list, so no part of it runs when `a` fails.
pub(crate) fn merge(
    file: &Dockerfile,
    a: &Run<'_>,
    b: &Run<'_>,
) -> Result<Vec<Edit>, &'static str> {
    if a.index + 1 != b.index {
        return Err("not adjacent");
    }
    let sa = a
        .script
        .as_ref()
        .map_err(|_| "the first body cannot be read")?;
    let sb = b
        .script
        .as_ref()
        .map_err(|_| "the second body cannot be read")?;
    if sorted_flags(a.ins) != sorted_flags(b.ins) {
        return Err("the RUN flags differ");
    }
    if a.ins
        .mounts()
        .iter()
        .any(|m| m.kind == "tmpfs" || (m.kind == "bind" && m.read_write))
    {
        return Err("a tmpfs or writable bind mount would be shared");
    }
    let s = &sa.script;
    if s.changes_cwd().is_some()
        || s.changes_env().is_some()
        || s.changes_shell_options().is_some()
        || s.has_dynamic_command().is_some()
        || !s.functions.is_empty()
    {
        return Err("the first body may change the shell state");
    }
    open_ended(sa)?;
    plain_and_list(sb)?;

    let a_end = args_range(a.ins).ok_or("not shell form")?.end;
    let b_start = args_range(b.ins).ok_or("not shell form")?.start;
    // `RUN \` + a comment line + the body: the comment would go with the keyword
    if b.ins
        .tokens
        .iter()
        .any(|t| t.range.end <= b_start && matches!(t.kind, TokenKind::Comment | TokenKind::Blank))
    {
        return Err("the second RUN has a comment before its body");
    }
    if !only_blanks_after(a.ins, a_end) || !file.source[..a.ins.range.end as usize].ends_with('\n')
    {
        return Err("the first RUN does not end cleanly");
    }
    let newline = if file.source[..a.ins.range.end as usize].ends_with("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    // the merge replaces the last character of `a` too, so that text another pass appends at
    // the end of `a` in the same round conflicts with it and waits for the merged RUN
    let last = file.source[..a_end as usize]
        .chars()
        .next_back()
        .ok_or("empty body")?;
    let last_start = a_end - crate::text::to_u32(last.len_utf8());
    let mut edits = vec![Edit::replace(
        TextRange::new(last_start, a.ins.range.end),
        format!("{last} && {}{newline}", file.escape),
    )];
    for item in &file.items {
        let range = Dockerfile::item_range(item);
        if range.start >= a.ins.range.end
            && range.end <= b.ins.range.start
            && matches!(item, Item::Blank(_))
        {
            edits.push(Edit::delete(range));
        }
    }
    edits.push(Edit::replace(
        TextRange::new(b.ins.range.start, b_start),
        continuation_indent(file, a.ins),
    ));
    Ok(edits)
}

/// The RUN flags as BuildKit reads them, in a canonical order.
fn sorted_flags(i: &Instruction) -> Vec<&str> {
    let mut f: Vec<&str> = i.flags.iter().map(|f| f.text.as_str()).collect();
    f.sort_unstable();
    f
}

/// The indentation of continuation lines: `a`'s own, else the first RUN's that has one,
/// else four spaces.
fn continuation_indent(file: &Dockerfile, a: &Instruction) -> String {
    let of = |ins: &Instruction| {
        let at = ins
            .tokens
            .iter()
            .find(|t| t.kind == TokenKind::Continuation)?;
        let rest = &file.source[at.range.end as usize..ins.range.end as usize];
        let indent: &str = &rest[..rest.len() - rest.trim_start_matches([' ', '\t']).len()];
        Some(indent.to_owned())
    };
    of(a)
        .or_else(|| {
            file.instructions()
                .filter(|i| i.kind == Keyword::Run)
                .find_map(of)
        })
        .unwrap_or_else(|| "    ".to_owned())
}

/// Whether the body is one `&&` list from its first byte, so that `X && BODY` runs no part
/// of the body when `X` fails.
pub(crate) fn plain_and_list(run: &RunScript<'_>) -> Result<(), &'static str> {
    let [chain] = run.script.chains.as_slice() else {
        return Err("the body is more than one list");
    };
    if chain.operators.iter().any(|(op, _)| *op == AndOr::Or)
        || matches!(chain.separator, Some((Separator::Background, _)))
    {
        return Err("the body is not a plain && list");
    }
    let text = run.instruction.shell_text().unwrap_or_default();
    if !text[..chain.range.start as usize].trim().is_empty() {
        return Err("the body starts with something else");
    }
    Ok(())
}

/// An edit that puts `COMMAND && ` before the body (see [`plain_and_list`]).
pub(crate) fn prepend(run: &Run<'_>, command: &str) -> Result<Edit, &'static str> {
    let script = run.script.as_ref().map_err(|_| "the body cannot be read")?;
    plain_and_list(script)?;
    let start = args_range(run.ins).ok_or("not shell form")?.start;
    Ok(Edit::insert(start, format!("{command} && ")))
}

/// The joined range that removes `command` from its `&&` list: ` && COMMAND` when it follows
/// an `&&`, `COMMAND && ` when it leads one. `None` when it is not a plain element of a
/// top-level `&&` list, or is the whole list.
pub(crate) fn drop_command(run: &RunScript<'_>, command: &Command) -> Option<JoinedRange> {
    if command.context != shell::CommandContext::default() {
        return None;
    }
    let text = run.instruction.shell_text()?;
    let chain = run.script.chains.get(command.chain)?;
    let before = chain
        .operators
        .iter()
        .rfind(|(_, r)| r.end <= command.range.start);
    let after = chain
        .operators
        .iter()
        .find(|(_, r)| r.start >= command.range.end);
    // nothing but blanks between the operator and the command
    let blank = |from: u32, to: u32| text[from as usize..to as usize].trim().is_empty();
    match (before, after) {
        (Some((AndOr::And, op)), next)
            if blank(op.end, command.range.start)
                && next.is_none_or(|(kind, r)| {
                    *kind == AndOr::And && blank(command.range.end, r.start)
                }) =>
        {
            let start = text[..op.start as usize].trim_end().len();
            Some(JoinedRange::new(
                crate::text::to_u32(start),
                command.range.end,
            ))
        }
        (None, Some((AndOr::And, op)))
            if blank(command.range.end, op.start)
                && blank(chain.range.start, command.range.start) =>
        {
            let rest = &text[op.end as usize..];
            let next = op.end as usize + (rest.len() - rest.trim_start().len());
            Some(JoinedRange::new(
                command.range.start,
                crate::text::to_u32(next),
            ))
        }
        _ => None,
    }
}

/// The joined range that removes one argument word and the blanks before it.
pub(crate) fn drop_word(run: &RunScript<'_>, word: &shell::Word) -> JoinedRange {
    let text = run.instruction.shell_text().unwrap_or_default();
    let start = text[..word.range.start as usize].trim_end().len();
    JoinedRange::new(crate::text::to_u32(start), word.range.end)
}

/// Whether `command` is one of the commands of `cleanup` (`dnf clean all` in
/// `dnf clean all`), compared word by word on literal values.
pub(crate) fn runs_one_of(command: &Command, cleanup: &str) -> bool {
    cleanup.split("&&").any(|part| {
        let mut words = part.split_whitespace();
        let Some(program) = words.next() else {
            return false;
        };
        command.is(program)
            && words
                .zip(
                    command
                        .args
                        .iter()
                        .map(|w| w.value.as_deref())
                        .chain(std::iter::repeat(None)),
                )
                .all(|(want, got)| got == Some(want))
    })
}
