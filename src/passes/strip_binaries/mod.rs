use super::{FixAvailability, PassContext, runs};

mod c;

use crate::shell::{Command, RunScript, Word};
use crate::text::{Applicability, Edit, Fix};

super::declare_pass! {
    /// ## What it does
    /// Adds `-ldflags="-s -w"` to `go build`, or merges `-s -w` into the `-ldflags` the
    /// command already has (`-ldflags "-X main.v=1"` → `-ldflags "-s -w -X main.v=1"`), so the
    /// binary carries no symbol table and no DWARF debug information.
    ///
    /// ## Why
    /// Debug information is a quarter to a third of a Go binary, and an image ships it to
    /// every machine that pulls it. Panics still print their stack traces (they use Go's own
    /// tables, which stay).
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM golang:1.22
    /// RUN go build -ldflags "-X main.version=1.0" -o /app .
    /// ```
    /// becomes
    /// ```dockerfile
    /// FROM golang:1.22
    /// RUN go build -ldflags "-s -w -X main.version=1.0" -o /app .
    /// ```
    ///
    /// ## Fix safety
    /// **Unsafe**: debuggers and profilers that read DWARF (delve, `pprof` symbolisation
    /// outside the process) no longer work on the binary. `-trimpath` stays the user's choice.
    /// No fix when `GOFLAGS` is mentioned (it may carry its own `-ldflags`), when the command
    /// gives `-ldflags` twice (Go keeps only the last), when the flags already say `-s` or
    /// `-w`, when the file mentions delve (`dlv`), or when the value is unquoted and holds an
    /// expansion (quoting it would change its word splitting). `cargo build` gets nothing:
    /// stripping belongs in Cargo.toml's profile.
    ///
    /// A C build gains `strip` of the binaries it installs only when the RUN names them: an
    /// `install` or `cp` of literal files (no glob, no variable) into a `bin` or `sbin`
    /// directory, by a RUN that builds them (a compiler or make runs before the install) in a
    /// stage that has `strip` (a compiler was installed or ran there, or the base ships gcc,
    /// and no package removal came since), as `&& strip PATH…` right after the install, in a
    /// RUN that is one `&&` list (so it runs before a later command removes the compiler). Never for
    /// `make install` alone (what it installs is the Makefile's business), a name with an
    /// extension (`.sh`, `.xsl`: a script or data) or with `debug` in it, a RUN that already
    /// strips (`strip`, `install -s`), or a file that mentions gdb, valgrind or
    /// `--enable-debug`. A file that is not a binary after all (a script without an
    /// extension) makes `strip` fail and the build with it.
    pub(crate) static STRIP_BINARIES = {
        name: "strip-binaries",
        summary: "Adds `-s -w` to the `-ldflags` of `go build`, and `strip` after a C build's named installs, so binaries carry no debug information",
        fix: FixAvailability::Sometimes,
        may: [],
        run: run,
        tier: Unsafe,
    };
}

fn run(ctx: &PassContext<'_>) -> Vec<Fix> {
    let runs = ctx.runs();
    if ctx.file.source.contains("dlv") || ctx.file.source.contains("delve") {
        return Vec::new();
    }
    let mut fixes = c::fixes(ctx);
    for run in &runs.all {
        let Ok(script) = &run.script else {
            continue;
        };
        if runs::mentioned_through(ctx.file, run.index(), "GOFLAGS") {
            continue;
        }
        for command in &script.script.commands {
            if let Some(edit) = go_build(ctx.file, script, command) {
                fixes.extend(
                    Fix::new(
                        STRIP_BINARIES.name,
                        Applicability::Unsafe,
                        "strip the Go binary's symbol table and debug information: -ldflags=\"-s -w\"",
                        vec![edit],
                    )
                    .ok(),
                );
            }
        }
    }
    fixes
}

fn go_build(
    file: &crate::syntax::Dockerfile,
    script: &RunScript<'_>,
    command: &Command,
) -> Option<Edit> {
    if command.program() != Some("go") {
        return None;
    }
    let build = command.args.first()?;
    if build.value.as_deref() != Some("build") {
        return None;
    }
    if command
        .assignments
        .iter()
        .any(|a| a.text.starts_with("GOFLAGS="))
    {
        return None;
    }
    // (flag word, value word when separate)
    let mut found: Vec<(&Word, Option<&Word>)> = Vec::new();
    let mut it = command.args.iter().skip(1);
    while let Some(w) = it.next() {
        let text = &*w.text;
        if text == "-ldflags" || text == "--ldflags" {
            found.push((w, it.next()));
        } else if text.starts_with("-ldflags=") || text.starts_with("--ldflags=") {
            found.push((w, None));
        } else if !text.starts_with('-') {
            // a package operand: flags after it belong to the program, not go build
            if text.contains('$') || text.contains('`') {
                return None;
            }
        }
    }
    match found.as_slice() {
        // a replacement of the word, not an insertion after it: text another pass appends
        // at the end of the body (when `build` is its last word) then stays after it
        // (laid out as added words are: the rest of a line that would grow too long moves
        // to a continuation line)
        [] => {
            let range = script.to_source(build.range);
            let added = super::layout::insert_words(
                file,
                script.instruction,
                range.end,
                " -ldflags=\"-s -w\"",
            );
            Some(Edit::replace(
                crate::text::TextRange::new(range.start, added.range.end),
                format!("{}{}", build.text, added.content),
            ))
        }
        [(flag, value)] => {
            let (word, raw) = match value {
                Some(v) => (*v, &*v.text),
                None => (*flag, flag.text.split_once('=')?.1),
            };
            // the word must lie on one source line, as written
            if file.slice(script.to_source(word.range)) != &*word.text {
                return None;
            }
            let offset_in_word = word.text.len() - raw.len();
            merge(script, word, raw, offset_in_word)
        }
        _ => None,
    }
}

/// Puts `-s -w ` at the start of an existing ldflags value `raw` (the tail of `word` from
/// `offset`).
fn merge(script: &RunScript<'_>, word: &Word, raw: &str, offset: usize) -> Option<Edit> {
    let unquoted = raw.trim_matches(|c| c == '"' || c == '\'');
    if unquoted
        .split_whitespace()
        .any(|f| matches!(f, "-s" | "-w" | "-s=true" | "-w=true"))
    {
        return None;
    }
    let start = script.to_source(word.range).start + u32::try_from(offset).ok()?;
    match raw.chars().next()? {
        // inside quotes a literal prefix changes nothing else
        '"' | '\'' if raw.len() >= 2 && raw.ends_with(raw.chars().next()?) => {
            Some(Edit::insert(start + 1, "-s -w "))
        }
        '"' | '\'' => None,
        _ => {
            // unquoted: one word only when it holds no expansion or quoting
            if raw.contains(['$', '`', '\\', '"', '\'']) {
                return None;
            }
            let end = script.to_source(word.range).end;
            Some(Edit::replace(
                crate::text::TextRange::new(start, end),
                format!("\"-s -w {raw}\""),
            ))
        }
    }
}
