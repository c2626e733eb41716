//! The middleware end to end on the router: signed with a managed key, refused otherwise.

use std::time::SystemTime;

use alcove_auth::sigv4::{sign_headers, ClientCredentials};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use tower::ServiceExt;

use super::Mode;

async fn call(
    app: &axum::Router,
    method: Method,
    path: &str,
    body: &str,
    key: Option<(&str, &str)>,
    service: &str,
    extra: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let url = format!("http://127.0.0.1:9000{path}");
    let mut builder = Request::builder().method(method.clone()).uri(path).header("host", "127.0.0.1:9000");
    for (name, value) in extra {
        builder = builder.header(*name, *value);
    }
    if let Some((id, secret)) = key {
        let credentials =
            ClientCredentials { access_key_id: id, secret_access_key: secret, session_token: None };
        for (name, value) in sign_headers(
            method.as_str(),
            &url,
            body.as_bytes(),
            credentials,
            "us-east-1",
            service,
            SystemTime::now(),
        )
        .unwrap()
        {
            builder = builder.header(name, value);
        }
    }
    let response = app.clone().oneshot(builder.body(Body::from(body.to_owned())).unwrap()).await.unwrap();
    let status = response.status();
    let kind = response
        .headers()
        .get("x-amzn-ErrorType")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, kind, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn sigv4_mode_admits_managed_keys_and_refuses_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = crate::tests::state(dir.path()).await;
    state.auth.mode = Mode::SigV4;
    let admin = state.auth.keys.create(Some("admin"), None).unwrap();
    let policy = alcove_auth::Policy::parse(
        r#"{"Statement": {"Effect": "Allow", "Action": "lambda:InvokeFunction",
            "Resource": "arn:aws:lambda:us-east-1:000000000000:function:f",
            "Condition": {"StringEquals": {"alcove:TenantId": "blue"}}}}"#,
    )
    .unwrap();
    let scoped = state.auth.keys.create(Some("frontend"), Some(policy)).unwrap();
    let app = crate::router(state);
    let admin_key = Some((admin.key.id.as_str(), admin.secret.as_str()));
    let list = "/2015-03-31/functions/";
    let (status, _, body) = call(&app, Method::GET, list, "", admin_key, "lambda", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, kind, _) = call(&app, Method::GET, list, "", None, "lambda", &[]).await;
    assert_eq!((status, kind.as_str()), (StatusCode::FORBIDDEN, "MissingAuthenticationTokenException"));
    let (status, kind, _) =
        call(&app, Method::GET, list, "", Some((admin.key.id.as_str(), "wrong")), "lambda", &[]).await;
    assert_eq!((status, kind.as_str()), (StatusCode::FORBIDDEN, "InvalidSignatureException"));
    let (status, kind, _) =
        call(&app, Method::GET, list, "", Some(("AKIANOSUCHKEY", "x")), "lambda", &[]).await;
    assert_eq!((status, kind.as_str()), (StatusCode::FORBIDDEN, "UnrecognizedClientException"));
    // The scoped key: its tenant reaches the function (which does not exist), another does not.
    let scoped_key = Some((scoped.key.id.as_str(), scoped.secret.as_str()));
    let invoke = "/2015-03-31/functions/f/invocations";
    let (status, kind, _) =
        call(&app, Method::POST, invoke, "{}", scoped_key, "lambda", &[("x-amz-tenant-id", "blue")]).await;
    assert_eq!((status, kind.as_str()), (StatusCode::NOT_FOUND, "ResourceNotFoundException"));
    let (status, kind, body) =
        call(&app, Method::POST, invoke, "{}", scoped_key, "lambda", &[("x-amz-tenant-id", "green")]).await;
    assert_eq!((status, kind.as_str()), (StatusCode::FORBIDDEN, "AccessDeniedException"));
    assert!(body.contains(
        "User: arn:aws:iam::000000000000:user/frontend is not authorized to perform: lambda:InvokeFunction on \
         resource: arn:aws:lambda:us-east-1:000000000000:function:f because no identity-based policy allows the \
         lambda:InvokeFunction action"
    ));
    let (status, kind, _) =
        call(&app, Method::GET, "/alcove/v1/usage?tenant=green", "", scoped_key, "lambda", &[]).await;
    assert_eq!((status, kind.as_str()), (StatusCode::FORBIDDEN, "AccessDeniedException"));
    // STS says who the caller is, in its own shape when refused.
    let form = "Action=GetCallerIdentity&Version=2011-06-15";
    let sts = [("content-type", "application/x-www-form-urlencoded; charset=utf-8")];
    let (status, _, body) = call(&app, Method::POST, "/", form, scoped_key, "sts", &sts).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("<Arn>arn:aws:iam::000000000000:user/frontend</Arn>"), "{body}");
    let (status, _, body) =
        call(&app, Method::POST, "/", form, Some(("AKIANOSUCHKEY", "x")), "sts", &sts).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("<Code>InvalidClientTokenId</Code>"), "{body}");
}
