//! GetCallerIdentity: the caller is the account's root, named as LocalStack names it
//! (`arn:aws:iam::000000000000:root`), and its user id is the access key id the request
//! was signed with.

use axum::http::{header, HeaderMap};
use serde::Serialize;

/// The one account Alcove serves.
pub const ACCOUNT_ID: &str = "000000000000";

/// The user id of an unsigned caller.
const ANONYMOUS_USER_ID: &str = "AKIAIOSFODNN7EXAMPLE";

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallerIdentity {
    user_id: String,
    account: &'static str,
    arn: String,
}

/// The identity of a verified caller (`sigv4` mode): its key's user, or its session.
pub fn of_caller(caller: &crate::auth::Caller) -> CallerIdentity {
    CallerIdentity { user_id: caller.user_id(), account: ACCOUNT_ID, arn: caller.arn() }
}

pub fn caller_identity(headers: &HeaderMap) -> CallerIdentity {
    CallerIdentity {
        user_id: access_key_id(headers).unwrap_or_else(|| ANONYMOUS_USER_ID.to_owned()),
        account: ACCOUNT_ID,
        arn: format!("arn:aws:iam::{ACCOUNT_ID}:root"),
    }
}

/// The access key id of the SigV4 credential (`Credential=<key>/<date>/...`).
fn access_key_id(headers: &HeaderMap) -> Option<String> {
    let authorization = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let credential = authorization.split("Credential=").nth(1)?;
    let key = credential.split('/').next()?.trim();
    (!key.is_empty()).then(|| key.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_is_the_signing_key_of_the_one_account() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0"
                .parse()
                .unwrap(),
        );
        let identity = caller_identity(&headers);
        assert_eq!(identity.user_id, "AKIDEXAMPLE");
        assert_eq!(identity.arn, "arn:aws:iam::000000000000:root");
        assert_eq!(caller_identity(&HeaderMap::new()).user_id, ANONYMOUS_USER_ID);
        let xml = quick_xml::se::to_string_with_root("GetCallerIdentityResult", &identity).unwrap();
        assert_eq!(
            xml,
            "<GetCallerIdentityResult><UserId>AKIDEXAMPLE</UserId><Account>000000000000</Account>\
             <Arn>arn:aws:iam::000000000000:root</Arn></GetCallerIdentityResult>"
        );
    }
}
