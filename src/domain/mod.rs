//! The rules of the registry as plain functions over plain data: no database, no HTTP.

/// Declares a closed vocabulary: an enum whose values are words the registry stores and speaks
/// (`"relapse_prevention"`), with `ALL`, `as_str`, `parse` and `Display`, its JSON form and its
/// schema. Every such enum is declared with it, and `db::vocabulary` stores them all as text.
/// The JSON word is the variant's name in snake case, which must be the stored word:
/// `words_agree` checks it for every vocabulary.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(raw: &str) -> Option<$name> {
                match raw { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod account;
pub mod case;
pub mod credentials;
pub mod epices;
pub mod indicators;
pub mod instruments;
pub mod meeting;
pub mod microstructure;
pub mod outbox;
pub mod pathway;
pub mod patient;
pub mod policy;
pub mod programs;
pub mod report;
pub mod research;
pub mod survey;
pub mod tele_expertise;
pub mod text;
pub mod tokens;

/// A window (of days or instants) whose end comes before its start: a mistake of the request, not
/// an empty answer. Either bound may be open.
pub fn ends_before_start<T: PartialOrd>(from: Option<T>, to: Option<T>) -> bool {
    matches!((from, to), (Some(from), Some(to)) if to < from)
}

/// Whether a vocabulary's JSON words are its stored words (for the tests of each vocabulary).
#[cfg(test)]
pub fn words_agree<T: serde::Serialize + Copy>(all: &[T], as_str: fn(T) -> &'static str) -> bool {
    all.iter()
        .all(|&v| serde_json::to_value(v).ok() == Some(serde_json::Value::from(as_str(v))))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_window_may_be_open_or_one_instant_but_not_reversed() {
        use super::ends_before_start;
        assert!(ends_before_start(Some(2), Some(1)));
        assert!(!ends_before_start(Some(1), Some(1)));
        assert!(!ends_before_start(Some(1), Some(2)));
        assert!(!ends_before_start(None, Some(1)));
        assert!(!ends_before_start(Some(1), None::<i32>));
    }
}
