use std::fmt::Write as _;

use super::runs::{self, Run};
use super::{FixAvailability, PassContext, layout, tool_versions};
use crate::managers::{Action, CacheMount, Invocation, Manager};
use crate::syntax::Keyword;
use crate::text::{Applicability, Edit, Fix};

super::declare_pass! {
    /// ## What it does
    /// Adds a BuildKit cache mount for the package manager's download cache to the RUNs that
    /// install with pip, uv, npm, yarn or apt-get (and to `go build`/`go install`/`go test`,
    /// for Go's build cache), and removes what would defeat it: the
    /// manager's no-cache flag (`--no-cache-dir`) or its cleanup of that same directory
    /// (`npm cache clean --force`, `rm -rf /var/lib/apt/lists/*`). For apt-get it mounts a
    /// cache on `/var/cache/apt` with `sharing=locked` and a tmpfs on `/var/lib/apt/lists`,
    /// and moves the official images' `docker-clean` apt configuration (which deletes every
    /// downloaded package) out of the way for the RUN, putting the same file back at its end.
    ///
    /// ## Why
    /// With the cache in a mount, a rebuild after a dependency change downloads only what
    /// changed, and the cache never lands in the image. A no-cache flag next to a cache mount
    /// throws that away; so does a cleanup of the mounted directory.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM python:3.12-slim
    /// RUN pip install --no-cache-dir -r requirements.txt
    /// ```
    /// becomes
    /// ```dockerfile
    /// FROM python:3.12-slim
    /// RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt
    /// ```
    ///
    /// ## Fix safety
    /// **Unsafe**: `RUN --mount` needs BuildKit (Docker 18.09+ with BuildKit, buildx, or
    /// buildah/podman); the legacy builder rejects the file. No `# syntax=` line is added: the
    /// built-in frontends already read `--mount`, and the directive would make every build pull
    /// a frontend image. An `rm` of the mounted directory or of a directory holding it (which
    /// would fail: "Device or resource busy") loses exactly those words; the rest of the `rm`
    /// stays, and the message names what is no longer removed. For Go the mount is the build
    /// cache, not the module download cache. There is no fix when a variable that moves or
    /// disables the cache (`PIP_CACHE_DIR`, `HOME`, …) appears in the RUN or before it, when a
    /// `USER` other than root runs the RUN, when a per-user cache (under `/root`) is mounted
    /// and the base image is not known to run as root (a non-official image, a `USER` in a
    /// parent stage), when another kind of mount already sits on the directory, when a
    /// cleanup of the directory is not a plain `&&` element that can be removed or is run
    /// through a wrapper, or, for apt-get, when the RUN does not run `apt-get update` itself,
    /// a later RUN or stage still needs the package lists, or the body is not one `&&` list.
    /// `rm -rf "$HOME/.npm"` (what `cache-cleanup` writes in the safe tier) reads as
    /// `/root/.npm` where the RUN is known to run as root, so an already cleaned file gets
    /// the same mount as the original. Long flags go one per continuation line, after any
    /// flags the RUN already has.
    ///
    /// A RUN gets at most one `sharing=locked` mount, and none when it already has one:
    /// buildah up to 1.28 (Debian bookworm's) records only the last locked mount of a RUN and
    /// keeps its lock file inside the cache directory, so a second locked mount, or a locked
    /// mount whose lock file the RUN deletes, stays locked and the next RUN that mounts it
    /// waits forever (containers/buildah#4342, fixed in 1.29). `apt-get update` deletes
    /// every file in the lists directory it does not know, so the lists cannot be that one
    /// mount; `sharing=private` is rejected by every buildah ("unrecognized value"), and an
    /// unlocked cache lets two concurrent BuildKit builds meet apt's locks, which fail at once
    /// rather than wait. Hence the lists go in a tmpfs: the RUN refreshes them itself (there
    /// is no fix otherwise) and they never reach the image, as with the cleanup; what is lost
    /// against a cached copy is only a faster `apt-get update`. The downloaded packages keep
    /// the one locked cache, whose lock file apt leaves alone (`apt-get clean` empties only
    /// `archives/` and goes with the mount).
    pub(crate) static CACHE_MOUNTS = {
        name: "cache-mounts",
        summary: "Adds a BuildKit cache mount for the package manager's download cache (and Go's build cache)",
        fix: FixAvailability::Sometimes,
        may: [],
        run: run,
        tier: Unsafe,
    };
}

fn run(ctx: &PassContext<'_>) -> Vec<Fix> {
    let runs = ctx.runs();
    let mut fixes = Vec::new();
    for (pos, run) in runs.all.iter().enumerate() {
        let invocations = run.invocations();
        let mut seen: Vec<&Manager> = Vec::new();
        for inv in &invocations {
            let manager = inv.manager;
            let Some(recipe) = &manager.cache_mount else {
                continue;
            };
            if seen.iter().any(|m| std::ptr::eq(*m, manager))
                || !inv.sub_value().is_some_and(|s| recipe.on.contains(&s))
            {
                continue;
            }
            seen.push(manager);
            // built already when cache-cleanup asked whether there is one
            let asked = runs.mount_fixes.borrow_mut().remove(&key(pos, manager));
            let fix = match asked {
                // built before this pass ran: reported here when the pass only reports
                Some(fix) => fix.and_then(|fix| ctx.report(fix)),
                None => fix_for(ctx, pos, run, manager, recipe, &invocations),
            };
            fixes.extend(fix);
        }
    }
    fixes
}

/// Whether this pass mounts `manager`'s cache on run `pos` (a pass that would remove that
/// cache leaves it to the mount).
pub(super) fn mounts(ctx: &PassContext<'_>, pos: usize, manager: &Manager) -> bool {
    let run = &ctx.runs().all[pos];
    let Some(recipe) = &manager.cache_mount else {
        return false;
    };
    let invocations = run.invocations();
    if !invocations.iter().any(|i| {
        std::ptr::eq(i.manager, manager) && i.sub_value().is_some_and(|s| recipe.on.contains(&s))
    }) {
        return false;
    }
    // the fix is kept for this pass's own run in the same round, rather than built twice
    let key = key(pos, manager);
    if let Some(fix) = ctx.runs().mount_fixes.borrow().get(&key) {
        return fix.is_some();
    }
    let fix = fix_for(ctx, pos, run, manager, recipe, &invocations);
    let mounts = fix.is_some();
    ctx.runs().mount_fixes.borrow_mut().insert(key, fix);
    mounts
}

/// The key of a RUN's fix for `manager` in [`runs::Runs`]'s `mount_fixes`.
fn key(pos: usize, manager: &Manager) -> (usize, usize) {
    (pos, std::ptr::from_ref(manager) as usize)
}

fn fix_for(
    ctx: &PassContext<'_>,
    pos: usize,
    run: &Run<'_>,
    manager: &Manager,
    recipe: &CacheMount,
    invocations: &[Invocation<'_>],
) -> Option<Fix> {
    let script = run.script.as_ref().ok()?;
    let body = ctx.file.slice(run.ins.range);
    if recipe
        .env
        .iter()
        .any(|v| may_be_set_through(ctx.file, run.index(), v))
        || runs_as_other_user(ctx, run)
    {
        return None;
    }
    // a per-user cache (`/root/.cache/pip`) is only where the mount puts it for root
    let per_user = recipe.targets.iter().any(|t| t.starts_with("/root"));
    let root = tool_versions::known_root(ctx.runs(), pos)
        && !may_be_set_through(ctx.file, run.index(), "HOME");
    if per_user && !root {
        return None;
    }
    let mounts = run.ins.mounts();
    // (target, whether it is a tmpfs) of the mounts the RUN does not have yet
    let mut missing = Vec::new();
    let wanted =
        (recipe.targets.iter().map(|t| (t, false))).chain(recipe.tmpfs.iter().map(|t| (t, true)));
    for (target, tmpfs) in wanted {
        match mounts.iter().find(|m| {
            m.target
                .as_deref()
                .is_some_and(|t| crate::managers::covers(t, target))
        }) {
            Some(m) if m.kind == "cache" || (tmpfs && m.kind == "tmpfs") => {}
            Some(_) => return None,
            None => missing.push((*target, tmpfs)),
        }
    }
    // one locked mount per RUN: buildah <= 1.28 releases only the last (containers/buildah#4342)
    let locks = recipe.sharing == Some("locked") && missing.iter().any(|(_, t)| !t);
    if locks
        && run
            .ins
            .flags()
            .iter()
            .any(|f| f.text.starts_with("--mount=") && f.text.contains("sharing=locked"))
    {
        return None;
    }

    // a new mount of an index's manager needs the RUN to refresh the index itself, and
    // nothing later to need the lists it no longer leaves in the image (checked before the
    // edits are built: most RUNs stop here)
    if !missing.is_empty()
        && manager.index.is_some()
        && (!refreshes_first(manager, invocations) || ctx.runs().index_needed_later(pos, manager))
    {
        return None;
    }

    let mut edits = Vec::new();
    for inv in invocations
        .iter()
        .filter(|i| std::ptr::eq(i.manager, manager))
    {
        for word in &inv.command.args {
            if word
                .value
                .as_deref()
                .is_some_and(|v| recipe.drop_flags.contains(&v))
            {
                edits.push(Edit::delete(
                    script.to_source(runs::drop_word(script, word)),
                ));
            }
        }
    }
    let home = root.then_some("/root");
    // the cleanups of the mounted directories go; neighbouring ones that both go are dropped
    // the plain way (` && a && b`), as the line-keeping ranges of two neighbours overlap
    let drops = |keep_lines: bool| -> Option<Removals> {
        let mut out = Vec::new();
        for command in &script.script.commands {
            if command.is("rm") {
                continue;
            }
            let cleans = recipe
                .drop_commands
                .iter()
                .any(|c| runs::runs_one_of(command, c));
            if cleans {
                let range = if keep_lines {
                    runs::drop_command_keeping_lines(script, command)?
                } else {
                    runs::drop_command(script, command)?
                };
                out.push(Edit::delete(script.to_source(range)));
            }
        }
        let (removals, dropped) = rm_of_targets(run, recipe, home, keep_lines)?;
        out.extend(removals);
        Some((out, dropped))
    };
    let (mut removals, dropped) = drops(true)?;
    removals.sort();
    if removals
        .windows(2)
        .any(|w| crate::text::edits_overlap(&w[0], &w[1]))
    {
        removals = drops(false)?.0;
    }
    edits.extend(removals);

    if !missing.is_empty() {
        // text added at both ends goes on lines of its own, as a reviewer would write it
        let both = recipe.before.is_some() && recipe.after.is_some();
        if let Some(before) = &recipe.before {
            if body.contains("docker-clean") {
                return None;
            }
            let prepended = runs::prepend(ctx.file, run, before, both, &edits).ok()?;
            edits.extend(prepended);
        }
        if let Some(after) = &recipe.after {
            let appended = runs::append(ctx.file, run, after, both, &edits).ok()?;
            edits.extend(appended);
        }
        // the prepended command shares the first line with inline flags
        let shared = recipe
            .before
            .as_ref()
            .map_or(0, |b| b.chars().count() + " && \\".len());
        let flags = mount_flags(ctx, run, recipe, &missing, (shared, &edits))?;
        edits.extend(flags);
    }
    if edits.is_empty() {
        return None;
    }
    let what = recipe.what.unwrap_or("download cache");
    let tmpfs: Vec<&str> = missing
        .iter()
        .filter(|(_, t)| *t)
        .map(|(d, _)| *d)
        .collect();
    let mut message = if missing.is_empty() {
        format!(
            "the {} {what} is mounted: drop what empties or bypasses it",
            manager.name
        )
    } else if tmpfs.is_empty() {
        format!(
            "keep the {} {what} in a BuildKit cache mount (needs BuildKit or buildah; \
             the legacy builder rejects RUN --mount)",
            manager.name
        )
    } else {
        format!(
            "keep the {} {what} in a BuildKit cache mount and {} in a tmpfs mount (needs \
             BuildKit or buildah; the legacy builder rejects RUN --mount)",
            manager.name,
            tmpfs.join(" ")
        )
    };
    let (in_tmpfs, in_cache): (Vec<_>, Vec<_>) = dropped.into_iter().partition(|(_, t)| *t);
    for (words, why) in [
        (
            in_cache,
            "it is in the cache mount now, and a mount point cannot be removed",
        ),
        (
            in_tmpfs,
            "it is in a tmpfs mount now, which never reaches the image, and a mount point \
             cannot be removed",
        ),
    ] {
        if !words.is_empty() {
            let words: Vec<&str> = words.iter().map(|(w, _)| w.as_str()).collect();
            let _ = write!(message, "; no longer removes {} ({why})", words.join(" "));
        }
    }
    ctx.fix(CACHE_MOUNTS.name, Applicability::Unsafe, message, edits)
}

/// The `--mount` flags for `targets` (a cache mount, or a tmpfs where flagged), on the RUN line, or one per continuation line when
/// that line (with `shared` more characters that another edit puts on it) would grow past
/// the file's line length; then the body's first line, which moves behind the indentation,
/// is broken where it would grow too long (clear of `avoid`). `None` when it cannot be.
fn mount_flags(
    ctx: &PassContext<'_>,
    run: &Run<'_>,
    recipe: &CacheMount,
    targets: &[(&str, bool)],
    (shared, avoid): (usize, &[Edit]),
) -> Option<Vec<Edit>> {
    let sharing = recipe
        .sharing
        .map(|s| format!(",sharing={s}"))
        .unwrap_or_default();
    let flags: Vec<String> = targets
        .iter()
        .map(|&(t, tmpfs)| {
            if tmpfs {
                format!("--mount=type=tmpfs,target={t}")
            } else {
                format!("--mount=type=cache,target={t}{sharing}")
            }
        })
        .collect();
    // after the flags already there, so that a flag written before stays on its line
    let at = run
        .ins
        .flags()
        .iter()
        .map(|f| f.range.end)
        .max()
        .unwrap_or(run.ins.keyword().end);
    let inline = format!(" {}", flags.join(" "));
    if layout::line_length_with(ctx.file, at, &inline) + shared <= layout::limit(ctx.file) {
        return Some(vec![Edit::insert(at, inline)]);
    }
    let layout = run.layout(ctx.file);
    let source = &ctx.file.source[at as usize..];
    let blanks = source.len() - source.trim_start_matches([' ', '\t']).len();
    let rest = &source[blanks..];
    let continues = rest.starts_with(ctx.file.escape)
        && rest[ctx.file.escape.len_utf8()..]
            .trim_start_matches([' ', '\t'])
            .starts_with(['\n', '\r']);
    // after flags on the RUN line, the new ones start a line of their own too
    let lead = if at == run.ins.keyword().end {
        " ".to_owned()
    } else {
        layout.word_break()
    };
    let mut text = format!("{lead}{}", flags.join(&layout.word_break()));
    let mut edits = Vec::new();
    if continues {
        text.push(' ');
    } else {
        text.push_str(&layout.word_break());
        // the body's first line moves behind the indentation: break it where that is longer
        let script = run.script.as_ref().ok()?;
        let start = at + crate::text::to_u32(blanks);
        let line_end = ctx.file.source[start as usize..]
            .find(['\n', '\r'])
            .map_or(ctx.file.source.len(), |i| start as usize + i);
        edits = layout::fit(
            ctx.file,
            (script, layout),
            (start, layout.indent.chars().count()),
            (crate::text::to_u32(line_end), 0),
            avoid,
        )?;
    }
    edits.push(Edit::replace(
        crate::text::TextRange::new(at, at + crate::text::to_u32(blanks)),
        text,
    ));
    Some(edits)
}

/// The edits that drop removals, and the words no longer removed, each with whether it
/// reaches only a tmpfs target.
type Removals = (Vec<Edit>, Vec<(String, bool)>);

/// The edits that take the mount targets (or a directory holding one) out of the RUN's `rm`
/// commands: a mount point cannot be removed ("Device or resource busy"), and emptying it
/// defeats the cache (a tmpfs is emptied anyway). Only the words that name them go; an `rm`
/// left with nothing goes whole. The dropped words come with whether they reach only a
/// tmpfs target. `None` when such a word cannot be dropped exactly, or cannot be read.
/// `home` is the running user's HOME when known: `"$HOME/.npm"` (what cache-cleanup writes)
/// is then a path like any other.
fn rm_of_targets(
    run: &Run<'_>,
    recipe: &CacheMount,
    home: Option<&str>,
    keep_lines: bool,
) -> Option<Removals> {
    let targets: Vec<&str> = recipe.targets.iter().chain(recipe.tmpfs).copied().collect();
    let script = run.script.as_ref().ok()?;
    let mut edits = Vec::new();
    let mut dropped = Vec::new();
    let cached: &[&str] = recipe.targets;
    let reaches = |path: &str, targets: &[&str]| {
        let path = path.trim_end_matches('*').trim_end_matches('/');
        let path = if path.is_empty() { "/" } else { path };
        targets
            .iter()
            .any(|t| crate::managers::covers(path, t) || crate::managers::covers(t, path))
    };
    let hits = |path: &str| reaches(path, &targets);
    let only_tmpfs = |path: &str| !reaches(path, cached);
    // behind a wrapper (`sudo rm`, `sh -c "rm …"`) the words cannot be dropped exactly
    let effective = run.effective()?;
    for resolved in effective.commands().filter(|r| r.via.wrapped) {
        if resolved.command.is("rm")
            && resolved
                .command
                .args_no_flags()
                .iter()
                .any(|w| w.value.as_deref().is_none_or(hits))
        {
            return None;
        }
    }
    for command in script.script.commands.iter().filter(|c| c.is("rm")) {
        let operands = command.args_no_flags();
        let mut gone = Vec::new();
        for word in &operands {
            let path = match word.value.as_deref() {
                Some(v) => Some(v.to_owned()),
                None => word
                    .text
                    .strip_prefix('~')
                    .filter(|r| r.is_empty() || r.starts_with('/'))
                    .map(|r| format!("/root{r}"))
                    .or_else(|| home.and_then(|h| under_home(&word.text, h))),
            };
            match path {
                Some(p) if hits(&p) => gone.push((*word, only_tmpfs(&p))),
                Some(_) => {}
                // `$HOME/.cache`, `${PIP_CACHE}`: may be the mount
                None => {
                    let named = targets.iter().any(|t| {
                        t.rsplit('/')
                            .next()
                            .is_some_and(|last| word.text.contains(last))
                    });
                    // `$HOME/.npm` with HOME unknown: HOME is no package cache, so it
                    // reaches a target only through a name the target has (`.cache`)
                    let below_home = under_home(&word.text, "").is_some_and(|rest| {
                        let first = rest.trim_start_matches('/').split('/').next();
                        !targets.iter().any(|t| {
                            t.split('/')
                                .any(|part| first.is_none_or(|f| f.is_empty() || f == part))
                        })
                    });
                    // a cache-like variable (`$XDG_CACHE_HOME`) may name the mount's parent
                    let upper = word.text.to_ascii_uppercase();
                    let cache_like = upper.contains("CACHE") || upper.contains("XDG");
                    if named || cache_like || (reads_home(&word.text) && !below_home) {
                        return None;
                    }
                }
            }
        }
        if gone.is_empty() {
            continue;
        }
        dropped.extend(gone.iter().map(|(w, t)| (w.text.to_string(), *t)));
        if gone.len() == operands.len() {
            let range = if keep_lines {
                runs::drop_command_keeping_lines(script, command)?
            } else {
                runs::drop_command(script, command)?
            };
            edits.push(Edit::delete(script.to_source(range)));
        } else {
            for (word, _) in gone {
                edits.push(Edit::delete(
                    script.to_source(runs::drop_word(script, word)),
                ));
            }
        }
    }
    Some((edits, dropped))
}

/// Whether the index is refreshed in the body before anything reads it (a mounted index
/// starts empty on a fresh machine).
fn refreshes_first(manager: &Manager, invocations: &[Invocation<'_>]) -> bool {
    for inv in invocations
        .iter()
        .filter(|i| i.manager.shares_index_with(manager))
    {
        match inv.action() {
            Some(Action::Refresh) => return true,
            _ if inv.needs_stored_index() => return false,
            _ => {}
        }
    }
    false
}

/// Whether a `USER` other than root is in effect in the RUN's stage before it.
fn runs_as_other_user(ctx: &PassContext<'_>, run: &Run<'_>) -> bool {
    // the last USER since the stage's FROM, from the stage's USERs found once per file
    if let Some(stage) = run.stage() {
        let user =
            tool_versions::last_user(ctx.runs(), stage, run.ins.range.start).and_then(|u| u.name);
        return user.is_some_and(|u| {
            let name = u.split(':').next().unwrap_or(u);
            !matches!(name, "root" | "0")
        });
    }
    let items = &ctx.file.items;
    let at = items.partition_point(|item| {
        crate::syntax::Dockerfile::item_range(item).start < run.ins.range.start
    });
    let mut user: Option<&str> = None;
    for item in items[..at].iter().rev() {
        let crate::syntax::Item::Instruction(ins) = item else {
            continue;
        };
        match ins.kind {
            Keyword::From => break,
            Keyword::User => {
                user = ins.word_texts(&ctx.file.source).next();
                break;
            }
            _ => {}
        }
    }
    user.is_some_and(|u| {
        let name = u.split(':').next().unwrap_or(u);
        !matches!(name, "root" | "0")
    })
}

/// `$HOME/REST`, `${HOME}/REST` or either in double quotes, as a path under `home`; `None`
/// when anything else in the word would need the shell (another variable, a quote inside).
fn under_home(text: &str, home: &str) -> Option<String> {
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    let rest = text
        .strip_prefix("${HOME}")
        .or_else(|| text.strip_prefix("$HOME"))?;
    let literal = rest.is_empty()
        || (rest.starts_with('/') && !rest.contains(['$', '"', '\\', '\'', '`', '*', '?', '[']));
    literal.then(|| format!("{home}{rest}"))
}

/// Whether instruction `index` or one before it mentions variable `name` other than by
/// reading it as `$HOME`: HOME is always set, so a read of it (`rm -rf "$HOME/.npm"`, as
/// cache-cleanup writes) says nothing about where the cache is; any other mention of the
/// name (not inside a longer one) may set it.
fn may_be_set_through(file: &crate::syntax::Dockerfile, index: usize, name: &str) -> bool {
    if name != "HOME" {
        return runs::mentioned_through(file, index, name);
    }
    let part_of_name = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    // the first instruction that may set HOME, found once per file rather than per RUN
    let first = file.memo.first("may-set:HOME", || {
        runs::first_mentioning(file, name, |text| {
            text.match_indices(name).any(|(at, _)| {
                let before = &text[..at];
                // `ANDROID_HOME`, `HOMEBREW_X` are other variables
                let other = part_of_name(before.chars().next_back())
                    || part_of_name(text[at + name.len()..].chars().next());
                !(other || before.ends_with('$') || before.ends_with("${"))
            })
        })
    });
    first.is_some_and(|first| first <= index)
}

/// Whether `text` expands HOME itself (`$HOME`, `${HOME}`, not `$GNUPGHOME`).
fn reads_home(text: &str) -> bool {
    text.match_indices("HOME").any(|(at, _)| {
        let before = &text[..at];
        let next = text[at + 4..].chars().next();
        (before.ends_with('$') || before.ends_with("${"))
            && !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}
