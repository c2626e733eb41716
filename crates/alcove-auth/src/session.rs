//! Temporary session credentials (`ASIA…` key id, secret, session token, expiry), as STS
//! issues them and as every execution environment receives them for its function's role.
//!
//! The session token is the credentials' claims sealed under a key derived from the
//! server key: it carries the access key id, the secret, the expiry and who the session
//! is. Nothing is stored, so verifying a signature made with session credentials opens
//! the token, checks that its key id is the one the request was signed with, and checks
//! the signature with the secret inside. A token cannot be forged or altered without the
//! server key, and a secret cannot be learnt from a token without it either.
//!
//! Whether a session is still good is more than its expiry: an environment's credentials
//! must not outlive the environment. The claims name the environment; the edge asks the
//! environment manager whether it is alive.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::seal::Sealer;
use crate::server_key::{random_bytes, ServerKey};

const PURPOSE: &str = "alcove session credentials v1";
const ASSOCIATED: &[u8] = b"alcove-session-token";

/// Who a session is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum SessionPrincipal {
    /// A caller assumed a role with STS `AssumeRole`.
    AssumedRole {
        role_arn: String,
        session_name: String,
        /// The access key id of the caller that assumed the role.
        source_access_key_id: String,
    },
    /// An execution environment, running its function's role on behalf of one tenant.
    Environment {
        role_arn: String,
        /// The qualified ARN of the function version the environment runs.
        function_arn: String,
        /// The tenant the environment is bound to (`PER_TENANT` functions only).
        tenant_id: Option<String>,
        /// The environment's id: the credentials are good only while it lives.
        environment_id: String,
    },
}

impl SessionPrincipal {
    pub fn role_arn(&self) -> &str {
        match self {
            SessionPrincipal::AssumedRole { role_arn, .. }
            | SessionPrincipal::Environment { role_arn, .. } => role_arn,
        }
    }
}

/// What a session token carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Seconds since the Unix epoch after which the credentials are refused.
    pub expires_at: u64,
    pub principal: SessionPrincipal,
}

impl SessionClaims {
    pub fn expiration(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.expires_at)
    }
}

/// Credentials as a client receives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemporaryCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expiration: SystemTime,
}

/// Why a session token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// Not a token this server issued (altered, forged, or issued under another server key).
    #[error("The security token included in the request is invalid")]
    Invalid,
    #[error("The security token included in the request is expired")]
    Expired,
}

/// Issues and opens session tokens under one server key.
#[derive(Debug, Clone)]
pub struct SessionIssuer {
    sealer: Sealer,
}

impl SessionIssuer {
    pub fn new(server_key: &ServerKey) -> SessionIssuer {
        SessionIssuer { sealer: Sealer::new(&server_key.derive(PURPOSE)) }
    }

    /// Fresh credentials for `principal`, good for `lifetime` from `now`.
    pub fn issue(
        &self,
        principal: SessionPrincipal,
        now: SystemTime,
        lifetime: Duration,
    ) -> std::io::Result<TemporaryCredentials> {
        let expires_at =
            (now + lifetime).duration_since(UNIX_EPOCH).map_err(std::io::Error::other)?.as_secs();
        let claims = SessionClaims {
            access_key_id: new_access_key_id("ASIA")?,
            secret_access_key: new_secret_access_key()?,
            expires_at,
            principal,
        };
        let plaintext = serde_json::to_vec(&claims).map_err(std::io::Error::other)?;
        let sealed = self.sealer.seal(&plaintext, ASSOCIATED)?;
        Ok(TemporaryCredentials {
            session_token: base64::engine::general_purpose::STANDARD.encode(sealed),
            expiration: claims.expiration(),
            access_key_id: claims.access_key_id,
            secret_access_key: claims.secret_access_key,
        })
    }

    /// The claims of a token this server issued and that has not expired at `now`.
    pub fn open(&self, session_token: &str, now: SystemTime) -> Result<SessionClaims, SessionError> {
        let sealed = base64::engine::general_purpose::STANDARD
            .decode(session_token.trim())
            .map_err(|_| SessionError::Invalid)?;
        let plaintext = self.sealer.open(&sealed, ASSOCIATED).map_err(|_| SessionError::Invalid)?;
        let claims: SessionClaims = serde_json::from_slice(&plaintext).map_err(|_| SessionError::Invalid)?;
        if now >= claims.expiration() {
            return Err(SessionError::Expired);
        }
        Ok(claims)
    }
}

const KEY_ID_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// `prefix` and 16 characters of base32, the shape of AWS access key ids (`AKIA…` for
/// long-term keys, `ASIA…` for session credentials).
pub fn new_access_key_id(prefix: &str) -> std::io::Result<String> {
    let bytes: [u8; 16] = random_bytes()?;
    let tail: String = bytes.iter().map(|b| KEY_ID_ALPHABET[usize::from(b % 32)] as char).collect();
    Ok(format!("{prefix}{tail}"))
}

/// 40 characters of base64 (30 random bytes), the shape of AWS secret access keys.
pub fn new_secret_access_key() -> std::io::Result<String> {
    let bytes: [u8; 30] = random_bytes()?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server_key::KEY_LEN;

    fn environment() -> SessionPrincipal {
        SessionPrincipal::Environment {
            role_arn: "arn:aws:iam::000000000000:role/router".into(),
            function_arn: "arn:aws:lambda:us-east-1:000000000000:function:router:$LATEST".into(),
            tenant_id: Some("BlueTenant".into()),
            environment_id: "env-1".into(),
        }
    }

    #[test]
    fn issued_credentials_open_to_their_claims_until_they_expire() {
        let issuer = SessionIssuer::new(&ServerKey::from_bytes([3; KEY_LEN]));
        let now = SystemTime::now();
        let creds = issuer.issue(environment(), now, Duration::from_secs(900)).unwrap();
        assert!(creds.access_key_id.starts_with("ASIA") && creds.access_key_id.len() == 20);
        assert_eq!(creds.secret_access_key.len(), 40);
        let claims = issuer.open(&creds.session_token, now).unwrap();
        assert_eq!(claims.access_key_id, creds.access_key_id);
        assert_eq!(claims.secret_access_key, creds.secret_access_key);
        assert_eq!(claims.principal, environment());
        assert_eq!(
            issuer.open(&creds.session_token, now + Duration::from_secs(900)),
            Err(SessionError::Expired)
        );
    }

    #[test]
    fn a_token_of_another_server_or_altered_is_invalid() {
        let issuer = SessionIssuer::new(&ServerKey::from_bytes([3; KEY_LEN]));
        let other = SessionIssuer::new(&ServerKey::from_bytes([4; KEY_LEN]));
        let now = SystemTime::now();
        let creds = issuer.issue(environment(), now, Duration::from_secs(900)).unwrap();
        assert_eq!(other.open(&creds.session_token, now), Err(SessionError::Invalid));
        let mut altered = creds.session_token.into_bytes();
        altered[30] = if altered[30] == b'A' { b'B' } else { b'A' };
        assert_eq!(issuer.open(&String::from_utf8(altered).unwrap(), now), Err(SessionError::Invalid));
        assert_eq!(issuer.open("not base64 !", now), Err(SessionError::Invalid));
    }
}
