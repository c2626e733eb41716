use super::*;
use crate::chunked::{ChunkError, ChunkVerifier};

const KEY: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for (name, value) in pairs {
        map.append(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
    }
    map
}

fn request<'a>(
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    headers: &'a http::HeaderMap,
) -> SignedRequest<'a> {
    SignedRequest { method, path, query, headers }
}

#[test]
fn the_aws_test_suite_get_vanilla_vector_verifies() {
    let map = headers(&[
        ("host", "example.amazonaws.com"),
        ("x-amz-date", "20150830T123600Z"),
        (
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        ),
    ]);
    let req = request("GET", "/", None, &map);
    let auth = parse(&req).unwrap().unwrap();
    assert_eq!((auth.access_key_id.as_str(), auth.service.as_str()), (KEY, "service"));
    assert_eq!(format_amz_date(auth.time), "20150830T123600Z");
    verify(&auth, &req, SECRET, Payload::Body(b""), PathStyle::Normal).unwrap();
    assert_eq!(
        verify(&auth, &req, "wrong", Payload::Body(b""), PathStyle::Normal),
        Err(SigV4Error::Mismatch)
    );
    assert_eq!(
        verify(&auth, &request("GET", "/other", None, &map), SECRET, Payload::Body(b""), PathStyle::Normal),
        Err(SigV4Error::Mismatch)
    );
    assert_eq!(
        verify(&auth, &req, SECRET, Payload::Body(b"x"), PathStyle::Normal),
        Err(SigV4Error::Mismatch)
    );
}

/// Signs with aws-sigv4 as a client would, returning the headers to send.
fn client_sign(
    method: &str,
    uri: &str,
    extra: &[(&str, &str)],
    body: &[u8],
    s3: bool,
    time: SystemTime,
    token: Option<&str>,
) -> http::HeaderMap {
    let mut settings = SigningSettings::default();
    if s3 {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = http_request::PayloadChecksumKind::XAmzSha256;
    }
    let identity = Credentials::new(KEY, SECRET, token.map(str::to_owned), None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name(if s3 { "s3" } else { "lambda" })
        .time(time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let mut all = vec![("host", "127.0.0.1:9000")];
    all.extend_from_slice(extra);
    let signable = SignableRequest::new(method, uri, all.iter().copied(), SignableBody::Bytes(body)).unwrap();
    let (instructions, _) = http_request::sign(signable, &params).unwrap().into_parts();
    let mut map = headers(&all);
    for (name, value) in instructions.headers() {
        map.insert(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
    }
    map
}

#[test]
fn requests_signed_by_the_sdk_signer_verify_and_altered_ones_do_not() {
    let now = SystemTime::now();
    let body = br#"{"tenant": "blue"}"#;
    let path = "/2015-03-31/functions/my%3Afn/invocations";
    let map = client_sign(
        "POST",
        &format!("{path}?Qualifier=live&b=a%20b"),
        &[("x-amz-tenant-id", "blue"), ("content-type", "application/json")],
        body,
        false,
        now,
        None,
    );
    let req = request("POST", path, Some("Qualifier=live&b=a%20b"), &map);
    let auth = parse(&req).unwrap().unwrap();
    check_time(&auth, now).unwrap();
    verify(&auth, &req, SECRET, Payload::Body(body), PathStyle::Normal).unwrap();
    // Another tenant header, another query, another body: refused.
    let mut other = map.clone();
    other.insert("x-amz-tenant-id", "green".parse().unwrap());
    assert_eq!(
        verify(
            &auth,
            &request("POST", path, Some("Qualifier=live&b=a%20b"), &other),
            SECRET,
            Payload::Body(body),
            PathStyle::Normal
        ),
        Err(SigV4Error::Mismatch)
    );
    assert_eq!(
        verify(
            &auth,
            &request("POST", path, Some("Qualifier=prod&b=a%20b"), &map),
            SECRET,
            Payload::Body(body),
            PathStyle::Normal
        ),
        Err(SigV4Error::Mismatch)
    );
    assert_eq!(
        verify(&auth, &req, SECRET, Payload::Body(b"{}"), PathStyle::Normal),
        Err(SigV4Error::Mismatch)
    );
    // Twenty minutes later the same signature has expired.
    let later = now + Duration::from_secs(20 * 60);
    assert!(
        matches!(check_time(&auth, later), Err(SigV4Error::Skewed(m)) if m.starts_with("Signature expired: "))
    );
    let earlier = now - Duration::from_secs(20 * 60);
    assert!(
        matches!(check_time(&auth, earlier), Err(SigV4Error::Skewed(m)) if m.starts_with("Signature not yet current"))
    );
}

#[test]
fn s3_requests_sign_the_declared_payload_hash_and_a_session_token() {
    let now = SystemTime::now();
    let path = "/bucket/a%20key/with//slashes";
    let map = client_sign("PUT", path, &[], b"data", true, now, Some("TOKEN"));
    let req = request("PUT", path, None, &map);
    let auth = parse(&req).unwrap().unwrap();
    assert_eq!(auth.security_token.as_deref(), Some("TOKEN"));
    let declared = map.get("x-amz-content-sha256").unwrap().to_str().unwrap();
    verify(&auth, &req, SECRET, Payload::Declared(declared), PathStyle::S3).unwrap();
    assert_eq!(
        verify(&auth, &req, SECRET, Payload::Declared(declared), PathStyle::Normal),
        Err(SigV4Error::Mismatch),
        "S3 paths are not normalised"
    );
}

#[test]
fn presigned_urls_verify_until_they_expire() {
    let now = SystemTime::now();
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(60));
    let identity = Credentials::new(KEY, SECRET, None, None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("s3")
        .time(now)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let host = [("host", "127.0.0.1:9000")];
    let signable = SignableRequest::new(
        "GET",
        "/bucket/key?versionId=1",
        host.iter().copied(),
        SignableBody::UnsignedPayload,
    )
    .unwrap();
    let (instructions, _) = http_request::sign(signable, &params).unwrap().into_parts();
    let mut query = String::from("versionId=1");
    for (name, value) in instructions.params() {
        query.push_str(&format!(
            "&{name}={}",
            percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC)
        ));
    }
    let map = headers(&host);
    let req = request("GET", "/bucket/key", Some(&query), &map);
    let auth = parse(&req).unwrap().unwrap();
    assert_eq!(auth.presentation, Presentation::Query);
    check_time(&auth, now).unwrap();
    verify(&auth, &req, SECRET, Payload::Unsigned, PathStyle::S3).unwrap();
    assert_eq!(check_time(&auth, now + Duration::from_secs(120)), Err(SigV4Error::PresignedExpired));
    let tampered = query.replace("versionId=1", "versionId=2");
    assert_eq!(
        verify(
            &auth,
            &request("GET", "/bucket/key", Some(&tampered), &map),
            SECRET,
            Payload::Unsigned,
            PathStyle::S3
        ),
        Err(SigV4Error::Mismatch)
    );
}

#[test]
fn unsigned_malformed_and_hostless_signatures() {
    let map = headers(&[("host", "h")]);
    assert_eq!(parse(&request("GET", "/", None, &map)).unwrap(), None);
    let bad = headers(&[
        ("authorization", "AWS4-HMAC-SHA256 Credential=AKID/2015/us-east-1"),
        ("x-amz-date", "20150830T123600Z"),
    ]);
    assert!(matches!(parse(&request("GET", "/", None, &bad)), Err(SigV4Error::Malformed(_))));
    let no_host = headers(&[
        ("authorization", "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/lambda/aws4_request, SignedHeaders=x-amz-date, Signature=00"),
        ("x-amz-date", "20150830T123600Z"),
    ]);
    let req = request("GET", "/", None, &no_host);
    let auth = parse(&req).unwrap().unwrap();
    assert!(matches!(
        verify(&auth, &req, SECRET, Payload::Body(b""), PathStyle::Normal),
        Err(SigV4Error::Malformed(_))
    ));
    assert!(parse_amz_date("2015-08-30").is_err());
    assert_eq!(format_amz_date(parse_amz_date("20240229T235959Z").unwrap()), "20240229T235959Z");
}

/// The example of AWS's "Signature calculations for the Authorization header: transferring
/// payload in multiple chunks" (S3 documentation).
#[test]
fn the_s3_documentation_chunked_upload_example_verifies() {
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let auth = Authorization {
        presentation: Presentation::Header,
        access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
        scope_date: "20130524".into(),
        region: "us-east-1".into(),
        service: "s3".into(),
        signed_headers: vec![],
        signature: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9".into(),
        amz_date: "20130524T000000Z".into(),
        time: parse_amz_date("20130524T000000Z").unwrap(),
        expires: None,
        security_token: None,
    };
    let body = |last_signature: &str| {
        let mut body = Vec::new();
        body.extend_from_slice(
            b"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n",
        );
        body.extend(std::iter::repeat_n(b'a', 65536));
        body.extend_from_slice(
            b"\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n",
        );
        body.extend(std::iter::repeat_n(b'a', 1024));
        body.extend_from_slice(format!("\r\n0;chunk-signature={last_signature}\r\n\r\n").as_bytes());
        body
    };
    let good = body("b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9");
    let mut verifier = ChunkVerifier::new(ChunkSigner::new(signing_key(secret, &auth), &auth));
    for piece in good.chunks(1000) {
        verifier.feed(piece).unwrap();
    }
    verifier.finish().unwrap();
    let bad = body("b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df0");
    let mut verifier = ChunkVerifier::new(ChunkSigner::new(signing_key(secret, &auth), &auth));
    assert_eq!(verifier.feed(&bad), Err(ChunkError::Mismatch));
    let mut altered = good.clone();
    altered[200] = b'b';
    let mut verifier = ChunkVerifier::new(ChunkSigner::new(signing_key(secret, &auth), &auth));
    assert_eq!(verifier.feed(&altered), Err(ChunkError::Mismatch));
    let mut verifier = ChunkVerifier::new(ChunkSigner::new(signing_key(secret, &auth), &auth));
    verifier.feed(&good[..500]).unwrap();
    assert_eq!(verifier.finish(), Err(ChunkError::Incomplete));
}
