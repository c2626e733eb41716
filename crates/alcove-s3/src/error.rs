//! What the object store refuses, named as S3 names it. The edge maps each variant to its
//! HTTP status and `<Error>` document once; the engine only says what went wrong.

/// A failed object-store operation.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    #[error("The specified bucket does not exist")]
    NoSuchBucket { bucket: String },
    #[error("The specified key does not exist.")]
    NoSuchKey { key: String },
    #[error("Your previous request to create the named bucket succeeded and you already own it.")]
    BucketAlreadyOwnedByYou { bucket: String },
    #[error("The bucket you tried to delete is not empty")]
    BucketNotEmpty { bucket: String },
    #[error("The specified bucket is not valid.")]
    InvalidBucketName { bucket: String },
    #[error("Your key is too long")]
    KeyTooLongError,
    #[error("The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")]
    NoSuchUpload { upload_id: String },
    #[error("One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.")]
    InvalidPart,
    #[error("The list of parts was not in ascending order. Parts must be ordered by part number.")]
    InvalidPartOrder,
    #[error("Your proposed upload is smaller than the minimum allowed size")]
    EntityTooSmall,
    #[error("Your proposed upload exceeds the maximum allowed size")]
    EntityTooLarge,
    #[error("The Content-MD5 you specified did not match what we received.")]
    BadDigest,
    #[error("The requested range is not satisfiable")]
    InvalidRange,
    #[error("{0}")]
    InvalidArgument(String),
    #[error("object store database: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("object store files: {0}")]
    Io(#[from] std::io::Error),
    #[error("object store schema version {0} is newer than this server knows")]
    NewerSchema(i64),
}

impl S3Error {
    /// S3's error code (`<Code>`) for this error.
    pub fn code(&self) -> &'static str {
        match self {
            S3Error::NoSuchBucket { .. } => "NoSuchBucket",
            S3Error::NoSuchKey { .. } => "NoSuchKey",
            S3Error::BucketAlreadyOwnedByYou { .. } => "BucketAlreadyOwnedByYou",
            S3Error::BucketNotEmpty { .. } => "BucketNotEmpty",
            S3Error::InvalidBucketName { .. } => "InvalidBucketName",
            S3Error::KeyTooLongError => "KeyTooLongError",
            S3Error::NoSuchUpload { .. } => "NoSuchUpload",
            S3Error::InvalidPart => "InvalidPart",
            S3Error::InvalidPartOrder => "InvalidPartOrder",
            S3Error::EntityTooSmall => "EntityTooSmall",
            S3Error::EntityTooLarge => "EntityTooLarge",
            S3Error::BadDigest => "BadDigest",
            S3Error::InvalidRange => "InvalidRange",
            S3Error::InvalidArgument(_) => "InvalidArgument",
            S3Error::Database(_) | S3Error::Io(_) | S3Error::NewerSchema(_) => "InternalError",
        }
    }
}

pub type S3Result<T> = Result<T, S3Error>;
