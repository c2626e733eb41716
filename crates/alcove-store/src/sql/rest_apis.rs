//! API Gateway REST APIs in SQLite: one JSON document per API (its whole resource tree),
//! one per deployment (a frozen copy of that document) and one per stage. Each function
//! here runs inside the caller's transaction, so a change is all or nothing; the other
//! feature modules follow the same pattern.

use alcove_core::apigateway::{
    api_not_found, deployment_not_found, stage_not_found, Deployment, RestApi, Stage,
};
use alcove_core::{DeploymentRequest, Error, Page, RestApiUpdate, Result, StageLookup, StageUpdate};
use alcove_sql::{ToParam, Tx};

use super::rows::{from_json, paginate, sql, to_json, Query};

/// The JSON document `query` selects, if any.
fn document<T: serde::de::DeserializeOwned>(
    tx: &dyn Tx,
    query: &str,
    args: &[&dyn ToParam],
) -> Result<Option<T>> {
    tx.row_opt(query, args, |row| row.get::<String>(0))?.map(|raw| from_json(&raw)).transpose()
}

/// Every JSON document `query` selects.
fn documents<T: serde::de::DeserializeOwned>(
    tx: &dyn Tx,
    query: &str,
    args: &[&dyn ToParam],
) -> Result<Vec<T>> {
    let rows = tx.rows(query, args, |row| row.get::<String>(0))?;
    rows.iter().map(|raw| from_json(raw)).collect()
}

fn load(tx: &dyn Tx, id: &str) -> Result<Option<RestApi>> {
    document(tx, "SELECT doc FROM rest_apis WHERE id = ?1", &[&id])
}

fn require(tx: &dyn Tx, id: &str) -> Result<RestApi> {
    load(tx, id)?.ok_or_else(|| api_not_found(id))
}

fn save(tx: &dyn Tx, api: &RestApi) -> Result<()> {
    tx.execute("UPDATE rest_apis SET doc = ?2 WHERE id = ?1", &[&api.id, &(to_json(api)?)]).map_err(sql)?;
    Ok(())
}

pub(crate) fn create(tx: &dyn Tx, api: RestApi) -> Result<RestApi> {
    let inserted = tx
        .execute(
            "INSERT INTO rest_apis (id, doc) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
            &[&api.id, &(to_json(&api)?)],
        )
        .map_err(sql)?;
    if inserted == 0 {
        return Err(Error::Conflict(format!("A REST API with id {} already exists", api.id)));
    }
    Ok(api)
}

pub(crate) fn get(tx: &dyn Tx, id: &str) -> Result<Option<RestApi>> {
    load(tx, id)
}

pub(crate) fn list(tx: &dyn Tx, marker: Option<String>, limit: usize) -> Result<Page<RestApi>> {
    let apis: Vec<RestApi> = documents(
        tx,
        "SELECT doc FROM rest_apis WHERE id > ?1 ORDER BY id LIMIT ?2",
        &[&marker.unwrap_or_default(), &((limit + 1) as i64)],
    )?;
    Ok(paginate(apis, limit, |api| api.id.clone()))
}

pub(crate) fn update(tx: &dyn Tx, id: &str, update: RestApiUpdate) -> Result<RestApi> {
    let mut api = require(tx, id)?;
    update(&mut api)?;
    api.id = id.to_owned();
    save(tx, &api)?;
    Ok(api)
}

pub(crate) fn delete(tx: &dyn Tx, id: &str) -> Result<()> {
    // Stages first: they reference deployments.
    tx.execute("DELETE FROM rest_api_stages WHERE api = ?1", &[&id]).map_err(sql)?;
    let deleted = tx.execute("DELETE FROM rest_apis WHERE id = ?1", &[&id]).map_err(sql)?;
    if deleted == 0 {
        return Err(api_not_found(id));
    }
    Ok(())
}

fn load_stage(tx: &dyn Tx, api_id: &str, name: &str) -> Result<Option<Stage>> {
    document(tx, "SELECT doc FROM rest_api_stages WHERE api = ?1 AND name = ?2", &[&api_id, &name])
}

fn save_stage(tx: &dyn Tx, api_id: &str, stage: &Stage) -> Result<()> {
    tx.execute(
        "INSERT INTO rest_api_stages (api, name, deployment, doc) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (api, name) DO UPDATE SET deployment = excluded.deployment, doc = excluded.doc",
        &[&api_id, &stage.name.as_str(), &stage.deployment_id, &(to_json(stage)?)],
    )
    .map_err(sql)?;
    Ok(())
}

fn load_deployment(tx: &dyn Tx, api_id: &str, id: &str) -> Result<Option<Deployment>> {
    document(tx, "SELECT doc FROM rest_api_deployments WHERE api = ?1 AND id = ?2", &[&api_id, &id])
}

pub(crate) fn create_deployment(tx: &dyn Tx, api_id: &str, request: DeploymentRequest) -> Result<Deployment> {
    let api = require(tx, api_id)?;
    api.check_deployable()?;
    let deployment = Deployment {
        id: request.id,
        description: request.description,
        created_date: request.created_date,
        api,
    };
    let inserted = tx
        .execute(
            "INSERT INTO rest_api_deployments (api, id, created, doc) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            &[&api_id, &deployment.id, &deployment.created_date, &(to_json(&deployment)?)],
        )
        .map_err(sql)?;
    if inserted == 0 {
        return Err(Error::Conflict(format!("Deployment {} already exists", deployment.id)));
    }
    if let Some(wanted) = request.stage {
        let stage = match load_stage(tx, api_id, wanted.name.as_str())? {
            Some(mut stage) => {
                stage.deployment_id = deployment.id.clone();
                stage.last_updated_date = deployment.created_date;
                if let Some(description) = wanted.description {
                    stage.description = Some(description);
                }
                if let Some(variables) = wanted.variables {
                    stage.variables = variables;
                }
                stage
            }
            None => Stage {
                name: wanted.name,
                deployment_id: deployment.id.clone(),
                description: wanted.description,
                variables: wanted.variables.unwrap_or_default(),
                tags: Default::default(),
                method_settings: Default::default(),
                created_date: deployment.created_date,
                last_updated_date: deployment.created_date,
            },
        };
        save_stage(tx, api_id, &stage)?;
    }
    Ok(deployment)
}

pub(crate) fn get_deployment(tx: &dyn Tx, api_id: &str, id: &str) -> Result<Deployment> {
    require(tx, api_id)?;
    load_deployment(tx, api_id, id)?.ok_or_else(deployment_not_found)
}

pub(crate) fn list_deployments(tx: &dyn Tx, api_id: &str) -> Result<Vec<Deployment>> {
    require(tx, api_id)?;
    documents(tx, "SELECT doc FROM rest_api_deployments WHERE api = ?1 ORDER BY created, id", &[&api_id])
}

pub(crate) fn delete_deployment(tx: &dyn Tx, api_id: &str, id: &str) -> Result<()> {
    require(tx, api_id)?;
    let in_use: i64 = tx.row_one(
        "SELECT COUNT(*) FROM rest_api_stages WHERE api = ?1 AND deployment = ?2",
        &[&api_id, &id],
        |row| row.get(0),
    )?;
    if in_use > 0 {
        return Err(Error::invalid("Active stages pointing to this deployment must be moved or deleted"));
    }
    let deleted = tx
        .execute("DELETE FROM rest_api_deployments WHERE api = ?1 AND id = ?2", &[&api_id, &id])
        .map_err(sql)?;
    if deleted == 0 {
        return Err(deployment_not_found());
    }
    Ok(())
}

pub(crate) fn create_stage(tx: &dyn Tx, api_id: &str, stage: Stage) -> Result<Stage> {
    require(tx, api_id)?;
    load_deployment(tx, api_id, &stage.deployment_id)?.ok_or_else(deployment_not_found)?;
    if load_stage(tx, api_id, stage.name.as_str())?.is_some() {
        return Err(Error::Conflict("Stage already exists".into()));
    }
    save_stage(tx, api_id, &stage)?;
    Ok(stage)
}

pub(crate) fn get_stage(tx: &dyn Tx, api_id: &str, name: &str) -> Result<Stage> {
    require(tx, api_id)?;
    load_stage(tx, api_id, name)?.ok_or_else(stage_not_found)
}

pub(crate) fn update_stage(
    tx: &dyn Tx,
    api_id: &str,
    name: &str,
    update: StageUpdate,
    now: i64,
) -> Result<Stage> {
    require(tx, api_id)?;
    let mut stage = load_stage(tx, api_id, name)?.ok_or_else(stage_not_found)?;
    let stage_name = stage.name.clone();
    update(&mut stage)?;
    stage.name = stage_name;
    if load_deployment(tx, api_id, &stage.deployment_id)?.is_none() {
        return Err(Error::invalid("Deployment id does not exist"));
    }
    stage.last_updated_date = now;
    save_stage(tx, api_id, &stage)?;
    Ok(stage)
}

pub(crate) fn list_stages(tx: &dyn Tx, api_id: &str, deployment_id: Option<String>) -> Result<Vec<Stage>> {
    require(tx, api_id)?;
    documents(
        tx,
        "SELECT doc FROM rest_api_stages WHERE api = ?1 AND (CAST(?2 AS TEXT) IS NULL OR deployment = ?2) ORDER BY name",
        &[&api_id, &deployment_id],
    )
}

pub(crate) fn delete_stage(tx: &dyn Tx, api_id: &str, name: &str) -> Result<()> {
    require(tx, api_id)?;
    let deleted = tx
        .execute("DELETE FROM rest_api_stages WHERE api = ?1 AND name = ?2", &[&api_id, &name])
        .map_err(sql)?;
    if deleted == 0 {
        return Err(stage_not_found());
    }
    Ok(())
}

pub(crate) fn deployed_stage(tx: &dyn Tx, api_id: &str, name: &str) -> Result<StageLookup> {
    let exists = tx.row_opt("SELECT 1 FROM rest_apis WHERE id = ?1", &[&api_id], |_| Ok(()))?.is_some();
    if !exists {
        return Ok(StageLookup::NoApi);
    }
    let Some(stage) = load_stage(tx, api_id, name)? else { return Ok(StageLookup::NoStage) };
    let deployment = load_deployment(tx, api_id, &stage.deployment_id)?
        .ok_or_else(|| Error::internal(format!("stage {name} of API {api_id} names a missing deployment")))?;
    Ok(StageLookup::Deployed { stage, deployment: Box::new(deployment) })
}

#[cfg(test)]
mod tests {
    use alcove_core::apigateway::{Integration, Method, StageName};
    use alcove_core::{StageRequest, Store};

    use crate::SqlStore;

    use super::*;

    fn proxy() -> Integration {
        Integration::lambda_proxy(
            "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/f/invocations",
        )
    }

    fn deploy(id: &str, stage: &str) -> DeploymentRequest {
        DeploymentRequest {
            id: id.into(),
            description: None,
            created_date: 1,
            stage: Some(StageRequest {
                name: StageName::parse(stage).unwrap(),
                description: None,
                variables: None,
            }),
        }
    }

    /// An API with `GET /` integrated, ready to deploy.
    async fn deployable(store: &SqlStore) -> RestApi {
        let api = store.create_rest_api(RestApi::new("api1".into(), "n".into(), 0)).await.unwrap();
        let root = api.root_resource_id.clone();
        store
            .update_rest_api(
                "api1",
                Box::new(move |api| {
                    api.put_method(&root, Method::new("GET"))?;
                    api.put_integration(&root, "GET", proxy()).map(drop)
                }),
            )
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn updates_are_all_or_nothing() {
        for store in crate::sql::testing::stores().await {
            let api = store.create_rest_api(RestApi::new("api1".into(), "n".into(), 0)).await.unwrap();
            let root = api.root_resource_id.clone();
            let failed = store
                .update_rest_api(
                    "api1",
                    Box::new(move |api| {
                        api.add_resource(&root, "users")?;
                        api.add_resource(&root, "users").map(drop)
                    }),
                )
                .await;
            assert!(matches!(failed, Err(Error::Conflict(_))));
            assert_eq!(store.get_rest_api("api1").await.unwrap(), Some(api));
            assert!(matches!(
                store.update_rest_api("nope", Box::new(|_| Ok(()))).await,
                Err(Error::NotFound(_))
            ));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deployments_snapshot_the_api() {
        for store in crate::sql::testing::stores().await {
            let empty = store.create_rest_api(RestApi::new("empty".into(), "n".into(), 0)).await.unwrap();
            assert!(matches!(
                store.create_deployment(&empty.id, deploy("d0", "prod")).await,
                Err(Error::InvalidParameter(_))
            ));
            let api = deployable(&store).await;
            store.create_deployment("api1", deploy("d1", "prod")).await.unwrap();
            // A change after the deployment is not in the stage until the next deployment.
            let root = api.root_resource_id.clone();
            store
                .update_rest_api("api1", Box::new(move |api| api.add_resource(&root, "later").map(drop)))
                .await
                .unwrap();
            let StageLookup::Deployed { stage, deployment } =
                store.deployed_stage("api1", "prod").await.unwrap()
            else {
                panic!("prod should be deployed")
            };
            assert_eq!((stage.deployment_id.as_str(), deployment.id.as_str()), ("d1", "d1"));
            assert!(deployment.api.resource_by_path("/later").is_none());
            store.create_deployment("api1", deploy("d2", "prod")).await.unwrap();
            let StageLookup::Deployed { deployment, .. } =
                store.deployed_stage("api1", "prod").await.unwrap()
            else {
                panic!("prod should be deployed")
            };
            assert!(deployment.api.resource_by_path("/later").is_some());
            assert!(matches!(store.deployed_stage("api1", "dev").await.unwrap(), StageLookup::NoStage));
            assert!(matches!(store.deployed_stage("nope", "prod").await.unwrap(), StageLookup::NoApi));
            assert_eq!(store.list_deployments("api1").await.unwrap().len(), 2);
            assert_eq!(store.list_stages("api1", Some("d1".into())).await.unwrap().len(), 0);
            // d2 is served by prod; d1 is not.
            assert!(store.delete_deployment("api1", "d2").await.is_err());
            store.delete_deployment("api1", "d1").await.unwrap();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stage_update_is_saved_whole_and_must_name_a_deployment() {
        for store in crate::sql::testing::stores().await {
            deployable(&store).await;
            store.create_deployment("api1", deploy("d1", "prod")).await.unwrap();
            let updated = store
                .update_stage(
                    "api1",
                    "prod",
                    Box::new(|stage| {
                        stage.description = Some("tuned".into());
                        stage.method_settings.insert("*/*".into(), Default::default());
                        Ok(())
                    }),
                )
                .await
                .unwrap();
            assert_eq!(store.get_stage("api1", "prod").await.unwrap(), updated);
            assert!(updated.last_updated_date > 1);
            let moved = store
                .update_stage(
                    "api1",
                    "prod",
                    Box::new(|stage| {
                        stage.description = None;
                        stage.deployment_id = "nope".into();
                        Ok(())
                    }),
                )
                .await;
            assert!(matches!(moved, Err(Error::InvalidParameter(m)) if m == "Deployment id does not exist"));
            assert_eq!(
                store.get_stage("api1", "prod").await.unwrap(),
                updated,
                "nothing of a refused update is kept"
            );
            assert!(matches!(
                store.update_stage("api1", "dev", Box::new(|_| Ok(()))).await,
                Err(Error::NotFound(_))
            ));
        }
    }

    #[tokio::test]
    async fn deleting_an_api_takes_its_stages_and_deployments() {
        let dir = tempfile::tempdir().unwrap();
        let location = alcove_sql::Location::Sqlite(dir.path().to_owned());
        {
            let store = SqlStore::open(&location).await.unwrap();
            deployable(&store).await;
            store.create_deployment("api1", deploy("d1", "prod")).await.unwrap();
        }
        let store = SqlStore::open(&location).await.unwrap();
        assert!(matches!(store.deployed_stage("api1", "prod").await.unwrap(), StageLookup::Deployed { .. }));
        store.delete_rest_api("api1").await.unwrap();
        assert!(matches!(store.deployed_stage("api1", "prod").await.unwrap(), StageLookup::NoApi));
        assert!(matches!(store.get_stage("api1", "prod").await, Err(Error::NotFound(_))));
        assert!(matches!(store.delete_rest_api("api1").await, Err(Error::NotFound(_))));
        assert!(store.list_rest_apis(None, 10).await.unwrap().items.is_empty());
    }
}
