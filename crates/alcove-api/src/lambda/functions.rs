//! CreateFunction, GetFunction, GetFunctionConfiguration, ListFunctions, DeleteFunction,
//! UpdateFunctionCode and UpdateFunctionConfiguration.

use alcove_core::{
    CodeRef, FunctionConfig, FunctionName, FunctionRef, LatestUpdate, Lifecycle, Qualifier, SettingsPatch,
    TenantIsolationMode, Version,
};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use serde_json::Value;

use super::transitions::settle_soon;
use super::{function_not_found, function_ref, page_size, resolve, unqualified, with_function_not_found};
use crate::error::{ApiError, ApiResult};
use crate::request::{parse_json, AwsJson, Region};
use crate::wire::{
    function_configuration, CodeInput, ConcurrencyDocument, CreateFunctionRequest, FunctionCodeLocation,
    FunctionConfiguration, GetFunctionResponse, ListFunctionsResponse, ListQuery, QualifierQuery,
    UpdateFunctionCodeRequest, UpdateFunctionConfigurationRequest,
};
use crate::AppState;

pub async fn create(
    State(state): State<AppState>,
    Region(region): Region,
    AwsJson(request): AwsJson<CreateFunctionRequest>,
) -> ApiResult<Response> {
    let raw_name = request
        .function_name
        .ok_or_else(|| ApiError::invalid_parameter("FunctionName is a required parameter."))?;
    let name = creation_name(&raw_name, &region)?;
    if let Some(kind) = request.package_type.as_deref().filter(|k| *k != "Zip") {
        return Err(ApiError::invalid_parameter(format!(
            "PackageType {kind} is not supported by this server; use Zip."
        )));
    }
    let code_signing = request.code_signing_config_arn.filter(|arn| !arn.is_empty());
    if let Some(arn) = &code_signing {
        let id = super::code_signing::id_of(arn)?;
        if state.store.code_signing_config(id).await?.is_none() {
            return Err(super::code_signing::config_missing(arn));
        }
    }
    if request.publish_to.is_some() {
        return Err(ApiError::invalid_parameter(
            "PublishTo is not supported by this server: it applies to Lambda Managed Instances only.",
        ));
    }
    let settings = request.settings.into_patch(request.architectures)?.create()?;
    let tenancy = request
        .tenancy_config
        .map(|t| {
            let mode = t.tenant_isolation_mode.ok_or_else(|| {
                ApiError::invalid_parameter("TenancyConfig.TenantIsolationMode is a required parameter.")
            })?;
            Ok::<_, ApiError>(TenantIsolationMode::parse(&mode)?)
        })
        .transpose()?;
    settings.check_tenancy(tenancy)?;
    let tags = request.tags.unwrap_or_default();
    alcove_core::validate_tags(&alcove_core::Tags::new(), &tags)?;
    if state.store.get_function(&name, Version::Latest).await?.is_some() {
        return Err(already_exists(&name));
    }
    let zip = zip_from_code(&state, request.code.unwrap_or_default()).await?;
    let code = store_code(&state, zip).await?;
    let config = FunctionConfig {
        name: name.clone(),
        version: Version::Latest,
        settings,
        tenancy,
        code,
        last_modified: chrono::Utc::now(),
        revision_id: FunctionConfig::new_revision_id(),
        tags,
        lifecycle: Lifecycle::creating(),
    };
    let publish = request.publish.unwrap_or(false);
    let created = state.store.create_function(config, publish).await.map_err(|e| match e {
        alcove_core::Error::Conflict(_) => already_exists(&name),
        other => other.into(),
    })?;
    if let Some(arn) = &code_signing {
        // Checked above; a configuration deleted in between undoes the creation.
        if let Err(error) = super::code_signing::link(&state, &name, arn, &region).await {
            state.store.delete_function(&name).await?;
            return Err(error);
        }
    }
    if publish {
        // `$LATEST` was created in the same write as version 1: both settle.
        if let Some(latest) = state.store.get_function(&name, Version::Latest).await? {
            settle_soon(&state, &latest).await;
        }
    }
    settle_soon(&state, &created).await;
    tracing::info!(function = %name, tenancy = ?created.tenancy, "function created");
    // Lambda names the function unqualified here, even when version 1 was published.
    let document = function_configuration(&created, &region).with_arn(name.arn(&region));
    Ok((StatusCode::CREATED, Json(document)).into_response())
}

/// `FunctionName` of CreateFunction: a name, a partial or a full ARN of this account and
/// region, without a qualifier.
fn creation_name(raw: &str, region: &str) -> ApiResult<FunctionName> {
    let reference = function_ref(raw, None, region)?;
    match reference.qualifier {
        None => Ok(reference.name),
        // Inferred: the model's pattern admits a qualifier, but a version or alias cannot
        // be created by CreateFunction.
        Some(q) => Err(ApiError::invalid_parameter(format!(
            "FunctionName of CreateFunction cannot carry a qualifier (:{q}): create the function, \
             then publish versions and create aliases."
        ))),
    }
}

/// AWS names the function, not its ARN, in this message.
fn already_exists(name: &FunctionName) -> ApiError {
    alcove_core::Error::Conflict(format!("Function already exist: {name}")).into()
}

/// The deployment package: inline (`ZipFile`) or an object of the S3 subset (`S3Bucket`,
/// `S3Key`), read as Lambda reads it, once, when the function is created or updated.
async fn zip_from_code(state: &AppState, code: CodeInput) -> ApiResult<Vec<u8>> {
    if code.image_uri.is_some() {
        return Err(ApiError::invalid_parameter(
            "Code from a container image is not supported by this server; send the package as ZipFile \
             or from S3.",
        ));
    }
    let from_s3 = code.s3_bucket.is_some() || code.s3_key.is_some() || code.s3_object_version.is_some();
    match (code.zip_file, from_s3) {
        // Inferred: Lambda takes one source of code.
        (Some(_), true) => Err(ApiError::invalid_parameter(
            "Please provide either ZipFile or S3Bucket and S3Key as the source of function code, not both.",
        )),
        (Some(encoded), false) => decode_zip(&encoded),
        (None, true) => zip_from_s3(state, code.s3_bucket, code.s3_key, code.s3_object_version).await,
        (None, false) => Err(ApiError::invalid_parameter("Please provide a source for function code.")),
    }
}

async fn zip_from_s3(
    state: &AppState,
    bucket: Option<String>,
    key: Option<String>,
    version: Option<String>,
) -> ApiResult<Vec<u8>> {
    let (Some(bucket), Some(key)) = (bucket, key) else {
        return Err(ApiError::invalid_parameter(
            "Please provide both S3Bucket and S3Key to take function code from S3.",
        ));
    };
    if let Some(version) = version {
        return Err(ApiError::invalid_parameter(format!(
            "S3ObjectVersion {version} cannot be found: this server keeps no object versions; omit \
             S3ObjectVersion to use the object's current content."
        )));
    }
    let objects = state.objects.clone();
    let read = tokio::task::spawn_blocking(move || objects.read_object(&bucket, &key))
        .await
        .map_err(|e| ApiError::service(format!("code read task failed: {e}")))?;
    read.map_err(|error| match error {
        alcove_s3::S3Error::NoSuchBucket { .. }
        | alcove_s3::S3Error::NoSuchKey { .. }
        | alcove_s3::S3Error::InvalidArgument(_)
        | alcove_s3::S3Error::KeyTooLongError => {
            let message = match &error {
                alcove_s3::S3Error::NoSuchBucket { .. } => "The specified bucket does not exist".to_owned(),
                other => other.to_string(),
            };
            ApiError::invalid_parameter(format!(
                "Error occurred while GetObject. S3 Error Code: {}. S3 Error Message: {message}",
                error.code()
            ))
        }
        other => ApiError::service(format!("reading the code package from S3: {other}")),
    })
}

fn decode_zip(encoded: &str) -> ApiResult<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|_| {
        ApiError::invalid_parameter(
            "Could not unzip uploaded file. Please check your file, then try to upload again.",
        )
    })
}

/// Unpacking is file-system work; it runs off the async threads.
async fn store_code(state: &AppState, zip: Vec<u8>) -> ApiResult<CodeRef> {
    let code_store = state.code.clone();
    tokio::task::spawn_blocking(move || code_store.put(&zip))
        .await
        .map_err(|e| ApiError::service(format!("code storage task failed: {e}")))?
        .map_err(ApiError::from)
}

pub async fn get(
    State(state): State<AppState>,
    Region(region): Region,
    headers: HeaderMap,
    Path(function): Path<String>,
    Query(query): Query<QualifierQuery>,
) -> ApiResult<Json<GetFunctionResponse>> {
    let reference = function_ref(&function, query.qualifier.as_deref(), &region)?;
    let config = resolve(&state, &reference, &region).await?;
    let configuration = function_configuration(&config, &region).with_arn(requested_arn(&reference, &region));
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1:9000");
    let concurrency = state.store.get_concurrency(&config.name).await?;
    Ok(Json(GetFunctionResponse {
        configuration,
        code: FunctionCodeLocation {
            repository_type: "S3",
            location: format!("http://{host}/alcove/v1/code/{}.zip", config.code.sha256_hex),
        },
        concurrency: concurrency
            .map(|reserved| ConcurrencyDocument { reserved_concurrent_executions: Some(reserved) }),
        tags: (!config.tags.is_empty()).then(|| config.tags.clone()),
    }))
}

pub async fn get_configuration(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
    Query(query): Query<QualifierQuery>,
) -> ApiResult<Json<FunctionConfiguration>> {
    let reference = function_ref(&function, query.qualifier.as_deref(), &region)?;
    let config = resolve(&state, &reference, &region).await?;
    Ok(Json(function_configuration(&config, &region).with_arn(requested_arn(&reference, &region))))
}

/// `FunctionArn` as GetFunction and GetFunctionConfiguration answer it: qualified exactly
/// when the request named a qualifier (`$LATEST`, a version or an alias, as written).
fn requested_arn(reference: &FunctionRef, region: &str) -> String {
    match &reference.qualifier {
        Some(q) => format!("{}:{q}", reference.name.arn(region)),
        None => reference.name.arn(region),
    }
}

pub async fn list(
    State(state): State<AppState>,
    Region(region): Region,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<ListFunctionsResponse>> {
    let limit = page_size(query.max_items.as_deref())?;
    let all_versions = match query.function_version.as_deref() {
        None => false,
        Some("ALL") => true,
        Some(other) => {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{other}' at 'functionVersion' failed to satisfy \
                 constraint: Member must satisfy enum value set: [ALL]"
            )))
        }
    };
    let page = state.store.list_functions(all_versions, query.marker, limit).await?;
    Ok(Json(ListFunctionsResponse {
        functions: page
            .items
            .iter()
            .map(|c| {
                // With `FunctionVersion=ALL`, `$LATEST` is listed qualified too.
                let arn = if all_versions { c.qualified_arn(&region) } else { c.arn(&region) };
                function_configuration(c, &region).with_arn(arn).list_entry()
            })
            .collect(),
        next_marker: page.next_marker,
    }))
}

pub async fn delete(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
    Query(query): Query<QualifierQuery>,
) -> ApiResult<StatusCode> {
    let reference = function_ref(&function, query.qualifier.as_deref(), &region)?;
    let outcome = match &reference.qualifier {
        None => state.store.delete_function(&reference.name).await,
        Some(Qualifier::Version(n)) => state.store.delete_version(&reference.name, *n).await,
        Some(Qualifier::Latest) => {
            return Err(ApiError::invalid_parameter(
                "$LATEST version cannot be deleted without deleting the function.",
            ))
        }
        Some(Qualifier::Alias(_)) => {
            return Err(ApiError::invalid_parameter(
                "DeleteFunction takes a version number as Qualifier; delete aliases with DeleteAlias.",
            ))
        }
        Some(Qualifier::Unknown(_)) => Err(alcove_core::Error::NotFound(String::new())),
    };
    outcome.map_err(|e| match e {
        alcove_core::Error::NotFound(_) => {
            function_not_found(&reference.name, &region, reference.qualifier.as_ref())
        }
        other => other.into(),
    })?;
    let version = match reference.qualifier {
        Some(Qualifier::Version(n)) => Some(alcove_core::Version::Published(n)),
        _ => None,
    };
    state.envs.retire(&reference.name, version);
    if version.is_none() {
        // A function created again under this name starts without limits.
        state.envs.admission().set_reserved(&reference.name, None);
        state.envs.admission().set_tenant_limits(&reference.name, alcove_core::TenantLimits::default());
    }
    tracing::info!(function = %reference.name, qualifier = ?reference.qualifier, "deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Body members that exist only at creation and must never be changed afterwards.
const CREATION_ONLY: &[&str] = &["TenancyConfig", "FunctionName", "PackageType", "Code"];

pub async fn update_configuration(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
    AwsJson(body): AwsJson<Value>,
) -> ApiResult<Json<FunctionConfiguration>> {
    let name = unqualified(&function, &region)?;
    if let Some(key) = CREATION_ONLY.iter().find(|k| body.get(**k).is_some()) {
        let message = if *key == "TenancyConfig" {
            "TenancyConfig cannot be changed after a function is created: the tenant isolation \
             mode is set by CreateFunction only and is not a parameter of \
             UpdateFunctionConfiguration."
                .to_owned()
        } else {
            format!("{key} is not a parameter of UpdateFunctionConfiguration.")
        };
        return Err(ApiError::invalid_parameter(message));
    }
    let request: UpdateFunctionConfigurationRequest = parse_json(body.to_string().as_bytes())?;
    let patch = request.settings.into_patch(None)?;
    let update = latest_update(request.revision_id, name.arn(&region), move |current| {
        let settings = patch.apply(&current.settings)?;
        settings.check_tenancy(current.tenancy)?;
        Ok((settings, current.code.clone()))
    });
    let updated = state
        .store
        .update_latest(&name, update, false)
        .await
        .map_err(|e| with_function_not_found(e, &name, &region))?;
    settle_soon(&state, &updated).await;
    state.envs.retire(&name, Some(Version::Latest));
    tracing::info!(function = %name, "configuration updated");
    Ok(Json(function_configuration(&updated, &region)))
}

pub async fn update_code(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
    AwsJson(request): AwsJson<UpdateFunctionCodeRequest>,
) -> ApiResult<Json<FunctionConfiguration>> {
    let name = unqualified(&function, &region)?;
    let current = state
        .store
        .get_function(&name, Version::Latest)
        .await?
        .ok_or_else(|| function_not_found(&name, &region, None))?;
    let zip = zip_from_code(
        &state,
        CodeInput {
            zip_file: request.zip_file,
            s3_bucket: request.s3_bucket,
            s3_key: request.s3_key,
            s3_object_version: request.s3_object_version,
            image_uri: request.image_uri,
        },
    )
    .await?;
    let patch = SettingsPatch { architectures: request.architectures, ..Default::default() };
    // Validate before storing anything, so a dry run or a bad request leaves no trace.
    patch.clone().apply(&current.settings)?;
    if request.dry_run.unwrap_or(false) {
        let mut preview = current;
        preview.settings = patch.apply(&preview.settings)?;
        return Ok(Json(function_configuration(&preview, &region)));
    }
    current.lifecycle.start_update().map_err(|busy| ApiError::from(busy.into_error(&name.arn(&region))))?;
    let code = store_code(&state, zip).await?;
    let update = latest_update(request.revision_id, name.arn(&region), move |current| {
        Ok((patch.apply(&current.settings)?, code))
    });
    let publish = request.publish.unwrap_or(false);
    let updated = state
        .store
        .update_latest(&name, update, publish)
        .await
        .map_err(|e| with_function_not_found(e, &name, &region))?;
    if publish {
        // `$LATEST` was updated in the same write as the version was published.
        if let Some(latest) = state.store.get_function(&name, Version::Latest).await? {
            settle_soon(&state, &latest).await;
        }
    }
    settle_soon(&state, &updated).await;
    state.envs.retire(&name, Some(Version::Latest));
    tracing::info!(function = %name, sha256 = %updated.code.sha256_hex, "code updated");
    // Qualified when a version was published, as Lambda answers.
    let arn = if publish { updated.qualified_arn(&region) } else { name.arn(&region) };
    Ok(Json(function_configuration(&updated, &region).with_arn(arn)))
}

/// A `$LATEST` update that refuses while another change has not settled, checks the
/// caller's `RevisionId`, applies `change`, and stamps a new revision, modification time
/// and an update in progress. `arn` names the function in a conflict's message.
fn latest_update(
    expected_revision: Option<String>,
    arn: String,
    change: impl FnOnce(&FunctionConfig) -> alcove_core::Result<(alcove_core::FunctionSettings, CodeRef)>
        + Send
        + 'static,
) -> LatestUpdate {
    Box::new(move |current| {
        let lifecycle = current.lifecycle.start_update().map_err(|busy| busy.into_error(&arn))?;
        if let Some(expected) = expected_revision {
            if expected != current.revision_id {
                return Err(alcove_core::Error::revision_mismatch());
            }
        }
        let (settings, code) = change(current)?;
        Ok(FunctionConfig {
            settings,
            code,
            last_modified: chrono::Utc::now(),
            revision_id: FunctionConfig::new_revision_id(),
            lifecycle,
            ..current.clone()
        })
    })
}
