//! What operations' inputs share, whichever door they came through: cursor paging, PATCH fields
//! where `null` means "remove", text filters, id lists, the version a write was made against.

use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 200;

/// Cursor pagination: items come in creation order; `after` is the `next_cursor` of the page before.
#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// How many items, 1 to 200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<PageSize>,
    /// The `next_cursor` of the previous page.
    pub after: Option<Uuid>,
}

/// A page size from 1 to `MAX_PAGE`, refused when read (so the message says the range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(pub u32);

impl<'de> Deserialize<'de> for PageSize {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Size;
        impl serde::de::Visitor<'_> for Size {
            type Value = PageSize;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "a whole number from 1 to {MAX_PAGE}")
            }

            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<PageSize, E> {
                u32::try_from(n)
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n))
                    .map(PageSize)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Unsigned(n), &self))
            }

            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<PageSize, E> {
                match u64::try_from(n) {
                    Ok(n) => self.visit_u64(n),
                    Err(_) => Err(E::invalid_value(serde::de::Unexpected::Signed(n), &self)),
                }
            }
        }
        deserializer.deserialize_u32(Size)
    }
}

impl PageQuery {
    pub fn page_size(&self) -> Result<u32, AppError> {
        Ok(self.limit.map_or(DEFAULT_PAGE, |PageSize(n)| n))
    }

    /// One more than the page, to know whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.page_size().unwrap_or(DEFAULT_PAGE)) + 1
    }

    pub fn after_id(&self) -> Result<Option<String>, AppError> {
        self.page_size()?;
        Ok(self.after.map(|id| id.to_string()))
    }

    /// Cuts the extra item off and turns it into the cursor of the next page.
    pub fn split<T>(
        &self,
        mut items: Vec<T>,
        id_of: impl Fn(&T) -> String,
    ) -> (Vec<T>, Option<String>) {
        let size = self.page_size().unwrap_or(DEFAULT_PAGE) as usize;
        if items.len() > size {
            items.truncate(size);
            let cursor = items.last().map(id_of);
            (items, cursor)
        } else {
            (items, None)
        }
    }

    /// `split`, then each item of the page as the response shows it.
    pub fn show<T, U>(
        &self,
        items: Vec<T>,
        id_of: impl Fn(&T) -> String,
        show: impl FnMut(T) -> AppResult<U>,
    ) -> AppResult<(Vec<U>, Option<String>)> {
        let (items, next_cursor) = self.split(items, id_of);
        let shown = items.into_iter().map(show).collect::<AppResult<_>>()?;
        Ok((shown, next_cursor))
    }
}

/// For PATCH fields where `null` means something (remove) and absence means "leave as is": an
/// absent field stays `None` (with `#[serde(default)]`), `null` becomes `Some(None)`.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}

/// A text filter from the query: trimmed, empty means no filter; control characters (never stored,
/// and refused by PostgreSQL) are a malformed query.
pub fn text_filter(name: &str, value: Option<String>) -> Result<Option<String>, AppError> {
    match value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
        Some(v) if v.chars().any(char::is_control) => Err(AppError::BadRequest(format!(
            "{name} must not contain control characters"
        ))),
        other => Ok(other),
    }
}

/// Ids as stored (text), deduplicated and sorted.
pub fn uuids_as_strings(ids: &[Uuid]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Refuses a change made against a version other than the current one (`If-Match`: 412).
pub fn check_version(expected: Option<i32>, current: i32) -> Result<(), AppError> {
    match expected {
        Some(v) if v != current => Err(AppError::PreconditionFailed(format!(
            "the resource has changed (version {current}, you sent {v}); read it again"
        ))),
        _ => Ok(()),
    }
}
