//! STS on the Query protocol: `GetCallerIdentity`, which the AWS CLI, SAM and CDK call to
//! learn the account before they deploy, and `AssumeRole`, by which the CDK takes on its
//! bootstrap stack's deploy and file-publishing roles. Alcove has one account and no IAM:
//! the caller is the account's root, and assuming a role of the account issues session
//! credentials for it without evaluating its trust policy.

mod assume_role;
mod identity;

use axum::response::Response;

use crate::query::{Call, QueryError, QueryService};

/// The actions STS serves here.
const ACTIONS: &[&str] = &["GetCallerIdentity", "AssumeRole"];

/// Whether `action` is an STS action (to route unsigned requests).
pub fn is_action(action: &str) -> bool {
    ACTIONS.contains(&action)
}

pub fn dispatch(call: &Call<'_>, action: &str) -> Response {
    match action {
        "GetCallerIdentity" => {
            let identity = match call.caller {
                Some(caller) => identity::of_caller(caller),
                None => identity::caller_identity(call.headers),
            };
            call.answer(QueryService::Sts, action, Ok::<_, QueryError>(identity))
        }
        "AssumeRole" => {
            let outcome = assume_role::assume_role(call.form).and_then(|mut result| {
                let source = call.caller.map_or("anonymous", |c| c.access_key_id());
                assume_role::seal_credentials(&mut result, call.form, &call.state.auth.sessions, source)?;
                Ok(result)
            });
            call.answer(QueryService::Sts, action, outcome)
        }
        _ => call.answer::<()>(QueryService::Sts, action, Err(QueryError::InvalidAction(action.to_owned()))),
    }
}
