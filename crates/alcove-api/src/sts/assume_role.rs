//! AssumeRole. Alcove keeps no IAM: a role of the account is a name, recorded by the
//! stacks that declare it and never enforced, so assuming one checks the request as STS
//! does (the ARN, the session name, the duration) and issues session credentials
//! (`ASIA…` key, secret, session token, expiry) for
//! `arn:aws:sts::{account}:assumed-role/{role}/{session}`. A role of another account is
//! refused, as an account without a trust relationship to it is. Requests signed with the
//! credentials are accepted as any other (Alcove does not authenticate callers).

use chrono::{SecondsFormat, Utc};
use md5::{Digest, Md5};
use serde::Serialize;

use super::identity::ACCOUNT_ID;
use crate::query::{Form, QueryError};

/// STS's bounds on a session's length, in seconds, and its default.
const DURATION_RANGE: std::ops::RangeInclusive<i64> = 900..=43_200;
const DEFAULT_DURATION: i64 = 3_600;

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssumeRoleResult {
    pub(super) credentials: Credentials,
    assumed_role_user: AssumedRoleUser,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Credentials {
    pub(super) access_key_id: String,
    pub(super) secret_access_key: String,
    pub(super) session_token: String,
    pub(super) expiration: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct AssumedRoleUser {
    assumed_role_id: String,
    arn: String,
}

fn constraint(value: &str, member: &str, constraint: &str) -> QueryError {
    QueryError::Validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
    ))
}

/// The role's account and name (with its path) from `arn:aws:iam::{account}:role/{path}{name}`.
fn role_of(arn: &str) -> Result<(&str, &str), QueryError> {
    if !(20..=2048).contains(&arn.len()) {
        return Err(constraint(arn, "roleArn", "Member must have length greater than or equal to 20"));
    }
    let invalid = || QueryError::Validation(format!("{arn} is invalid"));
    let rest = arn.strip_prefix("arn:").ok_or_else(invalid)?;
    let mut fields = rest.splitn(5, ':');
    let (_partition, service, _region, account, resource) = (
        fields.next().ok_or_else(invalid)?,
        fields.next().ok_or_else(invalid)?,
        fields.next().ok_or_else(invalid)?,
        fields.next().ok_or_else(invalid)?,
        fields.next().ok_or_else(invalid)?,
    );
    let name = resource.strip_prefix("role/").filter(|n| !n.is_empty()).ok_or_else(invalid)?;
    if service != "iam" || account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    Ok((account, name))
}

fn session_name(form: &Form) -> Result<&str, QueryError> {
    let name = form.required("RoleSessionName")?;
    if !(2..=64).contains(&name.len()) {
        let bound = if name.len() < 2 { "greater than or equal to 2" } else { "less than or equal to 64" };
        return Err(constraint(name, "roleSessionName", &format!("Member must have length {bound}")));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)) {
        return Err(constraint(
            name,
            "roleSessionName",
            "Member must satisfy regular expression pattern: [\\w+=,.@-]*",
        ));
    }
    Ok(name)
}

fn duration(form: &Form) -> Result<i64, QueryError> {
    let Some(text) = form.get("DurationSeconds") else {
        return Ok(DEFAULT_DURATION);
    };
    let seconds =
        text.parse::<i64>().map_err(|_| constraint(text, "durationSeconds", "Member must be a number"))?;
    if seconds < *DURATION_RANGE.start() {
        return Err(constraint(
            text,
            "durationSeconds",
            "Member must have value greater than or equal to 900",
        ));
    }
    if seconds > *DURATION_RANGE.end() {
        return Err(constraint(
            text,
            "durationSeconds",
            "Member must have value less than or equal to 43200",
        ));
    }
    Ok(seconds)
}

/// Upper-case letters and digits, `len` of them, from fresh randomness.
fn random_id(len: usize) -> String {
    let mut out = String::new();
    while out.len() < len {
        out.push_str(&uuid::Uuid::new_v4().simple().to_string().to_ascii_uppercase());
    }
    out.truncate(len);
    out
}

/// A secret or token: base64 of fresh randomness, `bytes` of it.
fn random_secret(bytes: usize) -> String {
    use base64::Engine;
    let mut raw = Vec::with_capacity(bytes + 16);
    while raw.len() < bytes {
        raw.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    raw.truncate(bytes);
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// The role's unique id: stable for one role, as IAM's is (`AROA` and 17 characters).
fn role_id(arn: &str) -> String {
    let digest = hex::encode_upper(Md5::digest(arn.as_bytes()));
    format!("AROA{}", &digest[..17])
}

/// Replaces the result's credentials by session credentials `issuer` seals for the role
/// (what `sigv4` mode verifies and authorizes by the role's policy).
pub fn seal_credentials(
    result: &mut AssumeRoleResult,
    form: &Form,
    issuer: &alcove_auth::SessionIssuer,
    source_access_key_id: &str,
) -> Result<(), QueryError> {
    let principal = alcove_auth::SessionPrincipal::AssumedRole {
        role_arn: form.required("RoleArn")?.to_owned(),
        session_name: session_name(form)?.to_owned(),
        source_access_key_id: source_access_key_id.to_owned(),
    };
    let lifetime = std::time::Duration::from_secs(duration(form)? as u64);
    let issued = issuer.issue(principal, std::time::SystemTime::now(), lifetime).map_err(|e| {
        tracing::error!(error = %e, "issuing session credentials");
        QueryError::Internal
    })?;
    let expiration: chrono::DateTime<Utc> = issued.expiration.into();
    result.credentials = Credentials {
        access_key_id: issued.access_key_id,
        secret_access_key: issued.secret_access_key,
        session_token: issued.session_token,
        expiration: expiration.to_rfc3339_opts(SecondsFormat::Secs, true),
    };
    Ok(())
}

pub fn assume_role(form: &Form) -> Result<AssumeRoleResult, QueryError> {
    let arn = form.required("RoleArn")?;
    let (account, role) = role_of(arn)?;
    let session = session_name(form)?;
    let seconds = duration(form)?;
    if account != ACCOUNT_ID {
        return Err(QueryError::AccessDenied(format!(
            "User: arn:aws:iam::{ACCOUNT_ID}:root is not authorized to perform: sts:AssumeRole on resource: {arn}"
        )));
    }
    // The assumed-role ARN names the role without its path.
    let role_name = role.rsplit('/').next().unwrap_or(role);
    let expiration = Utc::now() + chrono::Duration::seconds(seconds);
    Ok(AssumeRoleResult {
        credentials: Credentials {
            access_key_id: format!("ASIA{}", random_id(16)),
            secret_access_key: random_secret(30),
            session_token: random_secret(192),
            expiration: expiration.to_rfc3339_opts(SecondsFormat::Secs, true),
        },
        assumed_role_user: AssumedRoleUser {
            assumed_role_id: format!("{}:{session}", role_id(arn)),
            arn: format!("arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role_name}/{session}"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(members: &str) -> Form {
        Form::parse(members.as_bytes())
    }

    const ROLE: &str = "RoleArn=arn%3Aaws%3Aiam%3A%3A000000000000%3Arole%2Fcdk%2Fdeploy-role";

    #[test]
    fn a_role_of_the_account_gives_session_credentials_for_it() {
        let result = assume_role(&form(&format!("{ROLE}&RoleSessionName=aws-cdk-root"))).unwrap();
        let credentials = &result.credentials;
        assert!(credentials.access_key_id.starts_with("ASIA") && credentials.access_key_id.len() == 20);
        assert_eq!(credentials.secret_access_key.len(), 40);
        assert!(credentials.session_token.len() > 200);
        let expires = chrono::DateTime::parse_from_rfc3339(&credentials.expiration).unwrap();
        let left = expires.with_timezone(&Utc) - Utc::now();
        assert!((3590..=3600).contains(&left.num_seconds()), "{left}");
        let user = &result.assumed_role_user;
        assert_eq!(user.arn, "arn:aws:sts::000000000000:assumed-role/deploy-role/aws-cdk-root");
        assert!(user.assumed_role_id.starts_with("AROA") && user.assumed_role_id.ends_with(":aws-cdk-root"));
        // Each call issues new credentials for the same role id.
        let again = assume_role(&form(&format!("{ROLE}&RoleSessionName=aws-cdk-root"))).unwrap();
        assert_ne!(again.credentials.access_key_id, credentials.access_key_id);
        assert_eq!(again.assumed_role_user.assumed_role_id, user.assumed_role_id);
    }

    #[test]
    fn malformed_requests_and_foreign_roles_are_refused_as_sts_refuses_them() {
        let refused = |members: &str| match assume_role(&form(members)) {
            Err(error) => (error.wire().code, error.to_string()),
            Ok(_) => panic!("{members} was accepted"),
        };
        let (code, message) = refused("RoleSessionName=s1");
        assert_eq!(code, "ValidationError");
        assert!(message.contains("Value null at 'roleArn'"), "{message}");
        let (code, message) = refused(&format!("{ROLE}&RoleSessionName=a"));
        assert_eq!(code, "ValidationError");
        assert!(message.contains("at 'roleSessionName'"), "{message}");
        let (_, message) = refused(&format!("{ROLE}&RoleSessionName=has%20space"));
        assert!(message.contains("regular expression"), "{message}");
        let (_, message) = refused(&format!("{ROLE}&RoleSessionName=s1&DurationSeconds=60"));
        assert!(message.contains("greater than or equal to 900"), "{message}");
        let (_, message) = refused("RoleArn=arn%3Aaws%3As3%3A%3A%3Asome-bucket-name&RoleSessionName=s1");
        assert_eq!(message, "arn:aws:s3:::some-bucket-name is invalid");
        let (code, message) =
            refused("RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fr&RoleSessionName=s1");
        assert_eq!(code, "AccessDenied");
        assert!(message.ends_with("on resource: arn:aws:iam::111122223333:role/r"), "{message}");
    }
}
