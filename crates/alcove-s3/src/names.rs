//! Bucket and key names, checked once where a request names them. S3's rules for
//! general-purpose buckets: 3 to 63 characters of lowercase letters, digits, dots and
//! hyphens, starting and ending with a letter or digit, no two adjacent dots, not shaped
//! like an IPv4 address. Keys are 1 to 1024 bytes of UTF-8.

use crate::error::{S3Error, S3Result};

/// Longest key S3 accepts, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// Checks a bucket name for CreateBucket (other operations on a bad name find no bucket).
pub fn check_bucket_name(name: &str) -> S3Result<()> {
    let invalid = || S3Error::InvalidBucketName { bucket: name.to_owned() };
    let bytes = name.as_bytes();
    if !(3..=63).contains(&bytes.len()) {
        return Err(invalid());
    }
    let allowed = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-';
    let edge = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !bytes.iter().all(allowed) || !edge(bytes[0]) || !edge(bytes[bytes.len() - 1]) {
        return Err(invalid());
    }
    if name.contains("..") || name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(invalid());
    }
    Ok(())
}

/// Checks an object key.
pub fn check_key(key: &str) -> S3Result<()> {
    if key.is_empty() {
        return Err(S3Error::InvalidArgument("An object key must not be empty.".into()));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(S3Error::KeyTooLongError);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_s3_rules() {
        for good in ["abc", "my-bucket.v2", "0bucket9", &"a".repeat(63)] {
            assert!(check_bucket_name(good).is_ok(), "{good}");
        }
        for bad in [
            "ab",
            &"a".repeat(64),
            "My-Bucket",
            "-bucket",
            "bucket-",
            ".bucket",
            "bu..cket",
            "bucket_name",
            "192.168.1.1",
            "buck et",
        ] {
            assert!(matches!(check_bucket_name(bad), Err(S3Error::InvalidBucketName { .. })), "{bad}");
        }
    }

    #[test]
    fn keys_are_one_to_1024_bytes() {
        assert!(check_key("a").is_ok());
        assert!(check_key(&"k".repeat(1024)).is_ok());
        assert!(matches!(check_key(&"k".repeat(1025)), Err(S3Error::KeyTooLongError)));
        assert!(matches!(check_key(""), Err(S3Error::InvalidArgument(_))));
    }
}
