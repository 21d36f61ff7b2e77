//! The semantic model of a Dockerfile: per stage, what it is built on, the variables in scope,
//! the working directory, user and shell at each instruction, what each instruction does to
//! the filesystem (COPY/ADD sources and destination; RUN commands with their directory, what
//! they install and build), and the runtime config the stage ends with.
//!
//! Everything here is read from the text alone; facts about base images come from
//! [`images`] (`transforms/images.toml`). A value the file does not determine (a variable the
//! base image sets, a `cd` into an expansion) is `None`, never a guess.

mod effects;
mod expand;
pub mod images;
mod vars;

use std::sync::Arc;

use crate::shell;
use crate::syntax::{Dockerfile, Instruction, Keyword, Mount};

pub use effects::join;
use effects::{copy_effect, run_effect};
pub(crate) use expand::{Var, expand};
pub use vars::Vars;

/// The model of a whole file. A stage's model is built on first use (with the stages it is
/// built on), so that a reader of one stage does not pay for the whole file.
pub struct Model<'a> {
    /// `ARG`s before the first `FROM`: name and default (as expanded), in order.
    pub global_args: Vec<(String, Option<String>)>,
    /// Per stage, what it is built on (a position in [`Self::distinct`]): the one thing
    /// found for every stage (a stage's name is read from its `FROM` when asked for).
    bases: Box<[u32]>,
    /// The bases, each image reference and `scratch` once: a large file repeats a few.
    distinct: Box<[Base]>,
    /// The stages built so far, in chunks of [`CHUNK`] allocated on first use: a large
    /// file's model builds few of its stages, and an unbuilt chunk costs one pointer.
    stages: Box<[std::cell::OnceCell<Box<Chunk<'a>>>]>,
    source: Source<'a>,
}

/// Stages per chunk of [`Model::stages`].
const CHUNK: usize = 64;

/// The cells of [`CHUNK`] consecutive stages.
type Chunk<'a> = [std::cell::OnceCell<Box<StageModel<'a>>>; CHUNK];

/// What a stage's model is built from.
struct Source<'a> {
    file: &'a Dockerfile,
    /// Per stage, the position of its `FROM` among the file's items: its instructions are
    /// read from there rather than from a copy of the round's stage list. (u32, as
    /// [`Self::starts`]: half the size of a usize per stage, and a file has fewer items.)
    items: Box<[u32]>,
    /// Per instruction of the file, whether RUN's shell is POSIX.
    posix: crate::bits::Bits,
    /// Per stage, the position of its first instruction after `FROM` among the file's.
    starts: Box<[u32]>,
    /// The global ARGs.
    global: Scope,
    parse: Box<effects::Parser<'a>>,
}

impl std::fmt::Debug for Model<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("global_args", &self.global_args)
            .field("stages", &self.bases.len())
            .finish_non_exhaustive()
    }
}

/// What a stage is built on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    Scratch,
    /// An earlier stage, by index.
    Stage(usize),
    Image(ImageRef),
    /// The reference depends on something the file does not fix (an ARG without default).
    Unresolved(String),
}

/// An image reference, after ARG expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// As expanded (`docker.io/library/golang:1.22@sha256:…`).
    pub reference: String,
    /// Registry defaults removed (`golang`, `gcr.io/distroless/static-debian12`).
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses and normalises an expanded reference.
    pub fn parse(reference: &str) -> Self {
        let (rest, digest) = match reference.split_once('@') {
            Some((r, d)) => (r, Some(d.to_owned())),
            None => (reference, None),
        };
        // a ':' after the last '/' starts the tag (a registry port comes before a '/')
        let slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (repo, tag) = match rest[slash..].split_once(':') {
            Some((name, tag)) => (format!("{}{name}", &rest[..slash]), Some(tag.to_owned())),
            None => (rest.to_owned(), None),
        };
        let lower = repo.to_ascii_lowercase();
        let mut repository = lower.as_str();
        for prefix in ["docker.io/", "index.docker.io/", "registry-1.docker.io/"] {
            if let Some(r) = repository.strip_prefix(prefix) {
                repository = r;
            }
        }
        if let Some(r) = repository.strip_prefix("library/") {
            repository = r;
        }
        Self {
            reference: reference.to_owned(),
            repository: repository.to_owned(),
            tag,
            digest,
        }
    }

    /// The tag, `latest` when none is written.
    pub fn tag_or_latest(&self) -> &str {
        self.tag.as_deref().unwrap_or("latest")
    }
}

/// One stage.
#[derive(Debug, Clone)]
pub struct StageModel<'a> {
    pub index: usize,
    /// The name after `AS`, lowercased as BuildKit compares it.
    pub name: Option<String>,
    pub from: &'a Instruction,
    pub base: Base,
    /// `--platform`, as written.
    pub platform: Option<String>,
    /// One step per instruction after `FROM`, in order.
    pub steps: Vec<Step<'a>>,
    /// The runtime config at the end of the stage (inherited from a parent stage, then set
    /// here).
    pub runtime: RuntimeConfig,
    /// ARGs and ENVs in scope at the end of the stage.
    pub scope: Scope,
    /// The working directory at the end of the stage, when known.
    pub workdir: Option<String>,
}

/// Variables in scope: ARG and ENV, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// ENV values set by the file (expanded, `None` when that depends on the unknown).
    pub env: Vars,
    /// ARGs declared in the stage: the default or global value (`None` when unknown or given
    /// only at build time).
    pub args: Vars,
    /// Whether variables the file does not set are unset (scratch, or a stage of scratch)
    /// rather than unknown (an image's ENV).
    pub base_known: bool,
}

impl Scope {
    /// A variable's value as the expansion sees it: ENV wins over ARG.
    pub(crate) fn var(&self, name: &str) -> Var {
        let found = self.env.get(name).or_else(|| self.args.get(name));
        match found {
            Some(Some(v)) => Var::Value(v.clone()),
            None if self.base_known => Var::Unset,
            Some(None) | None => Var::Unknown,
        }
    }

    /// Expands a word in this scope.
    pub fn expand(&self, word: &str, escape: char) -> Option<String> {
        expand(word, escape, &|n| self.var(n))
    }
}

/// An instruction and the state it runs in. The state is shared with the steps around it
/// until an instruction changes it: a model holds one step per instruction of the file.
#[derive(Debug, Clone)]
pub struct Step<'a> {
    pub instruction: &'a Instruction,
    /// The working directory, user and shell, one allocation for the steps that share them.
    pub state: Arc<StepState>,
    pub effect: Effect,
}

/// What a step runs with (see [`Step`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepState {
    /// The working directory (absolute), when known.
    pub workdir: Option<Arc<str>>,
    /// `USER` in effect as written (expanded when possible); `None`: the base image's.
    pub user: Option<Arc<str>>,
    /// The shell RUN uses (`SHELL`, else `/bin/sh -c`).
    pub shell: Arc<[String]>,
}

impl Step<'_> {
    /// The working directory it runs in (absolute), when known.
    pub fn workdir(&self) -> Option<&str> {
        self.state.workdir.as_deref()
    }

    /// `USER` in effect as written (expanded when possible); `None`: the base image's.
    pub fn user(&self) -> Option<&str> {
        self.state.user.as_deref()
    }

    /// The shell RUN uses here (`SHELL`, else `/bin/sh -c`).
    pub fn shell(&self) -> &[String] {
        &self.state.shell
    }
}

/// What an instruction does to the filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Config only (ENV, CMD, …) or nothing the model reads.
    None,
    /// Boxed, as is [`Self::Run`]: most steps have no effect and stay small.
    Copy(Box<CopyEffect>),
    Run(Box<RunEffect>),
}

/// A `COPY` or `ADD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyEffect {
    pub add: bool,
    /// `--from`: a stage index or an image.
    pub from: Option<CopySource>,
    /// Sources, expanded where possible (as written otherwise).
    pub sources: Vec<String>,
    /// The destination, absolute when the working directory is known.
    pub dest: Option<String>,
    /// Whether the destination names a directory (ends in `/`, or several sources).
    pub dest_is_dir: bool,
    /// The flags as BuildKit reads them (`--chown=app`, `--chmod=0755`, `--link`).
    pub flags: Vec<String>,
    /// The sources are heredocs, not context paths.
    pub heredoc: bool,
}

/// Where a `COPY --from` reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopySource {
    Stage(usize),
    Image(String),
}

/// A `RUN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEffect {
    /// The simple commands in order, when the body is POSIX shell the parser read fully (or
    /// exec form: one command).
    pub commands: Option<Vec<RunCommand>>,
    pub mounts: Vec<Mount>,
    pub installs: Vec<Install>,
    pub builds: Vec<Build>,
}

/// One simple command of a RUN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunCommand {
    /// argv as far as each word is known without running anything (`None` words hold an
    /// expansion or substitution).
    /// Shared with every RUN of the same body.
    pub argv: Arc<[Option<String>]>,
    /// `VAR=value` prefixes, as written.
    pub assignments: Vec<String>,
    /// The directory it runs in, when known (a `cd` earlier in the same RUN counts).
    pub cwd: Option<Arc<str>>,
    /// Inside a subshell, substitution, control flow or pipeline.
    pub nested: bool,
}

impl RunCommand {
    /// The program's basename, when literal.
    pub fn program(&self) -> Option<&str> {
        let first = self.argv.first()?.as_deref()?;
        Some(first.rsplit('/').next().unwrap_or(first))
    }

    /// The literal arguments after the program (unknown ones are skipped).
    fn literal_args(&self) -> impl Iterator<Item = &str> {
        self.argv.iter().skip(1).filter_map(|w| w.as_deref())
    }
}

/// Packages a RUN installs with one manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    /// The manager's name in `transforms/` (`apt-get`, `pip`, `npm`).
    pub manager: String,
    /// The literal package operands (flags and their values left out).
    pub packages: Vec<String>,
    /// Every operand was literal.
    pub complete: bool,
}

/// What a build command is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildKind {
    /// `go build`.
    GoBuild,
    /// `go install`.
    GoInstall,
    /// `npm run build`, `yarn build`, `pnpm build`, `tsc`.
    NodeScript,
    /// `make`, `cmake --build`, `cmake --install`.
    Make,
    /// `pip install` (and `python -m pip install`).
    PipInstall,
    /// `gcc`/`cc`/`g++`/`clang` with `-o`.
    Compile,
}

/// A build step of a RUN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    pub kind: BuildKind,
    /// Index into [`RunEffect::commands`].
    pub command: usize,
    /// The output file (`-o X` made absolute), when the command names one.
    pub output: Option<String>,
    /// The script or targets (`build`, `install`), or the packages built.
    pub targets: Vec<String>,
    /// Environment given on the command (`CGO_ENABLED=0 go build`), name and value.
    pub env: Vec<(String, String)>,
}

/// The image config a stage ends with, as the file sets it (what the base image sets is
/// not known here). Values are as written (BuildKit's instruction values), except WORKDIR,
/// which is resolved against earlier ones when it can be.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuntimeConfig {
    pub user: Option<String>,
    pub cmd: Option<ExecSpec>,
    pub entrypoint: Option<ExecSpec>,
    /// Name and value as written, in the order first set; a later ENV replaces the value.
    pub env: Vec<(String, String)>,
    pub expose: Vec<String>,
    pub workdir: Option<String>,
    pub volumes: Vec<String>,
    pub healthcheck: Option<Healthcheck>,
    pub stopsignal: Option<String>,
    pub labels: Vec<(String, String)>,
    pub shell: Option<Vec<String>>,
    pub onbuild: Vec<String>,
}

/// A HEALTHCHECK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Healthcheck {
    /// The test command; `None` for `HEALTHCHECK NONE`.
    pub test: Option<ExecSpec>,
    /// `--interval=5s` and the like, as written.
    pub flags: Vec<String>,
}

/// CMD or ENTRYPOINT (or a HEALTHCHECK's command).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecSpec {
    /// Exec form: the argv.
    Exec(Vec<String>),
    /// Shell form: the text, run by the stage's SHELL.
    Shell(String),
}

impl RuntimeConfig {
    fn shrink_to_fit(&mut self) {
        self.env.shrink_to_fit();
        self.expose.shrink_to_fit();
        self.volumes.shrink_to_fit();
        self.labels.shrink_to_fit();
        self.onbuild.shrink_to_fit();
    }

    fn set_pair(list: &mut Vec<(String, String)>, name: &str, value: &str) {
        match list.iter_mut().find(|(n, _)| n == name) {
            Some(entry) => value.clone_into(&mut entry.1),
            None => list.push((name.to_owned(), value.to_owned())),
        }
    }
}

const DEFAULT_SHELL: [&str; 2] = ["/bin/sh", "-c"];

impl<'a> Model<'a> {
    /// Builds the model of `file`.
    pub fn new(file: &'a Dockerfile) -> Self {
        Self::with_parser(
            file,
            Box::new(|text| shell::parse(text).map(|script| shell::Parsed::new(text, script))),
        )
    }

    /// [`Self::new`], parsing RUN bodies with `parse` (the engine passes its cache, which
    /// keeps each body's parse across passes and rounds).
    pub(crate) fn with_parser(file: &'a Dockerfile, parse: Box<effects::Parser<'a>>) -> Self {
        let posix = shell::posix_shells(file).into_iter().collect();
        Self::with_parts(file, &file.stages(), posix, parse)
    }

    /// [`Self::with_parser`], with the file's stages and [`shell::posix_shells`] already
    /// found (the engine finds them once per round for all passes). Only what every stage
    /// needs is found here (bases and names); the rest on first use of a stage.
    pub(crate) fn with_parts(
        file: &'a Dockerfile,
        file_stages: &[crate::syntax::Stage<'a>],
        posix: crate::bits::Bits,
        parse: Box<effects::Parser<'a>>,
    ) -> Self {
        let escape = file.escape;
        let mut global = Scope {
            base_known: true,
            ..Scope::default()
        };
        let mut global_args = Vec::new();
        for ins in file.global_args() {
            for (name, default) in arg_pairs(ins, &file.source) {
                let value = default.and_then(|d| global.expand(&d, escape));
                global.args.insert(name.clone(), value.clone());
                global_args.push((name, value));
            }
        }
        // the lower-cased bases that may name an earlier stage: only those names are looked
        // up below (a map of every stage's name would hold one entry per stage)
        let mut wanted: crate::hash::FxSet<String> = crate::hash::FxSet::default();
        if file_stages.iter().any(|s| s.name.is_some()) {
            for stage in file_stages {
                if let Some(mut b) = global.expand(stage.base.unwrap_or(""), escape)
                    && !b.eq_ignore_ascii_case("scratch")
                {
                    b.make_ascii_lowercase();
                    wanted.insert(b);
                }
            }
        }
        // the latest stage of each wanted name: a lookup, not a scan, per stage
        let mut latest: crate::hash::FxMap<&str, usize> = crate::hash::FxMap::default();
        let mut distinct = Vec::new();
        // where each image reference (as expanded) and `scratch` are in `distinct`
        let mut images: crate::hash::FxMap<String, u32> = crate::hash::FxMap::default();
        let mut scratch = None;
        let mut add = |base: Base| {
            let at = crate::text::to_u32(distinct.len());
            distinct.push(base);
            at
        };
        let mut bases = Vec::with_capacity(file_stages.len());
        let mut starts = Vec::with_capacity(file_stages.len());
        // the instructions before the first FROM, then each stage's FROM and instructions
        let mut at = file
            .instructions()
            .position(|i| file_stages.first().is_some_and(|s| std::ptr::eq(i, s.from)))
            .unwrap_or(0);
        // the stages are the file's FROMs, in order
        let mut items = Vec::with_capacity(file_stages.len());
        items.extend(
            file.items
                .iter()
                .enumerate()
                .filter(|(_, item)| item.instruction().is_some_and(|i| i.kind == Keyword::From))
                .map(|(k, _)| crate::text::to_u32(k)),
        );
        debug_assert_eq!(items.len(), file_stages.len());
        for (index, stage) in file_stages.iter().enumerate() {
            starts.push(crate::text::to_u32(at + 1));
            at += 1 + stage.instructions().count();
            let written = stage.base.unwrap_or("");
            let base = match global.expand(written, escape) {
                None => add(Base::Unresolved(written.to_owned())),
                Some(b) if b.eq_ignore_ascii_case("scratch") => {
                    *scratch.get_or_insert_with(|| add(Base::Scratch))
                }
                Some(b) => {
                    let parent = if latest.is_empty() {
                        None
                    } else {
                        latest.get(b.to_ascii_lowercase().as_str()).copied()
                    };
                    match parent {
                        Some(parent) => add(Base::Stage(parent)),
                        None => *images
                            .entry(b)
                            .or_insert_with_key(|b| add(Base::Image(ImageRef::parse(b)))),
                    }
                }
            };
            if let Some(name) = stage.name
                && let Some(key) = wanted.get(name.to_ascii_lowercase().as_str())
            {
                latest.insert(key.as_str(), index);
            }
            bases.push(base);
        }
        Model {
            global_args,
            stages: (0..bases.len().div_ceil(CHUNK))
                .map(|_| std::cell::OnceCell::new())
                .collect(),
            bases: bases.into_boxed_slice(),
            distinct: distinct.into_boxed_slice(),
            source: Source {
                file,
                items: items.into_boxed_slice(),
                posix,
                starts: starts.into_boxed_slice(),
                global,
                parse,
            },
        }
    }

    /// How many stages the file has.
    pub fn len(&self) -> usize {
        self.bases.len()
    }

    /// Whether the file has no stage.
    pub fn is_empty(&self) -> bool {
        self.bases.is_empty()
    }

    /// What stage `index` is built on, without building its model.
    pub fn base(&self, index: usize) -> Option<&Base> {
        Some(&self.distinct[*self.bases.get(index)? as usize])
    }

    /// Whether a stage is named `name` (ignoring ASCII case, as BuildKit compares stage
    /// names), without building the models.
    pub fn has_stage_named(&self, name: &str) -> bool {
        (0..self.len()).any(|i| self.source.is_named(i, name))
    }

    /// Stage `index`, built on first use (with the stages it is built on).
    pub fn stage(&self, index: usize) -> Option<&StageModel<'a>> {
        let cell = self.cell(index)?;
        if cell.get().is_none() {
            // the unbuilt stages it is built on first, the root first: building each from its
            // parent would recurse once per stage of a long `FROM previous` chain
            let mut chain = Vec::new();
            let mut at = index;
            while let Some(&Base::Stage(parent)) = self.base(at)
                && parent < at
                && self.built(parent).is_none()
            {
                chain.push(parent);
                at = parent;
            }
            for &i in chain.iter().rev() {
                if let Some(parent) = self.cell(i) {
                    parent.get_or_init(|| Box::new(self.build(i)));
                }
            }
        }
        Some(cell.get_or_init(|| Box::new(self.build(index))))
    }

    /// The cell of stage `index`, its chunk allocated on first use.
    fn cell(&self, index: usize) -> Option<&std::cell::OnceCell<Box<StageModel<'a>>>> {
        if index >= self.len() {
            return None;
        }
        let chunk = self.stages[index / CHUNK]
            .get_or_init(|| Box::new(std::array::from_fn(|_| std::cell::OnceCell::new())));
        Some(&chunk[index % CHUNK])
    }

    /// Stage `index` when it has been built (nothing allocated to ask).
    fn built(&self, index: usize) -> Option<&StageModel<'a>> {
        let chunk = self.stages.get(index / CHUNK)?.get()?;
        chunk[index % CHUNK].get().map(|b| &**b)
    }

    /// The `FROM` instruction of stage `index`, without building its model.
    pub fn from(&self, index: usize) -> Option<&'a Instruction> {
        self.source.file.items[self.source.item(index)?].instruction()
    }

    /// The stage holding the file's instruction number `position` (counted as
    /// [`Dockerfile::instructions`] does) and its step there, when it is not a `FROM` or a
    /// global `ARG`.
    pub fn step_at(&self, position: usize) -> Option<(&StageModel<'a>, usize)> {
        let index = self
            .source
            .starts
            .partition_point(|&s| s as usize <= position)
            .checked_sub(1)?;
        let at = position - self.source.start(index)?;
        let stage = self.stage(index)?;
        (at < stage.steps.len()).then_some((stage, at))
    }

    /// The final stage.
    pub fn last(&self) -> Option<&StageModel<'a>> {
        self.stage(self.len().checked_sub(1)?)
    }

    /// Every stage, in order (each built on first use).
    pub fn stages(&self) -> impl Iterator<Item = &StageModel<'a>> {
        (0..self.len()).filter_map(|i| self.stage(i))
    }

    /// Calls `f` with stage `index`; in a large file a stage not built yet is built for the
    /// call and not kept (for a reader that walks every stage: the whole file's model is not
    /// held). A small file's stages are kept: building one again costs more than it holds.
    pub fn with_stage<R>(&self, index: usize, f: impl FnOnce(&StageModel<'a>) -> R) -> Option<R> {
        /// Instructions below which every stage built is kept.
        const KEEP_ALL_BELOW: usize = 20_000;
        if index >= self.len() {
            return None;
        }
        if self.source.instructions() < KEEP_ALL_BELOW {
            return Some(f(self.stage(index)?));
        }
        Some(match self.built(index) {
            Some(built) => f(built),
            None => f(&self.build(index)),
        })
    }

    /// Builds the model of stage `index` (its parent from the cache).
    fn build(&self, index: usize) -> StageModel<'a> {
        let source = &self.source;
        let file = source.file;
        let escape = file.escape;
        // the instructions from its FROM to the next stage's (or the end of the file)
        let first = source.item(index).expect("a stage of the file");
        let end = source.item(index + 1).unwrap_or(file.items.len());
        let mut written = file.items[first..end]
            .iter()
            .filter_map(crate::syntax::Item::instruction);
        let from = written.next().expect("a stage starts with its FROM");
        let start = source.start(index).expect("a stage of the file");
        let count = source
            .start(index + 1)
            .map_or(source.instructions(), |next| next - 1)
            - start;
        let base = self.distinct[self.bases[index] as usize].clone();
        let parent = match base {
            Base::Stage(i) if i < index => self.stage(i),
            _ => None,
        };
        let (mut runtime, mut scope, mut workdir, mut user, mut shell_argv) = match parent {
            Some(p) => (
                p.runtime.clone(),
                Scope {
                    args: Vars::default(),
                    ..p.scope.clone()
                },
                p.workdir.clone(),
                p.runtime.user.as_deref().map(Arc::from),
                p.runtime
                    .shell
                    .as_deref()
                    .map_or_else(default_shell, Arc::from),
            ),
            None => (
                RuntimeConfig::default(),
                Scope {
                    base_known: matches!(base, Base::Scratch),
                    ..Scope::default()
                },
                initial_workdir(&base),
                None,
                default_shell(),
            ),
        };
        // what the steps share until an instruction changes it
        let mut step_workdir: Option<Arc<str>> = workdir.as_deref().map(Arc::from);
        // the state of the steps so far, shared until what it holds changes
        let mut state: Option<Arc<StepState>> = None;
        let mut steps = Vec::with_capacity(count);
        let mut cmd_set = false;
        for (k, ins) in written.enumerate() {
            // a stage's instructions follow its FROM in the file
            let pos = start + k;
            let mut effect = Effect::None;
            match ins.kind {
                Keyword::Arg => {
                    for (name, default) in arg_pairs(ins, &file.source) {
                        let value = match default {
                            Some(d) => scope.expand(&d, escape),
                            // a bare ARG brings a global one's value into the stage
                            None => source.global.args.get(&name).cloned().flatten(),
                        };
                        scope.args.insert(name, value);
                    }
                }
                Keyword::Env => {
                    for pair in ins.value(&file.source).chunks(2) {
                        if let [name, value] = pair {
                            let expanded = scope.expand(value, escape);
                            scope.env.insert((*name).to_owned(), expanded);
                            RuntimeConfig::set_pair(&mut runtime.env, name, value);
                        }
                    }
                }
                Keyword::Label => {
                    for pair in ins.value(&file.source).chunks(2) {
                        if let [name, value] = pair {
                            RuntimeConfig::set_pair(&mut runtime.labels, name, value);
                        }
                    }
                }
                Keyword::Workdir => {
                    let raw = first_value(ins, &file.source);
                    let resolved = scope
                        .expand(&raw, escape)
                        .and_then(|w| join(workdir.as_deref(), &w));
                    workdir.clone_from(&resolved);
                    step_workdir = workdir.as_deref().map(Arc::from);
                    runtime.workdir = Some(resolved.unwrap_or(raw));
                }
                Keyword::User => {
                    let raw = first_value(ins, &file.source);
                    let expanded = scope.expand(&raw, escape).unwrap_or(raw);
                    user = Some(Arc::from(expanded.as_str()));
                    runtime.user = Some(expanded);
                }
                Keyword::Shell => {
                    let argv: Vec<String> = ins
                        .value(&file.source)
                        .into_iter()
                        .map(str::to_owned)
                        .collect();
                    shell_argv = Arc::from(argv.as_slice());
                    runtime.shell = Some(argv);
                }
                Keyword::Cmd => {
                    runtime.cmd = Some(exec_spec(ins, &file.source));
                    cmd_set = true;
                }
                Keyword::Entrypoint => {
                    runtime.entrypoint = Some(exec_spec(ins, &file.source));
                    // BuildKit: an ENTRYPOINT drops a CMD the stage did not set itself
                    if !cmd_set {
                        runtime.cmd = None;
                    }
                }
                Keyword::Expose => {
                    for port in ins.value(&file.source) {
                        let port = scope.expand(port, escape).unwrap_or(port.to_owned());
                        if !runtime.expose.contains(&port) {
                            runtime.expose.push(port);
                        }
                    }
                }
                Keyword::Volume => {
                    for v in ins.value(&file.source) {
                        if !runtime.volumes.iter().any(|known| known == v) {
                            runtime.volumes.push(v.to_owned());
                        }
                    }
                }
                Keyword::Healthcheck => {
                    let flags = ins.flags().iter().map(|f| f.text.clone()).collect();
                    let test = match ins.value(&file.source).split_first() {
                        Some((kind, rest)) if kind.eq_ignore_ascii_case("CMD") => {
                            Some(if ins.is_json() {
                                ExecSpec::Exec(rest.iter().map(|v| (*v).to_owned()).collect())
                            } else {
                                ExecSpec::Shell(rest.join(" "))
                            })
                        }
                        _ => None,
                    };
                    runtime.healthcheck = Some(Healthcheck { test, flags });
                }
                Keyword::Stopsignal => {
                    runtime.stopsignal = ins.value(&file.source).first().map(|v| (*v).to_owned());
                }
                Keyword::Onbuild => {
                    let text = ins
                        .trigger()
                        .map_or_else(String::new, |t| file.slice(t.range).trim_end().to_owned());
                    runtime.onbuild.push(text);
                }
                Keyword::Copy | Keyword::Add => {
                    effect = Effect::Copy(Box::new(copy_effect(
                        ins,
                        &file.source,
                        &scope,
                        escape,
                        workdir.as_deref(),
                        index,
                        &|name| (0..index).rev().find(|&i| source.is_named(i, name)),
                    )));
                }
                Keyword::Run => {
                    effect = Effect::Run(Box::new(run_effect(
                        ins,
                        &file.source,
                        source.is_posix(pos),
                        step_workdir.as_ref(),
                        &*source.parse,
                    )));
                }
                _ => {}
            }
            let state = match &state {
                Some(same)
                    if same.workdir == step_workdir
                        && same.user == user
                        && Arc::ptr_eq(&same.shell, &shell_argv) =>
                {
                    Arc::clone(same)
                }
                _ => {
                    let new = Arc::new(StepState {
                        workdir: step_workdir.clone(),
                        user: user.clone(),
                        shell: Arc::clone(&shell_argv),
                    });
                    state = Some(Arc::clone(&new));
                    new
                }
            };
            steps.push(Step {
                instruction: ins,
                state,
                effect,
            });
        }
        let platform = from
            .flags()
            .iter()
            .find_map(|f| f.text.strip_prefix("--platform=").map(str::to_owned));
        // kept while the model is: no spare capacity from the pushes
        scope.env.shrink_to_fit();
        scope.args.shrink_to_fit();
        runtime.shrink_to_fit();
        StageModel {
            index,
            name: source.name(index).map(str::to_ascii_lowercase),
            from,
            base,
            platform,
            steps,
            runtime,
            scope,
            workdir,
        }
    }

    /// The stage a name or index refers to (`--from=build`, `--from=0`).
    pub fn stage_named(&self, reference: &str) -> Option<&StageModel<'a>> {
        self.stage(self.index_named(reference)?)
    }

    /// The index of the stage a name or index refers to, without building its model.
    fn index_named(&self, reference: &str) -> Option<usize> {
        (0..self.len())
            .find(|&i| self.source.is_named(i, reference))
            .or_else(|| reference.parse::<usize>().ok().filter(|&i| i < self.len()))
    }

    /// The image a stage ultimately builds on, following `FROM <stage>`.
    pub fn root_image(&self, index: usize) -> Option<&ImageRef> {
        let mut at = self.base(index)?;
        loop {
            match at {
                Base::Image(r) => return Some(r),
                Base::Stage(i) => at = self.base(*i)?,
                _ => return None,
            }
        }
    }

    /// Whether a later stage reads stage `index` (`COPY --from`, `FROM`, `RUN --mount=from`).
    pub fn is_used_later(&self, index: usize) -> bool {
        (index + 1..self.len()).any(|later| {
            self.base(later) == Some(&Base::Stage(index))
                || self
                    .with_stage(later, |s| {
                        s.steps.iter().any(|step| match &step.effect {
                            Effect::Copy(c) => c.from == Some(CopySource::Stage(index)),
                            Effect::Run(r) => r.mounts.iter().any(|m| {
                                m.from.as_deref().and_then(|f| self.index_named(f)) == Some(index)
                            }),
                            Effect::None => false,
                        })
                    })
                    .unwrap_or(false)
        })
    }
}

impl<'a> Source<'a> {
    /// The position of stage `index`'s `FROM` among the file's items.
    fn item(&self, index: usize) -> Option<usize> {
        self.items.get(index).map(|&i| i as usize)
    }

    /// The position of stage `index`'s first instruction after `FROM` among the file's.
    fn start(&self, index: usize) -> Option<usize> {
        self.starts.get(index).map(|&s| s as usize)
    }

    /// The name after `AS` of stage `index`, as written.
    fn name(&self, index: usize) -> Option<&'a str> {
        let from = self.file.items[self.item(index)?].instruction()?;
        from.from_parts(&self.file.source)?.1
    }

    /// Whether stage `index` is named `reference` (ignoring ASCII case, as BuildKit
    /// compares stage names).
    fn is_named(&self, index: usize, reference: &str) -> bool {
        self.name(index)
            .is_some_and(|n| n.eq_ignore_ascii_case(reference))
    }

    /// Whether RUN's shell is POSIX at instruction `position` (a position past the file's
    /// instructions: yes, the default shell).
    fn is_posix(&self, position: usize) -> bool {
        self.posix.get(position).unwrap_or(true)
    }

    /// How many instructions the file has (one POSIX fact each).
    fn instructions(&self) -> usize {
        self.posix.len()
    }
}

/// `/bin/sh -c`, one allocation shared by every stage that does not set a `SHELL`.
fn default_shell() -> Arc<[String]> {
    static SHELL: std::sync::LazyLock<Arc<[String]>> =
        std::sync::LazyLock::new(|| DEFAULT_SHELL.map(str::to_owned).into());
    Arc::clone(&SHELL)
}

/// The working directory a stage starts in: its parent's, or the image data's.
fn initial_workdir(base: &Base) -> Option<String> {
    match base {
        Base::Scratch => Some("/".to_owned()),
        Base::Image(r) => images::facts(&r.repository).map(|f| f.workdir.clone()),
        // a stage's workdir comes from its parent's model (built first)
        Base::Stage(_) | Base::Unresolved(_) => None,
    }
}

/// The first word of an instruction's value (WORKDIR's path, USER's name), empty when none.
fn first_value(ins: &Instruction, source: &str) -> String {
    ins.value(source)
        .first()
        .copied()
        .unwrap_or_default()
        .to_owned()
}

/// `ARG a=1 b` → `[("a", Some("1")), ("b", None)]`; defaults as written.
fn arg_pairs(ins: &Instruction, source: &str) -> Vec<(String, Option<String>)> {
    ins.value(source)
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (w.to_owned(), None),
        })
        .collect()
}

fn exec_spec(ins: &Instruction, source: &str) -> ExecSpec {
    if ins.is_json() {
        ExecSpec::Exec(ins.value(source).into_iter().map(str::to_owned).collect())
    } else {
        ExecSpec::Shell(
            ins.value(source)
                .first()
                .copied()
                .unwrap_or_default()
                .to_owned(),
        )
    }
}

#[cfg(test)]
mod tests;
