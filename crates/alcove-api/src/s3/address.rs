//! Which bucket and key a request names. Path-style (`/bucket/key`) is the default;
//! virtual-host style puts the bucket in the Host header, as `bucket.localhost[:port]` or
//! `bucket.s3.<anything>`. A Host that is an IP address, `localhost`, or an S3 service
//! name (`s3.<region>.amazonaws.com`) names no bucket, and the path does.

use percent_encoding::percent_decode_str;

/// The bucket and key of a request (either may be absent: ListBuckets, bucket calls).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub bucket: Option<String>,
    pub key: Option<String>,
}

pub fn resolve(host: Option<&str>, raw_path: &str) -> Address {
    let path = raw_path.strip_prefix('/').unwrap_or(raw_path);
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    if let Some(bucket) = host.and_then(host_bucket) {
        let key = (!path.is_empty()).then(|| decode(path));
        return Address { bucket: Some(bucket), key };
    }
    let (bucket, key) = match path.split_once('/') {
        Some((bucket, key)) => (bucket, (!key.is_empty()).then(|| decode(key))),
        None => (path, None),
    };
    Address { bucket: (!bucket.is_empty()).then(|| decode(bucket)), key }
}

/// The bucket a virtual-host-style Host header names.
fn host_bucket(host: &str) -> Option<String> {
    let name = host.trim();
    // `[::1]:9000`, `127.0.0.1:9000`: addresses, path-style.
    if name.starts_with('[') {
        return None;
    }
    let name = name.rsplit_once(':').map_or(name, |(name, _port)| name).to_ascii_lowercase();
    if name.parse::<std::net::IpAddr>().is_ok() || name == "localhost" || name.starts_with("s3.") {
        return None;
    }
    let bucket = match name.strip_suffix(".localhost") {
        Some(rest) => rest.strip_suffix(".s3").unwrap_or(rest),
        None => name.split_once(".s3.")?.0,
    };
    (!bucket.is_empty()).then(|| bucket.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(bucket: Option<&str>, key: Option<&str>) -> Address {
        Address { bucket: bucket.map(str::to_owned), key: key.map(str::to_owned) }
    }

    #[test]
    fn path_style_under_an_address_or_localhost() {
        for host in
            ["127.0.0.1:9000", "localhost:9000", "[::1]:9000", "s3.us-east-1.amazonaws.com", "localhost"]
        {
            assert_eq!(
                resolve(Some(host), "/b/some/key%20x"),
                address(Some("b"), Some("some/key x")),
                "{host}"
            );
        }
        assert_eq!(resolve(Some("127.0.0.1"), "/"), address(None, None));
        assert_eq!(resolve(Some("127.0.0.1"), "/b"), address(Some("b"), None));
        assert_eq!(resolve(Some("127.0.0.1"), "/b/"), address(Some("b"), None));
        assert_eq!(resolve(None, "/b/k"), address(Some("b"), Some("k")));
    }

    #[test]
    fn virtual_host_style_names_the_bucket_in_the_host() {
        assert_eq!(
            resolve(Some("my.bucket.localhost:9000"), "/a/b"),
            address(Some("my.bucket"), Some("a/b"))
        );
        assert_eq!(resolve(Some("bkt.s3.us-east-1.example.com"), "/k"), address(Some("bkt"), Some("k")));
        assert_eq!(resolve(Some("bkt.s3.localhost:1"), "/"), address(Some("bkt"), None));
    }
}
