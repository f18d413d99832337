//! Reading a response body's top-level JSON object without ever failing on a value's type.
//!
//! serde's derived deserializers quote the offending value in type errors, and a token response
//! is full of secrets. Here every known field is captured as a [`Json`] value whatever its type,
//! unknown fields are skipped, and the only errors left are syntax errors with a position; the
//! caller checks types itself and reports them without quoting anything.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::{JsonKind, Malformation};

/// A field's value: scalars kept, containers only noted.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    U64(u64),
    I64(i64),
    F64(f64),
    Str(String),
    Array,
    Object,
}

impl Json {
    pub(crate) fn kind(&self) -> JsonKind {
        match self {
            Json::Null => JsonKind::Null,
            Json::Bool(_) => JsonKind::Bool,
            Json::U64(_) | Json::I64(_) | Json::F64(_) => JsonKind::Number,
            Json::Str(_) => JsonKind::String,
            Json::Array => JsonKind::Array,
            Json::Object => JsonKind::Object,
        }
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any json value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::U64(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::I64(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        Ok(Json::F64(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::Str(v))
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Json::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Json::Object)
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

/// The names of the top-level fields the core reads from token and error responses.
pub(crate) const FIELDS: [&str; 13] = [
    "access_token",
    "token_type",
    "expires_in",
    "scope",
    "response_type",
    "refresh_token",
    "refresh_token_expires_in",
    "refresh_token_expires_at",
    "code",
    "message",
    "message_detail",
    "error",
    "error_description",
];

/// Index of a field in [`FIELDS`]; kept in step by a unit test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub(crate) enum Field {
    AccessToken,
    TokenType,
    ExpiresIn,
    Scope,
    ResponseType,
    RefreshToken,
    RefreshTokenExpiresIn,
    RefreshTokenExpiresAt,
    Code,
    Message,
    MessageDetail,
    Error,
    ErrorDescription,
}

impl Field {
    pub(crate) fn name(self) -> &'static str {
        FIELDS.get(self as usize).copied().unwrap_or("?")
    }
}

/// The known fields of one top-level object.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    values: [Option<Json>; FIELDS.len()],
    duplicate: Option<&'static str>,
}

impl Fields {
    /// Takes a field out; `null` counts as absent.
    pub(crate) fn take(&mut self, field: Field) -> Option<Json> {
        match self.values.get_mut(field as usize).and_then(Option::take) {
            Some(Json::Null) | None => None,
            Some(value) => Some(value),
        }
    }

    /// `true` when the field is present and not `null`.
    pub(crate) fn has(&self, field: Field) -> bool {
        matches!(self.values.get(field as usize), Some(Some(v)) if *v != Json::Null)
    }
}

/// A top-level JSON document: an object's known fields, or the kind of whatever else it was.
// Lives on the stack for one parse; boxing the object would cost an allocation per response.
#[allow(clippy::large_enum_variant)]
enum Document {
    Object(Fields),
    Other(JsonKind),
}

struct Key(Option<usize>);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(Key(FIELDS.iter().position(|name| *name == v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

struct DocumentVisitor;

impl<'de> Visitor<'de> for DocumentVisitor {
    type Value = Document;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a json object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document, A::Error> {
        let mut fields = Fields::default();
        while let Some(Key(index)) = map.next_key::<Key>()? {
            let Some(slot) = index.and_then(|i| fields.values.get_mut(i)) else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let value = map.next_value::<Json>()?;
            if slot.is_some() {
                fields.duplicate = fields
                    .duplicate
                    .or_else(|| index.and_then(|i| FIELDS.get(i).copied()));
            }
            *slot = Some(value);
        }
        Ok(Document::Object(fields))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Document, A::Error> {
        JsonVisitor
            .visit_seq(seq)
            .map(|_| Document::Other(JsonKind::Array))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Document, E> {
        Ok(Document::Other(JsonKind::Bool))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Document, E> {
        Ok(Document::Other(JsonKind::Number))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Document, E> {
        Ok(Document::Other(JsonKind::Number))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Document, E> {
        Ok(Document::Other(JsonKind::Number))
    }
    fn visit_str<E>(self, _: &str) -> Result<Document, E> {
        Ok(Document::Other(JsonKind::String))
    }
    fn visit_unit<E>(self) -> Result<Document, E> {
        Ok(Document::Other(JsonKind::Null))
    }
}

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Document, D::Error> {
        d.deserialize_any(DocumentVisitor)
    }
}

/// Reads the body as one JSON object, reporting anything else as a [`Malformation`].
pub(crate) fn read_object(body: &[u8]) -> Result<Fields, Malformation> {
    let text = std::str::from_utf8(body).map_err(|e| Malformation::NotUtf8 {
        valid_up_to: e.valid_up_to(),
    })?;
    if text.trim().is_empty() {
        return Err(Malformation::EmptyBody);
    }
    match serde_json::from_str::<Document>(text) {
        Ok(Document::Object(fields)) => match fields.duplicate {
            Some(name) => Err(Malformation::DuplicateField(name)),
            None => Ok(fields),
        },
        Ok(Document::Other(found)) => Err(Malformation::NotAnObject { found }),
        Err(e) if e.is_eof() => Err(Malformation::Truncated),
        Err(e) => Err(Malformation::NotJson {
            line: e.line(),
            column: e.column(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_indices_match_names() {
        let all = [
            Field::AccessToken,
            Field::TokenType,
            Field::ExpiresIn,
            Field::Scope,
            Field::ResponseType,
            Field::RefreshToken,
            Field::RefreshTokenExpiresIn,
            Field::RefreshTokenExpiresAt,
            Field::Code,
            Field::Message,
            Field::MessageDetail,
            Field::Error,
            Field::ErrorDescription,
        ];
        assert_eq!(all.len(), FIELDS.len());
        for (i, field) in all.iter().enumerate() {
            assert_eq!(*field as usize, i);
            assert_eq!(field.name(), FIELDS[i]);
        }
    }

    #[test]
    fn reads_known_fields_of_any_type_and_skips_the_rest() {
        let mut fields = read_object(
            br#"{"access_token":[1,{"a":2}],"x":{"y":[1,2,3]},"expires_in":"12","code":null}"#,
        )
        .unwrap();
        assert_eq!(fields.take(Field::AccessToken), Some(Json::Array));
        assert_eq!(fields.take(Field::ExpiresIn), Some(Json::Str("12".into())));
        assert!(!fields.has(Field::Code));
        assert_eq!(fields.take(Field::Code), None);
    }

    #[test]
    fn reports_each_malformation() {
        let err = |body: &[u8]| read_object(body).unwrap_err();
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
        assert!(matches!(err(b"{} x"), Malformation::NotJson { .. }));
        let deep = "[".repeat(10_000);
        assert!(matches!(
            err(deep.as_bytes()),
            Malformation::NotJson { .. } | Malformation::Truncated
        ));
    }
}
