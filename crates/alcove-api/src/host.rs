//! Service host names: `<id>.execute-api.<domain>` (API Gateway stages) and
//! `<id>.lambda-url.<region>.<domain>` (function URLs) reach this one endpoint, which
//! tells them apart by the Host header before routing.

/// The label before `marker` in the request's host name (port and case dropped) and what
/// follows the marker, when the host has that shape and the label passes `is_id`.
pub fn service_subdomain(
    host: Option<&str>,
    marker: &str,
    is_id: impl Fn(&str) -> bool,
) -> Option<(String, String)> {
    let hostname = host?.split(':').next().unwrap_or_default().to_ascii_lowercase();
    let (id, rest) = hostname.split_once(marker)?;
    is_id(id).then(|| (id.to_owned(), rest.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_before_the_marker() {
        let any = |id: &str| !id.is_empty();
        assert_eq!(
            service_subdomain(Some("Abc.Lambda-URL.us-east-1.localhost:9000"), ".lambda-url.", any),
            Some(("abc".into(), "us-east-1.localhost".into()))
        );
        assert_eq!(service_subdomain(Some("localhost:9000"), ".lambda-url.", any), None);
        assert_eq!(service_subdomain(None, ".lambda-url.", any), None);
        assert_eq!(service_subdomain(Some(".lambda-url.x"), ".lambda-url.", any), None);
    }
}
