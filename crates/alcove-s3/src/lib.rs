//! The object store behind Alcove's S3 subset: buckets, objects and multipart uploads,
//! kept under `<data>/s3/`. Metadata lives in SQLite (`s3.db`), bodies in files written
//! whole to a temporary name, synced and renamed into place before their row is committed,
//! so an acknowledged write survives `kill -9` and a reader never sees half a body. The
//! API is blocking (file and database work); the HTTP edge calls it off its async threads.

#![forbid(unsafe_code)]

mod error;
mod listing;
mod model;
mod multipart;
mod names;
mod schema;
mod staging;
mod store;

pub use error::{S3Error, S3Result};
pub use model::{Bucket, ListPage, ListRequest, ObjectHeaders, ObjectInfo, PartInfo};
pub use multipart::{MAX_PART_NUMBER, MIN_PART_BYTES};
pub use names::{check_bucket_name, check_key, MAX_KEY_BYTES};
pub use staging::{Staged, Staging, MAX_OBJECT_BYTES};
pub use store::ObjectStore;

#[cfg(test)]
mod store_tests;
