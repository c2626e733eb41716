//! The Lambda control plane: routes and the lookups its handlers share.

mod account;
mod aliases;
mod code;
mod code_signing;
mod concurrency;
mod event_invoke_config;
mod event_stream;
mod function_urls;
mod functions;
pub(crate) mod invoke;
mod invoke_stream;
pub(crate) mod policy;
pub(crate) mod provisioned;
mod recursion;
pub(crate) mod service_model;
mod tags;
mod transitions;
pub(crate) mod validation;
mod versions;

use alcove_core::{FunctionConfig, FunctionName, FunctionRef, Qualifier};
use axum::routing::{get, post, put};
use axum::Router;

use crate::error::{ApiError, ApiResult};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/2015-03-31/functions", post(functions::create).get(functions::list))
        .route("/2015-03-31/functions/", post(functions::create).get(functions::list))
        .route("/2015-03-31/functions/{function}", get(functions::get).delete(functions::delete))
        .route(
            "/2015-03-31/functions/{function}/configuration",
            get(functions::get_configuration).put(functions::update_configuration),
        )
        .route("/2015-03-31/functions/{function}/code", put(functions::update_code))
        .route("/2015-03-31/functions/{function}/versions", post(versions::publish).get(versions::list))
        .route("/2015-03-31/functions/{function}/aliases", post(aliases::create).get(aliases::list))
        .route(
            "/2015-03-31/functions/{function}/aliases/{alias}",
            get(aliases::get).put(aliases::update).delete(aliases::delete),
        )
        .route(
            "/2017-10-31/functions/{function}/concurrency",
            put(concurrency::put).delete(concurrency::delete),
        )
        .route("/2019-09-30/functions/{function}/concurrency", get(concurrency::get))
        .route(
            "/2019-09-30/functions/{function}/provisioned-concurrency",
            put(provisioned::put).get(provisioned::get).delete(provisioned::delete),
        )
        .route("/2015-03-31/functions/{function}/invocations", post(invoke::invoke))
        .route(
            "/2021-11-15/functions/{function}/response-streaming-invocations",
            post(invoke_stream::invoke_with_response_stream),
        )
        .route(
            "/2019-09-25/functions/{function}/event-invoke-config",
            put(event_invoke_config::put)
                .post(event_invoke_config::update)
                .get(event_invoke_config::get)
                .delete(event_invoke_config::delete),
        )
        .route("/2019-09-25/functions/{function}/event-invoke-config/list", get(event_invoke_config::list))
        .route("/2015-03-31/functions/{function}/policy", post(policy::add).get(policy::get))
        .route("/2015-03-31/functions/{function}/policy/{statement}", axum::routing::delete(policy::remove))
        .route("/2017-03-31/tags/{resource}", get(tags::list).post(tags::tag).delete(tags::untag))
        .route(
            "/2021-10-31/functions/{function}/url",
            post(function_urls::create)
                .get(function_urls::get)
                .put(function_urls::update)
                .delete(function_urls::delete),
        )
        .route("/2021-10-31/functions/{function}/urls", get(function_urls::list))
        .route("/2024-08-31/functions/{function}/recursion-config", put(recursion::put).get(recursion::get))
        .route("/2020-04-22/code-signing-configs", post(code_signing::create).get(code_signing::list))
        .route("/2020-04-22/code-signing-configs/", post(code_signing::create).get(code_signing::list))
        .route(
            "/2020-04-22/code-signing-configs/{arn}",
            get(code_signing::get).put(code_signing::update).delete(code_signing::delete),
        )
        .route("/2020-04-22/code-signing-configs/{arn}/functions", get(code_signing::list_functions))
        .route(
            "/2020-06-30/functions/{function}/code-signing-config",
            put(code_signing::put_for_function)
                .get(code_signing::get_for_function)
                .delete(code_signing::delete_for_function),
        )
        .route("/2016-08-19/account-settings", get(account::settings))
        .route("/2016-08-19/account-settings/", get(account::settings))
        .route_layer(axum::middleware::from_fn(validation::validate_request))
        .route("/alcove/v1/code/{file}", get(code::download))
}

/// Parses a request's function name (a name, a partial or a full ARN, each with an optional
/// qualifier) and an optional `Qualifier` parameter: the one resolver every operation
/// names functions through.
pub(crate) fn function_ref(raw: &str, qualifier: Option<&str>, region: &str) -> ApiResult<FunctionRef> {
    reachable_from(raw, region)?;
    Ok(FunctionRef::parse(raw)?.with_qualifier(qualifier)?)
}

/// A full ARN of another region names nothing this region can reach, in Lambda's words.
fn reachable_from(raw: &str, region: &str) -> ApiResult<()> {
    match FunctionRef::arn_region(raw) {
        Some(other) if other != region => Err(ApiError::not_found(format!(
            "Functions from '{other}' are not reachable in this region ('{region}')"
        ))),
        _ => Ok(()),
    }
}

/// For operations on the function itself, where a qualifier makes no sense.
pub(crate) fn unqualified(raw: &str, region: &str) -> ApiResult<FunctionName> {
    reachable_from(raw, region)?;
    let reference = FunctionRef::parse(raw)?;
    match reference.qualifier {
        None => Ok(reference.name),
        Some(_) => Err(ApiError::invalid_parameter(format!(
            "This operation does not take a qualified function name: {raw}"
        ))),
    }
}

pub(crate) fn function_not_found(
    name: &FunctionName,
    region: &str,
    qualifier: Option<&Qualifier>,
) -> ApiError {
    let arn = name.arn(region);
    match qualifier {
        Some(q) => ApiError::not_found(format!("Function not found: {arn}:{q}")),
        None => ApiError::not_found(format!("Function not found: {arn}")),
    }
}

/// A store error, with "not found" reworded as Lambda words it for this function.
pub(crate) fn with_function_not_found(
    error: alcove_core::Error,
    name: &FunctionName,
    region: &str,
) -> ApiError {
    match error {
        alcove_core::Error::NotFound(_) => function_not_found(name, region, None),
        other => other.into(),
    }
}

/// The configuration a reference designates, or Lambda's not-found error.
pub(crate) async fn resolve(
    state: &AppState,
    reference: &FunctionRef,
    region: &str,
) -> ApiResult<FunctionConfig> {
    alcove_core::resolve_reference(state.store.as_ref(), reference)
        .await?
        .ok_or_else(|| function_not_found(&reference.name, region, reference.qualifier.as_ref()))
}

/// The configuration an invoke of `reference` runs: a weighted alias picks its version by
/// a fresh random draw per invoke, and, as Lambda does, a version still `Pending` is
/// refused.
pub(crate) async fn resolve_invocation(
    state: &AppState,
    reference: &FunctionRef,
    region: &str,
) -> ApiResult<FunctionConfig> {
    let draw = alcove_core::routing::random_draw();
    let config = alcove_core::resolve_invocation(state.store.as_ref(), reference, draw)
        .await?
        .ok_or_else(|| function_not_found(&reference.name, region, reference.qualifier.as_ref()))?;
    config.lifecycle.invocable().map_err(|busy| busy.into_error(&config.arn(region)))?;
    Ok(config)
}

/// A function and one of its qualifiers (`$LATEST` when none), both existing: what
/// per-qualifier settings (event invoke configs, resource policies) are keyed by.
pub(crate) struct QualifiedTarget {
    /// The configuration the qualifier designates now.
    pub config: FunctionConfig,
    /// The qualifier as written, `$LATEST` when none was given.
    pub qualifier: String,
    /// The ARN the qualifier designates.
    pub arn: String,
}

pub(crate) async fn qualified_target(
    state: &AppState,
    function: &str,
    qualifier: Option<&str>,
    region: &str,
) -> ApiResult<QualifiedTarget> {
    let reference = function_ref(function, qualifier, region)?;
    let config = resolve(state, &reference, region).await?;
    let arn = match &reference.qualifier {
        Some(q) => format!("{}:{q}", reference.name.arn(region)),
        None => reference.name.arn(region),
    };
    let qualifier = reference
        .qualifier
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_else(|| Qualifier::Latest.to_string());
    Ok(QualifiedTarget { config, qualifier, arn })
}

/// `MaxItems` of the listing operations: 1..=10000, default 50.
pub(crate) fn page_size(max_items: Option<&str>) -> ApiResult<usize> {
    match max_items {
        None => Ok(50),
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=10_000).contains(&n) => Ok(n),
            Ok(0) => Err(ApiError::validation(format!(
                "1 validation error detected: Value '{raw}' at 'maxItems' failed to satisfy \
                 constraint: Member must have value greater than or equal to 1"
            ))),
            Ok(_) => Err(ApiError::validation(format!(
                "1 validation error detected: Value '{raw}' at 'maxItems' failed to satisfy \
                 constraint: Member must have value less than or equal to 10000"
            ))),
            Err(_) => Err(ApiError::invalid_parameter(format!("MaxItems must be a number: {raw}"))),
        },
    }
}
