//! Reads JSON bodies and query strings into typed requests, naming the field that does not fit
//! and saying in plain words what was expected (serde's own messages name Rust types and lose the
//! path).
//!
//! A body is parsed twice: bytes → a JSON value (syntax, duplicate keys: the body is not JSON we
//! accept), then value → the request type through `Node`, a deserializer over the value that
//! knows where it is (`answers[3]`, `address.city`) and what the target asked for (an enum's
//! values, an integer type's range). A query string is a flat object of strings read by the same
//! deserializer, which parses numbers and booleans from the text.

use std::fmt;

use serde::Deserialize;
use serde::de::value::BorrowedStrDeserializer;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, Expected, MapAccess, SeqAccess,
    Unexpected, Visitor,
};
use serde_json::{Map, Number, Value};

/// A value that did not fit: where (a dotted path, `[n]` for array items) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Where the error was met; `None` until a node claims it.
    path: Option<String>,
    /// A field the error itself names (missing, unknown, repeated), below `path`.
    field: Option<String>,
    pub message: String,
    /// Made by `Error::custom`: a parser's own words, replaced when the target says what it wanted.
    custom: bool,
}

impl DecodeError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            path: None,
            field: None,
            message: message.into(),
            custom: false,
        }
    }

    fn null() -> Self {
        Self::new("must not be null")
    }

    /// Claims the error for `path` unless a deeper node already did.
    fn at(mut self, path: &str) -> Self {
        if self.path.is_none() {
            self.path = Some(match self.field.take() {
                Some(field) => join(path, &field),
                None => path.to_owned(),
            });
        }
        self
    }

    /// The field's path (empty for the whole body or query).
    pub fn path(&self) -> &str {
        self.path.as_deref().or(self.field.as_deref()).unwrap_or("")
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path(), self.message)
    }
}

impl std::error::Error for DecodeError {}

impl de::Error for DecodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self {
            custom: true,
            ..Self::new(msg.to_string())
        }
    }

    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        if unexp == Unexpected::Unit || unexp == Unexpected::Option {
            return Self::null();
        }
        Self::new(format!(
            "expected {}; found {}",
            plain_expected(&exp.to_string()),
            found(&unexp)
        ))
    }

    fn invalid_value(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        Self::invalid_type(unexp, exp)
    }

    fn invalid_length(len: usize, exp: &dyn Expected) -> Self {
        Self::new(format!(
            "expected {}; found {len} item{}",
            plain_expected(&exp.to_string()),
            if len == 1 { "" } else { "s" }
        ))
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        Self::new(format!(
            "expected one of {}; found {}",
            quoted_list(expected),
            found(&Unexpected::Str(variant))
        ))
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Self {
            field: Some(field.to_owned()),
            ..Self::new(if expected.is_empty() {
                "unknown field: this object has no fields".to_owned()
            } else {
                format!("unknown field; the fields are {}", quoted_list(expected))
            })
        }
    }

    fn missing_field(field: &'static str) -> Self {
        Self {
            field: Some(field.to_owned()),
            ..Self::new("is required")
        }
    }

    fn duplicate_field(field: &'static str) -> Self {
        Self {
            field: Some(field.to_owned()),
            ..Self::new("is given more than once")
        }
    }
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

fn quoted_list(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("\"{v}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What was sent, in words; short strings are quoted back (longer text is not repeated).
fn found(unexp: &Unexpected<'_>) -> String {
    match unexp {
        Unexpected::Bool(_) => "a boolean".to_owned(),
        Unexpected::Unsigned(n) => n.to_string(),
        Unexpected::Signed(n) => n.to_string(),
        Unexpected::Float(x) if x.abs() >= 1e16 => format!("{x:e}"),
        Unexpected::Float(x) => x.to_string(),
        Unexpected::Char(c) if !c.is_control() => format!("\"{c}\""),
        Unexpected::Str(s) if s.chars().count() <= 32 && !s.chars().any(char::is_control) => {
            format!("\"{s}\"")
        }
        Unexpected::Char(_) | Unexpected::Str(_) => "a string".to_owned(),
        Unexpected::Unit | Unexpected::Option => "null".to_owned(),
        Unexpected::Seq => "an array".to_owned(),
        Unexpected::Map => "an object".to_owned(),
        Unexpected::Bytes(_) => "bytes".to_owned(),
        Unexpected::Enum | Unexpected::UnitVariant => "an enum value".to_owned(),
        Unexpected::NewtypeStruct | Unexpected::NewtypeVariant => "a value".to_owned(),
        Unexpected::TupleVariant | Unexpected::StructVariant => "an object".to_owned(),
        Unexpected::Other(other) => (*other).to_owned(),
    }
}

const TIMESTAMP: &str = "an RFC 3339 date-time with offset, e.g. 2026-12-01T09:00:00+01:00";
const DATE: &str = "a date as YYYY-MM-DD, e.g. 2026-12-01";
const UUID: &str = "a UUID, e.g. 0192f1c4-5b7e-7c3a-9d2e-4f6a8b0c1d2e";

/// serde's and the parsers' names of what they wanted, in the words of the API.
fn known_expected(expecting: &str) -> Option<String> {
    fn range<T: fmt::Display>(min: T, max: T) -> Option<String> {
        Some(format!("a whole number from {min} to {max}"))
    }
    match expecting {
        "u8" => range(u8::MIN, u8::MAX),
        "u16" => range(u16::MIN, u16::MAX),
        "u32" => range(u32::MIN, u32::MAX),
        "u64" | "usize" => range(u64::MIN, u64::MAX),
        "i8" => range(i8::MIN, i8::MAX),
        "i16" => range(i16::MIN, i16::MAX),
        "i32" => range(i32::MIN, i32::MAX),
        "i64" | "isize" => range(i64::MIN, i64::MAX),
        "f32" | "f64" => Some("a number".to_owned()),
        "a boolean" => Some("true or false".to_owned()),
        "a string" | "a borrowed string" => Some("a string".to_owned()),
        "a character" => Some("a single character".to_owned()),
        "a sequence" => Some("an array".to_owned()),
        "a map" => Some("an object".to_owned()),
        "unit" => Some("null".to_owned()),
        "an RFC 3339 formatted date and time string" => Some(TIMESTAMP.to_owned()),
        "a formatted date string" => Some(DATE.to_owned()),
        e if e.contains("UUID string") => Some(UUID.to_owned()),
        e if e.starts_with("struct ") || e.starts_with("internally tagged enum") => {
            Some("an object".to_owned())
        }
        e if e.starts_with("an array of length ") || e.starts_with("a tuple of size ") => Some(
            format!("an array of {} items", e.rsplit(' ').next().unwrap_or("?")),
        ),
        _ => None,
    }
}

fn plain_expected(expecting: &str) -> String {
    known_expected(expecting).unwrap_or_else(|| expecting.to_owned())
}

/// `Unexpected` for a JSON value, to say what was found.
fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Unexpected::Unsigned(u),
            (_, Some(i)) => Unexpected::Signed(i),
            _ => Unexpected::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

/// Why a body could not be read: not JSON (400), or JSON whose fields do not fit (422).
#[derive(Debug)]
pub enum BodyError {
    Syntax(String),
    Field(DecodeError),
}

/// Bytes → JSON value, refusing duplicate keys (serde_json's own `Value` keeps the last one).
pub fn json_value(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice::<Strict>(body)
        .map(|s| s.0)
        .map_err(|e| e.to_string())
}

/// A JSON value → the request type, with the field path of any value that does not fit.
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, DecodeError> {
    T::deserialize(Node::new(value, String::new(), false)).map_err(|e| e.at(""))
}

/// Query pairs (already percent-decoded) → the query type; values are text, parsed by type.
pub fn from_pairs<T: DeserializeOwned>(pairs: &[(String, String)]) -> Result<T, DecodeError> {
    let mut map = Map::new();
    for (key, value) in pairs {
        if map
            .insert(key.clone(), Value::String(value.clone()))
            .is_some()
        {
            return Err(DecodeError {
                path: Some(key.clone()),
                ..DecodeError::new("is given more than once")
            });
        }
    }
    let value = Value::Object(map);
    T::deserialize(Node::new(&value, String::new(), true)).map_err(|e| e.at(""))
}

/// A JSON value that refuses an object with the same key twice.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Strict;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Strict, E> {
        Ok(Strict(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Strict, E> {
        Ok(Strict(Value::Number(v.into())))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Strict, E> {
        Ok(Strict(Value::Number(v.into())))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Strict, E> {
        Number::from_f64(v)
            .map(|n| Strict(Value::Number(n)))
            .ok_or_else(|| E::custom("a number out of range"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Strict, E> {
        Ok(Strict(Value::String(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Strict, E> {
        Ok(Strict(Value::String(v)))
    }

    fn visit_unit<E>(self) -> Result<Strict, E> {
        Ok(Strict(Value::Null))
    }

    fn visit_none<E>(self) -> Result<Strict, E> {
        Ok(Strict(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Strict, D::Error> {
        Strict::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strict, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Strict(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Strict, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "the key \"{key}\" appears twice in one object"
                )));
            }
            let Strict(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Strict(Value::Object(object)))
    }
}

/// A deserializer over one JSON value that knows its path; `text` when values are query text.
struct Node<'a> {
    value: &'a Value,
    path: String,
    text: bool,
}

impl<'a> Node<'a> {
    fn new(value: &'a Value, path: String, text: bool) -> Self {
        Self { value, path, text }
    }

    fn text(&self) -> Option<&'a str> {
        match self.value {
            Value::String(s) if self.text => Some(s),
            _ => None,
        }
    }

    /// Query text read as a number: integers exactly, anything else numeric as a float (which
    /// an integer target then refuses with its range).
    fn visit_number<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        if let Some(s) = self.text() {
            if let Ok(u) = s.parse::<u64>() {
                return visitor.visit_u64(u);
            }
            if let Ok(i) = s.parse::<i64>() {
                return visitor.visit_i64(i);
            }
            return match s.parse::<f64>() {
                Ok(x) if x.is_finite() => visitor.visit_f64(x),
                _ => Err(de::Error::invalid_type(Unexpected::Str(s), &visitor)),
            };
        }
        if self.value.is_null() {
            return Err(DecodeError::null());
        }
        self.deserialize_any(visitor)
    }
}

struct Items<'a> {
    items: std::slice::Iter<'a, Value>,
    index: usize,
    path: String,
    text: bool,
}

impl<'a> SeqAccess<'a> for Items<'a> {
    type Error = DecodeError;

    fn next_element_seed<T: DeserializeSeed<'a>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DecodeError> {
        let Some(item) = self.items.next() else {
            return Ok(None);
        };
        let path = format!("{}[{}]", self.path, self.index);
        self.index += 1;
        seed.deserialize(Node::new(item, path.clone(), self.text))
            .map(Some)
            .map_err(|e| e.at(&path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Fields<'a> {
    entries: serde_json::map::Iter<'a>,
    current: Option<(&'a str, &'a Value)>,
    path: String,
    text: bool,
}

impl<'a> MapAccess<'a> for Fields<'a> {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.current = Some((key, value));
        seed.deserialize(BorrowedStrDeserializer::<DecodeError>::new(key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, DecodeError> {
        let Some((key, value)) = self.current.take() else {
            return Err(DecodeError::new("a value without its key"));
        };
        let path = join(&self.path, key);
        seed.deserialize(Node::new(value, path.clone(), self.text))
            .map_err(|e| e.at(&path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

macro_rules! numbers {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DecodeError> {
            self.visit_number(visitor)
        }
    )*};
}

macro_rules! text_like {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DecodeError> {
            match self.value {
                Value::Null => Err(DecodeError::null()),
                Value::String(s) => {
                    // What the target wanted, to say instead of a parser's words (chrono's
                    // "premature end of input", uuid's character positions).
                    let expecting = (&visitor as &dyn Expected).to_string();
                    visitor.visit_borrowed_str(s).map_err(|e: DecodeError| match known_expected(&expecting) {
                        Some(plain) if e.custom => DecodeError::new(format!("expected {plain}")),
                        _ => e,
                    })
                }
                _ => self.deserialize_any(visitor),
            }
        }
    )*};
}

impl<'a> Deserializer<'a> for Node<'a> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => visitor.visit_u64(u),
                (_, Some(i), _) => visitor.visit_i64(i),
                (_, _, Some(x)) => visitor.visit_f64(x),
                _ => Err(DecodeError::new("a number that cannot be read")),
            },
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => visitor.visit_seq(Items {
                items: items.iter(),
                index: 0,
                path: self.path,
                text: self.text,
            }),
            Value::Object(map) => visitor.visit_map(Fields {
                entries: map.iter(),
                current: None,
                path: self.path,
                text: self.text,
            }),
        }
    }

    numbers!(deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_f32 deserialize_f64);

    text_like!(deserialize_str deserialize_string deserialize_char deserialize_identifier
        deserialize_bytes deserialize_byte_buf);

    fn deserialize_bool<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match (self.text(), self.value) {
            (Some("true"), _) => visitor.visit_bool(true),
            (Some("false"), _) => visitor.visit_bool(false),
            (Some(s), _) => Err(de::Error::invalid_type(Unexpected::Str(s), &visitor)),
            (None, Value::Null) => Err(DecodeError::null()),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.value {
            Value::Array(_) => self.deserialize_any(visitor),
            Value::Null => Err(DecodeError::null()),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'a>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.value {
            Value::Object(_) => self.deserialize_any(visitor),
            Value::Null => Err(DecodeError::null()),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'a>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        match self.value {
            Value::String(s) => {
                visitor.visit_enum(BorrowedStrDeserializer::<DecodeError>::new(s.as_str()))
            }
            Value::Null => Err(DecodeError::null()),
            other => Err(DecodeError::new(format!(
                "expected one of {}; found {}",
                quoted_list(variants),
                found(&unexpected(other))
            ))),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_unit()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, NaiveDate, Utc};
    use serde::Deserialize;
    use serde_json::json;
    use uuid::Uuid;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq, Eq, Clone, Copy)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        InPerson,
        Phone,
        Video,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Address {
        city: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        mode: Mode,
        at: DateTime<Utc>,
        #[serde(default)]
        answers: Vec<u8>,
        minutes: Option<i32>,
        address: Option<Address>,
        day: Option<NaiveDate>,
        id: Option<Uuid>,
        flag: Option<bool>,
    }

    const AT: &str = "2026-12-01T09:00:00+01:00";

    fn error(value: Value) -> (String, String) {
        let e = from_value::<Body>(&value).expect_err("refused");
        (e.path().to_owned(), e.message)
    }

    #[test]
    fn a_good_body_reads() {
        let body: Body = from_value(&json!({"mode": "phone", "at": AT, "answers": [1, 2],
            "address": {"city": "Nancy"}, "day": "2026-01-02", "flag": true}))
        .expect("read");
        assert_eq!(body.mode, Mode::Phone);
        assert_eq!(body.answers, vec![1, 2]);
    }

    #[test]
    fn wrong_types_name_the_field_and_what_was_expected() {
        let cases = [
            (
                json!({"mode": true, "at": AT}),
                "mode",
                "expected one of \"in_person\", \"phone\", \"video\"; found a boolean",
            ),
            (
                json!({"mode": "walk", "at": AT}),
                "mode",
                "expected one of \"in_person\", \"phone\", \"video\"; found \"walk\"",
            ),
            (json!({"mode": null, "at": AT}), "mode", "must not be null"),
            (json!({"at": AT}), "mode", "is required"),
            (
                json!({"mode": "phone", "at": "2026-12-01T09:00:00"}),
                "at",
                "expected an RFC 3339 date-time with offset, e.g. 2026-12-01T09:00:00+01:00",
            ),
            (
                json!({"mode": "phone", "at": 3}),
                "at",
                "expected an RFC 3339 date-time with offset, e.g. 2026-12-01T09:00:00+01:00; found 3",
            ),
            (
                json!({"mode": "phone", "at": AT, "answers": [1, 2, 3, 300]}),
                "answers[3]",
                "expected a whole number from 0 to 255; found 300",
            ),
            (
                json!({"mode": "phone", "at": AT, "answers": [1, -1]}),
                "answers[1]",
                "expected a whole number from 0 to 255; found -1",
            ),
            (
                json!({"mode": "phone", "at": AT, "minutes": 1e30}),
                "minutes",
                "expected a whole number from -2147483648 to 2147483647; found 1e30",
            ),
            (
                json!({"mode": "phone", "at": AT, "minutes": 1.5}),
                "minutes",
                "expected a whole number from -2147483648 to 2147483647; found 1.5",
            ),
            (
                json!({"mode": "phone", "at": AT, "address": {"city": 7}}),
                "address.city",
                "expected a string; found 7",
            ),
            (
                json!({"mode": "phone", "at": AT, "address": {}}),
                "address.city",
                "is required",
            ),
            (
                json!({"mode": "phone", "at": AT, "address": {"city": "x", "zip": 1}}),
                "address.zip",
                "unknown field; the fields are \"city\"",
            ),
            (
                json!({"mode": "phone", "at": AT, "colour": 1}),
                "colour",
                "unknown field; the fields are \"mode\", \"at\", \"answers\", \"minutes\", \"address\", \"day\", \"id\", \"flag\"",
            ),
            (
                json!({"mode": "phone", "at": AT, "answers": null}),
                "answers",
                "must not be null",
            ),
            (
                json!({"mode": "phone", "at": AT, "answers": "1,2"}),
                "answers",
                "expected an array; found \"1,2\"",
            ),
            (
                json!({"mode": "phone", "at": AT, "day": "01/02/2026"}),
                "day",
                "expected a date as YYYY-MM-DD, e.g. 2026-12-01",
            ),
            (
                json!({"mode": "phone", "at": AT, "id": "nope"}),
                "id",
                "expected a UUID, e.g. 0192f1c4-5b7e-7c3a-9d2e-4f6a8b0c1d2e",
            ),
            (
                json!({"mode": "phone", "at": AT, "flag": "yes"}),
                "flag",
                "expected true or false; found \"yes\"",
            ),
            (json!([1]), "", "expected an object; found an array"),
        ];
        for (value, field, message) in cases {
            assert_eq!(
                error(value.clone()),
                (field.to_owned(), message.to_owned()),
                "{value}"
            );
        }
    }

    #[test]
    fn long_text_is_not_repeated_back() {
        let (_, message) =
            error(json!({"mode": "a sentence that is far too long to be a mode", "at": AT}));
        assert!(message.ends_with("found a string"), "{message}");
    }

    #[test]
    fn syntax_and_duplicate_keys_are_not_json_we_accept() {
        let trailing = json_value(br#"{"a":1,}"#).expect_err("trailing comma");
        assert!(trailing.contains("line 1 column 8"), "{trailing}");
        let twice = json_value(br#"{"a":1,"b":{"c":1,"c":2}}"#).expect_err("duplicate");
        assert!(twice.contains("\"c\" appears twice"), "{twice}");
        assert_eq!(
            json_value(br#"{"a":[1,{"b":null}]}"#).expect("valid"),
            json!({"a": [1, {"b": null}]})
        );
    }

    #[derive(Debug, Deserialize)]
    #[serde(tag = "grant_type", rename_all = "snake_case")]
    #[allow(dead_code)]
    enum Grant {
        Password { email: String },
        ClientCredentials { client_id: Uuid },
    }

    #[test]
    fn an_internally_tagged_body_names_its_tag_and_fields() {
        let read = |value: Value| {
            from_value::<Grant>(&value).map_err(|e| (e.path().to_owned(), e.message))
        };
        assert!(read(json!({"grant_type": "password", "email": "a@b.fr"})).is_ok());
        assert_eq!(
            read(json!({"grant_type": "magic"})).expect_err("unknown grant"),
            (
                "grant_type".to_owned(),
                "expected one of \"password\", \"client_credentials\"; found \"magic\"".to_owned()
            )
        );
        assert_eq!(
            read(json!({"email": "a@b.fr"})).expect_err("no grant"),
            ("grant_type".to_owned(), "is required".to_owned())
        );
        assert_eq!(
            read(json!({"grant_type": "password"})).expect_err("no email"),
            ("email".to_owned(), "is required".to_owned())
        );
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Query {
        limit: Option<u32>,
        mode: Option<Mode>,
        from: Option<DateTime<Utc>>,
        active: Option<bool>,
    }

    fn query(pairs: &[(&str, &str)]) -> Result<Query, (String, String)> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        from_pairs(&pairs).map_err(|e| (e.path().to_owned(), e.message))
    }

    #[test]
    fn query_text_is_parsed_by_type() {
        let q = query(&[
            ("limit", "5"),
            ("mode", "video"),
            ("from", AT),
            ("active", "false"),
        ])
        .expect("read");
        assert_eq!(
            (q.limit, q.mode, q.active),
            (Some(5), Some(Mode::Video), Some(false))
        );
        let cases = [
            (
                ("limit", "-1"),
                "expected a whole number from 0 to 4294967295; found -1",
            ),
            (
                ("limit", "ten"),
                "expected a whole number from 0 to 4294967295; found \"ten\"",
            ),
            (
                ("limit", ""),
                "expected a whole number from 0 to 4294967295; found \"\"",
            ),
            (
                ("mode", "walk"),
                "expected one of \"in_person\", \"phone\", \"video\"; found \"walk\"",
            ),
            (
                ("from", "2026-12-01"),
                "expected an RFC 3339 date-time with offset, e.g. 2026-12-01T09:00:00+01:00",
            ),
            (("active", "1"), "expected true or false; found \"1\""),
        ];
        for ((key, value), message) in cases {
            assert_eq!(
                query(&[(key, value)]).expect_err(value),
                (key.to_owned(), message.to_owned())
            );
        }
        assert_eq!(
            query(&[("limit", "1"), ("limit", "2")]).expect_err("twice"),
            ("limit".to_owned(), "is given more than once".to_owned())
        );
    }
}
