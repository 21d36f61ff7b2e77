//! Build stages: where each starts, its name and base, and which stage it is built `FROM`.

use super::{Dockerfile, Instruction, Item, Keyword};

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
    /// The items after `FROM` up to the next `FROM`: [`Self::instructions`] reads them (a
    /// slice of the file, not a list of its own: a large file has thousands of stages).
    items: &'a [Item],
    /// The earlier stage of this file it is built `FROM`, if any (by index).
    pub parent: Option<usize>,
}

impl<'a> Stage<'a> {
    /// The instructions after `FROM`, in order.
    pub fn instructions(&self) -> impl Iterator<Item = &'a Instruction> + use<'a> {
        self.items.iter().filter_map(Item::instruction)
    }

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
        // sized exactly: a large file has thousands of stages, kept for a whole round
        let count = self
            .instructions()
            .filter(|i| i.kind == Keyword::From)
            .count();
        let mut stages: Vec<Stage<'_>> = Vec::with_capacity(count);
        // the latest stage of each name, lower-cased: a lookup, not a scan, per FROM
        let mut named: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        // where the items of the latest stage start
        let mut start = 0;
        for (at, item) in self.items.iter().enumerate() {
            let Some(from) = item.instruction() else {
                continue;
            };
            let Some((base, name)) = from.from_parts(&self.source) else {
                continue;
            };
            if let Some(last) = stages.last_mut() {
                last.items = &self.items[start..at];
            }
            // the latest earlier stage of that name, as BuildKit resolves it
            let parent = named.get(&base.to_ascii_lowercase()).copied();
            if let Some(name) = name {
                named.insert(name.to_ascii_lowercase(), stages.len());
            }
            start = at + 1;
            stages.push(Stage {
                index: stages.len(),
                from,
                base: (!base.is_empty()).then_some(base),
                name,
                items: &self.items[start..],
                parent,
            });
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
        let instructions =
            |s: &crate::syntax::Stage<'_>| s.instructions().map(|i| i.kind).collect::<Vec<_>>();
        // the list is allocated at its size; each stage's instructions end at the next FROM
        assert_eq!(stages.capacity(), 2);
        assert_eq!(instructions(&stages[0]), [crate::syntax::Keyword::Run]);
        assert_eq!(instructions(&stages[1]), [crate::syntax::Keyword::Copy]);
        assert_eq!(
            stages[1].instructions().next().unwrap().copy_from(),
            Some("build")
        );
    }
}
