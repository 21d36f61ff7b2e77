//! Go: the binary of `go build -o` or `go install` on a static or glibc runtime.

use super::{PassContext, Plan, program, program_targets, shape};
use crate::semantic::images::{self, ImageFacts};
use crate::semantic::{BuildKind, Effect, ImageRef, Model, StageModel};

/// At most this many files are read from the context.
const CONTEXT_LIMIT: usize = 4000;

/// Go calls that read a file or directory by path at run time.
const READS: &[&str] = &[
    "os.Open(",
    "os.OpenFile(",
    "os.ReadFile(",
    "ioutil.ReadFile(",
    "os.ReadDir(",
    "ioutil.ReadDir(",
    "os.Stat(",
    "os.DirFS(",
    "http.Dir(",
    "template.ParseFiles(",
    "template.ParseGlob(",
    ".ParseFiles(",
    ".ParseGlob(",
    ".LoadHTMLGlob(",
    ".LoadHTMLFiles(",
    ".Static(",
    ".StaticFS(",
    "filepath.Walk(",
    "filepath.WalkDir(",
    "filepath.Glob(",
    "godotenv.Load(",
    "viper.ReadInConfig(",
];

/// Calls that always name a tree of files (never a file the user passes on the command line).
const TREE_READS: &[&str] = &[
    "http.Dir(",
    "template.ParseGlob(",
    ".ParseGlob(",
    ".LoadHTMLGlob(",
    ".Static(",
    ".StaticFS(",
    "os.DirFS(",
    "godotenv.Load(",
    "viper.ReadInConfig(",
];

pub(super) fn plan(
    ctx: &PassContext<'_>,
    model: &Model<'_>,
    stage: &StageModel<'_>,
    image: &ImageRef,
    facts: &ImageFacts,
) -> Option<Plan> {
    let tag = facts.read_tag(image.tag_or_latest())?;
    if !tag.unknown.is_empty() {
        return None;
    }
    let env = |name: &str| stage.scope.env.get(name);
    // cross-compiling or a moved GOPATH/GOBIN: the output is elsewhere
    for var in ["GOOS", "GOARCH", "GOBIN", "GOFLAGS"] {
        if env(var).is_some() {
            return None;
        }
    }
    let gopath_bin = match env("GOPATH") {
        Some(Some(p)) => format!("{p}/bin"),
        Some(None) => return None,
        None => facts.install_dir.clone()?,
    };
    let files = super::context_files(ctx, CONTEXT_LIMIT)?;
    let context = ctx.settings.context.as_ref()?;
    let read = |path: &str| -> Option<String> { String::from_utf8(context.read(path)?).ok() };
    let go_files: Vec<(String, String)> = files
        .iter()
        .filter(|f| {
            std::path::Path::new(f)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("go"))
        })
        .map(|f| Some((f.clone(), read(f)?)))
        .collect::<Option<_>>()?;
    if go_files.is_empty() {
        return None;
    }

    // the builds and their outputs
    let mut binaries: Vec<(String, usize, bool)> = Vec::new(); // path, step, cgo set off on the command
    let mut first_build = None;
    for (i, step) in stage.steps.iter().enumerate() {
        let Effect::Run(run) = &step.effect else {
            continue;
        };
        let commands = run.commands.as_ref()?;
        for build in &run.builds {
            let cmd = &commands[build.command];
            let cgo_off = build
                .env
                .iter()
                .any(|(n, v)| n == "CGO_ENABLED" && v == "0");
            if build.env.iter().any(|(n, _)| {
                matches!(
                    n.as_str(),
                    "GOOS" | "GOARCH" | "GOBIN" | "GOPATH" | "GOFLAGS"
                )
            }) || cmd.argv.iter().any(|w| w.as_deref() == Some("-race"))
            {
                return None;
            }
            let output = match build.kind {
                BuildKind::GoBuild => build.output.clone()?,
                BuildKind::GoInstall => {
                    // no package: the one in the current directory
                    let target = match build.targets.as_slice() {
                        [] => ".",
                        [t] => t.as_str(),
                        _ => return None,
                    };
                    let name = install_name(target, cmd.cwd.as_deref(), stage, &read)?;
                    format!("{gopath_bin}/{name}")
                }
                _ => continue,
            };
            first_build.get_or_insert(i);
            binaries.push((output, i, cgo_off));
        }
    }
    let first_build = first_build?;
    if super::fetches_sources(&stage.steps) || !builder_runs_only_builds(stage) {
        return None;
    }

    // the program the image runs must be one of the binaries
    let word = program(stage)?;
    let builder_path = super::builder_path(stage, facts)?;
    let workdir = stage.workdir.as_deref();
    let (binary, targets) = binaries.iter().find_map(|(b, _, _)| {
        program_targets(&word, b, workdir, &builder_path).map(|t| (b.clone(), t))
    })?;
    let (_, _, cgo_off_on_command) = binaries.iter().find(|(b, _, _)| *b == binary)?;

    // files read at run time by a fixed path
    for (path, text) in &go_files {
        if path.ends_with("_test.go") {
            continue;
        }
        if reads_fixed_paths(text) {
            return None;
        }
    }

    // cgo
    let cgo_env_off = matches!(env("CGO_ENABLED"), Some(Some(v)) if v == "0");
    let cgo_env_on = matches!(env("CGO_ENABLED"), Some(Some(v)) if v != "0")
        || matches!(env("CGO_ENABLED"), Some(None));
    let imports_c = go_files.iter().any(|(_, t)| imports_c(t));
    let deps_seen = deps_all_in_context(&files, &read);
    let mut before_build = None;
    let (cgo_off, reason) = if cgo_env_off || *cgo_off_on_command {
        (true, "cgo is off (CGO_ENABLED=0)".to_owned())
    } else if !cgo_env_on && !imports_c && deps_seen {
        before_build = Some((first_build, "ENV CGO_ENABLED=0".to_owned()));
        (
            true,
            "no Go file in the context imports \"C\" and every dependency is in the context, \
             so the build sets CGO_ENABLED=0"
                .to_owned(),
        )
    } else {
        (false, "cgo stays on".to_owned())
    };

    let needs_shell = [&stage.runtime.cmd, &stage.runtime.entrypoint]
        .into_iter()
        .flatten()
        .any(|s| matches!(s, crate::semantic::ExecSpec::Shell(_)))
        || stage.runtime.healthcheck.is_some();
    let release = facts.release_at_most(image.tag_or_latest());
    let links_more = go_files
        .iter()
        .any(|(_, t)| t.contains("#cgo ") && t.contains("LDFLAGS"))
        || go_files.iter().any(|(_, t)| t.contains("#cgo pkg-config"));
    let split = images::split();
    let mut copies_libraries = false;
    let (runtime, tail, extra): (String, Vec<String>, Vec<String>) = if cgo_off && !needs_shell {
        (split.static_runtime.clone(), Vec::new(), Vec::new())
    } else if tag.other_os {
        // musl builds (alpine): only static binaries leave
        return None;
    } else if !cgo_off && !needs_shell && !links_more && !imports_c && deps_seen {
        // cgo only through the standard library (net, os/user): glibc alone
        let r = release.as_deref()?;
        let glibc = images::facts(&split.glibc_runtime)?;
        if images::release_rank(r)? > images::release_rank(glibc.release.as_deref()?)? {
            return None;
        }
        (split.glibc_runtime.clone(), Vec::new(), Vec::new())
    } else if let Some((glibc, glibc_facts)) = release
        .as_deref()
        .and_then(super::libcopy::runtime_for)
        .filter(|_| {
            // every source is readable (no module fetched), so none runs another program
            !needs_shell
                && deps_seen
                && !go_files
                    .iter()
                    .any(|(_, t)| super::libcopy::calls_any(t, super::libcopy::GO_EXECS))
        })
        // the golang image's CA bundle and zoneinfo must be there too
        .filter(|(_, f)| f.ca_certificates && f.zoneinfo)
        .filter(|(_, f)| shape(&ctx.file.source, stage, facts, f, &[], model).is_some())
    {
        // the same Debian release as the glibc distroless runtime, and the program runs
        // nothing else: the libraries it links, with their packages' dependencies, are copied
        // from the builder (distroless has the CA bundle and zoneinfo)
        let (tail, lines) =
            super::libcopy::copy_libraries(std::slice::from_ref(&binary), glibc_facts);
        copies_libraries = true;
        (glibc.to_owned(), tail, lines)
    } else {
        // a Debian runtime: the libraries the binary links (none when static) and what the
        // golang image carries for every program (CA bundle, zoneinfo)
        let r = release.as_deref()?;
        let runtime = super::debian_slim(r)?;
        let (tail, lines) =
            super::c::derive_libraries(std::slice::from_ref(&binary), &split.go_runtime_packages);
        (runtime, tail, lines)
    };
    let runtime_facts = super::runtime_facts(&runtime)?;
    shape(&ctx.file.source, stage, facts, runtime_facts, &[], model)?;
    if !runtime_facts.libc && !cgo_off {
        return None;
    }
    let mut runtime_lines = extra;
    for target in targets {
        runtime_lines.push(format!("COPY --from={{build}} {binary} {target}"));
    }
    Some(Plan {
        runtime,
        before_build,
        builder_tail: tail,
        runtime_lines,
        reason: if copies_libraries {
            format!(
                "{reason}; the binary {binary} and the shared libraries it links (found with ldd \
                 and dpkg-query in the build stage, with their packages' dependencies, less \
                 what the runtime has) are all the image needs"
            )
        } else {
            format!("{reason}; the binary {binary} is all the image needs")
        },
    })
}

/// Whether every RUN of the stage only builds: the go command, package installs of build
/// tools, directory changes and removals. Anything else (a user, a data directory, a
/// package the program may run) would be lost with the builder.
fn builder_runs_only_builds(stage: &StageModel<'_>) -> bool {
    let split = images::split();
    stage.steps.iter().all(|step| {
        let Effect::Run(run) = &step.effect else {
            return true;
        };
        let Some(commands) = &run.commands else {
            return false;
        };
        // `go install` and `go get` are the go manager's installs: builds here
        let installs_ok = run.installs.iter().all(|i| {
            i.manager == "go"
                || matches!(i.manager.as_str(), "apt-get" | "apt")
                    && i.complete
                    && i.packages.iter().all(|p| {
                        split.is_build_package(p) || split.go_build_packages.iter().any(|g| g == p)
                    })
        });
        installs_ok
            && commands.iter().all(|c| {
                matches!(
                    c.program(),
                    Some("go" | "apt-get" | "apt" | "cd" | "rm" | "mkdir" | "true")
                )
            })
    })
}

/// The program name `go install TARGET` writes: the last path element (major version
/// suffixes dropped), or for `.` the module's from go.mod in the context.
fn install_name(
    target: &str,
    cwd: Option<&str>,
    stage: &StageModel<'_>,
    read: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    let target = target.split('@').next()?;
    let path = if target == "." || target.is_empty() {
        module_path(cwd?, stage, read)?
    } else if let Some(rel) = target.strip_prefix("./") {
        rel.trim_end_matches('/').to_owned()
    } else {
        target.to_owned()
    };
    if path.contains("...") {
        return None;
    }
    let mut parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let last = parts.pop()?;
    let is_major =
        last.len() > 1 && last.starts_with('v') && last[1..].chars().all(|c| c.is_ascii_digit());
    let name = if is_major { parts.pop()? } else { last };
    Some(name.to_owned())
}

/// The module path of the go.mod the context copy put in `dir`.
fn module_path(
    dir: &str,
    stage: &StageModel<'_>,
    read: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    if !super::copies_context_to(stage, dir) {
        return None;
    }
    let gomod = read("go.mod")?;
    gomod.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("module")?;
        Some(rest.trim().trim_matches('"').to_owned())
    })
}

/// Whether a Go source imports the C pseudo-package.
fn imports_c(text: &str) -> bool {
    text.lines().any(|l| {
        let t = l.trim();
        t == "import \"C\"" || t == "\"C\""
    })
}

/// Whether the go.mod in the context requires nothing, or its requirements are vendored.
fn deps_all_in_context(files: &[String], read: &dyn Fn(&str) -> Option<String>) -> bool {
    let mods: Vec<&String> = files.iter().filter(|f| f.ends_with("go.mod")).collect();
    if mods.len() != 1 {
        return false;
    }
    let Some(text) = read(mods[0]) else {
        return false;
    };
    let requires = text.lines().any(|l| l.trim_start().starts_with("require"));
    !requires || files.iter().any(|f| f == "vendor/modules.txt")
}

/// Whether a Go source reads a fixed path at run time: a read call whose first argument is
/// a string literal, or a call that always serves or parses a tree of files.
fn reads_fixed_paths(text: &str) -> bool {
    for call in READS {
        let mut rest = text;
        while let Some(at) = rest.find(call) {
            let after = &rest[at + call.len()..];
            if TREE_READS.contains(call) || after.trim_start().starts_with(['"', '`']) {
                return true;
            }
            rest = after;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_reads_and_cgo() {
        assert!(reads_fixed_paths(
            "t := template.Must(template.ParseFiles(\"a.html\"))"
        ));
        assert!(reads_fixed_paths(
            "http.Handle(\"/\", http.FileServer(http.Dir(dir)))"
        ));
        assert!(!reads_fixed_paths("f, err := os.Open(flag.Arg(0))"));
        assert!(imports_c(
            "package x\n\n// #include <stdio.h>\nimport \"C\"\n"
        ));
        assert!(!imports_c("import \"fmt\"\n"));
    }
}
