//! A fast hasher for the engine's own maps (parsed RUN bodies by text, per-file questions,
//! per-RUN facts): they are looked up many times per round, and SipHash cost more than the
//! rest of the lookup. Not for keys an attacker picks to collide: the keys are the text of
//! the Dockerfile being rewritten, whose author gains nothing by slowing their own run.

use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` hashed with [`Fx`].
pub(crate) type FxMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<Fx>>;

/// The rustc hasher (FxHash): eight bytes per step, one rotate, xor and multiply.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fx(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Fx {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    #[test]
    fn every_byte_counts() {
        // keys that differ in a full word, in the tail after the last full word, or in length
        let keys = [
            "",
            "a",
            "b",
            "ab",
            "12345678",
            "12345679",
            "12345678x",
            "12345678y",
            "apt-get update",
            "apt-get updatf",
            "bpt-get update",
        ];
        let build = std::hash::BuildHasherDefault::<super::Fx>::default();
        let mut hashes: Vec<u64> = keys.iter().map(|k| build.hash_one(k)).collect();
        hashes.sort_unstable();
        hashes.dedup();
        assert_eq!(hashes.len(), keys.len());
    }
}
