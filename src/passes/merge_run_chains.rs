use super::runs::{self, Run};
use super::{FixAvailability, PassContext};
use crate::managers::{Action, Manager};
use crate::text::{Applicability, Fix};

super::declare_pass! {
    /// ## What it does
    /// Merges a RUN into the RUN just before it when the second removes or cleans up what the
    /// first created (an `rm` of a path the first wrote, a package manager's cleanup, a purge
    /// of packages it installed), or when both only run the same package manager.
    ///
    /// ## Why
    /// Files deleted in a later layer still take space in the image: the layer that created
    /// them keeps them. Cleanup only shrinks an image in the RUN that made the mess. Two RUNs
    /// of one package manager are also one layer more than needed, and each keeps its own copy
    /// of the files the manager rewrites.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM debian:bookworm
    /// RUN apt-get update && apt-get install -y build-essential
    /// RUN apt-get purge -y build-essential && rm -rf /var/lib/apt/lists/*
    /// ```
    /// becomes
    /// ```dockerfile
    /// FROM debian:bookworm
    /// RUN apt-get update && apt-get install -y build-essential && \
    ///     apt-get purge -y build-essential && rm -rf /var/lib/apt/lists/*
    /// ```
    ///
    /// ## Fix safety
    /// **Safe.** Only when the two RUNs follow each other in one stage with nothing but
    /// comments or blank lines between, have the same RUN flags (and no tmpfs or writable
    /// bind mount that merging would share), both are shell form under a POSIX shell, the
    /// first body cannot leak state into the second (no `cd`/`pushd`, `export`, `unset`,
    /// `set`, `shopt`, `source`/`.`, `alias`, `umask`, `ulimit`, `trap`, `exec`, `eval`,
    /// `read`, `getopts`, `local`/`declare`/`typeset`, `shift`, a `for`/`select` loop whose
    /// variable stays set, function definitions, bare assignments, `exit`, background jobs,
    /// or a command name that is not literal), no comment line sits between them (it would
    /// end up inside the merged RUN), the first body ends in a plain command list, and the
    /// second is one `&&` list. Otherwise there is no fix. The joined lines follow the file's
    /// continuation style (indentation, `&&` at the end or the start of a line). When the
    /// first ends with an index cleanup that the second repeats after refreshing that index
    /// first, the first cleanup goes: the refresh would fetch the index again anyway, and the
    /// image ends without it either way. A refresh followed by an install is left to
    /// `apt-update-with-install`. "Only the same package manager" means package management
    /// (install, refresh, upgrade, remove, clean): `go mod download` then `go build`, or `npm
    /// ci` then `npm run build`, stay two layers, so the download stays cached when only the
    /// sources change.
    pub(crate) static MERGE_RUN_CHAINS = {
        name: "merge-run-chains",
        summary: "Merges a RUN into the one before it when it cleans up after it or both run one package manager",
        fix: FixAvailability::Sometimes,
        may: [merges],
        run: run,
    };
}

fn run(ctx: &PassContext<'_>) -> Vec<Fix> {
    let runs = ctx.runs();
    runs.adjacent_pairs()
        .filter(|(a, b)| !super::apt_update_with_install::is_refresh_then_install(a, b))
        .filter_map(|(a, b)| {
            let why = reason(a, b)?;
            let edits = runs::merge_dropping_tail(ctx.file, a, b, repeated_cleanup(a, b)).ok()?;
            ctx.fix(
                MERGE_RUN_CHAINS.name,
                Applicability::Safe,
                format!(
                    "merge with the RUN on line {}: {why}; saves 1 layer",
                    ctx.line(b.ins)
                ),
                edits,
            )
        })
        .collect()
}

/// Why merging `b` into `a` is worth it, if it is.
fn reason(a: &Run<'_>, b: &Run<'_>) -> Option<String> {
    let (Ok(sa), Ok(sb)) = (&a.script, &b.script) else {
        return None;
    };
    let created_by_a: Vec<&Manager> = a
        .invocations()
        .iter()
        .filter(|i| {
            matches!(
                i.action(),
                Some(Action::Install | Action::Refresh | Action::Upgrade)
            )
        })
        .map(|i| i.manager)
        .collect();
    for inv in b.invocations() {
        let cleans = matches!(inv.action(), Some(Action::Remove | Action::Clean));
        if cleans && created_by_a.iter().any(|m| std::ptr::eq(*m, inv.manager)) {
            return Some(format!(
                "it cleans up after the {} run here",
                inv.manager.name
            ));
        }
    }
    for m in &created_by_a {
        if sb
            .script
            .commands
            .iter()
            .any(|c| m.state_dirs().any(|d| runs::removes_dir(c, d)))
        {
            return Some(format!("it removes what {} left here", m.name));
        }
    }
    let written: Vec<&str> = sa
        .script
        .commands
        .iter()
        .flat_map(|c| c.args.iter())
        .filter_map(|w| w.value.as_deref())
        .filter(|v| is_specific_path(v))
        .collect();
    for c in sb.script.commands.iter().filter(|c| c.is("rm")) {
        for w in c.args_no_flags() {
            let Some(path) = w.value.as_deref().and_then(removed_path) else {
                continue;
            };
            let hit = written
                .iter()
                .any(|x| *x == path || (path.starts_with('/') && crate::managers::covers(path, x)));
            if hit {
                return Some(format!("it removes {path}, which this RUN wrote"));
            }
        }
    }
    // package management only: `go build` or `npm run build` read the sources, and a RUN
    // that only downloads dependencies is worth its own cached layer before them
    // each command's manager, from the RUN's kept lookup (`invocations` is in command order)
    let only = |run: &runs::Run<'_>, script: &crate::shell::Script, m: &Manager| {
        let invocations = run.invocations();
        script.commands.iter().all(|c| {
            invocations
                .iter()
                .find(|i| std::ptr::eq(i.command, c))
                .is_some_and(|i| {
                    std::ptr::eq(i.manager, m) && i.action().is_some_and(|a| a != Action::Other)
                })
                || m.state_dirs().any(|d| runs::removes_dir(c, d))
        })
    };
    let first = a.invocations().first().map(|i| i.manager)?;
    (only(a, &sa.script, first) && only(b, &sb.script, first))
        .then(|| format!("both only run {}", first.name))
}

/// What `rm` removes, as a path: `/tmp/*` removes what is under `/tmp`. `None` for `/`,
/// `.` and other wildcards.
fn removed_path(v: &str) -> Option<&str> {
    let path = v.trim_end_matches('*').trim_end_matches('/');
    (path.len() > 1 && path != ".." && !path.contains(['*', '?', '['])).then_some(path)
}

/// A path precise enough that removing it is removing that very thing (not `/`, `.`, `*`).
fn is_specific_path(v: &str) -> bool {
    let trimmed = v.trim_end_matches('/');
    trimmed.len() > 1
        && trimmed.contains('/')
        && !trimmed.contains(['*', '?', '['])
        && !matches!(
            trimmed,
            "/tmp" | "/var" | "/usr" | "/etc" | "/opt" | "/root" | "/home"
        )
}

/// Where `a`'s body may end when its trailing cleanup commands are index cleanups that `b`
/// makes again after refreshing that index first: merged, the first cleanup would only be
/// undone by `b`'s refresh, and the RUN would read as if written twice.
fn repeated_cleanup(a: &Run<'_>, b: &Run<'_>) -> Option<u32> {
    let sa = a.script.as_ref().ok()?;
    let sb = b.script.as_ref().ok()?;
    let cleans = |c: &crate::shell::Command, m: &Manager| {
        m.index.as_ref().is_some_and(|i| {
            i.dirs.iter().any(|d| runs::removes_dir(c, d)) || runs::runs_one_of(c, i.cleanup)
        })
    };
    // `b` refreshes the index before anything else of the manager, and cleans it at its end
    let b_redoes = |m: &Manager| {
        let b_inv = b.invocations();
        let first = b_inv.iter().find(|i| i.manager.shares_index_with(m));
        let refreshed_first = first.is_some_and(|i| i.action() == Some(Action::Refresh));
        let last_write = b_inv
            .iter()
            .filter(|i| i.manager.shares_index_with(m))
            .map(|i| i.command.range.start)
            .max();
        refreshed_first
            && last_write.is_some_and(|w| {
                sb.script
                    .commands
                    .iter()
                    .any(|c| c.range.start > w && cleans(c, m))
            })
    };
    let managers: Vec<&Manager> = a.invocations().iter().map(|i| i.manager).collect();
    let last_chain = sa.script.chains.len().checked_sub(1)?;
    let top: Vec<&crate::shell::Command> = sa
        .script
        .commands
        .iter()
        .filter(|c| c.chain == last_chain)
        .collect();
    let mut cut = None;
    for command in top.iter().rev() {
        let dropped = managers.iter().any(|m| cleans(command, m) && b_redoes(m));
        let Some(range) = dropped.then(|| runs::drop_command(sa, command)).flatten() else {
            break;
        };
        cut = Some(sa.to_source(range).start);
    }
    // the whole body is cleanups: keep it
    let first = top.first()?;
    let whole = cut.is_some_and(|c| c <= sa.to_source(first.range).start);
    cut.filter(|_| !whole)
}
