use std::rc::Rc;

use super::runs::{self, Run, Runs};
use super::{FixAvailability, PassContext};
use crate::context::{BuildContext, ContextEntry, EntryKind};
use crate::managers::{self, CacheCleanup, Invocation, Manager, Tier};
use crate::semantic::{Base, Model};
use crate::shell::Command;
use crate::syntax::Keyword;
use crate::text::{Applicability, Fix};

super::declare_pass! {
    /// ## What it does
    /// Appends the removal of a package manager's download or build cache to the RUN that
    /// wrote it: `rm -rf "$HOME/.npm"` after npm, `yarn cache clean` after Yarn 1,
    /// `rm -rf "$HOME/.local/share/pnpm/store" "$HOME/.cache/pnpm"` after pnpm,
    /// `rm -rf "$HOME/.cache/go-build"` after `go build`, `rm -rf "$HOME/.cache/pip"` after a
    /// pip that runs without `--no-cache-dir` (and does not get it from no-cache-flags), and
    /// (unsafe) `go clean -modcache` after the last go command. Which caches, where
    /// they live and what reads them is data: `[[manager.cache_cleanup]]` in `transforms/`.
    ///
    /// ## Why
    /// No running container reads these caches, yet they stay in the layer: the packages an
    /// `npm install` downloaded, Go's build cache after `go build`. Removed in a
    /// later RUN they still take their space in the layer that wrote them.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM node:18
    /// COPY . .
    /// RUN npm ci --omit=dev
    /// ```
    /// becomes
    /// ```dockerfile
    /// FROM node:18
    /// COPY . .
    /// RUN npm ci --omit=dev && rm -rf "$HOME/.npm"
    /// ```
    ///
    /// ## Fix safety
    /// **Safe** where the image's behaviour cannot see the removal: the cache lies under
    /// `$HOME` of the user that runs the RUN (the shell expands it as the manager reads it,
    /// so a non-root `USER` has its own cache removed), and nothing reads it afterwards.
    /// There is no fix when a later RUN of the stage or of a stage built `FROM` it runs a
    /// command that may read the cache (`npm ci --offline`, `yarn install`, `npx`; for Go's
    /// build cache and pip's, later commands only lose speed), or a body that cannot be read
    /// names the manager; when a CMD, ENTRYPOINT, HEALTHCHECK or ONBUILD may read it (`npx`,
    /// `npm install`); when a `COPY --from` or `RUN --mount=from=` of the stage (or one built
    /// from it) takes a path that holds the cache (any path, when the user's HOME is not
    /// known); when a variable or setting that moves the cache or makes it read offline
    /// appears (`npm_config_cache`, `YARN_CACHE_FOLDER`, `GOCACHE`, `PIP_CACHE_DIR`, `.npmrc`
    /// for pnpm, `corepack`), the command moves it (`--cache`, `--cache-folder`) or the body
    /// sets `HOME`; when a `--mount=type=cache` covers it, or `cache-mounts` (with `--unsafe`)
    /// puts it in one; and when the body could skip the
    /// appended command or redefine it. Yarn: never for Yarn Berry or Plug'n'Play, which run
    /// from the cache (a `.yarnrc.yml`, `.yarn`, `.pnp.cjs` or a package.json with
    /// `installConfig` or `packageManager` in the build context): no fix when the context
    /// shows one, **unsafe** when the context cannot be read. Go's module cache
    /// (`go clean -modcache`) is **unsafe** and only offered when no later RUN or deferred
    /// command runs go: a program may read its modules' sources at run time through the
    /// paths compiled into it. An image built `FROM` the result that relied on the cache
    /// downloads again, as it does on the official base images.
    pub(crate) static CACHE_CLEANUP = {
        name: "cache-cleanup",
        summary: "Removes the package manager's download or build cache at the end of the RUN that wrote it",
        fix: FixAvailability::Sometimes,
        may: [],
        run: run,
    };
}

fn run(ctx: &PassContext<'_>) -> Vec<Fix> {
    let runs = ctx.runs();
    let mut fixes = Vec::new();
    let later = Later::default();
    for (pos, run) in runs.all.iter().enumerate() {
        let mut by_tier: Vec<(Applicability, Vec<String>, Vec<String>)> = Vec::new();
        for (manager, cache) in written_caches(run) {
            let Ok(tier) = decide(ctx, runs, pos, manager, cache, &later) else {
                continue;
            };
            let command = removal(cache);
            let why = match (tier, &cache.reason) {
                (Applicability::Unsafe, Some(reason)) => (*reason).to_owned(),
                (Applicability::Unsafe, None) => CONTEXT_UNREAD.to_owned(),
                _ => String::new(),
            };
            match by_tier.iter_mut().find(|(t, _, _)| *t == tier) {
                Some((_, commands, reasons)) => {
                    if !commands.contains(&command) {
                        commands.push(command);
                    }
                    if !why.is_empty() && !reasons.contains(&why) {
                        reasons.push(why);
                    }
                }
                None => by_tier.push((
                    tier,
                    vec![command],
                    [why].into_iter().filter(|w| !w.is_empty()).collect(),
                )),
            }
        }
        for (tier, commands, reasons) in by_tier {
            let command = join_removals(&commands);
            let Ok(edits) = runs::append(ctx.file, run, &command, false, &[]) else {
                continue;
            };
            let mut message = format!("remove the cache in the layer that wrote it: `{command}`");
            if !reasons.is_empty() {
                message = format!("{message} (unsafe: {})", reasons.join("; "));
            }
            fixes.extend(ctx.fix(CACHE_CLEANUP.name, tier, message, edits));
        }
    }
    fixes
}

const CONTEXT_UNREAD: &str = "the build context could not be read to rule out Yarn Berry or \
                              Plug'n'Play, which run the installed packages from the cache";

/// The caches this RUN writes and does not remove after its last write, with their manager.
fn written_caches(run: &Run<'_>) -> Vec<(&'static Manager, &'static CacheCleanup)> {
    let Ok(script) = &run.script else {
        return Vec::new();
    };
    let invocations = run.invocations();
    let mut out: Vec<(&'static Manager, &'static CacheCleanup)> = Vec::new();
    for manager in managers::all() {
        for cache in manager.cache_cleanup {
            let writes: Vec<&Invocation<'_>> = invocations
                .iter()
                .filter(|i| {
                    std::ptr::eq(i.manager, manager)
                        && writes(i, cache)
                        // `npm cache clean --force` logs, but cleans
                        && !removes(i.command, manager, cache)
                })
                .collect();
            let Some(last) = writes.iter().map(|i| i.command.range.start).max() else {
                continue;
            };
            let cleaned = script
                .script
                .commands
                .iter()
                .any(|c| c.range.start > last && removes(c, manager, cache));
            if !cleaned {
                out.push((manager, cache));
            }
        }
    }
    out
}

/// Whether invocation `inv` writes `cache`.
fn writes(inv: &Invocation<'_>, cache: &CacheCleanup) -> bool {
    let bare = inv.sub.is_none() && inv.command.args.iter().all(|w| w.value.is_some());
    cache.written_by(inv.sub_value(), bare)
}

/// Whether `command` removes `cache`: `rm` of one of its directories (as written for root,
/// or under `$HOME`), its removal command, or the manager's own cache cleanup.
pub(crate) fn removes(command: &Command, manager: &Manager, cache: &CacheCleanup) -> bool {
    let own = cache
        .command
        .iter()
        .chain(manager.cache.iter().filter_map(|c| c.cleanup.as_ref()))
        .any(|c| runs::runs_one_of(command, c));
    own || cache.dirs.iter().any(|dir| {
        runs::removes_dir(command, dir)
            || home_relative(dir).is_some_and(|rest| {
                command.is("rm")
                    && command.args.iter().any(|w| {
                        let text = w.text.trim_matches('"');
                        ["$HOME", "${HOME}", "~"].iter().any(|home| {
                            text.strip_prefix(home)
                                .and_then(|t| t.strip_prefix('/'))
                                .is_some_and(|t| {
                                    let t = t.trim_end_matches(['*', '/']);
                                    !t.is_empty()
                                        && (managers::covers(t, rest) || managers::covers(rest, t))
                                })
                        })
                    })
            })
    })
}

/// For a directory under root's HOME, the part below it (`.npm` for `/root/.npm`).
fn home_relative(dir: &str) -> Option<&str> {
    dir.strip_prefix("/root/")
}

/// The command that removes `cache` for the user running the RUN.
fn removal(cache: &CacheCleanup) -> String {
    if let Some(command) = &cache.command {
        return (*command).to_owned();
    }
    let dirs: Vec<String> = cache
        .dirs
        .iter()
        .map(|d| match home_relative(d) {
            Some(rest) => format!("\"$HOME/{rest}\""),
            None => (*d).to_owned(),
        })
        .collect();
    format!("rm -rf {}", dirs.join(" "))
}

/// The commands joined with `&&`, the `rm -rf` ones as one `rm -rf` in front.
fn join_removals(commands: &[String]) -> String {
    let mut targets: Vec<&str> = Vec::new();
    let mut others: Vec<&str> = Vec::new();
    for command in commands {
        match command.strip_prefix("rm -rf ") {
            Some(rest) => targets.push(rest),
            None => others.push(command),
        }
    }
    let rm = (!targets.is_empty()).then(|| format!("rm -rf {}", targets.join(" ")));
    rm.iter()
        .map(String::as_str)
        .chain(others)
        .collect::<Vec<_>>()
        .join(" && ")
}

/// The tier of the fix for `cache` in run `pos`, or why there is none.
fn decide(
    ctx: &PassContext<'_>,
    runs: &Runs<'_>,
    pos: usize,
    manager: &Manager,
    cache: &CacheCleanup,
    later: &Later,
) -> Result<Applicability, &'static str> {
    let run = &runs.all[pos];
    let file = ctx.file;
    if cache
        .dirs
        .iter()
        .any(|d| runs::cache_mount_covers(run.ins, d))
    {
        return Err("a cache mount covers it");
    }
    if left_to_mount(ctx, pos, manager, cache) {
        return Err("cache-mounts puts the cache in a mount");
    }
    if cache
        .mentions
        .iter()
        .any(|m| runs::mentioned_through(file, run.index(), m))
    {
        return Err("a setting that moves the cache or changes how it is read appears");
    }
    let moved = run
        .invocations()
        .iter()
        .any(|i| std::ptr::eq(i.manager, manager) && i.has_any(cache.moved_by));
    if moved {
        return Err("the command moves the cache or installs into it");
    }
    if cache.unless_no_cache && no_cache_flag_everywhere(ctx, run, manager, cache) {
        return Err("the no-cache flag keeps it empty");
    }
    if sets_home(run) {
        return Err("the body sets HOME");
    }
    read_later(runs, pos, manager, cache, later)?;
    named_later(runs, pos, manager, cache, later)?;
    copied_out(ctx, runs, run, cache)?;
    let mut tier = Applicability::from(cache.tier);
    if !cache.project_files.is_empty() || !cache.project_texts.is_empty() {
        match ctx.settings.context.as_deref() {
            None => tier = Applicability::Unsafe,
            Some(context) => match project_uses_cache(context, cache) {
                Some(false) => {}
                Some(true) => return Err("the project may run from the cache"),
                None => tier = Applicability::Unsafe,
            },
        }
    }
    debug_assert!(cache.tier == Tier::Safe || cache.reason.is_some());
    Ok(tier)
}

/// Whether cache-mounts runs at this threshold and mounts the cache on this RUN: the mount
/// keeps it out of the image, and a removal would empty the mount.
fn left_to_mount(
    ctx: &PassContext<'_>,
    pos: usize,
    manager: &Manager,
    cache: &CacheCleanup,
) -> bool {
    let mounted = manager.cache_mount.as_ref().is_some_and(|recipe| {
        cache
            .dirs
            .iter()
            .any(|d| recipe.targets.iter().any(|t| managers::covers(t, d)))
    });
    mounted
        && ctx.settings.threshold <= Applicability::Unsafe
        && ctx.settings.runs(super::cache_mounts::CACHE_MOUNTS.name)
        && super::cache_mounts::mounts(ctx, pos, manager)
}

/// Whether every command of the RUN that writes `cache` carries the manager's no-cache flag,
/// or gets it from no-cache-flags at this threshold.
fn no_cache_flag_everywhere(
    ctx: &PassContext<'_>,
    run: &Run<'_>,
    manager: &Manager,
    cache: &CacheCleanup,
) -> bool {
    let Some(nc) = &manager.no_cache else {
        return false;
    };
    let pass_adds = ctx
        .settings
        .runs(super::no_cache_flags::NO_CACHE_FLAGS.name)
        && ctx.settings.threshold <= Applicability::from(nc.tier);
    run.invocations()
        .iter()
        .filter(|i| std::ptr::eq(i.manager, manager) && writes(i, cache))
        .all(|i| {
            i.has_any(nc.decided) || pass_adds && i.sub_value().is_some_and(|s| nc.on.contains(&s))
        })
}

/// Whether the body assigns `HOME` (then `$HOME` in the appended command may differ from
/// the one the manager saw).
fn sets_home(run: &Run<'_>) -> bool {
    let Ok(script) = &run.script else {
        return true;
    };
    script.script.commands.iter().any(|c| {
        let exported = if c.is("export") || c.is("readonly") || c.is("declare") {
            &*c.args
        } else {
            &[]
        };
        c.assignments
            .iter()
            .chain(exported)
            .any(|w| &*w.text == "HOME" || w.text.starts_with("HOME="))
            || c.is("unset") && c.args.iter().any(|w| &*w.text == "HOME")
    })
}

/// Whether `text` holds `word` as a command-like word: not inside a longer name (`npm` in
/// `pnpm` or `.npmrc` does not count).
fn word_count(text: &str, word: &str) -> usize {
    let is_name = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    text.match_indices(word)
        .filter(|(at, _)| {
            let before = text[..*at].chars().next_back();
            let after = text[at + word.len()..].chars().next();
            !before.is_some_and(is_name) && !after.is_some_and(is_name)
        })
        .count()
}

/// The word a body runs `manager` by (`npm`, `go`), from its first invocation.
fn manager_word(manager: &Manager) -> &str {
    manager
        .invocations
        .first()
        .and_then(|words| words.first())
        .map_or(manager.name, |w| w.trim_end_matches('*'))
}

/// Fails when a later RUN of the stage (or of a stage built from it), or a deferred command,
/// may read the cache. Wrappers are resolved (`sudo npm ci --offline`, `sh -c "npx …"`);
/// shell text that cannot be read counts when it names the manager or a runner, and so does
/// a body that runs a command whose name is not literal (`$NPM ci`).
fn read_later(
    runs: &Runs<'_>,
    pos: usize,
    manager: &Manager,
    cache: &CacheCleanup,
    later: &Later,
) -> Result<(), &'static str> {
    if cache.readers.is_empty() {
        return Ok(());
    }
    let word = manager_word(manager);
    let marks = later.marks((cache, Question::Reads), runs, pos, |run| {
        reads(runs, run, manager, cache)
    });
    if runs.any_later_marked(pos, &marks) {
        return Err("a later RUN may read the cache");
    }
    for ins in runs.deferred(pos) {
        if deferred_reads(runs.file.slice(ins.range), word, cache) {
            return Err("a command run later by the image may read the cache");
        }
    }
    Ok(())
}

/// Whether RUN `later` may read `cache` (see [`read_later`]): it names the manager where it
/// cannot be read, runs a program that reads the cache, or a reading subcommand.
fn reads(runs: &Runs<'_>, later: &Run<'_>, manager: &Manager, cache: &CacheCleanup) -> bool {
    let word = manager_word(manager);
    let names = |text: &str| {
        word_count(text, word) > 0 || cache.runners.iter().any(|r| word_count(text, r) > 0)
    };
    let text = runs.file.slice(later.ins.range);
    let (Some(effective), Ok(script)) = (later.effective(), &later.script) else {
        return names(text);
    };
    if effective.opaque.iter().any(|t| names(t))
        || (script.script.has_dynamic_command().is_some() && names(text))
    {
        return true;
    }
    let runner = effective.commands().any(|r| {
        r.command
            .program()
            .is_some_and(|p| cache.runners.contains(&p))
    });
    runner
        || later
            .all_invocations()
            .iter()
            .any(|(i, _)| std::ptr::eq(i.manager, manager) && cache.read_by(i.sub_value()))
}

/// Per cache (by address) and question, the RUNs for which the answer is yes, as
/// [`runs::next_marked`] positions: every RUN that writes the cache asks it of all the RUNs
/// on top of it, so it is answered once per round (from the first RUN that asks), not once
/// per writing RUN (which grew with the square of the file).
#[derive(Default)]
struct Later(std::cell::RefCell<Answers>);

/// The positions of [`Later`], by cache address and question.
type Answers = std::collections::HashMap<(usize, Question), Rc<Vec<usize>>>;

/// What [`Later`] asks of a RUN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Question {
    /// [`reads`]
    Reads,
    /// Whether it names the directory (see [`named_later`]).
    Names,
}

impl Later {
    /// The positions of `question` about `cache`, found with `marked` the first time;
    /// `pos` is the asking RUN (the RUNs before it are never asked about).
    fn marks(
        &self,
        (cache, question): (&CacheCleanup, Question),
        runs: &Runs<'_>,
        pos: usize,
        marked: impl Fn(&Run<'_>) -> bool,
    ) -> Rc<Vec<usize>> {
        let key = (std::ptr::from_ref(cache) as usize, question);
        if let Some(found) = self.0.borrow().get(&key) {
            return found.clone();
        }
        let marks = Rc::new(runs::next_marked(&runs.all, pos + 1, marked));
        self.0.borrow_mut().insert(key, marks.clone());
        marks
    }
}

/// How a cache directory is named in a command: the part below HOME (`.npm`), or the whole
/// path.
fn marker(dir: &str) -> &str {
    home_relative(dir).unwrap_or(dir)
}

/// Fails when a later RUN (other than by removing it) or a deferred command names the
/// cache directory: `cp -r ~/.npm …`, `tar c /root/.cache/go-build` would see it empty.
fn named_later(
    runs: &Runs<'_>,
    pos: usize,
    manager: &Manager,
    cache: &CacheCleanup,
    later: &Later,
) -> Result<(), &'static str> {
    let names = |text: &str| cache.dirs.iter().any(|d| word_count(text, marker(d)) > 0);
    let marks = later.marks((cache, Question::Names), runs, pos, |later| {
        match &later.script {
            Ok(script) => script.script.commands.iter().any(|c| {
                !removes(c, manager, cache)
                    && c.name
                        .iter()
                        .chain(&c.args)
                        .chain(&c.assignments)
                        .any(|w| names(&w.text))
            }),
            Err(_) => names(runs.file.slice(later.ins.range)),
        }
    });
    if runs.any_later_marked(pos, &marks) {
        return Err("a later RUN names the cache directory");
    }
    if runs.deferred(pos).any(|i| names(runs.file.slice(i.range))) {
        return Err("a command run later by the image names the cache directory");
    }
    Ok(())
}

/// Whether a CMD/ENTRYPOINT/HEALTHCHECK/ONBUILD text may run a reader of the cache: the
/// manager followed by a reading (or unreadable) subcommand, or a runner.
fn deferred_reads(text: &str, word: &str, cache: &CacheCleanup) -> bool {
    let tokens: Vec<&str> = text
        .split(|c: char| {
            c.is_whitespace()
                || matches!(
                    c,
                    '[' | ']' | ',' | '"' | '\'' | ';' | '&' | '|' | '(' | ')'
                )
        })
        .filter(|t| !t.is_empty())
        .collect();
    tokens.iter().enumerate().any(|(at, token)| {
        let program = token.rsplit('/').next().unwrap_or(token);
        if cache.runners.contains(&program) {
            return true;
        }
        if program != word {
            return false;
        }
        let sub = tokens[at + 1..]
            .iter()
            .find(|t| !t.starts_with('-'))
            .copied();
        cache.read_by(sub.filter(|s| !s.contains('$')))
    })
}

/// Where the user that runs instruction `index` has HOME, as far as the file tells:
/// `/root` for root (no `USER`, or `USER root`/`0`, in the stage or a stage it is built
/// from, as the semantic model carries it) unless an `ENV HOME` says otherwise; `None` when
/// it cannot be known.
fn static_home(model: &Model<'_>, source: &str, index: usize) -> Option<String> {
    let (stage, at) = model.step_at(index)?;
    let user = stage.steps[at].user();
    let root = user.is_none_or(|u| matches!(u.split(':').next().unwrap_or(u), "root" | "0"));
    // HOME as the stage's own ENV/ARG set it before the RUN, else as its parent stage ended
    let mut home: Option<Option<String>> = match stage.base {
        Base::Stage(parent) => {
            let scope = &model.stage(parent)?.scope;
            if scope.args.contains_key("HOME") {
                Some(None)
            } else {
                scope.env.get("HOME").cloned()
            }
        }
        _ => None,
    };
    for step in &stage.steps[..at] {
        let ins = step.instruction;
        match ins.kind {
            Keyword::Env => {
                for pair in ins.value(source).chunks(2) {
                    if let [key, value] = pair
                        && *key == "HOME"
                    {
                        home = Some(Some(value.trim_matches(['"', '\'']).to_owned()));
                    }
                }
            }
            Keyword::Arg if ins.value(source).iter().any(|v| v.starts_with("HOME")) => {
                home = Some(None);
            }
            _ => {}
        }
    }
    match home {
        Some(home) => home.filter(|h| h.starts_with('/') && !h.contains('$')),
        None => root.then(|| "/root".to_owned()),
    }
}

/// The stages whose filesystem holds stage `stage`'s: itself and those built `FROM` it.
fn derived_stages(stages: &crate::syntax::Stages<'_>, stage: usize) -> Vec<usize> {
    let mut out = vec![stage];
    let mut derived = vec![false; stages.len()];
    derived[stage] = true;
    // the latest named stage by lower-cased name: a lookup per FROM, not a scan
    let mut named: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for s in stages.iter() {
        if let Some(base) = s.base {
            // the latest earlier named stage that `is_named(base)`: by name, or by index
            let by_name = named.get(&base.to_ascii_lowercase()).copied();
            let by_index = base.parse::<usize>().ok().filter(|&i| {
                i < s.index
                    && stages.get(i).is_some_and(|st| st.name.is_some())
                    && i.to_string() == base
            });
            let parent = by_name.max(by_index);
            if parent.is_some_and(|p| derived[p]) && !derived[s.index] {
                derived[s.index] = true;
                out.push(s.index);
            }
        }
        if let Some(name) = s.name {
            named.insert(name.to_ascii_lowercase(), s.index);
        }
    }
    out
}

/// Fails when a later `COPY --from` or `RUN --mount=from=` takes a path of the RUN's stage
/// (or of one built from it) that holds the cache.
fn copied_out(
    ctx: &PassContext<'_>,
    runs: &Runs<'_>,
    run: &Run<'_>,
    cache: &CacheCleanup,
) -> Result<(), &'static str> {
    let Some(stage) = run.stage() else {
        return Ok(());
    };
    let file = runs.file;
    // only an instruction that takes files from a stage can copy the cache out: found once
    // per file, so that a RUN with none after it costs a lookup
    let copiers = runs.copiers.get_or_init(|| {
        file.instructions()
            .enumerate()
            .filter(|(_, i)| i.copy_from().is_some() || i.mounts().iter().any(|m| m.from.is_some()))
            .collect()
    });
    let first_after = copiers.partition_point(|(index, _)| *index <= run.index());
    if first_after == copiers.len() {
        return Ok(());
    }
    let stages = &runs.stages;
    let derived = derived_stages(stages, stage);
    let names_ours = |reference: &str| {
        derived
            .iter()
            .any(|s| stages.get(*s).is_some_and(|st| st.is_named(reference)))
    };
    // the cache's directories for the running user (built once a copy is found)
    let dirs = std::cell::OnceCell::new();
    let dirs_of = || -> Option<Vec<String>> {
        let home = static_home(ctx.model(), &ctx.file.source, run.index());
        cache
            .dirs
            .iter()
            .map(|d| match home_relative(d) {
                Some(rest) => home
                    .as_ref()
                    .map(|h| format!("{}/{rest}", h.trim_end_matches('/'))),
                None => Some((*d).to_owned()),
            })
            .collect()
    };
    for &(_, ins) in &copiers[first_after..] {
        let mut sources: Vec<String> = Vec::new();
        if ins.copy_from().is_some_and(names_ours) {
            let paths = ins.paths(&file.source);
            sources.extend(
                paths[..paths.len().saturating_sub(1)]
                    .iter()
                    .map(|p| p.trim_matches(['"', '\'']).to_owned()),
            );
        }
        for mount in ins.mounts() {
            if mount.from.as_deref().is_some_and(names_ours) {
                sources.push(mount.source.unwrap_or_else(|| "/".to_owned()));
            }
        }
        if sources.is_empty() {
            continue;
        }
        let Some(dirs) = dirs.get_or_init(dirs_of) else {
            return Err("a later stage copies from this one and the user's HOME is not known");
        };
        if sources.iter().any(|s| holds_any(s, dirs)) {
            return Err("a later stage copies the cache");
        }
    }
    Ok(())
}

/// Whether the source path `source` (relative paths are from the stage's root) may hold or
/// lie inside one of `dirs`; a variable or wildcard counts from where it starts.
fn holds_any(source: &str, dirs: &[String]) -> bool {
    let absolute = if source.starts_with('/') {
        source.to_owned()
    } else {
        format!("/{}", source.trim_start_matches("./"))
    };
    if let Some(at) = absolute.find(['$', '*', '?', '[']) {
        let prefix = &absolute[..at];
        return dirs
            .iter()
            .any(|d| d.starts_with(prefix) || managers::covers(d, prefix.trim_end_matches('/')));
    }
    let path = absolute.trim_end_matches('/');
    dirs.iter()
        .any(|d| managers::covers(path, d) || managers::covers(d, path))
}

/// Whether the build context shows a project that may run from the cache: one of
/// `project_files`, or a `package.json` holding one of `project_texts`. `None` when the
/// context cannot be walked completely. Every RUN of every round of every Dockerfile
/// sharing the context asks again: the answer is kept with the context, by table entry.
fn project_uses_cache(context: &dyn BuildContext, cache: &CacheCleanup) -> Option<bool> {
    let known = crate::context::shared(context, ProjectWalks::default);
    // the manager table is loaded once for the process: an entry's address names it
    let key = std::ptr::from_ref(cache) as usize;
    let lock = || {
        known
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    if let Some(found) = lock().get(&key) {
        return *found;
    }
    // walked outside the lock: two workers may both walk, and find the same
    let found = walk_project(context, cache);
    lock().insert(key, found);
    found
}

/// [`project_uses_cache`]'s answers for one context, by table entry.
#[derive(Default)]
struct ProjectWalks(std::sync::Mutex<std::collections::HashMap<usize, Option<bool>>>);

fn walk_project(context: &dyn BuildContext, cache: &CacheCleanup) -> Option<bool> {
    const MAX_ENTRIES: usize = 20_000;
    const SKIP: [&str; 2] = ["node_modules", ".git"];
    let mut pending = vec![String::new()];
    let mut seen = 0;
    while let Some(dir) = pending.pop() {
        for (name, kind) in context.list(&dir)?.iter() {
            seen += 1;
            if seen > MAX_ENTRIES {
                return None;
            }
            if cache.project_files.contains(&name) {
                return Some(true);
            }
            let path = || crate::context::join(&dir, name);
            match kind {
                EntryKind::Directory if !SKIP.contains(&name) => pending.push(path()),
                EntryKind::File if name == "package.json" => {
                    let text = context.read(&path())?;
                    let text = String::from_utf8_lossy(&text);
                    if cache.project_texts.iter().any(|t| text.contains(*t)) {
                        return Some(true);
                    }
                }
                EntryKind::Symlink | EntryKind::Other => {
                    if matches!(context.probe(&path()), ContextEntry::Directory) {
                        return None;
                    }
                }
                _ => {}
            }
        }
    }
    Some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(manager: &str, at: usize) -> &'static CacheCleanup {
        &managers::all()
            .find(|m| m.name == manager)
            .unwrap()
            .cache_cleanup[at]
    }

    #[test]
    fn copied_paths_that_hold_the_cache() {
        let dirs = vec!["/root/.npm".to_owned()];
        for source in [
            "/",
            "/root",
            "root/.npm",
            "/root/.npm/_cacache",
            "/ro*",
            "$X",
        ] {
            assert!(holds_any(source, &dirs), "{source}");
        }
        for source in ["/app", "/root/.npmrc", "/usr/*", "app/dist"] {
            assert!(!holds_any(source, &dirs), "{source}");
        }
    }

    #[test]
    fn deferred_commands_that_read() {
        let npm = cache("npm", 0);
        assert!(deferred_reads(r#"CMD ["npx", "serve"]"#, "npm", npm));
        assert!(deferred_reads("CMD npm --silent ci && node .", "npm", npm));
        assert!(!deferred_reads(r#"CMD ["npm", "start"]"#, "npm", npm));
        assert!(!deferred_reads(r#"CMD ["pnpm", "install"]"#, "npm", npm));
        let build = cache("go", 0);
        assert!(!deferred_reads(r#"CMD ["go", "run", "."]"#, "go", build));
        assert!(deferred_reads(
            r#"CMD ["go", "run", "."]"#,
            "go",
            cache("go", 1)
        ));
    }

    #[test]
    fn words_inside_longer_names_do_not_count() {
        assert_eq!(word_count("pnpm i && cp .npmrc x && npm ci", "npm"), 1);
        assert_eq!(word_count("/usr/bin/npm ci", "npm"), 1);
        assert_eq!(word_count("tar c /root/.npm", ".npm"), 1);
        assert_eq!(word_count("cat /root/.npmrc", ".npm"), 0);
    }

    #[test]
    fn home_of_the_running_user() {
        let home = |text: &str| {
            let file = crate::syntax::parse(text).unwrap();
            let last = file.instructions().count() - 1;
            static_home(&Model::new(&file), &file.source, last)
        };
        assert_eq!(home("FROM a\nRUN x\n").as_deref(), Some("/root"));
        assert_eq!(home("FROM a\nUSER node\nRUN x\n"), None);
        assert_eq!(
            home("FROM a\nUSER app\nENV HOME=/srv/app\nRUN x\n").as_deref(),
            Some("/srv/app")
        );
        assert_eq!(
            home("FROM a AS b\nUSER app\nFROM b\nUSER root\nRUN x\n").as_deref(),
            Some("/root")
        );
        assert_eq!(home("FROM a AS b\nUSER app\nFROM b\nRUN x\n"), None);
        assert_eq!(
            home("FROM a\nUSER app\nFROM c\nRUN x\n").as_deref(),
            Some("/root")
        );
    }

    #[test]
    fn removals_are_joined() {
        let joined = join_removals(&[
            "rm -rf \"$HOME/.npm\"".to_owned(),
            "go clean -modcache".to_owned(),
            "rm -rf /x".to_owned(),
        ]);
        assert_eq!(joined, "rm -rf \"$HOME/.npm\" /x && go clean -modcache");
    }
}
