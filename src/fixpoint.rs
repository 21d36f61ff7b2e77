//! parse → run passes → apply → reparse, repeated to a fixed point (at most [`MAX_ROUNDS`]).

use crate::passes::{self, PassContext};
use crate::pragma::{self, Pragmas};
use crate::syntax::{self, Dockerfile};
use crate::text::{self, Applicability, Fix, LineIndex, Message, TextRange};
use crate::{Error, Settings};
use std::sync::Arc;

/// Rounds after which a rewrite that still changes is reported as a bug.
pub(crate) const MAX_ROUNDS: usize = 10;

/// One fix that was applied, or (in [`Outcome::advice`]) one that was not.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AppliedFix {
    pub pass: &'static str,
    pub applicability: Applicability,
    /// Shared between equal messages: a large file's report repeats a few messages for
    /// every RUN.
    pub message: Arc<str>,
    /// 1-based line of the fix's first edit, in the original text (an edit of a later round
    /// is traced back through the earlier rounds' edits; inside text an earlier round
    /// inserted, it is where that insertion was made).
    pub line: u32,
}

/// [`AppliedFix`] as a rewrite keeps it until it returns: 16 bytes rather than 40 (a large
/// file has a report per RUN), its pass and its message's text indexes into the names and
/// texts [`Rounds`] has seen, its message still a template where the fix's was one (the
/// text is made when the rewrite returns).
#[derive(Clone, Copy)]
pub(crate) struct Report {
    /// See [`Rounds::texts`].
    text: u32,
    /// The line the message names, if it is a template (see [`Message::parts`]).
    names: u32,
    line: u32,
    pass: u16,
    applicability: Applicability,
}

/// A file a pass proposes to create beside the Dockerfile (a `.dockerignore`), rather than an
/// edit of the Dockerfile's text. The library only proposes it; the caller decides whether to
/// write it and must never overwrite an existing file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NewFile {
    /// Where the file goes, relative to the build context root, `/`-separated.
    pub path: String,
    /// The whole contents.
    pub content: String,
    pub pass: &'static str,
    pub applicability: Applicability,
    pub message: String,
    /// 1-based line of the original Dockerfile the message is about (1 when it is about no
    /// line).
    pub line: u32,
}

/// What a rewrite did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The rewritten text, or `None` when nothing changed.
    pub output: Option<String>,
    /// Fixes applied, in the order of the rounds.
    pub applied: Vec<AppliedFix>,
    /// Fixes found in the final text that the settings do not apply (unsafe without
    /// `--unsafe`, display-only advice), side files among them.
    pub advice: Vec<AppliedFix>,
    /// New files proposed for the final text that the settings apply. They are proposed
    /// only where no file exists yet; `output` may be `None` while this is not empty.
    pub files: Vec<NewFile>,
}

impl Outcome {
    /// Whether the rewrite changes anything: the Dockerfile's text or a new file.
    pub fn has_changes(&self) -> bool {
        self.output.is_some() || !self.files.is_empty()
    }
}

/// Rewrites `source` with the passes that `settings` selects.
///
/// Errors: [`Error::Invalid`] when the input does not parse the way BuildKit would accept
/// it; [`Error::Internal`] when the passes do not converge or produce text that no longer
/// parses (a bug: the caller must write nothing).
pub fn rewrite(source: &str, settings: &Settings) -> Result<Outcome, Error> {
    rewrite_with(source, settings, passes::passes(), None)
}

/// [`rewrite`] of a text the caller gives up: the first parse takes it without a copy, and
/// it comes back, unchanged, beside the outcome. The rounds never hold it: it is rebuilt at
/// the end from the final text and the bytes the rounds' edits replaced, so a large file's
/// peak memory holds one copy of it fewer. On error the text is dropped.
///
/// Errors: as [`rewrite`].
pub fn rewrite_owned(source: String, settings: &Settings) -> Result<(Outcome, String), Error> {
    let input = Input::Owned {
        source,
        give_back: true,
    };
    let (outcome, original) = rewrite_input(input, settings, passes::passes(), None)?;
    Ok((outcome, original.unwrap_or_default()))
}

/// [`rewrite_owned`] for a caller that needs only the outcome (a check): the text is not
/// given back, so it is not rebuilt either (a large file's last 15 MB allocation, made just
/// as the rounds' data is freed).
///
/// Errors: as [`rewrite`].
pub fn rewrite_consuming(source: String, settings: &Settings) -> Result<Outcome, Error> {
    let input = Input::Owned {
        source,
        give_back: false,
    };
    rewrite_input(input, settings, passes::passes(), None).map(|(outcome, _)| outcome)
}

/// [`rewrite`], also recording every round (for [`crate::trace`]).
pub(crate) fn rewrite_recorded(
    source: &str,
    settings: &Settings,
    rounds: &mut Vec<Round>,
) -> Result<Outcome, Error> {
    rewrite_with(source, settings, passes::passes(), Some(rounds))
}

/// One round of a recorded rewrite: its text, the fixes it applied (or, in the last round,
/// the fixes it reported as advice) and the new files the last round proposed or withheld.
pub(crate) struct Round {
    pub(crate) text: String,
    pub(crate) fixes: Vec<Fix>,
    /// Indexes into `fixes` of those applied; empty in the last round.
    pub(crate) applied: Vec<usize>,
    pub(crate) files: Vec<NewFile>,
    /// Before the last round, the fixes it found but does not apply under the settings.
    pub(crate) unwanted: Vec<Fix>,
}

/// [`rewrite`] with an explicit pass list (the registry's, or a test's).
fn rewrite_with(
    source: &str,
    settings: &Settings,
    all: &[&passes::PassInfo],
    record: Option<&mut Vec<Round>>,
) -> Result<Outcome, Error> {
    rewrite_input(Input::Borrowed(source), settings, all, record).map(|(outcome, _)| outcome)
}

/// The text a rewrite starts from.
enum Input<'s> {
    /// The caller keeps it: the final text is compared with it.
    Borrowed(&'s str),
    /// The caller gave it up: it is parsed in place and, if it is to be given back, rebuilt
    /// at the end (see [`rewrite_owned`]).
    Owned { source: String, give_back: bool },
}

/// [`rewrite_with`] of either kind of input; an owned input comes back beside the outcome.
fn rewrite_input(
    input: Input<'_>,
    settings: &Settings,
    all: &[&passes::PassInfo],
    mut record: Option<&mut Vec<Round>>,
) -> Result<(Outcome, Option<String>), Error> {
    // the original's length: a final text of another length differs from it
    let (mut file, source, give_back, original_len) = match input {
        Input::Borrowed(source) => (parse_input(source)?, Some(source), false, source.len()),
        Input::Owned { source, give_back } => {
            let len = source.len();
            (parse_owned_input(source)?, None, give_back, len)
        }
    };
    let mut outcome = Outcome::default();
    // An instruction BuildKit does not know (often a line that lost its continuation, such
    // as one starting with `&&`) fails the build: no rewrite of such a file can be checked.
    if file.instructions().next().is_none()
        || file
            .instructions()
            .any(|i| i.kind == syntax::Keyword::Unknown)
    {
        return Ok((outcome, give_back.then_some(file.source)));
    }
    // the round's text is the tree's own copy (`file.source`), never a second one
    let scripts = passes::ScriptCache::default();
    let messages = text::Messages::default();
    let mut rounds = Rounds::new(&file.source);
    // which pragmas held a fix back, over all rounds (for `unused-pragma`)
    let mut used = pragma::Used::new();
    // the applied fixes' reports, in the order of the rounds
    let mut applied: Vec<Report> = Vec::new();
    for _round in 0..MAX_ROUNDS {
        let lines = rounds.original_lines(&file.source);
        let pragmas = if settings.inline_ignores {
            Pragmas::read(&file)
        } else {
            Pragmas::default()
        };
        let describe = |fix: &Fix| rounds.describe(fix);
        // one context per round: the last round's side files read the models its fixes built
        let ctx = PassContext::new(&file, settings, &scripts)
            .with_original_lines(&lines)
            .with_pragmas(&pragmas)
            .with_messages(&messages)
            .with_describer(&describe);
        // a pass whose fixes are all below the threshold cannot change the text: it runs
        // only on the final text, unless every round's fixes are recorded or a pragma may
        // note that it held one of them back
        let lazy = record.is_none() && pragmas.is_empty();
        let found = collect_fixes(&ctx, settings, all, lazy)?;
        // with a pass left out and nothing to apply, this is the final text: every fix is
        // advice, and the left-out passes run now, each fix described as it is built
        let (wanted, mut rest, described) =
            if found.skipped() && !found.iter().any(|f| wants(f, settings)) {
                (Vec::new(), Vec::new(), found.describe_all(&ctx, &rounds)?)
            } else {
                let mut wanted = pragmas.filter(found.into_fixes(), &mut used);
                // the few left are taken out in place: a second list of every fix would be
                // the round's peak on a large file
                let rest: Vec<Fix> = wanted.extract_if(.., |f| !wants(f, settings)).collect();
                (wanted, rest, Vec::new())
            };
        if wanted.is_empty() {
            let proposals = collect_files(&ctx, settings, all);
            // the passes' round data goes before the report is built
            drop(ctx);
            let proposals = pragmas.filter_files(proposals, &mut used);
            rest.extend(pragma_reports(&pragmas, &used, settings));
            let (proposed, withheld): (Vec<NewFile>, Vec<NewFile>) =
                proposals.into_iter().partition(|f| {
                    f.applicability >= settings.threshold
                        && f.applicability > Applicability::DisplayOnly
                });
            // each list in its public form only now, when the round's data is gone
            outcome.applied = applied.into_iter().map(|r| rounds.public(r)).collect();
            outcome.advice = Vec::with_capacity(described.len() + rest.len() + withheld.len());
            outcome
                .advice
                .extend(described.into_iter().map(|r| rounds.public(r)));
            outcome
                .advice
                .extend(rest.iter().map(|f| rounds.public(rounds.describe(f))));
            if let Some(rounds) = record {
                rounds.push(Round {
                    text: file.source.clone(),
                    fixes: rest,
                    applied: Vec::new(),
                    files: proposed.iter().chain(&withheld).cloned().collect(),
                    unwanted: Vec::new(),
                });
            }
            outcome.files = proposed;
            outcome
                .advice
                .extend(withheld.into_iter().map(|f| AppliedFix {
                    pass: f.pass,
                    applicability: f.applicability,
                    message: f.message.into(),
                    line: f.line,
                }));
            let text = std::mem::take(&mut file.source);
            // the tree goes before the original is rebuilt beside the final text
            drop(file);
            return Ok(match source {
                Some(source) => {
                    debug_assert!(
                        rounds.original(&text).is_none_or(|o| o == source),
                        "the rounds' edits do not lead back to the input"
                    );
                    if text != source {
                        outcome.output = Some(text);
                    }
                    (outcome, None)
                }
                None if give_back => match rounds.original(&text) {
                    Some(original) if original != text => {
                        outcome.output = Some(text);
                        (outcome, Some(original))
                    }
                    _ => (outcome, Some(text)),
                },
                // rebuilt only to compare when the lengths leave it open
                None => {
                    if text.len() != original_len
                        || rounds
                            .original(&text)
                            .is_some_and(|original| original != text)
                    {
                        outcome.output = Some(text);
                    }
                    (outcome, None)
                }
            });
        }
        // the passes' round data (model, runs, memos) goes before the new text is built
        drop(ctx);
        let selected = text::select(&file.source, &wanted);
        // exactly: a later round's few fixes would double a large file's list
        applied.reserve_exact(selected.applied.len());
        applied.extend(
            selected
                .applied
                .iter()
                .map(|&i| rounds.describe(&wanted[i])),
        );
        // the edits as the sweep splices them: sorted, each once
        rounds.push_sorted(&file.source, &selected.taken);
        // what they insert, one after another: with the ranges the rounds keep, all the
        // splice needs, so that the round's fixes go before the new text is built
        let inserted = text::inserted(&selected.taken);
        let applied_by = names(&wanted);
        let text::Selection {
            taken,
            applied: applied_here,
            ..
        } = selected;
        drop(taken);
        // the old tree's untouched instructions move into the new one, so the two are never
        // whole at once; the round's fixes go first unless recorded (kept, they add to the peak)
        scripts.next_round();
        let kept = if record.is_some() {
            Some((file.source.clone(), wanted, rest, applied_here))
        } else {
            drop((wanted, rest, applied_here));
            None
        };
        // the messages of fixes neither applied nor kept
        messages.forget_unused();
        // the round's line map and pragmas go before the new text is built
        drop((lines, pragmas));
        let new_text = text::splice_shifted(&file.source, rounds.last_edits(), &inserted);
        drop(inserted);
        if new_text == file.source {
            return Err(Error::Internal(format!(
                "fixes from {applied_by} made no change but kept being proposed"
            )));
        }
        // the new text moves into the new tree: one copy of it, not two
        file = file
            .reparse_owned(new_text, rounds.last_edits())
            .map_err(|e| {
                Error::Internal(format!(
                    "rewrite by {applied_by} produced text that does not parse: {e}"
                ))
            })?;
        if let (Some(rounds), Some((text, fixes, unwanted, applied_here))) =
            (record.as_deref_mut(), kept)
        {
            rounds.push(Round {
                text,
                fixes,
                applied: applied_here,
                files: Vec::new(),
                unwanted,
            });
        }
    }
    Err(Error::Internal(format!(
        "rewrite did not converge after {MAX_ROUNDS} rounds"
    )))
}

fn is_applicable(fix: &Fix) -> bool {
    fix.applicability > Applicability::DisplayOnly && !fix.edits().is_empty()
}

/// The tree of a text the caller keeps: of a copy, which the tree owns.
fn parse_input(source: &str) -> Result<Dockerfile, Error> {
    parse_owned_input(source.to_owned())
}

/// The tree of a text it takes without a copy, or why BuildKit would reject the text.
fn parse_owned_input(source: String) -> Result<Dockerfile, Error> {
    crate::decode(source.as_bytes())?;
    syntax::parse_or_give_back(source).map_err(|(e, source)| invalid(&source, e))
}

/// A parse error as the caller reports it: at a line and column of `source`.
fn invalid(source: &str, e: syntax::ParseError) -> Error {
    let (line, column) = LineIndex::new(source).line_col(source, e.offset);
    Error::Invalid {
        line,
        column,
        message: e.message,
    }
}

/// The reports on the pragmas after the last round, as display-only fixes at their lines.
fn pragma_reports(pragmas: &Pragmas, used: &pragma::Used, settings: &Settings) -> Vec<Fix> {
    pragmas
        .reports(used, |name| settings.runs(name))
        .into_iter()
        .filter_map(|(at, name, message)| {
            Fix::new(
                name,
                Applicability::DisplayOnly,
                message,
                vec![text::Edit::insert(at, "")],
            )
            .ok()
        })
        .collect()
}

/// The fixes of a round, per selected pass; `None` for a pass left out as below the
/// threshold (see [`PassInfo::tier`](passes::PassInfo)).
struct Found<'p> {
    by_pass: Vec<(&'p passes::PassInfo, Option<Vec<Fix>>)>,
}

impl Found<'_> {
    /// Whether a pass was left out.
    fn skipped(&self) -> bool {
        self.by_pass.iter().any(|(_, fixes)| fixes.is_none())
    }

    fn iter(&self) -> impl Iterator<Item = &Fix> {
        self.by_pass
            .iter()
            .filter_map(|(_, f)| f.as_ref())
            .flatten()
    }

    /// The fixes, in pass order.
    fn into_fixes(self) -> Vec<Fix> {
        self.by_pass
            .into_iter()
            .filter_map(|(_, fixes)| fixes)
            .flatten()
            .collect()
    }

    /// The reports of every fix, in pass order, the passes left out run now (on the final
    /// text, where nothing is applied and no round is recorded), each of their fixes
    /// described as it is built (see [`PassContext::report_only`]): only the reports are
    /// kept, in one list.
    fn describe_all(self, ctx: &PassContext<'_>, rounds: &Rounds) -> Result<Vec<Report>, Error> {
        // the fixes found so far are described first, so that their edits go before the
        // left-out passes build theirs
        let mut reports = Vec::with_capacity(self.iter().count());
        // each left-out pass with how many reports of found passes go before it
        let mut left_out = Vec::new();
        for (pass, fixes) in self.by_pass {
            match fixes {
                Some(fixes) => reports.extend(fixes.iter().map(|f| rounds.describe(f))),
                None => left_out.push((reports.len(), pass)),
            }
        }
        // the reports of the left-out passes run so far
        let mut inserted = 0;
        for (at, pass) in left_out {
            let before = reports.len();
            ctx.report_only(pass.name, reports);
            let returned = (pass.run)(ctx);
            reports = ctx.take_reports();
            // a fix built without the context comes back: described after those built with
            // it, which keeps the pass's order only if it builds all one way
            debug_assert!(
                returned.is_empty() || reports.len() == before,
                "{} builds fixes both with and without the context",
                pass.name
            );
            reports.extend(returned.iter().map(|f| rounds.describe(f)));
            drop(returned);
            // moved before the reports of the found passes after it
            let made = reports.len() - before;
            reports[at + inserted..].rotate_right(made);
            inserted += made;
        }
        bugs(ctx)?;
        Ok(reports)
    }
}

fn wants(fix: &Fix, settings: &Settings) -> bool {
    fix.applicability >= settings.threshold && is_applicable(fix)
}

fn collect_fixes<'p>(
    ctx: &PassContext<'_>,
    settings: &Settings,
    all: &[&'p passes::PassInfo],
    lazy: bool,
) -> Result<Found<'p>, Error> {
    let by_pass = all
        .iter()
        .filter(|p| settings.runs(p.name))
        .map(|&p| {
            if lazy && p.tier < settings.threshold {
                return (p, None);
            }
            let mut fixes = (p.run)(ctx);
            // a list grown by doubling: up to half of it spare, and on a large file the lists
            // of the passes run so far are held together at the end of the first round
            fixes.shrink_to_fit();
            debug_assert!(
                fixes.iter().all(|f| f.applicability <= p.tier),
                "{} proposes a fix above its declared tier",
                p.name
            );
            (p, Some(fixes))
        })
        .collect();
    bugs(ctx)?;
    Ok(Found { by_pass })
}

/// The bugs the passes recorded, as an error.
fn bugs(ctx: &PassContext<'_>) -> Result<(), Error> {
    let bugs = ctx.take_bugs();
    if bugs.is_empty() {
        Ok(())
    } else {
        Err(Error::Internal(format!(
            "a pass built a fix it cannot apply: {}",
            bugs.join("; ")
        )))
    }
}

/// The side files of passes that propose them, for the final text.
fn collect_files(
    ctx: &PassContext<'_>,
    settings: &Settings,
    all: &[&passes::PassInfo],
) -> Vec<NewFile> {
    all.iter()
        .filter(|p| settings.runs(p.name))
        .filter_map(|p| p.files)
        .flat_map(|files| files(ctx))
        .collect()
}

/// The edits of the rounds so far, to trace an offset of the current text back to the
/// original: report lines always refer to the file the user gave.
struct Rounds {
    /// Lines of the original text.
    index: LineIndex,
    /// Per round, its applied edits, sorted.
    edits: Vec<Shifted>,
    /// Per round, the bytes its edits replaced, in edit order: with `edits`, what rebuilds
    /// the original from the final text (see [`rewrite_owned`]). Small: most edits insert.
    replaced: Vec<String>,
    /// The names of the passes of the reports so far, which a [`Report`] indexes.
    passes: std::cell::RefCell<Vec<&'static str>>,
    /// The texts (or templates) of the reports' messages so far, which a [`Report`]
    /// indexes: few, since equal messages share one text (see [`text::Messages`]).
    texts: std::cell::RefCell<Texts>,
}

/// Distinct message texts, each found by its address: a text is kept here, so no other
/// can take its address.
#[derive(Default)]
struct Texts {
    list: Vec<Arc<str>>,
    by_address: crate::hash::FxMap<usize, u32>,
}

impl Texts {
    /// The index of `text`, added if it is new.
    fn index(&mut self, text: &Arc<str>) -> u32 {
        let address = Arc::as_ptr(text).cast::<u8>().addr();
        *self.by_address.entry(address).or_insert_with(|| {
            self.list.push(Arc::clone(text));
            text::to_u32(self.list.len() - 1)
        })
    }
}

/// A round's applied edits, sorted: each one's range in the round's input and the length it
/// inserted, and apart from them where it starts in the round's output, so that an offset
/// is traced back by a binary search rather than a walk over every edit of the round. Two
/// lists, so that the reparse reads the edits as they are rather than a copy of them.
struct Shifted {
    edits: Vec<(TextRange, u32)>,
    out_starts: Vec<u32>,
}

impl Rounds {
    fn new(source: &str) -> Self {
        Self {
            index: LineIndex::new(source),
            edits: Vec::new(),
            replaced: Vec::new(),
            passes: std::cell::RefCell::default(),
            texts: std::cell::RefCell::default(),
        }
    }

    /// Records the edits one round applied to `input` (identical edits of two fixes are
    /// applied once).
    #[cfg(test)]
    fn push<'e>(&mut self, input: &str, edits: impl Iterator<Item = &'e text::Edit>) {
        // `text::apply` applies an edit two fixes share once, but two different insertions
        // at one offset both: deduplicate whole edits, not (range, length) pairs.
        let mut round: Vec<&text::Edit> = edits.collect();
        round.sort_unstable();
        round.dedup();
        self.push_sorted(input, &round);
    }

    /// [`Self::push`] of edits sorted by start and without duplicates ([`text::select`]'s):
    /// no copy of the list is made to sort it.
    fn push_sorted(&mut self, input: &str, round: &[&text::Edit]) {
        self.replaced
            .push(round.iter().map(|e| e.range.slice(input)).collect());
        self.edits.push(shifted(
            round
                .iter()
                .map(|e| (e.range, text::to_u32(e.content.len()))),
        ));
    }

    /// The original text, rebuilt from `current` (the text after every round) by undoing
    /// the rounds' edits, last round first; `None` when no round edited, so `current` is it.
    fn original(&self, current: &str) -> Option<String> {
        let mut text: Option<String> = None;
        for (round, replaced) in self.edits.iter().zip(&self.replaced).rev() {
            let output = text.as_deref().unwrap_or(current);
            let grown: usize = replaced.len() + output.len();
            let mut input = String::with_capacity(
                grown
                    - round
                        .edits
                        .iter()
                        .map(|&(_, inserted)| inserted as usize)
                        .sum::<usize>(),
            );
            let (mut from, mut taken) = (0, 0);
            for (&(range, inserted), &out_start) in round.edits.iter().zip(&round.out_starts) {
                input.push_str(&output[from..out_start as usize]);
                let removed = range.len() as usize;
                input.push_str(&replaced[taken..taken + removed]);
                taken += removed;
                from = (out_start + inserted) as usize;
            }
            input.push_str(&output[from..]);
            text = Some(input);
        }
        text
    }

    /// The last round's edits: each range of its input and the length inserted there.
    fn last_edits(&self) -> &[(TextRange, u32)] {
        self.edits.last().map_or(&[], |round| &round.edits)
    }

    /// For each line of `current` (the text after the rounds so far), the original line;
    /// empty before the first round's edits.
    fn original_lines(&self, current: &str) -> OriginalLines {
        let mut lines = OriginalLines::default();
        if self.edits.is_empty() {
            return lines;
        }
        let index = LineIndex::new(current);
        for line in 1..=text::to_u32(index.line_count()) {
            lines.push(line, self.original_line(index.line_start(line)));
        }
        lines.runs.shrink_to_fit();
        lines
    }

    /// The original line of `offset` in the current text.
    fn original_line(&self, offset: u32) -> u32 {
        let offset = self.edits.iter().rev().fold(offset, before_round);
        self.index.line(offset)
    }

    /// The report of `fix` (its message shared).
    fn describe(&self, fix: &Fix) -> Report {
        let mut passes = self.passes.borrow_mut();
        let pass = passes
            .iter()
            .position(|&p| p == fix.pass)
            .unwrap_or_else(|| {
                passes.push(fix.pass);
                passes.len() - 1
            });
        let (text, names) = fix.message.parts();
        Report {
            text: self.texts.borrow_mut().index(text),
            names,
            line: self.original_line(fix.range().start),
            pass: u16::try_from(pass).expect("fewer than 65536 passes"),
            applicability: fix.applicability,
        }
    }

    /// `report` as the rewrite returns it.
    fn public(&self, report: Report) -> AppliedFix {
        AppliedFix {
            pass: self.passes.borrow()[usize::from(report.pass)],
            applicability: report.applicability,
            message: Message::from_parts(
                Arc::clone(&self.texts.borrow().list[report.text as usize]),
                report.names,
            )
            .into_shared(),
            line: report.line,
        }
    }
}

/// For each line of a rewritten text, its line in the original file, as runs of lines
/// that either follow the original line by line or all trace to one line (text a round
/// inserted): a large file's map is a few runs per stage, where a number per line took
/// 4 bytes a line (2.8 MB of big-15m, live through every round after the first).
#[derive(Debug, Default)]
pub(crate) struct OriginalLines {
    /// Each run's first line, the original line of that first line, and whether the run's
    /// lines all trace to that one line; sorted by first line.
    runs: Vec<(u32, u32, bool)>,
    /// How many lines are mapped.
    count: u32,
}

impl OriginalLines {
    /// No lines: every line is its own (before any edit).
    pub(crate) const NONE: Self = Self {
        runs: Vec::new(),
        count: 0,
    };

    /// Adds `line` (the next after the last added) and its original line.
    fn push(&mut self, line: u32, original: u32) {
        self.count = line;
        if let Some(last) = self.runs.last_mut() {
            let (start, first, same) = *last;
            // a run of one line is either kind until its second line says which
            if line == start + 1 && original == first {
                last.2 = true;
                return;
            }
            let expected = if same { first } else { first + (line - start) };
            if original == expected {
                return;
            }
        }
        self.runs.push((line, original, false));
    }

    /// The original line of `line` (1-based; 0 is taken as 1), or `None` past the mapped
    /// lines.
    pub(crate) fn get(&self, line: u32) -> Option<u32> {
        let line = line.max(1);
        if line > self.count {
            return None;
        }
        let at = self.runs.partition_point(|&(start, ..)| start <= line);
        let (start, first, same) = self.runs[at - 1];
        Some(if same { first } else { first + (line - start) })
    }
}

/// A round's sorted edits with where each lands in the round's output.
fn shifted(edits: impl ExactSizeIterator<Item = (TextRange, u32)>) -> Shifted {
    let edits: Vec<(TextRange, u32)> = edits.collect();
    let mut shift: i64 = 0;
    let out_starts = edits
        .iter()
        .map(|&(range, inserted)| {
            let out_start = i64::from(range.start) + shift;
            shift += i64::from(inserted) - i64::from(range.len());
            // an output offset, which is a u32 like every offset of a text
            u32::try_from(out_start).unwrap_or(u32::MAX)
        })
        .collect();
    Shifted { edits, out_starts }
}

/// Where `offset` of a round's output was in its input: shifted back past the edits before
/// it; inside inserted text, the start of that edit. The edits' output starts never
/// decrease and their inserted texts do not overlap, so only the last edit starting at or
/// before `offset` can hold it.
fn before_round(offset: u32, round: &Shifted) -> u32 {
    let before = round.out_starts.partition_point(|&start| start <= offset);
    let Some(k) = before.checked_sub(1) else {
        return offset;
    };
    let ((range, inserted), out_start) = (round.edits[k], round.out_starts[k]);
    if i64::from(offset) < i64::from(out_start) + i64::from(inserted) {
        return range.start;
    }
    // the output's shift past the edit (output offset minus input offset)
    let shift_after = i64::from(out_start) + i64::from(inserted) - i64::from(range.end);
    u32::try_from(i64::from(offset) - shift_after).unwrap_or(0)
}

/// The distinct passes of `fixes`, sorted: kept as they come (few), not as a list of every
/// fix's, which was a large file's peak just after the new text was built.
fn names(fixes: &[Fix]) -> String {
    let mut names: Vec<&str> = Vec::new();
    let mut last = "";
    for fix in fixes {
        // a pass's fixes come together: most are the last one's
        if fix.pass == last {
            continue;
        }
        last = fix.pass;
        if let Err(at) = names.binary_search(&fix.pass) {
            names.insert(at, fix.pass);
        }
    }
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passes::{FixAvailability, MayDo, PassInfo};
    use crate::text::Edit;

    #[test]
    fn two_same_length_insertions_at_one_offset_both_shift_later_lines() {
        let source = "A\nB\nC\n";
        let mut rounds = Rounds::new(source);
        let at = TextRange::new(2, 2);
        let one = Edit::replace(at, "x\n");
        let two = Edit::replace(at, "y\n");
        // the same edit twice (two fixes sharing it) is applied once
        rounds.push(source, [&one, &two, &one].into_iter());
        let current = "A\nx\ny\nB\nC\n";
        // lines 2 and 3 are inserted text (traced to the line they were inserted at, 2);
        // B is line 2 of the original and C line 3
        let lines = rounds.original_lines(current);
        let mapped: Vec<Option<u32>> = (0..=7).map(|line| lines.get(line)).collect();
        let one = Some(1);
        assert_eq!(
            mapped,
            [one, one, Some(2), Some(2), Some(2), Some(3), Some(4), None]
        );
        assert_eq!(rounds.original(current).as_deref(), Some(source));
    }

    /// Applies up to three rounds of random edits (ranges from `cuts`, contents from `texts`)
    /// with [`text::apply`], as the fixed point does, and returns the final text.
    fn edit_rounds(source: &str, rounds: &mut Rounds, plan: &[Vec<(u8, u8, String)>]) -> String {
        let mut current = source.to_owned();
        for round in plan {
            let len = current.len();
            let fixes: Vec<Fix> = round
                .iter()
                .filter_map(|(a, b, content)| {
                    let (a, b) = (usize::from(*a) % (len + 1), usize::from(*b) % (len + 1));
                    let range = TextRange::new(text::to_u32(a.min(b)), text::to_u32(a.max(b)));
                    Fix::new(
                        "p",
                        Applicability::Safe,
                        "m",
                        vec![Edit::replace(range, content)],
                    )
                    .ok()
                })
                .collect();
            let result = text::apply(&current, &fixes);
            rounds.push(
                &current,
                result.applied.iter().flat_map(|&i| fixes[i].edits()),
            );
            current = result.text;
        }
        current
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        /// Undoing the rounds' edits gives back the text they started from, byte for byte.
        #[test]
        fn the_original_is_rebuilt_from_the_final_text(
            source in "[ab\n]{0,24}",
            plan in proptest::collection::vec(
                proptest::collection::vec((0u8.., 0u8.., "[xy\n]{0,3}"), 0..5),
                0..4,
            ),
        ) {
            let mut rounds = Rounds::new(&source);
            let current = edit_rounds(&source, &mut rounds, &plan);
            let rebuilt = rounds.original(&current);
            proptest::prop_assert_eq!(rebuilt.as_deref().unwrap_or(&current), source.as_str());
            // the runs give each line's original line, as tracing its start back does
            let lines = rounds.original_lines(&current);
            let index = LineIndex::new(&current);
            for line in 1..=text::to_u32(index.line_count()) {
                let traced = (!rounds.edits.is_empty())
                    .then(|| rounds.original_line(index.line_start(line)));
                proptest::prop_assert_eq!(lines.get(line), traced);
            }
        }
    }

    fn pass(name: &'static str, run: fn(&PassContext<'_>) -> Vec<Fix>) -> PassInfo {
        PassInfo {
            name,
            summary: "",
            doc: "",
            fix: FixAvailability::Always,
            may: MayDo::NOTHING_ELSE,
            run,
            files: None,
            tier: Applicability::Safe,
        }
    }

    fn insert_comment(ctx: &PassContext<'_>) -> Vec<Fix> {
        // never satisfied: adds a line every round
        vec![
            Fix::new(
                "grow",
                Applicability::Safe,
                "m",
                vec![Edit::insert(0, "# x\n")],
            )
            .unwrap(),
        ]
        .into_iter()
        .filter(|_| !ctx.file.source.is_empty())
        .collect()
    }

    fn break_syntax(ctx: &PassContext<'_>) -> Vec<Fix> {
        let end = crate::text::to_u32(ctx.file.source.len());
        if ctx.file.source.contains("<<EOF") {
            return Vec::new();
        }
        vec![
            Fix::new(
                "break",
                Applicability::Safe,
                "m",
                vec![Edit::insert(end, "RUN <<EOF\n")],
            )
            .unwrap(),
        ]
    }

    fn unsafe_once(ctx: &PassContext<'_>) -> Vec<Fix> {
        if ctx.file.source.contains("USER") {
            return Vec::new();
        }
        let end = crate::text::to_u32(ctx.file.source.len());
        vec![
            Fix::new(
                "user",
                Applicability::Unsafe,
                "m",
                vec![Edit::insert(end, "USER app\n")],
            )
            .unwrap(),
        ]
    }

    /// Replaces `x` with `y`: a change that keeps the text's length.
    fn x_to_y(ctx: &PassContext<'_>) -> Vec<Fix> {
        let Some(at) = ctx.file.source.find('x') else {
            return Vec::new();
        };
        let at = crate::text::to_u32(at);
        let range = crate::text::TextRange::new(at, at + 1);
        vec![
            Fix::new(
                "xy",
                Applicability::Safe,
                "m",
                vec![Edit::replace(range, "y")],
            )
            .unwrap(),
        ]
    }

    #[test]
    fn an_owned_text_comes_back_and_a_consumed_one_still_decides_the_output() {
        let p = pass("xy", x_to_y);
        let run = |source: &str, give_back| {
            let input = Input::Owned {
                source: source.to_owned(),
                give_back,
            };
            rewrite_input(input, &Settings::default(), &[&p], None).unwrap()
        };
        // a change of the same length: the lengths cannot tell, the rebuild does
        let (kept, original) = run("FROM a\nRUN x\n", true);
        assert_eq!(kept.output.as_deref(), Some("FROM a\nRUN y\n"));
        assert_eq!(original.as_deref(), Some("FROM a\nRUN x\n"));
        let (consumed, none) = run("FROM a\nRUN x\n", false);
        assert_eq!((consumed, none), (kept, None));
        // nothing to change
        assert_eq!(run("FROM a\n", true).1.as_deref(), Some("FROM a\n"));
        assert_eq!(run("FROM a\n", false).0.output, None);
    }

    fn overlapping_edits(ctx: &PassContext<'_>) -> Vec<Fix> {
        let range = crate::text::TextRange::new(0, 4);
        ctx.fix(
            "overlap",
            Applicability::Safe,
            "m",
            vec![Edit::replace(range, "a"), Edit::replace(range, "b")],
        )
        .into_iter()
        .collect()
    }

    #[test]
    fn a_fix_with_overlapping_edits_is_an_internal_error() {
        let p = pass("overlap", overlapping_edits);
        let err = rewrite_with("FROM a\n", &Settings::default(), &[&p], None).unwrap_err();
        assert!(
            matches!(&err, Error::Internal(m) if m.contains("overlap: overlapping edits")),
            "{err}"
        );
    }

    fn header_then_edit(ctx: &PassContext<'_>) -> Vec<Fix> {
        let src = &ctx.file.source;
        let (range, text) = if src.starts_with("# one") {
            let Some(at) = src.find("RUN x") else {
                return Vec::new();
            };
            let at = crate::text::to_u32(at);
            (crate::text::TextRange::new(at, at + 5), "RUN y")
        } else {
            (crate::text::TextRange::empty(0), "# one\n# two\n")
        };
        // a message naming an instruction names its line in the original file
        let from = ctx.file.instructions().next().map_or(0, |i| ctx.line(i));
        let message = format!("FROM on line {from}");
        ctx.fix(
            "two",
            Applicability::Safe,
            message,
            vec![Edit::replace(range, text)],
        )
        .into_iter()
        .collect()
    }

    #[test]
    fn report_lines_refer_to_the_original_text() {
        let p = pass("two", header_then_edit);
        let out = rewrite_with("FROM a\nRUN x\n", &Settings::default(), &[&p], None).unwrap();
        assert_eq!(out.output.as_deref(), Some("# one\n# two\nFROM a\nRUN y\n"));
        let lines: Vec<u32> = out.applied.iter().map(|f| f.line).collect();
        // the second round's edit is on line 4 of its text, line 2 of the original
        assert_eq!(lines, [1, 2]);
        // and its message names FROM's original line (line 3 of the round's text)
        assert_eq!(&*out.applied[1].message, "FROM on line 1");
    }

    #[test]
    fn a_report_is_16_bytes_and_makes_its_message_when_made_public() {
        // a large file keeps a report per RUN until the rewrite returns
        assert_eq!(size_of::<Report>(), 16);
        let rounds = Rounds::new("");
        let messages = text::Messages::default();
        let template = messages.get(&format!("merge into line {}", Message::LINE));
        let fix = |message: Message| {
            Fix::new("p", Applicability::Safe, message, vec![Edit::insert(0, "")]).unwrap()
        };
        let [seven, nine, plain] = [
            Message::with_line(Arc::clone(&template), 7),
            Message::with_line(Arc::clone(&template), 9),
            Message::from(messages.get("plain")),
        ]
        .map(|m| rounds.describe(&fix(m)));
        // one text for the two lines, and one for the plain message
        assert_eq!(rounds.texts.borrow().list.len(), 2);
        let public = |r| rounds.public(r).message;
        assert_eq!(&*public(seven), "merge into line 7");
        assert_eq!(&*public(nine), "merge into line 9");
        assert!(Arc::ptr_eq(&public(plain), &messages.get("plain")));
    }

    #[test]
    fn offsets_trace_back_through_a_round() {
        let edits = shifted(
            [
                (crate::text::TextRange::new(2, 4), 5),
                (crate::text::TextRange::empty(10), 3),
            ]
            .into_iter(),
        );
        // before, inside the first replacement's text, between, inside the insertion, after
        assert_eq!(before_round(1, &edits), 1);
        assert_eq!(before_round(3, &edits), 2);
        assert_eq!(before_round(7, &edits), 4);
        assert_eq!(before_round(13, &edits), 10);
        assert_eq!(before_round(17, &edits), 11);
    }

    /// The walk over every edit that [`before_round`]'s binary search replaces.
    fn before_round_by_walk(offset: u32, edits: &[(TextRange, u32)]) -> u32 {
        let mut shift: i64 = 0;
        let at = i64::from(offset);
        for (range, inserted) in edits {
            let start = i64::from(range.start) + shift;
            if at < start {
                break;
            }
            if at < start + i64::from(*inserted) {
                return range.start;
            }
            shift += i64::from(*inserted) - i64::from(range.len());
        }
        u32::try_from(at - shift).unwrap_or(0)
    }

    #[test]
    fn the_search_agrees_with_the_walk() {
        use crate::text::TextRange as R;
        let rounds: [&[(R, u32)]; 4] = [
            // a deletion then an insertion where it ends; an insertion then a replacement
            &[(R::new(5, 6), 0), (R::empty(6), 1)],
            &[(R::empty(5), 2), (R::new(5, 7), 1)],
            // several insertions at one offset, a deletion at the start, growth and shrink
            &[
                (R::new(0, 3), 0),
                (R::empty(4), 3),
                (R::empty(4), 1),
                (R::new(8, 20), 2),
            ],
            &[
                (R::new(1, 2), 9),
                (R::new(2, 3), 0),
                (R::empty(3), 0),
                (R::new(30, 31), 4),
            ],
        ];
        for round in rounds {
            let edits = shifted(round.iter().copied());
            for offset in 0..60 {
                assert_eq!(
                    before_round(offset, &edits),
                    before_round_by_walk(offset, round),
                    "{round:?} at {offset}"
                );
            }
        }
    }

    #[test]
    fn non_convergence_is_an_internal_error() {
        let p = pass("grow", insert_comment);
        let err = rewrite_with("FROM a\n", &Settings::default(), &[&p], None).unwrap_err();
        assert!(matches!(err, Error::Internal(m) if m.contains("converge")));
    }

    #[test]
    fn output_that_does_not_parse_is_an_internal_error() {
        let p = pass("break", break_syntax);
        let err = rewrite_with("FROM a\n", &Settings::default(), &[&p], None).unwrap_err();
        assert!(matches!(err, Error::Internal(m) if m.contains("does not parse")));
    }

    /// A fix of `pass` at `at` through the context (`None`: built without it).
    fn report_at(
        ctx: Option<&PassContext<'_>>,
        pass: &'static str,
        tier: Applicability,
        at: u32,
    ) -> Option<Fix> {
        let edits = vec![Edit::insert(at, "")];
        match ctx {
            Some(ctx) => ctx.fix(pass, tier, pass, edits),
            None => Fix::new(pass, tier, pass, edits).ok(),
        }
    }

    fn found_a(ctx: &PassContext<'_>) -> Vec<Fix> {
        report_at(Some(ctx), "a", Applicability::DisplayOnly, 0)
            .into_iter()
            .collect()
    }

    fn left_out_b(ctx: &PassContext<'_>) -> Vec<Fix> {
        // the second line's fix first: the report keeps the order they are built in
        [7, 0]
            .into_iter()
            .filter_map(|at| report_at(Some(ctx), "b", Applicability::Unsafe, at))
            .collect()
    }

    fn found_c(ctx: &PassContext<'_>) -> Vec<Fix> {
        report_at(Some(ctx), "c", Applicability::DisplayOnly, 7)
            .into_iter()
            .collect()
    }

    fn found_e(ctx: &PassContext<'_>) -> Vec<Fix> {
        report_at(Some(ctx), "e", Applicability::DisplayOnly, 0)
            .into_iter()
            .collect()
    }

    fn left_out_d(_: &PassContext<'_>) -> Vec<Fix> {
        report_at(None, "d", Applicability::Unsafe, 7)
            .into_iter()
            .collect()
    }

    #[test]
    fn left_out_passes_report_in_pass_order() {
        let tiered = |name, run: fn(&PassContext<'_>) -> Vec<Fix>, tier| PassInfo {
            tier,
            ..pass(name, run)
        };
        let all = [
            tiered("a", found_a, Applicability::Safe),
            tiered("b", left_out_b, Applicability::Unsafe),
            tiered("c", found_c, Applicability::Safe),
            tiered("d", left_out_d, Applicability::Unsafe),
            tiered("e", found_e, Applicability::Safe),
        ];
        let all: Vec<&PassInfo> = all.iter().collect();
        let out = rewrite_with("FROM a\nRUN x\n", &Settings::default(), &all, None).unwrap();
        let reports: Vec<(&str, u32)> = out.advice.iter().map(|f| (f.pass, f.line)).collect();
        assert_eq!(
            reports,
            [("a", 1), ("b", 2), ("b", 1), ("c", 2), ("d", 2), ("e", 1)]
        );
    }

    /// Reports once per fix of `b` it sees whole: a pass that runs another to read its
    /// fixes (as non-root-user runs split-stages) must get them, not have them reported.
    fn left_out_reads_b(ctx: &PassContext<'_>) -> Vec<Fix> {
        left_out_b(ctx)
            .iter()
            .filter(|f| !f.edits().is_empty())
            .filter_map(|f| report_at(Some(ctx), "f", Applicability::Unsafe, f.range().start))
            .collect()
    }

    #[test]
    fn a_pass_run_by_a_left_out_pass_returns_its_fixes() {
        let all = [
            PassInfo {
                tier: Applicability::Unsafe,
                ..pass("b", left_out_b)
            },
            PassInfo {
                tier: Applicability::Unsafe,
                ..pass("f", left_out_reads_b)
            },
        ];
        let all: Vec<&PassInfo> = all.iter().collect();
        let out = rewrite_with("FROM a\nRUN x\n", &Settings::default(), &all, None).unwrap();
        let reports: Vec<(&str, u32)> = out.advice.iter().map(|f| (f.pass, f.line)).collect();
        assert_eq!(reports, [("b", 2), ("b", 1), ("f", 2), ("f", 1)]);
    }

    #[test]
    fn threshold_decides_what_is_applied() {
        let p = pass("user", unsafe_once);
        let safe = rewrite_with("FROM a\n", &Settings::default(), &[&p], None).unwrap();
        assert_eq!(safe.output, None);
        assert_eq!(safe.advice.len(), 1);
        let settings = Settings {
            threshold: Applicability::Unsafe,
            ..Settings::default()
        };
        let applied = rewrite_with("FROM a\n", &settings, &[&p], None).unwrap();
        assert_eq!(applied.output.as_deref(), Some("FROM a\nUSER app\n"));
        assert_eq!(applied.applied.len(), 1);
        assert!(applied.advice.is_empty());
    }

    #[test]
    fn bad_input_is_invalid_with_a_position() {
        let err = rewrite("FROM a\nRUN <<EOF\necho\n", &Settings::default()).unwrap_err();
        assert_eq!(
            err,
            Error::Invalid {
                line: 2,
                column: 5,
                message: "unterminated heredoc EOF".into()
            }
        );
        assert_eq!(
            rewrite("# only a comment\n", &Settings::default())
                .unwrap()
                .output,
            None
        );
    }
}
