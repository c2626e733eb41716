//! Verifying AWS Signature Version 4, in an `Authorization` header or in a presigned
//! URL's query (`X-Amz-Algorithm`, `-Credential`, `-Date`, `-Expires`, `-SignedHeaders`,
//! `-Signature`, and `-Security-Token` for session credentials).
//!
//! The signature is checked by signing again, with AWS's own signer (`aws-sigv4`): the
//! request is rebuilt from exactly the headers the client says it signed, signed with the
//! secret of the key it names at the time it names, and the two signatures compared in
//! constant time. Canonicalisation (path encoding, query sorting, header folding) is
//! then the SDKs' own rather than a second implementation that could disagree with them.
//! What the signer needs told: S3 encodes the path once and never normalises it, every
//! other service encodes it twice and normalises it; the payload hash is what the client
//! declared in `x-amz-content-sha256` (S3) or the hash of the body.
//!
//! Time is checked as AWS checks it: a header-signed request more than 15 minutes away
//! from the server's clock is refused, a presigned URL past `X-Amz-Date + X-Amz-Expires`
//! has expired. Which key the request names, and whether it exists, is the caller's
//! business ([`Authorization::access_key_id`]); this module only parses and verifies.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    self, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// How far a header-signed request's time may be from the server's.
pub const MAX_SKEW: Duration = Duration::from_secs(15 * 60);
/// The longest a presigned URL may be valid for (7 days, as on AWS).
pub const MAX_PRESIGNED_EXPIRY: u64 = 604_800;

/// Why a request's signature was refused. The edge renders each in the shape of the
/// service the request is for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    /// No signature at all.
    #[error("Missing Authentication Token")]
    Missing,
    /// An `Authorization` header or presigned query that is not a complete SigV4 signature.
    #[error("{0}")]
    Malformed(String),
    /// The named access key does not exist.
    #[error("The security token included in the request is invalid.")]
    UnknownKey,
    /// A session token that does not open, or that belongs to another key.
    #[error("The security token included in the request is invalid.")]
    InvalidToken,
    #[error("The security token included in the request is expired")]
    ExpiredToken,
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret \
         Access Key and signing method. Consult the service documentation for details."
    )]
    Mismatch,
    /// The request's time is too far from the server's.
    #[error("{0}")]
    Skewed(String),
    /// A presigned URL past its expiry.
    #[error("Request has expired")]
    PresignedExpired,
}

/// How the signature was presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presentation {
    Header,
    Query,
}

/// A request's SigV4 signature, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub presentation: Presentation,
    pub access_key_id: String,
    /// `YYYYMMDD` of the credential scope.
    pub scope_date: String,
    pub region: String,
    pub service: String,
    /// Lower-cased, as listed.
    pub signed_headers: Vec<String>,
    pub signature: String,
    /// `X-Amz-Date`: `YYYYMMDDTHHMMSSZ`.
    pub amz_date: String,
    pub time: SystemTime,
    /// Presigned URLs: seconds the URL is valid for.
    pub expires: Option<u64>,
    /// `X-Amz-Security-Token` (header or query), for session credentials.
    pub security_token: Option<String>,
}

impl Authorization {
    /// `<date>/<region>/<service>/aws4_request`.
    pub fn scope(&self) -> String {
        format!("{}/{}/{}/aws4_request", self.scope_date, self.region, self.service)
    }
}

/// The parts of an HTTP request a signature covers, as received.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The path exactly as received (still percent-encoded).
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a http::HeaderMap,
}

/// What the payload hash of the canonical request is.
#[derive(Debug, Clone, Copy)]
pub enum Payload<'a> {
    /// The body itself (hashed here).
    Body(&'a [u8]),
    /// The value the client declared (`x-amz-content-sha256`: a hex hash,
    /// `UNSIGNED-PAYLOAD`, `STREAMING-…`).
    Declared(&'a str),
    /// Presigned URLs: `UNSIGNED-PAYLOAD`.
    Unsigned,
}

/// How the path is canonicalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathStyle {
    /// S3: encoded once, never normalised.
    S3,
    /// Every other service: encoded twice, normalised.
    Normal,
}

fn malformed(message: impl Into<String>) -> SigV4Error {
    SigV4Error::Malformed(message.into())
}

/// The request's signature, or `None` when it carries none.
pub fn parse(request: &SignedRequest<'_>) -> Result<Option<Authorization>, SigV4Error> {
    if let Some(value) = request.headers.get(http::header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| malformed("Authorization header is not valid text"))?;
        return parse_header(value, request.headers).map(Some);
    }
    let Some(query) = request.query else { return Ok(None) };
    let params: Vec<(Cow<'_, str>, Cow<'_, str>)> = form_urlencoded_parse(query);
    let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_ref());
    let Some(algorithm) = get("X-Amz-Algorithm") else { return Ok(None) };
    if algorithm != ALGORITHM {
        return Err(malformed(format!("Unsupported algorithm {algorithm}")));
    }
    let need = |name: &str| {
        get(name)
            .ok_or_else(|| malformed(format!("Query-string authentication requires the {name} parameter")))
    };
    let (key, scope_date, region, service) = credential(need("X-Amz-Credential")?)?;
    let amz_date = need("X-Amz-Date")?.to_owned();
    let expires: u64 =
        need("X-Amz-Expires")?.parse().map_err(|_| malformed("X-Amz-Expires must be a number of seconds"))?;
    if expires > MAX_PRESIGNED_EXPIRY {
        return Err(malformed("X-Amz-Expires must be less than a week (in seconds) that is 604800"));
    }
    Ok(Some(Authorization {
        presentation: Presentation::Query,
        access_key_id: key,
        scope_date,
        region,
        service,
        signed_headers: need("X-Amz-SignedHeaders")?.split(';').map(|h| h.to_ascii_lowercase()).collect(),
        signature: need("X-Amz-Signature")?.to_owned(),
        time: parse_amz_date(&amz_date)?,
        amz_date,
        expires: Some(expires),
        security_token: get("X-Amz-Security-Token").map(str::to_owned),
    }))
}

fn form_urlencoded_parse(query: &str) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode_component(k), decode_component(v))
        })
        .collect()
}

fn decode_component(text: &str) -> Cow<'_, str> {
    let plus_free: Cow<'_, str> =
        if text.contains('+') { Cow::Owned(text.replace('+', " ")) } else { Cow::Borrowed(text) };
    match percent_encoding::percent_decode_str(&plus_free).decode_utf8() {
        Ok(Cow::Borrowed(_)) => plus_free,
        Ok(Cow::Owned(decoded)) => Cow::Owned(decoded),
        Err(_) => plus_free,
    }
}

fn parse_header(value: &str, headers: &http::HeaderMap) -> Result<Authorization, SigV4Error> {
    let rest = value
        .trim()
        .strip_prefix(ALGORITHM)
        .ok_or_else(|| malformed(format!("Authorization header requires the {ALGORITHM} algorithm")))?;
    let (mut credential_value, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let Some((name, value)) = part.trim().split_once('=') else { continue };
        match name.trim() {
            "Credential" => credential_value = Some(value.trim()),
            "SignedHeaders" => signed = Some(value.trim()),
            "Signature" => signature = Some(value.trim()),
            _ => {}
        }
    }
    let missing = |name: &str| {
        malformed(format!(
            "Authorization header requires '{name}' parameter. Authorization={ALGORITHM}{rest}"
        ))
    };
    let (key, scope_date, region, service) =
        credential(credential_value.ok_or_else(|| missing("Credential"))?)?;
    let signed_headers: Vec<String> =
        signed.ok_or_else(|| missing("SignedHeaders"))?.split(';').map(|h| h.to_ascii_lowercase()).collect();
    let signature = signature.ok_or_else(|| missing("Signature"))?.to_owned();
    let amz_date = headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            malformed("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
        })?
        .to_owned();
    Ok(Authorization {
        presentation: Presentation::Header,
        access_key_id: key,
        scope_date,
        region,
        service,
        signed_headers,
        signature,
        time: parse_amz_date(&amz_date)?,
        amz_date,
        expires: None,
        security_token: headers.get("x-amz-security-token").and_then(|v| v.to_str().ok()).map(str::to_owned),
    })
}

/// `<key>/<date>/<region>/<service>/aws4_request`.
fn credential(value: &str) -> Result<(String, String, String, String), SigV4Error> {
    let parts: Vec<&str> = value.split('/').collect();
    match parts.as_slice() {
        [key, date, region, service, "aws4_request"]
            if !key.is_empty() && date.len() == 8 && !region.is_empty() && !service.is_empty() =>
        {
            Ok((key.to_string(), date.to_string(), region.to_string(), service.to_string()))
        }
        _ => Err(malformed(format!(
            "Credential should be scoped to a valid region, not a malformed credential scope: {value}"
        ))),
    }
}

/// `YYYYMMDDTHHMMSSZ` as a time.
pub fn parse_amz_date(text: &str) -> Result<SystemTime, SigV4Error> {
    let invalid = || malformed(format!("Invalid X-Amz-Date {text}: expected YYYYMMDDTHHMMSSZ"));
    let bytes = text.as_bytes();
    if bytes.len() != 16 || bytes[8] != b'T' || bytes[15] != b'Z' {
        return Err(invalid());
    }
    let number = |range: std::ops::Range<usize>| -> Result<i64, SigV4Error> {
        text.get(range)
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse().ok())
            .ok_or_else(invalid)
    };
    let (year, month, day) = (number(0..4)?, number(4..6)?, number(6..8)?);
    let (hour, minute, second) = (number(9..11)?, number(11..13)?, number(13..15)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return Err(invalid());
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second;
    u64::try_from(seconds).map(|s| UNIX_EPOCH + Duration::from_secs(s)).map_err(|_| invalid())
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// `YYYYMMDDTHHMMSSZ` of a time.
pub fn format_amz_date(time: SystemTime) -> String {
    let seconds = time.duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default();
    let (days, rest) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// Whether the request is within its time: 15 minutes either side for header
/// signatures; for presigned URLs, not yet expired (and not dated in the future).
pub fn check_time(auth: &Authorization, now: SystemTime) -> Result<(), SigV4Error> {
    match auth.presentation {
        Presentation::Header => {
            if auth.time + MAX_SKEW < now {
                return Err(SigV4Error::Skewed(format!(
                    "Signature expired: {} is now earlier than {} ({} - 15 min.)",
                    auth.amz_date,
                    format_amz_date(now - MAX_SKEW),
                    format_amz_date(now)
                )));
            }
            if auth.time > now + MAX_SKEW {
                return Err(SigV4Error::Skewed(format!(
                    "Signature not yet current: {} is still later than {} ({} + 15 min.)",
                    auth.amz_date,
                    format_amz_date(now + MAX_SKEW),
                    format_amz_date(now)
                )));
            }
        }
        Presentation::Query => {
            let expires = Duration::from_secs(auth.expires.unwrap_or_default());
            if auth.time + expires < now {
                return Err(SigV4Error::PresignedExpired);
            }
            if auth.time > now + MAX_SKEW {
                return Err(SigV4Error::Skewed("Request is not valid yet".into()));
            }
        }
    }
    Ok(())
}

/// Checks the request's signature against `secret`.
pub fn verify(
    auth: &Authorization,
    request: &SignedRequest<'_>,
    secret: &str,
    payload: Payload<'_>,
    style: PathStyle,
) -> Result<(), SigV4Error> {
    // The signer panics on a request without a host; AWS refuses such signatures too.
    if !auth.signed_headers.iter().any(|h| h == "host") {
        return Err(malformed("'Host' must be a signed header"));
    }
    if auth.presentation == Presentation::Header && !auth.signed_headers.iter().any(|h| h == "x-amz-date") {
        return Err(SigV4Error::Mismatch);
    }
    let mut headers: Vec<(&str, String)> = Vec::new();
    for name in &auth.signed_headers {
        if auth.presentation == Presentation::Header && name == "x-amz-date" {
            continue; // the signer writes it from the time
        }
        let values: Vec<&str> =
            request.headers.get_all(name.as_str()).iter().filter_map(|v| v.to_str().ok()).collect();
        if values.is_empty() {
            return Err(SigV4Error::Mismatch);
        }
        headers.push((name.as_str(), values.join(",")));
    }
    let uri = match (auth.presentation, request.query) {
        (Presentation::Query, Some(query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|pair| {
                    let name = pair.split_once('=').map_or(*pair, |(k, _)| k);
                    !matches!(
                        name,
                        "X-Amz-Algorithm"
                            | "X-Amz-Credential"
                            | "X-Amz-Date"
                            | "X-Amz-Expires"
                            | "X-Amz-SignedHeaders"
                            | "X-Amz-Signature"
                    )
                })
                .collect();
            if kept.is_empty() {
                request.path.to_owned()
            } else {
                format!("{}?{}", request.path, kept.join("&"))
            }
        }
        (_, Some(query)) => format!("{}?{query}", request.path),
        (_, None) => request.path.to_owned(),
    };
    let body_hash;
    let body = match payload {
        Payload::Body(bytes) => {
            body_hash = hex::encode(Sha256::digest(bytes));
            SignableBody::Precomputed(body_hash)
        }
        Payload::Declared(value) => SignableBody::Precomputed(value.to_owned()),
        Payload::Unsigned => SignableBody::UnsignedPayload,
    };
    let signable = SignableRequest::new(
        request.method,
        uri.as_str(),
        headers.iter().map(|(name, value)| (*name, value.as_str())),
        body,
    )
    .map_err(|_| SigV4Error::Mismatch)?;
    let mut settings = SigningSettings::default();
    settings.excluded_headers = None;
    (settings.percent_encoding_mode, settings.uri_path_normalization_mode) = match style {
        PathStyle::S3 => (PercentEncodingMode::Single, UriPathNormalizationMode::Disabled),
        PathStyle::Normal => (PercentEncodingMode::Double, UriPathNormalizationMode::Enabled),
    };
    if auth.presentation == Presentation::Query {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(auth.expires.unwrap_or_default()));
    }
    let identity = Credentials::new(&auth.access_key_id, secret, None, None, "alcove").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&auth.region)
        .name(&auth.service)
        .time(auth.time)
        .settings(settings)
        .build()
        .map_err(|_| SigV4Error::Mismatch)?
        .into();
    let output = http_request::sign(signable, &params).map_err(|_| SigV4Error::Mismatch)?;
    if constant_time_eq(output.signature(), &auth.signature) {
        Ok(())
    } else {
        Err(SigV4Error::Mismatch)
    }
}

/// Compares secrets in time independent of where they first differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The SigV4 signing key of `secret` for a request's credential scope.
pub fn signing_key(secret: &str, auth: &Authorization) -> [u8; 32] {
    let key = v4::generate_signing_key(secret, auth.time, &auth.region, &auth.service);
    let mut out = [0u8; 32];
    out.copy_from_slice(key.as_ref());
    out
}

/// Verifies the chunk signatures of a `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` body: each
/// chunk's signature chains from the one before, starting at the request's signature.
#[derive(Clone)]
pub struct ChunkSigner {
    signing_key: [u8; 32],
    amz_date: String,
    scope: String,
    previous: String,
}

impl std::fmt::Debug for ChunkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkSigner").field("scope", &self.scope).finish_non_exhaustive()
    }
}

const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

impl ChunkSigner {
    /// For the body of a request whose (verified) signature is `auth.signature`.
    pub fn new(signing_key: [u8; 32], auth: &Authorization) -> ChunkSigner {
        ChunkSigner {
            signing_key,
            amz_date: auth.amz_date.clone(),
            scope: auth.scope(),
            previous: auth.signature.clone(),
        }
    }

    /// Checks the next chunk's signature given the SHA-256 of its data.
    pub fn verify_chunk(&mut self, data_sha256: &[u8], signature: &str) -> bool {
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{}\n{EMPTY_SHA256}\n{}",
            self.amz_date,
            self.scope,
            self.previous,
            hex::encode(data_sha256)
        );
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.signing_key).expect("HMAC takes any key");
        mac.update(string_to_sign.as_bytes());
        let expected = hex::encode(mac.finalize().into_bytes());
        let good = constant_time_eq(&expected, signature);
        self.previous = expected;
        good
    }
}

/// Credentials a client signs with.
#[derive(Debug, Clone, Copy)]
pub struct ClientCredentials<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub session_token: Option<&'a str>,
}

/// Signs a request as an AWS client does (for Alcove's own command line): the headers to
/// add. `url` is absolute and already percent-encoded.
pub fn sign_headers(
    method: &str,
    url: &str,
    body: &[u8],
    credentials: ClientCredentials<'_>,
    region: &str,
    service: &str,
    time: SystemTime,
) -> Result<Vec<(String, String)>, String> {
    let identity = Credentials::new(
        credentials.access_key_id,
        credentials.secret_access_key,
        credentials.session_token.map(str::to_owned),
        None,
        "alcove",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let signable = SignableRequest::new(method, url, std::iter::empty(), SignableBody::Bytes(body))
        .map_err(|e| e.to_string())?;
    let (instructions, _) = http_request::sign(signable, &params).map_err(|e| e.to_string())?.into_parts();
    Ok(instructions.headers().map(|(name, value)| (name.to_owned(), value.to_owned())).collect())
}

#[cfg(test)]
mod tests;
