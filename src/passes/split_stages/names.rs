//! Stage names for a split: the final stage keeps its name on the runtime stage (what
//! `--target NAME` and every reference meant), and the builder gets a name nothing in the
//! file uses or refers to.

use crate::semantic::{Model, StageModel};
use crate::syntax::{Dockerfile, Instruction, Keyword};
use crate::text::{Edit, TextRange};

/// The builder's name and the edits that give it: `(name, edits, runtime_name)`. The
/// runtime stage gets the final stage's name as written (`runtime_name`), the builder the
/// first of `build`, `builder`, `build-stage` that no stage has and nothing refers to.
/// `None` when all three are taken, when a reference is written with a variable (it could
/// name the new stage), or when the file refers to the final stage's name anywhere (an
/// earlier stage may name a later one in BuildKit): moving the name would change what that
/// reference builds.
pub(super) fn builder_name(
    file: &Dockerfile,
    model: &Model<'_>,
    stage: &StageModel<'_>,
) -> Option<(String, Vec<Edit>, Option<String>)> {
    let refs = references(file);
    if refs.iter().any(|r| r.contains('$')) {
        return None;
    }
    let taken =
        |n: &str| model.has_stage_named(n) || refs.iter().any(|r| r.eq_ignore_ascii_case(n));
    let name = ["build", "builder", "build-stage"]
        .into_iter()
        .find(|n| !taken(n))?
        .to_owned();
    let from = stage.from;
    let Some(own) = &stage.name else {
        let edit = Edit::insert(from.content_end(), format!(" AS {name}"));
        return Some((name, vec![edit], None));
    };
    if refs.iter().any(|r| r.eq_ignore_ascii_case(own)) {
        return None;
    }
    let range = name_range(file, from)?;
    let written = file.slice(range).to_owned();
    if !written.eq_ignore_ascii_case(own) {
        return None;
    }
    Some((
        name.clone(),
        vec![Edit::replace(range, name)],
        Some(written),
    ))
}

/// Where `FROM base AS name` writes its name: the last word of the instruction's text.
fn name_range(file: &Dockerfile, from: &Instruction) -> Option<TextRange> {
    let start = from.range.start;
    let text = file
        .slice(TextRange::new(start, from.content_end()))
        .trim_end();
    let word = text.rsplit(char::is_whitespace).next()?;
    let end = start + u32::try_from(text.len()).ok()?;
    let len = u32::try_from(word.len()).ok()?;
    Some(TextRange::new(end - len, end))
}

/// Every stage or image name the file refers to: FROM bases, `COPY`/`ADD --from`, RUN
/// `--mount=from=`, in ONBUILD triggers too, as written.
fn references(file: &Dockerfile) -> Vec<String> {
    let mut out = Vec::new();
    for ins in file.instructions() {
        collect(ins, &file.source, &mut out);
        if let Some(t) = ins.trigger() {
            collect(t, &file.source, &mut out);
        }
    }
    out
}

fn collect(ins: &Instruction, source: &str, out: &mut Vec<String>) {
    match ins.kind {
        Keyword::From => {
            if let Some((base, _)) = ins.from_parts(source) {
                out.push(base.to_owned());
            }
        }
        Keyword::Copy | Keyword::Add => {
            if let Some(f) = ins.flag_value("from") {
                out.push(f.to_owned());
            }
        }
        Keyword::Run => out.extend(ins.mounts().into_iter().filter_map(|m| m.from)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_name_word_maps_back_to_the_source() {
        for text in [
            "FROM golang:1.21 AS build\n",
            "\u{feff}FROM golang:1.21 AS build\n",
            "FROM golang:1.21 \\\n  as Build\n",
            "FROM golang:1.21 AS build  \r\n",
        ] {
            let file = crate::syntax::parse(text).unwrap();
            let from = file.instructions().next().unwrap();
            let range = super::name_range(&file, from).unwrap();
            assert!(
                file.slice(range).eq_ignore_ascii_case("build"),
                "{text:?}: {:?}",
                file.slice(range)
            );
        }
    }
}
