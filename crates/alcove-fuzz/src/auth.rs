//! Credentials and policies from callers: the session token of temporary credentials
//! (`X-Amz-Security-Token`, sealed by this server, so anything else must be refused
//! without being trusted), and IAM-grammar policy documents with their wildcards and
//! condition operators.

use std::time::{Duration, SystemTime};

use alcove_auth::policy::{Context, Request};
use alcove_auth::{Policy, ServerKey, SessionIssuer, SessionPrincipal};

use crate::support::text;

fn issuer() -> SessionIssuer {
    SessionIssuer::new(&ServerKey::from_bytes([7; 32]))
}

/// Any text as a session token: only tokens this server sealed open.
#[test]
fn session_token() {
    let issuer = issuer();
    bolero::check!().for_each(|input: &[u8]| {
        let Some(token) = text(input) else { return };
        assert!(issuer.open(token, SystemTime::now()).is_err(), "a forged token opened: {token:?}");
    });
}

/// A real token with bytes flipped never opens.
#[test]
fn session_token_tampered() {
    let issuer = issuer();
    let principal = SessionPrincipal::AssumedRole {
        role_arn: "arn:aws:iam::000000000000:role/r".into(),
        session_name: "s".into(),
        source_access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
    };
    let issued = issuer.issue(principal, SystemTime::now(), Duration::from_secs(3600)).expect("credentials");
    assert!(issuer.open(&issued.session_token, SystemTime::now()).is_ok());
    bolero::check!().with_type::<(u16, u8)>().for_each(|(at, mask)| {
        if *mask == 0 {
            return;
        }
        let mut token = issued.session_token.clone().into_bytes();
        let at = usize::from(*at) % token.len();
        token[at] ^= mask;
        let Ok(token) = String::from_utf8(token) else { return };
        // Base64 has padding bits a flip can touch without changing the decoded bytes.
        if let Ok(claims) = issuer.open(&token, SystemTime::now()) {
            assert_eq!(claims.access_key_id, issued.access_key_id);
        }
    });
}

/// Any text as a policy document; what parses is evaluated against a request.
#[test]
fn policy_document() {
    let context = Context::new()
        .with("aws:SourceIp", "10.1.2.3")
        .with("lambda:FunctionUrlAuthType", "AWS_IAM")
        .with("aws:PrincipalTag/tenant", "BlueTenant");
    bolero::check!().for_each(|input: &[u8]| {
        let Some(document) = text(input) else { return };
        if let Ok(policy) = Policy::parse(document) {
            for action in ["lambda:InvokeFunction", "s3:GetObject", ""] {
                let _ = policy.evaluate(&Request {
                    action,
                    resource: "arn:aws:lambda:us-east-1:000000000000:function:f",
                    context: &context,
                });
            }
        }
    });
}

/// A request's SigV4 parts from outside: the `Authorization` header, the query string (a
/// presigned URL's members), `X-Amz-Date` and `X-Amz-Security-Token`, one per line. What
/// parses goes through the time check and the verifier (with `aws-sigv4` inside, which
/// panics on some requests a caller can send: those must be refused first); a forged
/// signature never verifies.
#[test]
fn sigv4_request() {
    use alcove_auth::sigv4::{self, PathStyle, Payload, SignedRequest};
    use axum::http::{HeaderMap, HeaderValue};

    bolero::check!().for_each(|input: &[u8]| {
        let Some(text) = text(input) else { return };
        let mut lines = text.splitn(4, '\n');
        let (authorization, query, date, token) =
            (lines.next().unwrap_or(""), lines.next(), lines.next(), lines.next());
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("127.0.0.1:9000"));
        for (name, value) in
            [("authorization", Some(authorization)), ("x-amz-date", date), ("x-amz-security-token", token)]
        {
            if let Some(value) = value.and_then(|v| HeaderValue::from_str(v).ok()) {
                headers.insert(name, value);
            }
        }
        let request =
            SignedRequest { method: "GET", path: "/2015-03-31/functions", query, headers: &headers };
        let Ok(Some(auth)) = sigv4::parse(&request) else { return };
        let _ = sigv4::check_time(&auth, SystemTime::now());
        for style in [PathStyle::S3, PathStyle::Normal] {
            for payload in [Payload::Body(b""), Payload::Unsigned, Payload::Declared("UNSIGNED-PAYLOAD")] {
                assert!(
                    sigv4::verify(
                        &auth,
                        &request,
                        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                        payload,
                        style
                    )
                    .is_err(),
                    "a forged signature verified: {text:?}"
                );
            }
        }
    });
}
