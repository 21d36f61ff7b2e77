//! What an instruction does: COPY/ADD sources and destination, and a RUN's commands with the
//! directory each runs in, what they install and what they build.

use std::sync::Arc;

use crate::managers::{self, Action};
use crate::shell::{self, Command};
use crate::syntax::{Instruction, Keyword};

use super::{Build, BuildKind, CopyEffect, CopySource, Install, RunCommand, RunEffect, Scope};

/// `path` against the directory `base` (absolute), with `.` and `..` resolved.
pub fn join(base: Option<&str>, path: &str) -> Option<String> {
    let full = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("{}/{path}", base?)
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in full.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// A `COPY`/`ADD` in the stage after `earlier` ones; `latest_named` finds the latest of
/// them with a name (what `--from=NAME` means).
pub(super) fn copy_effect(
    ins: &Instruction,
    source: &str,
    scope: &Scope,
    escape: char,
    workdir: Option<&str>,
    earlier: usize,
    latest_named: &dyn Fn(&str) -> Option<usize>,
) -> CopyEffect {
    let paths = ins.paths(source);
    let expanded: Vec<String> = paths
        .iter()
        .map(|p| {
            if ins.is_json() {
                (*p).to_owned()
            } else {
                scope.expand(p, escape).unwrap_or_else(|| (*p).to_owned())
            }
        })
        .collect();
    let (dest_raw, sources) = match expanded.split_last() {
        Some((d, s)) => (Some(d.clone()), s.to_vec()),
        None => (None, Vec::new()),
    };
    let dest_is_dir = dest_raw.as_deref().is_some_and(|d| d.ends_with('/')) || sources.len() > 1;
    let from = ins.flag_value("from").map(|f| {
        latest_named(f)
            .or_else(|| f.parse::<usize>().ok().filter(|i| *i < earlier))
            .map_or_else(|| CopySource::Image(f.to_owned()), CopySource::Stage)
    });
    CopyEffect {
        add: ins.kind == Keyword::Add,
        from,
        sources,
        dest: dest_raw.and_then(|d| {
            let joined = join(workdir, &d)?;
            // keep the trailing slash that makes it a directory
            Some(if d.ends_with('/') && joined != "/" {
                format!("{joined}/")
            } else {
                joined
            })
        }),
        dest_is_dir,
        flags: ins.flags().iter().map(|f| f.text.clone()).collect(),
        heredoc: !ins.heredocs().is_empty(),
    }
}

/// How RUN bodies are parsed: [`shell::parse`], or the engine's cache of it.
pub(crate) type Parser<'p> = dyn Fn(&str) -> Result<shell::Parsed, shell::Opaque> + 'p;

pub(super) fn run_effect(
    ins: &Instruction,
    source: &str,
    posix: bool,
    workdir: Option<&Arc<str>>,
    parse: &Parser<'_>,
) -> RunEffect {
    let mounts = ins.mounts();
    // parsed once, read twice below
    let script = if ins.is_json() {
        None
    } else {
        Some(shell::run_script_using(ins, source, posix, parse))
    };
    let commands = if ins.is_json() {
        Some(vec![RunCommand {
            argv: ins
                .json_elems()
                .iter()
                .map(|e| Some(e.value(source).to_owned()))
                .collect(),
            assignments: Vec::new(),
            cwd: workdir.cloned(),
            nested: false,
        }])
    } else {
        script
            .as_ref()
            .and_then(|s| s.as_ref().ok())
            .map(|run| shell_commands(&run.script, workdir))
    };
    let mut installs = Vec::new();
    let mut builds = Vec::new();
    let parsed = match &script {
        Some(s) => s.as_ref().ok(),
        None => None,
    };
    if let (Some(cmds), Some(run)) = (&commands, parsed) {
        for (i, (command, model)) in run.script.commands.iter().zip(cmds).enumerate() {
            if let Some(install) = install_of(command) {
                installs.push(install);
            }
            if let Some(build) = build_of(model, i) {
                builds.push(build);
            }
        }
    } else if let Some(cmds) = &commands {
        for (i, model) in cmds.iter().enumerate() {
            if let Some(build) = build_of(model, i) {
                builds.push(build);
            }
        }
    }
    // a RUN installs or builds with one command or two: a pushed-to vector holds four
    installs.shrink_to_fit();
    builds.shrink_to_fit();
    RunEffect {
        commands,
        mounts,
        installs,
        builds,
    }
}

/// The commands of a script with the directory each runs in: a top-level `cd` to a literal
/// path moves the rest; any other `cd` makes the rest unknown.
fn shell_commands(script: &shell::Script, workdir: Option<&Arc<str>>) -> Vec<RunCommand> {
    let mut cwd = workdir.cloned();
    let mut out = Vec::with_capacity(script.commands.len());
    for (c, argv) in script.commands.iter().zip(script.argvs()) {
        let ctx = c.context;
        let nested = ctx.in_substitution
            || ctx.in_subshell
            || ctx.in_brace_group
            || ctx.in_control_flow
            || ctx.in_pipeline;
        out.push(RunCommand {
            argv: Arc::clone(argv),
            assignments: c.assignments.iter().map(|a| a.text.to_string()).collect(),
            cwd: cwd.clone(),
            nested,
        });
        if c.program() == Some("cd") || c.program() == Some("pushd") || c.program() == Some("popd")
        {
            let target = c.args.first().and_then(|a| a.value.as_deref());
            cwd = match (nested, target, c.args.len()) {
                (false, Some(t), 1) if !t.starts_with('-') => {
                    join(cwd.as_deref(), t).map(Arc::from)
                }
                _ => None,
            };
        }
    }
    out
}

fn install_of(command: &Command) -> Option<Install> {
    let inv = managers::invocation(command)?;
    if inv.action() != Some(Action::Install) {
        return None;
    }
    let sub = inv.sub?;
    let after: Vec<&shell::Word> = command
        .args
        .iter()
        .skip_while(|w| !std::ptr::eq(*w, sub))
        .skip(1)
        .collect();
    let mut packages = Vec::new();
    let mut complete = true;
    let mut skip_next = false;
    for w in after {
        if skip_next {
            skip_next = false;
            continue;
        }
        let Some(v) = w.value.as_deref() else {
            complete = false;
            continue;
        };
        if v.starts_with('-') {
            skip_next = inv.manager.value_options.contains(&v)
                || matches!(v, "-r" | "--requirement" | "-c" | "--constraint" | "-e");
            if matches!(v, "-r" | "--requirement" | "-e" | "--editable") {
                complete = false;
            }
            continue;
        }
        packages.push(v.to_owned());
    }
    Some(Install {
        manager: inv.manager.name.to_owned(),
        packages,
        complete,
    })
}

fn build_of(command: &RunCommand, index: usize) -> Option<Build> {
    let program = command.program()?;
    let args: Vec<&str> = command.literal_args().collect();
    let env: Vec<(String, String)> = command
        .assignments
        .iter()
        .filter_map(|a| a.split_once('='))
        .map(|(n, v)| (n.to_owned(), v.trim_matches(['"', '\'']).to_owned()))
        .collect();
    let output = |args: &[&str]| -> Option<String> {
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if *a == "-o" {
                return join(command.cwd.as_deref(), it.next()?);
            }
            if let Some(v) = a.strip_prefix("-o=") {
                return join(command.cwd.as_deref(), v);
            }
        }
        None
    };
    let operands = |args: &[&str]| -> Vec<String> {
        let mut out = Vec::new();
        let mut skip = false;
        for a in args {
            if skip {
                skip = false;
            } else if matches!(
                *a,
                "-o" | "-ldflags" | "-tags" | "-gcflags" | "-C" | "-mod" | "-p" | "-f"
            ) {
                skip = true;
            } else if !a.starts_with('-') {
                out.push((*a).to_owned());
            }
        }
        out
    };
    let (kind, output, targets) = match (program, args.as_slice()) {
        ("go", ["build", rest @ ..]) => (BuildKind::GoBuild, output(rest), operands(rest)),
        ("go", ["install", rest @ ..]) => (BuildKind::GoInstall, None, operands(rest)),
        ("npm" | "pnpm", ["run" | "run-script", script, ..]) => {
            (BuildKind::NodeScript, None, vec![(*script).to_owned()])
        }
        ("yarn", ["run", script, ..] | [script, ..])
            if script.contains("build") || *script == "tsc" =>
        {
            (BuildKind::NodeScript, None, vec![(*script).to_owned()])
        }
        ("pnpm", [script, ..]) if script.contains("build") => {
            (BuildKind::NodeScript, None, vec![(*script).to_owned()])
        }
        ("tsc" | "vite" | "next" | "webpack", _) => {
            (BuildKind::NodeScript, None, vec![program.to_owned()])
        }
        ("make" | "gmake", rest) => (BuildKind::Make, None, operands(rest)),
        ("cmake", rest) if rest.contains(&"--build") || rest.contains(&"--install") => {
            (BuildKind::Make, None, operands(rest))
        }
        ("gcc" | "cc" | "g++" | "c++" | "clang" | "clang++", rest) if output(rest).is_some() => {
            (BuildKind::Compile, output(rest), operands(rest))
        }
        (p, ["install", rest @ ..]) if p.starts_with("pip") => {
            (BuildKind::PipInstall, None, operands(rest))
        }
        (p, ["-m", "pip", "install", rest @ ..]) if p.starts_with("python") => {
            (BuildKind::PipInstall, None, operands(rest))
        }
        _ => return None,
    };
    Some(Build {
        kind,
        command: index,
        output,
        targets,
        env,
    })
}
