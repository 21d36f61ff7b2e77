use super::runs::{self, Runs};
use super::tool_versions::{self, Version};
use super::{FixAvailability, PassContext};
use crate::managers::{Action, Invocation, Manager, Tier};
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
    /// no `--no-cache`). The tool's version is judged from the base image and the file
    /// (`transforms/tool_versions.toml`): pip's `--no-cache-dir` needs pip 6, so on Ubuntu 14.04 or
    /// Debian 8 and older, without a `pip install --upgrade pip` before, the fix is
    /// **unsafe** (the upgrade command itself still runs the old pip); on Alpine 3.2 or
    /// Composer 1, where the flag fails, there is no fix. There is no fix either when a later
    /// RUN (or stage) may read the index an `apk add` would store, when the RUN already
    /// removes the cache, when the command already chooses a cache behaviour,
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
    for (pos, run) in runs.all.iter().enumerate() {
        let invocations = run.invocations();
        for at in 0..invocations.len() {
            let Some(found) = candidate(runs, pos, &invocations, at) else {
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
pub(crate) fn drops_refresh(runs: &Runs<'_>, pos: usize, manager: &Manager) -> bool {
    let invocations = runs.all[pos].invocations();
    (0..invocations.len()).any(|at| {
        std::ptr::eq(invocations[at].manager, manager)
            && candidate(runs, pos, &invocations, at).is_some_and(|c| c.drops_refresh)
    })
}

fn candidate(
    runs: &Runs<'_>,
    pos: usize,
    invocations: &[Invocation<'_>],
    at: usize,
) -> Option<Candidate> {
    let file: &Dockerfile = runs.file;
    let run = &runs.all[pos];
    let script = run.script.as_ref().ok()?;
    let inv = &invocations[at];
    let nc = inv.manager.no_cache.as_ref()?;
    let sub = inv.sub_value()?;
    if !nc.on.contains(&sub) || inv.has_any(nc.decided) {
        return None;
    }
    let env_set = nc
        .env
        .iter()
        .any(|var| runs::mentioned_through(file, run.index(), var));
    let mounted = inv
        .manager
        .state_dirs()
        .any(|d| runs::cache_mount_covers(run.ins, d));
    if env_set || mounted {
        return None;
    }
    // a cleanup of the cache after the command already keeps it out of the layer
    let cleaned = script.script.commands.iter().any(|c| {
        c.range.start > inv.command.range.start
            && inv.manager.state_dirs().any(|d| runs::removes_dir(c, d))
    });
    // with no stored index, a later install that reads it would fail or pick other versions
    if cleaned || (inv.manager.index.is_some() && runs.index_needed_later(pos, inv.manager)) {
        return None;
    }
    let version = tool_versions::tool_version(runs, pos, inv.manager.name, inv.command.range.start);
    if matches!(version, Version::Old(_)) && nc.tier == Tier::Unsafe {
        // already unsafe for other reasons; on the old tool the flag fails the build
        return None;
    }
    let word = inv.sub?;
    let mut edits = vec![super::layout::insert_words(
        file,
        run.ins,
        script.to_source(word.range).end,
        &format!(" {}", nc.flag),
    )];
    let mut tier = Applicability::from(nc.tier);
    let mut message = format!(
        "do not keep the {} cache: add `{}`",
        inv.manager.name, nc.flag
    );
    if nc.tier == Tier::Unsafe && nc.may_change.is_some() {
        message.push_str(" (");
        message.push_str(nc.may_change.unwrap_or_default());
        message.push(')');
    }
    let refresh = refresh_before(&script.script, invocations, at);
    if let Some(update) = refresh {
        // `apk update && apk add --no-cache`: the update only stores an index nothing reads
        // any more; without it the layer has no index, and the versions are the same
        edits.push(Edit::delete(script.to_source(update)));
        tier = Applicability::Safe;
        message = format!(
            "do not keep the {} index: add `{}` and drop the refresh before it, which that \
             flag does itself",
            inv.manager.name, nc.flag
        );
    }
    match version {
        Version::New => {}
        Version::Old(why) => {
            tier = Applicability::Unsafe;
            message.push_str("; unsafe: ");
            message.push_str(&why);
        }
        Version::Unknown(why) => {
            message.push_str("; ");
            message.push_str(&why);
        }
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
