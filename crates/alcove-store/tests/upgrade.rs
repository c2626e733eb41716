//! A user upgrading Alcove must never lose state or see "corrupt record": the store opens a
//! database written before schema versions (`tests/fixtures/unversioned.db`, see the
//! README beside it) and finds, and can keep using, everything in it; a database written by
//! a newer Alcove is refused without being touched.

use std::path::{Path, PathBuf};

use alcove_core::apigateway::StageName;
use alcove_core::{
    Alias, AliasName, Error, EventQueue, FunctionName, LatestUpdate, PublishRequest, QueuedEvent,
    StageLookup, Store, TenantId, TenantIsolationMode, TenantLimits, UsageCounters, UsageFilter, UsageKey,
    UsageRecord, Version,
};
use alcove_sql::Location;
use alcove_store::SqlStore;
use rusqlite::Connection;

fn name(n: &str) -> FunctionName {
    FunctionName::parse(n).unwrap()
}

fn tenant(t: &str) -> TenantId {
    TenantId::parse(t).unwrap()
}

/// A copy of the fixture in a fresh directory, so the test never changes the original.
fn unversioned_copy(dir: &Path) -> PathBuf {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/unversioned.db");
    let path = dir.join("alcove.db");
    std::fs::copy(fixture, &path).unwrap();
    path
}

/// The version the last migration brings a database to: one per numbered migration file.
fn latest_schema_version() -> i64 {
    let migrations = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    std::fs::read_dir(migrations)
        .unwrap()
        .filter(|entry| entry.as_ref().unwrap().path().extension().is_some_and(|e| e == "sql"))
        .count() as i64
}

fn user_version(path: &Path) -> i64 {
    Connection::open(path).unwrap().pragma_query_value(None, "user_version", |row| row.get(0)).unwrap()
}

#[tokio::test]
async fn a_database_from_before_schema_versions_keeps_all_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = unversioned_copy(dir.path());
    assert_eq!(user_version(&path), 0);
    let store = SqlStore::open(&Location::Sqlite(path.parent().unwrap().to_owned())).await.unwrap();
    let orders = name("orders");

    // Functions and versions.
    let all = store.list_functions(true, None, 100).await.unwrap();
    let labels: Vec<String> = all.items.iter().map(|c| format!("{}:{}", c.name, c.version)).collect();
    assert_eq!(labels, ["orders:$LATEST", "orders:1", "orders:2", "reports:$LATEST"]);
    for (version, timeout) in [(Version::Latest, 30), (Version::Published(1), 3), (Version::Published(2), 30)]
    {
        let config = store.get_function(&orders, version).await.unwrap().unwrap();
        assert_eq!(config.settings.timeout_secs, timeout, "{version}");
        assert_eq!(config.tenancy, Some(TenantIsolationMode::PerTenant));
        assert_eq!(config.tags.get("team").map(String::as_str), Some("blue"));
        assert_eq!(config.code.sha256_hex, "aa".repeat(32));
    }
    let reports = store.get_function(&name("reports"), Version::Latest).await.unwrap().unwrap();
    assert_eq!((reports.tenancy, reports.revision_id.as_str()), (None, "rev-reports"));

    // Aliases.
    let aliases = store.list_aliases(&orders, None, None, 10).await.unwrap().items;
    let pointers: Vec<(String, Version, String)> =
        aliases.iter().map(|a| (a.name.to_string(), a.version, a.description.clone())).collect();
    assert_eq!(
        pointers,
        [
            ("canary".to_string(), Version::Published(2), "canary traffic".to_string()),
            ("live".to_string(), Version::Published(1), "live traffic".to_string())
        ]
    );

    // Limits.
    assert_eq!(store.get_concurrency(&orders).await.unwrap(), Some(50));
    assert_eq!(store.list_concurrency().await.unwrap(), [(orders.clone(), 50)]);
    let limits = store.get_tenant_limits(&orders).await.unwrap().unwrap();
    assert_eq!((limits.default, limits.limit_for(&tenant("BlueTenant"))), (Some(5), Some(20)));
    assert_eq!(store.list_tenant_limits().await.unwrap().len(), 1);

    // Async settings and resource policy.
    let config = store.get_event_invoke_config(&orders, "live").await.unwrap().unwrap();
    assert_eq!((config.maximum_retry_attempts, config.maximum_event_age_secs), (Some(1), Some(600)));
    assert_eq!(config.on_failure.as_deref(), Some("arn:aws:lambda:us-east-1:123456789012:function:reports"));
    let policy = store.policy(&orders, "$LATEST").await.unwrap();
    assert_eq!(policy.len(), 1);
    assert_eq!(policy[0]["Sid"], "apigw");

    // The async queue and dead letters.
    assert_eq!(store.pending_count().await.unwrap(), 2);
    assert_eq!(store.next_due_ms().await.unwrap(), Some(1_700_000_000_000));
    let due = store.due(i64::MAX, vec![], 10).await.unwrap();
    let queued: Vec<(&str, u32, &[u8])> =
        due.iter().map(|e| (e.id.as_str(), e.attempts, e.payload.as_slice())).collect();
    assert_eq!(
        queued,
        [("evt-1", 0, &b"{\"order\":\"evt-1\"}"[..]), ("evt-2", 1, &b"{\"order\":\"evt-2\"}"[..])]
    );
    assert_eq!(
        (due[0].version, due[0].qualifier.as_deref(), due[0].tenant.clone()),
        (Version::Published(1), Some("live"), Some(tenant("BlueTenant")))
    );
    let letters = store.list_dead_letters(Some(orders.clone()), 10).await.unwrap();
    assert_eq!(letters.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(), ["evt-0"]);
    assert_eq!(letters[0].record["requestContext"]["condition"], "RetriesExhausted");

    // Usage and account totals.
    let usage =
        store.usage(UsageFilter { function: Some(orders.clone()), ..Default::default() }).await.unwrap();
    let buckets: Vec<(Option<TenantId>, u64, u64)> =
        usage.iter().map(|r| (r.key.tenant.clone(), r.counters.invocations, r.counters.billed_ms)).collect();
    assert_eq!(buckets, [(None, 2, 82), (Some(tenant("BlueTenant")), 3, 123)]);
    let account = store.account_usage().await.unwrap();
    assert_eq!(
        (account.function_count, account.total_code_size, account.reserved_concurrency),
        (2, 4000, 50)
    );

    // API Gateway.
    let StageLookup::Deployed { stage, deployment } = store.deployed_stage("api1", "prod").await.unwrap()
    else {
        panic!("prod should still be deployed")
    };
    assert_eq!((stage.deployment_id.as_str(), deployment.id.as_str()), ("dep1", "dep1"));
    assert_eq!(stage.variables.get("table").map(String::as_str), Some("orders"));
    assert!(deployment.api.resource_by_path("/").is_some());
    assert_eq!(store.get_rest_api("api1").await.unwrap().unwrap().name, "shop");

    // The database is now at the last version, and reopening it changes nothing.
    drop(store);
    assert_eq!(user_version(&path), latest_schema_version());
    let store = SqlStore::open(&Location::Sqlite(path.parent().unwrap().to_owned())).await.unwrap();
    assert_eq!(store.list_functions(true, None, 100).await.unwrap().items.len(), 4);
    assert_eq!(user_version(&path), latest_schema_version());
}

#[tokio::test]
async fn a_database_from_before_schema_versions_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let store = {
        unversioned_copy(dir.path());
        SqlStore::open(&Location::Sqlite(dir.path().to_owned())).await.unwrap()
    };
    let orders = name("orders");

    // Version numbers continue where the old database left them.
    let update: LatestUpdate = Box::new(|c| {
        let mut next = c.clone();
        next.settings.timeout_secs = 60;
        Ok(next)
    });
    assert_eq!(store.update_latest(&orders, update, true).await.unwrap().version, Version::Published(3));
    assert_eq!(
        store.publish_version(&orders, PublishRequest::default()).await.unwrap().version,
        Version::Published(3)
    );
    store
        .create_alias(Alias {
            function: orders.clone(),
            name: AliasName::parse("next").unwrap(),
            version: Version::Published(3),
            description: String::new(),
            revision_id: "r".into(),
            routing: None,
        })
        .await
        .unwrap();
    // An alias from the old database still guards its version.
    assert!(matches!(store.delete_version(&orders, 1).await, Err(Error::Conflict(_))));

    // Usage adds to the old bucket.
    let record = UsageRecord {
        key: UsageKey {
            function: orders.clone(),
            tenant: Some(tenant("BlueTenant")),
            hour: 1_699_999_200,
            architecture: alcove_core::Architecture::X86_64,
            memory_mb: 128,
        },
        counters: UsageCounters { invocations: 1, ..Default::default() },
    };
    store.add_usage(vec![record]).await.unwrap();
    let usage =
        store.usage(UsageFilter { tenant: Some(tenant("BlueTenant")), ..Default::default() }).await.unwrap();
    assert_eq!(usage.iter().map(|r| r.counters.invocations).collect::<Vec<_>>(), [4]);

    // The queue drains.
    for id in ["evt-1", "evt-2"] {
        store.complete(id).await.unwrap();
    }
    store
        .enqueue(QueuedEvent {
            id: "evt-3".into(),
            function: orders.clone(),
            version: Version::Latest,
            qualifier: None,
            tenant: None,
            payload: b"{}".to_vec(),
            client_context: None,
            attempts: 0,
            next_attempt_ms: 5,
            enqueued_ms: 5,
        })
        .await
        .unwrap();
    assert_eq!(store.pending_count().await.unwrap(), 1);

    // Tenant limits change; a new stage deploys.
    store.put_tenant_limits(&orders, TenantLimits { default: Some(7), ..Default::default() }).await.unwrap();
    assert_eq!(store.get_tenant_limits(&orders).await.unwrap().unwrap().default, Some(7));
    let mut dev = store.get_stage("api1", "prod").await.unwrap();
    dev.name = StageName::parse("dev").unwrap();
    store.create_stage("api1", dev).await.unwrap();
    assert_eq!(store.list_stages("api1", Some("dep1".into())).await.unwrap().len(), 2);

    // The old tables' foreign keys still cascade: deleting the function takes its versions,
    // aliases, limits, event configs and policy with it.
    store.delete_function(&orders).await.unwrap();
    // A new function of the same name starts with none of them.
    let mut again = store.get_function(&name("reports"), Version::Latest).await.unwrap().unwrap();
    again.name = orders.clone();
    store.create_function(again, false).await.unwrap();
    assert!(store.list_aliases(&orders, None, None, 10).await.unwrap().items.is_empty());
    assert_eq!(store.get_function(&orders, Version::Published(1)).await.unwrap(), None);
    assert_eq!(store.get_tenant_limits(&orders).await.unwrap(), None);
    assert!(store.list_event_invoke_configs(&orders).await.unwrap().is_empty());
    assert!(store.policy(&orders, "$LATEST").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_database_from_a_newer_alcove_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alcove.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE functions (name TEXT PRIMARY KEY, shape_of_the_future BLOB);
             INSERT INTO functions VALUES ('orders', x'00');
             PRAGMA user_version = 1000;",
        )
        .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let Err(error @ Error::Internal { .. }) = SqlStore::open(&Location::Sqlite(dir.path().to_owned())).await
    else {
        panic!("a database of schema version 1000 must be refused")
    };
    let message = error.chain();
    assert!(message.contains("schema version 1000") && message.contains("newer Alcove"), "{message}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "the refused database was written to");
    assert!(!dir.path().join("alcove.db-wal").exists());
    assert_eq!(user_version(&path), 1000);
}
