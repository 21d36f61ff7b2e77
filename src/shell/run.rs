//! The Dockerfile side of the shell layer: which RUN bodies are POSIX shell at all, and
//! their scripts with ranges mapped back to source bytes.

use super::{Opaque, Parsed};
use crate::syntax::{Dockerfile, Instruction, Keyword};
use crate::text::{JoinedRange, TextRange};

/// Why a RUN's body is not read as shell; passes skip such a RUN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// `RUN ["…"]`: an argv, not shell text.
    ExecForm,
    /// After `SHELL ["powershell", …]` or on a Windows base, RUN is not POSIX shell.
    NotPosix,
    /// A Dockerfile heredoc: the script is assembled from the bodies; not modelled yet.
    Heredoc,
    /// Not a RUN, or a RUN without arguments.
    NoBody,
    /// The shell parser did not fully understand the body.
    Opaque(Opaque),
}

/// The parsed shell of one RUN. Script ranges are offsets into [`Self::text`];
/// [`Self::to_source`] maps them to the file.
#[derive(Debug)]
pub struct RunScript<'a> {
    pub instruction: &'a Instruction,
    /// Shared, not copied: the engine hands every round the same parse of an unchanged body.
    /// Where the body starts in the joined line is asked of the instruction when a range is
    /// mapped (rarely), not kept: a large file's passes hold one of these per RUN.
    pub script: Parsed,
}

impl RunScript<'_> {
    /// The shell text ([`Instruction::shell_text`]), which the parse keeps (a reference
    /// beside it made every RUN of a large file 16 bytes larger).
    #[must_use]
    pub fn text(&self) -> &str {
        &self.script.body().text
    }

    /// The source range of a script range (a range across a continuation includes it).
    pub fn to_source(&self, r: JoinedRange) -> TextRange {
        let start = self.instruction.shell_range().map_or(0, |j| j.start);
        self.instruction.range_to_source(r.shifted(start))
    }
}

/// Parses a shell-form RUN whose shell is POSIX (`posix` from [`posix_shells`]).
/// `source` is the file's.
pub fn run_script<'a>(
    instruction: &'a Instruction,
    source: &'a str,
    posix: bool,
) -> Result<RunScript<'a>, Skip> {
    run_script_using(instruction, source, posix, |text| {
        super::parse(text).map(|script| Parsed::new(text, script))
    })
}

/// [`run_script`] with the shell parser given (a memoising one, say).
pub fn run_script_using<'a>(
    instruction: &'a Instruction,
    source: &'a str,
    posix: bool,
    parse: impl FnOnce(&str) -> Result<Parsed, Opaque>,
) -> Result<RunScript<'a>, Skip> {
    if instruction.kind != Keyword::Run {
        return Err(Skip::NoBody);
    }
    let Some(joined) = instruction.shell_range() else {
        return Err(if instruction.is_json() {
            Skip::ExecForm
        } else {
            Skip::NoBody
        });
    };
    if !posix {
        return Err(Skip::NotPosix);
    }
    if !instruction.heredocs().is_empty() {
        return Err(Skip::Heredoc);
    }
    let text = joined.slice(instruction.line(source));
    let script = parse(text).map_err(Skip::Opaque)?;
    Ok(RunScript {
        instruction,
        script,
    })
}

/// For each instruction of `file` (in [`Dockerfile::instructions`] order), whether a RUN
/// there runs under a POSIX shell: not after a non-POSIX `SHELL`, not on a Windows base,
/// and not in a stage built `FROM` a stage that was not POSIX.
pub fn posix_shells(file: &Dockerfile) -> Vec<bool> {
    posix_shells_in(file, file.stages())
}

/// [`posix_shells`] with the file's stages given (a caller that has them already).
pub(crate) fn posix_shells_in<'s>(
    file: &Dockerfile,
    stages: impl IntoIterator<Item = crate::syntax::Stage<'s>>,
) -> Vec<bool> {
    // instructions before the first FROM (global ARGs) run no shell
    let mut out: Vec<bool> = file
        .instructions()
        .take_while(|i| i.kind != Keyword::From)
        .map(|_| true)
        .collect();
    let mut stage_final: Vec<bool> = Vec::new();
    for stage in stages {
        let mut current = match stage.parent {
            Some(parent) => stage_final[parent],
            None => !is_windows_image(stage.base.unwrap_or("")),
        };
        out.push(current);
        for ins in stage.instructions() {
            if ins.kind == Keyword::Shell {
                current = is_posix_shell(&ins.value(&file.source));
            }
            out.push(current);
        }
        stage_final.push(current);
    }
    out
}

fn is_windows_image(base: &str) -> bool {
    let lower = base.to_ascii_lowercase();
    [
        "windows",
        "nanoserver",
        "servercore",
        "mcr.microsoft.com/powershell",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

fn is_posix_shell(argv: &[&str]) -> bool {
    let Some(first) = argv.first() else {
        return false;
    };
    let program = first.rsplit('/').next().unwrap_or(first);
    matches!(program, "sh" | "bash" | "dash" | "ash")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse;

    #[test]
    fn posix_tracking() {
        let file = parse(
            "FROM debian AS a\nRUN x\nSHELL [\"powershell\", \"-c\"]\nRUN y\nFROM a\nRUN z\nFROM mcr.microsoft.com/windows/servercore\nRUN w\nFROM alpine\nSHELL [\"/bin/bash\", \"-c\"]\nRUN v\n",
        )
        .unwrap();
        let p = posix_shells(&file);
        assert_eq!(
            p,
            [
                true, true, false, false, false, false, false, false, true, true, true
            ]
        );
    }

    #[test]
    fn run_scripts_map_to_source() {
        let text = "FROM a\nRUN apt-get update \\\n # note\n    && apt-get install -y curl\nRUN [\"sh\"]\nRUN <<EOF\nx\nEOF\n";
        let file = parse(text).unwrap();
        let ins: Vec<_> = file.instructions().collect();
        let run = run_script(ins[1], &file.source, true).unwrap();
        let curl = run
            .script
            .commands
            .iter()
            .flat_map(|c| &c.args)
            .find(|w| &*w.text == "curl")
            .unwrap();
        assert_eq!(run.to_source(curl.range).slice(text), "curl");
        assert_eq!(
            run_script(ins[2], &file.source, true).unwrap_err(),
            Skip::ExecForm
        );
        assert_eq!(
            run_script(ins[3], &file.source, true).unwrap_err(),
            Skip::Heredoc
        );
        assert_eq!(
            run_script(ins[1], &file.source, false).unwrap_err(),
            Skip::NotPosix
        );
    }
}
