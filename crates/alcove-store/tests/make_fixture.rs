//! Writes the unversioned-database fixture with the store as it was before schema versions.
//! Run once: FIXTURE=path cargo test -p alcove-store --test make_fixture -- --ignored

use alcove_core::apigateway::{Integration, Method, RestApi, StageName};
use alcove_core::{
    Alias, AliasName, Architecture, CodeRef, DeadLetter, DeploymentRequest, EventInvokeConfig, EventQueue,
    FunctionConfig, FunctionName, LatestUpdate, QueuedEvent, SettingsPatch, StageRequest, Store, TenantId,
    TenantIsolationMode, TenantLimits, UsageCounters, UsageKey, UsageRecord, Version,
};
use alcove_store::SqliteStore;
use chrono::TimeZone;

fn name(n: &str) -> FunctionName {
    FunctionName::parse(n).unwrap()
}

fn config(n: &str, sha: &str, tenancy: Option<TenantIsolationMode>) -> FunctionConfig {
    let settings = SettingsPatch {
        runtime: Some("python3.12".into()),
        handler: Some("app.handler".into()),
        role: Some("arn:aws:iam::123456789012:role/r".into()),
        ..Default::default()
    }
    .create()
    .unwrap();
    FunctionConfig {
        name: name(n),
        version: Version::Latest,
        settings,
        tenancy,
        code: CodeRef { sha256_hex: sha.repeat(32), size: 1000 },
        last_modified: chrono::Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap(),
        revision_id: format!("rev-{n}"),
        tags: Default::default(),
    }
}

#[tokio::test]
#[ignore]
async fn write_fixture() {
    let path = std::env::var("FIXTURE").expect("FIXTURE names the file to write");
    let _ = std::fs::remove_file(&path);
    let store = SqliteStore::open(std::path::Path::new(&path)).unwrap();
    let when = chrono::Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap();

    // orders: $LATEST, versions 1 and 2 (timeout 3 then 30), tags, aliases, reserved concurrency.
    store.create_function(config("orders", "aa", Some(TenantIsolationMode::PerTenant)), true).await.unwrap();
    let update: LatestUpdate = Box::new(|c| {
        let mut next = c.clone();
        next.settings.timeout_secs = 30;
        Ok(next)
    });
    store.update_latest(&name("orders"), update, true).await.unwrap();
    store.tag_function(&name("orders"), [("team".to_string(), "blue".to_string())].into()).await.unwrap();
    for (alias, version) in [("live", 1), ("canary", 2)] {
        store
            .create_alias(Alias {
                function: name("orders"),
                name: AliasName::parse(alias).unwrap(),
                version: Version::Published(version),
                description: format!("{alias} traffic"),
                revision_id: format!("rev-{alias}"),
            })
            .await
            .unwrap();
    }
    store.put_concurrency(&name("orders"), 50, 900).await.unwrap();
    store
        .put_tenant_limits(
            &name("orders"),
            TenantLimits {
                default: Some(5),
                overrides: [(TenantId::parse("BlueTenant").unwrap(), 20)].into(),
            },
        )
        .await
        .unwrap();
    store
        .put_event_invoke_config(
            &name("orders"),
            "live",
            EventInvokeConfig {
                maximum_retry_attempts: Some(1),
                maximum_event_age_secs: Some(600),
                on_success: None,
                on_failure: Some("arn:aws:lambda:us-east-1:123456789012:function:reports".into()),
                last_modified: when,
            },
        )
        .await
        .unwrap();
    store
        .add_permission(
            &name("orders"),
            "$LATEST",
            "apigw",
            serde_json::json!({"Sid": "apigw", "Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "lambda:InvokeFunction"}),
        )
        .await
        .unwrap();

    // reports: $LATEST only, no tenancy.
    store.create_function(config("reports", "bb", None), false).await.unwrap();

    // Two queued async events, one already retried once.
    for (id, attempts, due) in [("evt-1", 0u32, 1_700_000_000_000i64), ("evt-2", 1, 1_700_000_060_000)] {
        store
            .enqueue(QueuedEvent {
                id: id.into(),
                function: name("orders"),
                version: Version::Published(1),
                qualifier: Some("live".into()),
                tenant: Some(TenantId::parse("BlueTenant").unwrap()),
                payload: format!("{{\"order\":\"{id}\"}}").into_bytes(),
                client_context: None,
                attempts,
                next_attempt_ms: due,
                enqueued_ms: 1_700_000_000_000,
            })
            .await
            .unwrap();
    }
    store
        .add_dead_letter(DeadLetter {
            id: "evt-0".into(),
            function: name("orders"),
            qualifier: Some("live".into()),
            tenant: Some(TenantId::parse("BlueTenant").unwrap()),
            record: serde_json::json!({"requestContext": {"condition": "RetriesExhausted"}}),
            failed_ms: 1_699_999_000_000,
        })
        .await
        .unwrap();

    // Usage of two tenants in one hour.
    let usage = |tenant: Option<&str>, invocations: u64| UsageRecord {
        key: UsageKey {
            function: name("orders"),
            tenant: tenant.map(|t| TenantId::parse(t).unwrap()),
            hour: 1_699_999_200,
            architecture: Architecture::X86_64,
            memory_mb: 128,
        },
        counters: UsageCounters {
            invocations,
            errors: 1,
            throttles: 0,
            cold_starts: 1,
            init_ms: 120.5,
            duration_ms: 40.25 * invocations as f64,
            billed_ms: 41 * invocations,
        },
    };
    store.add_usage(vec![usage(Some("BlueTenant"), 3), usage(None, 2)]).await.unwrap();

    // A REST API with GET / deployed to stage prod.
    let api = store.create_rest_api(RestApi::new("api1".into(), "shop".into(), 1_700_000_000)).await.unwrap();
    let root = api.root_resource_id.clone();
    store
        .update_rest_api(
            "api1",
            Box::new(move |api| {
                api.put_method(&root, Method::new("GET"))?;
                api.put_integration(
                    &root,
                    "GET",
                    Integration::lambda_proxy(
                        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/orders/invocations",
                    ),
                )
                .map(drop)
            }),
        )
        .await
        .unwrap();
    store
        .create_deployment(
            "api1",
            DeploymentRequest {
                id: "dep1".into(),
                description: Some("first".into()),
                created_date: 1_700_000_100,
                stage: Some(StageRequest {
                    name: StageName::parse("prod").unwrap(),
                    description: None,
                    variables: Some([("table".to_string(), "orders".to_string())].into()),
                }),
            },
        )
        .await
        .unwrap();
}
