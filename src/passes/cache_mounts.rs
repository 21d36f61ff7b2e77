use super::runs::{self, Run};
use super::{FixAvailability, PassContext};
use crate::managers::{Action, CacheMount, Invocation, Manager};
use crate::syntax::Keyword;
use crate::text::{Applicability, Edit, Fix};

super::declare_pass! {
    /// ## What it does
    /// Adds a BuildKit cache mount for the package manager's download cache to the RUNs that
    /// install with pip, uv, npm, yarn or apt-get (and to `go build`/`go install`/`go test`,
    /// for Go's build cache), and removes what would defeat it: the
    /// manager's no-cache flag (`--no-cache-dir`) or its cleanup of that same directory
    /// (`npm cache clean --force`, `rm -rf /var/lib/apt/lists/*`). For apt-get it mounts
    /// `/var/cache/apt` and `/var/lib/apt/lists` with `sharing=locked` and moves the official
    /// images' `docker-clean` apt configuration (which deletes every downloaded package) out
    /// of the way for the RUN, putting the same file back at its end.
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
    /// a frontend image. There is no fix when a variable that moves or disables the cache
    /// (`PIP_CACHE_DIR`, `HOME`, …) appears in the RUN or before it, when a `USER` other than
    /// root runs the RUN (the mount is root's cache directory), when another kind of mount
    /// already sits on the directory, when a cleanup of the directory is not a plain `&&`
    /// element that can be removed, or, for apt-get, when the RUN does not run `apt-get update`
    /// itself, a later RUN or stage still needs the package lists, or the body is not one
    /// `&&` list.
    pub(crate) static CACHE_MOUNTS = {
        name: "cache-mounts",
        summary: "Adds a BuildKit cache mount for the package manager's download cache (and Go's build cache)",
        fix: FixAvailability::Sometimes,
        may: [],
        run: run,
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
                || !inv
                    .sub_value()
                    .is_some_and(|s| recipe.on.iter().any(|o| o == s))
            {
                continue;
            }
            seen.push(manager);
            if let Some(fix) = fix_for(ctx, pos, run, manager, recipe, &invocations) {
                fixes.push(fix);
            }
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
    invocations.iter().any(|i| {
        std::ptr::eq(i.manager, manager)
            && i.sub_value()
                .is_some_and(|s| recipe.on.iter().any(|o| o == s))
    }) && fix_for(ctx, pos, run, manager, recipe, &invocations).is_some()
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
        .any(|v| runs::mentioned_through(ctx.file, run.index, v))
        || runs_as_other_user(ctx, run)
    {
        return None;
    }
    let mounts = run.ins.mounts();
    let mut missing = Vec::new();
    for target in &recipe.targets {
        match mounts.iter().find(|m| {
            m.target
                .as_deref()
                .is_some_and(|t| crate::managers::covers(t, target))
        }) {
            Some(m) if m.kind == "cache" => {}
            Some(_) => return None,
            None => missing.push(target.as_str()),
        }
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
                .is_some_and(|v| recipe.drop_flags.iter().any(|f| f == v))
            {
                edits.push(Edit::delete(
                    script.to_source(runs::drop_word(script, word)),
                ));
            }
        }
    }
    for command in &script.script.commands {
        let cleans = recipe
            .drop_commands
            .iter()
            .any(|c| runs::runs_one_of(command, c));
        if cleans {
            edits.push(Edit::delete(
                script.to_source(runs::drop_command(script, command)?),
            ));
        }
    }

    if !missing.is_empty() {
        if manager.index.is_some() && !refreshes_first(manager, invocations) {
            return None;
        }
        // the lists this RUN no longer leaves in the image
        if manager.index.is_some() && ctx.runs().index_needed_later(pos, manager) {
            return None;
        }
        if let Some(before) = &recipe.before {
            if body.contains("docker-clean") {
                return None;
            }
            edits.push(runs::prepend(run, before).ok()?);
        }
        if let Some(after) = &recipe.after {
            edits.push(runs::append(run, after).ok()?);
        }
        let sharing = recipe
            .sharing
            .as_deref()
            .map(|s| format!(",sharing={s}"))
            .unwrap_or_default();
        let flags = missing.iter().fold(String::new(), |mut out, t| {
            out.push_str(" --mount=type=cache,target=");
            out.push_str(t);
            out.push_str(&sharing);
            out
        });
        edits.push(Edit::insert(run.ins.keyword.end, flags));
    }
    if edits.is_empty() {
        return None;
    }
    let message = if missing.is_empty() {
        format!(
            "the {} cache is mounted: drop what empties or bypasses it",
            manager.name
        )
    } else {
        format!(
            "keep the {} download cache in a BuildKit cache mount (needs BuildKit or buildah; \
             the legacy builder rejects RUN --mount)",
            manager.name
        )
    };
    ctx.fix(CACHE_MOUNTS.name, Applicability::Unsafe, message, edits)
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
    let mut user: Option<&str> = None;
    for ins in ctx.file.instructions().take(run.index) {
        match ins.kind {
            Keyword::From => user = None,
            Keyword::User => {
                user = ins.words.first().map(|w| w.text.as_str());
            }
            _ => {}
        }
    }
    user.is_some_and(|u| {
        let name = u.split(':').next().unwrap_or(u);
        !matches!(name, "root" | "0")
    })
}
