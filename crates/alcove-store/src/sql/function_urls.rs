//! Function URLs and recursion settings: per-function settings kept beside the function
//! (and deleted with it), each a small document or value in its own table.
//! `function_urls` is keyed by (function, qualifier) and carries the URL id in a unique
//! column, for the data plane's lookup by host name.

use alcove_core::{Error, FunctionName, FunctionUrlConfig, RecursiveLoop, Result};
use alcove_sql::{ToParam, Tx};

use super::functions::require_function;
use super::rows::{from_json, sql, to_json, Query};

pub(crate) fn create(tx: &dyn Tx, config: &FunctionUrlConfig) -> Result<()> {
    require_function(tx, &config.function)?;
    let inserted = tx
        .execute(
            "INSERT INTO function_urls (function, qualifier, url_id, config) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (function, qualifier) DO NOTHING",
            &[&config.function.as_str(), &config.qualifier, &config.url_id, &(to_json(config)?)],
        )
        .map_err(sql)?;
    if inserted == 0 {
        return Err(Error::Conflict(format!(
            "a function URL exists for {}:{}",
            config.function, config.qualifier
        )));
    }
    Ok(())
}

fn one(tx: &dyn Tx, query: &str, args: &[&dyn ToParam]) -> Result<Option<FunctionUrlConfig>> {
    tx.row_opt(query, args, |row| row.get::<String>(0))?.map(|raw| from_json(&raw)).transpose()
}

pub(crate) fn get(tx: &dyn Tx, name: &FunctionName, qualifier: &str) -> Result<Option<FunctionUrlConfig>> {
    one(
        tx,
        "SELECT config FROM function_urls WHERE function = ?1 AND qualifier = ?2",
        &[&name.as_str(), &qualifier],
    )
}

pub(crate) fn by_id(tx: &dyn Tx, url_id: &str) -> Result<Option<FunctionUrlConfig>> {
    one(tx, "SELECT config FROM function_urls WHERE url_id = ?1", &[&url_id])
}

pub(crate) fn update(tx: &dyn Tx, config: &FunctionUrlConfig) -> Result<()> {
    let updated = tx
        .execute(
            "UPDATE function_urls SET config = ?3 WHERE function = ?1 AND qualifier = ?2",
            &[&config.function.as_str(), &config.qualifier, &(to_json(config)?)],
        )
        .map_err(sql)?;
    if updated == 0 {
        return Err(Error::NotFound("The resource you requested does not exist.".into()));
    }
    Ok(())
}

pub(crate) fn delete(tx: &dyn Tx, name: &FunctionName, qualifier: &str) -> Result<bool> {
    let deleted = tx
        .execute(
            "DELETE FROM function_urls WHERE function = ?1 AND qualifier = ?2",
            &[&name.as_str(), &qualifier],
        )
        .map_err(sql)?;
    Ok(deleted > 0)
}

pub(crate) fn list(tx: &dyn Tx, name: &FunctionName) -> Result<Vec<FunctionUrlConfig>> {
    let rows = tx.rows(
        "SELECT config FROM function_urls WHERE function = ?1 ORDER BY qualifier",
        &[&name.as_str()],
        |row| row.get::<String>(0),
    )?;
    rows.iter().map(|raw| from_json(raw)).collect()
}

pub(crate) fn put_recursion(tx: &dyn Tx, name: &FunctionName, setting: RecursiveLoop) -> Result<()> {
    require_function(tx, name)?;
    tx.execute(
        "INSERT INTO recursion_configs (function, recursive_loop) VALUES (?1, ?2) \
         ON CONFLICT (function) DO UPDATE SET recursive_loop = excluded.recursive_loop",
        &[&name.as_str(), &(to_json(&setting)?)],
    )
    .map_err(sql)?;
    Ok(())
}

pub(crate) fn recursion(tx: &dyn Tx, name: &FunctionName) -> Result<Option<RecursiveLoop>> {
    tx.row_opt(
        "SELECT recursive_loop FROM recursion_configs WHERE function = ?1",
        &[&name.as_str()],
        |row| row.get::<String>(0),
    )?
    .map(|raw| from_json(&raw))
    .transpose()
}

#[cfg(test)]
mod tests {
    use alcove_core::{AliasName, AuthType, InvokeMode, Store};

    use crate::sql::testing::{config, name};

    use super::*;

    fn url(function: &str, qualifier: &str) -> FunctionUrlConfig {
        FunctionUrlConfig {
            function: name(function),
            qualifier: qualifier.into(),
            url_id: FunctionUrlConfig::new_url_id(),
            auth_type: AuthType::None,
            cors: None,
            invoke_mode: InvokeMode::Buffered,
            created: chrono::Utc::now(),
            last_modified: chrono::Utc::now(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_url_per_qualifier_found_by_id_and_gone_with_its_function() {
        for store in crate::sql::testing::stores().await {
            assert!(matches!(store.create_function_url(url("f", "$LATEST")).await, Err(Error::NotFound(_))));
            store.create_function(config("f", "aa"), true).await.unwrap();
            let latest = url("f", "$LATEST");
            store.create_function_url(latest.clone()).await.unwrap();
            assert!(matches!(store.create_function_url(url("f", "$LATEST")).await, Err(Error::Conflict(_))));
            assert_eq!(store.function_url_by_id(&latest.url_id).await.unwrap(), Some(latest.clone()));
            let mut changed = latest.clone();
            changed.auth_type = AuthType::AwsIam;
            store.update_function_url(changed.clone()).await.unwrap();
            assert_eq!(store.function_url(&name("f"), "$LATEST").await.unwrap(), Some(changed));
            store.put_recursion_config(&name("f"), RecursiveLoop::Allow).await.unwrap();
            assert_eq!(store.recursion_config(&name("f")).await.unwrap(), Some(RecursiveLoop::Allow));
            store.delete_function(&name("f")).await.unwrap();
            assert_eq!(store.function_url_by_id(&latest.url_id).await.unwrap(), None);
            assert_eq!(store.recursion_config(&name("f")).await.unwrap(), None);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_alias_takes_its_url_with_it() {
        for store in crate::sql::testing::stores().await {
            store.create_function(config("f", "aa"), true).await.unwrap();
            let alias = alcove_core::Alias {
                function: name("f"),
                name: AliasName::parse("live").unwrap(),
                version: alcove_core::Version::Published(1),
                description: String::new(),
                revision_id: "r".into(),
                routing: None,
            };
            store.create_alias(alias.clone()).await.unwrap();
            store.create_function_url(url("f", "live")).await.unwrap();
            store.create_function_url(url("f", "$LATEST")).await.unwrap();
            let listed: Vec<String> = store
                .list_function_urls(&name("f"))
                .await
                .unwrap()
                .into_iter()
                .map(|u| u.qualifier)
                .collect();
            assert_eq!(listed, ["$LATEST", "live"]);
            store.delete_alias(&name("f"), &alias.name).await.unwrap();
            assert_eq!(store.function_url(&name("f"), "live").await.unwrap(), None);
            assert!(store.delete_function_url(&name("f"), "$LATEST").await.unwrap());
            assert!(!store.delete_function_url(&name("f"), "$LATEST").await.unwrap());
        }
    }
}
