//! AddPermission, RemovePermission and GetPolicy: a function's resource-based policy.
//!
//! Statements are stored and returned in IAM's format, so scripts and templates that grant
//! API Gateway or another service the right to invoke a function work unchanged. They are
//! not enforced: the server has one account and no IAM, and every caller that reaches it
//! may invoke.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

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

fn principal(raw: &str) -> Value {
    if raw == "*" {
        json!("*")
    } else if raw.len() == 12 && raw.chars().all(|c| c.is_ascii_digit()) {
        json!({ "AWS": format!("arn:aws:iam::{raw}:root") })
    } else if raw.starts_with("arn:") {
        json!({ "AWS": raw })
    } else {
        json!({ "Service": raw })
    }
}

pub async fn add(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
    Query(query): Query<QualifierQuery>,
    AwsJson(request): AwsJson<AddPermissionRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
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
    let QualifiedTarget { config, qualifier, arn: resource } =
        qualified_target(&state, &function, query.qualifier.as_deref(), &region).await?;
    if request.revision_id.as_ref().is_some_and(|expected| *expected != config.revision_id) {
        return Err(alcove_core::Error::revision_mismatch().into());
    }
    let mut statement = json!({
        "Sid": statement_id,
        "Effect": "Allow",
        "Principal": principal(&principal_raw),
        "Action": action,
        "Resource": resource,
    });
    if let Some(arn) = request.source_arn {
        statement["Condition"]["ArnLike"] = json!({ "AWS:SourceArn": arn });
    }
    if let Some(account) = request.source_account {
        statement["Condition"]["StringEquals"] = json!({ "AWS:SourceAccount": account });
    }
    state.store.add_permission(&config.name, &qualifier, &statement_id, statement.clone()).await?;
    Ok((StatusCode::CREATED, Json(json!({ "Statement": statement.to_string() }))))
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
) -> ApiResult<Json<Value>> {
    let QualifiedTarget { config, qualifier, .. } =
        qualified_target(&state, &function, query.qualifier.as_deref(), &region).await?;
    let statements = state.store.policy(&config.name, &qualifier).await?;
    if statements.is_empty() {
        return Err(ApiError::not_found("The resource you requested does not exist."));
    }
    let policy = json!({ "Version": "2012-10-17", "Id": "default", "Statement": statements });
    Ok(Json(json!({ "Policy": policy.to_string(), "RevisionId": config.revision_id })))
}
