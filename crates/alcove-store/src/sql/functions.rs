//! Functions and their versions. A function is one `functions` row holding its `$LATEST`
//! configuration as JSON, the last version number handed out (numbers are never reused,
//! even after a delete) and its reserved concurrency; each published version is a frozen
//! copy in `versions`. Tags belong to the function, so a tag change rewrites `$LATEST` and
//! every version alike.
//!
//! Every other feature that hangs off a function asks [`require_function`] first, so a
//! missing function is reported the same way everywhere.

use alcove_core::store::{LatestUpdate, PublishRequest};
use alcove_core::{
    plan_publish, validate_tags, Error, FunctionConfig, FunctionName, Page, Result, Tags, Version,
};
use alcove_sql::{Dialect, Tx};

use super::rows::{from_json, json_text, paginate, sql, to_json, Query};

pub(crate) fn not_found(name: &FunctionName) -> Error {
    Error::NotFound(format!("Function not found: {name}"))
}

/// Fails with `NotFound` unless the function exists.
pub(crate) fn require_function(tx: &dyn Tx, name: &FunctionName) -> Result<()> {
    tx.row_opt("SELECT 1 FROM functions WHERE name = ?1", &[&name.as_str()], |_| Ok(()))?
        .ok_or_else(|| not_found(name))
}

/// `$LATEST` and the last version number handed out.
fn load_latest(tx: &dyn Tx, name: &FunctionName) -> Result<Option<(FunctionConfig, u64)>> {
    tx.row_opt("SELECT latest, last_version FROM functions WHERE name = ?1", &[&name.as_str()], |row| {
        Ok((row.get::<String>(0)?, row.get::<i64>(1)?))
    })?
    .map(|(raw, last)| Ok((from_json(&raw)?, last as u64)))
    .transpose()
}

/// `$LATEST` of a function that must exist.
fn require_latest(tx: &dyn Tx, name: &FunctionName) -> Result<FunctionConfig> {
    load_latest(tx, name)?.map(|(latest, _)| latest).ok_or_else(|| not_found(name))
}

fn load_version(tx: &dyn Tx, name: &FunctionName, version: u64) -> Result<Option<FunctionConfig>> {
    tx.row_opt(
        "SELECT config FROM versions WHERE function = ?1 AND version = ?2",
        &[&name.as_str(), &(version as i64)],
        |row| row.get::<String>(0),
    )?
    .map(|raw| from_json(&raw))
    .transpose()
}

fn newest_version(tx: &dyn Tx, name: &FunctionName) -> Result<Option<FunctionConfig>> {
    tx.row_opt(
        "SELECT config FROM versions WHERE function = ?1 ORDER BY version DESC LIMIT 1",
        &[&name.as_str()],
        |row| row.get::<String>(0),
    )?
    .map(|raw| from_json(&raw))
    .transpose()
}

/// Whether `version` of an existing function exists (`$LATEST` always does).
pub(crate) fn version_exists(tx: &dyn Tx, name: &FunctionName, version: Version) -> Result<bool> {
    match version {
        Version::Latest => Ok(true),
        Version::Published(n) => Ok(load_version(tx, name, n)?.is_some()),
    }
}

/// Publishes `$LATEST` as it stands in the transaction, per the shared publishing rule.
pub(crate) fn publish_latest(
    tx: &dyn Tx,
    name: &FunctionName,
    request: &PublishRequest,
) -> Result<FunctionConfig> {
    let (latest, last_number) = load_latest(tx, name)?.ok_or_else(|| not_found(name))?;
    let newest = newest_version(tx, name)?;
    match plan_publish(&latest, newest.as_ref(), last_number, request)? {
        None => Ok(newest.expect("plan_publish reuses only an existing version")),
        Some(version) => {
            let Version::Published(number) = version.version else {
                return Err(Error::internal("publish planned an unnumbered version"));
            };
            tx.execute(
                "INSERT INTO versions (function, version, config) VALUES (?1, ?2, ?3)",
                &[&name.as_str(), &(number as i64), &(to_json(&version)?)],
            )
            .map_err(sql)?;
            tx.execute(
                "UPDATE functions SET last_version = ?2 WHERE name = ?1",
                &[&name.as_str(), &(number as i64)],
            )
            .map_err(sql)?;
            Ok(version)
        }
    }
}

/// Tags belong to the function, so `$LATEST` and every version carry the same ones.
fn set_tags(tx: &dyn Tx, name: &FunctionName, tags: &Tags) -> Result<()> {
    let tags = to_json(tags)?;
    let with_tags = |column: &str| match tx.dialect() {
        Dialect::Sqlite => format!("json_set({column}, '$.tags', json(?2))"),
        Dialect::Postgres => {
            format!("CAST(jsonb_set(CAST({column} AS jsonb), '{{tags}}', CAST(?2 AS jsonb)) AS TEXT)")
        }
    };
    tx.execute(
        &format!("UPDATE functions SET latest = {} WHERE name = ?1", with_tags("latest")),
        &[&name.as_str(), &tags],
    )
    .map_err(sql)?;
    tx.execute(
        &format!("UPDATE versions SET config = {} WHERE function = ?1", with_tags("config")),
        &[&name.as_str(), &tags],
    )
    .map_err(sql)?;
    Ok(())
}

pub(crate) fn create(tx: &dyn Tx, latest: FunctionConfig, publish: bool) -> Result<FunctionConfig> {
    let name = latest.name.clone();
    let inserted = tx
        .execute(
            "INSERT INTO functions (name, latest) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
            &[&name.as_str(), &(to_json(&latest)?)],
        )
        .map_err(sql)?;
    if inserted == 0 {
        return Err(Error::Conflict(format!("Function already exist: {name}")));
    }
    if publish {
        publish_latest(tx, &name, &PublishRequest::default())
    } else {
        Ok(latest)
    }
}

pub(crate) fn get(tx: &dyn Tx, name: &FunctionName, version: Version) -> Result<Option<FunctionConfig>> {
    match version {
        Version::Latest => Ok(load_latest(tx, name)?.map(|(config, _)| config)),
        Version::Published(n) => load_version(tx, name, n),
    }
}

pub(crate) fn list(
    tx: &dyn Tx,
    all_versions: bool,
    marker: Option<String>,
    limit: usize,
) -> Result<Page<FunctionConfig>> {
    // Rows are ordered by (name, version) with `$LATEST` as version 0; the marker is the
    // last row's "name:version".
    let (after_name, after_version) = match marker.as_deref().map(|m| m.rsplit_once(':')) {
        None => (String::new(), -1i64),
        Some(Some((name, version))) => (name.to_owned(), version.parse::<i64>().unwrap_or(i64::MAX)),
        Some(None) => return Err(Error::invalid("Invalid marker")),
    };
    let rows = tx.rows(
        &format!(
            "SELECT n, v, c FROM (SELECT name AS n, CAST(0 AS BIGINT) AS v, latest AS c FROM functions{}) AS listed
             WHERE n > ?1 OR (n = ?1 AND v > ?2) ORDER BY n, v LIMIT ?3",
            if all_versions { " UNION ALL SELECT function, version, config FROM versions" } else { "" },
        ),
        &[&after_name, &after_version, &((limit + 1) as i64)],
        |row| Ok((row.get::<String>(0)?, row.get::<i64>(1)?, row.get::<String>(2)?)),
    )?;
    let items = rows
        .into_iter()
        .map(|(name, version, raw)| Ok((name, version, from_json::<FunctionConfig>(&raw)?)))
        .collect::<Result<Vec<_>>>()?;
    let page = paginate(items, limit, |(name, version, _)| format!("{name}:{version}"));
    Ok(Page {
        items: page.items.into_iter().map(|(_, _, config)| config).collect(),
        next_marker: page.next_marker,
    })
}

pub(crate) fn list_versions(
    tx: &dyn Tx,
    name: &FunctionName,
    marker: Option<String>,
    limit: usize,
) -> Result<Page<FunctionConfig>> {
    let after = match marker.as_deref() {
        None => -1i64,
        Some(m) => m.parse::<i64>().map_err(|_| Error::invalid("Invalid marker"))?,
    };
    let latest = require_latest(tx, name)?;
    let mut items = Vec::new();
    if after < 0 {
        items.push(latest);
    }
    let rows = tx.rows(
        "SELECT config FROM versions WHERE function = ?1 AND version > ?2 ORDER BY version LIMIT ?3",
        &[&name.as_str(), &(after.max(0)), &((limit + 1) as i64)],
        |row| row.get::<String>(0),
    )?;
    for raw in rows {
        items.push(from_json(&raw)?);
    }
    Ok(paginate(items, limit, |c: &FunctionConfig| match c.version {
        Version::Latest => "0".to_owned(),
        Version::Published(n) => n.to_string(),
    }))
}

pub(crate) fn update_latest(
    tx: &dyn Tx,
    name: &FunctionName,
    update: LatestUpdate,
    publish: bool,
) -> Result<FunctionConfig> {
    let current = require_latest(tx, name)?;
    let next = update(&current)?;
    tx.execute("UPDATE functions SET latest = ?2 WHERE name = ?1", &[&name.as_str(), &(to_json(&next)?)])
        .map_err(sql)?;
    if publish {
        publish_latest(tx, name, &PublishRequest::default())
    } else {
        Ok(next)
    }
}

pub(crate) fn delete(tx: &dyn Tx, name: &FunctionName) -> Result<()> {
    let deleted = tx.execute("DELETE FROM functions WHERE name = ?1", &[&name.as_str()]).map_err(sql)?;
    if deleted == 0 {
        return Err(not_found(name));
    }
    Ok(())
}

pub(crate) fn tag(tx: &dyn Tx, name: &FunctionName, tags: Tags) -> Result<Tags> {
    let latest = require_latest(tx, name)?;
    validate_tags(&latest.tags, &tags)?;
    let mut all = latest.tags;
    all.extend(tags);
    set_tags(tx, name, &all)?;
    Ok(all)
}

pub(crate) fn untag(tx: &dyn Tx, name: &FunctionName, keys: &[String]) -> Result<Tags> {
    let mut all = require_latest(tx, name)?.tags;
    for key in keys {
        all.remove(key);
    }
    set_tags(tx, name, &all)?;
    Ok(all)
}

/// Stores `config` settled, with a new revision, if it is still the stored one (same
/// revision) and not settled yet.
fn settle_config(tx: &dyn Tx, config: FunctionConfig, revision_id: &str) -> Result<Option<FunctionConfig>> {
    if config.revision_id != revision_id {
        return Ok(None);
    }
    let Some(lifecycle) = config.lifecycle.settled() else {
        return Ok(None);
    };
    let settled = FunctionConfig { lifecycle, revision_id: FunctionConfig::new_revision_id(), ..config };
    let json = to_json(&settled)?;
    match settled.version {
        Version::Latest => {
            tx.execute("UPDATE functions SET latest = ?2 WHERE name = ?1", &[&settled.name.as_str(), &json])
        }
        Version::Published(n) => tx.execute(
            "UPDATE versions SET config = ?3 WHERE function = ?1 AND version = ?2",
            &[&settled.name.as_str(), &(n as i64), &json],
        ),
    }
    .map_err(sql)?;
    Ok(Some(settled))
}

pub(crate) fn settle(
    tx: &dyn Tx,
    name: &FunctionName,
    version: Version,
    revision_id: &str,
) -> Result<Option<FunctionConfig>> {
    match get(tx, name, version)? {
        Some(config) => settle_config(tx, config, revision_id),
        None => Ok(None),
    }
}

/// Settles every unsettled `$LATEST` and version. A settled record stores its lifecycle
/// as `Active`/`Successful`; records from before lifecycles have none (settled too).
pub(crate) fn settle_all(tx: &dyn Tx) -> Result<usize> {
    let unsettled = format!(
        "{} = 'Pending' OR {} = 'InProgress'",
        json_text(tx, "c", &["lifecycle", "state"]),
        json_text(tx, "c", &["lifecycle", "last_update"])
    );
    let rows = tx.rows(
        &format!(
            "SELECT c FROM (SELECT latest AS c FROM functions UNION ALL SELECT config FROM versions) AS records \
             WHERE {unsettled}"
        ),
        &[],
        |row| row.get::<String>(0),
    )?;
    let mut settled = 0;
    for raw in rows {
        let config: FunctionConfig = from_json(&raw)?;
        let revision = config.revision_id.clone();
        settled += usize::from(settle_config(tx, config, &revision)?.is_some());
    }
    Ok(settled)
}

/// Deletes a published version no alias points at.
pub(crate) fn delete_version(tx: &dyn Tx, name: &FunctionName, version: u64) -> Result<()> {
    require_function(tx, name)?;
    let aliases: Vec<String> = tx.rows(
        &format!(
            "SELECT name FROM aliases WHERE function = ?1 AND (version = ?2 OR {} = ?2) ORDER BY name",
            json_text(tx, "routing", &["version"]),
        ),
        &[&name.as_str(), &version.to_string()],
        |row| row.get(0),
    )?;
    if !aliases.is_empty() {
        return Err(Error::Conflict(format!(
            "Unable to delete version because the following aliases reference it: [{}]",
            aliases.join(", ")
        )));
    }
    let deleted = tx
        .execute(
            "DELETE FROM versions WHERE function = ?1 AND version = ?2",
            &[&name.as_str(), &(version as i64)],
        )
        .map_err(sql)?;
    if deleted == 0 {
        return Err(Error::NotFound(format!("Function not found: {name}:{version}")));
    }
    tx.execute(
        "DELETE FROM provisioned_concurrency WHERE function = ?1 AND qualifier = ?2",
        &[&name.as_str(), &version.to_string()],
    )
    .map_err(sql)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use alcove_core::{Store, TenantIsolationMode};

    use super::*;
    use crate::sql::testing::{config, name};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tags_belong_to_the_function_and_every_version() {
        for store in crate::sql::testing::stores().await {
            let f = name("tagged");
            store.create_function(config("tagged", "ab"), true).await.unwrap();
            let added: Tags = [
                ("team".to_string(), "blue".to_string()),
                ("alcove:network".to_string(), "egress".to_string()),
            ]
            .into();
            assert_eq!(store.tag_function(&f, added.clone()).await.unwrap(), added);
            for version in [Version::Latest, Version::Published(1)] {
                assert_eq!(store.get_function(&f, version).await.unwrap().unwrap().tags, added);
            }
            assert!(store
                .tag_function(&f, [("alcove:network".to_string(), "open".to_string())].into())
                .await
                .is_err());
            let left = store.untag_function(&f, vec!["team".into(), "absent".into()]).await.unwrap();
            assert_eq!(left.keys().collect::<Vec<_>>(), ["alcove:network"]);
            assert_eq!(store.get_function(&f, Version::Published(1)).await.unwrap().unwrap().tags, left);
            assert!(matches!(
                store.tag_function(&name("missing"), Tags::new()).await,
                Err(Error::NotFound(_))
            ));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn create_get_conflict_delete() {
        for store in crate::sql::testing::stores().await {
            let created = store.create_function(config("f", "aa"), false).await.unwrap();
            assert_eq!(store.get_function(&name("f"), Version::Latest).await.unwrap(), Some(created));
            assert!(matches!(store.create_function(config("f", "aa"), false).await, Err(Error::Conflict(_))));
            store.delete_function(&name("f")).await.unwrap();
            assert_eq!(store.get_function(&name("f"), Version::Latest).await.unwrap(), None);
            assert!(matches!(store.delete_function(&name("f")).await, Err(Error::NotFound(_))));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn publishing_numbers_versions_and_reuses_unchanged() {
        for store in crate::sql::testing::stores().await {
            let v1 = store.create_function(config("f", "aa"), true).await.unwrap();
            assert_eq!(v1.version, Version::Published(1));
            let again = store.publish_version(&name("f"), PublishRequest::default()).await.unwrap();
            assert_eq!(again.version, Version::Published(1));
            let update: LatestUpdate = Box::new(|c| {
                let mut next = c.clone();
                next.settings.timeout_secs = 30;
                Ok(next)
            });
            store.update_latest(&name("f"), update, false).await.unwrap();
            let v2 = store.publish_version(&name("f"), PublishRequest::default()).await.unwrap();
            assert_eq!(v2.version, Version::Published(2));
            assert_eq!(
                store
                    .get_function(&name("f"), Version::Published(1))
                    .await
                    .unwrap()
                    .unwrap()
                    .settings
                    .timeout_secs,
                3
            );
            assert_eq!(v2.tenancy, Some(TenantIsolationMode::PerTenant));
            // Numbers are never reused after a delete.
            store.delete_version(&name("f"), 2).await.unwrap();
            let update: LatestUpdate = Box::new(|c| {
                let mut next = c.clone();
                next.settings.timeout_secs = 60;
                Ok(next)
            });
            let v3 = store.update_latest(&name("f"), update, true).await.unwrap();
            assert_eq!(v3.version, Version::Published(3));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn publish_checks_preconditions() {
        for store in crate::sql::testing::stores().await {
            store.create_function(config("f", "aa"), false).await.unwrap();
            let wrong_revision =
                PublishRequest { expected_revision: Some("nope".into()), ..Default::default() };
            assert!(matches!(
                store.publish_version(&name("f"), wrong_revision).await,
                Err(Error::PreconditionFailed(_))
            ));
            let wrong_sha =
                PublishRequest { expected_code_sha256: Some("nope".into()), ..Default::default() };
            assert!(matches!(
                store.publish_version(&name("f"), wrong_sha).await,
                Err(Error::InvalidParameter(_))
            ));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn listing_pages_through_everything_once() {
        for store in crate::sql::testing::stores().await {
            for n in ["c", "a", "b", "e", "d"] {
                store.create_function(config(n, "aa"), n == "b").await.unwrap();
            }
            let mut seen = Vec::new();
            let mut marker = None;
            loop {
                let page = store.list_functions(false, marker, 2).await.unwrap();
                seen.extend(page.items.iter().map(|c| c.name.to_string()));
                marker = page.next_marker;
                if marker.is_none() {
                    break;
                }
            }
            assert_eq!(seen, ["a", "b", "c", "d", "e"]);
            let all = store.list_functions(true, None, 100).await.unwrap();
            let labels: Vec<String> = all.items.iter().map(|c| format!("{}:{}", c.name, c.version)).collect();
            assert_eq!(labels, ["a:$LATEST", "b:$LATEST", "b:1", "c:$LATEST", "d:$LATEST", "e:$LATEST"]);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lifecycles_settle_once_with_a_new_revision() {
        use alcove_core::Lifecycle;
        for store in crate::sql::testing::stores().await {
            let mut pending = config("f", "aa");
            pending.lifecycle = Lifecycle::creating();
            let created = store.create_function(pending, false).await.unwrap();
            // A stale revision settles nothing.
            assert_eq!(store.settle_lifecycle(&name("f"), Version::Latest, "stale").await.unwrap(), None);
            let settled = store
                .settle_lifecycle(&name("f"), Version::Latest, &created.revision_id)
                .await
                .unwrap()
                .unwrap();
            assert!(settled.lifecycle.is_settled());
            assert_ne!(settled.revision_id, created.revision_id);
            assert_eq!(store.get_function(&name("f"), Version::Latest).await.unwrap(), Some(settled.clone()));
            assert_eq!(
                store.settle_lifecycle(&name("f"), Version::Latest, &settled.revision_id).await.unwrap(),
                None
            );
            // What a stop left unsettled is settled at the next start; versions too.
            let version = store.publish_version(&name("f"), PublishRequest::default()).await.unwrap();
            assert_eq!(version.lifecycle, Lifecycle::creating());
            assert_eq!(store.settle_all_lifecycles().await.unwrap(), 1);
            let published = store.get_function(&name("f"), version.version).await.unwrap().unwrap();
            assert!(published.lifecycle.is_settled());
            assert_eq!(store.settle_all_lifecycles().await.unwrap(), 0);
        }
    }
}
