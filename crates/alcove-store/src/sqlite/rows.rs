//! What every feature module shares to turn rows into domain values and back: the one
//! mapping of SQLite failures to the domain's error, the JSON codec of the stored
//! documents, and the look-ahead pagination the listings use.
//!
//! A failure here is always ours (`Internal`, a `ServiceException` at the edge): the
//! request was valid and the database could not serve it, or a stored document no longer
//! parses, which is reported as a corrupt record rather than guessed around.

use alcove_core::{Error, Page, Result};

/// The domain error for a failed SQLite call.
pub(crate) fn sql(e: rusqlite::Error) -> Error {
    Error::caused("database", e)
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::caused("encoding a record", e))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T> {
    serde_json::from_str(raw).map_err(|e| Error::caused("corrupt record", e))
}

/// Splits a listing fetched with one row of look-ahead into a page and its next marker.
pub(crate) fn paginate<T>(mut items: Vec<T>, limit: usize, marker_of: impl Fn(&T) -> String) -> Page<T> {
    let next_marker = if items.len() > limit {
        items.truncate(limit);
        items.last().map(marker_of)
    } else {
        None
    };
    Page { items, next_marker }
}
