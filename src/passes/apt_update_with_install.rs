use super::runs;
use super::{FixAvailability, PassContext};
use crate::managers::Action;
use crate::text::{Applicability, Fix, Message};

super::declare_pass! {
    /// ## What it does
    /// Merges a RUN that only refreshes a package index (`apt-get update`, `apk update`,
    /// `yum makecache`, `zypper refresh`) into the RUN right after it when that RUN installs
    /// with the same manager.
    ///
    /// ## Why
    /// Each RUN is a cached layer. When the index refresh is a layer of its own, a later
    /// change to the install line rebuilds only the install, against the index cached when the
    /// refresh layer was first built: old package versions, or "404 Not Found" once the
    /// mirror has moved on. In one RUN, the index is always as fresh as the install.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM debian:bookworm
    /// RUN apt-get update
    /// RUN apt-get install -y curl
    /// ```
    /// becomes
    /// ```dockerfile
    /// FROM debian:bookworm
    /// RUN apt-get update && \
    ///     apt-get install -y curl
    /// ```
    ///
    /// ## Fix safety
    /// **Safe.** The refresh is a single command and the install RUN follows it directly
    /// (blank lines may sit between), with the same RUN flags, both in shell
    /// form under a POSIX shell; the install body is one `&&` list, so it runs exactly when
    /// the refresh succeeded, as before. A comment line between the two means no fix (it
    /// would end up inside the merged RUN); blank lines between them are dropped. Otherwise
    /// there is no fix.
    pub(crate) static APT_UPDATE_WITH_INSTALL = {
        name: "apt-update-with-install",
        summary: "Merges a RUN that only refreshes a package index into the install RUN right after it",
        fix: FixAvailability::Sometimes,
        may: [merges],
        run: run,
    };
}

fn run(ctx: &PassContext<'_>) -> Vec<Fix> {
    let runs = ctx.runs();
    runs.adjacent_pairs()
        .filter(|(a, b)| is_refresh_then_install(a, b))
        .filter_map(|(a, b)| {
            let edits = runs::merge(ctx.file, a, b).ok()?;
            let manager = &a.invocations().first()?.manager.name;
            // a line per RUN: the message is made only for the report
            ctx.fix_naming_line(
                APT_UPDATE_WITH_INSTALL.name,
                Applicability::Safe,
                &format!(
                    "refresh the {manager} index in the RUN that installs (line {}), so a \
                     cached stale index never meets a new install; saves 1 layer",
                    Message::LINE
                ),
                ctx.line(b.ins),
                edits,
            )
        })
        .collect()
}

/// `a` is one command that refreshes an index; `b` installs or upgrades with a manager that
/// keeps the same index.
pub(crate) fn is_refresh_then_install(a: &runs::Run<'_>, b: &runs::Run<'_>) -> bool {
    let Ok(sa) = &a.script else {
        return false;
    };
    let [only] = &*sa.script.commands else {
        return false;
    };
    // the RUN's one command, as the RUN's kept manager lookup found it
    let invocations = a.invocations();
    let Some(refresh) = invocations.first() else {
        return false;
    };
    if refresh.action() != Some(Action::Refresh)
        || only.context != crate::shell::CommandContext::default()
    {
        return false;
    }
    b.invocations().iter().any(|inv| {
        matches!(inv.action(), Some(Action::Install | Action::Upgrade))
            && inv.manager.shares_index_with(refresh.manager)
    })
}
