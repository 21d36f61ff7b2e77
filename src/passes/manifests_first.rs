use super::ignore_rules::{IgnoreRules, Status};
use super::runs::Run;
use super::{FixAvailability, PassContext};
use crate::BuildContext;
use crate::context::ContextEntry;
use crate::managers::{self, Action, ManifestFormat, Manifests};
use crate::shell::{AndOr, Command};
use crate::syntax::{Dockerfile, Instruction, Item, Keyword};
use crate::text::{Applicability, Edit, Fix, TextRange};

super::declare_pass! {
    /// ## What it does
    /// When a stage copies its whole source tree (`COPY . <dir>`) and the dependency install
    /// right after it reads only the dependency manifests, copies just those manifests first
    /// and moves the install before the source `COPY`. Which commands install from which
    /// manifests is data (`[manager.manifests]` in `transforms/`): `pip install -r`
    /// (`requirements*.txt` and the files they include), `npm ci`/`npm install`, `yarn
    /// install`, `pnpm install` (`package.json` and lockfiles), `poetry install --no-root`,
    /// `uv sync --no-install-project`, `pipenv install` (`pyproject.toml`, `Pipfile` and
    /// locks), `go mod download` (`go.mod`, `go.sum`), `cargo fetch` (`Cargo.toml`,
    /// `Cargo.lock`), `bundle install` (`Gemfile`, `Gemfile.lock`) and `composer install
    /// --no-scripts --no-autoloader` (`composer.json`, `composer.lock`).
    ///
    /// ## Why
    /// A layer is rebuilt when anything it copies changes. With the install after
    /// `COPY . .`, editing one source line reinstalls every dependency; with the manifests
    /// copied first, the install layer is reused until the manifests change.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM python:3.12-slim
    /// WORKDIR /app
    /// COPY . .
    /// RUN pip install -r requirements.txt
    /// ```
    /// becomes
    /// ```dockerfile
    /// FROM python:3.12-slim
    /// WORKDIR /app
    /// COPY requirements.txt ./
    /// RUN pip install -r requirements.txt
    /// COPY . .
    /// ```
    ///
    /// ## Fix safety
    /// Always **unsafe**: the install now runs before the sources are in the image. The final
    /// file tree is the same (the source `COPY` still copies everything over the manifests,
    /// with the same `--chown`/`--chmod`/`--link`), but if the install reads any other file
    /// the build breaks or installs something else, and a file the install rewrites in the
    /// working directory that the sources also carry (a lockfile `npm install` updates) ends up
    /// as the context has it. When the build context can be read, the pass checks it and
    /// emits nothing when the install needs more than the manifests: requirement files with
    /// `-e`, local paths or archives, `-r`/`-c` includes (followed and copied too), local
    /// `--find-links`/`file:` indexes; `package.json` with any root lifecycle script
    /// (`preinstall`, `install`, `postinstall`, `prepare`; none is treated as harmless,
    /// unless `--ignore-scripts` is given), workspaces, bundled or `file:`/`link:`/
    /// `workspace:` dependencies; `npm ci` (and other locked installs) without a lockfile;
    /// `go.mod` with local `replace` targets or a `go.work`; `Cargo.toml` without explicit
    /// targets or with path dependencies or a workspace; a `Gemfile` that names paths, a
    /// gemspec or other code; path repositories or plugins in `composer.json`; path sources
    /// in `pyproject.toml`/`Pipfile`; a manifest that `.dockerignore` excludes (or a pattern
    /// it cannot read); a `node_modules`/`vendor`/`.venv` in the context that the install
    /// would write into; and, when the install runs in a subdirectory of the copied tree, a
    /// parent there that a manager finding its project by walking up would read (a
    /// `package.json` with workspaces, `go.work`, a `Cargo.toml`). The message says whether
    /// the context was checked. Without a context the fix copies the named files (or the
    /// data's fallback: `package*.json`, `go.mod go.sum*`, with a wildcard for lockfiles that
    /// may be absent) and says nothing was checked; Cargo needs the context, and so does an
    /// install in a subdirectory of the copied tree. In every case there is no fix when an
    /// `ENV`/`ARG` before the `COPY` holds a relative path or a path under its destination,
    /// when a command's `VAR=value` prefix holds a path, or when the RUN removes anything
    /// but the managers' cache directories. There is no fix for `COPY --from`
    /// or other flags than `--chown`/`--chmod`/`--link`, `pip install .`/`-e .`, unknown
    /// install options, package operands that may be paths, RUNs that change directory or
    /// environment, exec form, heredocs, a non-POSIX `SHELL`, anything between the `COPY`
    /// and the install that may matter (another `COPY`/`ADD`, `ENV`, `ARG`, `USER`,
    /// `VOLUME`, a RUN that is not itself a registry-only install, a `WORKDIR` to another
    /// directory between two moved RUNs), a manifest path that is not literal or not under the `COPY` destination,
    /// or a RUN on the file's last line without a line break. Installs of packages from the
    /// index alone (`pip install --upgrade pip`) between the `COPY` and the manifest install
    /// move with it, in order; later RUNs that need the sources (`npm run build`) stay. A
    /// `WORKDIR` between the `COPY` and the install (`COPY . /app`, `WORKDIR /app`) is
    /// repeated, as written, after the manifest `COPY` and before the moved RUNs, so they run
    /// in the same directory and the directory is first created by a `COPY` as before.
    pub(crate) static MANIFESTS_FIRST = {
        name: "manifests-first",
        fix: FixAvailability::Sometimes,
        run: run,
    };
}

fn run(ctx: &PassContext<'_>) -> Vec<Fix> {
    let file = ctx.file;
    let instructions: Vec<&Instruction> = file.instructions().collect();
    let cwds = working_dirs(&instructions);
    let ignore = ctx.settings.context.as_deref().map(ignore_rules);
    let env = Env {
        ctx,
        instructions: &instructions,
        cwds: &cwds,
        ignore: ignore.as_ref(),
    };
    (0..instructions.len())
        .filter_map(|at| env.fix_at(at))
        .collect()
}

fn ignore_rules(context: &dyn BuildContext) -> IgnoreRules {
    const NAME: &str = ".dockerignore";
    match context.probe(NAME) {
        ContextEntry::Missing => IgnoreRules::default(),
        ContextEntry::File { .. } => context.read(NAME).map_or_else(IgnoreRules::unknown, |b| {
            String::from_utf8(b).map_or_else(|_| IgnoreRules::unknown(), |t| IgnoreRules::parse(&t))
        }),
        _ => IgnoreRules::unknown(),
    }
}

/// A directory in the image: absolute, or relative to the unknown directory a stage starts
/// in (its base image's WORKDIR).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Dir {
    absolute: bool,
    parts: Vec<String>,
}

impl Dir {
    fn start() -> Self {
        Self {
            absolute: false,
            parts: Vec::new(),
        }
    }

    /// `path` taken from this directory; `None` when it climbs above an unknown start.
    fn join(&self, path: &str) -> Option<Dir> {
        let mut dir = if path.starts_with('/') {
            Dir {
                absolute: true,
                parts: Vec::new(),
            }
        } else {
            self.clone()
        };
        for part in path.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    if dir.parts.pop().is_none() && !dir.absolute {
                        return None;
                    }
                }
                p => dir.parts.push(p.to_owned()),
            }
        }
        Some(dir)
    }

    /// The path of `self` below `base`, as parts; `None` when it is not inside it.
    fn below(&self, base: &Dir) -> Option<Vec<String>> {
        (self.absolute == base.absolute && self.parts.starts_with(&base.parts))
            .then(|| self.parts[base.parts.len()..].to_vec())
    }
}

/// A word that is literal in every reading: no variables, quotes, escapes, globs or blanks.
fn plain(word: &str, escape: char) -> bool {
    !word.is_empty()
        && !word.contains(['$', '"', '\'', '*', '?', '[', '{', '~', '\\', '`'])
        && !word.contains(escape)
        && !word.chars().any(char::is_whitespace)
}

/// The working directory in effect at each instruction (`None` when unknown).
fn working_dirs(instructions: &[&Instruction]) -> Vec<Option<Dir>> {
    let mut cwd = Some(Dir::start());
    instructions
        .iter()
        .map(|ins| {
            match ins.kind {
                Keyword::From => cwd = Some(Dir::start()),
                Keyword::Workdir => {
                    cwd = match ins.value.as_slice() {
                        [path] if plain(path, '\\') => match &cwd {
                            Some(dir) => dir.join(path),
                            None if path.starts_with('/') => Dir::start().join(path),
                            None => None,
                        },
                        _ => None,
                    };
                }
                _ => {}
            }
            cwd.clone()
        })
        .collect()
}

/// A `COPY`/`ADD` of a whole directory of the context.
struct SourceCopy<'a> {
    ins: &'a Instruction,
    /// The context directory copied (`""` for the root), cleaned.
    source: String,
    dest: Dir,
    /// The destination as written.
    dest_text: &'a str,
}

/// One command of a moved RUN, as the pass understands it.
enum Use<'a> {
    /// Installs from manifests.
    Manifests(Install<'a>),
    /// Installs packages by name from the index, reading no file.
    Registry(Vec<String>),
    /// Cleans a manager's cache or removes its state directory.
    Harmless,
}

struct Install<'a> {
    data: &'static Manifests,
    /// Files named on the command line (`pip install -r FILE`), as written.
    named: Vec<&'a str>,
    /// Package names also given.
    packages: Vec<String>,
    /// Whether the command fails without a lockfile.
    locked: bool,
    /// Whether the root package's lifecycle scripts are switched off.
    scripts_off: bool,
}

/// What the manifest COPY carries: context paths (or fallback patterns) by image directory.
#[derive(Default)]
struct Plan {
    /// (image directory below the COPY destination, context sources)
    groups: Vec<(Vec<String>, Vec<String>)>,
}

impl Plan {
    fn add(&mut self, dir: Vec<String>, source: String) {
        if let Some((_, sources)) = self.groups.iter_mut().find(|(d, _)| *d == dir) {
            if !sources.contains(&source) {
                sources.push(source);
            }
        } else {
            self.groups.push((dir, vec![source]));
        }
    }
}

struct Env<'a, 'b> {
    ctx: &'a PassContext<'b>,
    instructions: &'a [&'b Instruction],
    cwds: &'a [Option<Dir>],
    ignore: Option<&'a IgnoreRules>,
}

impl<'a, 'b> Env<'a, 'b> {
    fn context(&self) -> Option<&dyn BuildContext> {
        self.ctx.settings.context.as_deref()
    }

    fn fix_at(&self, at: usize) -> Option<Fix> {
        let copy = self.source_copy(at)?;
        if self.env_may_point_into(at, &copy) {
            return None;
        }
        let (block, workdirs, cwd) = self.block(at, self.cwds[at].clone()?)?;
        let mut plan = Plan::default();
        let mut names = Vec::new();
        for run in &block {
            for u in self.uses(run)? {
                match u {
                    Use::Manifests(install) => {
                        self.plan_install(&copy, &cwd, &install, &mut plan)?;
                    }
                    Use::Registry(packages) => self.check_packages(&copy, &cwd, &packages)?,
                    Use::Harmless => {}
                }
            }
        }
        for (_, sources) in &plan.groups {
            names.extend(sources.iter().cloned());
        }
        if plan.groups.is_empty() {
            return None;
        }
        self.edits(&copy, &block, &workdirs, &plan).map(|edits| {
            let checked = if self.context().is_some() {
                "checked in the build context: the install reads only these files (build-time \
                 behaviour may still differ)"
            } else {
                "the build context could not be read to check that the install reads nothing \
                 else"
            };
            let message = format!(
                "install dependencies before copying the sources: copy {} first, so that a \
                 source change reuses the install layer; {checked}",
                names.join(", ")
            );
            Fix::new(MANIFESTS_FIRST.name, Applicability::Unsafe, message, edits).ok()
        })?
    }

    /// Whether an `ENV` or `ARG` before the COPY at `at` may name a file the COPY brings
    /// (`ENV PIP_CONSTRAINT=/app/constraints.txt`, a relative path): the install might read it.
    fn env_may_point_into(&self, at: usize, copy: &SourceCopy<'_>) -> bool {
        let dest = format!("/{}", copy.dest.parts.join("/"));
        self.instructions[..at]
            .iter()
            .filter(|i| matches!(i.kind, Keyword::Env | Keyword::Arg))
            .flat_map(|i| i.value.iter())
            .any(|v| {
                v.contains("./")
                    || (copy.dest.absolute && (dest == "/" && v.contains('/') || v.contains(&dest)))
            })
    }

    /// The instruction at `at` when it copies a whole context directory.
    fn source_copy(&self, at: usize) -> Option<SourceCopy<'b>> {
        let ins = self.instructions[at];
        let file = self.ctx.file;
        if !matches!(ins.kind, Keyword::Copy | Keyword::Add) || !ins.heredocs.is_empty() {
            return None;
        }
        let flags_ok = ins
            .flags
            .iter()
            .all(|f| matches!(file.slice(f.name), "chown" | "chmod" | "link"));
        if !flags_ok {
            return None;
        }
        let words = ins.paths();
        let [source, dest] = words.as_slice() else {
            return None;
        };
        if !plain(source, file.escape) || !plain(dest, file.escape) {
            return None;
        }
        let cleaned = Dir::start().join(source)?;
        if cleaned.absolute {
            return None;
        }
        let source_path = cleaned.parts.join("/");
        if !source_path.is_empty() {
            // a named directory: only the context can tell it is one
            let context = self.context()?;
            if context.probe(&source_path) != ContextEntry::Directory
                || self.status(&source_path) != Status::Included
            {
                return None;
            }
        }
        let dest_dir = self.cwds[at].as_ref()?.join(dest)?;
        Some(SourceCopy {
            ins,
            source: source_path,
            dest: dest_dir,
            dest_text: dest,
        })
    }

    /// The RUNs to move: after the COPY at `at`, in its stage, every RUN up to the last one
    /// that installs from manifests, when all of them are movable and nothing between
    /// matters to them; with the WORKDIRs before the first of them that change the
    /// directory (they are repeated before the moved RUNs) and the directory the RUNs run in.
    fn block(
        &self,
        at: usize,
        mut cwd: Dir,
    ) -> Option<(Vec<&'a Run<'b>>, Vec<&'b Instruction>, Dir)> {
        let runs = self.ctx.runs();
        let mut block = Vec::new();
        let mut workdirs = Vec::new();
        let mut last_install = None;
        for (index, ins) in self.instructions.iter().enumerate().skip(at + 1) {
            match ins.kind {
                Keyword::Run => {
                    let Some(run) = runs.all.iter().find(|r| r.index == index) else {
                        break;
                    };
                    let Some(uses) = self.uses(run) else {
                        break;
                    };
                    block.push(run);
                    if uses.iter().any(|u| matches!(u, Use::Manifests(_))) {
                        last_install = Some(block.len());
                    }
                }
                Keyword::Workdir => {
                    let Some(dir) = self.cwds[index].clone() else {
                        break;
                    };
                    if dir != cwd {
                        // a WORKDIR between two moved RUNs would have to be split; stop there
                        if !block.is_empty() {
                            break;
                        }
                        workdirs.push(*ins);
                        cwd = dir;
                    }
                }
                Keyword::Label
                | Keyword::Expose
                | Keyword::Maintainer
                | Keyword::Stopsignal
                | Keyword::Cmd
                | Keyword::Entrypoint
                | Keyword::Healthcheck
                | Keyword::Onbuild => {}
                _ => break,
            }
        }
        block.truncate(last_install?);
        Some((block, workdirs, cwd))
    }

    /// How each command of `run` uses files; `None` when the RUN cannot move.
    fn uses(&self, run: &'a Run<'b>) -> Option<Vec<Use<'a>>> {
        let script = run.script.as_ref().ok()?;
        let s = &script.script;
        if !s.functions.is_empty()
            || s.changes_cwd().is_some()
            || s.changes_env().is_some()
            || s.has_background().is_some()
            || s.exits_early().is_some()
            || s.chains
                .iter()
                .any(|c| c.operators.iter().any(|(op, _)| *op == AndOr::Or))
        {
            return None;
        }
        if !self.run_flags_ok(run.ins)
            || !self.ctx.file.source[..run.ins.range.end as usize].ends_with('\n')
        {
            return None;
        }
        let mut uses = Vec::new();
        for command in &s.commands {
            let c = command.context;
            if c.in_substitution || c.in_subshell || c.in_control_flow || c.in_pipeline || c.negated
            {
                return None;
            }
            let text = script.instruction.shell_text().unwrap_or_default();
            let quiet = command.redirects.iter().all(|r| {
                let t = r.slice(text);
                t.ends_with("/dev/null") || t.trim_start_matches(char::is_numeric).starts_with(">&")
            });
            if !quiet {
                return None;
            }
            // `NODE_OPTIONS=--require ./x.js npm ci` reads a file: only plain values
            let plain_env = command.assignments.iter().all(|a| {
                a.value.as_deref().is_some_and(|v| {
                    let value = v.split_once('=').map_or("", |(_, value)| value);
                    !value.contains('/') && !value.starts_with('.')
                })
            });
            if !plain_env {
                return None;
            }
            uses.push(classify(command)?);
        }
        (!uses.is_empty()).then_some(uses)
    }

    /// `RUN` flags that cannot make the install read or hide files of the working directory.
    fn run_flags_ok(&self, ins: &Instruction) -> bool {
        let file = self.ctx.file;
        let names_ok = ins
            .flags
            .iter()
            .all(|f| matches!(file.slice(f.name), "mount" | "network"));
        names_ok
            && ins.mounts().iter().all(|m| {
                matches!(m.kind.as_str(), "cache" | "secret" | "ssh")
                    && m.target.as_deref().is_none_or(|t| t.starts_with('/'))
            })
    }

    fn status(&self, path: &str) -> Status {
        self.ignore.map_or(Status::Unsure, |r| r.status(path))
    }

    /// What the context holds at `path`, with `.dockerignore` applied: `None` when unsure.
    fn entry(&self, path: &str) -> Option<ContextEntry> {
        let context = self.context()?;
        let entry = context.probe(path);
        match (&entry, self.status(path)) {
            (ContextEntry::Missing, _) | (_, Status::Excluded) => Some(ContextEntry::Missing),
            (_, Status::Included) => Some(entry),
            (_, Status::Unsure) => None,
        }
    }

    /// Maps a path the install names (relative to `cwd`) to its place below the COPY
    /// destination and its context path.
    fn locate(copy: &SourceCopy<'_>, cwd: &Dir, path: &str) -> Option<(Vec<String>, String)> {
        let below = cwd.join(path)?.below(&copy.dest)?;
        if below.is_empty() {
            return None;
        }
        let mut context = copy.source.clone();
        for part in &below {
            if !context.is_empty() {
                context.push('/');
            }
            context.push_str(part);
        }
        Some((below, context))
    }

    fn check_packages(&self, copy: &SourceCopy<'_>, cwd: &Dir, packages: &[String]) -> Option<()> {
        if self.context().is_none() {
            return Some(());
        }
        for package in packages {
            // pip installs a directory of that name from the working directory
            let name = package
                .split(['[', '=', '<', '>', '!', '~', ',', ';'])
                .next()?;
            if let Some((_, path)) = Self::locate(copy, cwd, name) {
                (self.entry(&path)? == ContextEntry::Missing).then_some(())?;
            }
        }
        Some(())
    }

    /// Adds what `install` reads to `plan`; `None` when it needs more than its manifests or
    /// that cannot be known.
    fn plan_install(
        &self,
        copy: &SourceCopy<'_>,
        cwd: &Dir,
        install: &Install<'_>,
        plan: &mut Plan,
    ) -> Option<()> {
        let data = install.data;
        self.check_packages(copy, cwd, &install.packages)?;
        let escape = self.ctx.file.escape;
        let Some(context) = self.context() else {
            let below_dest = cwd.below(&copy.dest).is_none_or(|b| !b.is_empty());
            if data.requires_context || (!data.files.is_empty() && below_dest) {
                return None;
            }
            let names: Vec<&str> = if install.named.is_empty() {
                data.fallback.iter().map(String::as_str).collect()
            } else {
                install.named.clone()
            };
            for name in names {
                let (below, source) = Self::locate(copy, cwd, name)?;
                let dir = below[..below.len() - 1].to_vec();
                let glob_ok = install.named.is_empty();
                if !(plain(&source, escape) || glob_ok) {
                    return None;
                }
                plan.add(dir, source);
            }
            return Some(());
        };
        // the install's own directory: what it would find or write there
        let (cwd_below, cwd_path) = match cwd.below(&copy.dest) {
            Some(below) => {
                let mut path = copy.source.clone();
                for part in &below {
                    if !path.is_empty() {
                        path.push('/');
                    }
                    path.push_str(part);
                }
                (below, path)
            }
            None => return None,
        };
        let in_cwd = |name: &str| {
            if cwd_path.is_empty() {
                name.to_owned()
            } else {
                format!("{cwd_path}/{name}")
            }
        };
        for name in data.needs_more.iter().chain(&data.writes) {
            (self.entry(&in_cwd(name))? == ContextEntry::Missing).then_some(())?;
        }
        // managers that find their project by walking up (workspaces, go.work, Cargo
        // workspaces) could read a parent directory the source COPY fills
        if !data.files.is_empty() {
            for depth in 0..cwd_below.len() {
                let mut parent = copy.source.clone();
                for part in &cwd_below[..depth] {
                    if !parent.is_empty() {
                        parent.push('/');
                    }
                    parent.push_str(part);
                }
                let at = |name: &str| {
                    if parent.is_empty() {
                        name.to_owned()
                    } else {
                        format!("{parent}/{name}")
                    }
                };
                for name in data.files.iter().chain(&data.needs_more) {
                    match self.entry(&at(name))? {
                        ContextEntry::Missing => {}
                        ContextEntry::File { .. }
                            if data.format == ManifestFormat::PackageJson
                                && data.files.contains(name) =>
                        {
                            // a package.json is a workspace root only when it says so
                            let text = String::from_utf8(context.read(&at(name))?).ok()?;
                            let root: serde_json::Value = serde_json::from_str(&text).ok()?;
                            root.get("workspaces").is_none().then_some(())?;
                        }
                        _ => return None,
                    }
                }
            }
        }
        let mut files: Vec<(Vec<String>, String)> = Vec::new();
        if install.named.is_empty() {
            for name in &data.files {
                let path = in_cwd(name);
                matches!(self.entry(&path)?, ContextEntry::File { .. }).then_some(())?;
                files.push((cwd_below.clone(), path));
            }
            let mut has_lock = false;
            for name in &data.optional {
                let path = in_cwd(name);
                match self.entry(&path)? {
                    ContextEntry::Missing => {}
                    ContextEntry::File { .. } => {
                        has_lock |= data.lockfiles.contains(name);
                        files.push((cwd_below.clone(), path));
                    }
                    _ => return None,
                }
            }
            if install.locked && !has_lock {
                return None;
            }
        } else {
            // named files, and the files they include, relative to the including file
            let mut queue = std::collections::VecDeque::new();
            for name in &install.named {
                queue.push_back(Self::locate(copy, cwd, name)?);
            }
            while let Some((below, path)) = queue.pop_front() {
                if files.iter().any(|(_, p)| *p == path) {
                    continue;
                }
                let dir_below = below[..below.len() - 1].to_vec();
                let includes = self.read_manifest(context, &path, data.format, install)?;
                for include in includes {
                    let mut from = copy.dest.clone();
                    from.parts.extend(dir_below.iter().cloned());
                    queue.push_back(Self::locate(copy, &from, &include)?);
                }
                files.push((dir_below, path));
                if files.len() > 64 {
                    return None;
                }
            }
            for (dir, path) in files {
                plain(&path, escape).then_some(())?;
                plan.add(dir, path);
            }
            return Some(());
        }
        for (_, path) in &files {
            plain(path, escape).then_some(())?;
            if !matches!(data.format, ManifestFormat::Requirements)
                && data.files.iter().any(|f| *path == in_cwd(f))
            {
                self.read_manifest(context, path, data.format, install)?;
            }
        }
        for (dir, path) in files {
            plan.add(dir, path);
        }
        Some(())
    }

    /// Reads a manifest and checks that the install needs nothing but it; returns the
    /// files it includes (requirement files), relative to its directory.
    fn read_manifest(
        &self,
        context: &dyn BuildContext,
        path: &str,
        format: ManifestFormat,
        install: &Install<'_>,
    ) -> Option<Vec<String>> {
        matches!(self.entry(path)?, ContextEntry::File { .. }).then_some(())?;
        let text = String::from_utf8(context.read(path)?).ok()?;
        match format {
            ManifestFormat::Requirements => requirements(&text),
            ManifestFormat::PackageJson => package_json(&text, install).then(Vec::new),
            ManifestFormat::GoMod => go_mod(&text).then(Vec::new),
            ManifestFormat::Cargo => cargo_toml(&text).then(Vec::new),
            ManifestFormat::Gemfile => gemfile(&text).then(Vec::new),
            ManifestFormat::ComposerJson => composer_json(&text, install).then(Vec::new),
            ManifestFormat::Pyproject => pyproject(&text).then(Vec::new),
            ManifestFormat::Pipfile => pipfile(&text).then(Vec::new),
        }
    }

    /// The edits: the manifest COPYs and the moved RUNs (with the comment lines right above
    /// each) inserted before the source COPY (and the comment lines right above it); each
    /// moved RUN deleted, with one blank line when it stood between two.
    fn edits(
        &self,
        copy: &SourceCopy<'_>,
        block: &[&Run<'_>],
        workdirs: &[&Instruction],
        plan: &Plan,
    ) -> Option<Vec<Edit>> {
        let file = self.ctx.file;
        let items = &file.items;
        let item_of = |ins: &Instruction| {
            items
                .iter()
                .position(|i| Dockerfile::item_range(i).start == ins.range.start)
        };
        let copy_item = item_of(copy.ins)?;
        let mut insert_at = copy.ins.range.start;
        let mut i = copy_item;
        while i > 0 && matches!(items[i - 1], Item::Comment(_)) {
            i -= 1;
            insert_at = Dockerfile::item_range(&items[i]).start;
        }
        let copy_text = file.slice(copy.ins.range);
        let newline = if copy_text.ends_with("\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        let keyword = file.slice(copy.ins.keyword);
        let keyword = if keyword.chars().all(|c| c.is_ascii_lowercase()) {
            "copy"
        } else if keyword.chars().all(|c| c.is_ascii_uppercase()) {
            "COPY"
        } else {
            "Copy"
        };
        let flags: Vec<&str> = copy.ins.flags.iter().map(|f| file.slice(f.range)).collect();
        let mut inserted = String::new();
        for (dir, sources) in &plan.groups {
            let dest = destination(copy.dest_text, dir);
            inserted.push_str(keyword);
            for flag in &flags {
                inserted.push(' ');
                inserted.push_str(flag);
            }
            for source in sources {
                inserted.push(' ');
                inserted.push_str(source);
            }
            inserted.push(' ');
            inserted.push_str(&dest);
            inserted.push_str(newline);
        }
        // the WORKDIRs the RUNs ran under, repeated after the manifests have created the
        // directories as the source COPY would have
        for workdir in workdirs {
            inserted.push_str(file.slice(workdir.range));
        }
        // the items each moved RUN takes along (its comment lines and itself), merged where
        // they touch
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for run in block {
            let item = item_of(run.ins)?;
            let mut start = item;
            while start > copy_item + 1 && matches!(items[start - 1], Item::Comment(_)) {
                start -= 1;
            }
            let from = Dockerfile::item_range(&items[start]).start;
            inserted.push_str(&file.source[from as usize..run.ins.range.end as usize]);
            match spans.last_mut() {
                Some((_, end)) if *end + 1 == start => *end = item,
                _ => spans.push((start, item)),
            }
        }
        let mut edits = Vec::new();
        for (mut start, mut end) in spans {
            // one blank line goes when the span stood between two, or ended the file
            let blank = |i: usize| matches!(items.get(i), Some(Item::Blank(_)));
            if blank(start - 1) && blank(end + 1) {
                end += 1;
            } else if blank(start - 1) && start - 1 > copy_item && end + 1 == items.len() {
                start -= 1;
            }
            edits.push(Edit::delete(TextRange::new(
                Dockerfile::item_range(&items[start]).start,
                Dockerfile::item_range(&items[end]).end,
            )));
        }
        edits.insert(0, Edit::insert(insert_at, inserted));
        Some(edits)
    }
}

/// The destination of a manifest COPY: the source COPY's, or a directory below it, always
/// with a final `/`.
fn destination(dest_text: &str, dir: &[String]) -> String {
    let base = dest_text.trim_end_matches('/');
    let mut out = if base.is_empty() && dest_text.starts_with('/') {
        String::from("/")
    } else if base.is_empty() || base == "." {
        String::from("./")
    } else {
        format!("{base}/")
    };
    for part in dir {
        out.push_str(part);
        out.push('/');
    }
    out
}

/// How `command` uses files, when it is a command the pass understands.
fn classify(command: &Command) -> Option<Use<'_>> {
    // `rm -rf /root/.cache/pip`: every operand inside a cache directory of such a manager
    let harmless_rm = command.is("rm")
        && !command.args_no_flags().is_empty()
        && command.args_no_flags().iter().all(|w| {
            w.value.as_deref().is_some_and(|v| {
                let path = v.trim_end_matches('*').trim_end_matches('/');
                path.starts_with('/')
                    && !path.contains(['*', '?', '['])
                    && managers::all().any(|m| {
                        m.manifests.is_some() && m.state_dirs().any(|d| managers::covers(d, path))
                    })
            })
        });
    if harmless_rm {
        return Some(Use::Harmless);
    }
    let inv = managers::invocation(command)?;
    let data = inv.manager.manifests.as_ref()?;
    if inv.action() == Some(Action::Clean) {
        return Some(Use::Harmless);
    }
    let sub = inv.sub?;
    let sub_at = command.args.iter().position(|w| w.range == sub.range)?;
    let program = command.program()?;
    let prefix = inv
        .manager
        .invocations
        .iter()
        .find(|words| {
            let first = &words[0];
            let first_ok = match first.strip_suffix('*') {
                Some(stem) => program.starts_with(stem),
                None => program == first,
            };
            first_ok
                && words.len() - 1 <= command.args.len()
                && words[1..]
                    .iter()
                    .zip(&command.args)
                    .all(|(want, got)| got.value.as_deref() == Some(want.as_str()))
        })
        .map_or(0, |words| words.len() - 1);
    if sub_at != prefix {
        // options before the subcommand
        return None;
    }
    let words: Vec<&str> = command.args[sub_at..]
        .iter()
        .map(|w| w.value.as_deref())
        .collect::<Option<_>>()?;
    let subcommand = data.commands.iter().find(|c| {
        let parts: Vec<&str> = c.split(' ').collect();
        words.len() >= parts.len() && words[..parts.len()] == parts[..]
    });
    let consumed = subcommand.map_or(1, |c| c.split(' ').count());
    let mut install = Install {
        data,
        named: Vec::new(),
        packages: Vec::new(),
        locked: subcommand.is_some_and(|c| data.locked.contains(c)),
        scripts_off: false,
    };
    let mut flags = Vec::new();
    let mut rest = words[consumed..].iter();
    while let Some(&word) = rest.next() {
        if word.starts_with('-') && word != "-" {
            let (name, inline) = match word.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n, Some(v)),
                _ => (word, None),
            };
            if data.file_options.iter().any(|o| o == name) {
                let value = match inline {
                    Some(v) => v,
                    None => rest.next()?,
                };
                install.named.push(value);
                continue;
            }
            if !data.flags.iter().any(|f| f == name) {
                return None;
            }
            let value = match inline {
                Some(v) => Some(v),
                None if data.value_flags.iter().any(|f| f == name) => Some(*rest.next()?),
                None => None,
            };
            if value.is_some_and(|v| v.starts_with('.') || v.contains("file:")) {
                return None;
            }
            flags.push(name);
        } else if data.packages && is_package_name(word) {
            install.packages.push(word.to_owned());
        } else {
            return None;
        }
    }
    if !data
        .required_flags
        .iter()
        .all(|f| flags.contains(&f.as_str()))
    {
        return None;
    }
    install.locked |= data
        .locked_flags
        .iter()
        .any(|f| flags.contains(&f.as_str()));
    install.scripts_off = data
        .script_flags
        .iter()
        .any(|f| flags.contains(&f.as_str()));
    let is_install = subcommand.is_some();
    if is_install && (!install.named.is_empty() || data.file_options.is_empty()) {
        // the words given as named manifests are literal paths
        if install
            .named
            .iter()
            .any(|n| !plain(n, '\\') || n.contains("://"))
        {
            return None;
        }
        return Some(Use::Manifests(install));
    }
    // `pip install --upgrade pip`: packages from the index only
    (inv.action() == Some(Action::Install)
        && data.packages
        && install.named.is_empty()
        && !install.packages.is_empty())
    .then_some(Use::Registry(install.packages))
}

/// A requirement naming a package of the index: `flask`, `Flask[async]==3.0.*`, `pip>=24`.
fn is_package_name(word: &str) -> bool {
    word.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.[],<>=!~*".contains(c))
        && !std::path::Path::new(&word.to_ascii_lowercase())
            .extension()
            .is_some_and(|e| ["whl", "zip", "gz"].iter().any(|a| e == *a))
}

/// A requirements file: the files it includes (`-r`/`-c`), or `None` when it reads more
/// than itself (editable or local requirements, local indexes).
fn requirements(text: &str) -> Option<Vec<String>> {
    let mut includes = Vec::new();
    let joined = text.replace("\\\r\n", "").replace("\\\n", "");
    for raw in joined.lines() {
        let line = match raw.find(" #").or_else(|| raw.find("\t#")) {
            Some(at) => &raw[..at],
            None => raw,
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(option) = line.strip_prefix('-') {
            let (name, value) = split_option(option);
            match name {
                "r" | "-requirement" | "c" | "-constraint" => {
                    if value.is_empty() || value.contains("://") || !plain(value, '\\') {
                        return None;
                    }
                    includes.push(value.to_owned());
                }
                "i" | "-index-url" | "-extra-index-url" | "f" | "-find-links" => {
                    if !(value.starts_with("https://") || value.starts_with("http://")) {
                        return None;
                    }
                }
                "-trusted-host" | "-pre" | "-prefer-binary" | "-only-binary" | "-no-binary"
                | "-require-hashes" | "-use-feature" => {}
                _ => return None,
            }
            continue;
        }
        let spec = line.split(';').next().unwrap_or(line);
        let spec = spec.split(" --").next().unwrap_or(spec).trim();
        if !spec
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        {
            return None;
        }
        let lower = spec.to_ascii_lowercase();
        if lower.contains("file:") {
            return None;
        }
        if !lower.contains("://") {
            let archive = [".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz"]
                .iter()
                .any(|s| lower.ends_with(s));
            if lower.contains(['/', '\\']) || archive {
                return None;
            }
        }
    }
    Some(includes)
}

/// `-r file`, `-rfile`, `--requirement=file`, `--requirement file`: the name after the
/// first dash and the value.
fn split_option(option: &str) -> (&str, &str) {
    if let Some(long) = option.strip_prefix('-') {
        let end = long.find(['=', ' ', '\t']).unwrap_or(long.len());
        let value = long[end..].trim_start_matches(['=', ' ', '\t']).trim();
        (&option[..=end], value)
    } else {
        let Some(c) = option.chars().next() else {
            return ("", "");
        };
        let value = option[c.len_utf8()..]
            .trim_start_matches(['=', ' ', '\t'])
            .trim();
        (&option[..c.len_utf8()], value)
    }
}

/// A dependency specification that points into the file system.
fn local_spec(spec: &str) -> bool {
    let s = spec.trim();
    [
        "file:",
        "link:",
        "workspace:",
        "portal:",
        "./",
        "../",
        "/",
        "~/",
        "..",
    ]
    .iter()
    .any(|p| s.starts_with(p))
        || s == "."
}

fn package_json(text: &str, install: &Install<'_>) -> bool {
    let Ok(serde_json::Value::Object(root)) = serde_json::from_str::<serde_json::Value>(text)
    else {
        return false;
    };
    if !install.scripts_off
        && let Some(scripts) = root.get("scripts")
    {
        let Some(scripts) = scripts.as_object() else {
            return false;
        };
        if install.data.scripts.iter().any(|s| scripts.contains_key(s)) {
            return false;
        }
    }
    if ["workspaces", "bundleDependencies", "bundledDependencies"]
        .iter()
        .any(|k| root.contains_key(*k))
    {
        return false;
    }
    let tables = [
        "dependencies",
        "devDependencies",
        "optionalDependencies",
        "peerDependencies",
        "overrides",
        "resolutions",
    ];
    !tables
        .iter()
        .any(|t| root.get(*t).is_some_and(has_local_string))
}

fn has_local_string(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => local_spec(s),
        serde_json::Value::Object(map) => map.values().any(has_local_string),
        serde_json::Value::Array(items) => items.iter().any(has_local_string),
        _ => false,
    }
}

/// `go.mod` without local `replace` targets.
fn go_mod(text: &str) -> bool {
    let mut in_replace = false;
    for raw in text.lines() {
        let line = raw.split("//").next().unwrap_or("").trim();
        if in_replace {
            if line.starts_with(')') {
                in_replace = false;
                continue;
            }
        } else if let Some(rest) = line.strip_prefix("replace") {
            let rest = rest.trim_start();
            if rest.starts_with('(') {
                in_replace = true;
                continue;
            }
        } else {
            continue;
        }
        let Some((_, target)) = line.split_once("=>") else {
            continue;
        };
        let target = target.trim().trim_matches('"');
        if target.starts_with('.') || target.starts_with('/') {
            return false;
        }
    }
    true
}

fn toml_table(text: &str) -> Option<toml::Table> {
    toml::from_str::<toml::Table>(text).ok()
}

/// Whether any table below `value` has one of `keys`.
fn has_key(value: &toml::Value, keys: &[&str]) -> bool {
    match value {
        toml::Value::Table(t) => {
            keys.iter().any(|k| t.contains_key(*k)) || t.values().any(|v| has_key(v, keys))
        }
        toml::Value::Array(items) => items.iter().any(|v| has_key(v, keys)),
        _ => false,
    }
}

/// `Cargo.toml` of one package whose targets are declared with their paths and whose
/// dependencies all come from registries or git.
fn cargo_toml(text: &str) -> bool {
    let Some(root) = toml_table(text) else {
        return false;
    };
    if root.contains_key("workspace") || !root.contains_key("package") {
        return false;
    }
    let with_path = |v: &toml::Value| v.as_table().is_some_and(|t| t.contains_key("path"));
    let lib = root.get("lib");
    let bins = root.get("bin").and_then(toml::Value::as_array);
    let declared = lib.is_some_and(with_path) || bins.is_some_and(|b| !b.is_empty());
    if !declared
        || lib.is_some_and(|l| !with_path(l))
        || bins.is_some_and(|b| !b.iter().all(with_path))
    {
        return false;
    }
    root.iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "package" | "lib" | "bin" | "example" | "test" | "bench"
            )
        })
        .all(|(_, v)| !has_key(v, &["path", "workspace"]))
        && root
            .get("package")
            .and_then(toml::Value::as_table)
            .is_some_and(|p| !p.contains_key("workspace"))
}

/// A `Gemfile` that only lists gems: no paths, gemspecs or code that reads files.
fn gemfile(text: &str) -> bool {
    const CODE: &[&str] = &[
        "path",
        "gemspec",
        "eval_gemfile",
        "require",
        "load",
        "File",
        "Dir",
        "__dir__",
        "__FILE__",
        "instance_eval",
        "`",
        "%x",
    ];
    text.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .all(|l| !CODE.iter().any(|c| l.contains(c)))
}

fn composer_json(text: &str, install: &Install<'_>) -> bool {
    let Ok(serde_json::Value::Object(root)) = serde_json::from_str::<serde_json::Value>(text)
    else {
        return false;
    };
    let local_repo = root
        .get("repositories")
        .and_then(|r| match r {
            serde_json::Value::Array(a) => Some(a.clone()),
            serde_json::Value::Object(o) => Some(o.values().cloned().collect()),
            _ => None,
        })
        .is_some_and(|repos| {
            repos.iter().any(|r| {
                r.get("type")
                    .and_then(serde_json::Value::as_str)
                    .is_some_and(|t| matches!(t, "path" | "artifact"))
            })
        });
    let config = root.get("config");
    let plugins = config
        .and_then(|c| c.get("allow-plugins"))
        .is_some_and(|p| match p {
            serde_json::Value::Bool(b) => *b,
            serde_json::Value::Object(o) => {
                o.values().any(|v| v != &serde_json::Value::Bool(false))
            }
            _ => true,
        });
    let _ = install;
    !local_repo && !plugins && config.is_none_or(|c| c.get("vendor-dir").is_none())
}

/// `pyproject.toml` without path or workspace sources and without the project files Poetry
/// reads even with `--no-root`.
fn pyproject(text: &str) -> bool {
    let Some(root) = toml_table(text) else {
        return false;
    };
    let tool = root.get("tool").and_then(toml::Value::as_table);
    let poetry = tool.and_then(|t| t.get("poetry"));
    let uv = tool.and_then(|t| t.get("uv"));
    if poetry.is_some_and(|p| {
        has_key(p, &["path"])
            || ["readme", "packages", "include", "build"]
                .iter()
                .any(|k| p.get(k).is_some())
    }) {
        return false;
    }
    if uv.is_some_and(|u| u.get("workspace").is_some() || has_key(u, &["path", "workspace"])) {
        return false;
    }
    let project_deps = root
        .get("project")
        .and_then(|p| p.get("dependencies"))
        .and_then(toml::Value::as_array)
        .is_some_and(|deps| {
            deps.iter()
                .filter_map(toml::Value::as_str)
                .any(|d| d.contains("file:") || d.contains("@ ."))
        });
    !project_deps
}

fn pipfile(text: &str) -> bool {
    let Some(root) = toml_table(text) else {
        return false;
    };
    root.values().all(|v| {
        !has_key(v, &["path"])
            && !v.as_table().is_some_and(|t| {
                t.values().any(|d| {
                    d.get("file")
                        .and_then(toml::Value::as_str)
                        .is_some_and(|f| !f.contains("://"))
                        || d.get("editable").and_then(toml::Value::as_bool) == Some(true)
                })
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Settings;
    use std::collections::HashMap;
    use std::sync::Arc;

    struct Fake(HashMap<&'static str, &'static str>);

    impl BuildContext for Fake {
        fn probe(&self, path: &str) -> ContextEntry {
            if path.is_empty() || self.0.keys().any(|k| k.starts_with(&format!("{path}/"))) {
                return ContextEntry::Directory;
            }
            self.0
                .get(path)
                .map_or(ContextEntry::Missing, |t| ContextEntry::File {
                    head: t.as_bytes().to_vec(),
                })
        }

        fn read(&self, path: &str) -> Option<Vec<u8>> {
            self.0.get(path).map(|t| t.as_bytes().to_vec())
        }
    }

    fn rewrite(src: &str, files: Option<&[(&'static str, &'static str)]>) -> crate::Outcome {
        let settings = Settings {
            threshold: Applicability::Unsafe,
            select: Some(vec!["manifests-first".to_owned()]),
            context: files
                .map(|f| Arc::new(Fake(f.iter().copied().collect())) as Arc<dyn BuildContext>),
            ..Settings::default()
        };
        crate::rewrite(src, &settings).unwrap()
    }

    #[test]
    fn message_says_whether_the_context_was_checked() {
        let src = "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n";
        let without = rewrite(src, None);
        assert!(without.applied[0].message.contains("could not be read"));
        let with = rewrite(src, Some(&[("requirements.txt", "flask==3.0.0\n")]));
        assert!(
            with.applied[0]
                .message
                .contains("checked in the build context")
        );
        assert_eq!(with.output, without.output);
        let editable = rewrite(src, Some(&[("requirements.txt", "-e .\n")]));
        assert_eq!(editable.output, None);
    }

    #[test]
    fn requirement_files() {
        assert_eq!(
            requirements("flask==3\n# c\n-r base.txt\n"),
            Some(vec!["base.txt".into()])
        );
        assert_eq!(
            requirements("--requirement=a/b.txt"),
            Some(vec!["a/b.txt".into()])
        );
        assert_eq!(requirements("-e .\n"), None);
        assert_eq!(requirements("./pkg\n"), None);
        assert_eq!(requirements("pkg @ file:///x\n"), None);
        assert_eq!(requirements("dist/x-1.0-py3-none-any.whl\n"), None);
        assert_eq!(requirements("-f ./wheels\n"), None);
        assert!(
            requirements("-i https://pypi.org/simple\nrequests[socks]>=2 ; python_version>'3'\n")
                .is_some()
        );
        assert!(requirements("git+https://github.com/a/b.git#egg=b\n").is_some());
    }

    #[test]
    fn other_formats() {
        assert!(go_mod("module x\n\nrequire a v1\nreplace a => b v2\n"));
        assert!(!go_mod("module x\nreplace (\n  a => ./a\n)\n"));
        assert!(!cargo_toml("[package]\nname='x'\n"));
        assert!(cargo_toml(
            "[package]\nname='x'\n[[bin]]\nname='x'\npath='src/main.rs'\n[dependencies]\nserde='1'\n"
        ));
        assert!(!cargo_toml(
            "[package]\nname='x'\n[[bin]]\nname='x'\npath='m.rs'\n[dependencies]\ny={path='../y'}\n"
        ));
        assert!(gemfile(
            "source 'https://rubygems.org'\ngem 'rails', '~> 7'\n"
        ));
        assert!(!gemfile("gemspec\n"));
        assert!(!gemfile("gem 'x', path: 'vendor/x'\n"));
        assert!(pyproject("[tool.poetry.dependencies]\npython='^3.11'\n"));
        assert!(!pyproject("[tool.poetry.dependencies]\nx={path='../x'}\n"));
        assert!(!pyproject("[tool.uv.workspace]\nmembers=['a']\n"));
        assert!(pipfile("[packages]\nrequests='*'\n"));
        assert!(!pipfile("[packages]\nme={path='.', editable=true}\n"));
    }
}
