//! Admitting one request in `sigv4` mode: find its signature, its key (or session), check
//! its time and signature, then what it asks against the caller's policy.
//!
//! Bodies: every service but S3 signs the hash of its body, so the body is read here
//! (bounded) and handed on whole. S3 declares the hash in `x-amz-content-sha256`; its
//! body streams on, watched: a declared hex hash is compared when the body ends, and a
//! `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` body has every chunk signature checked
//! ([`alcove_auth::chunked`]). A watched body that fails ends in an error, which the S3
//! handler turns into a refusal before it stores anything.

use std::time::SystemTime;

use alcove_auth::chunked::ChunkVerifier;
use alcove_auth::policy::{Decision, Request as PolicyRequest};
use alcove_auth::sigv4::{self, Authorization, ChunkSigner, PathStyle, Payload, SigV4Error, SignedRequest};
use alcove_auth::{SessionClaims, SessionError, SessionPrincipal};
use alcove_envs::EnvironmentIdentity;
use axum::body::Body;
use axum::extract::Request;
use axum::http::header;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::classify::{self, Parts, Surface};
use super::{Caller, Failure};
use crate::AppState;

/// The largest body read to check its hash (a CreateFunction's base64 zip fits).
const MAX_SIGNED_BODY: usize = 128 << 20;

/// The request, with its [`Caller`] attached, or why it is refused.
pub async fn admit(state: &AppState, request: Request) -> Result<Request, (Surface, Failure)> {
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_owned);
    let path = request.uri().path().to_owned();
    // Public surfaces: the stage data plane, code package downloads.
    if crate::apigateway::is_data_plane(host.as_deref(), &path) || path.starts_with("/alcove/v1/code/") {
        return Ok(request);
    }
    let url = crate::function_url::target_of(host.as_deref(), &path).is_some();
    let signed_for = crate::service::signed_for(request.headers(), request.uri());
    let surface = classify::surface(signed_for, request.method(), &path, request.headers());
    let fail = |failure: Failure| (surface, failure);
    let channel = request.extensions().get::<EnvironmentIdentity>().cloned();
    let (parts, body) = request.into_parts();
    let method = parts.method.as_str().to_owned();
    let signed =
        SignedRequest { method: &method, path: &path, query: parts.uri.query(), headers: &parts.headers };
    let auth = match sigv4::parse(&signed).map_err(|e| fail(e.into()))? {
        Some(auth) => auth,
        // Function URLs decide by their AuthType whether a signature is needed.
        None if url => return Ok(Request::from_parts(parts, body)),
        None => return Err(fail(SigV4Error::Missing.into())),
    };
    sigv4::check_time(&auth, SystemTime::now()).map_err(|e| fail(e.into()))?;
    let (caller, secret) = identify(state, &auth, channel.as_ref()).await.map_err(fail)?;
    let s3 = surface == Surface::S3 && !url;
    let (body, bytes) = if s3 {
        let declared = parts.headers.get("x-amz-content-sha256").and_then(|v| v.to_str().ok());
        let payload = match (auth.presentation, declared) {
            (sigv4::Presentation::Query, None) => Payload::Unsigned,
            (_, Some(declared)) => Payload::Declared(declared),
            (sigv4::Presentation::Header, None) => {
                return Err(fail(
                    SigV4Error::Malformed(
                        "Missing required header for this request: x-amz-content-sha256".into(),
                    )
                    .into(),
                ))
            }
        };
        sigv4::verify(&auth, &signed, &secret, payload, PathStyle::S3).map_err(|e| fail(e.into()))?;
        (watch_s3_body(body, declared, &auth, &secret), Vec::new())
    } else {
        let bytes = axum::body::to_bytes(body, MAX_SIGNED_BODY).await.map_err(|_| {
            fail(SigV4Error::Malformed("The request body is too large to verify".into()).into())
        })?;
        sigv4::verify(&auth, &signed, &secret, Payload::Body(&bytes), PathStyle::Normal)
            .map_err(|e| fail(e.into()))?;
        (Body::empty(), bytes.to_vec())
    };
    if !url {
        authorize(&caller, surface, &parts, &path, &bytes, &auth.region).map_err(fail)?;
    }
    let body = if s3 { body } else { Body::from(bytes) };
    let mut request = Request::from_parts(parts, body);
    request.extensions_mut().insert(caller);
    Ok(request)
}

/// The caller the signature names, and the secret to check it with. `channel` is the
/// environment whose channel the request came in on, if it did.
async fn identify(
    state: &AppState,
    auth: &Authorization,
    channel: Option<&EnvironmentIdentity>,
) -> Result<(Caller, String), Failure> {
    let auth_state = &state.auth;
    if let Some(token) = &auth.security_token {
        let claims = auth_state.sessions.open(token, SystemTime::now()).map_err(|e| match e {
            SessionError::Expired => SigV4Error::ExpiredToken,
            SessionError::Invalid => SigV4Error::InvalidToken,
        })?;
        if claims.access_key_id != auth.access_key_id {
            return Err(SigV4Error::InvalidToken.into());
        }
        bound_to_channel(&claims, channel)?;
        let policy = auth_state.role_policy(claims.principal.role_arn()).await?;
        let secret = claims.secret_access_key.clone();
        return Ok((Caller::Session { claims: Box::new(claims), policy }, secret));
    }
    match auth_state.resolve_key(&auth.access_key_id).await? {
        Some((key, secret)) => Ok((Caller::Key(key), secret)),
        None => Err(SigV4Error::UnknownKey.into()),
    }
}

/// An environment's credentials are good only on that environment's own channel: not in
/// another environment (another tenant's included), not from outside, not after the
/// environment is gone (its channel closes with it).
fn bound_to_channel(claims: &SessionClaims, channel: Option<&EnvironmentIdentity>) -> Result<(), Failure> {
    match &claims.principal {
        SessionPrincipal::Environment { environment_id, .. } => match channel {
            Some(channel) if &channel.environment_id == environment_id => Ok(()),
            _ => Err(SigV4Error::InvalidToken.into()),
        },
        SessionPrincipal::AssumedRole { .. } => Ok(()),
    }
}

/// Decides the request by the caller's policy.
pub fn authorize(
    caller: &Caller,
    surface: Surface,
    parts: &axum::http::request::Parts,
    path: &str,
    body: &[u8],
    region: &str,
) -> Result<(), Failure> {
    let mut target = classify::classify(
        surface,
        &Parts {
            method: &parts.method,
            path,
            query: parts.uri.query(),
            headers: &parts.headers,
            body,
            region,
        },
    );
    caller.add_condition_keys(&mut target.context);
    // As on AWS, anyone signed may ask who they are.
    if target.action == "sts:GetCallerIdentity" {
        return Ok(());
    }
    check(caller, &target.action, &target.resource, &target.context)
}

/// Whether `caller` may do `action` on `resource`.
pub fn check(
    caller: &Caller,
    action: &str,
    resource: &str,
    context: &alcove_auth::policy::Context,
) -> Result<(), Failure> {
    match caller.decide(&PolicyRequest { action, resource, context }) {
        Decision::Allow => Ok(()),
        decision => Err(Failure::Denied {
            caller: caller.arn(),
            action: action.to_owned(),
            resource: resource.to_owned(),
            explicit: decision == Decision::ExplicitDeny,
        }),
    }
}

/// The S3 body, watched as its declared payload hash says.
fn watch_s3_body(body: Body, declared: Option<&str>, auth: &Authorization, secret: &str) -> Body {
    match declared {
        Some("STREAMING-AWS4-HMAC-SHA256-PAYLOAD") => {
            let mut verifier = ChunkVerifier::new(ChunkSigner::new(sigv4::signing_key(secret, auth), auth));
            watched(body, move |bytes| match bytes {
                Some(bytes) => verifier.feed(bytes).map_err(|e| e.to_string()),
                None => verifier.finish().map_err(|e| e.to_string()),
            })
        }
        Some(hash) if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            let expected = hash.to_ascii_lowercase();
            let mut hasher = Some(Sha256::new());
            watched(body, move |bytes| match (bytes, hasher.as_mut()) {
                (Some(bytes), Some(h)) => {
                    h.update(bytes);
                    Ok(())
                }
                (None, Some(_)) => {
                    let actual = hex::encode(hasher.take().map(|h| h.finalize()).unwrap_or_default());
                    if actual == expected {
                        Ok(())
                    } else {
                        Err("The provided 'x-amz-content-sha256' header does not match what was computed."
                            .into())
                    }
                }
                _ => Ok(()),
            })
        }
        _ => body,
    }
}

/// `body`, with `check` called on every piece and once more (`None`) at its end; an
/// error of `check` ends the body in an error.
fn watched(body: Body, check: impl FnMut(Option<&[u8]>) -> Result<(), String> + Send + 'static) -> Body {
    let stream = futures_util::stream::unfold(
        (body.into_data_stream(), check, false),
        |(mut stream, mut check, done)| async move {
            if done {
                return None;
            }
            match stream.next().await {
                Some(Ok(bytes)) => match check(Some(&bytes)) {
                    Ok(()) => Some((Ok(bytes), (stream, check, false))),
                    Err(e) => Some((Err(std::io::Error::other(e)), (stream, check, true))),
                },
                Some(Err(e)) => Some((Err(std::io::Error::other(e)), (stream, check, true))),
                None => match check(None) {
                    Ok(()) => None,
                    Err(e) => Some((Err(std::io::Error::other(e)), (stream, check, true))),
                },
            }
        },
    );
    Body::from_stream(stream)
}
