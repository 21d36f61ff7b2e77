use super::runs::{self, Run};
use super::{FixAvailability, PassContext};
use crate::managers::{Action, Invocation, Manager};
use crate::shell::AndOr;
use crate::syntax::Dockerfile;
use crate::text::{Applicability, Edit, Fix, JoinedRange};

super::declare_pass! {
    /// ## What it does
    /// Adds the package manager's "no cache" option where it installs: `pip install` gets
    /// `--no-cache-dir`, `uv pip install` gets `--no-cache`, `apk add` gets `--no-cache`
    /// (and an `apk update &&` right before it goes, since `--no-cache` fetches a fresh
    /// index itself), `composer install` gets `--no-cache`.
    ///
    /// ## Why
    /// pip keeps every downloaded and built wheel under `/root/.cache/pip`; apk keeps its
    /// index under `/var/cache/apk`. In an image nothing reads them again, so they are
    /// dead weight in the layer.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM python:3.12-slim
    /// RUN pip install -r requirements.txt
    /// ```
    /// becomes
    /// ```dockerfile
    /// FROM python:3.12-slim
    /// RUN pip install --no-cache-dir -r requirements.txt
    /// ```
    ///
    /// ## Fix safety
    /// The tier comes from the manager's data in `transforms/`. **Safe** for pip and uv: they
    /// install the same distributions, only the cache directory differs. **Unsafe** for
    /// `apk add`: an index cached by an earlier layer may be older than the one `--no-cache`
    /// fetches, so package versions can differ; replacing `apk update && apk add` is
    /// **safe**, since the index is fresh either way. **Unsafe** for composer (Composer 1 has
    /// no `--no-cache`). There is no fix when the command already chooses a cache behaviour,
    /// when a variable that does (`PIP_NO_CACHE_DIR`, `PIP_CACHE_DIR`, …) appears in the RUN
    /// or an earlier instruction, or when a `--mount=type=cache` covers the cache directory.
    pub(crate) static NO_CACHE_FLAGS = {
        name: "no-cache-flags",
        summary: "Adds the package manager's \"no cache\" option where it installs (`--no-cache-dir`, `--no-cache`)",
        fix: FixAvailability::Sometimes,
        may: [],
        run: run,
    };
}

fn run(ctx: &PassContext<'_>) -> Vec<Fix> {
    let runs = ctx.runs();
    let mut fixes = Vec::new();
    for run in &runs.all {
        let invocations = run.invocations();
        for at in 0..invocations.len() {
            let Some(found) = candidate(ctx.file, run, &invocations, at) else {
                continue;
            };
            fixes.extend(ctx.fix(NO_CACHE_FLAGS.name, found.tier, found.message, found.edits));
        }
    }
    fixes
}

/// A fix this pass makes for one command.
struct Candidate {
    edits: Vec<Edit>,
    tier: Applicability,
    message: String,
    drops_refresh: bool,
}

/// Whether this pass will drop `manager`'s index refresh from `run` (so the run stores no
/// index and needs no cleanup).
pub(crate) fn drops_refresh(file: &Dockerfile, run: &Run<'_>, manager: &Manager) -> bool {
    let invocations = run.invocations();
    (0..invocations.len()).any(|at| {
        std::ptr::eq(invocations[at].manager, manager)
            && candidate(file, run, &invocations, at).is_some_and(|c| c.drops_refresh)
    })
}

fn candidate(
    file: &Dockerfile,
    run: &Run<'_>,
    invocations: &[Invocation<'_>],
    at: usize,
) -> Option<Candidate> {
    let script = run.script.as_ref().ok()?;
    let inv = &invocations[at];
    let nc = inv.manager.no_cache.as_ref()?;
    let sub = inv.sub_value()?;
    if !nc.on.iter().any(|s| s == sub) || inv.has_any(&nc.decided) {
        return None;
    }
    let env_set = nc
        .env
        .iter()
        .any(|var| runs::mentioned_through(file, run.index, var));
    let mounted = inv
        .manager
        .state_dirs()
        .any(|d| runs::cache_mount_covers(run.ins, d));
    if env_set || mounted {
        return None;
    }
    let word = inv.sub?;
    let mut edits = vec![Edit::insert(
        script.to_source(word.range).end,
        format!(" {}", nc.flag),
    )];
    let mut tier = Applicability::from(nc.tier);
    let mut message = format!(
        "do not keep the {} cache: add `{}`",
        inv.manager.name, nc.flag
    );
    let refresh = refresh_before(&script.script, invocations, at);
    if let Some(update) = refresh {
        // `apk update && apk add --no-cache`: the update only stores an index nothing reads
        // any more; without it the layer has no index, and the versions are the same
        edits.push(Edit::delete(script.to_source(update)));
        tier = Applicability::Safe;
        message.push_str(" and drop the refresh before it, which that flag does itself");
    }
    Some(Candidate {
        edits,
        tier,
        message,
        drops_refresh: refresh.is_some(),
    })
}

/// For a manager whose no-cache flag also fetches a fresh index (`apk add --no-cache`):
/// the range of `REFRESH && ` when the refresh is the command right before invocation `at`
/// in the same top-level `&&` list, is its only refresh in the body, and no other command
/// of that manager in the body could read the index it stores.
fn refresh_before(
    script: &crate::shell::Script,
    invocations: &[Invocation<'_>],
    at: usize,
) -> Option<JoinedRange> {
    let inv = &invocations[at];
    let index = inv.manager.index.as_ref()?;
    if !index
        .fresh_flags
        .iter()
        .any(|f| Some(f) == inv.manager.no_cache.as_ref().map(|n| &n.flag))
    {
        return None;
    }
    let same: Vec<&Invocation<'_>> = invocations
        .iter()
        .filter(|i| std::ptr::eq(i.manager, inv.manager))
        .collect();
    let refreshes: Vec<&&Invocation<'_>> = same
        .iter()
        .filter(|i| i.action() == Some(Action::Refresh))
        .collect();
    let [refresh] = refreshes.as_slice() else {
        return None;
    };
    // every other command of the manager is an install that gets the flag too
    if same
        .iter()
        .any(|i| !std::ptr::eq(i.command, refresh.command) && i.action() != Some(Action::Install))
    {
        return None;
    }
    let (r, c) = (refresh.command, inv.command);
    let top = |c: &crate::shell::Command| c.context == crate::shell::CommandContext::default();
    if !(top(r) && top(c)) || r.chain != c.chain || r.range.end > c.range.start {
        return None;
    }
    let chain = script.chains.get(r.chain)?;
    // the operator right after the refresh must be `&&`, and nothing may sit between them
    let (op, op_range) = chain
        .operators
        .iter()
        .find(|(_, range)| range.start >= r.range.end)?;
    if *op != AndOr::And || op_range.end > c.range.start {
        return None;
    }
    let between = script
        .commands
        .iter()
        .any(|x| x.range.start > r.range.end && x.range.start < c.range.start);
    (!between).then(|| JoinedRange::new(r.range.start, c.range.start))
}
