//! Idempotent writes: the first result given to a caller's key is kept, in the transaction of
//! the write itself, and a retry with the same key and the same request gets it back without
//! anything being done again. The same key with another request is 422. Keys are per caller.
//!
//! The doors say what a request is (`Key`: the key and a digest of the request); the operation
//! wraps its work in `once`, which returns the typed result, fresh or kept.

use chrono::NaiveDateTime;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::db::DbConn;
use crate::db::idempotency::{self as store, SavedResponse};
use crate::error::{AppError, AppResult};

/// The name of the header that carries a key on the API, and of the field a refusal names.
pub const HEADER: &str = "Idempotency-Key";

/// A caller's key for one request, with the digest of what the request asks (method, path and
/// canonical body, made by the door) so that a key reused for another request is caught.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    key: String,
    digest: String,
}

impl Key {
    /// Keys are 1 to 255 visible ASCII characters; `None` otherwise.
    pub fn new(key: &str, digest: String) -> Option<Self> {
        let key = key.trim();
        ((1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())).then(|| {
            Self {
                key: key.to_owned(),
                digest,
            }
        })
    }
}

/// What a write returned, and whether it is a kept result given again.
#[derive(Debug, Clone)]
pub struct Done<T> {
    pub value: T,
    /// The request was answered before under the same key: nothing was done this time.
    pub replayed: bool,
}

impl<T> Done<T> {
    pub fn fresh(value: T) -> Self {
        Self {
            value,
            replayed: false,
        }
    }
}

/// Runs `work` once per key: gives back the kept result when the key was already answered (422
/// if for another request), else runs `work` and keeps its result in the same transaction.
/// `created` is kept with it (201 rather than 200 on the API) so the stored row says what the
/// first answer was.
pub fn once<T, F>(
    conn: &mut DbConn,
    caller_id: &str,
    key: Option<&Key>,
    created: bool,
    now: NaiveDateTime,
    work: F,
) -> AppResult<Done<T>>
where
    T: Serialize + DeserializeOwned,
    F: FnOnce(&mut DbConn) -> AppResult<T>,
{
    let Some(key) = key else {
        return work(conn).map(Done::fresh);
    };
    if let Some(saved) = store::find(conn, caller_id, &key.key)? {
        if saved.request_digest != key.digest {
            return Err(AppError::invalid(
                HEADER,
                "this key was already used for another request; use a new key for a new request",
            ));
        }
        let value = serde_json::from_str(&saved.body)
            .map_err(|e| AppError::internal("kept result unreadable", &e))?;
        return Ok(Done {
            value,
            replayed: true,
        });
    }
    let value = work(conn)?;
    let body = serde_json::to_string(&value)
        .map_err(|e| AppError::internal("result not serialisable", &e))?;
    store::insert(
        conn,
        &SavedResponse {
            actor_id: caller_id.to_owned(),
            idempotency_key: key.key.clone(),
            request_digest: key.digest.clone(),
            status: if created { 201 } else { 200 },
            location: None,
            etag: None,
            body,
            created_at: now,
        },
    )?;
    Ok(Done::fresh(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_visible_ascii_of_1_to_255_characters() {
        assert!(Key::new("a", String::new()).is_some());
        assert!(Key::new(&"k".repeat(255), String::new()).is_some());
        assert!(Key::new(&"k".repeat(256), String::new()).is_none());
        assert!(Key::new("  ", String::new()).is_none());
        assert!(Key::new("clé", String::new()).is_none());
        assert!(Key::new("a b", String::new()).is_none());
        assert_eq!(
            Key::new(" k1 ", "d".into()),
            Some(Key {
                key: "k1".into(),
                digest: "d".into()
            })
        );
    }
}
