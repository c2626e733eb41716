//! `TemplateURL`: the template is an object in Alcove's own S3, read in-process through
//! the same S3 API a client uses (never over the network). The URL may be any form AWS
//! tools write: path-style `https://s3[.<region>].amazonaws.com/<bucket>/<key>`,
//! virtual-hosted `https://<bucket>.s3[.<region>].amazonaws.com/<key>`, or this server's
//! own endpoint, `http://<host:port>/<bucket>/<key>`, which is what
//! `aws cloudformation deploy --s3-bucket` and `package` produce with `--endpoint-url`.

use alcove_cloudformation::services::{Service, ServiceRequest, Services};
use axum::http::{header, Method};

use crate::query::{Call, QueryError};

/// The object a template URL names, with its key still percent-encoded.
#[derive(Debug, PartialEq, Eq)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
}

fn unsupported() -> QueryError {
    QueryError::Validation("TemplateURL must be a supported URL.".into())
}

/// Reads the template the URL names.
pub async fn fetch(call: &Call<'_>, url: &str) -> Result<String, QueryError> {
    let own_host = call.headers.get(header::HOST).and_then(|h| h.to_str().ok());
    read(call.state.services.as_ref(), url, own_host).await
}

/// Reads the object `url` names from S3 through `services`.
async fn read(services: &dyn Services, url: &str, own_host: Option<&str>) -> Result<String, QueryError> {
    let object = parse(url, own_host).ok_or_else(unsupported)?;
    let request =
        ServiceRequest::empty(Service::S3, Method::GET, format!("/{}/{}", object.bucket, object.key));
    let response = services.call(request).await;
    if !response.is_success() {
        tracing::debug!(url, status = response.status, "the template object cannot be read");
        return Err(QueryError::Validation(
            "TemplateURL must reference a valid S3 object to which you have access.".into(),
        ));
    }
    String::from_utf8(response.body.to_vec())
        .map_err(|_| QueryError::Validation("Template format error: unsupported structure.".into()))
}

/// The bucket and key of a template URL, or `None` when it names no S3 object Alcove
/// holds. `own_host` is the `Host` the request reached this server by.
pub fn parse(url: &str, own_host: Option<&str>) -> Option<ObjectRef> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    let (host, path) = rest.split_once('/')?;
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let name = host.rsplit_once(':').map_or(host, |(name, _port)| name).to_ascii_lowercase();
    if let Some(bucket) = virtual_hosted_bucket(&name) {
        return object(bucket, path);
    }
    let path_style = is_s3_endpoint(&name)
        || own_host.is_some_and(|own| own.eq_ignore_ascii_case(host))
        || matches!(name.as_str(), "localhost" | "127.0.0.1" | "[::1]");
    if !path_style {
        return None;
    }
    let (bucket, key) = path.split_once('/')?;
    object(bucket, key)
}

fn object(bucket: &str, key: &str) -> Option<ObjectRef> {
    (!bucket.is_empty() && !key.is_empty())
        .then(|| ObjectRef { bucket: bucket.to_owned(), key: key.to_owned() })
}

/// `s3.amazonaws.com`, `s3.<region>.amazonaws.com`, `s3-<region>.amazonaws.com`.
fn is_s3_endpoint(name: &str) -> bool {
    let Some(service) = name.strip_suffix(".amazonaws.com") else { return false };
    service == "s3"
        || service.strip_prefix("s3.").is_some_and(is_region)
        || service.strip_prefix("s3-").is_some_and(is_region)
}

/// The bucket of `<bucket>.s3[.<region>|-<region>].amazonaws.com`.
fn virtual_hosted_bucket(name: &str) -> Option<&str> {
    let service = name.strip_suffix(".amazonaws.com")?;
    let (bucket, endpoint) = service.split_once(".s3")?;
    let region_part = endpoint.strip_prefix(['.', '-']);
    (endpoint.is_empty() || region_part.is_some_and(is_region)).then_some(bucket)
}

fn is_region(text: &str) -> bool {
    !text.is_empty() && !text.contains('.') && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

#[cfg(test)]
mod tests {
    use alcove_cloudformation::services::ServiceResponse;

    use super::*;

    fn at(bucket: &str, key: &str) -> Option<ObjectRef> {
        Some(ObjectRef { bucket: bucket.into(), key: key.into() })
    }

    #[test]
    fn every_url_form_aws_tools_write_names_its_object() {
        let own = Some("127.0.0.1:9000");
        assert_eq!(parse("https://s3.amazonaws.com/b/dir/t.yaml", own), at("b", "dir/t.yaml"));
        assert_eq!(parse("https://s3.eu-west-1.amazonaws.com/b/t.yaml", own), at("b", "t.yaml"));
        assert_eq!(parse("https://s3-us-west-2.amazonaws.com/b/t.yaml", own), at("b", "t.yaml"));
        assert_eq!(parse("https://b.s3.amazonaws.com/dir/t.yaml", own), at("b", "dir/t.yaml"));
        assert_eq!(
            parse("https://my.bucket.s3.us-east-1.amazonaws.com/t.yaml", own),
            at("my.bucket", "t.yaml")
        );
        // What `aws cloudformation deploy --s3-bucket` writes with `--endpoint-url`.
        assert_eq!(parse("http://127.0.0.1:9000/b/abc123.template", own), at("b", "abc123.template"));
        assert_eq!(parse("http://127.0.0.1:9000/b/t.yaml?versionId=3", own), at("b", "t.yaml"));
        assert_eq!(
            parse("http://alcove.internal:9000/b/k%20x", Some("alcove.internal:9000")),
            at("b", "k%20x")
        );
        assert_eq!(parse("http://localhost:4566/b/t.json", own), at("b", "t.json"));
    }

    /// S3 holding one object, `templates/t.yaml`; it records the paths asked for.
    struct OneObject(std::sync::Mutex<Vec<String>>);

    #[async_trait::async_trait]
    impl Services for OneObject {
        async fn call(&self, request: ServiceRequest) -> ServiceResponse {
            assert_eq!((request.service, &request.method), (Service::S3, &Method::GET));
            self.0.lock().unwrap().push(request.path_and_query.clone());
            let (status, body) = match request.path_and_query.as_str() {
                "/templates/t.yaml" => (200, &b"Resources: {}\n"[..]),
                _ => (404, &b"<Error><Code>NoSuchKey</Code></Error>"[..]),
            };
            ServiceResponse { status, headers: Vec::new(), body: bytes::Bytes::from_static(body) }
        }
    }

    #[tokio::test]
    async fn the_template_is_read_from_s3_in_process() {
        let s3 = OneObject(Default::default());
        let own = Some("127.0.0.1:9000");
        let body = read(&s3, "https://templates.s3.amazonaws.com/t.yaml", own).await.unwrap();
        assert_eq!(body, "Resources: {}\n");
        assert_eq!(read(&s3, "http://127.0.0.1:9000/templates/t.yaml", own).await.unwrap(), body);
        let Err(QueryError::Validation(missing)) = read(&s3, "http://127.0.0.1:9000/templates/x", own).await
        else {
            panic!("a missing object was read")
        };
        assert_eq!(missing, "TemplateURL must reference a valid S3 object to which you have access.");
        let Err(QueryError::Validation(foreign)) =
            read(&s3, "https://example.com/templates/t.yaml", own).await
        else {
            panic!("a foreign URL was read")
        };
        assert_eq!(foreign, "TemplateURL must be a supported URL.");
        assert_eq!(*s3.0.lock().unwrap(), ["/templates/t.yaml", "/templates/t.yaml", "/templates/x"]);
    }

    #[test]
    fn a_url_naming_no_object_here_is_refused() {
        let own = Some("127.0.0.1:9000");
        assert_eq!(parse("https://example.com/b/t.yaml", own), None);
        assert_eq!(parse("ftp://s3.amazonaws.com/b/t.yaml", own), None);
        assert_eq!(parse("https://s3.amazonaws.com/only-a-bucket", own), None);
        assert_eq!(parse("https://s3.amazonaws.com/b/", own), None);
        assert_eq!(parse("https://b.s3.evil.example.amazonaws.com.attacker/t", own), None);
        assert_eq!(parse("not a url", own), None);
    }
}
