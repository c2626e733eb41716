//! API Gateway API keys and usage plans in SQLite: one JSON document per key (with its
//! value in a unique column, for the data plane's lookup by value) and per plan, and one
//! quota counter per (plan, key) that restarts when a new quota period begins. Counters
//! live in the database so a restart does not hand a tenant a fresh quota.

use std::collections::BTreeMap;

use alcove_core::apigateway::usage_plan::{api_key_not_found, usage_plan_not_found};
use alcove_core::apigateway::{ApiKey, UsagePlan};
use alcove_core::{ApiKeyUpdate, Error, Result, UsagePlanUpdate};
use alcove_sql::{ToParam, Tx};

use super::rows::{from_json, sql, to_json, Query};

fn one<T: serde::de::DeserializeOwned>(tx: &dyn Tx, query: &str, args: &[&dyn ToParam]) -> Result<Option<T>> {
    tx.row_opt(query, args, |row| row.get::<String>(0))?.map(|raw| from_json(&raw)).transpose()
}

fn all<T: serde::de::DeserializeOwned>(tx: &dyn Tx, query: &str) -> Result<Vec<T>> {
    let rows = tx.rows(query, &[], |row| row.get::<String>(0))?;
    rows.iter().map(|raw| from_json(raw)).collect()
}

fn duplicate_value() -> Error {
    Error::Conflict("API Key already exists".into())
}

pub(crate) fn create_key(tx: &dyn Tx, key: ApiKey) -> Result<ApiKey> {
    let taken: bool = tx.row_one(
        "SELECT EXISTS (SELECT 1 FROM api_keys WHERE value = ?1 OR id = ?2)",
        &[&key.value, &key.id],
        |r| r.get(0),
    )?;
    if taken {
        return Err(duplicate_value());
    }
    tx.execute(
        "INSERT INTO api_keys (id, value, doc) VALUES (?1, ?2, ?3)",
        &[&key.id, &key.value, &(to_json(&key)?)],
    )
    .map_err(sql)?;
    Ok(key)
}

pub(crate) fn get_key(tx: &dyn Tx, id: &str) -> Result<Option<ApiKey>> {
    one(tx, "SELECT doc FROM api_keys WHERE id = ?1", &[&id])
}

pub(crate) fn key_by_value(tx: &dyn Tx, value: &str) -> Result<Option<ApiKey>> {
    one(tx, "SELECT doc FROM api_keys WHERE value = ?1", &[&value])
}

pub(crate) fn list_keys(tx: &dyn Tx) -> Result<Vec<ApiKey>> {
    all(tx, "SELECT doc FROM api_keys ORDER BY id")
}

pub(crate) fn update_key(tx: &dyn Tx, id: &str, update: ApiKeyUpdate) -> Result<ApiKey> {
    let mut key = get_key(tx, id)?.ok_or_else(api_key_not_found)?;
    let value = key.value.clone();
    update(&mut key)?;
    key.id = id.to_owned();
    key.value = value;
    tx.execute("UPDATE api_keys SET doc = ?2 WHERE id = ?1", &[&id, &(to_json(&key)?)]).map_err(sql)?;
    Ok(key)
}

pub(crate) fn delete_key(tx: &dyn Tx, id: &str) -> Result<()> {
    if tx.execute("DELETE FROM api_keys WHERE id = ?1", &[&id]).map_err(sql)? == 0 {
        return Err(api_key_not_found());
    }
    for mut plan in list_plans(tx)? {
        if plan.key_ids.remove(id) {
            save_plan(tx, &plan)?;
        }
    }
    tx.execute("DELETE FROM usage_plan_quota WHERE key = ?1", &[&id]).map_err(sql)?;
    Ok(())
}

fn save_plan(tx: &dyn Tx, plan: &UsagePlan) -> Result<()> {
    tx.execute("UPDATE usage_plans SET doc = ?2 WHERE id = ?1", &[&plan.id, &(to_json(plan)?)])
        .map_err(sql)?;
    Ok(())
}

pub(crate) fn create_plan(tx: &dyn Tx, plan: UsagePlan) -> Result<UsagePlan> {
    let inserted = tx
        .execute(
            "INSERT INTO usage_plans (id, doc) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
            &[&plan.id, &(to_json(&plan)?)],
        )
        .map_err(sql)?;
    if inserted == 0 {
        return Err(Error::Conflict(format!("Usage plan {} already exists", plan.id)));
    }
    Ok(plan)
}

pub(crate) fn get_plan(tx: &dyn Tx, id: &str) -> Result<Option<UsagePlan>> {
    one(tx, "SELECT doc FROM usage_plans WHERE id = ?1", &[&id])
}

pub(crate) fn list_plans(tx: &dyn Tx) -> Result<Vec<UsagePlan>> {
    all(tx, "SELECT doc FROM usage_plans ORDER BY id")
}

pub(crate) fn update_plan(tx: &dyn Tx, id: &str, update: UsagePlanUpdate) -> Result<UsagePlan> {
    let mut plan = get_plan(tx, id)?.ok_or_else(|| usage_plan_not_found(id))?;
    update(&mut plan)?;
    plan.id = id.to_owned();
    save_plan(tx, &plan)?;
    Ok(plan)
}

pub(crate) fn delete_plan(tx: &dyn Tx, id: &str) -> Result<()> {
    if tx.execute("DELETE FROM usage_plans WHERE id = ?1", &[&id]).map_err(sql)? == 0 {
        return Err(usage_plan_not_found(id));
    }
    Ok(())
}

pub(crate) fn add_plan_key(tx: &dyn Tx, plan_id: &str, key_id: &str) -> Result<ApiKey> {
    let mut plan = get_plan(tx, plan_id)?.ok_or_else(|| usage_plan_not_found(plan_id))?;
    let key = get_key(tx, key_id)?.ok_or_else(api_key_not_found)?;
    if !plan.key_ids.insert(key_id.to_owned()) {
        return Err(Error::Conflict(format!(
            "Usage Plan {plan_id} cannot be added because API Key {key_id} is already associated with it"
        )));
    }
    save_plan(tx, &plan)?;
    Ok(key)
}

pub(crate) fn consume_quota(
    tx: &dyn Tx,
    plan_id: &str,
    key_id: &str,
    period_start: i64,
    limit: i64,
) -> Result<Option<i64>> {
    let row: Option<(i64, i64)> = tx.row_opt(
        "SELECT period_start, used FROM usage_plan_quota WHERE plan = ?1 AND key = ?2",
        &[&plan_id, &key_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let used = match row {
        Some((start, used)) if start == period_start => used,
        _ => 0,
    };
    if used >= limit {
        return Ok(None);
    }
    tx.execute(
        "INSERT INTO usage_plan_quota (plan, key, period_start, used) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (plan, key) DO UPDATE SET period_start = excluded.period_start, used = excluded.used",
        &[&plan_id, &key_id, &period_start, &(used + 1)],
    )
    .map_err(sql)?;
    Ok(Some(used + 1))
}

pub(crate) fn quota_usage(tx: &dyn Tx, plan_id: &str, period_start: i64) -> Result<BTreeMap<String, i64>> {
    let rows = tx.rows(
        "SELECT key, used FROM usage_plan_quota WHERE plan = ?1 AND period_start = ?2",
        &[&plan_id, &period_start],
        |r| Ok((r.get::<String>(0)?, r.get::<i64>(1)?)),
    )?;
    Ok(rows.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use alcove_core::apigateway::{ApiKey, UsagePlan};
    use alcove_core::{Error, Store};

    fn key(id: &str, value: &str) -> ApiKey {
        ApiKey {
            id: id.into(),
            value: value.into(),
            name: None,
            customer_id: None,
            description: None,
            enabled: true,
            created_date: 0,
            last_updated_date: 0,
            stage_keys: Vec::new(),
            tags: BTreeMap::new(),
        }
    }

    fn plan(id: &str) -> UsagePlan {
        UsagePlan {
            id: id.into(),
            name: "p".into(),
            description: None,
            api_stages: Vec::new(),
            throttle: None,
            quota: None,
            tags: BTreeMap::new(),
            key_ids: BTreeSet::new(),
            created_date: 0,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keys_plans_and_quota_counts() {
        for store in crate::sql::testing::stores().await {
            store.create_api_key(key("k1", "value-one-value-one-1")).await.unwrap();
            let duplicate = store.create_api_key(key("k2", "value-one-value-one-1")).await;
            assert!(matches!(duplicate, Err(Error::Conflict(_))));
            assert_eq!(store.api_key_by_value("value-one-value-one-1").await.unwrap().unwrap().id, "k1");
            store.create_usage_plan(plan("p1")).await.unwrap();
            store.add_usage_plan_key("p1", "k1").await.unwrap();
            assert!(matches!(store.add_usage_plan_key("p1", "k1").await, Err(Error::Conflict(_))));
            assert!(matches!(store.add_usage_plan_key("p1", "nope").await, Err(Error::NotFound(_))));

            // Two requests allowed in a period; a new period counts from zero.
            assert_eq!(store.consume_quota("p1", "k1", 100, 2).await.unwrap(), Some(1));
            assert_eq!(store.consume_quota("p1", "k1", 100, 2).await.unwrap(), Some(2));
            assert_eq!(store.consume_quota("p1", "k1", 100, 2).await.unwrap(), None);
            assert_eq!(store.quota_usage("p1", 100).await.unwrap(), BTreeMap::from([("k1".to_string(), 2)]));
            assert_eq!(store.consume_quota("p1", "k1", 200, 2).await.unwrap(), Some(1));

            // Deleting the key takes it out of its plans.
            store.delete_api_key("k1").await.unwrap();
            assert!(store.get_usage_plan("p1").await.unwrap().unwrap().key_ids.is_empty());
            assert!(matches!(store.delete_api_key("k1").await, Err(Error::NotFound(_))));
            store.delete_usage_plan("p1").await.unwrap();
            assert!(store.get_usage_plan("p1").await.unwrap().is_none());
        }
    }
}
