//! Properties of the edit engine: one-sweep apply equals a naive back-to-front splice;
//! overlapping edits inside one fix are rejected; overlap is symmetric; same-offset
//! insertions come out in side order, then in the order given.

use dfrewrite::text::{Applicability, Edit, Fix, InsertionSide, TextRange, apply};
use proptest::prelude::*;

fn fix(edits: Vec<Edit>) -> Result<Fix, dfrewrite::text::OverlappingEdits> {
    Fix::new("prop", Applicability::Safe, "m", edits)
}

/// The oracle: splice edits into the text from the last to the first.
fn naive_splice(source: &str, edits: &[Edit]) -> String {
    let mut edits = edits.to_vec();
    edits.sort_by_key(|e| std::cmp::Reverse(e.range.start));
    let mut out = source.to_owned();
    for e in edits {
        out.replace_range(e.range.start as usize..e.range.end as usize, &e.content);
    }
    out
}

/// Non-overlapping edits at distinct starts over an ASCII text of length `len`.
fn disjoint_edits(len: u32) -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::btree_set(0..=len, 0..8).prop_flat_map(move |starts| {
        let starts: Vec<u32> = starts.into_iter().collect();
        let limits: Vec<u32> = starts
            .iter()
            .enumerate()
            .map(|(i, _)| starts.get(i + 1).copied().unwrap_or(len + 1))
            .collect();
        let pieces: Vec<_> = starts
            .iter()
            .zip(limits)
            .map(|(&s, limit)| (Just(s), 0..(limit - s).min(len - s + 1), "[a-z\n]{0,4}"))
            .collect();
        pieces.prop_map(|v| {
            v.into_iter()
                .map(|(s, l, c)| Edit::replace(TextRange::new(s, s + l), c))
                .collect()
        })
    })
}

proptest! {
    #[test]
    fn one_fix_matches_the_naive_splice(
        (source, edits) in "[ -~\n]{0,40}".prop_flat_map(|s| {
            let len = u32::try_from(s.len()).unwrap();
            (Just(s), disjoint_edits(len))
        })
    ) {
        let expected = naive_splice(&source, &edits);
        let out = apply(&source, &[fix(edits).unwrap()]);
        prop_assert_eq!(out.text, expected);
    }

    #[test]
    fn one_fix_per_edit_matches_the_naive_splice(
        (source, edits) in "[ -~\n]{0,40}".prop_flat_map(|s| {
            let len = u32::try_from(s.len()).unwrap();
            (Just(s), disjoint_edits(len))
        })
    ) {
        let expected = naive_splice(&source, &edits);
        let fixes: Vec<Fix> = edits.into_iter().map(|e| fix(vec![e]).unwrap()).collect();
        let out = apply(&source, &fixes);
        prop_assert!(out.skipped.is_empty());
        prop_assert_eq!(out.text, expected);
    }

    #[test]
    fn overlapping_edits_in_one_fix_are_rejected(a in 0u32..20, al in 0u32..6, b in 0u32..20, bl in 0u32..6) {
        let (ra, rb) = (TextRange::new(a, a + al), TextRange::new(b, b + bl));
        let overlap = if ra.is_empty() && rb.is_empty() {
            false
        } else if ra.is_empty() {
            rb.start < a && a < rb.end
        } else if rb.is_empty() {
            ra.start < b && b < ra.end
        } else {
            ra.start < rb.end && rb.start < ra.end
        };
        let ab = fix(vec![Edit::replace(ra, "x"), Edit::replace(rb, "y")]);
        let ba = fix(vec![Edit::replace(rb, "y"), Edit::replace(ra, "x")]);
        prop_assert_eq!(ab.is_err(), overlap);
        prop_assert_eq!(ba.is_err(), overlap, "overlap must be symmetric");
        // across fixes, the later one is skipped instead
        if overlap {
            let out = apply("abcdefghijklmnopqrstuvwxyz", &[fix(vec![Edit::replace(ra, "x")]).unwrap(), fix(vec![Edit::replace(rb, "y")]).unwrap()]);
            prop_assert_eq!(out.applied.len() + out.skipped.len(), 2);
            prop_assert_eq!(out.skipped.len(), 1);
        }
    }

    #[test]
    fn same_offset_insertions_are_ordered_by_side_then_given_order(sides in prop::collection::vec(any::<bool>(), 1..6)) {
        let fixes: Vec<Fix> = sides
            .iter()
            .enumerate()
            .map(|(i, &before)| {
                let side = if before { InsertionSide::Before } else { InsertionSide::After };
                fix(vec![Edit::insert(1, (9 - i).to_string()).with_side(side)]).unwrap()
            })
            .collect();
        let out = apply("ab", &fixes);
        let mut expected = String::from("a");
        for want in [true, false] {
            for (i, &before) in sides.iter().enumerate() {
                if before == want {
                    expected.push_str(&(9 - i).to_string());
                }
            }
        }
        expected.push('b');
        prop_assert_eq!(out.text, expected);
    }
}
