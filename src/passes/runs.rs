//! What the layer-size passes share: every RUN with its stage and parsed shell, the stages
//! built `FROM` a stage, the manager commands of a RUN, and the two structural edits (merging
//! two RUNs, appending a command to one) together with the conditions under which each keeps
//! the build's behaviour. A condition that does not hold is returned as the reason for
//! declining, so the passes stay silent rather than guess.

use super::layout;
use crate::managers::{self, Invocation};
use crate::shell::{self, AndOr, Command, RunScript, Separator, Skip};
use crate::syntax::{Args, Dockerfile, Instruction, Item, Keyword, TokenKind};
use crate::text::{Edit, JoinedRange, TextRange};

/// One RUN instruction of the file. Positions are u32 (a source is capped at 16 MiB): a large
/// file's passes hold one `Run` per RUN.
pub(crate) struct Run<'a> {
    /// See [`Self::index`].
    at: u32,
    /// See [`Self::stage`]; `u32::MAX` for none (an `Option<u32>` would take 8 bytes).
    in_stage: u32,
    pub(crate) ins: &'a Instruction,
    /// Its parse is the body's entry in the script cache, shared with the other rounds.
    pub(crate) script: Result<RunScript<'a>, Skip>,
    /// The continuation layout of the RUN, which several edits of one fix ask for (boxed:
    /// few RUNs are edited, and every RUN of a large file holds the cell).
    layout: std::cell::OnceCell<Box<layout::Layout>>,
}

impl Run<'_> {
    /// Position in [`Dockerfile::instructions`].
    pub(crate) fn index(&self) -> usize {
        self.at as usize
    }

    /// Index of its stage (`None` before the first `FROM`).
    pub(crate) fn stage(&self) -> Option<usize> {
        (self.in_stage != u32::MAX).then_some(self.in_stage as usize)
    }

    /// The body's entry in the script cache (`None` when the body was not parsed: exec
    /// form, heredoc, not POSIX, or it does not parse).
    fn body(&self) -> Option<&shell::Body> {
        Some(self.script.as_ref().ok()?.script.body())
    }

    /// Every command the body runs, those behind `sudo`, `env`, `sh -c`, … included; `None`
    /// when the body cannot be read. For checks only: passes edit the script's own commands.
    pub(crate) fn effective(&self) -> Option<shell::wrappers::Effective<'_>> {
        self.body()?.effective()
    }

    /// The manager commands the body runs, wrapped ones included, with how each is reached.
    pub(crate) fn all_invocations(&self) -> Vec<(Invocation<'_>, shell::wrappers::Via)> {
        // only a parsed body (which the cache keeps) has effective commands
        let Some(body) = self.body() else {
            return Vec::new();
        };
        let Some(effective) = body.effective() else {
            return Vec::new();
        };
        let found = body.found_all();
        if found.is_empty() {
            return Vec::new();
        }
        let commands: Vec<_> = effective.commands().collect();
        found
            .iter()
            .map(|&(at, manager, sub)| {
                let resolved = &commands[at];
                let command = resolved.command;
                let inv = Invocation {
                    manager,
                    command,
                    sub: sub.map(|i| &command.args[i]),
                };
                (inv, resolved.via)
            })
            .collect()
    }

    /// The layout of the RUN's continuation lines ([`layout::Layout::of`]), found once.
    pub(crate) fn layout(&self, file: &Dockerfile) -> &layout::Layout {
        self.layout
            .get_or_init(|| Box::new(layout::Layout::of(file, self.ins)))
    }

    /// The manager commands of the body, in source order (empty when it cannot be read).
    pub(crate) fn invocations(&self) -> Vec<Invocation<'_>> {
        let Ok(s) = &self.script else {
            return Vec::new();
        };
        let commands = &s.script.commands;
        // kept with the body's parse: an unchanged body is not looked up again next round
        s.script
            .body()
            .found()
            .iter()
            .map(|&(at, manager, sub)| {
                let command = &commands[at];
                Invocation {
                    manager,
                    command,
                    sub: sub.map(|i| &command.args[i]),
                }
            })
            .collect()
    }
}

/// The RUNs of a file and how its stages derive from each other.
pub(crate) struct Runs<'a> {
    pub(crate) file: &'a Dockerfile,
    pub(crate) all: Vec<Run<'a>>,
    /// The instructions whose commands run after the build (ONBUILD triggers, CMD,
    /// ENTRYPOINT and HEALTHCHECK) with their stage plus one (0: before any `FROM`), in order.
    deferred: Box<[(u32, &'a Instruction)]>,
    /// The stages built `FROM` each stage: those of stage `s` are
    /// `children[child_starts[s]..child_starts[s + 1]]`, what [`Self::family`] visits, so
    /// that it does not walk every RUN of the file (one list, not one per stage).
    child_starts: Box<[u32]>,
    children: Box<[u32]>,
    /// The file's stages, found once (compactly; [`crate::syntax::Stages::get`] builds one).
    pub(crate) stages: crate::syntax::Stages<'a>,
    /// Per stage, the positions in `all` of its RUNs.
    by_stage: Box<[std::ops::Range<u32>]>,
    /// Per instruction, whether its RUN shell is POSIX ([`shell::posix_shells`]), a bit
    /// each: found once, as the semantic model asks too.
    posix: crate::bits::Bits,
    /// Facts about the whole file that passes ask for once per RUN, kept for all of them.
    /// The names COPY and ADD bring borrow from the file (a large file copies thousands):
    /// sorted, without repeats (a slice at its length is half a hash set's size).
    pub(super) copied_names: std::cell::OnceCell<Box<[&'a str]>>,
    /// The `COPY --from`s of the file: position in [`Dockerfile::instructions`], the stage
    /// they copy from when it is one of the file's, and the instruction.
    pub(super) copies_from: std::cell::OnceCell<Vec<(usize, Option<usize>, &'a Instruction)>>,
    /// The instructions that take files from a stage (`COPY --from`, `RUN --mount=from=`),
    /// with their position in [`Dockerfile::instructions`].
    pub(super) copiers: std::cell::OnceCell<Vec<(usize, &'a Instruction)>>,
    /// Per manager (by address), who may read its index: see `index_users`.
    pub(super) readers:
        std::cell::RefCell<crate::hash::FxMap<usize, std::rc::Rc<super::index_users::Readers>>>,
    /// Per tool (by address), the first RUN of each stage that upgrades it: see
    /// `tool_versions`.
    pub(super) upgraders:
        std::cell::RefCell<crate::hash::FxMap<usize, std::rc::Rc<Vec<Option<usize>>>>>,
    /// The fixes of split-stages, which non-root-user asks for too.
    pub(super) split: std::cell::OnceCell<Vec<crate::text::Fix>>,
    /// Per RUN position and manager (by address), cache-mounts' fix, when cache-cleanup
    /// asked first whether there is one: see `cache_mounts::mounts`.
    pub(super) mount_fixes:
        std::cell::RefCell<crate::hash::FxMap<(usize, usize), Option<crate::text::Fix>>>,
    /// Per tool (by address) and base image (normalised; `None`: not known), how the
    /// image's tool fits: see `tool_versions::tool_version`.
    pub(super) versions: std::cell::RefCell<
        crate::hash::FxMap<(usize, Option<String>), super::tool_versions::Version>,
    >,
    /// Per stage, whether its base image is known to run as root (`None`: not asked yet):
    /// see `tool_versions`. A byte per stage, not a map entry.
    pub(super) root_bases: std::cell::RefCell<Vec<Option<bool>>>,
    /// The `USER` instructions of the file, by stage and then in order: the stage, where
    /// each starts and the user it names (one list, not one per stage: most have none).
    pub(super) users: std::cell::OnceCell<Vec<(usize, super::tool_versions::UserAt<'a>)>>,
}

impl<'a> Runs<'a> {
    pub(crate) fn new(file: &'a Dockerfile, scripts: &super::ScriptCache) -> Self {
        let stages = file.stage_list();
        let posix = shell::posix_shells_in(file, stages.iter());
        // sized exactly: on a large file a doubling Vec of RUNs is a good part of the peak
        let (mut count, mut later) = (0, 0);
        for ins in file.instructions() {
            match ins.kind {
                Keyword::Run => count += 1,
                Keyword::Onbuild | Keyword::Cmd | Keyword::Entrypoint | Keyword::Healthcheck => {
                    later += 1;
                }
                _ => {}
            }
        }
        let mut runs = Vec::with_capacity(count);
        let mut deferred = Vec::with_capacity(later);
        let mut stage: Option<usize> = None;
        for (index, ins) in file.instructions().enumerate() {
            match ins.kind {
                Keyword::From => stage = Some(stage.map_or(0, |s| s + 1)),
                Keyword::Run => {
                    let script = shell::run_script_using(ins, &file.source, posix[index], |t| {
                        scripts.parse(t)
                    });
                    runs.push(Run {
                        at: crate::text::to_u32(index),
                        in_stage: stage.map_or(u32::MAX, crate::text::to_u32),
                        ins,
                        script,
                        layout: std::cell::OnceCell::new(),
                    });
                }
                Keyword::Onbuild | Keyword::Cmd | Keyword::Entrypoint | Keyword::Healthcheck => {
                    deferred.push((stage.map_or(0, |s| crate::text::to_u32(s + 1)), ins));
                }
                _ => {}
            }
        }
        // counted per parent, then placed: each stage's children in file order
        let parent_of = |s: usize| stages.parent(s).filter(|&p| p < s);
        let mut child_starts = vec![0u32; stages.len() + 1];
        for s in 0..stages.len() {
            if let Some(p) = parent_of(s) {
                child_starts[p + 1] += 1;
            }
        }
        for s in 0..stages.len() {
            child_starts[s + 1] += child_starts[s];
        }
        let mut children = vec![0u32; child_starts[stages.len()] as usize];
        let mut placed = child_starts.clone();
        for s in 0..stages.len() {
            if let Some(p) = parent_of(s) {
                children[placed[p] as usize] = crate::text::to_u32(s);
                placed[p] += 1;
            }
        }
        let mut by_stage = vec![0..0; stages.len()];
        for (pos, run) in runs.iter().enumerate() {
            if let Some(range) = run.stage().and_then(|s| by_stage.get_mut(s)) {
                let pos = crate::text::to_u32(pos);
                if range.start == range.end {
                    *range = pos..pos;
                }
                range.end = pos + 1;
            }
        }
        Self {
            file,
            all: runs,
            deferred: deferred.into_boxed_slice(),
            child_starts: child_starts.into_boxed_slice(),
            children: children.into_boxed_slice(),
            stages,
            by_stage: by_stage.into_boxed_slice(),
            posix: posix.into_iter().collect(),
            copied_names: std::cell::OnceCell::new(),
            copies_from: std::cell::OnceCell::new(),
            copiers: std::cell::OnceCell::new(),
            readers: std::cell::RefCell::default(),
            upgraders: std::cell::RefCell::default(),
            root_bases: std::cell::RefCell::default(),
            versions: std::cell::RefCell::default(),
            split: std::cell::OnceCell::new(),
            mount_fixes: std::cell::RefCell::default(),
            users: std::cell::OnceCell::new(),
        }
    }

    /// Per instruction, whether its RUN shell is POSIX ([`shell::posix_shells`]).
    pub(crate) fn posix_shells(&self) -> &crate::bits::Bits {
        &self.posix
    }

    /// Whether stage `child` is `stage` or is built (directly or not) `FROM` it.
    pub(crate) fn derives_from(&self, child: Option<usize>, stage: Option<usize>) -> bool {
        let mut at = child;
        while let Some(s) = at {
            if Some(s) == stage {
                return true;
            }
            at = self.stages.parent(s);
        }
        child == stage
    }

    /// The positions in [`Self::all`] of stage `stage`'s RUNs.
    pub(super) fn stage_runs(&self, stage: usize) -> Option<std::ops::Range<usize>> {
        let range = self.by_stage.get(stage)?;
        Some(range.start as usize..range.end as usize)
    }

    /// Whether a RUN whose layer sits on top of run `pos` (a later RUN of its stage, or a RUN
    /// of a stage built `FROM` it) is marked, where `next[i]` is the first marked position at
    /// or after `i` (see [`next_marked`]): one lookup per stage rather than one per later RUN,
    /// for a question asked of every RUN.
    pub(crate) fn any_later_marked(&self, pos: usize, next: &[usize]) -> bool {
        let this = &self.all[pos];
        let Some(family) = self.family(this.stage()) else {
            return (pos + 1..self.all.len())
                .any(|q| next[q] == q && self.derives_from(self.all[q].stage(), this.stage()));
        };
        family.into_iter().any(|s| {
            let range = self.stage_runs(s).unwrap_or_default();
            let start = range.start.max(pos + 1);
            start < range.end && next[start] < range.end
        })
    }

    /// The deferred commands (ONBUILD, CMD, ENTRYPOINT, HEALTHCHECK) of run `pos`'s stage
    /// and of the stages built `FROM` it.
    pub(crate) fn deferred(&self, pos: usize) -> Box<dyn Iterator<Item = &Instruction> + '_> {
        let stage = self.all[pos].stage();
        let Some(family) = self.family(stage) else {
            return Box::new(
                self.deferred
                    .iter()
                    .filter(move |(s, _)| {
                        self.derives_from(s.checked_sub(1).map(|s| s as usize), stage)
                    })
                    .map(|(_, i)| *i),
            );
        };
        Box::new(family.into_iter().flat_map(move |s| {
            let key = crate::text::to_u32(s + 1);
            let start = self.deferred.partition_point(|(d, _)| *d < key);
            self.deferred[start..]
                .iter()
                .take_while(move |(d, _)| *d == key)
                .map(|(_, i)| *i)
        }))
    }

    /// `stage` and the stages built `FROM` it, directly or not, in file order: the stages
    /// whose RUNs and deferred commands sit on top of its filesystem. Found from the stage
    /// down, so that the cost follows the answer, not the file. `None` before any `FROM`.
    pub(super) fn family(&self, stage: Option<usize>) -> Option<Vec<usize>> {
        let stage = stage.filter(|&s| s < self.stages.len())?;
        let mut found = vec![stage];
        let mut at = 0;
        while let Some(&next) = found.get(at) {
            let children = self.child_starts[next] as usize..self.child_starts[next + 1] as usize;
            found.extend(self.children[children].iter().map(|&c| c as usize));
            at += 1;
        }
        found.sort_unstable();
        Some(found)
    }

    /// Pairs of RUNs that follow each other with only comments or blank lines between.
    pub(crate) fn adjacent_pairs(&self) -> impl Iterator<Item = (&Run<'a>, &Run<'a>)> {
        self.all
            .windows(2)
            .filter(|w| w[0].index() + 1 == w[1].index())
            .map(|w| (&w[0], &w[1]))
    }
}

/// For each RUN position `i` from `from` on (and one past the last), the first position at
/// or after `i` whose RUN is `marked`, `runs.len()` when none is: what
/// [`Runs::any_later_marked`] reads. The RUNs before `from` are not asked (`runs.len()`).
pub(crate) fn next_marked(
    runs: &[Run<'_>],
    from: usize,
    marked: impl Fn(&Run<'_>) -> bool,
) -> Vec<usize> {
    let mut next = vec![runs.len(); runs.len() + 1];
    for i in (from.min(runs.len())..runs.len()).rev() {
        next[i] = if marked(&runs[i]) { i } else { next[i + 1] };
    }
    next
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

/// Whether a `--mount=type=cache` (or a tmpfs, which keeps `dir` out of the image just as
/// well: cache-mounts puts apt's lists in one) of `ins` covers `dir` or lies inside it. A
/// mount whose target is not a plain absolute path counts as covering (we cannot tell).
pub(crate) fn cache_mount_covers(ins: &Instruction, dir: &str) -> bool {
    let kept_out = |m: &&crate::syntax::Mount| m.kind == "cache" || m.kind == "tmpfs";
    ins.mounts().iter().filter(kept_out).any(|m| {
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
    // the needle is the memo's key as it is (no string built per call): the file's other
    // question, `may-set:HOME` (cache-mounts), is no name a table or pass looks for
    file.memo
        .first(needle, || {
            first_mentioning(file, needle, |text| text.contains(needle))
        })
        .is_some_and(|first| first <= index)
}

/// The position of the first instruction that mentions `needle` in a way `holds` accepts
/// (`holds` gets the instruction's text). The whole text is searched once first: most
/// needles are in no instruction at all, and none ends before the text's first mention.
pub(super) fn first_mentioning(
    file: &Dockerfile,
    needle: &str,
    holds: impl Fn(&str) -> bool,
) -> Option<usize> {
    // memchr's SIMD search: a short needle in the whole text, once per needle and round
    let end = memchr::memmem::find(file.source.as_bytes(), needle.as_bytes())? + needle.len();
    file.instructions()
        .position(|i| i.range.end as usize >= end && holds(file.slice(i.range)))
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
    ins.tokens()
        .filter(|t| t.range.start >= offset)
        .all(|t| matches!(t.kind, TokenKind::Whitespace | TokenKind::Newline))
}

/// Whether the script can take text after its end: its last list has no separator after it
/// and nothing but blanks follows it (no trailing comment), and no command may skip the rest
/// or run in the background.
fn open_ended(run: &RunScript<'_>) -> Result<(), &'static str> {
    let script = &run.script;
    let text = run.text();
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

/// The edits that append ` && COMMAND` to the body of `run`, so that `COMMAND` runs last
/// and only when the body succeeded, with the body's own status otherwise. It goes on a
/// continuation line of its own, laid out like the file's, when the RUN already spans
/// several lines, `own_line` asks for it, or the last line would grow past
/// [`layout::limit`]; that last line is broken earlier (clear of the edits in `avoid`) when
/// even ` && \` would take it past the limit.
pub(crate) fn append(
    file: &Dockerfile,
    run: &Run<'_>,
    command: &str,
    own_line: bool,
    avoid: &[Edit],
) -> Result<Vec<Edit>, &'static str> {
    let script = run.script.as_ref().map_err(|_| "the body cannot be read")?;
    open_ended(script)?;
    let s = &script.script;
    if !s.functions().is_empty() {
        return Err("the body defines functions");
    }
    let redefines = s.commands.iter().any(|c| {
        c.is("alias")
            || c.assignments
                .iter()
                .chain(if c.is("export") { &*c.args } else { &[] })
                .any(|w| w.text.starts_with("PATH="))
    });
    if redefines {
        return Err("the body changes PATH or aliases");
    }
    let args = args_range(run.ins).ok_or("not shell form")?;
    let end = args.end;
    let inline = format!(" && {command}");
    let multiline = run.ins.start_line != run.ins.end_line();
    if own_line || multiline || layout::line_length_with(file, end, &inline) > layout::limit(file) {
        let layout = run.layout(file);
        if layout.indent.chars().count() + command.chars().count() + 3 > layout::limit(file) {
            return Err("the command does not fit on a line of its own");
        }
        let line_start = file.source[..end as usize].rfind('\n').map_or(0, |i| i + 1);
        let from = crate::text::to_u32(line_start).max(args.start);
        let prefix = file.source[line_start..from as usize].chars().count();
        let extra = if layout.leading_ops { 2 } else { 5 };
        let mut edits = layout::fit(file, (script, layout), (from, prefix), (end, extra), avoid)
            .ok_or("the last line would grow past the limit")?;
        edits.push(Edit::insert(
            end,
            format!("{}{command}", layout.and_break()),
        ));
        return Ok(edits);
    }
    Ok(vec![Edit::insert(end, inline)])
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
    merge_dropping_tail(file, a, b, None)
}

/// [`merge`], also cutting `a`'s body at source offset `tail` (its end when `None`): for a
/// trailing cleanup that `b` repeats after it.
pub(crate) fn merge_dropping_tail(
    file: &Dockerfile,
    a: &Run<'_>,
    b: &Run<'_>,
    tail: Option<u32>,
) -> Result<Vec<Edit>, &'static str> {
    if a.index() + 1 != b.index() {
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
        || !s.functions().is_empty()
        || shell::state::leaves_state(sa.text(), s).is_some()
    {
        return Err("the first body may change the shell state");
    }
    // a comment between them would end up inside the merged RUN's continuation, where
    // uncommenting it later breaks the RUN
    let between = items_between(file, a.ins.range.end, b.ins.range.start);
    if between.iter().any(|item| matches!(item, Item::Comment(_))) {
        return Err("a comment sits between the RUNs");
    }
    open_ended(sa)?;
    plain_and_list(sb)?;

    let a_end = args_range(a.ins).ok_or("not shell form")?.end;
    let b_start = args_range(b.ins).ok_or("not shell form")?.start;
    // `RUN \` + a comment line + the body: the comment would go with the keyword
    if b.ins
        .tokens()
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
    let layout = a.layout(file);
    let cut_at = tail.filter(|c| *c < last_start).unwrap_or(a_end);
    // the line at the cut ends with ` && \` (or ` \`, `&&` starting the next line): break
    // it earlier where it would grow past the limit, and prefer the file's style to a
    // shorter one (a cut tail may span lines: the line at the cut only keeps what is before)
    let line_start = file.source[..cut_at as usize]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line_start = crate::text::to_u32(line_start).max(args_range(a.ins).map_or(0, |r| r.start));
    let prefix = file.source[file.source[..line_start as usize]
        .rfind('\n')
        .map_or(0, |i| i + 1)..line_start as usize]
        .chars()
        .count();
    let styles: &[bool] = if layout.leading_ops {
        &[true]
    } else {
        &[false, true]
    };
    let (leading, breaks) = styles
        .iter()
        .find_map(|&leading| {
            let extra = if leading { 2 } else { 5 };
            layout::fit(
                file,
                (sa, layout),
                (line_start, prefix),
                (cut_at, extra),
                &[],
            )
            .map(|b| (leading, b))
        })
        .ok_or("the merged RUN would have a line over the limit")?;
    let (line_end, next_start) = if leading {
        (String::new(), "&& ")
    } else {
        (" &&".to_owned(), "")
    };
    // `b`'s first line moves behind the indentation (and `&& `)
    let b_line_end = file.source[b_start as usize..]
        .find(['\n', '\r'])
        .map_or(file.source.len(), |i| b_start as usize + i);
    let b_prefix = layout.indent.chars().count() + next_start.len();
    let b_breaks = layout::fit(
        file,
        (sb, layout),
        (b_start, b_prefix),
        (crate::text::to_u32(b_line_end), 0),
        &[],
    )
    .ok_or("the merged RUN would have a line over the limit")?;
    let mut edits = vec![match tail {
        Some(cut) if cut < last_start => Edit::replace(
            TextRange::new(cut, a.ins.range.end),
            format!("{line_end} {}{newline}", file.escape),
        ),
        _ => Edit::replace(
            TextRange::new(last_start, a.ins.range.end),
            format!("{last}{line_end} {}{newline}", file.escape),
        ),
    }];
    for item in between {
        if matches!(item, Item::Blank(_)) {
            edits.push(Edit::delete(Dockerfile::item_range(item)));
        }
    }
    edits.push(Edit::replace(
        TextRange::new(b.ins.range.start, b_start),
        format!("{}{next_start}", layout.indent),
    ));
    edits.extend(breaks);
    edits.extend(b_breaks);
    Ok(edits)
}

/// The top-level items that lie wholly within `start..end`, found by a binary search over
/// the file's items (they are in source order and do not overlap).
fn items_between(file: &Dockerfile, start: u32, end: u32) -> &[Item] {
    let from = file
        .items
        .partition_point(|item| Dockerfile::item_range(item).start < start);
    let to =
        from + file.items[from..].partition_point(|item| Dockerfile::item_range(item).end <= end);
    &file.items[from..to]
}

/// The RUN flags as BuildKit reads them, in a canonical order.
fn sorted_flags(i: &Instruction) -> Vec<&str> {
    let mut f: Vec<&str> = i.flags().iter().map(|f| f.text.as_str()).collect();
    f.sort_unstable();
    f
}

/// Whether the body is one `&&` list from its first byte, so that `X && BODY` runs no part
/// of the body when `X` fails.
pub(crate) fn plain_and_list(run: &RunScript<'_>) -> Result<(), &'static str> {
    let [chain] = &*run.script.chains else {
        return Err("the body is more than one list");
    };
    if chain.operators.iter().any(|(op, _)| *op == AndOr::Or)
        || matches!(chain.separator, Some((Separator::Background, _)))
    {
        return Err("the body is not a plain && list");
    }
    let text = run.text();
    if !text[..chain.range.start as usize].trim().is_empty() {
        return Err("the body starts with something else");
    }
    Ok(())
}

/// The edits that put `COMMAND && ` before the body (see [`plain_and_list`]); the body then
/// starts on a continuation line when `own_line` asks for it or the first line would grow
/// past [`layout::limit`] (that line broken further, clear of the edits in `avoid`, when it
/// is still too long there).
pub(crate) fn prepend(
    file: &Dockerfile,
    run: &Run<'_>,
    command: &str,
    own_line: bool,
    avoid: &[Edit],
) -> Result<Vec<Edit>, &'static str> {
    let script = run.script.as_ref().map_err(|_| "the body cannot be read")?;
    plain_and_list(script)?;
    let start = args_range(run.ins).ok_or("not shell form")?.start;
    let inline = format!("{command} && ");
    if own_line || layout::line_length_with(file, start, &inline) > layout::limit(file) {
        let layout = run.layout(file);
        // on its own line, behind the indentation
        if layout.indent.chars().count() + command.chars().count() + 5 > layout::limit(file) {
            return Err("the command does not fit on a line of its own");
        }
        // the body's first line moves behind the indentation (and `&& `)
        let line_end = file.source[start as usize..]
            .find(['\n', '\r'])
            .map_or(file.source.len(), |i| start as usize + i);
        let lead = layout.indent.chars().count() + if layout.leading_ops { 3 } else { 0 };
        let mut edits = layout::fit(
            file,
            (script, layout),
            (start, lead),
            (crate::text::to_u32(line_end), 0),
            avoid,
        )
        .ok_or("the body's first line would grow past the limit")?;
        edits.push(Edit::insert(
            start,
            format!("{command}{}", layout.and_break()),
        ));
        return Ok(edits);
    }
    Ok(vec![Edit::insert(start, inline)])
}

/// The joined range that removes `command` from its `&&` list: ` && COMMAND` when it follows
/// an `&&`, `COMMAND && ` when it leads one. `None` when it is not a plain element of a
/// top-level `&&` list, or is the whole list.
pub(crate) fn drop_command(run: &RunScript<'_>, command: &Command) -> Option<JoinedRange> {
    drop_command_in(run, command, false)
}

/// [`drop_command`], but after a line that ends with `&&` the command goes with the `&&`
/// after it, so that the next command keeps its own line (`a && \⏎  b && c` loses `b && `).
/// Two such ranges of neighbouring commands may overlap: a caller that drops several checks.
pub(crate) fn drop_command_keeping_lines(
    run: &RunScript<'_>,
    command: &Command,
) -> Option<JoinedRange> {
    drop_command_in(run, command, true)
}

fn drop_command_in(
    run: &RunScript<'_>,
    command: &Command,
    keep_lines: bool,
) -> Option<JoinedRange> {
    if command.context != shell::CommandContext::default() {
        return None;
    }
    let text = run.text();
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
            let joined = JoinedRange::new(crate::text::to_u32(start), command.range.end);
            // `a && \⏎  COMMAND && next`: dropping `COMMAND && ` instead keeps the line
            // break, so `next` does not join the line above
            let break_after_op = keep_lines && {
                let between = JoinedRange::new(op.end, command.range.start);
                run.to_source(between).len() > between.len()
            };
            match next {
                Some((_, r)) if break_after_op => {
                    let rest = &text[r.end as usize..];
                    let after = r.end as usize + (rest.len() - rest.trim_start().len());
                    Some(JoinedRange::new(
                        command.range.start,
                        crate::text::to_u32(after),
                    ))
                }
                _ => Some(joined),
            }
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
    let text = run.text();
    let start = text[..word.range.start as usize].trim_end().len();
    JoinedRange::new(crate::text::to_u32(start), word.range.end)
}

/// Whether `command` is one of the commands of `cleanup` (`dnf clean all` in
/// `dnf clean all`), compared word by word on literal values.
pub(crate) fn runs_one_of(command: &Command, cleanup: &str) -> bool {
    let is = |part: &str| {
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
    };
    // most cleanups are one command: no substring searcher is built for their `&&`
    if !cleanup.contains('&') {
        return is(cleanup);
    }
    cleanup.split("&&").any(is)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_run_is_small() {
        // a large file's rounds hold one per RUN (167 K on a 15 MB file)
        assert_eq!(std::mem::size_of::<crate::shell::RunScript<'_>>(), 16);
        assert_eq!(std::mem::size_of::<super::Run<'_>>(), 40);
    }

    #[test]
    fn posix_bits_match_the_list() {
        // more than one word of bits, and a shell that is not POSIX
        let mut text = String::from("FROM debian AS a\n");
        for i in 0..70 {
            std::fmt::Write::write_fmt(&mut text, format_args!("RUN echo {i}\n")).unwrap();
        }
        text.push_str("SHELL [\"powershell\", \"-c\"]\nRUN y\nFROM a\nRUN z\nFROM alpine\nRUN v\n");
        let file = crate::syntax::parse(&text).unwrap();
        let scripts = crate::passes::ScriptCache::default();
        let runs = super::Runs::new(&file, &scripts);
        let posix = runs.posix_shells();
        let list = crate::shell::posix_shells(&file);
        assert_eq!(*posix, list.iter().copied().collect());
        assert_eq!(list.iter().filter(|&&p| !p).count(), 4);
    }
}
