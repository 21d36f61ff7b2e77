//! Build stages: where each starts, its name and base, and `COPY --from` references.

use super::{Args, Dockerfile, Instruction, Keyword};

/// One build stage (a `FROM` and the instructions up to the next `FROM`).
#[derive(Debug, Clone)]
pub struct Stage<'a> {
    pub index: usize,
    /// The `FROM` instruction.
    pub from: &'a Instruction,
    /// The base image as written (`${BASE}:${TAG:-3.19}`, `build`, `scratch`).
    pub base: Option<&'a str>,
    /// The name after `AS`, as written.
    pub name: Option<&'a str>,
    /// The instructions after `FROM`, in order.
    pub instructions: Vec<&'a Instruction>,
}

impl Stage<'_> {
    /// Whether `reference` (a `--from` value or a base) names this stage.
    pub fn is_named(&self, reference: &str) -> bool {
        self.name.is_some_and(|n| n.eq_ignore_ascii_case(reference))
            || reference == self.index.to_string()
    }
}

impl Dockerfile {
    /// `ARG` instructions before the first `FROM`: they are in scope only for `FROM` lines.
    pub fn global_args(&self) -> Vec<&Instruction> {
        self.instructions()
            .take_while(|i| i.kind != Keyword::From)
            .filter(|i| i.kind == Keyword::Arg)
            .collect()
    }

    /// The build stages in order.
    pub fn stages(&self) -> Vec<Stage<'_>> {
        let mut stages: Vec<Stage<'_>> = Vec::new();
        for ins in self.instructions() {
            if let Some((base, name)) = ins.from_parts() {
                stages.push(Stage {
                    index: stages.len(),
                    from: ins,
                    base: (!base.is_empty()).then_some(base),
                    name,
                    instructions: Vec::new(),
                });
            } else if let Some(stage) = stages.last_mut() {
                stage.instructions.push(ins);
            }
        }
        stages
    }
}

impl Instruction {
    /// For `FROM base [AS name]`, the base as written and the stage name, if any.
    pub fn from_parts(&self) -> Option<(&str, Option<&str>)> {
        if self.kind != Keyword::From {
            return None;
        }
        let words: Vec<&str> = self.words.iter().map(|w| w.text.as_str()).collect();
        let name = match words.as_slice() {
            [_, kw, name] if kw.eq_ignore_ascii_case("as") => Some(*name),
            _ => None,
        };
        Some((words.first().copied().unwrap_or(""), name))
    }

    /// The value of the first flag called `name` (`--from=build` → `build`), quotes removed.
    pub fn flag_value(&self, name: &str) -> Option<&str> {
        self.flags.iter().find_map(|f| {
            let text = f.text.strip_prefix("--")?;
            match text.split_once('=') {
                Some((n, v)) if n == name => Some(v),
                None if text == name => Some(""),
                _ => None,
            }
        })
    }

    /// For `COPY --from=X`, the stage or image `X`.
    pub fn copy_from(&self) -> Option<&str> {
        (self.kind == Keyword::Copy)
            .then(|| self.flag_value("from"))
            .flatten()
    }

    /// The paths of a `COPY` or `ADD` as BuildKit splits them: the JSON strings, or the words
    /// as written (quotes kept); the sources, then the destination. Empty without arguments.
    pub fn paths(&self) -> Vec<&str> {
        match &self.args {
            Args::Json { elems, .. } => elems.iter().map(|e| e.value.as_str()).collect(),
            Args::Shell { .. } => self.words.iter().map(|w| w.text.as_str()).collect(),
            Args::None => Vec::new(),
        }
    }

    /// The `--mount` flags of a RUN, read as BuildKit reads their CSV options.
    pub fn mounts(&self) -> Vec<Mount> {
        self.flags
            .iter()
            .filter_map(|f| f.text.strip_prefix("--mount="))
            .map(Mount::parse)
            .collect()
    }
}

/// One `RUN --mount=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// `bind` (BuildKit's default), `cache`, `tmpfs`, `secret`, `ssh`.
    pub kind: String,
    /// `target`/`dst`/`destination`, when given.
    pub target: Option<String>,
    /// `rw`/`readwrite` on a bind mount: writes are visible to the rest of the RUN only.
    pub read_write: bool,
    /// `source`/`src`: the path in the context (or in `from`), when given.
    pub source: Option<String>,
    /// `from`: a stage or image instead of the build context, when given.
    pub from: Option<String>,
}

impl Mount {
    fn parse(spec: &str) -> Self {
        let mut mount = Mount {
            kind: "bind".to_owned(),
            target: None,
            read_write: false,
            source: None,
            from: None,
        };
        for field in spec.split(',') {
            let (key, value) = field.split_once('=').unwrap_or((field, ""));
            match key.trim().to_ascii_lowercase().as_str() {
                "type" => value.trim().clone_into(&mut mount.kind),
                "target" | "dst" | "destination" => mount.target = Some(value.trim().to_owned()),
                "source" | "src" => mount.source = Some(value.trim().to_owned()),
                "from" => mount.from = Some(value.trim().to_owned()),
                "rw" | "readwrite" => {
                    mount.read_write = !matches!(value.trim(), "false" | "0");
                }
                _ => {}
            }
        }
        mount
    }
}

#[cfg(test)]
mod tests {
    use crate::syntax::parse;

    #[test]
    fn mounts() {
        let file = parse(
            "FROM a\nRUN --mount=type=cache,target=/root/.cache/pip --mount=target=/src,rw pip install .\n",
        )
        .unwrap();
        let mounts = file.instructions().nth(1).unwrap().mounts();
        assert_eq!(mounts.len(), 2);
        assert_eq!(mounts[0].kind, "cache");
        assert_eq!(mounts[0].target.as_deref(), Some("/root/.cache/pip"));
        assert_eq!(mounts[1].kind, "bind");
        assert!(mounts[1].read_write);
        assert_eq!(
            (mounts[1].source.as_deref(), mounts[1].from.as_deref()),
            (None, None)
        );
    }

    #[test]
    fn stages_names_and_refs() {
        let file = parse(
            "ARG BASE=alpine\nFROM ${BASE} AS build\nRUN make\nfrom build as final\nCOPY --from=build /a /b\n",
        )
        .unwrap();
        assert_eq!(file.global_args().len(), 1);
        let stages = file.stages();
        assert_eq!(stages.len(), 2);
        assert_eq!(stages[0].name, Some("build"));
        assert_eq!(stages[0].base, Some("${BASE}"));
        assert_eq!(stages[1].base, Some("build"));
        assert!(stages[0].is_named("BUILD"));
        assert_eq!(stages[1].instructions[0].copy_from(), Some("build"));
    }
}
