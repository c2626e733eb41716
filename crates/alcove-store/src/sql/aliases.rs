//! Aliases: named pointers to one version of a function, one `aliases` row each. An alias
//! may point only at a version that exists, and a version an alias points at cannot be
//! deleted (see `functions::delete_version`); the rows go with their function.

use alcove_core::{
    AdditionalVersion, Alias, AliasName, AliasPatch, Error, FunctionConfig, FunctionName, Page, Result,
    Version,
};
use alcove_sql::{SqlError, Tx};

use super::functions::{require_function, version_exists};
use super::rows::{from_json, paginate, sql, to_json, Query};

const COLUMNS: &str = "function, name, version, description, revision_id, routing";

type Parts = (String, String, String, String, String, Option<String>);

fn from_row(row: &alcove_sql::Row) -> std::result::Result<Parts, SqlError> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?))
}

fn from_parts((function, name, version, description, revision_id, routing): Parts) -> Result<Alias> {
    Ok(Alias {
        function: FunctionName::parse(&function)?,
        name: AliasName::parse(&name)?,
        version: from_json(&format!("\"{version}\""))?,
        description,
        revision_id,
        routing: routing.as_deref().map(from_json).transpose()?,
    })
}

fn routing_json(routing: Option<AdditionalVersion>) -> Result<Option<String>> {
    routing.as_ref().map(to_json).transpose()
}

/// The version an alias routes to besides its primary must exist too.
fn require_routed_version(tx: &dyn Tx, function: &FunctionName, alias: &Alias) -> Result<()> {
    match alias.routing {
        Some(extra) if !version_exists(tx, function, Version::Published(extra.version))? => {
            Err(missing_version(function, Version::Published(extra.version)))
        }
        _ => Ok(()),
    }
}

fn missing_version(function: &FunctionName, version: Version) -> Error {
    Error::NotFound(format!("Function not found: {function}:{version}"))
}

pub(crate) fn get(tx: &dyn Tx, function: &FunctionName, name: &AliasName) -> Result<Option<Alias>> {
    tx.row_opt(
        &format!("SELECT {COLUMNS} FROM aliases WHERE function = ?1 AND name = ?2"),
        &[&function.as_str(), &name.as_str()],
        from_row,
    )?
    .map(from_parts)
    .transpose()
}

pub(crate) fn create(tx: &dyn Tx, alias: Alias) -> Result<Alias> {
    require_function(tx, &alias.function)?;
    if !version_exists(tx, &alias.function, alias.version)? {
        return Err(missing_version(&alias.function, alias.version));
    }
    require_routed_version(tx, &alias.function, &alias)?;
    let inserted = tx
        .execute(
            &format!(
                "INSERT INTO aliases ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING"
            ),
            &[
                &alias.function.as_str(),
                &alias.name.as_str(),
                &alias.version.to_string(),
                &alias.description,
                &alias.revision_id,
                &(routing_json(alias.routing)?),
            ],
        )
        .map_err(sql)?;
    if inserted == 0 {
        return Err(Error::Conflict(format!("Alias already exists: {}:{}", alias.function, alias.name)));
    }
    Ok(alias)
}

/// A function's aliases by name, optionally only those pointing at `version`.
pub(crate) fn list(
    tx: &dyn Tx,
    function: &FunctionName,
    version: Option<Version>,
    marker: Option<String>,
    limit: usize,
) -> Result<Page<Alias>> {
    require_function(tx, function)?;
    let rows = tx.rows(
        &format!(
            "SELECT {COLUMNS} FROM aliases WHERE function = ?1 AND name > ?2
             AND (CAST(?3 AS TEXT) IS NULL OR version = ?3) ORDER BY name LIMIT ?4"
        ),
        &[
            &function.as_str(),
            &marker.unwrap_or_default(),
            &(version.map(|v| v.to_string())),
            &((limit + 1) as i64),
        ],
        from_row,
    )?;
    let aliases = rows.into_iter().map(from_parts).collect::<Result<Vec<_>>>()?;
    Ok(paginate(aliases, limit, |a: &Alias| a.name.to_string()))
}

pub(crate) fn update(
    tx: &dyn Tx,
    function: &FunctionName,
    name: &AliasName,
    patch: AliasPatch,
) -> Result<Alias> {
    let mut alias = get(tx, function, name)?
        .ok_or_else(|| Error::NotFound(format!("Alias not found: {function}:{name}")))?;
    if let Some(expected) = &patch.expected_revision {
        if *expected != alias.revision_id {
            return Err(Error::revision_mismatch());
        }
    }
    if let Some(version) = patch.version {
        if !version_exists(tx, function, version)? {
            return Err(missing_version(function, version));
        }
        alias.version = version;
    }
    if let Some(description) = patch.description {
        alias.description = description;
    }
    if let Some(routing) = patch.routing {
        alias.routing = routing;
    }
    require_routed_version(tx, function, &alias)?;
    alias.revision_id = FunctionConfig::new_revision_id();
    tx.execute(
        "UPDATE aliases SET version = ?3, description = ?4, revision_id = ?5, routing = ?6 \
         WHERE function = ?1 AND name = ?2",
        &[
            &function.as_str(),
            &name.as_str(),
            &alias.version.to_string(),
            &alias.description,
            &alias.revision_id,
            &(routing_json(alias.routing)?),
        ],
    )
    .map_err(sql)?;
    Ok(alias)
}

pub(crate) fn delete(tx: &dyn Tx, function: &FunctionName, name: &AliasName) -> Result<()> {
    require_function(tx, function)?;
    // Deleting an alias that does not exist succeeds, as in Lambda. Its provisioned
    // concurrency and its function URL go with it: neither outlives the qualifier it serves.
    for table in [
        "aliases WHERE function = ?1 AND name = ?2",
        "provisioned_concurrency WHERE function = ?1 AND qualifier = ?2",
        "function_urls WHERE function = ?1 AND qualifier = ?2",
    ] {
        tx.execute(&format!("DELETE FROM {table}"), &[&function.as_str(), &name.as_str()]).map_err(sql)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use alcove_core::Store;

    use super::*;
    use crate::sql::testing::{config, name};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn aliases_guard_their_versions() {
        for store in crate::sql::testing::stores().await {
            store.create_function(config("f", "aa"), true).await.unwrap();
            let alias = Alias {
                function: name("f"),
                name: AliasName::parse("live").unwrap(),
                version: Version::Published(1),
                description: String::new(),
                revision_id: "r".into(),
                routing: None,
            };
            store.create_alias(alias.clone()).await.unwrap();
            assert!(matches!(store.create_alias(alias.clone()).await, Err(Error::Conflict(_))));
            assert!(matches!(store.delete_version(&name("f"), 1).await, Err(Error::Conflict(_))));
            let missing = Alias {
                name: AliasName::parse("next").unwrap(),
                version: Version::Published(9),
                ..alias.clone()
            };
            assert!(matches!(store.create_alias(missing).await, Err(Error::NotFound(_))));
            let moved = store
                .update_alias(
                    &name("f"),
                    &alias.name,
                    AliasPatch { version: Some(Version::Latest), ..Default::default() },
                )
                .await
                .unwrap();
            assert_eq!(moved.version, Version::Latest);
            store.delete_version(&name("f"), 1).await.unwrap();
            assert_eq!(store.list_aliases(&name("f"), None, None, 10).await.unwrap().items.len(), 1);
            store.delete_function(&name("f")).await.unwrap();
            store.create_function(config("f", "aa"), false).await.unwrap();
            assert_eq!(store.get_alias(&name("f"), &alias.name).await.unwrap(), None);
        }
    }
}
