//! A fixed list of yes/no facts, one bit each: per-instruction facts of a large file
//! (hundreds of thousands of instructions) kept through a round by more than one reader.

/// Bit `i % 64` of word `i / 64` is fact `i`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Bits {
    words: Box<[u64]>,
    len: usize,
}

impl Bits {
    /// Fact `i`; `None` past the end.
    pub(crate) fn get(&self, i: usize) -> Option<bool> {
        (i < self.len).then(|| self.words[i / 64] >> (i % 64) & 1 == 1)
    }

    /// How many facts there are.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl FromIterator<bool> for Bits {
    fn from_iter<I: IntoIterator<Item = bool>>(facts: I) -> Self {
        let facts = facts.into_iter();
        let mut words = Vec::with_capacity(facts.size_hint().0.div_ceil(64));
        let mut len = 0;
        for fact in facts {
            if len % 64 == 0 {
                words.push(0);
            }
            if fact {
                words[len / 64] |= 1 << (len % 64);
            }
            len += 1;
        }
        Self {
            words: words.into_boxed_slice(),
            len,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Bits;

    #[test]
    fn each_fact_reads_back_across_words() {
        let facts: Vec<bool> = (0..130).map(|i| i % 3 == 0 || i == 64).collect();
        let bits: Bits = facts.iter().copied().collect();
        assert_eq!(bits.len(), 130);
        for (i, &fact) in facts.iter().enumerate() {
            assert_eq!(bits.get(i), Some(fact), "{i}");
        }
        assert_eq!(bits.get(130), None);
        assert_eq!(Bits::default().get(0), None);
    }
}
