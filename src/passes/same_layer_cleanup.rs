use super::runs::{self, Run};
use super::{FixAvailability, PassContext};
use crate::managers::Manager;
use crate::text::{Applicability, Fix};

super::declare_pass! {
    /// ## What it does
    /// Appends the package manager's cleanup to a RUN that downloads a package index:
    /// `rm -rf /var/lib/apt/lists/*` after `apt-get update`, `rm -rf /var/cache/apk/*` after an
    /// `apk add` that keeps its index, `dnf clean all`, `yum clean all && rm -rf /var/cache/yum`,
    /// `zypper clean --all`.
    ///
    /// ## Why
    /// The index (tens of megabytes for apt) is only needed while installing. Removed in a
    /// later RUN it still takes its space in the layer that downloaded it; removed in the same
    /// RUN it never reaches the image.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM debian:bookworm
    /// RUN apt-get update && apt-get install -y curl
    /// ```
    /// becomes
    /// ```dockerfile
    /// FROM debian:bookworm
    /// RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*
    /// ```
    ///
    /// ## Fix safety
    /// **Safe**: the image differs only by the removed index. There is no fix when the
    /// RUN only refreshes the index (it would then do nothing), when the
    /// cleanup is already there after the last download, when a `--mount=type=cache` covers
    /// the directory, when a later RUN of the stage or of a stage built `FROM` it may still
    /// need the index (an `apt-get install` without its own `apt-get update`, also behind
    /// `sudo`, `env`, `timeout`, `xargs`, `chroot`, `su -c` or `sh -c`; another reader of the
    /// index such as `aptitude`, `apt-cache` or `gdebi`; a later `apk add` without `--update`;
    /// a script the RUN executes, which cannot be read; a body or shell string that cannot be
    /// read but names the manager), when a later stage copies the index (or `/`) out with
    /// `COPY --from`, when an ONBUILD trigger, CMD, ENTRYPOINT or HEALTHCHECK names the
    /// manager, or when the body could
    /// skip the appended command (`exit`, `exec`, a trailing `;` or `&`, a trailing comment)
    /// or redefine it (functions, aliases, `PATH`). A script inside the image that installs
    /// packages at run time without refreshing the index first fails after the fix, as it
    /// does on the official base images, which ship without an index.
    pub(crate) static SAME_LAYER_CLEANUP = {
        name: "same-layer-cleanup",
        summary: "Appends the package manager's index cleanup to the RUN that downloads the index",
        fix: FixAvailability::Sometimes,
        may: [],
        run: run,
    };
}

fn run(ctx: &PassContext<'_>) -> Vec<Fix> {
    let runs = ctx.runs();
    let mut fixes = Vec::new();
    for (pos, run) in runs.all.iter().enumerate() {
        // a RUN that only refreshes an index (often the last one, left for the image's
        // users on purpose) would do nothing at all with the cleanup after it
        let invocations = run.invocations();
        let only_refreshes = run.script.as_ref().is_ok_and(|s| {
            s.script.commands.len() == invocations.len()
                && invocations
                    .iter()
                    .all(|i| i.action() == Some(crate::managers::Action::Refresh))
        });
        if only_refreshes {
            continue;
        }
        let mut cleanups: Vec<&str> = Vec::new();
        for manager in managers_to_clean(run) {
            let Some(index) = &manager.index else {
                continue;
            };
            // `apk update && apk add` becomes `apk add --no-cache`, which stores no index
            let replaced = ctx
                .settings
                .runs(super::no_cache_flags::NO_CACHE_FLAGS.name)
                && super::no_cache_flags::drops_refresh(runs, pos, manager);
            if replaced
                || cleanups.contains(&index.cleanup)
                || index
                    .dirs
                    .iter()
                    .any(|d| runs::cache_mount_covers(run.ins, d))
                || runs.index_needed_later(pos, manager)
            {
                continue;
            }
            cleanups.push(index.cleanup);
        }
        if cleanups.is_empty() {
            continue;
        }
        let command = cleanups.join(" && ");
        let Ok(edits) = runs::append(ctx.file, run, &command, false, &[]) else {
            continue;
        };
        fixes.extend(ctx.fix(
            SAME_LAYER_CLEANUP.name,
            Applicability::Safe,
            format!("remove the package index in the layer that downloaded it: `{command}`"),
            edits,
        ));
    }
    fixes
}

/// Managers whose index this RUN writes and does not remove after the last write.
fn managers_to_clean(run: &Run<'_>) -> Vec<&'static Manager> {
    let Ok(script) = &run.script else {
        return Vec::new();
    };
    let commands = &script.script.commands;
    let invocations = run.invocations();
    let mut out: Vec<&'static Manager> = Vec::new();
    for inv in &invocations {
        let manager = inv.manager;
        if !inv.stores_index() || out.iter().any(|m| std::ptr::eq(*m, manager)) {
            continue;
        }
        // the last command that writes this index
        let last_write = invocations
            .iter()
            .filter(|i| i.manager.shares_index_with(manager) && i.stores_index())
            .map(|i| i.command.range.start)
            .max()
            .unwrap_or(0);
        let index = manager.index.as_ref();
        let cleaned = commands.iter().any(|c| {
            c.range.start > last_write
                && index.is_some_and(|i| {
                    i.dirs.iter().any(|d| runs::removes_dir(c, d))
                        || runs::runs_one_of(c, i.cleanup)
                })
        });
        if !cleaned {
            out.push(manager);
        }
    }
    out
}
