//! WORKDIR arithmetic: the directory each instruction runs in, as far as the file alone
//! tells (relative to the base image's WORKDIR until an absolute WORKDIR).

use super::{Instruction, Keyword};

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

/// Moves `cwd`, the working directory before `ins` (`None` when unknown), past `ins`.
/// `source` is the file's. Callers walk the file once and keep only the current directory:
/// one per instruction of a large file (hundreds of thousands) cost megabytes.
pub(crate) fn step(cwd: &mut Option<ImageDir>, source: &str, ins: &Instruction) {
    match ins.kind {
        Keyword::From => *cwd = Some(ImageDir::start()),
        Keyword::Workdir => {
            *cwd = match ins.value(source).as_slice() {
                [path] if plain(path, '\\') => match cwd {
                    Some(dir) => dir.join(path),
                    None if path.starts_with('/') => ImageDir::start().join(path),
                    None => None,
                },
                _ => None,
            };
        }
        _ => {}
    }
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
        let mut cwd = Some(ImageDir::start());
        let dirs: Vec<Option<String>> = file
            .instructions()
            .map(|ins| {
                step(&mut cwd, &file.source, ins);
                cwd.as_ref().map(|d| {
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
