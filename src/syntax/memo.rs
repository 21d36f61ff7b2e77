//! Facts about a whole parsed text that passes ask for once per instruction (the longest
//! line, the continuation style, where a name is first mentioned): computed on first use and
//! kept with the text, so that asking for each of many instructions stays linear in the file.

use std::sync::{Mutex, OnceLock, PoisonError};

/// The memo of a [`super::Dockerfile`]. Cloning it gives an empty one: everything in it is
/// derived from the text and is computed again on demand.
#[derive(Debug, Default)]
pub(crate) struct Memo {
    pub(crate) longest_line: OnceLock<usize>,
    pub(crate) crlf: OnceLock<bool>,
    /// How many RUN continuation lines start with `&&` (`None`: none).
    pub(crate) leading_ops: OnceLock<Option<usize>>,
    /// How many RUN lines end with `&&` before their continuation.
    pub(crate) trailing_ops: OnceLock<usize>,
    /// The most common indentation of the RUNs' command lines, when `&&` ends a line
    /// (`[0]`) or starts one (`[1]`).
    pub(crate) command_indent: [OnceLock<Option<String>>; 2],
    /// Per question (a NAME mentioned, `may-set:HOME`), the first instruction in file order
    /// that answers it.
    first: Mutex<crate::hash::FxMap<String, Option<usize>>>,
}

impl Clone for Memo {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl Memo {
    /// The first instruction that answers `question` (`find` finds it), found once per
    /// question: a pass asking it for each of many instructions then compares positions.
    pub(crate) fn first(
        &self,
        question: &str,
        find: impl FnOnce() -> Option<usize>,
    ) -> Option<usize> {
        let mut known = self.first.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(&answer) = known.get(question) {
            return answer;
        }
        let answer = find();
        known.insert(question.to_owned(), answer);
        answer
    }
}
