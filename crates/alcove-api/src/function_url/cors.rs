//! The CORS rules of a URL, applied by Lambda rather than by the function: a preflight
//! (`OPTIONS` with `Access-Control-Request-Method`) is answered without invoking, and
//! every other response from an allowed origin gets the `Access-Control-*` headers. With
//! CORS configured, the function's own `Access-Control-*` headers are replaced (inferred
//! from AWS's documentation, which says Lambda adds the configured headers).

use alcove_core::Cors;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;

/// The `Access-Control-Allow-Origin` value for this origin, if it is allowed.
fn allowed_origin(cors: &Cors, origin: &str) -> Option<String> {
    let origins = cors.allow_origins.as_deref().unwrap_or_default();
    if origins.iter().any(|o| o == "*") {
        return Some(if cors.allow_credentials == Some(true) { origin.to_owned() } else { "*".into() });
    }
    origins.iter().any(|o| o.eq_ignore_ascii_case(origin)).then(|| origin.to_owned())
}

fn set(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

fn origin(request: &HeaderMap) -> Option<&str> {
    request.get("origin").and_then(|v| v.to_str().ok())
}

/// The answer to a preflight, or None when the request is not one.
pub fn preflight(cors: &Cors, method: &Method, request: &HeaderMap) -> Option<Response> {
    if method != Method::OPTIONS || !request.contains_key("access-control-request-method") {
        return None;
    }
    let mut response = Response::new(axum::body::Body::empty());
    *response.status_mut() = StatusCode::OK;
    let Some(allowed) = origin(request).and_then(|o| allowed_origin(cors, o)) else { return Some(response) };
    let headers = response.headers_mut();
    set(headers, "access-control-allow-origin", &allowed);
    if let Some(methods) = cors.allow_methods.as_ref().filter(|m| !m.is_empty()) {
        set(headers, "access-control-allow-methods", &methods.join(","));
    }
    if let Some(allow) = cors.allow_headers.as_ref().filter(|h| !h.is_empty()) {
        set(headers, "access-control-allow-headers", &allow.join(","));
    }
    if let Some(age) = cors.max_age {
        set(headers, "access-control-max-age", &age.to_string());
    }
    if cors.allow_credentials == Some(true) {
        set(headers, "access-control-allow-credentials", "true");
    }
    if allowed != "*" {
        set(headers, "vary", "Origin");
    }
    Some(response)
}

/// Puts the configured headers on a function's response.
pub fn apply(cors: &Cors, request: &HeaderMap, response: &mut Response) {
    let headers = response.headers_mut();
    let own: Vec<_> = headers.keys().filter(|k| k.as_str().starts_with("access-control-")).cloned().collect();
    for name in own {
        headers.remove(name);
    }
    let Some(allowed) = origin(request).and_then(|o| allowed_origin(cors, o)) else { return };
    set(headers, "access-control-allow-origin", &allowed);
    if let Some(expose) = cors.expose_headers.as_ref().filter(|h| !h.is_empty()) {
        set(headers, "access-control-expose-headers", &expose.join(","));
    }
    if cors.allow_credentials == Some(true) {
        set(headers, "access-control-allow-credentials", "true");
    }
    if allowed != "*" {
        headers.append("vary", HeaderValue::from_static("Origin"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors(origins: &[&str]) -> Cors {
        Cors {
            allow_origins: Some(origins.iter().map(|s| s.to_string()).collect()),
            allow_methods: Some(vec!["GET".into(), "POST".into()]),
            allow_headers: Some(vec!["x-custom".into()]),
            max_age: Some(300),
            ..Cors::default()
        }
    }

    fn request(origin: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("origin", origin.parse().unwrap());
        headers.insert("access-control-request-method", "POST".parse().unwrap());
        headers
    }

    #[test]
    fn preflights_answer_for_allowed_origins_only() {
        let answer =
            preflight(&cors(&["https://a.example"]), &Method::OPTIONS, &request("https://a.example"))
                .unwrap();
        let h = answer.headers();
        assert_eq!(h["access-control-allow-origin"], "https://a.example");
        assert_eq!(h["access-control-allow-methods"], "GET,POST");
        assert_eq!(h["access-control-max-age"], "300");
        let refused =
            preflight(&cors(&["https://a.example"]), &Method::OPTIONS, &request("https://b.example"))
                .unwrap();
        assert!(!refused.headers().contains_key("access-control-allow-origin"));
        assert!(preflight(&cors(&["*"]), &Method::GET, &request("https://b.example")).is_none());
    }

    #[test]
    fn responses_get_the_configured_headers_instead_of_the_functions() {
        let mut response = Response::new(axum::body::Body::empty());
        response.headers_mut().insert("access-control-allow-origin", "https://evil".parse().unwrap());
        apply(&cors(&["*"]), &request("https://b.example"), &mut response);
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
    }
}
