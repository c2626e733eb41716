//! Which AWS service a request on the one endpoint is addressed to. SigV4 names it: the
//! credential scope (`Credential=<key>/<date>/<region>/<service>/aws4_request`, in the
//! `Authorization` header or, for presigned URLs, the `X-Amz-Credential` query member)
//! carries the service's signing name. That is the only reliable signal for S3, whose
//! path-style URLs (`/{bucket}/{key}`) can look like any other service's paths. Unsigned
//! requests (curl, `--no-sign-request`) fall back to the shape of the request: a JSON
//! 1.1 `X-Amz-Target`, a Query-protocol form `Action`, or the path.

use axum::http::{header, HeaderMap, Uri};

/// A service Alcove serves, as its signing name identifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Lambda,
    ApiGateway,
    Logs,
    S3,
    Sts,
    CloudFormation,
    Ssm,
}

impl Service {
    fn from_signing_name(name: &str) -> Option<Service> {
        Some(match name {
            "lambda" => Service::Lambda,
            "apigateway" => Service::ApiGateway,
            "logs" => Service::Logs,
            "s3" => Service::S3,
            "sts" => Service::Sts,
            "cloudformation" => Service::CloudFormation,
            "ssm" => Service::Ssm,
            _ => return None,
        })
    }
}

/// The service the request is signed for, if it is signed for one Alcove serves.
pub fn signed_for(headers: &HeaderMap, uri: &Uri) -> Option<Service> {
    let scope = headers
        .get(header::AUTHORIZATION)
        .and_then(|auth| auth.to_str().ok())
        .and_then(|auth| auth.split("Credential=").nth(1))
        .map(|credential| credential.split([',', ' ']).next().unwrap_or_default().to_owned())
        .or_else(|| presigned_scope(uri))?;
    Service::from_signing_name(scope.split('/').nth(3)?)
}

/// `X-Amz-Credential` of a presigned URL, percent-decoded.
fn presigned_scope(uri: &Uri) -> Option<String> {
    form_urlencoded::parse(uri.query()?.as_bytes())
        .find(|(name, _)| name.eq_ignore_ascii_case("x-amz-credential"))
        .map(|(_, value)| value.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(service: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=AKID/20261201/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"
        );
        headers.insert(header::AUTHORIZATION, auth.parse().unwrap());
        headers
    }

    #[test]
    fn the_credential_scope_names_the_service() {
        let uri: Uri = "/bucket/key".parse().unwrap();
        assert_eq!(signed_for(&signed("s3"), &uri), Some(Service::S3));
        assert_eq!(signed_for(&signed("cloudformation"), &uri), Some(Service::CloudFormation));
        assert_eq!(signed_for(&signed("sts"), &uri), Some(Service::Sts));
        assert_eq!(signed_for(&signed("lambda"), &uri), Some(Service::Lambda));
        assert_eq!(signed_for(&signed("ssm"), &uri), Some(Service::Ssm));
        assert_eq!(signed_for(&signed("dynamodb"), &uri), None);
        assert_eq!(signed_for(&HeaderMap::new(), &uri), None);
    }

    #[test]
    fn a_presigned_url_names_the_service_in_its_query() {
        let uri: Uri = "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20261201%2Fus-east-1%2Fs3%2Faws4_request"
            .parse()
            .unwrap();
        assert_eq!(signed_for(&HeaderMap::new(), &uri), Some(Service::S3));
    }
}
