//! WORKDIR arithmetic: the directory each instruction runs in, as far as the file alone
//! tells (relative to the base image's WORKDIR until an absolute WORKDIR).

use super::{Instruction, Keyword};
use std::rc::Rc;

/// A directory in the image: absolute, or relative to the unknown directory a stage starts
/// in (its base image's WORKDIR).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImageDir {
    pub(crate) absolute: bool,
    pub(crate) parts: Vec<String>,
}

impl ImageDir {
    pub(crate) fn start() -> Self {
        Self {
            absolute: false,
            parts: Vec::new(),
        }
    }

    /// `path` taken from this directory; `None` when it climbs above an unknown start.
    pub(crate) fn join(&self, path: &str) -> Option<ImageDir> {
        let mut dir = if path.starts_with('/') {
            ImageDir {
                absolute: true,
                parts: Vec::new(),
            }
        } else {
            self.clone()
        };
        for part in path.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    if dir.parts.pop().is_none() && !dir.absolute {
                        return None;
                    }
                }
                p => dir.parts.push(p.to_owned()),
            }
        }
        Some(dir)
    }

    /// The path of `self` below `base`, as parts; `None` when it is not inside it.
    pub(crate) fn below(&self, base: &ImageDir) -> Option<Vec<String>> {
        (self.absolute == base.absolute && self.parts.starts_with(&base.parts))
            .then(|| self.parts[base.parts.len()..].to_vec())
    }
}

/// A word that is literal in every reading: no variables, quotes, escapes, globs or blanks.
pub(crate) fn plain(word: &str, escape: char) -> bool {
    !word.is_empty()
        && !word.contains(['$', '"', '\'', '*', '?', '[', '{', '~', '\\', '`'])
        && !word.contains(escape)
        && !word.chars().any(char::is_whitespace)
}

/// The working directory in effect at each instruction (`None` when unknown).
/// `source` is the file's. Instructions between two WORKDIRs share one directory: a large
/// file has hundreds of thousands of instructions, and a copy each cost ~45 bytes (its
/// parts) where a shared one costs a pointer.
pub(crate) fn working_dirs(
    source: &str,
    instructions: &[&Instruction],
) -> Vec<Option<Rc<ImageDir>>> {
    let start = Rc::new(ImageDir::start());
    let mut cwd = Some(Rc::clone(&start));
    instructions
        .iter()
        .map(|ins| {
            match ins.kind {
                Keyword::From => cwd = Some(Rc::clone(&start)),
                Keyword::Workdir => {
                    cwd = match ins.value(source).as_slice() {
                        [path] if plain(path, '\\') => match &cwd {
                            Some(dir) => dir.join(path),
                            None if path.starts_with('/') => ImageDir::start().join(path),
                            None => None,
                        }
                        .map(Rc::new),
                        _ => None,
                    };
                }
                _ => {}
            }
            cwd.clone()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse;

    #[test]
    fn working_dirs_follow_workdir_and_reset_at_from() {
        let file = parse(
            "FROM a\nWORKDIR app\nWORKDIR /srv\nWORKDIR ../x/./y\nWORKDIR $D\nFROM b\nWORKDIR /w\n",
        )
        .unwrap();
        let instructions: Vec<&Instruction> = file.instructions().collect();
        let dirs: Vec<Option<String>> = working_dirs(&file.source, &instructions)
            .iter()
            .map(|d| {
                d.as_ref().map(|d| {
                    format!(
                        "{}{}",
                        if d.absolute { "/" } else { "~/" },
                        d.parts.join("/")
                    )
                })
            })
            .collect();
        assert_eq!(
            dirs,
            [
                Some("~/".into()),
                Some("~/app".into()),
                Some("/srv".into()),
                Some("/x/y".into()),
                None,
                Some("~/".into()),
                Some("/w".into()),
            ]
        );
        let start = ImageDir::start();
        assert_eq!(start.join(".."), None);
        let app = start.join("/app").unwrap();
        assert_eq!(
            app.join("src/x").unwrap().below(&app),
            Some(vec!["src".into(), "x".into()])
        );
        assert!(!plain("$HOME", '\\') && !plain("a b", '\\') && plain("src/app", '\\'));
    }
}
