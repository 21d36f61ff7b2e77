//! The split-stages pass: one module per language, the shared shape checks and the edits here.

use super::{FixAvailability, PassContext};
use crate::semantic::images::{self, ImageFacts};
use crate::semantic::{Base, Effect, ExecSpec, ImageRef, Model, StageModel, Step};
use crate::syntax::{Dockerfile, Keyword};
use crate::text::{Applicability, Edit, Fix};
use std::fmt::Write as _;

mod c;
mod go;
mod libcopy;
mod names;
mod node;
mod python;
mod python_dlopen;

super::declare_pass! {
    /// ## What it does
    /// Splits a final stage that builds a program and then runs it into a build stage (the
    /// original instructions up to the last RUN, named `build`) and a runtime stage that holds
    /// only the program (and takes the final stage's name, if it had one, so `--target`
    /// still builds what runs): Go binaries on `gcr.io/distroless/static-debian12` (cgo off) or a
    /// glibc runtime of the builder's Debian release (cgo on), C programs installed with
    /// `make install` or built with `-o` on the builder's `debian:<release>-slim` with the
    /// shared libraries they need (C++ that links only libstdc++ on distroless `cc`); a Go or C
    /// program that links more than glibc, built on the Debian release of distroless `base`
    /// and needing no shell, goes on distroless `base` with its libraries' package files
    /// (and their dependencies') copied from the builder, which assembles them at build
    /// time. Node apps on the same version's `node:<v>-slim` with the app directory copied
    /// from the builder after `npm prune --omit=dev` (or `yarn install --production`) and global
    /// installs run again, Python apps (`python:<v>`, or `-slim` with compilers
    /// installed) on `python:<v>-slim` with the virtual environment the build now installs
    /// into (`/opt/venv`, made first thing and put first on PATH), the application
    /// directory, the packages that are not build tools and the libraries compiled files
    /// link. The runtime config (CMD, ENTRYPOINT, ENV, EXPOSE, WORKDIR,
    /// USER, VOLUME, HEALTHCHECK, STOPSIGNAL, LABEL) is kept: instructions set during the
    /// build are repeated in the runtime stage, later ones stay where they are.
    ///
    /// ## Why
    /// The compiler, the module cache, the sources and the build tools are the bulk of such
    /// an image: a Go service on `golang` is around 800 MB, on distroless a few MB.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM golang:1.22
    /// WORKDIR /app
    /// COPY . .
    /// ENV CGO_ENABLED=0
    /// RUN go build -o /app/server .
    /// EXPOSE 8080
    /// CMD ["/app/server"]
    /// ```
    /// becomes
    /// ```dockerfile
    /// FROM golang:1.22 AS build
    /// WORKDIR /app
    /// COPY . .
    /// ENV CGO_ENABLED=0
    /// RUN go build -o /app/server .
    ///
    /// FROM gcr.io/distroless/static-debian12
    /// WORKDIR /app
    /// ENV CGO_ENABLED=0
    /// COPY --from=build /app/server /app/server
    /// EXPOSE 8080
    /// CMD ["/app/server"]
    /// ```
    ///
    /// ## Fix safety
    /// **Unsafe**: everything the build left outside the program is gone from the image, and
    /// the base image's own environment (PATH, version variables) is the runtime's. The pass
    /// holds back unless it can show what the program needs: the build context must be
    /// readable; the command must run the built program (by absolute path, by a path under
    /// WORKDIR, or by name from PATH, in which case it is also copied to `/usr/local/bin`);
    /// no Go file may read a fixed path at run time (`os.Open("…")`, `template.ParseFiles`,
    /// `http.Dir`) — `go:embed` is fine; cgo is off only when the file says so or no Go file
    /// in the context imports `"C"` and every dependency is vendored or there are none (then
    /// `ENV CGO_ENABLED=0` is set for the build); a shell-form command needs a runtime with a
    /// shell and a HEALTHCHECK that runs `curl` or `wget` holds the pass back; a named USER
    /// must exist in the runtime; ONBUILD, SHELL, a RUN after the build, a COPY or ADD during
    /// the build outside the source directory, ENV and LABEL values that expand variables,
    /// and sources the build fetches (`git clone`, `go generate`, ADD of a URL) hold it back.
    /// For C the shared libraries are found at build time (`ldd` over the installed files,
    /// `dpkg-query --search`), and packages installed that are not build tools are installed
    /// in the runtime too. The copy into distroless `base` (which has no shell and no package
    /// manager) is chosen only for the same Debian release, an exec-form command, no
    /// HEALTHCHECK, no kept package, and sources (all readable: for Go, no module fetched)
    /// that run no other program (`exec.Command`, `system`, `popen`, `exec*`); the builder
    /// takes the packages' `Pre-Depends`/`Depends` closure less the runtime's own packages
    /// (image data), and the build stops when a dependency is virtual or a package's
    /// `postinst` does more than run `ldconfig`. Libraries that no package owns (built
    /// from source outside the copied files) are not found. For Node the pass reads every `package.json` of the context and
    /// holds back when the start command (or the npm script it runs) needs a dev dependency
    /// (`nodemon`, `node -r ts-node/register`), when a package has an install lifecycle
    /// script (generated code a prune may lose), when a build script runs anything but a known
    /// build tool whose arguments and config files name only paths inside the app (so the
    /// build writes only there), when a builder RUN or COPY touches anything outside the app
    /// directory (apt packages other than native-module build tools included), for Yarn 2+,
    /// pnpm, a USER or `--chown` during the build, and for moving tags (`node:latest`).
    /// For Python the build may only copy into the WORKDIR (the application directory, not
    /// `/`), install with apt and pip (`--user` for every install or none; no `--prefix` or
    /// `--target`; nothing that moves PATH or pip's target), and create or remove files in
    /// the application directory; the command runs the interpreter through PATH or a script
    /// pip installed (checked in the build stage: the build fails if it is not there); a
    /// HEALTHCHECK's tools must be installed packages; a digest-pinned base holds it back.
    /// A stage with no CMD or ENTRYPOINT (a base for other builds, or run with any command)
    /// is not split. When manifests-first moves the source COPY after the installs, the split
    /// waits for it, so the sources land in the runtime stage and a source change re-runs no
    /// install.
    /// Libraries loaded at run time without being linked (`ctypes`, `dlopen`) are not found by
    /// that walk: a `.py` file of the context that names them holds the split back (without a
    /// context this is not seen).
    pub(crate) static SPLIT_STAGES = {
        name: "split-stages",
        summary: "Splits a final stage that builds a Go, C or Node program (or installs a Python app) into a build stage and a runtime stage holding only what runs",
        fix: FixAvailability::Sometimes,
        may: [adds_stage, changes_package_set],
        run: run,
        tier: Unsafe,
    };
}

fn run(ctx: &PassContext<'_>) -> Vec<Fix> {
    // non-root-user asks for the same fixes (to wait for a split): found once per round
    if !ctx.settings.runs(super::non_root_user::NON_ROOT_USER.name) {
        return split(ctx);
    }
    ctx.runs().split.get_or_init(|| split(ctx)).clone()
}

fn split(ctx: &PassContext<'_>) -> Vec<Fix> {
    let model = ctx.model();
    let Some(stage) = model.last() else {
        return Vec::new();
    };
    let Base::Image(image) = &stage.base else {
        return Vec::new();
    };
    let Some(facts) = images::facts(&image.repository) else {
        return Vec::new();
    };
    let plan = match facts.language.as_str() {
        "go" => go::plan(ctx, model, stage, image, facts),
        "c" => c::plan(ctx, model, stage, image, facts),
        "node" => node::plan(ctx, model, stage, image, facts),
        "python" => python::plan(ctx, model, stage, image, facts),
        _ => None,
    };
    plan.and_then(|p| emit(ctx, model, stage, &p))
        .into_iter()
        .collect()
}

/// Whether the split waits this round for another pass's edit of the final stage (Python:
/// manifests-first moving the sources): a pass that waits for the split waits for this too.
pub(crate) fn waits(ctx: &PassContext<'_>) -> bool {
    let model = ctx.model();
    let Some(stage) = model.last() else {
        return false;
    };
    let Base::Image(image) = &stage.base else {
        return false;
    };
    images::facts(&image.repository)
        .is_some_and(|f| f.language == "python" && python::waits(ctx, model, stage, image, f))
}

/// What a language module decided.
pub(super) struct Plan {
    /// The runtime image reference.
    runtime: String,
    /// Text inserted before the first build RUN (in the builder).
    before_build: Option<(usize, String)>,
    /// RUNs appended to the builder after the split point.
    builder_tail: Vec<String>,
    /// Lines of the runtime stage after its FROM and the repeated config: `COPY --from`
    /// (with `{build}` for the builder's name) and RUNs.
    runtime_lines: Vec<String>,
    /// Why, for the message.
    reason: String,
}

/// Checks the parts every language shares; `None` when the stage cannot be split.
/// Returns the index (in `stage.steps`) of the last RUN, where the builder ends.
/// `tools`: programs the runtime stage installs (packages kept from the build).
pub(super) fn shape(
    source: &str,
    stage: &StageModel<'_>,
    builder: &ImageFacts,
    runtime: &ImageFacts,
    tools: &[String],
    model: &Model<'_>,
) -> Option<usize> {
    // the last stage: nothing later reads it
    if model.is_used_later(stage.index) {
        return None;
    }
    // without a WORKDIR of its own the program starts in the image's; the runtime's must match
    if stage.runtime.workdir.is_none() && builder.workdir != runtime.workdir {
        return None;
    }
    let steps = stage.steps.as_slice();
    let split = steps
        .iter()
        .rposition(|s| s.instruction.kind == Keyword::Run)?;
    for (i, step) in steps.iter().enumerate() {
        let ins = step.instruction;
        match ins.kind {
            Keyword::Onbuild | Keyword::Shell | Keyword::Unknown => return None,
            Keyword::Add
                if ins
                    .paths(source)
                    .iter()
                    .any(|p| p.contains("://") || p.starts_with("git@")) =>
            {
                return None;
            }
            Keyword::Copy | Keyword::Add if i > split => {
                // files copied into the runtime: owners must exist there
                if let Some(owner) = ins.flag_value("chown")
                    && !owner_exists(owner, runtime)
                {
                    return None;
                }
                if ins.flag_value("from").is_some() && !ins.heredocs().is_empty() {
                    return None;
                }
            }
            Keyword::User
                if !runtime.has_user(ins.value(source).first().copied().unwrap_or_default()) =>
            {
                return None;
            }
            Keyword::Env | Keyword::Label | Keyword::Expose | Keyword::Volume
                if i <= split && ins.value(source).iter().any(|v| v.contains('$')) =>
            {
                return None;
            }
            Keyword::Healthcheck => {
                let hc = stage.runtime.healthcheck.as_ref()?;
                match &hc.test {
                    None => {}
                    Some(ExecSpec::Shell(_)) if !runtime.shell => return None,
                    Some(spec) => {
                        let argv = spec_words(spec);
                        // a probe tool the runtime lacks: the check would fail there
                        let lacks =
                            |base: &str| !runtime.tools.iter().chain(tools).any(|t| t == base);
                        if argv.iter().any(|w| {
                            let base = w.rsplit('/').next().unwrap_or(w);
                            (matches!(base, "curl" | "wget" | "nc") && lacks(base))
                                || (matches!(base, "sh" | "bash") && !runtime.shell)
                        }) {
                            return None;
                        }
                    }
                }
            }
            _ => {}
        }
    }
    for spec in [&stage.runtime.cmd, &stage.runtime.entrypoint]
        .into_iter()
        .flatten()
    {
        if matches!(spec, ExecSpec::Shell(_)) && !runtime.shell {
            return None;
        }
    }
    Some(split)
}

fn owner_exists(owner: &str, runtime: &ImageFacts) -> bool {
    let user = owner.split(':').next().unwrap_or(owner);
    user.chars().all(|c| c.is_ascii_digit()) || runtime.has_user(user)
}

/// The words of a command: the argv, or a shell text split at blanks.
pub(super) fn spec_words(spec: &ExecSpec) -> Vec<String> {
    match spec {
        ExecSpec::Exec(argv) => argv.clone(),
        ExecSpec::Shell(text) => text.split_whitespace().map(str::to_owned).collect(),
    }
}

/// The program the image runs: ENTRYPOINT's first word, else CMD's. `None` when neither is
/// set by the file, or a shell-form command is more than words.
pub(super) fn program(stage: &StageModel<'_>) -> Option<String> {
    let spec = stage
        .runtime
        .entrypoint
        .as_ref()
        .or(stage.runtime.cmd.as_ref())?;
    if let ExecSpec::Shell(text) = spec
        && !text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " /._-=:".contains(c))
    {
        return None;
    }
    spec_words(spec).into_iter().next()
}

/// How the runtime finds the program at `binary` that the command names `word`: the paths
/// to copy it to (its own, plus `/usr/local/bin/NAME` when it was found through a PATH
/// directory the runtime lacks). `None` when `word` does not name `binary`.
pub(super) fn program_targets(
    word: &str,
    binary: &str,
    workdir: Option<&str>,
    builder_path: &[String],
) -> Option<Vec<String>> {
    let split = images::split();
    if word.contains('/') {
        let resolved = crate::semantic::join(workdir, word)?;
        return (resolved == binary).then(|| vec![binary.to_owned()]);
    }
    let (dir, name) = binary.rsplit_once('/')?;
    if name != word {
        return None;
    }
    // found through PATH in the original: the first directory holding the name must be
    // the binary's (the builder image's PATH dirs, then the system ones)
    let on_path = builder_path
        .iter()
        .chain(split.system_path.iter())
        .any(|d| d == dir);
    if !on_path {
        return None;
    }
    if split.system_path.iter().any(|d| d == dir) {
        Some(vec![binary.to_owned()])
    } else {
        Some(vec![binary.to_owned(), format!("/usr/local/bin/{name}")])
    }
}

/// The edits: name the builder (the final stage's own name moves to the runtime stage),
/// insert what the plan adds to it, then the runtime stage's FROM, the repeated config and
/// the plan's lines after the last RUN.
fn emit(
    ctx: &PassContext<'_>,
    model: &Model<'_>,
    stage: &StageModel<'_>,
    plan: &Plan,
) -> Option<Fix> {
    let file: &Dockerfile = ctx.file;
    let newline = if file.source.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let steps = &stage.steps;
    let split = steps
        .iter()
        .rposition(|s| s.instruction.kind == Keyword::Run)?;
    let (name, mut edits, runtime_name) = names::builder_name(file, model, stage)?;
    if let Some((at, text)) = &plan.before_build {
        let ins = steps[*at].instruction;
        edits.push(Edit::insert(ins.range.start, format!("{text}{newline}")));
    }
    let mut text = String::new();
    let split_ins = steps[split].instruction;
    // an instruction's range ends after its line break, except at the end of a file
    // without a final newline
    let ends_with_newline = file.slice(split_ins.range).ends_with('\n');
    if !ends_with_newline {
        text.push_str(newline);
    }
    // generated RUNs mark where a long line continues: `{break}` becomes the file's escape
    // character, its line break and an indent, so no added line runs past 120 characters
    let breaks = |line: &str| line.replace("{break}", &format!(" {}{newline}    ", file.escape));
    for line in &plan.builder_tail {
        text.push_str(&breaks(line));
        text.push_str(newline);
    }
    text.push_str(newline);
    let _ = write!(text, "FROM {}", plan.runtime);
    if let Some(own) = &runtime_name {
        let _ = write!(text, " AS {own}");
    }
    text.push_str(newline);
    // WORKDIR first: later relative paths resolve against it
    if let Some(wd) = steps[split].workdir().filter(|_| {
        steps[..=split]
            .iter()
            .any(|s| s.instruction.kind == Keyword::Workdir)
    }) {
        let _ = write!(text, "WORKDIR {wd}{newline}");
    }
    for step in &steps[..=split] {
        let ins = step.instruction;
        if matches!(
            ins.kind,
            Keyword::Env
                | Keyword::Label
                | Keyword::Expose
                | Keyword::Volume
                | Keyword::Stopsignal
                | Keyword::Healthcheck
                | Keyword::Cmd
                | Keyword::Entrypoint
                | Keyword::User
                | Keyword::Maintainer
        ) {
            let body = file.slice(ins.range).trim_end_matches(['\r', '\n']);
            text.push_str(body);
            text.push_str(newline);
        }
    }
    for line in &plan.runtime_lines {
        text.push_str(&breaks(&line.replace("{build}", &name)));
        text.push_str(newline);
    }
    if !ends_with_newline {
        // the file ended after the split RUN without a line break; keep it that way
        if text.ends_with(newline) {
            text.truncate(text.len() - newline.len());
        }
    }
    edits.push(Edit::insert(split_ins.range.end, text));
    let message = format!(
        "split into a build stage `{name}` and a runtime stage on {}: {}",
        plan.runtime, plan.reason
    );
    ctx.fix(SPLIT_STAGES.name, Applicability::Unsafe, message, edits)
}

/// The builder's PATH directories as the file leaves them: the image data's, unless the
/// file sets PATH (then `None`: not known).
pub(super) fn builder_path(stage: &StageModel<'_>, facts: &ImageFacts) -> Option<Vec<String>> {
    if stage.scope.env.contains_key("PATH") {
        return None;
    }
    Some(facts.path.clone())
}

/// Every file of the build context, as paths relative to its root (at most `limit`; `None`
/// beyond that or when the context cannot be listed).
pub(super) fn context_files(
    ctx: &PassContext<'_>,
    limit: usize,
) -> Option<std::sync::Arc<Vec<String>>> {
    context_files_except(ctx, limit, &[])
}

/// The walks [`context_files_except`] made of one context, by limit and skipped names: a
/// directory run shares the context between its Dockerfiles, and every round of every one
/// of them asks again.
#[derive(Default)]
struct ContextWalks(std::sync::Mutex<std::collections::HashMap<WalkKey, Walked>>);

/// The limit and the skipped names of a walk.
type WalkKey = (usize, &'static [&'static str]);
type Walked = Option<std::sync::Arc<Vec<String>>>;

/// [`context_files`] without descending into directories named in `skip` (`node_modules`).
pub(super) fn context_files_except(
    ctx: &PassContext<'_>,
    limit: usize,
    skip: &'static [&'static str],
) -> Option<std::sync::Arc<Vec<String>>> {
    let context = ctx.settings.context.as_deref()?;
    let walks = crate::context::shared(context, ContextWalks::default);
    let known = |walks: &ContextWalks| {
        let map = walks
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(&(limit, skip)).cloned()
    };
    if let Some(found) = known(&walks) {
        return found;
    }
    // walked outside the lock: two workers may both walk, and find the same
    let walked = walk_context(context, limit, skip).map(std::sync::Arc::new);
    walks
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert((limit, skip), walked.clone());
    walked
}

fn walk_context(
    context: &dyn crate::BuildContext,
    limit: usize,
    skip: &[&str],
) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut dirs = vec![String::new()];
    while let Some(dir) = dirs.pop() {
        for (name, kind) in context.list(&dir)?.iter() {
            let path = if dir.is_empty() {
                name.to_owned()
            } else {
                format!("{dir}/{name}")
            };
            match kind {
                crate::EntryKind::Directory
                    if path != ".git"
                        && !skip.iter().any(|d| path.rsplit('/').next() == Some(d)) =>
                {
                    dirs.push(path);
                }
                crate::EntryKind::File => out.push(path),
                // a link may point anywhere in the context: cannot be read as source here
                _ => {}
            }
            if out.len() > limit {
                return None;
            }
        }
    }
    Some(out)
}

/// Whether a RUN of the builder part fetches or generates sources the context does not show.
pub(super) fn fetches_sources(steps: &[Step<'_>]) -> bool {
    steps.iter().any(|s| match &s.effect {
        Effect::Run(r) => r.commands.as_ref().is_none_or(|cmds| {
            cmds.iter().any(|c| {
                let args: Vec<&str> = c
                    .argv
                    .iter()
                    .skip(1)
                    .flatten()
                    .map(String::as_str)
                    .collect();
                matches!(
                    (c.program(), args.as_slice()),
                    (Some("git"), ["clone" | "pull" | "fetch" | "submodule", ..])
                        | (Some("go"), ["generate" | "get", ..])
                        | (Some("curl" | "wget"), _)
                )
            })
        }),
        _ => false,
    })
}

/// Whether a COPY/ADD of the whole build context (`.`) puts it in `dir`.
pub(super) fn copies_context_to(stage: &StageModel<'_>, dir: &str) -> bool {
    stage.steps.iter().any(|s| match &s.effect {
        Effect::Copy(c) => {
            c.from.is_none()
                && c.sources.iter().all(|src| src == "." || src == "./")
                && c.dest
                    .as_deref()
                    .and_then(|d| crate::semantic::join(Some("/"), d))
                    .is_some_and(|d| d == dir)
        }
        _ => false,
    })
}

/// The image reference of the runtime for a release: `debian:<release>-slim`.
pub(super) fn debian_slim(release: &str) -> Option<String> {
    let split = images::split();
    let facts = images::facts(&split.debian)?;
    Some(format!("{}:{}", split.debian, facts.slim_tag(release)?))
}

/// The facts of a runtime reference (by repository).
pub(super) fn runtime_facts(reference: &str) -> Option<&'static ImageFacts> {
    images::facts(&ImageRef::parse(reference).repository)
}
