//! Build stages: where each starts, its name and base, and which stage it is built `FROM`.

use super::{Dockerfile, Instruction, Keyword};

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
    /// The earlier stage of this file it is built `FROM`, if any (by index).
    pub parent: Option<usize>,
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
        // each stage's instructions counted first, so that every list is allocated once at
        // its size: a large file has thousands of stages, and doubling vectors would hold
        // up to twice what they need for as long as the stages are kept
        let mut sizes: Vec<usize> = Vec::new();
        for ins in self.instructions() {
            if ins.kind == Keyword::From {
                sizes.push(0);
            } else if let Some(size) = sizes.last_mut() {
                *size += 1;
            }
        }
        let mut stages: Vec<Stage<'_>> = Vec::with_capacity(sizes.len());
        // the latest stage of each name, lower-cased: a lookup, not a scan, per FROM
        let mut named: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for ins in self.instructions() {
            if let Some((base, name)) = ins.from_parts(&self.source) {
                // the latest earlier stage of that name, as BuildKit resolves it
                let parent = named.get(&base.to_ascii_lowercase()).copied();
                if let Some(name) = name {
                    named.insert(name.to_ascii_lowercase(), stages.len());
                }
                stages.push(Stage {
                    index: stages.len(),
                    from: ins,
                    base: (!base.is_empty()).then_some(base),
                    name,
                    instructions: Vec::with_capacity(sizes[stages.len()]),
                    parent,
                });
            } else if let Some(stage) = stages.last_mut() {
                stage.instructions.push(ins);
            }
        }
        stages
    }
}

#[cfg(test)]
mod tests {
    use crate::syntax::parse;

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
        assert_eq!((stages[0].parent, stages[1].parent), (None, Some(0)));
        assert!(stages[0].is_named("BUILD"));
        assert_eq!(stages[1].instructions[0].copy_from(), Some("build"));
        // every list is allocated at its size
        assert_eq!(stages.capacity(), 2);
        assert_eq!(
            stages
                .iter()
                .map(|s| s.instructions.capacity())
                .collect::<Vec<_>>(),
            [1, 1]
        );
    }
}
