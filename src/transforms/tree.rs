//! The tables as `build.rs` writes them, and serde's view of them.
//!
//! Every value is one fixed-size [`Node`] in `NODES`; strings are ranges of `STRINGS`, and
//! an array or table names a run of consecutive nodes (a table's run alternates key and
//! value). Offsets rather than references keep the data free of relocations, so the loader
//! has nothing to patch at start-up and the pages stay shared and untouched until read.

use serde::de::value::{BorrowedStrDeserializer, Error};
use serde::de::{self, DeserializeSeed, Visitor};

use super::{NODES, STRINGS};

#[derive(Debug, Clone, Copy)]
enum Kind {
    String,
    Integer,
    Boolean,
    Array,
    Table,
}

/// One value: `a` and `b` are a string's start and length, a run's first node and length,
/// or the low and high halves of an integer's bits. (No table holds a float or a date; the
/// build script stops on one.)
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node {
    kind: Kind,
    a: u32,
    b: u32,
}

// The build script writes these; the casts only split what it wrote whole.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
impl Node {
    pub(crate) const fn string(start: u32, len: u32) -> Self {
        Self::new(Kind::String, start, len)
    }
    pub(crate) const fn integer(i: i64) -> Self {
        let bits = i as u64;
        Self::new(Kind::Integer, bits as u32, (bits >> 32) as u32)
    }
    pub(crate) const fn boolean(b: bool) -> Self {
        Self::new(Kind::Boolean, b as u32, 0)
    }
    pub(crate) const fn array(start: u32, len: u32) -> Self {
        Self::new(Kind::Array, start, len)
    }
    pub(crate) const fn table(start: u32, len: u32) -> Self {
        Self::new(Kind::Table, start, len)
    }
    const fn new(kind: Kind, a: u32, b: u32) -> Self {
        Self { kind, a, b }
    }
    fn bits(self) -> u64 {
        u64::from(self.a) | (u64::from(self.b) << 32)
    }
    fn text(self) -> &'static str {
        &STRINGS[self.a as usize..(self.a + self.b) as usize]
    }
}

/// The node at an index of `NODES`, as a serde deserializer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct At(u32);

impl At {
    pub(crate) fn new(index: u32) -> Self {
        Self(index)
    }
    fn node(self) -> Node {
        NODES[self.0 as usize]
    }
}

impl de::Deserializer<'static> for At {
    type Error = Error;

    // The build script wrote the bits of an i64.
    #[allow(clippy::cast_possible_wrap)]
    fn deserialize_any<V: Visitor<'static>>(self, visitor: V) -> Result<V::Value, Error> {
        let node = self.node();
        match node.kind {
            Kind::String => visitor.visit_borrowed_str(node.text()),
            Kind::Integer => visitor.visit_i64(node.bits() as i64),
            Kind::Boolean => visitor.visit_bool(node.a != 0),
            Kind::Array => visitor.visit_seq(Run::new(node)),
            Kind::Table => visitor.visit_map(Run::new(node)),
        }
    }

    /// A value that is there is `Some` (TOML has no null; an absent key is `None`).
    fn deserialize_option<V: Visitor<'static>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'static>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    /// Unit variants are strings (`tier = "safe"`).
    fn deserialize_enum<V: Visitor<'static>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let node = self.node();
        match node.kind {
            Kind::String => visitor.visit_enum(BorrowedStrDeserializer::new(node.text())),
            _ => self.deserialize_any(visitor),
        }
    }

    serde::forward_to_deserialize_any! {
        <W: Visitor<'static>>
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// The children of an array (one node each) or a table (a key node, then a value node).
struct Run {
    next: u32,
    end: u32,
}

impl Run {
    fn new(node: Node) -> Self {
        let width = if matches!(node.kind, Kind::Table) {
            2
        } else {
            1
        };
        Self {
            next: node.a,
            end: node.a + width * node.b,
        }
    }
    fn take(&mut self) -> Option<At> {
        (self.next < self.end).then(|| {
            self.next += 1;
            At(self.next - 1)
        })
    }
    fn left(&self) -> usize {
        (self.end - self.next) as usize
    }
}

impl de::SeqAccess<'static> for Run {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'static>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.take().map(|at| seed.deserialize(at)).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left())
    }
}

impl de::MapAccess<'static> for Run {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'static>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(key) = self.take() else {
            return Ok(None);
        };
        seed.deserialize(BorrowedStrDeserializer::new(key.node().text()))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'static>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let value = self
            .take()
            .ok_or_else(|| de::Error::custom("a key without a value"))?;
        seed.deserialize(value)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left() / 2)
    }
}
