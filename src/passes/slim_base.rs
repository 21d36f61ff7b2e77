use super::runs::Runs;
use super::{FixAvailability, PassContext};
use crate::managers::Action;
use crate::semantic::images;
use crate::semantic::{Base, Effect, ExecSpec, Model, StageModel};
use crate::text::{Applicability, Edit, Fix};

super::declare_pass! {
    /// ## What it does
    /// Moves a stage that builds nothing onto the slim variant of its base:
    /// `debian:<release>` → `debian:<release>-slim`, `python:<version>` →
    /// `python:<version>-slim`, `node:<version>` → `node:<version>-slim` (tag families from
    /// `transforms/images.toml`; `ubuntu` has no slim tag and stays).
    ///
    /// ## Why
    /// The full language images carry compilers, headers and version-control tools for
    /// building; a stage that only runs code pays for them in every pull (python:3.11 is
    /// about five times python:3.11-slim).
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM python:3.11
    /// COPY app.py /app/app.py
    /// CMD ["python", "/app/app.py"]
    /// ```
    /// becomes
    /// ```dockerfile
    /// FROM python:3.11-slim
    /// COPY app.py /app/app.py
    /// CMD ["python", "/app/app.py"]
    /// ```
    ///
    /// ## Fix safety
    /// **Unsafe**: the slim variant lacks packages the full one has (compilers, `-dev`
    /// headers, `curl`, `git`, many shared libraries), and code that loads one at run time
    /// fails. The pass only moves a stage (and the stages built on it) in which the semantic
    /// model records no build step (`go build`, `make`, `pip install`, `npm run build`, a
    /// compiler), nothing installs packages with pip, npm, yarn or pnpm (native builds cannot
    /// be ruled out), no apt package is a compiler or `-dev` package, and no RUN or start
    /// command uses a tool the full image has beyond a minimal Debian. This is also the
    /// rule that keeps it off the stages `split-stages` takes: that pass only splits stages
    /// with a build step. A base pinned by digest, named through a variable, or without a
    /// tag stays.
    pub(crate) static SLIM_BASE = {
        name: "slim-base",
        summary: "Moves a stage that builds nothing from a full Debian, python or node image onto its slim variant",
        fix: FixAvailability::Sometimes,
        may: [changes_base, changes_package_set],
        run: run,
        tier: Unsafe,
    };
}

/// Installers whose packages may build native code.
const NATIVE_INSTALLERS: &[&str] = &["pip", "npm", "yarn", "pnpm", "gem", "composer"];

fn run(ctx: &PassContext<'_>) -> Vec<Fix> {
    let model = ctx.model();
    // the stages built directly on each stage, so that a stage's family is found from it
    // down rather than by asking every stage of the file: (parent, child) by parent, a pair
    // per stage built on a stage (not a list per stage: a large file has tens of thousands)
    let mut children = Vec::new();
    for s in 0..model.len() {
        if let Some(&Base::Stage(i)) = model.base(s)
            && i < s
        {
            children.push((i, s));
        }
    }
    // stable: each stage's children stay in file order
    children.sort_by_key(|&(parent, _)| parent);
    // the slim variant per repository and tag: stages often share a base
    let mut slim_tags = std::collections::HashMap::new();
    (0..model.len())
        .filter_map(|stage| fix_for(ctx, model, (&children, &mut slim_tags), stage))
        .collect()
}

/// Slim variants already found, by repository and tag.
type SlimTags<'m> = std::collections::HashMap<(&'m str, &'m str), Option<String>>;

fn fix_for<'m>(
    ctx: &PassContext<'_>,
    model: &'m Model<'_>,
    (children, slim_tags): (&[(usize, usize)], &mut SlimTags<'m>),
    stage: usize,
) -> Option<Fix> {
    let Some(Base::Image(image)) = model.base(stage) else {
        return None;
    };
    if image.digest.is_some() {
        return None;
    }
    let tag = image.tag.as_deref()?;
    let facts = images::facts(&image.repository)?;
    let slim = slim_tags
        .entry((image.repository.as_str(), tag))
        .or_insert_with(|| facts.slim_tag(tag))
        .clone()?;
    let from = model.from(stage)?;
    let word = from.words.first()?;
    // only a base written out, not through a variable
    let text = from.word_text(0, &ctx.file.source);
    if text != image.reference {
        return None;
    }
    let (repo, _) = text.rsplit_once(':')?;
    // this stage and every stage built on it run nothing that needs the full image
    let mut family: Vec<usize> = vec![stage];
    let mut at = 0;
    while let Some(&next) = family.get(at) {
        let first = children.partition_point(|&(parent, _)| parent < next);
        let end = children.partition_point(|&(parent, _)| parent <= next);
        family.extend(children[first..end].iter().map(|&(_, child)| child));
        at += 1;
    }
    // what the round's RUNs already show first: most stages that need the full image say so
    // there, and building a stage's model (every step's effects) costs far more; then each
    // stage built for the question only: this walk does not hold the whole file's model
    if family.iter().any(|&i| needs_full_by_runs(ctx.runs(), i))
        || family
            .iter()
            .any(|&i| model.with_stage(i, |s| needs_full(s, &facts.tools)) == Some(true))
    {
        return None;
    }
    Fix::new(
        SLIM_BASE.name,
        Applicability::Unsafe,
        format!(
            "use {repo}:{slim}: the stage builds and compiles nothing, so the full image's compilers and tools are dead weight"
        ),
        vec![Edit::replace(word.range, format!("{repo}:{slim}"))],
    )
    .ok()
}

/// Whether a RUN of `stage` shows what [`needs_full`] would find in the stage's model: a body
/// the shell cannot read, or an install with a [`NATIVE_INSTALLERS`] manager. The model's
/// steps read the same parse (the round's script cache, the same POSIX shells and stages), and
/// an install there is exactly an invocation with a subcommand whose action is Install, so
/// `true` here is `true` there; `false` says nothing.
fn needs_full_by_runs(runs: &Runs<'_>, stage: usize) -> bool {
    let Some(range) = runs.stage_runs(stage) else {
        return false;
    };
    runs.all[range].iter().any(|run| {
        if run.ins.is_json() {
            return false;
        }
        if run.script.is_err() {
            return true;
        }
        run.invocations().iter().any(|inv| {
            inv.sub.is_some()
                && inv.action() == Some(Action::Install)
                && NATIVE_INSTALLERS
                    .iter()
                    .any(|m| inv.manager.name.starts_with(m))
        })
    })
}

/// Whether a stage builds, installs what may compile, or uses a tool only the full image has.
fn needs_full(stage: &StageModel<'_>, tools: &[String]) -> bool {
    let uses_tool = |program: &str| tools.iter().any(|t| t == program);
    for step in &stage.steps {
        let Effect::Run(run) = &step.effect else {
            continue;
        };
        let Some(commands) = &run.commands else {
            // a RUN the model cannot read may do anything
            return true;
        };
        if !run.builds.is_empty() {
            return true;
        }
        for install in &run.installs {
            if NATIVE_INSTALLERS
                .iter()
                .any(|m| install.manager.starts_with(m))
                || !install.complete
                || install.packages.iter().any(|p| compiles(p))
            {
                return true;
            }
        }
        if commands.iter().any(|c| {
            c.argv.first().is_some_and(Option::is_none) || c.program().is_some_and(uses_tool)
        }) {
            return true;
        }
    }
    let runtime = &stage.runtime;
    let health = runtime.healthcheck.as_ref().and_then(|h| h.test.as_ref());
    [runtime.cmd.as_ref(), runtime.entrypoint.as_ref(), health]
        .into_iter()
        .flatten()
        .any(|spec| {
            let words: Vec<&str> = match spec {
                ExecSpec::Exec(argv) => argv.iter().map(String::as_str).collect(),
                ExecSpec::Shell(text) => text.split_whitespace().collect(),
            };
            words
                .iter()
                .any(|w| uses_tool(w.rsplit('/').next().unwrap_or(w)))
        })
}

/// An apt/apk/dnf package that brings a compiler or headers.
fn compiles(package: &str) -> bool {
    let p = package.to_ascii_lowercase();
    p.ends_with("-dev")
        || p.ends_with("-devel")
        || p.contains("-dev=")
        || matches!(
            p.as_str(),
            "gcc"
                | "g++"
                | "make"
                | "build-essential"
                | "clang"
                | "cmake"
                | "cargo"
                | "rustc"
                | "golang"
                | "build-base"
                | "musl-dev"
                | "autoconf"
                | "automake"
                | "libtool"
        )
}
