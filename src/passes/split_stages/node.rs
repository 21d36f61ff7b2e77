//! Node: dependencies and the build stay in the builder (`node:<v>`); the runtime is the same
//! version's `node:<v>-slim` with the app directory copied after pruning dev dependencies.
//! Global installs (`npm install -g serve`) are run again in the runtime.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use serde::Deserialize;

use super::c::image_name;
use super::{PassContext, Plan};
use crate::semantic::images::ImageFacts;
use crate::semantic::{Effect, ImageRef, Model, RunCommand, StageModel, join};

/// At most this many files are listed from the context.
const CONTEXT_LIMIT: usize = 4000;

/// How deep `npm run` may call other scripts before the pass stops following.
const DEPTH: usize = 4;

/// `transforms/node.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NodeData {
    no_slim_versions: Vec<String>,
    omit_since_major: u32,
    gyp_packages: Vec<String>,
    lifecycle_scripts: Vec<String>,
    start_builtins: Vec<String>,
    file_commands: Vec<String>,
    slim: ImageFacts,
    bins: BTreeMap<String, String>,
    #[serde(rename = "tool")]
    tools: Vec<Tool>,
}

/// A build tool whose output the pass can place.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tool {
    name: String,
    config_flags: Vec<String>,
    configs: Vec<String>,
}

pub(crate) fn load() -> Result<NodeData, String> {
    crate::transforms::table("node")
}

mod start;

static DATA: LazyLock<NodeData> =
    LazyLock::new(|| load().expect("transforms/node.toml is checked by the test suite"));

/// A `package.json` of the context.
#[derive(Debug, Default)]
struct Package {
    /// Its directory in the context (`""` for the root).
    dir: String,
    name: Option<String>,
    scripts: BTreeMap<String, String>,
    /// `dependencies`, `optionalDependencies`, `peerDependencies`.
    deps: BTreeSet<String>,
    dev: BTreeSet<String>,
    /// `packageManager` (`yarn@1.22.22`).
    manager: Option<String>,
}

impl Package {
    fn parse(dir: &str, text: &str) -> Option<Self> {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        let names = |key: &str| -> BTreeSet<String> {
            value
                .get(key)
                .and_then(serde_json::Value::as_object)
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default()
        };
        let mut deps = names("dependencies");
        deps.extend(names("optionalDependencies"));
        deps.extend(names("peerDependencies"));
        let scripts = value
            .get("scripts")
            .and_then(serde_json::Value::as_object)
            .map(|o| {
                o.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        let text_of = |key: &str| value.get(key).and_then(|v| v.as_str().map(str::to_owned));
        Some(Self {
            dir: dir.to_owned(),
            name: text_of("name"),
            scripts,
            deps,
            dev: names("devDependencies"),
            manager: text_of("packageManager"),
        })
    }
}

/// Which installer the stage uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Manager {
    Npm,
    Yarn,
}

/// What the pass learnt from the context and the builder's RUNs.
struct Facts<'a> {
    packages: Vec<Package>,
    files: std::sync::Arc<Vec<String>>,
    read: &'a dyn Fn(&str) -> Option<String>,
    /// Global installs: package names (without version) and the command to run again.
    globals: Vec<(Vec<String>, String)>,
}

impl Facts<'_> {
    fn root(&self) -> Option<&Package> {
        self.packages.iter().find(|p| p.dir.is_empty())
    }

    /// The package a workspace flag names (its directory or its name).
    fn workspace(&self, wanted: &str) -> Option<&Package> {
        let wanted = wanted.trim_end_matches('/');
        self.packages.iter().find(|p| {
            !p.dir.is_empty()
                && (p.dir == wanted.trim_start_matches("./") || p.name.as_deref() == Some(wanted))
        })
    }

    fn is_dev_only(&self, package: &str) -> bool {
        self.packages.iter().any(|p| p.dev.contains(package))
            && !self.packages.iter().any(|p| p.deps.contains(package))
    }

    /// Whether a command the runtime runs by name is there without dev dependencies.
    fn runtime_has(&self, program: &str) -> bool {
        let data = &*DATA;
        if data.start_builtins.iter().any(|b| b == program) {
            return true;
        }
        let package = data.bins.get(program).map_or(program, String::as_str);
        self.globals.iter().any(|(names, _)| {
            names
                .iter()
                .any(|n| n == package || data.bins.get(program) == Some(n))
        }) || self.packages.iter().any(|p| p.deps.contains(package))
    }
}

pub(super) fn plan(
    ctx: &PassContext<'_>,
    model: &Model<'_>,
    stage: &StageModel<'_>,
    image: &ImageRef,
    facts: &ImageFacts,
) -> Option<Plan> {
    let data = &*DATA;
    let tag = facts.read_tag(image.tag_or_latest())?;
    let version = tag.version.as_deref()?;
    if data.no_slim_versions.iter().any(|v| v == version) {
        return None;
    }
    let slim_tag = facts.slim_tag(image.tag_or_latest())?;
    let runtime = format!("{}:{slim_tag}", image_name(image));
    if super::fetches_sources(&stage.steps) {
        return None;
    }
    let context = ctx.settings.context.as_ref()?;
    let read = |path: &str| -> Option<String> { String::from_utf8(context.read(path)?).ok() };
    // a local node_modules (not ignored) is the host's install, not the app's sources
    let files = super::context_files_except(ctx, CONTEXT_LIMIT, &["node_modules"])?;
    let mut packages = Vec::new();
    for f in files
        .iter()
        .filter(|f| f.rsplit('/').next() == Some("package.json"))
    {
        let dir = f.strip_suffix("package.json")?.trim_end_matches('/');
        packages.push(Package::parse(dir, &read(f)?)?);
    }
    // a script that runs on install may generate what a prune or a fresh install loses
    if packages.iter().any(|p| {
        data.lifecycle_scripts
            .iter()
            .any(|s| p.scripts.contains_key(s))
    }) {
        return None;
    }
    // Yarn 2+ (Plug'n'Play, .yarnrc.yml) and pnpm keep dependencies elsewhere
    let root = packages.iter().find(|p| p.dir.is_empty())?;
    if files
        .iter()
        .any(|f| f == ".yarnrc.yml" || f == "pnpm-lock.yaml")
        || root.manager.as_deref().is_some_and(|m| {
            m.starts_with("pnpm") || (m.starts_with("yarn@") && !m.starts_with("yarn@1"))
        })
    {
        return None;
    }

    let split = super::shape(&ctx.file.source, stage, facts, &data.slim, &[], model)?;
    let steps = &stage.steps[..=split];
    // files are copied across as they are: ownership set during the build is not shown here
    if steps.iter().any(|s| {
        s.user()
            .is_some_and(|u| !matches!(u, "root" | "0" | "0:0" | "root:root"))
    }) {
        return None;
    }

    // the app directory: where the dependencies are installed
    let mut app: Option<String> = None;
    let mut manager = None;
    let mut known = Facts {
        packages,
        files,
        read: &read,
        globals: Vec::new(),
    };
    // every install already left dev dependencies out: nothing to prune
    let mut installs_dev = false;
    let mut production_env = false;
    for step in steps {
        let ins = step.instruction;
        if ins.kind == crate::syntax::Keyword::Env {
            for pair in ins.value(&ctx.file.source).chunks(2) {
                if let [name, value] = pair
                    && *name == "NODE_ENV"
                {
                    production_env = *value == "production";
                }
            }
        }
        let Effect::Run(run) = &step.effect else {
            continue;
        };
        for c in run.commands.as_ref()? {
            let argv: Vec<&str> = c.argv.iter().map(|w| w.as_deref()).collect::<Option<_>>()?;
            match classify(&argv, &run.installs) {
                Kind::LocalInstall(m) => {
                    let omits = argv.iter().any(|a| {
                        matches!(
                            *a,
                            "--production" | "--omit=dev" | "--only=prod" | "--only=production"
                        )
                    }) || argv.windows(2).any(|w| w == ["--omit", "dev"]);
                    let env_omits =
                        production_env && c.assignments.iter().all(|a| !a.starts_with("NODE_ENV="));
                    installs_dev |= !(omits || env_omits);
                    let cwd = c.cwd.as_deref()?.to_owned();
                    if app.get_or_insert_with(|| cwd.clone()) != &cwd
                        || manager.get_or_insert(m) != &m
                    {
                        return None;
                    }
                }
                Kind::Global(names) => {
                    let text = shell_text(&argv)?;
                    known.globals.push((names, text));
                }
                Kind::Other => {}
                Kind::Unknown => return None,
            }
        }
    }
    let app = app?;
    let manager = manager?;
    if is_system_dir(&app) {
        return None;
    }
    let inside = |path: &str| path == app || path.starts_with(&format!("{app}/"));
    // the runtime declares the VOLUME before copying the app: the classic builder drops
    // what a later step writes into a volume
    if steps.iter().any(|s| {
        s.instruction.kind == crate::syntax::Keyword::Volume
            && s.instruction.value(&ctx.file.source).iter().any(|v| {
                let v = v.trim_end_matches('/');
                inside(v) || app.starts_with(&format!("{v}/")) || v.is_empty()
            })
    }) {
        return None;
    }

    // every file the builder gets lands in the app directory, and package.json comes from the
    // context root
    let mut has_manifest = false;
    for step in steps {
        match &step.effect {
            Effect::Copy(copy) => {
                let dest = copy.dest.as_deref()?;
                if copy.from.is_some()
                    || !inside(dest.trim_end_matches('/'))
                    || copy
                        .flags
                        .iter()
                        .any(|f| f.starts_with("--chown") || f.starts_with("--chmod"))
                {
                    return None;
                }
                if dest.trim_end_matches('/') == app
                    && copy.sources.iter().any(|s| {
                        matches!(
                            s.as_str(),
                            "." | "./" | "package.json" | "package*.json" | "./package.json"
                        )
                    })
                {
                    has_manifest = true;
                }
            }
            Effect::Run(run) => {
                for c in run.commands.iter().flatten() {
                    let argv: Vec<&str> = c.argv.iter().filter_map(|w| w.as_deref()).collect();
                    if !run_ok(&argv, c, &app, &known) {
                        return None;
                    }
                }
            }
            Effect::None => {}
        }
    }
    if !has_manifest {
        return None;
    }
    // the program the image starts must not need a dev dependency
    if !start::start_ok(stage, &known) {
        return None;
    }

    let any_dev = installs_dev && known.packages.iter().any(|p| !p.dev.is_empty());
    let workdir = stage.steps[split].workdir();
    let cd = if workdir == Some(app.as_str()) {
        String::new()
    } else {
        format!("cd {app} && ")
    };
    let prune = match manager {
        Manager::Npm => {
            let major: u32 = version
                .split('.')
                .next()
                .and_then(|m| m.parse().ok())
                .unwrap_or(u32::MAX);
            if major < data.omit_since_major {
                "npm prune --production".to_owned()
            } else {
                "npm prune --omit=dev".to_owned()
            }
        }
        Manager::Yarn => {
            if known.files.iter().any(|f| f == "yarn.lock") {
                "yarn install --production --frozen-lockfile".to_owned()
            } else {
                "yarn install --production".to_owned()
            }
        }
    };
    let builder_tail = if any_dev {
        vec![format!("RUN {cd}{prune}")]
    } else {
        Vec::new()
    };
    let mut runtime_lines = vec![format!("COPY --from={{build}} {app} {app}")];
    for (_, text) in &known.globals {
        runtime_lines.push(format!("RUN {text}"));
    }
    let pruned = if any_dev {
        format!(" with dev dependencies pruned (`{prune}`)")
    } else if installs_dev {
        " (no dev dependencies to prune)".to_owned()
    } else {
        " (installed without dev dependencies)".to_owned()
    };
    let globals = if known.globals.is_empty() {
        String::new()
    } else {
        let names: Vec<&str> = known
            .globals
            .iter()
            .flat_map(|(n, _)| n.iter().map(String::as_str))
            .collect();
        format!("; global installs run again: {}", names.join(" "))
    };
    Some(Plan {
        runtime,
        before_build: None,
        builder_tail,
        runtime_lines,
        reason: format!(
            "dependencies and the build stay in the build stage; the runtime gets {app}{pruned}, \
             and the start command needs no dev dependency{globals}"
        ),
    })
}

/// What a builder command does.
enum Kind {
    /// Installs the app's dependencies (in its cwd).
    LocalInstall(Manager),
    /// A global install: the packages' names.
    Global(Vec<String>),
    /// Checked later against the app directory (builds, file commands, apt).
    Other,
    /// Anything the pass cannot follow.
    Unknown,
}

fn classify(argv: &[&str], installs: &[crate::semantic::Install]) -> Kind {
    let Some(program) = argv.first().map(|p| p.rsplit('/').next().unwrap_or(p)) else {
        return Kind::Unknown;
    };
    let operands = &argv[1..];
    let global = operands
        .iter()
        .any(|a| matches!(*a, "-g" | "--global" | "--location=global"));
    match (program, operands) {
        ("npm", [sub, ..]) if matches!(*sub, "ci" | "install" | "i" | "add") => {
            if global {
                let names = install_operands(&operands[1..])
                    .map(package_name)
                    .collect::<Vec<_>>();
                if names.is_empty() || names.iter().any(|n| n.starts_with('.')) {
                    Kind::Unknown
                } else {
                    Kind::Global(names)
                }
            } else if moves_modules(operands) {
                Kind::Unknown
            } else {
                Kind::LocalInstall(Manager::Npm)
            }
        }
        ("yarn", ["global", "add", rest @ ..]) => {
            let names: Vec<String> = install_operands(rest).map(package_name).collect();
            if names.is_empty() {
                Kind::Unknown
            } else {
                Kind::Global(names)
            }
        }
        ("yarn", []) => Kind::LocalInstall(Manager::Yarn),
        ("yarn", [sub, ..]) if sub.starts_with('-') || matches!(*sub, "install" | "add") => {
            if moves_modules(operands) {
                Kind::Unknown
            } else {
                Kind::LocalInstall(Manager::Yarn)
            }
        }
        ("pnpm" | "corepack" | "bun", _) => Kind::Unknown,
        ("apt-get" | "apt", _) => {
            // only what a native-module build needs: the runtime gets none of it
            let split = crate::semantic::images::split();
            let ok = installs.iter().all(|i| {
                i.complete
                    && i.packages.iter().all(|p| {
                        split.is_build_package(p) || DATA.gyp_packages.iter().any(|g| g == p)
                    })
            });
            let sub_ok = operands
                .iter()
                .find(|a| !a.starts_with('-'))
                .is_some_and(|s| matches!(*s, "update" | "install" | "clean"));
            if ok && sub_ok {
                Kind::Other
            } else {
                Kind::Unknown
            }
        }
        _ => Kind::Other,
    }
}

/// Install flags that put the dependencies somewhere other than `./node_modules`.
fn moves_modules(args: &[&str]) -> bool {
    args.iter().any(|a| {
        [
            "--prefix",
            "-C",
            "--cwd",
            "--modules-folder",
            "--global-folder",
        ]
        .iter()
        .any(|f| a == f || a.starts_with(&format!("{f}=")))
    })
}

/// Operands of an install: words that are not flags.
fn install_operands<'a>(args: &'a [&'a str]) -> impl Iterator<Item = &'a str> {
    args.iter().copied().filter(|a| !a.starts_with('-'))
}

/// `serve@14.2.1` → `serve`, `@scope/x@1` → `@scope/x`.
fn package_name(spec: &str) -> String {
    let (scope, rest) = match spec.strip_prefix('@') {
        Some(r) => ("@", r),
        None => ("", spec),
    };
    let name = rest.split('@').next().unwrap_or(rest);
    format!("{scope}{name}")
}

/// The command as shell text, when every word is safe unquoted.
fn shell_text(argv: &[&str]) -> Option<String> {
    argv.iter()
        .all(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "@/._=:^~+-,".contains(c))
        })
        .then(|| argv.join(" "))
}

/// Directories that are not an application's own.
fn is_system_dir(dir: &str) -> bool {
    matches!(
        dir,
        "/" | "/usr"
            | "/usr/local"
            | "/usr/local/lib"
            | "/usr/lib"
            | "/usr/src"
            | "/etc"
            | "/var"
            | "/opt"
            | "/home"
            | "/root"
            | "/tmp"
            | "/bin"
            | "/lib"
            | "/sbin"
            | "/srv"
    )
}

/// Whether a builder command (already classified as not unknown) writes only where the split
/// keeps it: the app directory, caches, or what the runtime does again.
fn run_ok(argv: &[&str], c: &RunCommand, app: &str, facts: &Facts<'_>) -> bool {
    let Some(program) = argv.first().map(|p| p.rsplit('/').next().unwrap_or(p)) else {
        return false;
    };
    let operands = &argv[1..];
    let in_app = c.cwd.as_deref() == Some(app);
    let under_app = |path: &str| {
        join(c.cwd.as_deref(), path).is_some_and(|p| p == app || p.starts_with(&format!("{app}/")))
    };
    // installs (and apt) were checked by `classify`
    let install = match (program, operands) {
        ("apt-get" | "apt", _) | ("yarn", [] | ["global", "add", ..]) => true,
        ("npm", [sub, ..]) => matches!(*sub, "ci" | "install" | "i" | "add"),
        ("yarn", [sub, ..]) => sub.starts_with('-') || matches!(*sub, "install" | "add"),
        _ => false,
    };
    if install {
        return true;
    }
    match (program, operands) {
        ("cd" | "true", _)
        | ("node" | "npm" | "yarn", ["--version" | "-v"])
        | ("npm", ["cache", "clean" | "verify", ..])
        | ("yarn", ["cache", "clean", ..]) => true,
        ("npm", ["prune" | "rebuild", ..]) => in_app,
        ("npm", ["run" | "run-script", rest @ ..]) => in_app && npm_run_ok(rest, facts),
        ("yarn", ["run", script, ..] | [script, ..]) => {
            in_app && facts.root().is_some_and(|p| script_ok(p, script, facts, 0))
        }
        ("npx", rest) => {
            let rest: Vec<&str> = rest
                .iter()
                .copied()
                .skip_while(|a| matches!(*a, "-y" | "--yes" | "--no-install"))
                .collect();
            in_app && tool_ok(&rest, "", facts)
        }
        ("rm", rest) => rest.iter().filter(|a| !a.starts_with('-')).all(|p| {
            under_app(p)
                || [
                    "/var/lib/apt/lists",
                    "/tmp",
                    "/root/.npm",
                    "/root/.cache",
                    "/usr/local/share/.cache",
                ]
                .iter()
                .any(|d| p.starts_with(d))
        }),
        ("mkdir", rest) => rest
            .iter()
            .filter(|a| !a.starts_with('-'))
            .all(|p| under_app(p)),
        (p, rest) if DATA.tools.iter().any(|t| t.name == p) => {
            let mut words = vec![p];
            words.extend(rest);
            in_app && tool_ok(&words, "", facts)
        }
        _ => false,
    }
}

/// `npm run SCRIPT [-w WS | --workspaces]`: every script it runs writes only inside the app.
fn npm_run_ok(args: &[&str], facts: &Facts<'_>) -> bool {
    let mut script = None;
    let mut targets: Vec<&Package> = Vec::new();
    let mut all = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match *a {
            "-w" | "--workspace" => match it.next().and_then(|w| facts.workspace(w)) {
                Some(p) => targets.push(p),
                None => return false,
            },
            "--workspaces" | "-ws" => all = true,
            "--if-present" => {}
            w if w.starts_with("--workspace=") => match facts.workspace(&w[12..]) {
                Some(p) => targets.push(p),
                None => return false,
            },
            w if w.starts_with('-') || w == "--" => return false,
            w if script.is_none() => script = Some(w),
            // arguments passed to the script: unknown effect on where it writes
            _ => return false,
        }
    }
    let Some(script) = script else {
        return false;
    };
    if all {
        targets.extend(facts.packages.iter().filter(|p| !p.dir.is_empty()));
        return targets
            .iter()
            .all(|p| !p.scripts.contains_key(script) || script_ok(p, script, facts, 0));
    }
    if targets.is_empty() {
        let Some(root) = facts.root() else {
            return false;
        };
        targets.push(root);
    }
    targets.iter().all(|p| script_ok(p, script, facts, 0))
}

/// A package's script (with its `pre`/`post` scripts) writes only inside the app directory.
fn script_ok(pkg: &Package, name: &str, facts: &Facts<'_>, depth: usize) -> bool {
    if depth > DEPTH || !pkg.scripts.contains_key(name) {
        return false;
    }
    [format!("pre{name}"), name.to_owned(), format!("post{name}")]
        .iter()
        .filter_map(|s| pkg.scripts.get(s))
        .all(|text| build_line_ok(pkg, text, facts, depth))
}

/// A script line: commands joined by `&&` or `;`, each a build tool, a file command on
/// relative paths, or another script.
fn build_line_ok(pkg: &Package, text: &str, facts: &Facts<'_>, depth: usize) -> bool {
    if text.replace("&&", "").contains('&')
        || text.contains(['$', '`', '>', '<', '(', ')', '|', '*', '\\', '"', '\''])
    {
        return false;
    }
    text.split("&&").flat_map(|p| p.split(';')).all(|part| {
        let words: Vec<&str> = part
            .split_whitespace()
            .skip_while(|w| w.contains('=') || *w == "cross-env")
            .collect();
        let Some(program) = words.first().copied() else {
            return false;
        };
        match (program, &words[1..]) {
            ("npm", ["run" | "run-script", script]) | ("yarn", ["run", script] | [script]) => {
                script_ok(pkg, script, facts, depth + 1)
            }
            ("npx", rest) => tool_ok(rest, &pkg.dir, facts),
            (p, rest) if DATA.file_commands.iter().any(|f| f == p) => rest
                .iter()
                .filter(|a| !a.starts_with('-'))
                .all(|a| relative_inside(a)),
            _ => tool_ok(&words, &pkg.dir, facts),
        }
    })
}

/// A path that stays inside the directory it is relative to.
fn relative_inside(path: &str) -> bool {
    !path.starts_with('/') && !path.split('/').any(|p| p == "..")
}

/// A build tool run in package directory `dir` (relative to the context): its arguments and
/// its config files name no absolute or parent path.
fn tool_ok(words: &[&str], dir: &str, facts: &Facts<'_>) -> bool {
    let Some(first) = words.first() else {
        return false;
    };
    let name = first.rsplit('/').next().unwrap_or(first);
    let Some(tool) = DATA.tools.iter().find(|t| t.name == name) else {
        return false;
    };
    let args = &words[1..];
    if !args.iter().all(|a| {
        let value = a.split_once('=').map_or(*a, |(_, v)| v);
        relative_inside(value)
    }) {
        return false;
    }
    let mut configs: Vec<String> = tool.configs.clone();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if tool.config_flags.iter().any(|f| f == a) {
            let Some(v) = it.next() else { return false };
            configs.push((*v).to_owned());
        } else if let Some((flag, v)) = a.split_once('=')
            && tool.config_flags.iter().any(|f| f == flag)
        {
            configs.push(v.to_owned());
        }
    }
    configs.iter().all(|c| {
        let path = if dir.is_empty() {
            c.clone()
        } else {
            format!("{dir}/{c}")
        };
        let path = path.trim_start_matches("./").to_owned();
        if !facts.files.contains(&path) {
            return true;
        }
        (facts.read)(&path).is_some_and(|text| !names_outside_path(&text))
    })
}

/// Whether a config file's text holds a string naming an absolute or a parent path.
fn names_outside_path(text: &str) -> bool {
    if text.contains("../") || text.contains("'..'") || text.contains("\"..\"") {
        return true;
    }
    let bytes = text.as_bytes();
    bytes.windows(3).any(|w| {
        matches!(w[0], b'"' | b'\'' | b'`') && w[1] == b'/' && w[2].is_ascii_alphanumeric()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_loads() {
        let data = load().unwrap();
        assert!(!data.slim.tools.iter().any(|t| t == "curl"));
        assert!(data.tools.iter().any(|t| t.name == "tsc"));
    }

    #[test]
    fn package_names_drop_the_version() {
        assert_eq!(package_name("serve@14.2.1"), "serve");
        assert_eq!(package_name("@scope/x@1"), "@scope/x");
        assert_eq!(package_name("pm2"), "pm2");
    }

    #[test]
    fn config_paths_outside_the_app() {
        assert!(names_outside_path(r#"{"outDir": "/srv/out"}"#));
        assert!(names_outside_path(r#"{"extends": "../base.json"}"#));
        assert!(!names_outside_path(r#"{"outDir": "dist", "base": "/"}"#));
    }
}
