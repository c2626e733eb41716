//! Code signing configurations (one JSON document per id in `code_signing_configs`) and
//! the configuration each function uses (`function_code_signing`, deleted with the
//! function). The foreign key from the link to the configuration is what makes a
//! configuration in use impossible to delete; the check here words the refusal.

use alcove_core::{CodeSigningConfig, Error, FunctionName, Page, Result};
use alcove_sql::Tx;

use super::functions::require_function;
use super::rows::{from_json, paginate, sql, to_json, Query};

/// The `NotFound` message for a configuration id (told apart from a missing function).
pub(crate) fn config_not_found(id: &str) -> Error {
    Error::NotFound(format!("code signing configuration {id} not found"))
}

pub(crate) fn create(tx: &dyn Tx, config: &CodeSigningConfig) -> Result<()> {
    tx.execute(
        "INSERT INTO code_signing_configs (id, config) VALUES (?1, ?2)",
        &[&config.id, &(to_json(config)?)],
    )
    .map_err(sql)?;
    Ok(())
}

pub(crate) fn get(tx: &dyn Tx, id: &str) -> Result<Option<CodeSigningConfig>> {
    tx.row_opt("SELECT config FROM code_signing_configs WHERE id = ?1", &[&id], |row| row.get::<String>(0))?
        .map(|raw| from_json(&raw))
        .transpose()
}

pub(crate) fn update(tx: &dyn Tx, config: &CodeSigningConfig) -> Result<()> {
    let updated = tx
        .execute(
            "UPDATE code_signing_configs SET config = ?2 WHERE id = ?1",
            &[&config.id, &(to_json(config)?)],
        )
        .map_err(sql)?;
    if updated == 0 {
        return Err(config_not_found(&config.id));
    }
    Ok(())
}

pub(crate) fn delete(tx: &dyn Tx, id: &str) -> Result<bool> {
    let users: Vec<String> = tx.rows(
        "SELECT function FROM function_code_signing WHERE config_id = ?1 ORDER BY function",
        &[&id],
        |row| row.get::<String>(0),
    )?;
    if !users.is_empty() {
        return Err(Error::Conflict(users.join(", ")));
    }
    let deleted = tx.execute("DELETE FROM code_signing_configs WHERE id = ?1", &[&id]).map_err(sql)?;
    Ok(deleted > 0)
}

pub(crate) fn list(tx: &dyn Tx, marker: Option<String>, limit: usize) -> Result<Page<CodeSigningConfig>> {
    let rows = tx.rows(
        "SELECT id, config FROM code_signing_configs WHERE id > ?1 ORDER BY id LIMIT ?2",
        &[&marker.unwrap_or_default(), &(limit as i64 + 1)],
        |row| row.get::<String>(1),
    )?;
    let items = rows.iter().map(|raw| from_json(raw)).collect::<Result<Vec<CodeSigningConfig>>>()?;
    Ok(paginate(items, limit, |c| c.id.clone()))
}

pub(crate) fn put_for_function(tx: &dyn Tx, name: &FunctionName, id: &str) -> Result<()> {
    if get(tx, id)?.is_none() {
        return Err(config_not_found(id));
    }
    require_function(tx, name)?;
    tx.execute(
        "INSERT INTO function_code_signing (function, config_id) VALUES (?1, ?2) \
         ON CONFLICT (function) DO UPDATE SET config_id = excluded.config_id",
        &[&name.as_str(), &id],
    )
    .map_err(sql)?;
    Ok(())
}

pub(crate) fn of_function(tx: &dyn Tx, name: &FunctionName) -> Result<Option<String>> {
    tx.row_opt("SELECT config_id FROM function_code_signing WHERE function = ?1", &[&name.as_str()], |row| {
        row.get::<String>(0)
    })
}

pub(crate) fn delete_for_function(tx: &dyn Tx, name: &FunctionName) -> Result<bool> {
    let deleted = tx
        .execute("DELETE FROM function_code_signing WHERE function = ?1", &[&name.as_str()])
        .map_err(sql)?;
    Ok(deleted > 0)
}

pub(crate) fn functions_using(
    tx: &dyn Tx,
    id: &str,
    marker: Option<String>,
    limit: usize,
) -> Result<Page<FunctionName>> {
    let rows = tx.rows(
        "SELECT function FROM function_code_signing WHERE config_id = ?1 AND function > ?2 \
             ORDER BY function LIMIT ?3",
        &[&id, &marker.unwrap_or_default(), &(limit as i64 + 1)],
        |row| row.get::<String>(0),
    )?;
    let names = rows
        .iter()
        .map(|raw| FunctionName::parse(raw).map_err(|e| Error::caused("corrupt record", e)))
        .collect::<Result<Vec<_>>>()?;
    Ok(paginate(names, limit, |n| n.to_string()))
}

#[cfg(test)]
mod tests {
    use alcove_core::{Store, UntrustedArtifactPolicy};

    use crate::sql::testing::{config, name};

    use super::*;

    fn csc() -> CodeSigningConfig {
        CodeSigningConfig {
            id: CodeSigningConfig::new_id(),
            description: String::new(),
            allowed_publishers: vec!["arn:aws:signer:us-east-1:123456789012:/signing-profiles/p/v".into()],
            untrusted_artifact_on_deployment: UntrustedArtifactPolicy::Warn,
            last_modified: chrono::Utc::now(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_configuration_in_use_cannot_be_deleted() {
        for store in crate::sql::testing::stores().await {
            let c = csc();
            store.create_code_signing_config(c.clone()).await.unwrap();
            store.create_function(config("f", "aa"), false).await.unwrap();
            assert_eq!(
                store.put_function_code_signing(&name("f"), "csc-none").await,
                Err(config_not_found("csc-none"))
            );
            store.put_function_code_signing(&name("f"), &c.id).await.unwrap();
            assert_eq!(store.function_code_signing(&name("f")).await.unwrap(), Some(c.id.clone()));
            let users = store.functions_by_code_signing(&c.id, None, 10).await.unwrap();
            assert_eq!(users.items, [name("f")]);
            assert_eq!(store.delete_code_signing_config(&c.id).await, Err(Error::Conflict("f".into())));
            // Deleting the function releases it.
            store.delete_function(&name("f")).await.unwrap();
            assert!(store.delete_code_signing_config(&c.id).await.unwrap());
            assert!(!store.delete_code_signing_config(&c.id).await.unwrap());
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn listings_page_by_id() {
        for store in crate::sql::testing::stores().await {
            for _ in 0..3 {
                store.create_code_signing_config(csc()).await.unwrap();
            }
            let first = store.list_code_signing_configs(None, 2).await.unwrap();
            assert_eq!(first.items.len(), 2);
            let rest = store.list_code_signing_configs(first.next_marker, 2).await.unwrap();
            assert_eq!((rest.items.len(), rest.next_marker), (1, None));
        }
    }
}
