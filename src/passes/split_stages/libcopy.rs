//! A glibc distroless runtime for a program that links libraries the runtime lacks: the
//! builder finds them at build time (`ldd` over the built files → `dpkg-query --search` →
//! packages, then their `Pre-Depends`/`Depends` closure), drops the packages the runtime
//! already holds (`packages` in `transforms/images.toml`), and copies the rest's files into
//! `/tmp/runtime-root`, which the runtime stage copies over `/`. Distroless has no shell and
//! no package manager, so the copy is made in the builder, and a package whose `postinst`
//! does more than run `ldconfig` stops the build (its effect would be missing).

use crate::semantic::images::{self, ImageFacts};

/// Where the builder lists the packages, and where it assembles their files.
const LIST: &str = "/tmp/runtime-packages";
const COPY_LIST: &str = "/tmp/runtime-copy";
const ROOT: &str = "/tmp/runtime-root";
const LIBS: &str = "/tmp/runtime-libraries";
const OWNERS: &str = "/tmp/runtime-owners";

/// Files no program reads at run time, left out of the copy.
const SKIPPED: &[&str] = &["/usr/share/doc/", "/usr/share/man/", "/usr/share/lintian/"];

/// Go calls that run another program (distroless has none to run).
pub(super) const GO_EXECS: &[&str] = &[
    "exec.Command",
    "exec.CommandContext",
    "exec.LookPath",
    "syscall.Exec",
    "syscall.ForkExec",
    "os.StartProcess",
];

/// C calls that run another program or a shell.
pub(super) const C_EXECS: &[&str] = &[
    "system",
    "popen",
    "execl",
    "execlp",
    "execle",
    "execv",
    "execvp",
    "execvpe",
    "execve",
    "posix_spawn",
    "posix_spawnp",
    "wordexp",
];

/// The glibc distroless runtime, when a builder on Debian `release` may use it: the same
/// release (its libraries are copied as they are) and package data to subtract.
pub(super) fn runtime_for(release: &str) -> Option<(&'static str, &'static ImageFacts)> {
    let split = images::split();
    let facts = images::facts(&split.glibc_runtime)?;
    (facts.release.as_deref() == Some(release) && !facts.packages.is_empty() && facts.libc)
        .then_some((split.glibc_runtime.as_str(), facts))
}

/// Whether `text` calls one of `names` (a name followed by `(`, not part of a longer word).
pub(super) fn calls_any(text: &str, names: &[&str]) -> bool {
    names.iter().any(|name| {
        text.match_indices(name).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
            before.is_none_or(|c| !ident(c) || name.contains('.'))
                && text[at + name.len()..].trim_start().starts_with('(')
        })
    })
}

/// The builder RUN that assembles the libraries `paths` link (with their packages'
/// dependencies, minus what `runtime` holds) under `/tmp/runtime-root`, and the runtime
/// line that copies them.
pub(super) fn copy_libraries(paths: &[String], runtime: &ImageFacts) -> (Vec<String>, Vec<String>) {
    let roots = paths.join(" ");
    // `-e PACKAGE` words, a few to a line
    let mut has: Vec<String> = Vec::new();
    for p in &runtime.packages {
        match has.last_mut() {
            Some(line) if line.len() + p.len() < 90 => {
                line.push_str(" -e ");
                line.push_str(p);
            }
            _ => has.push(format!("-e {p}")),
        }
    }
    let skipped: Vec<String> = SKIPPED.iter().map(|s| format!("-e '^{s}'")).collect();
    // one shell line per entry, joined where the file breaks long lines
    let lines = [
        format!("RUN find {roots} -type f -exec ldd '{{}}' ';' 2>/dev/null"),
        "| awk '/=> \\// { so = $(NF-1); sub(\"^/(usr/)?\", \"\", so); print \"*\" so }'".to_owned(),
        // a library no package owns (built from source) is not copied: the build stops
        format!("| sort -u > {LIBS}"),
        format!("&& {{ xargs -r dpkg-query --search < {LIBS} > {OWNERS}"),
        "|| { echo \"a linked library belongs to no package\" >&2; exit 1; }; }".to_owned(),
        format!("&& cut -d: -f1 {OWNERS} | sort -u > {LIST}"),
        // the Depends closure: every clause names an installed package (an alternative, or
        // the build stops: a virtual package is not resolved here)
        format!("&& n=0 && while [ \"$(wc -l < {LIST})\" -ne \"$n\" ]; do n=$(wc -l < {LIST})"),
        format!("&& for c in $(dpkg-query -W -f '${{Pre-Depends}},${{Depends}},' $(cat {LIST})"),
        "| sed -e 's/([^)]*)//g' -e 's/:[a-z0-9]*//g' -e 's/ //g' | tr ',' ' '); do".to_owned(),
        "p=$(dpkg-query -W -f '${db:Status-Abbrev} ${Package}\\n' $(echo \"$c\" | tr '|' ' ') 2>/dev/null".to_owned(),
        "| awk '$1 == \"ii\" { print $2 }');".to_owned(),
        "[ -n \"$p\" ] || { echo \"no installed package for dependency $c\" >&2; exit 1; };".to_owned(),
        format!("echo \"$p\" >> {LIST}; done && sort -u -o {LIST} {LIST}; done"),
        "&& { grep -vxF".to_owned(),
        has.join("{break}"),
        format!("{LIST} || [ $? -eq 1 ]; }} > {COPY_LIST}"),
        // maintainer scripts do not run in the runtime: only ldconfig's (the runtime's
        // loader finds the libraries in the multiarch directories without a cache) may be lost
        "&& ok='^[[:space:]]*(#.*|set -e|exit 0|ldconfig|if \\[ \"\\$1\" = \"configure\" \\]; then|fi)?[[:space:]]*$'"
            .to_owned(),
        format!("&& for p in $(cat {COPY_LIST}); do"),
        "for f in /var/lib/dpkg/info/$p.postinst /var/lib/dpkg/info/$p:*.postinst; do".to_owned(),
        "if [ -f \"$f\" ] && grep -Evq \"$ok\" \"$f\"; then".to_owned(),
        "echo \"$f does more than ldconfig, which the runtime cannot run\" >&2; exit 1; fi; done; done".to_owned(),
        format!("&& mkdir -p {ROOT} && for p in $(cat {COPY_LIST}); do dpkg -L \"$p\"; done"),
        format!("| grep -v {}", skipped.join(" ")),
        // files and links to files, at their real directory (not `/lib`, a link to `usr/lib`)
        "| while read -r f; do if [ ! -d \"$f\" ] && { [ -f \"$f\" ] || [ -L \"$f\" ]; }; then".to_owned(),
        "d=$(realpath \"$(dirname \"$f\")\");".to_owned(),
        format!("mkdir -p \"{ROOT}$d\" && cp -a \"$f\" \"{ROOT}$d/\" || exit 1; fi; done"),
        format!("&& rm {LIBS} {OWNERS} {LIST} {COPY_LIST}"),
    ];
    let builder = lines.join("{break}");
    let runtime = vec![format!("COPY --from={{build}} {ROOT}/ /")];
    (vec![builder], runtime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls() {
        assert!(calls_any("int r = system (\"ls\");", C_EXECS));
        assert!(!calls_any("check_filesystem(x);", C_EXECS));
        assert!(!calls_any("/* the system is */", C_EXECS));
        assert!(calls_any("cmd := exec.Command(\"ls\")", GO_EXECS));
        assert!(!calls_any("fmt.Println(\"exec\")", GO_EXECS));
    }

    #[test]
    fn script_lines_fit_and_subtract_the_runtime() {
        let (_, facts) = runtime_for("bookworm").unwrap();
        let (builder, runtime) = copy_libraries(&["/usr/local".to_owned()], facts);
        // each piece becomes a line: 4 spaces of indent, the text, " \"
        for line in builder[0].split("{break}") {
            assert!(line.len() + 6 <= 120, "{} chars: {line}", line.len() + 6);
        }
        for p in &facts.packages {
            assert!(
                builder[0].contains(&format!("-e {p} "))
                    || builder[0].contains(&format!("-e {p}{{break}}"))
            );
        }
        assert_eq!(runtime, vec![format!("COPY --from={{build}} {ROOT}/ /")]);
    }

    #[test]
    fn runtime_matches_release() {
        assert!(runtime_for("bookworm").is_some());
        assert!(runtime_for("bullseye").is_none());
        assert!(runtime_for("trixie").is_none());
    }
}
