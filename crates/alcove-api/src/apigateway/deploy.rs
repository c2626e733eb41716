//! Deployments and stages: CreateDeployment (optionally creating or moving a stage),
//! GetDeployments, GetDeployment, DeleteDeployment, CreateStage, GetStages, GetStage,
//! UpdateStage and DeleteStage. A deployment is a snapshot; only a new deployment makes later changes
//! visible at a stage's URL.

use alcove_core::apigateway::model::check_stage_variables;
use alcove_core::apigateway::{new_id, stage_settings, Stage, StageName};
use alcove_core::{DeploymentRequest, StageRequest, StageUpdate};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;

use super::control::now;
use super::wire::{self, GatewayJson};
use crate::error::{GatewayError, GatewayResult};
use crate::AppState;

/// Length of deployment ids.
const DEPLOYMENT_ID_LEN: usize = 6;

pub async fn create_deployment(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    GatewayJson(body): GatewayJson<wire::CreateDeploymentRequest>,
) -> GatewayResult<(StatusCode, Json<wire::DeploymentDocument>)> {
    if body.canary_settings.is_some() {
        return Err(GatewayError::bad_request("Canary settings are not supported by this server yet."));
    }
    if let Some(variables) = &body.variables {
        check_stage_variables(variables)?;
    }
    let stage = match body.stage_name {
        Some(name) => Some(StageRequest {
            name: StageName::parse(&name)?,
            description: body.stage_description,
            variables: body.variables,
        }),
        None if body.variables.is_some() => {
            return Err(GatewayError::bad_request("Stage variables need a stageName to apply to"))
        }
        None => None,
    };
    let request = DeploymentRequest {
        id: new_id(DEPLOYMENT_ID_LEN),
        description: body.description,
        created_date: now(),
        stage,
    };
    let deployment = state.store.create_deployment(&api_id, request).await?;
    Ok((StatusCode::CREATED, Json(wire::deployment(&deployment))))
}

pub async fn get_deployments(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
) -> GatewayResult<Json<wire::Page<wire::DeploymentDocument>>> {
    let deployments = state.store.list_deployments(&api_id).await?;
    Ok(Json(wire::page(deployments.iter().map(wire::deployment).collect(), None)))
}

pub async fn get_deployment(
    State(state): State<AppState>,
    Path((api_id, id)): Path<(String, String)>,
) -> GatewayResult<Json<wire::DeploymentDocument>> {
    Ok(Json(wire::deployment(&state.store.get_deployment(&api_id, &id).await?)))
}

pub async fn delete_deployment(
    State(state): State<AppState>,
    Path((api_id, id)): Path<(String, String)>,
) -> GatewayResult<StatusCode> {
    state.store.delete_deployment(&api_id, &id).await?;
    Ok(StatusCode::ACCEPTED)
}

pub async fn create_stage(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    GatewayJson(body): GatewayJson<wire::CreateStageRequest>,
) -> GatewayResult<(StatusCode, Json<wire::StageDocument>)> {
    let name = StageName::parse(body.stage_name.as_deref().unwrap_or_default())?;
    let deployment_id =
        body.deployment_id.ok_or_else(|| GatewayError::bad_request("deploymentId is required"))?;
    let variables = body.variables.unwrap_or_default();
    check_stage_variables(&variables)?;
    let created = now();
    let stage = Stage {
        name,
        deployment_id,
        description: body.description,
        variables,
        tags: body.tags.unwrap_or_default(),
        method_settings: Default::default(),
        created_date: created,
        last_updated_date: created,
    };
    let stage = state.store.create_stage(&api_id, stage).await?;
    Ok((StatusCode::CREATED, Json(wire::stage(&stage))))
}

pub async fn get_stages(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    Query(query): Query<wire::PageQuery>,
) -> GatewayResult<Json<wire::Page<wire::StageDocument>>> {
    let stages = state.store.list_stages(&api_id, query.deployment_id).await?;
    Ok(Json(wire::page(stages.iter().map(wire::stage).collect(), None)))
}

pub async fn get_stage(
    State(state): State<AppState>,
    Path((api_id, name)): Path<(String, String)>,
) -> GatewayResult<Json<wire::StageDocument>> {
    Ok(Json(wire::stage(&state.store.get_stage(&api_id, &name).await?)))
}

/// UpdateStage: the patch operations apply in order, all or none.
pub async fn update_stage(
    State(state): State<AppState>,
    Path((api_id, name)): Path<(String, String)>,
    GatewayJson(body): GatewayJson<wire::UpdateStageRequest>,
) -> GatewayResult<Json<wire::StageDocument>> {
    let operations = body.patch_operations.unwrap_or_default();
    let change: StageUpdate =
        Box::new(move |stage| operations.iter().try_for_each(|op| stage_settings::apply(stage, op)));
    Ok(Json(wire::stage(&state.store.update_stage(&api_id, &name, change).await?)))
}

pub async fn delete_stage(
    State(state): State<AppState>,
    Path((api_id, name)): Path<(String, String)>,
) -> GatewayResult<StatusCode> {
    state.store.delete_stage(&api_id, &name).await?;
    Ok(StatusCode::ACCEPTED)
}
