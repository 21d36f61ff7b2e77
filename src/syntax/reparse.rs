//! The re-parse of a fix round's output: the text is the previous round's with known edits,
//! so every item no edit touched is moved over with its offsets shifted, and only the lines
//! around the edits are parsed again.
//!
//! Why this equals a full parse: at the start of a line outside any instruction, BuildKit's
//! loop has no state but the escape character (fixed by the directives at the top), and an
//! item's parse reads only its own lines (an instruction that continues up to the end of the
//! text also depends on the text ending there). So an unchanged item whose bytes sit at a
//! line start the new parse reaches parses the same, with its offsets and line numbers
//! shifted. Each reused item is checked against the new text (same bytes, ending at a line
//! boundary, or at the end where it ended there); anything else falls back to a full parse.

use std::collections::VecDeque;

use super::parse::{Parser, parse_owned};
use super::{Args, Dockerfile, Instruction, Item, ParseError};
use crate::text::TextRange;

impl Dockerfile {
    /// Parses `source`, which is this file's source with `edits` applied: each edit is a range
    /// of this file's source and the length of the text that replaced it, sorted and not
    /// overlapping. Items no edit touches are reused; the result is what [`super::parse`]
    /// returns on `source` (with edits that do not describe `source`, it parses in full).
    pub fn reparse(self, source: &str, edits: &[(TextRange, u32)]) -> Result<Self, ParseError> {
        self.reparse_owned(source.to_owned(), edits)
    }

    /// [`Dockerfile::reparse`], the new tree keeping `source` itself rather than a copy.
    pub fn reparse_owned(
        self,
        source: String,
        edits: &[(TextRange, u32)],
    ) -> Result<Self, ParseError> {
        let Some((escape, items)) = incremental(self, &source, edits) else {
            return parse_owned(source);
        };
        let file = Dockerfile::new(source, escape, items);
        debug_assert!(
            super::parse(&file.source).is_ok_and(|full| full.items == file.items
                && full.escape == file.escape
                && full.source == file.source),
            "incremental parse differs from the full parse"
        );
        Ok(file)
    }
}

/// The incremental parse's escape character and items, or `None` where it cannot be used (the
/// edits do not add up, the directives changed, or a parse error: the full parse then
/// reports it).
fn incremental(
    old: Dockerfile,
    source: &str,
    edits: &[(TextRange, u32)],
) -> Option<(char, Vec<Item>)> {
    let Dockerfile {
        source: old_source,
        escape,
        items: old_items,
        ..
    } = old;
    let mut length = i64::try_from(old_source.len()).ok()?;
    let mut previous_end = 0;
    for &(range, inserted) in edits {
        if range.start < previous_end || range.end as usize > old_source.len() {
            return None;
        }
        previous_end = range.end;
        length += i64::from(inserted) - i64::from(range.len());
    }
    if length != i64::try_from(source.len()).ok()? {
        return None;
    }

    let mut parser = Parser::new(source);
    let mut line = parser.header().ok()?;
    // the header (BOM, directives) is parsed again: it must be the old one, untouched
    let head = old_items
        .iter()
        .take_while(|i| matches!(i, Item::Bom(_) | Item::Directive(_)))
        .count();
    let body_start = old_items.get(head).map_or(old_source.len(), |i| {
        Dockerfile::item_range(i).start as usize
    });
    if parser.escape != escape
        || parser.items.len() != head
        || edits
            .first()
            .is_some_and(|(r, _)| (r.start as usize) < body_start)
    {
        return None;
    }

    // the old items go in the new tree's queue, ahead of its items: each leaves the front
    // (for the back, or dropped) as the new parse passes it, so the two trees share one
    // allocation, not one each (a large file's tree is tens of megabytes)
    let header = std::mem::replace(&mut parser.items, VecDeque::from(old_items));
    parser.items.drain(..head);
    let mut old_left = parser.items.len();
    for item in header {
        parser.push(item);
    }
    // the first edit that ends at or after the front old item's start, and the shift of
    // those before it
    let mut next_edit = 0;
    let mut delta: i64 = 0;
    while line < parser.line_count() {
        let at = parser.line_start(line);
        let at_wide = i64::try_from(at).ok()?;
        // skip the old items the new parse has passed, and those an edit touches
        let reusable = loop {
            let Some(item) = parser.items.front().filter(|_| old_left > 0) else {
                break false;
            };
            let range = Dockerfile::item_range(item);
            while let Some(&(edit, inserted)) = edits.get(next_edit)
                && edit.end < range.start
            {
                delta += i64::from(inserted) - i64::from(edit.len());
                next_edit += 1;
            }
            let touched = edits
                .get(next_edit)
                .is_some_and(|(edit, _)| edit.start <= range.end);
            let new_start = i64::from(range.start) + delta;
            if touched || new_start < at_wide {
                // passed for good: its memory goes now, not with the whole old tree
                parser.items.pop_front();
                old_left -= 1;
                continue;
            }
            break new_start == at_wide;
        };
        if !reusable {
            line = parser.item(line).ok()?;
            continue;
        }
        let mut item = parser.items.pop_front()?;
        old_left -= 1;
        let range = Dockerfile::item_range(&item);
        let lines = match &item {
            Item::Instruction(i) => (i.end_line() + 1 - i.start_line) as usize,
            _ => 1,
        };
        let end = at + range.len() as usize;
        let ends_text = range.end as usize == old_source.len();
        if source.get(at..end)? != range.slice(&old_source)
            || parser.line_start(line + lines) != end
            || (ends_text && end != source.len())
        {
            return None;
        }
        let by = i32::try_from(delta).ok()?;
        match &mut item {
            Item::Instruction(i) => {
                let first = u32::try_from(line + 1).ok()?;
                let line_shift = i64::from(first) - i64::from(i.start_line);
                i.shift(by);
                i.start_line = first;
                if let Some(rare) = &mut i.rare {
                    rare.end_line = u32::try_from(i64::from(rare.end_line) + line_shift).ok()?;
                }
            }
            Item::Comment(r) | Item::Blank(r) => shift(r, by),
            Item::Bom(_) | Item::Directive(_) => return None,
        }
        parser.push(item);
        line += lines;
    }
    // the old items past the new text's last line
    parser.items.drain(..old_left);
    Some(parser.finish())
}

fn shift(range: &mut TextRange, by: i32) {
    range.start = range.start.wrapping_add_signed(by);
    range.end = range.end.wrapping_add_signed(by);
}

impl Instruction {
    /// Moves every source offset by `by` bytes (line numbers are the caller's).
    fn shift(&mut self, by: i32) {
        shift(&mut self.range, by);
        match &mut self.args {
            Args::None => {}
            // `joined` is an offset into the joined line, which does not move
            Args::Json { range } | Args::Shell { range } => shift(range, by),
        }
        for word in &mut self.words {
            shift(&mut word.range, by);
        }
        if let Some(rare) = &mut self.rare {
            for elem in &mut rare.elems {
                shift(&mut elem.range, by);
            }
            for segment in &mut rare.segments {
                segment.source = segment.source.wrapping_add_signed(by);
            }
        }
        if let Some(rarer) = self.rare.as_mut().and_then(|r| r.rarer.as_mut()) {
            for flag in &mut rarer.flags {
                shift(&mut flag.range, by);
                shift(&mut flag.name, by);
                if let Some(value) = &mut flag.value {
                    shift(value, by);
                }
            }
            for token in &mut rarer.tokens {
                token.start = token.start.wrapping_add_signed(by);
            }
            for doc in &mut rarer.heredocs {
                shift(&mut doc.marker, by);
                shift(&mut doc.body, by);
                shift(&mut doc.terminator, by);
            }
            if let Some(trigger) = &mut rarer.trigger {
                trigger.shift(by);
            }
            if let Some(keyword) = &mut rarer.keyword {
                shift(keyword, by);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::incremental;
    use crate::syntax::{Dockerfile, parse};
    use crate::text::TextRange;
    use proptest::prelude::*;

    /// Applies `(start, end, text)` edits (sorted, disjoint) to `old`; returns the new text
    /// and the edits as `reparse` takes them.
    fn splice(old: &str, edits: &[(usize, usize, &str)]) -> (String, Vec<(TextRange, u32)>) {
        let mut out = String::new();
        let mut at = 0;
        for &(start, end, text) in edits {
            out.push_str(&old[at..start]);
            out.push_str(text);
            at = end;
        }
        out.push_str(&old[at..]);
        let ranges = edits
            .iter()
            .map(|&(s, e, t)| (TextRange::from_usize(s, e), crate::text::to_u32(t.len())))
            .collect();
        (out, ranges)
    }

    fn same(a: &Dockerfile, b: &Dockerfile) -> bool {
        a.items == b.items && a.escape == b.escape && a.source == b.source
    }

    /// Checks the incremental parse against the full one; returns whether it was used.
    fn check(old: &str, edits: &[(usize, usize, &str)]) -> bool {
        let Ok(file) = parse(old) else {
            return false;
        };
        let (new, ranges) = splice(old, edits);
        let full = parse(&new);
        if let Some((escape, items)) = incremental(file.clone(), &new, &ranges) {
            let inc = Dockerfile::new(new.clone(), escape, items);
            let full = full.unwrap_or_else(|e| {
                panic!("incremental parse of {new:?} succeeded, full parse: {e}")
            });
            assert!(same(&inc, &full), "{old:?} → {new:?}:\n{inc:#?}\n{full:#?}");
            true
        } else {
            // the public entry point then parses in full
            let re = file.reparse(&new, &ranges);
            assert_eq!(re.is_ok(), full.is_ok());
            false
        }
    }

    #[test]
    fn reuses_untouched_instructions_and_parses_the_edited_ones() {
        let old = "FROM a\nRUN x \\\n  y\n# c\n\nCOPY . /\nRUN z\n";
        let at = old.find("y\n").unwrap();
        // replace `y`, insert a whole instruction, delete one
        assert!(check(old, &[(at, at + 1, "yy && w")]));
        let copy = old.find("COPY").unwrap();
        assert!(check(old, &[(copy, copy, "RUN new \\\n  more\n")]));
        assert!(check(old, &[(copy, copy + "COPY . /\n".len(), "")]));
        // the edit makes a line continue into the next: both are parsed again
        let end = old.find(" /\n").unwrap() + 2;
        assert!(check(old, &[(end, end, " \\")]));
        // a heredoc opened by an edit takes the following lines as its body
        assert!(check(
            "FROM a\nRUN x\nRUN y\nEOF\nRUN z\n",
            &[(14, 14, "cat <<EOF && ")]
        ));
        // a newline removed merges two instructions
        assert!(check(old, &[(6, 7, " ")]));
        // edits at both ends of the text, with no final newline
        let tail = "FROM a\nRUN b \\";
        assert!(check(tail, &[(tail.len(), tail.len(), "\n  c")]));
        assert!(check("FROM a\nRUN b", &[(7, 7, "# x\n"), (12, 12, " c\n")]));
        // ONBUILD triggers and JSON arguments move with their instruction
        let ob = "FROM a\nRUN x\nONBUILD RUN [\"a\", \"b\"]\nCOPY --from=x a b\n";
        assert!(check(ob, &[(7, 12, "RUN longer one")]));
        // a BOM and directives stay as they were
        let bom = "\u{feff}# escape=`\nFROM a\nRUN x `\n  y\nRUN z\n";
        let z = bom.find('z').unwrap();
        assert!(check(bom, &[(z, z + 1, "zz `\n  more")]));
    }

    #[test]
    fn falls_back_where_the_header_or_the_edits_change() {
        let old = "# escape=`\nFROM a\nRUN x\n";
        // an edit of the directives, and one that makes a comment a directive
        assert!(!check(old, &[(9, 10, "\\")]));
        assert!(!check("# x\nFROM a\n", &[(0, 3, "# escape=`")]));
        // an unterminated heredoc is the full parse's error to report
        assert!(!check("FROM a\nRUN x\n", &[(12, 12, " <<EOF")]));
        // edits that do not describe the new text
        let file = parse("FROM a\nRUN x\n").unwrap();
        assert!(incremental(file.clone(), "FROM a\nRUN y\n", &[]).is_none());
        let wrong = [(TextRange::new(0, 1), 1)];
        assert!(incremental(file, "FROM a\nRUN y\n", &wrong).is_none());
    }

    /// Random edits of every corpus file (a fixed pseudo-random sequence): the incremental
    /// parse equals the full parse, and it is used for most of them.
    #[test]
    fn corpus_with_random_edits() {
        const PIECES: [&str; 14] = [
            "",
            "x",
            " ",
            "\n",
            "\\\n",
            "`\n",
            "# c\n",
            "\n\n",
            "RUN a \\\n",
            " <<EOF\n",
            "EOF\n",
            "&& b",
            "\r\n",
            "\"",
        ];
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/real");
        let Ok(entries) = std::fs::read_dir(dir) else {
            panic!("the corpus is missing at {dir}");
        };
        let mut paths: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        paths.sort();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            usize::try_from(seed >> 33).unwrap() % n.max(1)
        };
        let (mut used, mut tried) = (0, 0);
        for path in paths {
            let Ok(old) = std::fs::read_to_string(&path) else {
                continue;
            };
            if old.is_empty() || parse(&old).is_err() {
                continue;
            }
            for _ in 0..3 {
                let mut cuts: Vec<usize> = (0..2 * (1 + next(3)))
                    .map(|_| {
                        let mut at = next(old.len() + 1);
                        while !old.is_char_boundary(at) {
                            at += 1;
                        }
                        at
                    })
                    .collect();
                cuts.sort_unstable();
                let edits: Vec<(usize, usize, &str)> = cuts
                    .chunks(2)
                    .map(|c| {
                        // mostly short replacements; some insertions
                        let end = if next(2) == 0 {
                            c[0]
                        } else {
                            c[1].min(c[0] + 8)
                        };
                        let mut end = end;
                        while !old.is_char_boundary(end) {
                            end += 1;
                        }
                        (c[0], end, PIECES[next(PIECES.len())])
                    })
                    .collect();
                tried += 1;
                used += usize::from(check(&old, &edits));
            }
        }
        assert!(tried > 3000, "only {tried} edited files");
        assert!(
            used * 2 > tried,
            "incremental parse used on {used} of {tried}"
        );
    }

    fn line() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "FROM a AS b\n",
            "RUN x && \\\n",
            "  y\n",
            "# c\n",
            "\n",
            "RUN <<EOF\n",
            "EOF\n",
            "ONBUILD RUN [\"a\"]\n",
            "ENV A=1 \\\n",
            "COPY --from=b a /c\n",
            "\\\n",
            "RUN z",
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn random_edits_equal_a_full_parse(
            lines in prop::collection::vec(line(), 1..12),
            edits in prop::collection::vec((0usize..200, 0usize..6, line()), 1..4),
        ) {
            let old: String = lines.concat();
            let mut edits: Vec<(usize, usize, &str)> = edits
                .into_iter()
                .map(|(at, len, text)| {
                    let at = at % (old.len() + 1);
                    (at, (at + len).min(old.len()), text)
                })
                .collect();
            edits.sort_unstable();
            let mut end = 0;
            edits.retain(|&(s, e, _)| {
                let keep = s >= end;
                if keep {
                    end = e;
                }
                keep
            });
            check(&old, &edits);
        }
    }
}
