//! Reading a response body's top-level JSON object without ever failing on a value's type.
//!
//! serde's derived deserializers quote the offending value in type errors, and a token response
//! is full of secrets. Here each field an [`Object`] names is captured as a [`Json`] value
//! whatever its type (strings borrowed from the body when they hold no escapes), unknown fields
//! are skipped, a repeated field is refused, and the only other errors are syntax errors with a
//! position. The caller checks types itself and reports them without quoting anything.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::{JsonKind, Malformation};

/// A field's value: scalars kept, containers only noted.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json<'a> {
    Bool(bool),
    U64(u64),
    I64(i64),
    F64(f64),
    Str(Cow<'a, str>),
    Array,
    Object,
}

/// One known field of an object: absent, `null`, or a value. `null` counts as absent for the
/// reader but as present for duplicate detection.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) enum Slot<'a> {
    #[default]
    Absent,
    Null,
    Value(Json<'a>),
}

impl<'a> Slot<'a> {
    /// Takes the value out; `null` and absent are `None`.
    pub(crate) fn take(&mut self) -> Option<Json<'a>> {
        match std::mem::take(self) {
            Slot::Value(value) => Some(value),
            Slot::Absent | Slot::Null => None,
        }
    }

    /// `true` when present and not `null`.
    pub(crate) fn is_set(&self) -> bool {
        matches!(self, Slot::Value(_))
    }
}

/// A JSON object with a fixed set of known fields, each a [`Slot`]; made by [`json_object!`].
pub(crate) trait Object<'a>: Default {
    /// The name of a known field, matched without allocating.
    fn field(key: &str) -> Option<&'static str>;
    /// The slot of a known field (by the name [`field`](Object::field) gave).
    fn slot(&mut self, name: &'static str) -> Option<&mut Slot<'a>>;
}

/// Declares a struct of [`Slot`]s, one per named field, readable with [`read_object`].
macro_rules! json_object {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($field:ident),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Default)]
        $vis struct $name<'a> {
            $(pub(crate) $field: $crate::json::Slot<'a>,)*
        }

        impl<'a> $crate::json::Object<'a> for $name<'a> {
            fn field(key: &str) -> Option<&'static str> {
                match key {
                    $(stringify!($field) => Some(stringify!($field)),)*
                    _ => None,
                }
            }

            fn slot(&mut self, name: &'static str) -> Option<&mut $crate::json::Slot<'a>> {
                match name {
                    $(stringify!($field) => Some(&mut self.$field),)*
                    _ => None,
                }
            }
        }
    };
}
pub(crate) use json_object;

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Slot<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any json value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Slot<'de>, E> {
        Ok(Slot::Value(Json::Bool(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Slot<'de>, E> {
        Ok(Slot::Value(Json::U64(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Slot<'de>, E> {
        Ok(Slot::Value(Json::I64(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Slot<'de>, E> {
        Ok(Slot::Value(Json::F64(v)))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Slot<'de>, E> {
        Ok(Slot::Value(Json::Str(Cow::Borrowed(v))))
    }
    fn visit_str<E>(self, v: &str) -> Result<Slot<'de>, E> {
        Ok(Slot::Value(Json::Str(Cow::Owned(v.to_owned()))))
    }
    fn visit_string<E>(self, v: String) -> Result<Slot<'de>, E> {
        Ok(Slot::Value(Json::Str(Cow::Owned(v))))
    }
    fn visit_unit<E>(self) -> Result<Slot<'de>, E> {
        Ok(Slot::Null)
    }
    fn visit_none<E>(self) -> Result<Slot<'de>, E> {
        Ok(Slot::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Slot<'de>, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Slot<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Slot::Value(Json::Array))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Slot<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Slot::Value(Json::Object))
    }
}

impl<'de> Deserialize<'de> for Slot<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Slot<'de>, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

/// A key, resolved to a known field's name while it is read (no allocation, escaped or not).
struct Key(Option<&'static str>);

struct KeySeed<T>(PhantomData<T>);

impl<'de, T: Object<'de>> de::DeserializeSeed<'de> for KeySeed<T> {
    type Value = Key;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, T: Object<'de>> Visitor<'de> for KeySeed<T> {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(Key(T::field(v)))
    }
}

/// A top-level document: the object's known fields, or the kind of whatever else it was.
enum Document<T> {
    Object(T, Option<&'static str>),
    Other(JsonKind),
}

struct DocumentVisitor<T>(PhantomData<T>);

impl<'de, T: Object<'de>> Visitor<'de> for DocumentVisitor<T> {
    type Value = Document<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a json object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document<T>, A::Error> {
        let mut object = T::default();
        let mut duplicate = None;
        while let Some(Key(name)) = map.next_key_seed(KeySeed::<T>(PhantomData))? {
            match name.and_then(|name| Some((name, object.slot(name)?))) {
                Some((name, slot)) => {
                    if *slot != Slot::Absent {
                        duplicate = duplicate.or(Some(name));
                    }
                    *slot = map.next_value()?;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Document::Object(object, duplicate))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Document<T>, A::Error> {
        JsonVisitor
            .visit_seq(seq)
            .map(|_| Document::Other(JsonKind::Array))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Document<T>, E> {
        Ok(Document::Other(JsonKind::Bool))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Document<T>, E> {
        Ok(Document::Other(JsonKind::Number))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Document<T>, E> {
        Ok(Document::Other(JsonKind::Number))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Document<T>, E> {
        Ok(Document::Other(JsonKind::Number))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Document<T>, E> {
        Ok(Document::Other(JsonKind::String))
    }
    fn visit_unit<E>(self) -> Result<Document<T>, E> {
        Ok(Document::Other(JsonKind::Null))
    }
}

impl<'de, T: Object<'de>> Deserialize<'de> for Document<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Document<T>, D::Error> {
        d.deserialize_any(DocumentVisitor(PhantomData))
    }
}

/// Reads the body as one JSON object, reporting anything else as a [`Malformation`].
pub(crate) fn read_object<'a, T: Object<'a>>(body: &'a [u8]) -> Result<T, Malformation> {
    // Parsed straight from the bytes (serde_json checks the UTF-8 of every string it reads, and
    // anything outside strings must be ASCII JSON); only a failure is looked at more closely.
    match serde_json::from_slice::<Document<T>>(body) {
        Ok(Document::Object(_, Some(name))) => Err(Malformation::DuplicateField(name)),
        Ok(Document::Object(object, None)) => Ok(object),
        Ok(Document::Other(found)) => Err(Malformation::NotAnObject { found }),
        Err(e) => Err(match std::str::from_utf8(body) {
            Err(bad) => Malformation::NotUtf8 {
                valid_up_to: bad.valid_up_to(),
            },
            Ok(text) if text.trim().is_empty() => Malformation::EmptyBody,
            Ok(_) if e.is_eof() => Malformation::Truncated,
            Ok(_) => Malformation::NotJson {
                line: e.line(),
                column: e.column(),
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    json_object! {
        struct Sample { access_token, expires_in, code, scope }
    }

    #[test]
    fn reads_known_fields_of_any_type_and_skips_the_rest() {
        let mut sample: Sample<'_> = read_object(
            br#"{"access_token":[1,{"a":2}],"x":{"y":[1,2,3]},"expires_in":"12","code":null,"scope":"a\"b"}"#,
        )
        .unwrap();
        assert_eq!(sample.access_token.take(), Some(Json::Array));
        assert!(matches!(
            sample.expires_in.take(),
            Some(Json::Str(Cow::Borrowed("12")))
        ));
        assert!(!sample.code.is_set());
        assert_eq!(sample.code.take(), None);
        assert!(matches!(sample.scope.take(), Some(Json::Str(Cow::Owned(s))) if s == "a\"b"));
    }

    #[test]
    fn reports_each_malformation() {
        let err = |body: &[u8]| read_object::<Sample<'_>>(body).unwrap_err();
        assert_eq!(err(b""), Malformation::EmptyBody);
        assert_eq!(err(b" \n"), Malformation::EmptyBody);
        assert_eq!(err(b"\xff{}"), Malformation::NotUtf8 { valid_up_to: 0 });
        assert_eq!(err(br#"{"access_token":"pina"#), Malformation::Truncated);
        assert_eq!(err(b"<html>"), Malformation::NotJson { line: 1, column: 1 });
        assert_eq!(
            err(br#""pina.secret""#),
            Malformation::NotAnObject {
                found: JsonKind::String
            }
        );
        assert_eq!(
            err(br#"{"scope":"a","scope":"b"}"#),
            Malformation::DuplicateField("scope")
        );
        assert_eq!(
            err(br#"{"code":null,"code":1}"#),
            Malformation::DuplicateField("code")
        );
        assert!(matches!(err(b"{} x"), Malformation::NotJson { .. }));
        let deep = "[".repeat(10_000);
        assert!(matches!(
            err(deep.as_bytes()),
            Malformation::NotJson { .. } | Malformation::Truncated
        ));
    }
}
