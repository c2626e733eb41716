//! A fake resource type and fake services for the engine's tests: resources live in a
//! shared in-memory world the tests inspect, and properties steer failures (`Fail`,
//! `FailUpdate`, `FailDelete`), stalls (`Block`, a create or update that never ends;
//! `World::block_deletes`) and bugs (`Panic`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::resource::{Context, Provisioned, ResourceError, ResourceType};
use crate::services::{ServiceRequest, ServiceResponse, Services};

/// What exists, by physical id: `(type, properties)`.
#[derive(Default)]
pub struct World {
    pub live: BTreeMap<String, (String, Map<String, Value>)>,
    pub created: u64,
    /// Every operation in order: `create X`, `update X`, `delete X`.
    pub log: Vec<String>,
    /// Deletes started while set never end (a server killed mid-delete).
    pub block_deletes: bool,
}

pub type SharedWorld = Arc<Mutex<World>>;

pub struct FakeType {
    name: &'static str,
    pub world: SharedWorld,
}

impl FakeType {
    pub fn new(name: &str) -> FakeType {
        Self::in_world(name, SharedWorld::default())
    }

    pub fn in_world(name: &str, world: SharedWorld) -> FakeType {
        FakeType { name: Box::leak(name.to_owned().into_boxed_str()), world }
    }
}

fn flag(properties: &Map<String, Value>, name: &str) -> bool {
    properties.get(name).is_some_and(|v| v == &Value::Bool(true) || v == "true")
}

fn provisioned(id: &str, properties: &Map<String, Value>) -> Provisioned {
    let name = properties.get("Name").and_then(Value::as_str).unwrap_or(id).to_owned();
    Provisioned::new(id).with("Arn", format!("arn:fake:{id}")).with("Name", name)
}

#[async_trait]
impl ResourceType for FakeType {
    fn type_name(&self) -> &'static str {
        self.name
    }

    fn replaces_on_change(&self, property: &str) -> bool {
        property == "Name"
    }

    async fn create(
        &self,
        context: &Context<'_>,
        properties: &Map<String, Value>,
    ) -> Result<Provisioned, ResourceError> {
        if flag(properties, "Block") {
            std::future::pending::<()>().await;
        }
        if flag(properties, "Panic") {
            panic!("a resource type's bug");
        }
        if flag(properties, "Fail") {
            return Err(ResourceError::Service("Resource handler returned message: \"boom\"".into()));
        }
        let mut world = self.world.lock().unwrap();
        world.created += 1;
        let id = format!("{}-{}", context.logical_id, world.created);
        world.live.insert(id.clone(), (self.name.to_owned(), properties.clone()));
        world.log.push(format!("create {id}"));
        Ok(provisioned(&id, properties))
    }

    async fn update(
        &self,
        _context: &Context<'_>,
        current: &Provisioned,
        _old: &Map<String, Value>,
        new: &Map<String, Value>,
    ) -> Result<Provisioned, ResourceError> {
        if flag(new, "Block") {
            std::future::pending::<()>().await;
        }
        if flag(new, "FailUpdate") {
            return Err(ResourceError::Service("update refused".into()));
        }
        let mut world = self.world.lock().unwrap();
        world.live.insert(current.physical_id.clone(), (self.name.to_owned(), new.clone()));
        world.log.push(format!("update {}", current.physical_id));
        Ok(provisioned(&current.physical_id, new))
    }

    async fn delete(
        &self,
        _context: &Context<'_>,
        current: &Provisioned,
        properties: &Map<String, Value>,
    ) -> Result<(), ResourceError> {
        if flag(properties, "FailDelete") {
            return Err(ResourceError::Service("delete refused".into()));
        }
        let blocked = self.world.lock().unwrap().block_deletes;
        if blocked {
            std::future::pending::<()>().await;
        }
        let mut world = self.world.lock().unwrap();
        world.log.push(format!("delete {}", current.physical_id));
        match world.live.remove(&current.physical_id) {
            Some(_) => Ok(()),
            None => Err(ResourceError::NotFound("gone".into())),
        }
    }
}

/// Services that answer every call with an empty success.
pub struct NoServices;

#[async_trait]
impl Services for NoServices {
    async fn call(&self, _request: ServiceRequest) -> ServiceResponse {
        ServiceResponse { status: 200, headers: Vec::new(), body: bytes::Bytes::new() }
    }
}

/// A resource operation's context in stack `stack` for resource `logical_id`, in
/// `us-east-1` of account `000000000000`.
pub fn context<'a>(services: &'a dyn Services, stack: &'a str, logical_id: &'a str) -> Context<'a> {
    Context {
        services,
        region: "us-east-1",
        account_id: "000000000000",
        stack_name: stack,
        stack_id: "arn:aws:cloudformation:us-east-1:000000000000:stack/test/1",
        logical_id,
        claim: None,
    }
}
