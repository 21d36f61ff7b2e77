//! Compiled C/C++ on Debian: `make install` into /usr/local (the Makefile says so) or an
//! explicit `-o` output, on the builder's `debian:<release>-slim` with the shared libraries
//! the installed files need, found at build time.

use super::{PassContext, Plan, program, program_targets, shape};
use crate::semantic::images::{self, ImageFacts};
use crate::semantic::{BuildKind, Effect, ImageRef, Model, StageModel};

/// At most this many files are read from the context.
const CONTEXT_LIMIT: usize = 4000;

/// C and C++ calls that open a path.
const READS: &[&str] = &[
    "fopen(",
    "open(",
    "ifstream(",
    "opendir(",
    "freopen(",
    "access(",
];

/// Where the builder writes the runtime's package list.
const LIST: &str = "/tmp/runtime-packages";

pub(super) fn plan(
    ctx: &PassContext<'_>,
    model: &Model<'_>,
    stage: &StageModel<'_>,
    image: &ImageRef,
    facts: &ImageFacts,
) -> Option<Plan> {
    let split = images::split();
    let tag = image.tag_or_latest();
    let runtime = match facts.slim.as_ref() {
        Some(_) => {
            // the slim tag must name the same release
            facts.read_tag(tag)?.release?;
            format!("{}:{}", image_name(image), facts.slim_tag(tag)?)
        }
        // no slim variant (ubuntu): the same image, without the build
        None => image.reference.clone(),
    };
    let context = ctx.settings.context.as_ref()?;
    let read = |path: &str| -> Option<String> { String::from_utf8(context.read(path)?).ok() };
    if super::fetches_sources(&stage.steps) {
        return None;
    }
    // a program that opens a fixed relative or absolute path reads a file the build copied
    let files = super::context_files(ctx, CONTEXT_LIMIT)?;
    for f in files.iter().filter(|f| {
        [".c", ".cc", ".cpp", ".cxx", ".h", ".hpp"]
            .iter()
            .any(|e| f.ends_with(e))
    }) {
        let text = read(f)?;
        if READS.iter().any(|call| {
            text.match_indices(call)
                .any(|(at, _)| text[at + call.len()..].trim_start().starts_with('"'))
        }) {
            return None;
        }
    }

    // installs: apt only, all literal; a build tool among them; the rest is kept
    let mut keep: Vec<String> = Vec::new();
    let mut builds_tools = false;
    let mut outputs: Vec<String> = Vec::new();
    let mut installs_usr_local = false;
    for step in &stage.steps {
        let Effect::Run(run) = &step.effect else {
            continue;
        };
        let commands = run.commands.as_ref()?;
        for install in &run.installs {
            if !matches!(install.manager.as_str(), "apt-get" | "apt") || !install.complete {
                return None;
            }
            for p in &install.packages {
                if split.is_build_package(p) {
                    builds_tools = true;
                } else if !keep.contains(p) {
                    keep.push(p.clone());
                }
            }
        }
        for build in &run.builds {
            match build.kind {
                BuildKind::Compile => outputs.push(build.output.clone()?),
                BuildKind::Make if build.targets.iter().any(|t| t == "install") => {
                    // `make install DESTDIR=/out`, `PREFIX=/opt make install`, `make -C dir`:
                    // the files land where the Makefile alone does not say
                    let argv = &commands[build.command].argv;
                    if build.targets.iter().any(|t| t.contains('='))
                        || !build.env.is_empty()
                        || argv.iter().flatten().any(|w| {
                            matches!(w.as_str(), "-C" | "-f" | "--file" | "--directory")
                                || w.starts_with("--directory=")
                                || w.starts_with("--file=")
                        })
                    {
                        return None;
                    }
                    let cwd = commands[build.command].cwd.as_deref()?;
                    if !makefile_installs_to_usr_local(cwd, stage, &read) {
                        return None;
                    }
                    installs_usr_local = true;
                }
                BuildKind::Make => {}
                _ => return None,
            }
        }
        // other RUNs (useradd, config files written by the shell) change the image in ways
        // the runtime would lose
        for c in commands {
            let known = matches!(
                c.program(),
                Some(
                    "apt-get"
                        | "apt"
                        | "make"
                        | "gmake"
                        | "cmake"
                        | "gcc"
                        | "cc"
                        | "g++"
                        | "c++"
                        | "clang"
                        | "cd"
                        | "rm"
                        | "mkdir"
                        | "true"
                        | "./configure"
                )
            ) || c.argv.first().and_then(|w| w.as_deref()) == Some("./configure");
            if !known {
                return None;
            }
        }
    }
    if !builds_tools || (outputs.is_empty() && !installs_usr_local) {
        return None;
    }
    let word = program(stage)?;
    let workdir = stage.workdir.as_deref();
    let mut targets = None;
    for out in &outputs {
        targets = targets.or_else(|| program_targets(&word, out, workdir, &[]));
    }
    if targets.is_none() && installs_usr_local {
        let name = word.rsplit('/').next()?;
        let bin = format!("/usr/local/bin/{name}");
        targets = program_targets(&word, &bin, workdir, &[]).map(|_| Vec::new());
    }
    // the program is found at its own path (the runtime has the system PATH)
    targets?;
    let runtime_facts = super::runtime_facts(&runtime).or(Some(facts))?;
    shape(&ctx.file.source, stage, facts, runtime_facts, &keep, model)?;

    let mut copied: Vec<String> = outputs.clone();
    if installs_usr_local {
        copied.push("/usr/local".to_owned());
    }
    // libc alone (C) or libc and libstdc++ (C++): a distroless runtime carries them
    let linked = if keep.is_empty() {
        links_only_runtime(stage, &files, &read)
    } else {
        None
    };
    let distroless = linked.and_then(|kind| {
        let image = match kind {
            Linked::Libc => &split.glibc_runtime,
            Linked::Libstdcxx => &split.cxx_runtime,
        };
        // distroless has no shell and no probe tools, and is one Debian release
        let target = images::facts(image)?;
        let same_release = facts.language == "c"
            && facts.repository == split.debian
            && facts.read_tag(tag).and_then(|t| t.release) == target.release;
        (no_shell_needed(stage)
            && same_release
            && shape(&ctx.file.source, stage, facts, target, &[], model).is_some())
        .then(|| (kind, image.clone()))
    });
    // more libraries than a distroless image holds: copied into the glibc one when the builder
    // is its Debian release, nothing but built files is kept, and no source runs a program
    let copy_to = if distroless.is_none() && keep.is_empty() && no_shell_needed(stage) {
        facts
            .read_tag(tag)
            .and_then(|t| t.release)
            .filter(|_| facts.language == "c" && facts.repository == split.debian)
            .and_then(|r| super::libcopy::runtime_for(&r))
            .filter(|(_, f)| shape(&ctx.file.source, stage, facts, f, &[], model).is_some())
            .filter(|_| !runs_programs(&files, &read))
    } else {
        None
    };
    let (runtime, tail, mut lines) = if let Some((_, image)) = &distroless {
        (image.clone(), Vec::new(), Vec::new())
    } else if let Some((image, image_facts)) = copy_to {
        let (tail, lines) = super::libcopy::copy_libraries(&copied, image_facts);
        (image.to_owned(), tail, lines)
    } else {
        let (tail, lines) = derive_libraries(&copied, &keep);
        (runtime, tail, lines)
    };
    if installs_usr_local {
        lines.push("COPY --from={build} /usr/local /usr/local".to_owned());
    }
    for out in &outputs {
        let under_usr_local = installs_usr_local && out.starts_with("/usr/local/");
        if !under_usr_local {
            lines.push(format!("COPY --from={{build}} {out} {out}"));
        }
    }
    let kept = if keep.is_empty() {
        String::new()
    } else {
        format!("; kept packages: {}", keep.join(" "))
    };
    Some(Plan {
        runtime,
        before_build: None,
        builder_tail: tail,
        runtime_lines: lines,
        reason: if let Some((kind, _)) = distroless {
            let what = match kind {
                Linked::Libc => "the C library only (no C++",
                Linked::Libstdcxx => "the C and C++ libraries only (C++ sources",
            };
            format!(
                "the build links {what}, no -l flags beyond libc's own, no pkg-config), so the \
                 built files on a runtime with those libraries are all the image needs"
            )
        } else if copy_to.is_some() {
            "the built files and the shared libraries they link (found with ldd and dpkg-query \
             in the build stage, with their packages' dependencies, less what the runtime has) \
             are all the image needs"
                .to_owned()
        } else {
            format!(
                "the built files and the shared libraries they link (found with ldd and \
                 dpkg-query in the build stage) are all the image needs{kept}"
            )
        },
    })
}

/// Whether the image runs without a shell: exec-form commands and no HEALTHCHECK.
fn no_shell_needed(stage: &StageModel<'_>) -> bool {
    [&stage.runtime.cmd, &stage.runtime.entrypoint]
        .into_iter()
        .flatten()
        .all(|s| matches!(s, crate::semantic::ExecSpec::Exec(_)))
        && stage.runtime.healthcheck.is_none()
}

/// Whether a C or C++ source runs another program (`system`, `popen`, `exec*`): a runtime
/// without a shell or tools would fail there. Unreadable sources count as running one.
fn runs_programs(files: &[String], read: &dyn Fn(&str) -> Option<String>) -> bool {
    files.iter().filter(|f| is_source(f)).any(|f| {
        read(f).is_none_or(|text| super::libcopy::calls_any(&text, super::libcopy::C_EXECS))
    })
}

fn is_source(path: &str) -> bool {
    [".c", ".cc", ".cpp", ".cxx", ".h", ".hpp"]
        .iter()
        .any(|e| path.ends_with(e))
}

/// Libraries glibc itself provides (`-lm`, `-lpthread`, …).
const LIBC_LIBS: &[&str] = &["c", "m", "pthread", "dl", "rt", "util", "crypt", "resolv"];

/// What a build links, when that is only what a distroless runtime carries.
#[derive(Debug, Clone, Copy)]
enum Linked {
    /// glibc.
    Libc,
    /// glibc, libstdc++ and libgcc (C++).
    Libstdcxx,
}

/// What the build can link, when no `-l` flag (in the Makefile or on a compiler command) names
/// a library outside glibc's own (and libstdc++'s for C++) and no `pkg-config` runs.
fn links_only_runtime(
    stage: &StageModel<'_>,
    files: &[String],
    read: &dyn Fn(&str) -> Option<String>,
) -> Option<Linked> {
    let cxx_ext = [".cc", ".cpp", ".cxx", ".C", ".hpp"];
    let cxx = files.iter().any(|f| cxx_ext.iter().any(|e| f.ends_with(e)));
    let mut texts: Vec<String> = ["Makefile", "makefile", "GNUmakefile"]
        .iter()
        .filter_map(|m| read(m))
        .collect();
    for step in &stage.steps {
        if let Effect::Run(run) = &step.effect {
            for c in run.commands.iter().flatten() {
                texts.push(
                    c.argv
                        .iter()
                        .flatten()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(" "),
                );
            }
        }
    }
    let only = texts.iter().all(|t| {
        !t.contains("pkg-config")
            && !t.contains("CMAKE")
            && t.split_whitespace().all(|w| {
                w.strip_prefix("-l").is_none_or(|lib| {
                    LIBC_LIBS.contains(&lib) || (cxx && matches!(lib, "stdc++" | "gcc_s"))
                })
            })
    });
    only.then_some(if cxx { Linked::Libstdcxx } else { Linked::Libc })
}

/// The repository as written in the reference (without tag or digest).
pub(super) fn image_name(image: &ImageRef) -> String {
    let r = image
        .reference
        .split('@')
        .next()
        .unwrap_or(&image.reference);
    let slash = r.rfind('/').map_or(0, |i| i + 1);
    match r[slash..].find(':') {
        Some(colon) => r[..slash + colon].to_owned(),
        None => r.to_owned(),
    }
}

/// Whether the Makefile in `dir` (copied there from the context root) installs under
/// `/usr/local`: it sets `PREFIX`/`prefix` to `/usr/local` and uses it.
fn makefile_installs_to_usr_local(
    dir: &str,
    stage: &StageModel<'_>,
    read: &dyn Fn(&str) -> Option<String>,
) -> bool {
    if !super::copies_context_to(stage, dir) {
        return false;
    }
    let Some(text) = read("Makefile").or_else(|| read("makefile")) else {
        return false;
    };
    let sets = text.lines().any(|l| {
        let t = l.trim();
        ["PREFIX", "prefix"].iter().any(|v| {
            t.strip_prefix(v).is_some_and(|rest| {
                let rest = rest.trim_start();
                ["?=", ":=", "="].iter().any(|op| {
                    rest.strip_prefix(op)
                        .is_some_and(|value| value.trim() == "/usr/local")
                })
            })
        })
    });
    let others = text.lines().any(|l| {
        let t = l.trim_start();
        t.starts_with("install") && t.contains('/') && !t.contains("$(") && !t.contains("${")
    });
    sets && !others
}

/// The builder RUN that lists the Debian packages owning the shared libraries `paths` link
/// (plus `keep`), and the runtime lines that install the ones the runtime lacks.
pub(super) fn derive_libraries(paths: &[String], keep: &[String]) -> (Vec<String>, Vec<String>) {
    let roots = paths.join(" ");
    let keep_echo = if keep.is_empty() {
        String::new()
    } else {
        format!("{{break}}&& printf '%s\\n' {} >> {LIST}", keep.join(" "))
    };
    let builder = format!(
        "RUN find {roots} -type f -exec ldd '{{}}' ';' 2>/dev/null{{break}}\
         | awk '/=> \\// {{ so = $(NF-1); sub(\"^/(usr/)?\", \"\", so); print \"*\" so }}'{{break}}\
         | sort -u | xargs -r dpkg-query --search | cut -d: -f1 | sort -u > {LIST}{keep_echo}"
    );
    let runtime = vec![
        format!("COPY --from={{build}} {LIST} {LIST}"),
        format!(
            "RUN missing=\"$(for p in $(cat {LIST}); do dpkg -s \"$p\" >/dev/null 2>&1 || echo \"$p\"; done)\"{{break}}\
             && if [ -n \"$missing\" ]; then apt-get update{{break}}\
             && apt-get install -y --no-install-recommends $missing{{break}}\
             && rm -rf /var/lib/apt/lists/*; fi{{break}}\
             && rm {LIST}"
        ),
    ];
    (vec![builder], runtime)
}
