//! C builds: `strip` of the binaries a RUN installs by name (`install -m755 foo
//! /usr/local/bin/foo`, `cp foo /usr/local/bin/`), never of a glob or of what `make install`
//! alone puts somewhere.

use super::super::{PassContext, runs};
use super::STRIP_BINARIES;
use crate::semantic::{Base, Effect, Model, StageModel, images};
use crate::shell::{Command, CommandContext};
use crate::text::{Applicability, Edit, Fix};

/// Programs that compile C (a stage that runs one has a C build).
const COMPILERS: &[&str] = &[
    "gcc", "cc", "g++", "c++", "clang", "clang++", "make", "cmake",
];

/// Packages that bring binutils' `strip` (a compiler depends on binutils).
const STRIP_PACKAGES: &[&str] = &[
    "gcc",
    "g++",
    "build-essential",
    "build-base",
    "binutils",
    "clang",
];

/// Programs that bring `strip` when the stage runs them (the driver is installed with it).
const STRIP_PROGRAMS: &[&str] = &["gcc", "cc", "g++", "c++", "clang", "clang++"];

pub(super) fn fixes(ctx: &PassContext<'_>) -> Vec<Fix> {
    // a file that debugs its binaries gets no fix; asked only once a RUN installs one, as
    // the answer needs a lowercase copy of the whole text
    let debugs = std::cell::OnceCell::new();
    let debugs = || {
        *debugs.get_or_init(|| {
            let lower = ctx.file.source.to_ascii_lowercase();
            ["gdb", "valgrind", "--enable-debug"]
                .iter()
                .any(|w| lower.contains(w))
        })
    };
    let runs = ctx.runs();
    let mut out = Vec::new();
    for run in &runs.all {
        let Ok(script) = &run.script else {
            continue;
        };
        if runs::plain_and_list(script).is_err() {
            continue;
        }
        let commands = &script.script.commands;
        if commands
            .iter()
            .any(|c| c.is("strip") || (c.is("install") && has_short_flag(c, 's')))
        {
            continue;
        }
        // `strip` goes right after each install, so that it runs on what was just installed
        // and before a later command of the list removes the compiler (and `strip` with it)
        let mut edits = Vec::new();
        let mut paths: Vec<String> = Vec::new();
        for command in commands {
            let Some(installed) = installed_binaries(command) else {
                continue;
            };
            let end = script.to_source(command.range).end;
            edits.push(Edit::insert(
                end,
                format!(" && strip {}", installed.join(" ")),
            ));
            paths.extend(installed);
        }
        if edits.is_empty() {
            continue;
        }
        if debugs() {
            return Vec::new();
        }
        if !builds_c_with_strip(ctx.model(), run.stage(), run.ins) {
            continue;
        }
        out.extend(ctx.fix(
            STRIP_BINARIES.name,
            Applicability::Unsafe,
            format!(
                "strip the symbol table and debug information of {}",
                paths.join(", ")
            ),
            edits,
        ));
    }
    out
}

/// `-s` among the short flags of a command (`-s`, `-Dsm755` is not read: only `-s` or a
/// cluster of letters).
fn has_short_flag(command: &Command, flag: char) -> bool {
    command.args.iter().any(|w| {
        w.text.starts_with('-')
            && !w.text.starts_with("--")
            && w.text[1..].chars().all(|c| c.is_ascii_alphabetic())
            && w.text[1..].contains(flag)
    })
}

/// The absolute paths an `install` or `cp` of named files into a `bin` or `sbin`
/// directory creates; `None` for anything else or anything not certain.
fn installed_binaries(command: &Command) -> Option<Vec<String>> {
    if command.context != CommandContext::default() || !command.assignments.is_empty() {
        return None;
    }
    let program = command.program()?;
    // flags that take the next word as their value
    let value_flags: &[&str] = match program {
        "install" => &["-m", "-o", "-g", "-t", "-S", "--mode", "--owner", "--group"],
        "cp" => &["-t"],
        _ => return None,
    };
    let mut operands: Vec<String> = Vec::new();
    let mut target_dir: Option<String> = None;
    let mut words = command.args.iter();
    while let Some(w) = words.next() {
        let text = w.value.as_deref()?;
        if text.contains(['*', '?', '[', '{']) || !command.redirects.is_empty() {
            return None;
        }
        if let Some(flag) = text.strip_prefix('-').filter(|_| text.len() > 1) {
            match flag {
                // a directory, a recursive copy, a link or a backup suffix: not a binary
                "d" | "-directory" | "r" | "R" | "a" | "-recursive" | "-archive" | "l" | "s"
                | "-symbolic-link" | "-link" | "b" | "-backup" => return None,
                _ if flag.starts_with('-') && flag.contains('=') => {
                    if let Some(dir) = flag.strip_prefix("-target-directory=") {
                        target_dir = Some(dir.to_owned());
                    }
                }
                _ if value_flags.contains(&text) || text == "--target-directory" => {
                    let value = words.next()?.value.as_deref()?.to_owned();
                    if matches!(text, "-t" | "--target-directory") {
                        target_dir = Some(value);
                    }
                }
                _ if !flag.starts_with('-') => {
                    // a cluster of letters, perhaps ending in a mode glued to `m` (`-Dm755`)
                    let letters: String =
                        flag.chars().take_while(char::is_ascii_alphabetic).collect();
                    let glued_mode = program == "install" && letters.ends_with('m');
                    if letters.len() != flag.len() && !glued_mode {
                        return None;
                    }
                    if program == "install" && letters.contains('s') {
                        return None;
                    }
                    if program == "cp" && letters.chars().any(|c| matches!(c, 'r' | 'R' | 'a')) {
                        return None;
                    }
                }
                _ => return None,
            }
            continue;
        }
        operands.push(text.to_owned());
    }
    let (sources, dest) = if let Some(dir) = target_dir {
        (operands.as_slice(), dir)
    } else {
        let (dest, sources) = operands.split_last()?;
        (sources, dest.clone())
    };
    if sources.is_empty() || !dest.starts_with('/') {
        return None;
    }
    let dest_is_dir = is_bin_dir(&dest);
    let mut out = Vec::new();
    for source in sources {
        let name = source.trim_end_matches('/').rsplit('/').next()?;
        if name.is_empty() || !looks_binary(name) {
            return None;
        }
        let path = if dest_is_dir {
            format!("{}/{name}", dest.trim_end_matches('/'))
        } else if sources.len() == 1 && is_bin_dir(dest.rsplit_once('/')?.0) {
            dest.clone()
        } else {
            return None;
        };
        if !looks_binary(path.rsplit('/').next()?) {
            return None;
        }
        out.push(path);
    }
    Some(out)
}

fn is_bin_dir(path: &str) -> bool {
    let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    matches!(last, "bin" | "sbin")
}

/// A file name a program is installed under: no extension (a script or data file has one:
/// `.sh`, `.xsl`), not hidden, not a debug build.
fn looks_binary(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    !lower.contains("debug") && !lower.contains('.')
}

/// A package manager removing packages (`apt-get remove`, `apk del`).
fn removes_packages(command: &crate::semantic::RunCommand) -> bool {
    matches!(
        command.program(),
        Some("apt-get" | "apt" | "apk" | "yum" | "dnf" | "microdnf" | "zypper" | "dpkg")
    ) && command.argv.iter().flatten().any(|w| {
        matches!(
            w.as_str(),
            "remove" | "purge" | "autoremove" | "del" | "erase" | "-r" | "-P" | "--purge"
        )
    })
}

/// Whether the RUN `ins` builds (a compiler or make runs before its install) and `strip` is
/// there: a compiler ran or was installed in the stage (or the stages it is built on), or
/// the base image ships gcc, and no package removal came after that.
fn builds_c_with_strip(
    model: &Model<'_>,
    stage: Option<usize>,
    ins: &crate::syntax::Instruction,
) -> bool {
    let Some(mut at) = stage.and_then(|s| model.stage(s)) else {
        return false;
    };
    let mut chain: Vec<&StageModel<'_>> = vec![at];
    while let Base::Stage(i) = at.base {
        match model.stage(i) {
            Some(s) if i < at.index => {
                chain.push(s);
                at = s;
            }
            _ => return false,
        }
    }
    let base_has_gcc = match &at.base {
        Base::Image(r) => {
            r.repository == "gcc"
                || images::facts(&r.repository).is_some_and(|f| {
                    // the tools are the Debian variants' (golang:…-alpine has no gcc)
                    f.distro_for(r.tag_or_latest()) != Some("alpine")
                        && f.tools.iter().any(|t| t == "gcc")
                })
        }
        _ => false,
    };
    let (mut compiles, mut has_strip) = (false, base_has_gcc);
    // root stage first, so that a later removal undoes an earlier install
    for stage in chain.iter().rev() {
        for step in &stage.steps {
            if step.instruction.range.start > ins.range.start {
                break;
            }
            let Effect::Run(run) = &step.effect else {
                continue;
            };
            let same_run = step.instruction.range.start == ins.range.start;
            has_strip |= run.installs.iter().any(|i| {
                i.packages.iter().any(|p| {
                    let name = p.split(['=', ':']).next().unwrap_or(p);
                    STRIP_PACKAGES.contains(&name)
                })
            });
            for command in run.commands.iter().flatten() {
                let Some(p) = command.program() else {
                    continue;
                };
                if same_run && matches!(p, "install" | "cp") {
                    // what follows the install runs after `strip`
                    break;
                }
                // the compiler may be gone: removed packages take binutils with them
                if removes_packages(command) {
                    has_strip = false;
                }
                // the build must be in the RUN that installs what it built
                compiles |= same_run && COMPILERS.contains(&p);
                has_strip |= STRIP_PROGRAMS.contains(&p);
            }
        }
    }
    compiles && has_strip
}

#[cfg(test)]
mod tests {
    use super::installed_binaries;

    fn paths(body: &str) -> Option<Vec<String>> {
        let script = crate::shell::parse(body).unwrap();
        installed_binaries(&script.commands[0])
    }

    #[test]
    fn named_installs_only() {
        let some = |b: &str, p: &[&str]| {
            assert_eq!(
                paths(b),
                Some(p.iter().map(|s| (*s).to_owned()).collect()),
                "{b}"
            );
        };
        some(
            "install -m755 foo /usr/local/bin/foo",
            &["/usr/local/bin/foo"],
        );
        some(
            "install -m 0755 foo /usr/local/bin",
            &["/usr/local/bin/foo"],
        );
        some("install -Dm755 build/foo /usr/bin/", &["/usr/bin/foo"]);
        some(
            "cp foo bar /usr/local/bin/",
            &["/usr/local/bin/foo", "/usr/local/bin/bar"],
        );
        some("cp -v foo /usr/local/sbin/food", &["/usr/local/sbin/food"]);
        some("install -t /usr/local/bin foo", &["/usr/local/bin/foo"]);
        for none in [
            "install -m755 bin/* /usr/local/bin/",
            "cp $BIN /usr/local/bin/",
            "install -m644 foo.conf /etc/foo.conf",
            "install -m755 run.sh /usr/local/bin/run",
            "install -s foo /usr/local/bin/",
            "cp -r dist /usr/local/bin/",
            "install -d /usr/local/bin",
            "install -m755 objs/nginx-debug /usr/sbin/nginx-debug",
            "cp foo /opt/app/foo",
            "cp foo relative/bin/",
            "cp stat.xsl /usr/local/nginx/html/",
            "cp tool /usr/local/lib/",
            "install -m755 tool.py /usr/local/bin/tool.py",
        ] {
            assert_eq!(paths(none), None, "{none}");
        }
    }
}
