//! typed: canonical YAML written straight from a typed value, without the `serde_json::Value`
//! tree in between. The bytes are exactly those of `emit::document(&serde_json::to_value(v))`:
//! a JSON tree sorts every mapping by key, so each mapping here is written in the order serde
//! hands its entries over and put in key order when it ends (most k8s-openapi structs already
//! are). Building and dropping the tree was most of the time of a render to memory.

use std::cell::RefCell;
use std::fmt::{self, Write as _};

use serde::Serialize;
use serde::ser::{self, Impossible};

use super::{Style, indent, literal, quoted, string, style};

/// `value` as a YAML document, as `emit::document(out, &serde_json::to_value(value))` writes it
/// (`null` when serialization fails, as the tree would be `Value::Null`).
pub fn document<T: Serialize + ?Sized>(out: &mut String, value: &T) {
    write(out, value, Place::DOCUMENT, "null\n");
}

/// `value` as one entry of a block sequence indented by `level`, as `emit::list_item` writes
/// its tree.
pub fn list_item<T: Serialize + ?Sized>(out: &mut String, value: &T, level: usize) {
    let start = out.len();
    indent(out, level);
    out.push_str("- ");
    let ok = write(out, value, Place::item(level), "");
    if !ok {
        out.truncate(start);
        indent(out, level);
        out.push_str("- null\n");
    }
}

/// Scratch space reused by every document a thread writes: the keys of open mappings, the
/// text of map keys, and the buffer a mapping is reordered through.
struct Scratch {
    entries: Vec<Entry>,
    keys: String,
    reorder: String,
    /// Field names seen, by address: whether each may be written plain. A few hundred
    /// names recur in every object, and deciding their style was a fifth of the writing.
    fields: [(usize, bool); FIELD_CACHE],
}

const FIELD_CACHE: usize = 512;

impl Default for Scratch {
    fn default() -> Self {
        Scratch {
            entries: Vec::new(),
            keys: String::new(),
            reorder: String::new(),
            fields: [(0, false); FIELD_CACHE],
        }
    }
}

impl Scratch {
    /// Whether the field name `name` is written plain, remembered by its address (a
    /// `&'static str` of a given address always has the same text; its length is part of the
    /// key because two names may start at one address when one is a prefix of the other).
    fn field_is_plain(&mut self, name: &'static str) -> bool {
        let address = name.as_ptr() as usize ^ (name.len() << 48);
        let slot = &mut self.fields[(address >> 3 ^ name.len()) % FIELD_CACHE];
        if slot.0 != address {
            *slot = (address, style(name) == Style::Plain);
        }
        slot.1
    }
}

thread_local! {
    static SCRATCH: RefCell<Box<Scratch>> = RefCell::new(Box::default());
}

fn write<T: Serialize + ?Sized>(out: &mut String, value: &T, place: Place, failed: &str) -> bool {
    let start = out.len();
    SCRATCH.with(|cell| {
        // A document written while another is being written on this thread (a `Serialize`
        // impl that emits YAML) gets scratch space of its own.
        let mut fresh = None;
        let mut borrowed = cell.try_borrow_mut();
        let scratch = match borrowed.as_deref_mut() {
            Ok(s) => s,
            Err(_) => fresh.insert(Box::<Scratch>::default()),
        };
        scratch.entries.clear();
        scratch.keys.clear();
        let mut writer = Writer {
            out: &mut *out,
            scratch,
        };
        let ok = value.serialize(Ser {
            w: &mut writer,
            place,
        });
        if ok.is_err() {
            out.truncate(start);
            out.push_str(failed);
        }
        ok.is_ok()
    })
}

struct Writer<'a> {
    out: &'a mut String,
    scratch: &'a mut Scratch,
}

/// Where a value is written: the indent of its block's entries, and whether it follows a
/// mapping key (`key:` then a space and a scalar, or a line break and the block) or stands
/// alone (a document, or after `- `, where a block's first entry starts on the same line).
#[derive(Clone, Copy)]
struct Place {
    level: usize,
    after_key: bool,
}

impl Place {
    const DOCUMENT: Place = Place {
        level: 0,
        after_key: false,
    };

    /// The value of an entry of a sequence indented by `level` (after its `- `).
    fn item(level: usize) -> Place {
        Place {
            level: level + 2,
            after_key: false,
        }
    }

    /// The value of an entry of a mapping indented by `level` (after its `key:`).
    fn value(level: usize) -> Place {
        Place {
            level: level + 2,
            after_key: true,
        }
    }
}

/// A mapping key: a field name, or map key text kept in `Scratch::keys`.
#[derive(Clone, Copy)]
enum Key {
    Field(&'static str),
    Text(usize, usize),
}

/// One entry of an open mapping: its key and where its text starts in the output (after the
/// indent that separates it from the entry before).
#[derive(Clone, Copy)]
struct Entry {
    key: Key,
    start: usize,
}

impl Writer<'_> {
    fn key(&self, key: Key) -> &str {
        match key {
            Key::Field(name) => name,
            Key::Text(from, to) => &self.scratch.keys[from..to],
        }
    }

    fn scalar_str(&mut self, place: Place, s: &str) {
        if place.after_key {
            self.out.push(' ');
        }
        match style(s) {
            Style::Literal => literal(self.out, s, place.level),
            Style::Plain => self.out.push_str(s),
            Style::Quoted => quoted(self.out, s),
        }
        self.out.push('\n');
    }

    fn scalar_display(&mut self, place: Place, value: impl fmt::Display) {
        if place.after_key {
            self.out.push(' ');
        }
        let _ = write!(self.out, "{value}");
        self.out.push('\n');
    }

    /// What separates an entry of a block from what came before: the line break after the
    /// key for the first entry of a block under a key, the indent for every later entry.
    fn separate(&mut self, place: Place, first: bool) {
        if first {
            if place.after_key {
                self.out.push('\n');
                indent(self.out, place.level);
            }
        } else {
            indent(self.out, place.level);
        }
    }
}

/// Serializes one value at one place.
struct Ser<'w, 'a> {
    w: &'w mut Writer<'a>,
    place: Place,
}

/// An open block: a sequence, or a mapping whose entries are put in key order when it ends.
struct Block<'w, 'a> {
    w: &'w mut Writer<'a>,
    place: Place,
    count: usize,
    /// Index of this mapping's first entry in `Scratch::entries`.
    entries: usize,
    /// Length of `Scratch::keys` when this mapping opened.
    keys: usize,
    /// Map keys arrive before their values (`serialize_key`, then `serialize_value`).
    mapping: bool,
}

#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

impl<'w, 'a> Ser<'w, 'a> {
    fn open(self, mapping: bool) -> Block<'w, 'a> {
        let entries = self.w.scratch.entries.len();
        let keys = self.w.scratch.keys.len();
        Block {
            w: self.w,
            place: self.place,
            count: 0,
            entries,
            keys,
            mapping,
        }
    }

    /// `{variant: …}`, the one-entry mapping serde_json makes of an enum variant with data:
    /// writes the key and returns the place of its value.
    fn variant(self, variant: &'static str) -> (&'w mut Writer<'a>, Place) {
        self.w.separate(self.place, true);
        string(self.w.out, variant);
        self.w.out.push(':');
        (self.w, Place::value(self.place.level))
    }
}

impl Block<'_, '_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.w.separate(self.place, self.count == 0);
        self.count += 1;
        self.w.out.push_str("- ");
        value.serialize(Ser {
            w: &mut *self.w,
            place: Place::item(self.place.level),
        })
    }

    /// Starts an entry of a mapping: separator, key, colon.
    fn entry_key(&mut self, key: Key) {
        self.w.separate(self.place, self.count == 0);
        self.count += 1;
        let start = self.w.out.len();
        self.w.scratch.entries.push(Entry { key, start });
        match key {
            Key::Field(name) => {
                if self.w.scratch.field_is_plain(name) {
                    self.w.out.push_str(name);
                } else {
                    quoted(self.w.out, name);
                }
            }
            Key::Text(from, to) => string(self.w.out, &self.w.scratch.keys[from..to]),
        }
        self.w.out.push(':');
    }

    fn entry_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(Ser {
            w: &mut *self.w,
            place: Place::value(self.place.level),
        })
    }

    fn end_sequence(self) {
        if self.count == 0 {
            let place = self.place;
            self.w.scalar_display(place, "[]");
        }
    }

    fn end_mapping(self) {
        let w = self.w;
        if self.count == 0 {
            w.scalar_display(self.place, "{}");
        } else {
            sort_entries(w, self.entries, self.place.level);
        }
        w.scratch.entries.truncate(self.entries);
        w.scratch.keys.truncate(self.keys);
    }
}

/// Puts the entries of the mapping that starts at `entries` (and runs to the end of the
/// output) in key order, as a JSON tree's sorted map would hold them. Entries after the first
/// are separated by `level` spaces of indent; the first follows whatever came before it.
fn sort_entries(w: &mut Writer<'_>, entries: usize, level: usize) {
    let open = &w.scratch.entries[entries..];
    if open
        .windows(2)
        .all(|pair| w.key(pair[0].key) < w.key(pair[1].key))
    {
        return;
    }
    // Each entry's text, without the indent in front of the next.
    let end = w.out.len();
    let mut spans: Vec<(Key, usize, usize)> = open
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let to = open.get(i + 1).map_or(end, |next| next.start - level);
            (e.key, e.start, to)
        })
        .collect();
    // Stable: of two equal keys (never made by the types rendered), the first stays first.
    spans.sort_by(|a, b| w.key(a.0).cmp(w.key(b.0)));
    let first = open[0].start;
    let mut text = std::mem::take(&mut w.scratch.reorder);
    text.clear();
    for (i, (_, from, to)) in spans.iter().enumerate() {
        if i > 0 {
            indent(&mut text, level);
        }
        text.push_str(&w.out[*from..*to]);
    }
    w.out.truncate(first);
    w.out.push_str(&text);
    w.scratch.reorder = text;
}

impl<'w, 'a> ser::Serializer for Ser<'w, 'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Block<'w, 'a>;
    type SerializeTuple = Block<'w, 'a>;
    type SerializeTupleStruct = Block<'w, 'a>;
    type SerializeTupleVariant = Block<'w, 'a>;
    type SerializeMap = Block<'w, 'a>;
    type SerializeStruct = Block<'w, 'a>;
    type SerializeStructVariant = Block<'w, 'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.w
            .scalar_display(self.place, if v { "true" } else { "false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.w.scalar_display(self.place, v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        // As the tree: a number only when it fits 64 bits.
        let n = serde_json::to_value(v).map_err(|e| Error(e.to_string()))?;
        self.w.scalar_display(self.place, n);
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.w.scalar_display(self.place, v);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        let n = serde_json::to_value(v).map_err(|e| Error(e.to_string()))?;
        self.w.scalar_display(self.place, n);
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        // serde_json's own float formatting (and `null` for NaN and infinities).
        self.w
            .scalar_display(self.place, serde_json::Value::from(v));
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.w
            .scalar_display(self.place, serde_json::Value::from(v));
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.w.scalar_str(self.place, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.w.scalar_str(self.place, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        let mut seq = self.open(false);
        for b in v {
            seq.element(b)?;
        }
        seq.end_sequence();
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.w.scalar_display(self.place, "null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let (w, place) = self.variant(variant);
        value.serialize(Ser { w, place })
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Block<'w, 'a>, Error> {
        Ok(self.open(false))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Block<'w, 'a>, Error> {
        Ok(self.open(false))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Block<'w, 'a>, Error> {
        Ok(self.open(false))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Block<'w, 'a>, Error> {
        let (w, place) = self.variant(variant);
        Ok(Ser { w, place }.open(false))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Block<'w, 'a>, Error> {
        Ok(self.open(true))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Block<'w, 'a>, Error> {
        Ok(self.open(true))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Block<'w, 'a>, Error> {
        let (w, place) = self.variant(variant);
        Ok(Ser { w, place }.open(true))
    }
}

/// The four ways serde writes a sequence (a seq, a tuple, a tuple struct, a tuple variant's
/// fields) are one sequence here; their traits differ only in the element method's name.
macro_rules! sequence {
    ($trait:ident, $element:ident) => {
        impl ser::$trait for Block<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn $element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.element(value)
            }
            fn end(self) -> Result<(), Error> {
                self.end_sequence();
                Ok(())
            }
        }
    };
}

sequence!(SerializeSeq, serialize_element);
sequence!(SerializeTuple, serialize_element);
sequence!(SerializeTupleStruct, serialize_field);
sequence!(SerializeTupleVariant, serialize_field);

impl ser::SerializeMap for Block<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        debug_assert!(self.mapping);
        let from = self.w.scratch.keys.len();
        key.serialize(KeyText(&mut self.w.scratch.keys))?;
        let to = self.w.scratch.keys.len();
        self.entry_key(Key::Text(from, to));
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.entry_value(value)
    }
    fn end(self) -> Result<(), Error> {
        self.end_mapping();
        Ok(())
    }
}

/// A struct and a struct variant's fields are mapping entries keyed by field name.
macro_rules! fields {
    ($trait:ident) => {
        impl ser::$trait for Block<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Error> {
                self.entry_key(Key::Field(key));
                self.entry_value(value)
            }
            fn end(self) -> Result<(), Error> {
                self.end_mapping();
                Ok(())
            }
        }
    };
}

fields!(SerializeStruct);
fields!(SerializeStructVariant);

/// Writes a map key's text, as serde_json turns keys into strings: strings and characters
/// as they are, integers and booleans in decimal. Anything else is refused (serde_json also
/// takes floats, which no rendered object has as a key).
struct KeyText<'k>(&'k mut String);

impl KeyText<'_> {
    fn push(self, value: impl fmt::Display) -> Result<(), Error> {
        let _ = write!(self.0, "{value}");
        Ok(())
    }
}

fn key_must_be_a_string() -> Error {
    Error("a mapping key must be a string".into())
}

impl ser::Serializer for KeyText<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.push(v)
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.push(v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.push(v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.push(v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.push(v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.push(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.push(v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.push(v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.push(v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.push(v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.push(v)
    }
    fn serialize_f32(self, _v: f32) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_f64(self, _v: f64) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.0.push(v);
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.0.push_str(v);
        Ok(())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.0.push_str(variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_must_be_a_string())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde::ser::SerializeMap;
    use serde_json::Value;

    use super::*;

    /// Entries serialized in the order given, as a struct whose fields are not in key order
    /// serializes them: the tree sorts them, so the text must too.
    struct Unsorted(Vec<(String, Value)>);

    impl Serialize for Unsorted {
        fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(Some(self.0.len()))?;
            for (k, v) in &self.0 {
                map.serialize_entry(k, v)?;
            }
            map.end()
        }
    }

    fn values() -> impl Strategy<Value = Value> {
        let scalar = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "[a-zA-Z0-9 :#,\n-]{0,12}".prop_map(Value::from),
            any::<String>().prop_map(Value::from),
        ];
        scalar.prop_recursive(4, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-zA-Z0-9 :\n-]{0,6}", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn tree_document(value: &Value) -> String {
        let mut out = String::new();
        crate::emit::document(&mut out, value);
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        /// Any tree, written from its typed form, gives the bytes of the tree writer: as a
        /// document, and as a sequence entry at any indent.
        #[test]
        fn typed_text_is_the_tree_text(value in values(), level in 0..6usize) {
            let mut typed = String::new();
            document(&mut typed, &value);
            prop_assert_eq!(&typed, &tree_document(&value));
            let (mut a, mut b) = (String::new(), String::new());
            list_item(&mut a, &value, level);
            crate::emit::list_item(&mut b, &value, level);
            prop_assert_eq!(a, b);
        }

        /// Entries handed over out of key order are written in key order, nested or not.
        #[test]
        fn mappings_are_written_in_key_order(
            entries in prop::collection::btree_map("[a-zA-Z0-9-]{1,6}", values(), 1..6),
            rotate in 0..6usize,
            under in "[a-z]{1,4}",
        ) {
            let mut unsorted: Vec<(String, Value)> = entries.clone().into_iter().collect();
            let n = unsorted.len();
            unsorted.rotate_left(rotate % n);
            unsorted.reverse();
            let tree = Value::Object(entries.into_iter().collect());
            let mut typed = String::new();
            document(&mut typed, &Unsorted(unsorted.clone()));
            prop_assert_eq!(&typed, &tree_document(&tree));
            // Under a key and in a list, where the first entry follows `key:` or `- `.
            let nested = BTreeMap::from([(under.clone(), vec![Unsorted(unsorted)])]);
            let mut typed = String::new();
            document(&mut typed, &nested);
            let tree = serde_json::json!({ under: [tree] });
            prop_assert_eq!(typed, tree_document(&tree));
        }
    }
}
