//! AddPermission, RemovePermission and GetPolicy: a function's resource-based policy.
//!
//! Statements are stored and returned in IAM's format, so scripts and templates that grant
//! API Gateway or another service the right to invoke a function work unchanged. They are
//! not enforced on the Lambda API: the server has one account and no IAM, and every caller
//! that reaches it may invoke. Function URLs with `AuthType NONE` are the exception, as on
//! AWS: they answer only callers a statement admits (`lambda:InvokeFunctionUrl` for `*`,
//! see [`admits_public_url`]).

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{qualified_target, QualifiedTarget};
use crate::error::{ApiError, ApiResult};
use crate::request::{AwsJson, Region};
use crate::wire::QualifierQuery;
use crate::AppState;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddPermissionRequest {
    pub statement_id: Option<String>,
    pub action: Option<String>,
    pub principal: Option<String>,
    pub source_arn: Option<String>,
    pub source_account: Option<String>,
    pub revision_id: Option<String>,
    pub function_url_auth_type: Option<String>,
    pub invoked_via_function_url: Option<bool>,
}

fn required(value: Option<String>, name: &str) -> ApiResult<String> {
    value.ok_or_else(|| ApiError::invalid_parameter(format!("{name} is a required parameter.")))
}

fn check_statement_id(id: &str) -> ApiResult<()> {
    let ok = (1..=100).contains(&id.len())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_parameter(format!(
            "1 validation error detected: Value '{id}' at 'statementId' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)"
        )))
    }
}

/// One statement of the policy, in IAM's format.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Statement {
    sid: String,
    effect: &'static str,
    principal: Principal,
    action: String,
    resource: String,
    #[serde(skip_serializing_if = "Condition::is_empty")]
    condition: Condition,
}

/// Who is granted: `"*"`, an account or role (`{"AWS": arn}`), or a service
/// (`{"Service": "apigateway.amazonaws.com"}`).
#[derive(Debug, Serialize)]
enum Principal {
    #[serde(rename = "*")]
    Anyone,
    #[serde(rename = "AWS")]
    Aws(String),
    Service(String),
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Condition {
    #[serde(skip_serializing_if = "Option::is_none")]
    arn_like: Option<SourceArn>,
    /// `AWS:SourceAccount` and `lambda:FunctionUrlAuthType`, as given.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    string_equals: BTreeMap<&'static str, String>,
    /// `lambda:InvokedViaFunctionUrl`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    bool: BTreeMap<&'static str, String>,
}

impl Condition {
    fn is_empty(&self) -> bool {
        self.arn_like.is_none() && self.string_equals.is_empty() && self.bool.is_empty()
    }
}

/// Whether a policy admits anyone to a function URL of this auth type: a statement that
/// allows `lambda:InvokeFunctionUrl` (or every action) to `*`, with no
/// `lambda:FunctionUrlAuthType` condition or one naming this type. Conditions on the
/// caller's source are not evaluated: a URL caller has none.
pub(crate) fn admits_public_url(statements: &[Value], auth_type: &str) -> bool {
    statements.iter().any(|statement| {
        let allows = statement["Effect"] == "Allow";
        let anyone = statement["Principal"] == "*" || statement["Principal"]["AWS"] == "*";
        let action =
            matches!(statement["Action"].as_str(), Some("lambda:InvokeFunctionUrl" | "lambda:*" | "*"));
        let auth = &statement["Condition"]["StringEquals"]["lambda:FunctionUrlAuthType"];
        allows && anyone && action && (auth.is_null() || auth == auth_type)
    })
}

#[derive(Debug, Serialize)]
struct SourceArn {
    #[serde(rename = "AWS:SourceArn")]
    source_arn: String,
}

/// `AddPermission`'s answer: the statement added, as a JSON string.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddPermissionResponse {
    pub statement: String,
}

/// The policy document `GetPolicy` returns as a string. The statements are stored
/// documents, passed through as they were saved.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyDocument {
    version: &'static str,
    id: &'static str,
    statement: Vec<Value>,
}

/// `GetPolicy`'s answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetPolicyResponse {
    pub policy: String,
    pub revision_id: String,
}

fn principal(raw: &str) -> Principal {
    if raw == "*" {
        Principal::Anyone
    } else if raw.len() == 12 && raw.chars().all(|c| c.is_ascii_digit()) {
        Principal::Aws(format!("arn:aws:iam::{raw}:root"))
    } else if raw.starts_with("arn:") {
        Principal::Aws(raw.to_owned())
    } else {
        Principal::Service(raw.to_owned())
    }
}

pub async fn add(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
    Query(query): Query<QualifierQuery>,
    AwsJson(request): AwsJson<AddPermissionRequest>,
) -> ApiResult<(StatusCode, Json<AddPermissionResponse>)> {
    let statement_id = required(request.statement_id, "StatementId")?;
    check_statement_id(&statement_id)?;
    let action = required(request.action, "Action")?;
    if !(action == "*" || action.starts_with("lambda:")) {
        return Err(ApiError::invalid_parameter(format!(
            "1 validation error detected: Value '{action}' at 'action' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])"
        )));
    }
    let principal_raw = required(request.principal, "Principal")?;
    let function_url_auth_type = request
        .function_url_auth_type
        .map(|raw| alcove_core::AuthType::parse(&raw).map(|t| t.as_str().to_owned()))
        .transpose()
        .map_err(|e| ApiError::validation(e.to_string()))?;
    let QualifiedTarget { config, qualifier, arn: resource } =
        qualified_target(&state, &function, query.qualifier.as_deref(), &region).await?;
    if request.revision_id.as_ref().is_some_and(|expected| *expected != config.revision_id) {
        return Err(alcove_core::Error::revision_mismatch().into());
    }
    let statement = Statement {
        sid: statement_id.clone(),
        effect: "Allow",
        principal: principal(&principal_raw),
        action,
        resource,
        condition: Condition {
            arn_like: request.source_arn.map(|source_arn| SourceArn { source_arn }),
            string_equals: [
                ("AWS:SourceAccount", request.source_account),
                ("lambda:FunctionUrlAuthType", function_url_auth_type),
            ]
            .into_iter()
            .filter_map(|(key, value)| value.map(|v| (key, v)))
            .collect(),
            bool: request
                .invoked_via_function_url
                .map(|via| BTreeMap::from([("lambda:InvokedViaFunctionUrl", via.to_string())]))
                .unwrap_or_default(),
        },
    };
    let statement = serde_json::to_value(statement).map_err(|e| ApiError::internal(e.to_string()))?;
    state.store.add_permission(&config.name, &qualifier, &statement_id, statement.clone()).await?;
    Ok((StatusCode::CREATED, Json(AddPermissionResponse { statement: statement.to_string() })))
}

pub async fn remove(
    State(state): State<AppState>,
    Region(region): Region,
    Path((function, statement_id)): Path<(String, String)>,
    Query(query): Query<QualifierQuery>,
) -> ApiResult<StatusCode> {
    let QualifiedTarget { config, qualifier, .. } =
        qualified_target(&state, &function, query.qualifier.as_deref(), &region).await?;
    if !state.store.remove_permission(&config.name, &qualifier, &statement_id).await? {
        return Err(ApiError::not_found(format!(
            "Statement {statement_id} is not found in resource policy."
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}

pub async fn get(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
    Query(query): Query<QualifierQuery>,
) -> ApiResult<Json<GetPolicyResponse>> {
    let QualifiedTarget { config, qualifier, .. } =
        qualified_target(&state, &function, query.qualifier.as_deref(), &region).await?;
    let statements = state.store.policy(&config.name, &qualifier).await?;
    if statements.is_empty() {
        return Err(ApiError::not_found("The resource you requested does not exist."));
    }
    let policy = PolicyDocument { version: "2012-10-17", id: "default", statement: statements };
    let policy = serde_json::to_string(&policy).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Json(GetPolicyResponse { policy, revision_id: config.revision_id }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn statement(principal_raw: &str, condition: Condition) -> Value {
        serde_json::to_value(Statement {
            sid: "s1".into(),
            effect: "Allow",
            principal: principal(principal_raw),
            action: "lambda:InvokeFunction".into(),
            resource: "arn:f".into(),
            condition,
        })
        .unwrap()
    }

    #[test]
    fn principals_take_iam_shapes() {
        let shape = |raw: &str| statement(raw, Condition::default())["Principal"].clone();
        assert_eq!(shape("*"), json!("*"));
        assert_eq!(shape("123456789012"), json!({"AWS": "arn:aws:iam::123456789012:root"}));
        assert_eq!(shape("arn:aws:iam::1:role/r"), json!({"AWS": "arn:aws:iam::1:role/r"}));
        assert_eq!(shape("apigateway.amazonaws.com"), json!({"Service": "apigateway.amazonaws.com"}));
    }

    #[test]
    fn conditions_appear_only_when_given() {
        let bare = statement("*", Condition::default());
        assert_eq!(
            bare,
            json!({"Sid": "s1", "Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunction",
                   "Resource": "arn:f"})
        );
        let both = statement(
            "*",
            Condition {
                arn_like: Some(SourceArn { source_arn: "arn:src".into() }),
                string_equals: BTreeMap::from([
                    ("AWS:SourceAccount", "123456789012".into()),
                    ("lambda:FunctionUrlAuthType", "NONE".into()),
                ]),
                bool: BTreeMap::new(),
            },
        );
        assert_eq!(
            both["Condition"],
            json!({"ArnLike": {"AWS:SourceArn": "arn:src"},
                   "StringEquals": {"AWS:SourceAccount": "123456789012", "lambda:FunctionUrlAuthType": "NONE"}})
        );
    }

    #[test]
    fn public_urls_need_an_invoke_function_url_grant_to_anyone() {
        let grant = |who: &str, action: &str, auth: Option<&str>| {
            let mut condition = Condition::default();
            if let Some(auth) = auth {
                condition.string_equals.insert("lambda:FunctionUrlAuthType", auth.into());
            }
            serde_json::to_value(Statement {
                sid: "s".into(),
                effect: "Allow",
                principal: principal(who),
                action: action.into(),
                resource: "arn:f".into(),
                condition,
            })
            .unwrap()
        };
        assert!(admits_public_url(&[grant("*", "lambda:InvokeFunctionUrl", Some("NONE"))], "NONE"));
        assert!(admits_public_url(&[grant("*", "lambda:InvokeFunctionUrl", None)], "NONE"));
        assert!(!admits_public_url(&[grant("*", "lambda:InvokeFunctionUrl", Some("AWS_IAM"))], "NONE"));
        assert!(!admits_public_url(&[grant("*", "lambda:InvokeFunction", None)], "NONE"));
        assert!(!admits_public_url(&[grant("123456789012", "lambda:InvokeFunctionUrl", None)], "NONE"));
        assert!(!admits_public_url(&[], "NONE"));
    }
}
