//! Byte ranges, edits and fixes over the original text, and the one-sweep apply.
//!
//! Every edit of a round refers to the same original text; nothing shifts offsets while
//! splicing. Bytes outside the applied edits are copied through unchanged.

mod line_index;

pub use line_index::LineIndex;

use std::borrow::Cow;
use std::cell::RefCell;
use std::cmp::Ordering;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::hash::FxSet;

/// A half-open byte range `[start, end)` into a text; `S` says which text, so that the
/// compiler keeps ranges of the source apart from ranges of a RUN's joined shell text.
pub struct Range<S> {
    pub start: u32,
    pub end: u32,
    space: PhantomData<S>,
}

/// Ranges of the Dockerfile's source bytes (and of an instruction's joined line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Source;

/// Ranges of a RUN's joined shell text ([`crate::syntax::Instruction::shell_text`]): what
/// [`crate::shell`] parses; `RunScript::to_source` maps them to [`TextRange`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Joined;

/// A range of the source text: what edits and fixes are made of.
pub type TextRange = Range<Source>;

/// A range of a RUN's joined shell text.
pub type JoinedRange = Range<Joined>;

impl<S> Range<S> {
    pub fn new(start: u32, end: u32) -> Self {
        debug_assert!(start <= end, "inverted range {start}..{end}");
        Self {
            start,
            end,
            space: PhantomData,
        }
    }

    pub fn empty(at: u32) -> Self {
        Self::new(at, at)
    }

    /// Converts from `usize` offsets; sources are capped at 16 MiB so this never truncates.
    pub(crate) fn from_usize(start: usize, end: usize) -> Self {
        Self::new(to_u32(start), to_u32(end))
    }

    pub fn len(self) -> u32 {
        self.end - self.start
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    pub fn contains_range(self, other: Self) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// The slice of `text` this range covers.
    pub fn slice(self, text: &str) -> &str {
        &text[self.start as usize..self.end as usize]
    }

    pub(crate) fn as_usize(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    /// The same offsets moved by `by` into another text (a joined range placed in its
    /// instruction's line).
    pub(crate) fn shifted<T>(self, by: u32) -> Range<T> {
        Range::new(self.start + by, self.end + by)
    }
}

// Written out rather than derived: a derive would require `S` itself to implement each trait.
impl<S> Clone for Range<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for Range<S> {}

impl<S> PartialEq for Range<S> {
    fn eq(&self, other: &Self) -> bool {
        (self.start, self.end) == (other.start, other.end)
    }
}

impl<S> Eq for Range<S> {}

impl<S> std::hash::Hash for Range<S> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.start, self.end).hash(state);
    }
}

impl<S> PartialOrd for Range<S> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<S> Ord for Range<S> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.start, self.end).cmp(&(other.start, other.end))
    }
}

impl<S> Default for Range<S> {
    fn default() -> Self {
        Self::new(0, 0)
    }
}

impl<S> fmt::Debug for Range<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

pub(crate) fn to_u32(n: usize) -> u32 {
    u32::try_from(n).expect("offset exceeds u32; inputs are capped at 16 MiB")
}

/// Which neighbour a zero-width insertion sticks to when another insertion shares its offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum InsertionSide {
    /// Goes before other insertions at the same offset.
    Before,
    /// Goes after other insertions at the same offset (the default).
    #[default]
    After,
}

/// Replace `range` of the original text with `content` (empty content deletes).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Edit {
    pub range: TextRange,
    pub content: String,
    pub side: InsertionSide,
}

impl Edit {
    pub fn replace(range: TextRange, content: impl Into<String>) -> Self {
        Self {
            range,
            content: content.into(),
            side: InsertionSide::After,
        }
    }

    pub fn delete(range: TextRange) -> Self {
        Self::replace(range, String::new())
    }

    pub fn insert(at: u32, content: impl Into<String>) -> Self {
        Self::replace(TextRange::empty(at), content)
    }

    #[must_use]
    pub fn with_side(mut self, side: InsertionSide) -> Self {
        self.side = side;
        self
    }

    /// The total order used to sort edits: start, then insertions before replacements at
    /// the same start, then side, then end, then content.
    fn sort_key(&self) -> (u32, bool, InsertionSide, u32, &str) {
        (
            self.range.start,
            !self.range.is_empty(),
            self.side,
            self.range.end,
            &self.content,
        )
    }
}

impl Ord for Edit {
    fn cmp(&self, other: &Self) -> Ordering {
        self.sort_key().cmp(&other.sort_key())
    }
}

impl PartialOrd for Edit {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Two edits conflict when their ranges share bytes, or when an insertion sits strictly
/// inside a replaced range. Insertions at a replacement's boundary do not conflict.
pub(crate) fn edits_overlap(a: &Edit, b: &Edit) -> bool {
    let (a, b) = (a.range, b.range);
    if a.is_empty() && b.is_empty() {
        return false;
    }
    if a.is_empty() {
        return b.start < a.start && a.start < b.end;
    }
    if b.is_empty() {
        return a.start < b.start && b.start < a.end;
    }
    a.start < b.end && b.start < a.end
}

/// How confident a pass is that a fix keeps the image's behaviour.
///
/// Ordered `DisplayOnly < Unsafe < Safe`, so "applicable at level X" is one comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Applicability {
    /// Advice only; never applied.
    DisplayOnly,
    /// May change behaviour or build requirements; applied with `--unsafe`.
    Unsafe,
    /// Keeps the image's runtime config and filesystem (bar removed caches); applied by default.
    Safe,
}

impl fmt::Display for Applicability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::DisplayOnly => "display-only",
            Self::Unsafe => "unsafe",
            Self::Safe => "safe",
        })
    }
}

/// The messages of one rewrite's fixes by text, each kept once: equal messages share it.
#[derive(Default)]
pub(crate) struct Messages(RefCell<FxSet<Arc<str>>>);

impl Messages {
    /// The shared copy of `text`.
    pub(crate) fn get(&self, text: &str) -> Arc<str> {
        let mut set = self.0.borrow_mut();
        if let Some(found) = set.get(text) {
            return Arc::clone(found);
        }
        let shared: Arc<str> = Arc::from(text);
        set.insert(Arc::clone(&shared));
        shared
    }

    /// Drops the messages no fix or report holds any more (a round's fixes that were
    /// neither applied nor reported).
    pub(crate) fn forget_unused(&self) {
        self.0.borrow_mut().retain(|m| Arc::strong_count(m) > 1);
    }
}

/// A fix's message: a text, or a template with the one line number it names. A template is
/// shared by every fix of its kind and the text is made only for the report: a large file
/// has a fix naming a line per RUN, and 33.5 K distinct texts held by the fixes were 6 MB
/// of its peak memory.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Message {
    /// The text, or the template with [`Message::LINE`] where the line goes.
    text: Arc<str>,
    /// The line the template names; [`Message::PLAIN`] for a text.
    line: u32,
}

impl Message {
    /// Where a template's line goes.
    pub(crate) const LINE: char = '\0';
    /// The line of a message that is a text.
    const PLAIN: u32 = u32::MAX;

    /// `template` (which holds [`Self::LINE`] once) naming `line`.
    pub(crate) fn with_line(template: Arc<str>, line: u32) -> Self {
        debug_assert!(template.contains(Self::LINE), "a template without its mark");
        debug_assert!(line != Self::PLAIN, "line {line} cannot be named");
        Self {
            text: template,
            line,
        }
    }

    /// The text, made now for a template.
    pub fn text(&self) -> Cow<'_, str> {
        match self.text.split_once(Self::LINE) {
            Some((head, tail)) if self.line != Self::PLAIN => {
                Cow::Owned(format!("{head}{}{tail}", self.line))
            }
            _ => Cow::Borrowed(&self.text),
        }
    }

    /// The text or template, and the line it names ([`Self::from_parts`] takes them back).
    pub(crate) fn parts(&self) -> (&Arc<str>, u32) {
        (&self.text, self.line)
    }

    /// The message of [`Self::parts`].
    pub(crate) fn from_parts(text: Arc<str>, line: u32) -> Self {
        Self { text, line }
    }

    /// The text as the report keeps it: shared, unless it is made now.
    pub(crate) fn into_shared(self) -> Arc<str> {
        match self.text() {
            Cow::Borrowed(_) => self.text,
            Cow::Owned(text) => Arc::from(text),
        }
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl From<Arc<str>> for Message {
    fn from(text: Arc<str>) -> Self {
        Self {
            text,
            line: Self::PLAIN,
        }
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Arc::<str>::from(text).into()
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Arc::<str>::from(text).into()
    }
}

/// Error returned when a fix is built from edits that overlap each other.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("overlapping edits in one fix: {first:?} and {second:?}")]
pub struct OverlappingEdits {
    pub first: TextRange,
    pub second: TextRange,
}

/// A set of edits that belong together, with the pass that proposed them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    /// Boxed, so that a fix with a line-naming message stays 64 bytes, and sized exactly.
    edits: Box<[Edit]>,
    pub applicability: Applicability,
    /// Shared between equal messages (see [`Messages`]): a large file's report repeats the
    /// same few messages for every RUN.
    pub message: Message,
    pub pass: &'static str,
}

impl Fix {
    /// Builds a fix; its edits are sorted and must not overlap each other.
    pub fn new(
        pass: &'static str,
        applicability: Applicability,
        message: impl Into<Message>,
        mut edits: Vec<Edit>,
    ) -> Result<Self, OverlappingEdits> {
        edits.sort();
        edits.dedup();
        for pair in edits.windows(2) {
            if edits_overlap(&pair[0], &pair[1]) {
                return Err(OverlappingEdits {
                    first: pair[0].range,
                    second: pair[1].range,
                });
            }
        }
        Ok(Self {
            edits: edits.into_boxed_slice(),
            applicability,
            message: message.into(),
            pass,
        })
    }

    pub fn edits(&self) -> &[Edit] {
        &self.edits
    }

    /// The smallest range that covers every edit.
    pub fn range(&self) -> TextRange {
        let start = self.edits.first().map_or(0, |e| e.range.start);
        let end = self
            .edits
            .iter()
            .map(|e| e.range.end)
            .max()
            .unwrap_or(start);
        TextRange::new(start, end)
    }
}

/// The result of one sweep: the new text and which fixes (by index) were applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub text: String,
    pub applied: Vec<usize>,
    pub skipped: Vec<usize>,
}

/// Applies `fixes` to `source` in one sweep over the original text.
///
/// Fixes are taken in order of their first edit (ties: the order given, which is registry
/// order). A fix that overlaps an edit already taken is skipped whole and can be retried on
/// the next round; an edit identical to one already taken is dropped rather than counted as a
/// conflict, so two passes proposing the same edit do not block each other. A fix that adds
/// text to a line that another taken fix adds text to waits for the next round too when
/// together they could take the line past the layout limit (120 characters or the longest
/// line): each pass lays out what it adds by the line's length, which it can only see once
/// the other fix is in the text.
pub fn apply(source: &str, fixes: &[Fix]) -> Applied {
    let selected = select(source, fixes);
    let edits: Vec<(TextRange, u32)> = selected
        .taken
        .iter()
        .map(|e| (e.range, to_u32(e.content.len())))
        .collect();
    Applied {
        text: splice_shifted(source, &edits, &inserted(&selected.taken)),
        applied: selected.applied,
        skipped: selected.skipped,
    }
}

/// Which fixes [`apply`] takes, and their edits in the order they are spliced.
pub(crate) struct Selection<'f> {
    /// The edits taken, sorted and without duplicates: an edit identical to one taken
    /// before is not taken again.
    pub(crate) taken: Vec<&'f Edit>,
    /// Indexes of the fixes applied, ascending.
    pub(crate) applied: Vec<usize>,
    /// Indexes of the fixes skipped, ascending.
    pub(crate) skipped: Vec<usize>,
}

/// The choice [`apply`] makes, without building the new text (see [`splice`]). What the
/// choice needs (the line table, the taken ranges) is gone when it returns, before the
/// caller allocates the new text: on a large file it is a good part of the round's peak.
pub(crate) fn select<'f>(source: &str, fixes: &'f [Fix]) -> Selection<'f> {
    let mut order: Vec<usize> = (0..fixes.len()).collect();
    order.sort_by(|&a, &b| {
        let ka = fixes[a].edits.first();
        let kb = fixes[b].edits.first();
        ka.cmp(&kb).then(a.cmp(&b))
    });

    // each taken edit as its fix's index (high half) and its place in the fix: same-offset
    // insertions on the same side come out in the order the fixes were given (registry
    // order), not by content. Eight bytes, so the list becomes the references in place.
    // Sized for every edit: in the first round of a large file nearly all are taken, and a
    // doubling list would hold up to twice as many.
    let mut taken: Vec<u64> = Vec::with_capacity(fixes.iter().map(|f| f.edits.len()).sum());
    let mut occupied = Occupied::default();
    // most fixes are applied (every one, in a large file's first round)
    let mut applied = Vec::with_capacity(fixes.len());
    let mut skipped = Vec::new();
    // one start per line, sized exactly: a large file has a line per RUN edited
    let lines = LineIndex::new(source);
    let line_of = |offset: u32| lines.line(offset) as usize - 1;
    let width = |line: usize| {
        let start = lines.line_start(to_u32(line + 1)) as usize;
        let end = if line + 1 < lines.line_count() {
            lines.line_start(to_u32(line + 2)) as usize - 1
        } else {
            source.len()
        };
        source[start..end].chars().count()
    };
    let limit = (0..lines.line_count())
        .map(width)
        .max()
        .unwrap_or(0)
        .max(crate::passes::layout::MAX_LINE);
    // the lines an edit adds text to, and at most how much (an edit that only deletes makes
    // lines shorter)
    let grown = |e: &Edit| {
        (!e.content.is_empty()).then(|| {
            (
                line_of(e.range.start),
                line_of(e.range.end),
                e.content.chars().count(),
            )
        })
    };
    // per line, the characters the taken edits add there (each fix is checked once, before
    // its own edits are counted, so all of them are other fixes'); indexed by line so the
    // check stays linear in the number of fixes
    let mut grown_lines: Vec<u32> = vec![0; lines.line_count()];
    for index in order {
        let fix = &fixes[index];
        let mut fresh = Vec::new();
        let mut conflict = false;
        for (at, edit) in fix.edits.iter().enumerate() {
            if occupied.same.contains(edit) {
                continue;
            }
            let shares_line = grown(edit).is_some_and(|(a, b, added)| {
                [a, b].into_iter().any(|line| {
                    let others = grown_lines[line] as usize;
                    others > 0 && width(line) + added + others > limit
                })
            });
            if shares_line || occupied.overlaps(edit) {
                conflict = true;
                break;
            }
            fresh.push((edit, to_u32(at)));
        }
        if conflict {
            skipped.push(index);
            continue;
        }
        for &(edit, at) in &fresh {
            if let Some((a, b, n)) = grown(edit) {
                for added in &mut grown_lines[a..=b] {
                    *added = added.saturating_add(to_u32(n));
                }
            }
            occupied.take(edit);
            taken.push(u64::from(to_u32(index)) << 32 | u64::from(at));
        }
        applied.push(index);
    }
    // what the choice needed goes before the list of references is made
    drop((grown_lines, occupied, lines));
    let edit = |key: u64| {
        let [fix, at] = [key >> 32, key & u64::from(u32::MAX)]
            .map(|half| u32::try_from(half).map_or(usize::MAX, |half| half as usize));
        &fixes[fix].edits[at]
    };
    taken.sort_by_key(|&key| {
        let e = edit(key);
        (
            e.range.start,
            !e.range.is_empty(),
            e.side,
            e.range.end,
            key >> 32,
        )
    });
    applied.sort_unstable();
    skipped.sort_unstable();
    Selection {
        taken: taken.into_iter().map(edit).collect(),
        applied,
        skipped,
    }
}

/// The texts `taken` inserts, one after another, in one allocation of their exact length:
/// with the edits' ranges and lengths, what [`splice_shifted`] needs of them.
pub(crate) fn inserted(taken: &[&Edit]) -> String {
    let mut all = String::with_capacity(taken.iter().map(|e| e.content.len()).sum());
    for edit in taken {
        all.push_str(&edit.content);
    }
    all
}

/// The text edits make of `source`, the edits given as their ranges and the lengths they
/// insert (sorted, not overlapping: a [`Selection`]'s), the inserted texts one after another
/// in `inserted` (see [`inserted`]), so that the fixes the edits came from may be gone. Built
/// with its exact length: on a large file a doubling `String` would hold up to twice it.
pub(crate) fn splice_shifted(source: &str, edits: &[(TextRange, u32)], inserted: &str) -> String {
    let len = edits.iter().fold(source.len(), |len, &(range, n)| {
        len + n as usize - range.len() as usize
    });
    let mut out = String::with_capacity(len);
    let (mut cursor, mut from) = (0usize, 0usize);
    for &(range, n) in edits {
        out.push_str(&source[cursor..range.start as usize]);
        out.push_str(&inserted[from..from + n as usize]);
        from += n as usize;
        cursor = range.end as usize;
    }
    out.push_str(&source[cursor..]);
    debug_assert_eq!(from, inserted.len(), "inserted texts left over");
    out
}

/// The edits [`apply`] has taken so far, indexed so that checking one more edit costs a
/// lookup rather than a scan of them all (a round may take one edit per line of the file).
#[derive(Default)]
struct Occupied<'e> {
    same: crate::hash::FxSet<&'e Edit>,
    /// Replaced ranges, by start to end; they never overlap each other.
    replaced: std::collections::BTreeMap<u32, u32>,
    /// Offsets of insertions.
    inserted: std::collections::BTreeSet<u32>,
}

impl<'e> Occupied<'e> {
    fn take(&mut self, edit: &'e Edit) {
        self.same.insert(edit);
        if edit.range.is_empty() {
            self.inserted.insert(edit.range.start);
        } else {
            self.replaced.insert(edit.range.start, edit.range.end);
        }
    }

    /// [`edits_overlap`] with any edit taken.
    fn overlaps(&self, edit: &Edit) -> bool {
        let TextRange { start, end, .. } = edit.range;
        if edit.range.is_empty() {
            // a replacement strictly around the insertion point
            return self
                .replaced
                .range(..start)
                .next_back()
                .is_some_and(|(_, &e)| e > start);
        }
        // the last replacement starting before `end` is the only one that can reach
        // `start`; an insertion strictly inside
        self.replaced
            .range(..end)
            .next_back()
            .is_some_and(|(_, &e)| e > start)
            || self
                .inserted
                .range(start.saturating_add(1)..end)
                .next()
                .is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(edits: Vec<Edit>) -> Fix {
        Fix::new("test", Applicability::Safe, "m", edits).unwrap()
    }

    #[test]
    fn empty_source_and_no_fixes() {
        assert_eq!(apply("", &[]).text, "");
        assert_eq!(apply("abc", &[]).text, "abc");
    }

    #[test]
    fn one_insertion_replacement_removal() {
        let src = "RUN apt-get install x\n";
        let out = apply(
            src,
            &[
                fix(vec![Edit::insert(19, " -y")]),
                fix(vec![Edit::replace(TextRange::new(0, 3), "run")]),
                fix(vec![Edit::delete(TextRange::new(20, 21))]),
            ],
        );
        assert_eq!(out.text, "run apt-get install -y \n");
        assert_eq!(out.applied, vec![0, 1, 2]);
    }

    #[test]
    fn two_removals() {
        let out = apply(
            "abcdef",
            &[fix(vec![
                Edit::delete(TextRange::new(0, 1)),
                Edit::delete(TextRange::new(4, 6)),
            ])],
        );
        assert_eq!(out.text, "bcd");
    }

    #[test]
    fn overlapping_fix_is_skipped() {
        let out = apply(
            "abcdef",
            &[
                fix(vec![Edit::replace(TextRange::new(1, 4), "X")]),
                fix(vec![Edit::replace(TextRange::new(3, 5), "Y")]),
            ],
        );
        assert_eq!(out.text, "aXef");
        assert_eq!(out.skipped, vec![1]);
    }

    #[test]
    fn growing_one_line_past_the_limit_waits_a_round() {
        let line = format!("RUN {}\n", "x".repeat(100));
        let add = |c: &str, n: usize| fix(vec![Edit::insert(10, c.repeat(n))]);
        // 104 + 7 + 7 fits in 120: one round
        let out = apply(&line, &[add("a", 7), add("b", 7)]);
        assert_eq!(out.skipped, Vec::<usize>::new());
        // 104 + 7 + 7 + 7 does not: the third fix waits
        let out = apply(&line, &[add("a", 7), add("b", 7), add("c", 7)]);
        assert_eq!(out.skipped, vec![2]);
        // on different lines they do not meet
        let two = format!("{line}{line}");
        let other = fix(vec![Edit::insert(110, "z".repeat(30))]);
        assert_eq!(
            apply(&two, &[add("a", 30), other]).skipped,
            Vec::<usize>::new()
        );
    }

    #[test]
    fn insertions_conflict_only_strictly_inside_a_replacement() {
        let out = apply(
            "abcdefgh",
            &[
                fix(vec![Edit::replace(TextRange::new(2, 5), "X")]),
                // at both boundaries: kept
                fix(vec![Edit::insert(2, "<")]),
                fix(vec![Edit::insert(5, ">")]),
                // strictly inside: skipped
                fix(vec![Edit::insert(3, "!")]),
                // a replacement around an insertion taken before it: skipped
                fix(vec![Edit::insert(0, "^"), Edit::insert(7, "?")]),
                fix(vec![Edit::replace(TextRange::new(6, 8), "Y")]),
            ],
        );
        assert_eq!(out.text, "^ab<X>fg?h");
        assert_eq!(out.skipped, vec![3, 5]);
    }

    #[test]
    fn identical_edits_do_not_conflict() {
        let e = Edit::insert(1, "Z");
        let out = apply("ab", &[fix(vec![e.clone()]), fix(vec![e])]);
        assert_eq!(out.text, "aZb");
        assert_eq!(out.applied, vec![0, 1]);
    }

    #[test]
    fn same_offset_insertions_follow_side_then_order() {
        let out = apply(
            "ab",
            &[
                fix(vec![Edit::insert(1, "2")]),
                fix(vec![Edit::insert(1, "1").with_side(InsertionSide::Before)]),
                fix(vec![Edit::insert(1, "3")]),
            ],
        );
        assert_eq!(out.text, "a123b");
    }

    #[test]
    fn a_template_is_made_into_the_text_naming_its_line() {
        let template: Arc<str> = Arc::from(format!("see line {}, twice", Message::LINE));
        let message = Message::with_line(Arc::clone(&template), 12);
        assert_eq!(message.text(), "see line 12, twice");
        assert_eq!(message.to_string(), "see line 12, twice");
        assert_eq!(&*message.into_shared(), "see line 12, twice");
        // a text is shared, not made again
        let text = Message::from(Arc::clone(&template));
        assert!(Arc::ptr_eq(&text.clone().into_shared(), &template));
        assert_eq!(Message::from("plain").text(), "plain");
        // a large file holds a fix per RUN: the line the message names costs no more
        assert_eq!(size_of::<Fix>(), 64);
    }

    #[test]
    fn overlapping_edits_in_one_fix_are_rejected() {
        let err = Fix::new(
            "t",
            Applicability::Safe,
            "m",
            vec![
                Edit::replace(TextRange::new(0, 3), "a"),
                Edit::replace(TextRange::new(2, 4), "b"),
            ],
        );
        assert!(err.is_err());
        let inside = Fix::new(
            "t",
            Applicability::Safe,
            "m",
            vec![
                Edit::replace(TextRange::new(0, 3), "a"),
                Edit::insert(1, "b"),
            ],
        );
        assert!(inside.is_err());
    }
}
