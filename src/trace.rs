//! Where each fix of a rewrite lies in the text the rewrite was given, for editors.
//!
//! [`rewrite`](crate::rewrite) reports fixes by line in the text of the round that found
//! them. An editor needs ranges in the buffer it holds, and an edit it can apply to that
//! buffer. [`rewrite_traced`] records every round and maps each fix's range back through the
//! edits of the rounds before it.

use std::collections::HashSet;

use crate::fixpoint::{self, Round};
use crate::text::{self, Applicability, Edit, Fix, TextRange};
use crate::{Error, NewFile, Outcome, Settings};

/// A rewrite with the texts of its rounds and every fix located in the source text.
#[derive(Debug, Clone)]
pub struct Trace {
    /// What [`rewrite`](crate::rewrite) returns for the same input.
    pub outcome: Outcome,
    /// The applied fixes in round order, then the advice, then the proposed new files:
    /// exactly what `outcome.applied`, `outcome.advice` and `outcome.files` report.
    pub findings: Vec<Finding>,
    /// `texts[k]` is the text round `k` read; `texts[0]` is the source.
    texts: Vec<String>,
    /// `maps[k]` takes offsets in `texts[k + 1]` back to `texts[k]`.
    maps: Vec<Vec<Shifted>>,
    /// The fixes round 0 found on the source but did not apply (they overlapped a fix it
    /// applied, or the settings do not apply them), by pass and edits.
    held: HashSet<(&'static str, Vec<Edit>)>,
}

/// One fix, piece of advice or new-file proposal of a rewrite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub pass: &'static str,
    pub applicability: Applicability,
    pub message: String,
    /// Where it lies in the source text. A fix found in a later round covers the source
    /// bytes its text came from; a new-file proposal covers the line it is about.
    pub range: TextRange,
    /// The round whose text it was found in; 0 is the source itself.
    pub round: usize,
    /// Whether the rewrite applies it (`false`: advice the settings do not apply).
    pub applied: bool,
    /// The fix, with edits on the text of round `round`; `None` for a new-file proposal.
    pub fix: Option<Fix>,
    /// The proposed file, for a new-file proposal.
    pub file: Option<NewFile>,
    /// For an applied fix, where each of its edits (in `fix.edits()` order) comes among the
    /// edits its round splices into the text: splicing every applied edit of a round by
    /// ascending place, an edit two fixes share once, gives the next round's text. Empty
    /// for the rest.
    pub order: Vec<u32>,
}

/// [`rewrite`](crate::rewrite), also locating every fix in `source`.
pub fn rewrite_traced(source: &str, settings: &Settings) -> Result<Trace, Error> {
    let mut rounds = Vec::new();
    let outcome = fixpoint::rewrite_recorded(source, settings, &mut rounds)?;
    let (maps, mut orders): (Vec<Vec<Shifted>>, Vec<Vec<Vec<u32>>>) = rounds
        .iter()
        .map(|r| {
            let (taken, orders) = taken_edits(r);
            (shifted(&taken), orders)
        })
        .unzip();
    let mut trace = Trace {
        outcome,
        findings: Vec::new(),
        texts: Vec::with_capacity(rounds.len()),
        maps,
        held: HashSet::new(),
    };
    let last = rounds.len().saturating_sub(1);
    let mut last_files = Vec::new();
    for (k, round) in rounds.into_iter().enumerate() {
        let Round {
            text,
            fixes,
            applied,
            files: round_files,
            unwanted,
        } = round;
        trace.texts.push(text);
        let is_last = k == last;
        let chosen: Vec<(Fix, bool, Vec<u32>)> = if is_last {
            fixes.into_iter().map(|f| (f, false, Vec::new())).collect()
        } else {
            let mut taken: Vec<Option<Fix>> = fixes.into_iter().map(Some).collect();
            let orders = std::mem::take(&mut orders[k]);
            let chosen = applied
                .iter()
                .zip(orders)
                .filter_map(|(&i, order)| Some((taken[i].take()?, true, order)))
                .collect();
            if k == 0 {
                trace.held = taken
                    .into_iter()
                    .flatten()
                    .chain(unwanted)
                    .map(|f| (f.pass, f.edits().to_vec()))
                    .collect();
            }
            chosen
        };
        for (fix, applied, order) in chosen {
            let range = trace.map_range(k, fix.range());
            trace.findings.push(Finding {
                pass: fix.pass,
                applicability: fix.applicability,
                message: fix.message.to_string(),
                range,
                round: k,
                applied,
                fix: Some(fix),
                file: None,
                order,
            });
        }
        if is_last {
            last_files = round_files;
        }
    }
    // Withheld files are advice, proposed ones come last, as in the outcome.
    let (proposed, withheld): (Vec<NewFile>, Vec<NewFile>) = last_files
        .into_iter()
        .partition(|f| trace.outcome.files.contains(f));
    for (file, applied) in withheld
        .into_iter()
        .map(|f| (f, false))
        .chain(proposed.into_iter().map(|f| (f, true)))
    {
        let range = trace.map_range(last, line_range(&trace.texts[last], file.line));
        trace.findings.push(Finding {
            pass: file.pass,
            applicability: file.applicability,
            message: file.message.clone(),
            range,
            round: last,
            applied,
            fix: None,
            file: Some(file),
            order: Vec::new(),
        });
    }
    Ok(trace)
}

impl Trace {
    /// The text round `round` read (0: the source).
    pub fn text(&self, round: usize) -> &str {
        &self.texts[round]
    }

    /// What applying `finding` on its own gives: the text of its round with just its fix
    /// applied. For round 0 that is the source with this one fix; for a later round it
    /// includes the earlier rounds' fixes it was found after. `None` for a finding without
    /// edits (a new-file proposal, or advice that only describes).
    pub fn apply_alone(&self, finding: &Finding) -> Option<String> {
        let fix = finding.fix.as_ref()?;
        if fix.edits().is_empty() {
            return None;
        }
        let result = text::apply(&self.texts[finding.round], std::slice::from_ref(fix));
        Some(result.text)
    }

    /// How many fixes the rounds before `round` applied.
    pub fn applied_before(&self, round: usize) -> usize {
        self.findings
            .iter()
            .filter(|f| f.applied && f.fix.is_some() && f.round < round)
            .count()
    }

    /// A finding's edits on the source, when they are what its pass proposed there: a
    /// round-0 fix's own edits, or a later round's fix that round 0 found with the same
    /// edits (moved to the source) and did not apply (held back behind a fix it overlapped,
    /// or not applied under the settings). `None` for a later fix that its pass found only
    /// after earlier fixes (its change alone on the source was never checked), and for a
    /// finding without a fix.
    pub fn edits_on_source(&self, finding: &Finding) -> Option<Vec<Edit>> {
        let fix = finding.fix.as_ref()?;
        if finding.round == 0 {
            return Some(fix.edits().to_vec());
        }
        let moved: Vec<Edit> = fix
            .edits()
            .iter()
            .map(|e| Edit {
                range: self.map_range(finding.round, e.range),
                ..e.clone()
            })
            .collect();
        self.held
            .contains(&(fix.pass, moved.clone()))
            .then_some(moved)
    }

    /// Maps a range in the text of round `round` back to the source.
    fn map_range(&self, round: usize, range: TextRange) -> TextRange {
        let mut start = range.start;
        let mut end = range.end;
        for map in self.maps[..round].iter().rev() {
            start = map_back(map, start, Bias::Start);
            end = map_back(map, end, Bias::End).max(start);
        }
        TextRange::new(start, end)
    }
}

/// The edits a round applied, in the order `text::apply` splices them (identical edits of
/// two fixes are applied once), and for each applied fix (in `round.applied` order) the
/// place of each of its edits in that list. Empty for the last round, which applies nothing.
fn taken_edits(round: &Round) -> (Vec<Edit>, Vec<Vec<u32>>) {
    let mut taken: Vec<(&Edit, usize)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for &i in &round.applied {
        for edit in round.fixes[i].edits() {
            if seen.insert(edit) {
                taken.push((edit, i));
            }
        }
    }
    taken.sort_by_key(|(e, i)| (e.range.start, !e.range.is_empty(), e.side, e.range.end, *i));
    let place: std::collections::HashMap<&Edit, u32> = taken
        .iter()
        .enumerate()
        .map(|(n, (e, _))| (*e, text::to_u32(n)))
        .collect();
    let orders = round
        .applied
        .iter()
        .map(|&i| round.fixes[i].edits().iter().map(|e| place[e]).collect())
        .collect();
    (taken.into_iter().map(|(e, _)| e.clone()).collect(), orders)
}

#[derive(Clone, Copy)]
enum Bias {
    Start,
    End,
}

/// Maps an offset in the text after `edits` back to the text before them. An offset inside
/// replacement text maps to the start (for a range's start) or end (for its end) of the
/// bytes it replaced. The edits' new ends never decrease, so the edit that holds `offset`
/// (the first one ending at or after it) is found by a binary search.
fn map_back(edits: &[Shifted], offset: u32, bias: Bias) -> u32 {
    let at = i64::from(offset);
    let first = edits.partition_point(|e| e.new_end < at);
    let Some(edit) = edits.get(first) else {
        return u32::try_from(at - edits.last().map_or(0, |e| e.delta_after)).unwrap_or(0);
    };
    if at < edit.new_start {
        return u32::try_from(at - (edit.new_start - i64::from(edit.range.start))).unwrap_or(0);
    }
    match bias {
        Bias::Start if at == edit.new_end => edit.range.end,
        Bias::Start => edit.range.start,
        Bias::End if at == edit.new_start => edit.range.start,
        Bias::End => edit.range.end,
    }
}

/// One edit of a round with where its text lies after the round.
#[derive(Debug, Clone, Copy)]
struct Shifted {
    range: TextRange,
    new_start: i64,
    new_end: i64,
    /// New offsets minus old ones past this edit (may be negative).
    delta_after: i64,
}

/// `edits` (sorted, as a round splices them) with where each lands.
fn shifted(edits: &[Edit]) -> Vec<Shifted> {
    let mut delta: i64 = 0;
    edits
        .iter()
        .map(|edit| {
            let new_start = i64::from(edit.range.start) + delta;
            let new_end = new_start + i64::try_from(edit.content.len()).unwrap_or(i64::MAX);
            delta = new_end - i64::from(edit.range.end);
            Shifted {
                range: edit.range,
                new_start,
                new_end,
                delta_after: delta,
            }
        })
        .collect()
}

/// The range of 1-based line `line` of `text`, without its line break.
fn line_range(text: &str, line: u32) -> TextRange {
    let mut start = 0usize;
    for _ in 1..line.max(1) {
        match text[start..].find('\n') {
            Some(nl) => start += nl + 1,
            None => break,
        }
    }
    let end = text[start..].find('\n').map_or(text.len(), |nl| start + nl);
    let end = if text[..end].ends_with('\r') {
        end - 1
    } else {
        end
    };
    TextRange::from_usize(start, end.max(start))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(start: u32, end: u32, content: &str) -> Edit {
        Edit::replace(TextRange::new(start, end), content)
    }

    #[test]
    fn offsets_outside_edits_shift_back() {
        // "abcdef" -> "aXXcdf": b replaced by XX, e deleted
        let edits = shifted(&[edit(1, 2, "XX"), edit(4, 5, "")]);
        assert_eq!(map_back(&edits, 0, Bias::Start), 0);
        assert_eq!(map_back(&edits, 3, Bias::Start), 2); // c
        assert_eq!(map_back(&edits, 4, Bias::Start), 3); // d
        assert_eq!(map_back(&edits, 5, Bias::Start), 5); // f
        assert_eq!(map_back(&edits, 6, Bias::End), 6); // end of text
    }

    #[test]
    fn offsets_inside_replacements_take_the_replaced_bytes() {
        let edits = shifted(&[edit(1, 2, "XX")]);
        assert_eq!(map_back(&edits, 2, Bias::Start), 1);
        assert_eq!(map_back(&edits, 2, Bias::End), 2);
        assert_eq!(map_back(&edits, 1, Bias::End), 1);
        assert_eq!(map_back(&edits, 3, Bias::Start), 2);
    }

    /// The walk over every edit that [`map_back`]'s binary search replaces.
    fn map_back_by_walk(edits: &[Edit], offset: u32, bias: Bias) -> u32 {
        let mut delta: i64 = 0;
        let at = i64::from(offset);
        for edit in edits {
            let new_start = i64::from(edit.range.start) + delta;
            let new_end = new_start + i64::try_from(edit.content.len()).unwrap();
            if at < new_start {
                break;
            }
            if at <= new_end {
                return match bias {
                    Bias::Start if at == new_end => edit.range.end,
                    Bias::Start => edit.range.start,
                    Bias::End if at == new_start => edit.range.start,
                    Bias::End => edit.range.end,
                };
            }
            delta = new_end - i64::from(edit.range.end);
        }
        u32::try_from(at - delta).unwrap()
    }

    #[test]
    fn the_search_agrees_with_the_walk() {
        let rounds = [
            vec![edit(5, 6, ""), edit(6, 6, "y")],
            vec![edit(5, 5, "xx"), edit(5, 7, "y")],
            vec![
                edit(0, 3, ""),
                edit(4, 4, "abc"),
                edit(4, 4, "d"),
                edit(8, 20, "ef"),
            ],
            vec![
                edit(1, 2, "123456789"),
                edit(2, 3, ""),
                edit(30, 31, "abcd"),
            ],
        ];
        for round in &rounds {
            let edits = shifted(round);
            for offset in 0..60 {
                for bias in [Bias::Start, Bias::End] {
                    assert_eq!(
                        map_back(&edits, offset, bias),
                        map_back_by_walk(round, offset, bias),
                        "{round:?} at {offset}"
                    );
                }
            }
        }
    }

    #[test]
    fn lines_without_their_break() {
        let text = "a\r\nbc\nd";
        assert_eq!(line_range(text, 1), TextRange::new(0, 1));
        assert_eq!(line_range(text, 2), TextRange::new(3, 5));
        assert_eq!(line_range(text, 3), TextRange::new(6, 7));
    }

    #[test]
    fn findings_match_the_outcome_and_lie_in_the_source() {
        let source = "FROM debian\nRUN apt-get update\nRUN apt-get install -y curl\n";
        let trace = rewrite_traced(source, &Settings::default()).unwrap();
        assert_eq!(
            trace.outcome,
            crate::rewrite(source, &Settings::default()).unwrap()
        );
        let applied: Vec<_> = trace.findings.iter().filter(|f| f.applied).collect();
        assert_eq!(applied.len(), trace.outcome.applied.len());
        assert!(!applied.is_empty());
        let advice = trace.findings.iter().filter(|f| !f.applied).count();
        assert_eq!(advice, trace.outcome.advice.len());
        for finding in &trace.findings {
            assert!(finding.range.end as usize <= source.len());
        }
        // the first round's fixes keep their own ranges
        for finding in trace.findings.iter().filter(|f| f.round == 0) {
            assert_eq!(finding.range, finding.fix.as_ref().unwrap().range());
        }
    }
}
