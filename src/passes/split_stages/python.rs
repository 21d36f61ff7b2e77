//! Python: the `python:<v>` full image (or a `-slim` stage that installs compilers or headers
//! before `pip install`) becomes a build stage that installs into a virtual environment and a
//! `python:<v>-slim` runtime with the environment, the application directory, the system
//! packages that are not build tools and the shared libraries compiled files link (found at
//! build time, as for C). `pip install --user` keeps its place (`/root/.local`) instead.

use std::sync::LazyLock;

use serde::Deserialize;

use super::{PassContext, Plan, program, shape, spec_words};
use crate::semantic::images::{self, ImageFacts};
use crate::semantic::{BuildKind, Effect, ImageRef, Model, RunCommand, StageModel};
use crate::syntax::Keyword;
use crate::text::Applicability;

/// `transforms/split_python.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PythonSplit {
    venv: String,
    venv_since: String,
    user_base: String,
    slim_tools: Vec<String>,
    interpreters: Vec<String>,
    pip_elsewhere: Vec<String>,
    moved_by: Vec<String>,
    scratch_dirs: Vec<String>,
    apt_commands: Vec<String>,
}

pub(crate) fn load() -> Result<PythonSplit, String> {
    crate::transforms::table("split_python")
}

static DATA: LazyLock<PythonSplit> =
    LazyLock::new(|| load().expect("transforms/split_python.toml is checked by the test suite"));

/// A build command the split can account for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Accepted {
    /// A pip install, and where it puts packages.
    Pip(Target),
    /// Anything else that leaves nothing the runtime needs outside the app directory.
    Other,
}

/// Where pip installs go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// The image's environment (`/usr/local`): moved into the venv.
    System,
    /// `--user`: root's user base, copied as it is.
    User,
}

pub(super) fn plan(
    ctx: &PassContext<'_>,
    model: &Model<'_>,
    stage: &StageModel<'_>,
    image: &ImageRef,
    facts: &ImageFacts,
) -> Option<Plan> {
    let plan = build(ctx, model, stage, image, facts)?;
    (!manifests_first_moves(ctx, stage)).then_some(plan)
}

/// Whether the split would apply but waits a round for manifests-first.
pub(super) fn waits(
    ctx: &PassContext<'_>,
    model: &Model<'_>,
    stage: &StageModel<'_>,
    image: &ImageRef,
    facts: &ImageFacts,
) -> bool {
    build(ctx, model, stage, image, facts).is_some() && manifests_first_moves(ctx, stage)
}

fn build(
    ctx: &PassContext<'_>,
    model: &Model<'_>,
    stage: &StageModel<'_>,
    image: &ImageRef,
    facts: &ImageFacts,
) -> Option<Plan> {
    let data = &*DATA;
    let split = images::split();
    let tag_text = image.tag_or_latest();
    let tag = facts.read_tag(tag_text)?;
    // a digest pins the builder; the slim counterpart's digest is not known
    if tag.other_os || !tag.unknown.is_empty() || image.digest.is_some() {
        return None;
    }
    let interpreter = facts.interpreter.as_deref()?;
    // a FROM written with a variable: the runtime written here would not follow a
    // --build-arg, and a venv needs the same interpreter in both stages
    if ctx.file.slice(stage.from.range).contains('$') {
        return None;
    }
    // a version the venv module does not exist in (Python 2) can only keep --user installs;
    // a tag naming only the major version (`3`) is compared on that
    let has_venv = tag.version.as_deref().is_none_or(|v| {
        let parts = v.split('.').count();
        let since: Vec<&str> = data.venv_since.split('.').take(parts).collect();
        !v.starts_with(|c: char| c.is_ascii_digit()) || !images::version_before(v, &since.join("."))
    });
    let runtime = if tag.slim {
        image.reference.clone()
    } else {
        format!(
            "{}:{}",
            super::c::image_name(image),
            facts.slim_tag(tag_text)?
        )
    };
    let steps = stage.steps.as_slice();
    let split_at = steps
        .iter()
        .rposition(|s| s.instruction.kind == Keyword::Run)?;
    let build_part = &steps[..=split_at];

    // the application directory: the WORKDIR the file sets before the split (none: the
    // build may put no file of its own anywhere, only install)
    let app = if build_part
        .iter()
        .any(|s| s.instruction.kind == Keyword::Workdir)
    {
        Some(steps[split_at].workdir()?.to_owned()).filter(|w| w != "/")
    } else {
        None
    };
    if let Some(app) = &app
        && (under(&data.venv, app)
            || under(app, &data.venv)
            || under(&data.user_base, app)
            || under(app, &data.user_base))
    {
        return None;
    }
    // where pip and Python install and look must be the image's own during the build; a
    // later PATH must keep the one the runtime stage sets (the venv's scripts are on it)
    let sets = |s: &crate::semantic::Step<'_>| -> Vec<String> {
        match s.instruction.kind {
            Keyword::Env => s
                .instruction
                .value(&ctx.file.source)
                .chunks(2)
                .map(|p| p[0].to_owned())
                .collect(),
            Keyword::Arg => s
                .instruction
                .value(&ctx.file.source)
                .iter()
                .map(|w| w.split('=').next().unwrap_or(w).to_owned())
                .collect(),
            _ => Vec::new(),
        }
    };
    if build_part
        .iter()
        .flat_map(sets)
        .any(|name| data.moved_by.contains(&name))
    {
        return None;
    }
    if steps[split_at + 1..].iter().any(|s| {
        s.instruction.kind == Keyword::Env
            && s.instruction.value(&ctx.file.source).chunks(2).any(|p| {
                p[0] == "PATH"
                    && !p
                        .get(1)
                        .is_some_and(|v| v.contains("$PATH") || v.contains("${PATH}"))
            })
    }) {
        return None;
    }
    // ARGs end with the build stage: a later instruction must not expand one
    let declares_arg = build_part
        .iter()
        .any(|s| s.instruction.kind == Keyword::Arg);
    if declares_arg
        && steps[split_at + 1..].iter().any(|s| {
            s.instruction
                .value(&ctx.file.source)
                .iter()
                .any(|v| v.contains('$'))
        })
    {
        return None;
    }

    // what the build part does: files only into the app directory, RUNs we can account for
    let mut keep: Vec<String> = Vec::new();
    // kept packages installed with their recommended packages (the runtime does the same)
    let mut recommends: Vec<String> = Vec::new();
    let mut dropped: Vec<String> = Vec::new();
    let mut target = None;
    let mut installs_app = false;
    for step in build_part {
        // root builds: another user's HOME and file owners would follow it
        if step.user().is_some() {
            return None;
        }
        match &step.effect {
            Effect::Copy(c) => {
                let dest = c.dest.as_deref()?;
                // a file from another stage or image: already split, or more than the app
                if c.from.is_some()
                    || !app
                        .as_deref()
                        .is_some_and(|a| under(dest.trim_end_matches('/'), a))
                    || c.flags.iter().any(|f| f.starts_with("--chown"))
                {
                    return None;
                }
            }
            Effect::Run(run) => {
                let commands = run.commands.as_ref()?;
                for install in &run.installs {
                    match install.manager.as_str() {
                        "apt-get" | "apt" if install.complete => {
                            for p in &install.packages {
                                let list = if split.is_build_package(p) {
                                    &mut dropped
                                } else {
                                    &mut keep
                                };
                                if !list.contains(p) {
                                    list.push(p.clone());
                                }
                            }
                        }
                        "pip" => {}
                        _ => return None,
                    }
                }
                for c in commands {
                    let t = command_ok(c, app.as_deref(), &mut keep, &mut recommends)?;
                    // --user and system installs mixed: two places to carry
                    if let Accepted::Pip(t) = t
                        && *target.get_or_insert(t) != t
                    {
                        return None;
                    }
                }
                for build in &run.builds {
                    if build.kind != BuildKind::PipInstall {
                        return None;
                    }
                    // pip itself, setuptools and wheel alone install no application
                    installs_app |= build
                        .targets
                        .iter()
                        .any(|t| !matches!(t.as_str(), "pip" | "setuptools" | "wheel"));
                }
            }
            Effect::None => {}
        }
    }
    let target = target?;
    if target == Target::System && !has_venv {
        return None;
    }
    if !installs_app {
        return None;
    }
    // on a slim image there is nothing to gain unless the build installs build tools
    if tag.slim && dropped.is_empty() {
        return None;
    }

    // the probe tools a HEALTHCHECK runs must be in the runtime: kept packages only, the slim
    // image has none of the full image's
    if let Some(spec) = stage
        .runtime
        .healthcheck
        .as_ref()
        .and_then(|h| h.test.as_ref())
    {
        let words = spec_words(spec);
        let first = words.first().map(|w| w.rsplit('/').next().unwrap_or(w));
        let has = |tool: &str| data.slim_tools.iter().chain(&keep).any(|t| t == tool);
        if words.iter().any(|w| {
            let base = w.rsplit('/').next().unwrap_or(w);
            matches!(base, "curl" | "wget" | "nc") && !has(base)
        }) {
            return None;
        }
        match first {
            Some(p) if is_interpreter(p, data) || has(p) => {}
            _ => return None,
        }
    }

    let bin = match target {
        Target::System => format!("{}/bin", data.venv),
        Target::User => format!("{}/bin", data.user_base),
    };
    // no command of its own: a base for other builds or a toolbox run with any command, which
    // may need the full image's compilers and tools; nothing shows what the runtime needs
    if stage.runtime.entrypoint.is_none() && stage.runtime.cmd.is_none() {
        return None;
    }
    // the program the image runs: the interpreter (through PATH), or a script pip installed
    // (checked in the build stage); a path or a shell would need reading
    let mut guard = None;
    let word = program(stage)?;
    if word.contains('/') {
        return None;
    }
    if !is_interpreter(&word, data) {
        if matches!(word.as_str(), "sh" | "bash" | "dash" | "env" | "exec")
            || keep.iter().any(|k| k == &word)
            || !word
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return None;
        }
        guard = Some(format!(
            "RUN test -x {bin}/{word}{{break}}|| {{ echo '{word} is not in {bin}: the runtime stage would not have it' >&2; exit 1; }}"
        ));
    }
    shape(&ctx.file.source, stage, facts, facts, &keep, model)?;
    // a library loaded by name is not linked: the ldd walk would not bring it
    if !matches!(super::python_dlopen::loads_by_name(ctx), Ok(None)) {
        return None;
    }
    // a shell-form command needs /bin/sh: every python image has it
    debug_assert!(facts.shell);

    let newline = if ctx.file.source.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let (before_build, carried) = match target {
        Target::System => (
            // first thing in the stage: a pass moving the pip RUN in the same round (edits
            // at a boundary do not conflict) cannot leave it behind
            Some((
                0,
                format!(
                    "RUN {interpreter} -m venv {venv}{newline}ENV PATH={venv}/bin:$PATH",
                    venv = data.venv
                ),
            )),
            data.venv.clone(),
        ),
        Target::User => (None, data.user_base.clone()),
    };
    let roots: Vec<String> = std::iter::once(carried.clone())
        .chain(app.clone())
        .collect();
    // kept packages the file installed with recommends are installed so in the runtime; the
    // derived list (libraries, the rest) without, as for C
    let (with_rec, without_rec): (Vec<String>, Vec<String>) =
        keep.iter().cloned().partition(|k| recommends.contains(k));
    let (mut tail, mut lines) = super::c::derive_libraries(&roots, &without_rec);
    if !with_rec.is_empty() {
        lines.insert(
            0,
            format!(
                "RUN apt-get update && apt-get install -y {} && rm -rf /var/lib/apt/lists/*",
                with_rec.join(" ")
            ),
        );
    }
    if let Some(g) = guard {
        tail.insert(0, g);
    }
    lines.push(format!("COPY --from={{build}} {carried} {carried}"));
    if target == Target::System {
        lines.push(format!("ENV PATH={}/bin:$PATH", data.venv));
    }
    // a tag naming no minor version (`3`, `latest`) moves: the two stages' images, pulled at
    // different times, could hold different Pythons, and the packages would be invisible
    if tag.version.as_deref().is_none_or(|v| !v.contains('.')) {
        lines.push(format!(
            "RUN python -c \"import os, sys; v = 'python%d.%d' % sys.version_info[:2];{{break}}\
             sys.exit(0 if os.path.isdir('{carried}/lib/' + v){{break}}\
             else 'the runtime has ' + v + ', not the build stage Python')\""
        ));
    }
    if let Some(app) = &app {
        lines.push(format!("COPY --from={{build}} {app} {app}"));
    }
    let app_text = app
        .as_ref()
        .map_or_else(String::new, |a| format!(", the application directory {a}"));
    let mut reason = match target {
        Target::System => format!(
            "pip installs into the virtual environment {} (on PATH in both stages); it{app_text} \
             and the shared libraries compiled files link (found with ldd and dpkg-query in \
             the build stage) are all the image needs",
            data.venv
        ),
        Target::User => format!(
            "pip installs with --user into {}; it{app_text} and the shared libraries compiled \
             files link (found with ldd and dpkg-query in the build stage) are all the image \
             needs",
            data.user_base
        ),
    };
    if !dropped.is_empty() {
        reason.push_str("; build packages left behind: ");
        reason.push_str(&dropped.join(" "));
    }
    if !keep.is_empty() {
        reason.push_str("; kept packages: ");
        reason.push_str(&keep.join(" "));
    }
    Some(Plan {
        runtime,
        before_build,
        builder_tail: tail,
        runtime_lines: lines,
        reason,
    })
}

/// Whether manifests-first moves a source COPY of this stage in this round. The split then
/// waits one round: the COPY moved after the installs lands in the runtime stage, so a
/// source change re-runs neither the installs nor the ldd walk over the whole venv (the
/// walk would follow the COPY in the build stage otherwise).
fn manifests_first_moves(ctx: &PassContext<'_>, stage: &StageModel<'_>) -> bool {
    let first = &super::super::manifests_first::MANIFESTS_FIRST;
    ctx.settings.threshold <= Applicability::Unsafe
        && ctx.settings.runs(first.name)
        && (first.run)(ctx).iter().any(|f| {
            !ctx.held_back(f)
                && f.edits()
                    .iter()
                    .any(|e| e.range.start >= stage.from.range.start)
        })
}

/// Whether `path` is `dir` or inside it.
fn under(path: &str, dir: &str) -> bool {
    path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/') || dir.ends_with('/'))
}

/// `python`, `python3`, `python3.11`.
fn is_interpreter(word: &str, data: &PythonSplit) -> bool {
    data.interpreters.iter().any(|i| i == word)
        || word
            .strip_prefix("python3.")
            .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()))
}

/// Checks one command of a build RUN: `None` when the runtime could miss what it does.
/// `apt-get purge`/`remove` take their packages off `keep`; `apt-get install` without
/// `--no-install-recommends` adds its packages to `recommends`.
fn command_ok(
    c: &RunCommand,
    app: Option<&str>,
    keep: &mut Vec<String>,
    recommends: &mut Vec<String>,
) -> Option<Accepted> {
    let data = &*DATA;
    let first = c.argv.first()?.as_deref()?;
    let program = c.program()?;
    let args: Vec<Option<&str>> = c.argv.iter().skip(1).map(Option::as_deref).collect();
    let literal: Vec<&str> = args.iter().flatten().copied().collect();
    match program {
        // no effect on the filesystem
        "cd" | "true" | ":" | "[" | "test" => Some(Accepted::Other),
        // apt's own configuration moved aside and back (cache-mounts writes this): the
        // runtime stage has its own
        "mv" if !literal.is_empty()
            && args.iter().all(Option::is_some)
            && literal
                .iter()
                .filter(|a| !a.starts_with('-'))
                .all(|a| a.starts_with("/etc/apt/")) =>
        {
            Some(Accepted::Other)
        }
        "apt-get" | "apt" => {
            let sub = apt_subcommand(&literal)?;
            if !data.apt_commands.iter().any(|a| a == sub) {
                return None;
            }
            if matches!(sub, "purge" | "remove") {
                keep.retain(|k| !literal.contains(&k.as_str()));
            }
            let no_recommends = literal.iter().any(|a| {
                *a == "--no-install-recommends"
                    || a.strip_prefix("APT::Install-Recommends=")
                        .is_some_and(|v| matches!(v, "false" | "0"))
            });
            if sub == "install" && !no_recommends {
                recommends.extend(
                    literal
                        .iter()
                        .filter(|a| !a.starts_with('-') && **a != "install")
                        .map(|a| (*a).to_owned()),
                );
            }
            Some(Accepted::Other)
        }
        "mkdir" | "rm" => {
            // every operand known and inside the app directory (or a cache, for rm)
            if args.iter().any(Option::is_none) {
                return None;
            }
            let mut skip = false;
            for a in &literal {
                if skip {
                    skip = false;
                    continue;
                }
                if a.starts_with('-') {
                    skip = program == "mkdir" && matches!(*a, "-m" | "--mode");
                    continue;
                }
                let path = crate::semantic::join(c.cwd.as_deref(), a)?;
                let in_app = app.is_some_and(|a| under(&path, a));
                let ok = in_app
                    || (program == "rm"
                        && data
                            .scratch_dirs
                            .iter()
                            .any(|d| under(&path, d) && path != *d));
                // removing the app directory itself would leave nothing to copy
                if !ok || (program == "rm" && app == Some(path.as_str())) {
                    return None;
                }
            }
            Some(Accepted::Other)
        }
        _ if first.contains('/') => None,
        p if p.starts_with("pip") => pip_install(&args).map(Accepted::Pip),
        p if p.starts_with("python") => match args.as_slice() {
            [Some("-m"), Some("pip"), rest @ ..] => pip_install(rest).map(Accepted::Pip),
            _ => None,
        },
        _ => None,
    }
}

/// The target of `pip install ARGS` (after the program); `None` for any other pip command, an
/// unknown word, or an option that installs elsewhere.
fn pip_install(args: &[Option<&str>]) -> Option<Target> {
    let data = &*DATA;
    let [Some("install"), rest @ ..] = args else {
        return None;
    };
    let mut target = Target::System;
    for a in rest {
        let a = (*a)?;
        let name = a.split('=').next().unwrap_or(a);
        if data.pip_elsewhere.iter().any(|o| o == name) {
            return None;
        }
        if a == "--user" {
            target = Target::User;
        }
    }
    Some(target)
}

/// The apt subcommand: the first word that is not an option (or an option's value).
fn apt_subcommand<'a>(args: &[&'a str]) -> Option<&'a str> {
    let mut skip = false;
    for a in args {
        if skip {
            skip = false;
            continue;
        }
        if a.starts_with('-') {
            skip = matches!(*a, "-o" | "-t" | "-c" | "--option" | "--target-release");
            continue;
        }
        return Some(a);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_loads() {
        let d = load().unwrap();
        assert!(d.venv.starts_with('/') && d.user_base.starts_with('/'));
        assert!(toml::from_str::<PythonSplit>("venv = 1").is_err());
    }

    #[test]
    fn paths_and_words() {
        assert!(under("/app/data", "/app"));
        assert!(under("/app", "/app"));
        assert!(!under("/application", "/app"));
        let d = load().unwrap();
        assert!(is_interpreter("python3.11", &d));
        assert!(!is_interpreter("python3.x", &d));
        assert!(!is_interpreter("pythonista", &d));
        assert_eq!(d.venv_since, "3.3");
        assert_eq!(
            apt_subcommand(&["-y", "-o", "x=1", "install", "gcc"]),
            Some("install")
        );
        assert_eq!(
            pip_install(&[Some("install"), Some("--user"), Some("x")]),
            Some(Target::User)
        );
        assert_eq!(
            pip_install(&[Some("install"), Some("--prefix=/i"), Some("x")]),
            None
        );
        assert_eq!(pip_install(&[Some("download"), Some("x")]), None);
    }
}
