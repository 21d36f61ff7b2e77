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
        let list = self.stage_list();
        // sized exactly: a large file has thousands of stages
        let mut stages = Vec::with_capacity(list.len());
        stages.extend(list.iter());
        stages
    }

    /// The build stages in order, kept compactly ([`Stages`]).
    pub(crate) fn stage_list(&self) -> Stages<'_> {
        let count = self
            .instructions()
            .filter(|i| i.kind == Keyword::From)
            .count();
        let mut at: Vec<StageAt> = Vec::with_capacity(count);
        // the latest stage of each name, lower-cased: a lookup, not a scan, per FROM
        let mut named: crate::hash::FxMap<String, usize> = crate::hash::FxMap::default();
        for (item, found) in self.items.iter().enumerate() {
            let Some(from) = found.instruction() else {
                continue;
            };
            let Some((base, name)) = from.from_parts(&self.source) else {
                continue;
            };
            // the latest earlier stage of that name, as BuildKit resolves it
            // most bases are written in lower case: looked up as written, without a copy
            let parent = if base.bytes().any(|b| b.is_ascii_uppercase()) {
                named.get(&base.to_ascii_lowercase())
            } else {
                named.get(base)
            }
            .copied();
            if let Some(name) = name {
                named.insert(name.to_ascii_lowercase(), at.len());
            }
            at.push(StageAt {
                from: crate::text::to_u32(item),
                parent: parent.map_or(u32::MAX, crate::text::to_u32),
            });
        }
        Stages {
            file: self,
            at: at.into_boxed_slice(),
        }
    }
}

/// Where a stage's `FROM` sits among the file's items, and the stage it is built `FROM`
/// (`u32::MAX`: none).
#[derive(Clone, Copy)]
struct StageAt {
    from: u32,
    parent: u32,
}

/// The build stages of a file, 8 bytes each rather than a [`Stage`] (80): the passes keep
/// the list for a whole round, and a large file has tens of thousands. [`Self::get`] builds
/// a stage from its `FROM` (a few word lookups).
pub(crate) struct Stages<'a> {
    file: &'a Dockerfile,
    at: Box<[StageAt]>,
}

impl<'a> Stages<'a> {
    pub(crate) fn len(&self) -> usize {
        self.at.len()
    }

    /// The stage `FROM` stage `index` is built on, when it is one of the file's.
    pub(crate) fn parent(&self, index: usize) -> Option<usize> {
        let parent = self.at.get(index)?.parent;
        (parent != u32::MAX).then_some(parent as usize)
    }

    pub(crate) fn get(&self, index: usize) -> Option<Stage<'a>> {
        let file = self.file;
        let at = self.at.get(index)?;
        let from = file.items[at.from as usize].instruction()?;
        let (base, name) = from.from_parts(&file.source)?;
        let end = self
            .at
            .get(index + 1)
            .map_or(file.items.len(), |next| next.from as usize);
        Some(Stage {
            index,
            from,
            base: (!base.is_empty()).then_some(base),
            name,
            items: &file.items[at.from as usize + 1..end],
            parent: self.parent(index),
        })
    }

    /// The stages in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Stage<'a>> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
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
        let compact = file.stage_list();
        assert_eq!(
            (compact.len(), compact.parent(0), compact.parent(1)),
            (2, None, Some(0))
        );
        assert!(compact.get(2).is_none());
        assert_eq!(instructions(&stages[0]), [crate::syntax::Keyword::Run]);
        assert_eq!(instructions(&stages[1]), [crate::syntax::Keyword::Copy]);
        assert_eq!(
            stages[1].instructions().next().unwrap().copy_from(),
            Some("build")
        );
    }

    #[test]
    fn a_base_names_the_latest_earlier_stage_in_any_case() {
        let file = parse(
            "FROM a AS Build\nFROM BUILD\nFROM b AS build\nFROM build\nFROM x AS later\nFROM Later AS c\n",
        )
        .unwrap();
        let stages = file.stage_list();
        let parents: Vec<Option<usize>> = (0..stages.len()).map(|i| stages.parent(i)).collect();
        // `later` is named only after a stage asks for it: the one named there is stage 4
        assert_eq!(parents, [None, Some(0), None, Some(2), None, Some(4)]);
        let early = parse("FROM Later\nFROM x AS later\n").unwrap();
        assert_eq!(early.stage_list().parent(0), None);
    }
}
