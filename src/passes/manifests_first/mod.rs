//! The manifests-first pass: this file finds the source `COPY`, the RUNs to move and what
//! they read, and writes the edits; `classify` reads one command, `formats` one manifest.

mod classify;
mod formats;

use super::runs::Run;
use super::{FixAvailability, PassContext};
use crate::BuildContext;
use crate::context::ignore::{IgnoreRules, Inclusion};
use crate::context::{ContextEntry, join, join_all};
use crate::managers::ManifestFormat;
use crate::shell::AndOr;
use crate::syntax::workdir::{ImageDir, plain, step};
use crate::syntax::{Dockerfile, Instruction, Item, Keyword};
use crate::text::{Applicability, Edit, Fix, TextRange};
use classify::{CommandUse, Install, classify};

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
    /// with the same `--chown`/`--chmod`/`--link`), but:
    /// - if the install reads any other file, the build breaks or installs something else;
    /// - a file the install rewrites in the working directory that the sources also carry (a
    ///   lockfile `npm install` updates) ends up as the context has it.
    ///
    /// With a readable build context, the pass emits nothing when the install needs more than
    /// the manifests (the message says the context was checked):
    /// - requirement files with `-e`, local paths or archives, or local `--find-links`/`file:`
    ///   indexes (`-r`/`-c` includes are followed and copied too);
    /// - `package.json` with a root lifecycle script (`preinstall`, `install`,
    ///   `postinstall`, `prepare`; none is treated as harmless, unless `--ignore-scripts` is
    ///   given), workspaces, or bundled or `file:`/`link:`/`workspace:` dependencies;
    /// - `npm ci` (and other locked installs) without a lockfile;
    /// - `go.mod` with local `replace` targets, or a `go.work`;
    /// - `Cargo.toml` without explicit targets, or with path dependencies or a workspace;
    /// - a `Gemfile` that names paths, a gemspec or other code;
    /// - path repositories or plugins in `composer.json`; path sources in
    ///   `pyproject.toml`/`Pipfile`;
    /// - a manifest the ignore file excludes (`<Dockerfile>.dockerignore`, else
    ///   `.dockerignore`), or an ignore file it cannot read;
    /// - a `node_modules`/`vendor`/`.venv` in the context that the install would write into;
    /// - for an install in a subdirectory of the copied tree, a parent there that a manager
    ///   finding its project by walking up would read (a `package.json` with workspaces,
    ///   `go.work`, a `Cargo.toml`).
    ///
    /// Without a context the fix copies the named files (or the data's fallback:
    /// `package*.json`, `go.mod go.sum*`, with a wildcard for lockfiles that may be absent)
    /// and says nothing was checked; Cargo needs the context, and so does an install in a
    /// subdirectory of the copied tree.
    ///
    /// In every case there is no fix:
    /// - when an `ENV`/`ARG` before the `COPY` holds a relative path or a path under its
    ///   destination, or a command's `VAR=value` prefix holds a path;
    /// - when the RUN removes anything but the managers' cache directories;
    /// - for `COPY --from` or flags other than `--chown`/`--chmod`/`--link`;
    /// - for `pip install .`/`-e .`, unknown install options, package operands that may be
    ///   paths;
    /// - for RUNs that change directory or environment, exec form, heredocs, a non-POSIX
    ///   `SHELL`, or a RUN on the file's last line without a line break;
    /// - when anything between the `COPY` and the install may matter: another `COPY`/`ADD`,
    ///   `ENV`, `ARG`, `USER`, `VOLUME`, a RUN that is not itself a registry-only install, a
    ///   `WORKDIR` to another directory between two moved RUNs;
    /// - for a manifest path that is not literal or not under the `COPY` destination.
    ///
    /// What moves: installs of packages from the index alone (`pip install --upgrade pip`)
    /// between the `COPY` and the manifest install move with it, in order; later RUNs that
    /// need the sources (`npm run build`) stay. A `WORKDIR` between the `COPY` and the
    /// install (`COPY . /app`, `WORKDIR /app`) is repeated, as written, after the manifest
    /// `COPY` and before the moved RUNs, so they run in the same directory and the directory
    /// is first created by a `COPY` as before.
    pub(crate) static MANIFESTS_FIRST = {
        name: "manifests-first",
        summary: "Installs dependencies from their manifests before `COPY . <dir>`, so a source change reuses the install layer",
        fix: FixAvailability::Sometimes,
        may: [moves],
        run: run,
        tier: Unsafe,
    };
}

fn run(ctx: &PassContext<'_>) -> Vec<Fix> {
    let file = ctx.file;
    let finder = Finder {
        ctx,
        ignore: ctx.ignore_rules(),
        env: EnvValues::new(&file.source, file.instructions()),
    };
    // one walk keeping only the current directory: no per-instruction list of the
    // instructions or their directories (each megabytes on a large file)
    let mut cwd = Some(ImageDir::start());
    let mut rest = file.instructions().enumerate();
    let mut fixes = Vec::new();
    while let Some((at, ins)) = rest.next() {
        step(&mut cwd, &file.source, ins);
        fixes.extend(finder.fix_at(at, ins, cwd.as_ref(), rest.clone()));
    }
    fixes
}

/// A `COPY`/`ADD` of a whole directory of the context.
struct SourceCopy<'a> {
    ins: &'a Instruction,
    /// The context directory copied (`""` for the root), cleaned.
    source: String,
    dest: ImageDir,
    /// The destination as written.
    dest_text: &'a str,
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

/// What one run of the pass looks at: the file (through the context), the ignore rules of
/// the context and the file's ENV/ARG values.
struct Finder<'a, 'b> {
    ctx: &'a PassContext<'b>,
    ignore: Option<&'a IgnoreRules>,
    env: EnvValues<'b>,
}

/// The values of the file's `ENV`s and `ARG`s, indexed so that "does one before
/// instruction `at` contain this path" is a binary search rather than a walk over every
/// earlier instruction for each COPY.
struct EnvValues<'b> {
    /// The first instruction with a value containing `./`.
    dot_slash: Option<usize>,
    /// The first instruction with a value containing `/`.
    slash: Option<usize>,
    /// Every suffix of a value that starts at a `/`, with its instruction, sorted: a path
    /// (which starts with `/`) occurs in a value exactly when it starts one of these.
    suffixes: Vec<(&'b str, usize)>,
}

impl<'b> EnvValues<'b> {
    fn new(source: &'b str, instructions: impl Iterator<Item = &'b Instruction>) -> Self {
        let mut env = Self {
            dot_slash: None,
            slash: None,
            suffixes: Vec::new(),
        };
        for (at, ins) in instructions.enumerate() {
            if !matches!(ins.kind, Keyword::Env | Keyword::Arg) {
                continue;
            }
            for v in &ins.value(source) {
                if v.contains("./") {
                    env.dot_slash.get_or_insert(at);
                }
                for (p, _) in v.match_indices('/') {
                    env.slash.get_or_insert(at);
                    env.suffixes.push((&v[p..], at));
                }
            }
        }
        env.suffixes.sort_unstable();
        env
    }

    /// Whether a value before instruction `at` contains `./`, or, for an absolute
    /// destination, the path `dest` (which starts with `/`).
    fn points_into(&self, at: usize, dest: &str, absolute: bool) -> bool {
        let before = |first: Option<usize>| first.is_some_and(|f| f < at);
        if before(self.dot_slash) {
            return true;
        }
        if !absolute {
            return false;
        }
        if dest == "/" {
            return before(self.slash);
        }
        let lo = self.suffixes.partition_point(|(s, _)| *s < dest);
        self.suffixes[lo..]
            .iter()
            .take_while(|(s, _)| s.starts_with(dest))
            .any(|&(_, i)| i < at)
    }
}

impl<'a, 'b> Finder<'a, 'b> {
    fn context(&self) -> Option<&dyn BuildContext> {
        self.ctx.context()
    }

    /// The fix for the instruction `ins` at `at`, which runs in `cwd`; `rest` is the
    /// instructions after it.
    fn fix_at(
        &self,
        at: usize,
        ins: &'b Instruction,
        cwd: Option<&ImageDir>,
        rest: impl Iterator<Item = (usize, &'b Instruction)>,
    ) -> Option<Fix> {
        let copy = self.source_copy(ins, cwd)?;
        if self.env_may_point_into(at, &copy) {
            return None;
        }
        let (block, workdirs, cwd) = self.block(rest, cwd?.clone())?;
        let mut plan = Plan::default();
        let mut names = Vec::new();
        for run in &block {
            for u in self.uses(run)? {
                match u {
                    CommandUse::Manifests(install) => {
                        self.plan_install(&copy, &cwd, &install, &mut plan)?;
                    }
                    CommandUse::Registry(packages) => {
                        self.check_packages(&copy, &cwd, &packages)?;
                    }
                    CommandUse::Harmless => {}
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
            self.ctx
                .fix(MANIFESTS_FIRST.name, Applicability::Unsafe, message, edits)
        })?
    }

    /// Whether an `ENV` or `ARG` before the COPY at `at` may name a file the COPY brings
    /// (`ENV PIP_CONSTRAINT=/app/constraints.txt`, a relative path): the install might read it.
    fn env_may_point_into(&self, at: usize, copy: &SourceCopy<'_>) -> bool {
        let dest = format!("/{}", copy.dest.parts.join("/"));
        self.env.points_into(at, &dest, copy.dest.absolute)
    }

    /// `ins`, run in `cwd`, when it copies a whole context directory.
    fn source_copy(&self, ins: &'b Instruction, cwd: Option<&ImageDir>) -> Option<SourceCopy<'b>> {
        let file = self.ctx.file;
        if !matches!(ins.kind, Keyword::Copy | Keyword::Add) || !ins.heredocs().is_empty() {
            return None;
        }
        let flags_ok = ins
            .flags()
            .iter()
            .all(|f| matches!(file.slice(f.name), "chown" | "chmod" | "link"));
        if !flags_ok {
            return None;
        }
        let words = ins.paths(&file.source);
        let [source, dest] = words.as_slice() else {
            return None;
        };
        if !plain(source, file.escape) || !plain(dest, file.escape) {
            return None;
        }
        // an absolute source is the context root too, but rare: left alone
        if source.starts_with('/') {
            return None;
        }
        let source_path = crate::context::context_path(source)?;
        if !source_path.is_empty() {
            // a named directory: only the context can tell it is one
            let context = self.context()?;
            if context.probe(&source_path) != ContextEntry::Directory
                || self.status(&source_path) != Inclusion::Included
            {
                return None;
            }
        }
        let dest_dir = cwd?.join(dest)?;
        Some(SourceCopy {
            ins,
            source: source_path,
            dest: dest_dir,
            dest_text: dest,
        })
    }

    /// The RUNs to move: among `rest`, the instructions after the COPY, in its stage, every
    /// RUN up to the last one that installs from manifests, when all of them are movable and
    /// nothing between matters to them; with the WORKDIRs before the first of them that
    /// change the directory (they are repeated before the moved RUNs) and the directory the
    /// RUNs run in.
    fn block(
        &self,
        rest: impl Iterator<Item = (usize, &'b Instruction)>,
        mut cwd: ImageDir,
    ) -> Option<(Vec<&'a Run<'b>>, Vec<&'b Instruction>, ImageDir)> {
        let runs = self.ctx.runs();
        let mut block = Vec::new();
        let mut workdirs = Vec::new();
        let mut last_install = None;
        for (index, ins) in rest {
            match ins.kind {
                Keyword::Run => {
                    // the RUNs are in file order: a search, not a walk from the first
                    let Ok(found) = runs
                        .all
                        .binary_search_by_key(&index, super::runs::Run::index)
                    else {
                        break;
                    };
                    let run = &runs.all[found];
                    let Some(uses) = self.uses(run) else {
                        break;
                    };
                    block.push(run);
                    if uses.iter().any(|u| matches!(u, CommandUse::Manifests(_))) {
                        last_install = Some(block.len());
                    }
                }
                Keyword::Workdir => {
                    let mut next = Some(cwd.clone());
                    step(&mut next, &self.ctx.file.source, ins);
                    let Some(dir) = next else {
                        break;
                    };
                    if dir != cwd {
                        // a WORKDIR between two moved RUNs would have to be split; stop there
                        if !block.is_empty() {
                            break;
                        }
                        workdirs.push(ins);
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
    fn uses(&self, run: &'a Run<'b>) -> Option<Vec<CommandUse<'a>>> {
        let script = run.script.as_ref().ok()?;
        let s = &script.script;
        if !s.functions().is_empty()
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
            let text = script.text();
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
            .flags()
            .iter()
            .all(|f| matches!(file.slice(f.name), "mount" | "network"));
        names_ok
            && ins.mounts().iter().all(|m| {
                matches!(m.kind.as_str(), "cache" | "secret" | "ssh")
                    && m.target.as_deref().is_none_or(|t| t.starts_with('/'))
            })
    }

    fn status(&self, path: &str) -> Inclusion {
        self.ignore.map_or(Inclusion::Unsure, |r| r.status(path))
    }

    /// What the context holds at `path`, with the ignore file applied: `None` when unsure.
    fn entry(&self, path: &str) -> Option<ContextEntry> {
        let context = self.context()?;
        let entry = context.probe(path);
        match (&entry, self.status(path)) {
            (ContextEntry::Missing, _) | (_, Inclusion::Excluded) => Some(ContextEntry::Missing),
            (_, Inclusion::Included) => Some(entry),
            (_, Inclusion::Unsure) => None,
        }
    }

    /// Maps a path the install names (relative to `cwd`) to its place below the COPY
    /// destination and its context path.
    fn locate(copy: &SourceCopy<'_>, cwd: &ImageDir, path: &str) -> Option<(Vec<String>, String)> {
        let below = cwd.join(path)?.below(&copy.dest)?;
        if below.is_empty() {
            return None;
        }
        let context = join_all(&copy.source, &below);
        Some((below, context))
    }

    fn check_packages(
        &self,
        copy: &SourceCopy<'_>,
        cwd: &ImageDir,
        packages: &[String],
    ) -> Option<()> {
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
        cwd: &ImageDir,
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
                data.fallback.to_vec()
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
                let path = join_all(&copy.source, &below);
                (below, path)
            }
            None => return None,
        };
        let in_cwd = |name: &str| join(&cwd_path, name);
        for name in data.needs_more.iter().chain(data.writes) {
            (self.entry(&in_cwd(name))? == ContextEntry::Missing).then_some(())?;
        }
        // managers that find their project by walking up (workspaces, go.work, Cargo
        // workspaces) could read a parent directory the source COPY fills
        if !data.files.is_empty() {
            for depth in 0..cwd_below.len() {
                let parent = join_all(&copy.source, &cwd_below[..depth]);
                let at = |name: &str| join(&parent, name);
                for name in data.files.iter().chain(data.needs_more) {
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
            for name in data.files {
                let path = in_cwd(name);
                matches!(self.entry(&path)?, ContextEntry::File { .. }).then_some(())?;
                files.push((cwd_below.clone(), path));
            }
            let mut has_lock = false;
            for name in data.optional {
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
        formats::reads_only(format, &text, install)
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
        let keyword = file.slice(copy.ins.keyword());
        let keyword = if keyword.chars().all(|c| c.is_ascii_lowercase()) {
            "copy"
        } else if keyword.chars().all(|c| c.is_ascii_uppercase()) {
            "COPY"
        } else {
            "Copy"
        };
        let flags: Vec<&str> = copy
            .ins
            .flags()
            .iter()
            .map(|f| file.slice(f.range))
            .collect();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Settings;
    use std::collections::HashMap;
    use std::sync::Arc;

    /// The walk over every earlier ENV/ARG value that [`EnvValues::points_into`] replaces.
    fn points_into_by_walk(
        source: &str,
        instructions: &[&Instruction],
        at: usize,
        dest: &str,
        abs: bool,
    ) -> bool {
        instructions[..at]
            .iter()
            .filter(|i| matches!(i.kind, Keyword::Env | Keyword::Arg))
            .flat_map(|i| i.value(source))
            .any(|v| {
                v.contains("./") || (abs && (dest == "/" && v.contains('/') || v.contains(dest)))
            })
    }

    #[test]
    fn the_env_index_agrees_with_the_walk() {
        let source = "FROM a\nENV P=/srv/app1 Q=x\nARG R=/srv/app10/c.txt\nWORKDIR /srv\n\
                      ENV S=/opt\nARG T=rel/./x\nENV U=/srv/app\nCOPY . .\n";
        let file = crate::syntax::parse(source).unwrap();
        let instructions: Vec<&Instruction> = file.instructions().collect();
        let env = EnvValues::new(&file.source, instructions.iter().copied());
        let dests = [
            "/",
            "/srv",
            "/srv/app",
            "/srv/app1",
            "/srv/app10",
            "/srv/app2",
            "/opt/x",
        ];
        let mut differs = 0;
        for at in 0..=instructions.len() {
            for dest in dests {
                for abs in [false, true] {
                    let walk = points_into_by_walk(source, &instructions, at, dest, abs);
                    assert_eq!(
                        env.points_into(at, dest, abs),
                        walk,
                        "{dest} before {at}, {abs}"
                    );
                    differs += usize::from(walk);
                }
            }
        }
        // the cases are not all one answer
        assert!(differs > 0 && differs < (instructions.len() + 1) * dests.len() * 2);
    }

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
            dockerfile: files.map(|_| "Dockerfile".to_owned()),
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
}
