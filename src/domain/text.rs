//! Text people type into the registry, as two kinds with their rules and their schema in one
//! place: `FreeText` (a clinical note, a care plan: line breaks and tabs allowed) and
//! `PlainText` (a name, a city: one line). Both are not blank, hold no other control characters
//! (which PostgreSQL refuses in text, and which have no place in a note) and at most `MAX`
//! characters. Bodies are checked by the validator (`#[validate(custom(function = ...))]`, so
//! every bad field of a body is reported at once); the contract states the same rules.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{PartialSchema, ToSchema};
use validator::ValidationError;

/// `schema` with a description, for a field whose schema is set by `schema_with`: utoipa leaves
/// the doc comment of such a field out, and would put an inlined described type in an `allOf`
/// beside an empty object.
pub fn described(schema: impl Into<RefOr<Schema>>, description: &str) -> RefOr<Schema> {
    let mut schema = schema.into();
    if let RefOr::T(Schema::Object(object)) = &mut schema {
        object.description = Some(description.to_owned());
    }
    schema
}

/// Not blank, and no control character but line breaks and tabs, as a JSON Schema pattern: at
/// least one character that is neither white space nor a control character, among any that are
/// not forbidden controls.
const FREE_TEXT_PATTERN: &str = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$";

/// Not blank, and no control character at all.
const PLAIN_TEXT_PATTERN: &str = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$";

macro_rules! text_kind {
    ($(#[$doc:meta])* $name:ident, $pattern:expr, $allowed:expr, $control_message:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name<const MAX: usize>(String);

        impl<const MAX: usize> $name<MAX> {
            /// The rules, for the validator: not blank, no forbidden control character, at most
            /// `MAX` characters.
            pub fn check(&self) -> Result<(), ValidationError> {
                check(&self.0, MAX, $allowed, $control_message)
            }

            /// The text as stored: without leading and trailing white space.
            pub fn trimmed(&self) -> String {
                self.0.trim().to_owned()
            }

            /// The schema of an optional field of this kind (`#[schema(schema_with = ...)]`):
            /// the string, or `null`, in one schema rather than utoipa's `oneOf`.
            pub fn nullable() -> Schema {
                ObjectBuilder::new()
                    .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                    .min_length(Some(1))
                    .max_length(Some(MAX))
                    .pattern(Some($pattern))
                    .into()
            }

            /// Text made on the server (the demo, tests); not checked until validated.
            pub fn new(text: impl Into<String>) -> Self {
                Self(text.into())
            }
        }

        impl<const MAX: usize> fmt::Display for $name<MAX> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<const MAX: usize> PartialSchema for $name<MAX> {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(SchemaType::Type(Type::String))
                    .min_length(Some(1))
                    .max_length(Some(MAX))
                    .pattern(Some($pattern))
                    .into()
            }
        }

        impl<const MAX: usize> ToSchema for $name<MAX> {
            fn name() -> Cow<'static, str> {
                Cow::Owned(format!("{}{MAX}", stringify!($name)))
            }
        }
    };
}

text_kind!(
    /// A clinician's writing: a note, a care plan, an answer.
    FreeText,
    FREE_TEXT_PATTERN,
    |c: char| matches!(c, '\n' | '\r' | '\t'),
    "must not contain control characters other than line breaks and tabs"
);

text_kind!(
    /// One line a person typed: a name, an address line, a city.
    PlainText,
    PLAIN_TEXT_PATTERN,
    |_: char| false,
    "must not contain control characters"
);

/// The validator's entry points (`#[validate(custom(function = "crate::domain::text::free"))]`).
pub fn free<const MAX: usize>(text: &FreeText<MAX>) -> Result<(), ValidationError> {
    text.check()
}

/// See `free`.
pub fn plain<const MAX: usize>(text: &PlainText<MAX>) -> Result<(), ValidationError> {
    text.check()
}

fn check(
    text: &str,
    max: usize,
    allowed_control: fn(char) -> bool,
    control_message: &'static str,
) -> Result<(), ValidationError> {
    if text.trim().is_empty() {
        return Err(ValidationError::new("blank").with_message("must not be blank".into()));
    }
    if text.chars().any(|c| c.is_control() && !allowed_control(c)) {
        return Err(ValidationError::new("control").with_message(control_message.into()));
    }
    if text.chars().count() > max {
        return Err(ValidationError::new("length")
            .with_message(format!("must have at most {max} characters").into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<(), ValidationError>) -> String {
        result
            .err()
            .and_then(|e| e.message)
            .map(|m| m.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn free_text_keeps_line_breaks_and_refuses_other_controls() {
        assert!(
            FreeText::<20>::new("line one\nline\ttwo\r\n")
                .check()
                .is_ok()
        );
        assert_eq!(
            message(FreeText::<20>::new("bell\u{7}").check()),
            "must not contain control characters other than line breaks and tabs"
        );
        assert_eq!(
            message(FreeText::<20>::new(" \n\t ").check()),
            "must not be blank"
        );
    }

    #[test]
    fn plain_text_is_one_line() {
        assert!(PlainText::<20>::new("Marie-Hélène").check().is_ok());
        assert_eq!(
            message(PlainText::<20>::new("two\nlines").check()),
            "must not contain control characters"
        );
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(FreeText::<3>::new("éèê").check().is_ok());
        assert_eq!(
            message(FreeText::<3>::new("abcd").check()),
            "must have at most 3 characters"
        );
    }

    #[test]
    fn stored_text_is_trimmed() {
        assert_eq!(PlainText::<10>::new("  Lyon ").trimmed(), "Lyon");
    }

    #[test]
    fn the_schema_patterns_agree_with_the_rules() {
        // The contract's patterns are what a client checks; spot-check them against the rules
        // with a regex engine of the kind clients use.
        let free = regex_lite::Regex::new(FREE_TEXT_PATTERN).unwrap();
        let plain = regex_lite::Regex::new(PLAIN_TEXT_PATTERN).unwrap();
        for (text, free_ok, plain_ok) in [
            ("a note", true, true),
            ("two\nlines", true, false),
            ("   ", false, false),
            ("\n", false, false),
            ("bell\u{7}", false, false),
        ] {
            assert_eq!(free.is_match(text), free_ok, "{text:?}");
            assert_eq!(plain.is_match(text), plain_ok, "{text:?}");
            assert_eq!(
                FreeText::<99>::new(text).check().is_ok(),
                free_ok,
                "{text:?}"
            );
            assert_eq!(
                PlainText::<99>::new(text).check().is_ok(),
                plain_ok,
                "{text:?}"
            );
        }
    }
}
