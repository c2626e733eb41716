//! The contract between the engine and a resource type. The engine resolves a resource's
//! properties (every intrinsic evaluated, `AWS::NoValue` removed) and decides *what* to do
//! — create, update in place, replace, delete — from the type's replacement rules; the
//! type only knows *how*, by calling its service's public API through [`Services`].

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::services::Services;

/// Where a resource operation runs: the stack it belongs to and the services to call.
pub struct Context<'a> {
    pub services: &'a dyn Services,
    pub region: &'a str,
    pub account_id: &'a str,
    pub stack_name: &'a str,
    pub stack_id: &'a str,
    pub logical_id: &'a str,
    /// Where [`Context::claim`] records a physical id (`None` where nothing is to be
    /// recorded early, e.g. the new copy of a replaced resource).
    pub claim: Option<&'a (dyn Fn(&str) + Send + Sync)>,
}

impl Context<'_> {
    /// Records the physical id of what a create has just made, before the create goes on
    /// (a function still settling): a server killed meanwhile then finds it, and the
    /// stack's rollback on restart deletes it rather than leaving it behind. Called only
    /// once the service made the resource, so a name taken by someone else is never
    /// claimed.
    pub fn claim(&self, physical_id: &str) {
        if let Some(record) = self.claim {
            record(physical_id);
        }
    }

    /// The name CloudFormation gives a resource whose template names none:
    /// `{stack}-{logical id}-{12 random upper-case letters and digits}`, with the stack and
    /// logical parts shortened so that the whole fits `max_len`.
    pub fn generated_name(&self, max_len: usize) -> String {
        let suffix: String =
            uuid::Uuid::new_v4().simple().to_string().to_ascii_uppercase().chars().take(12).collect();
        let room = max_len.saturating_sub(suffix.len() + 2);
        let stack_room = room / 2;
        let stack: String = self.stack_name.chars().take(stack_room).collect();
        let logical: String = self.logical_id.chars().take(room - stack.len()).collect();
        format!("{stack}-{logical}-{suffix}")
    }
}

/// What a created or updated resource is known by.
#[derive(Debug, Clone, PartialEq)]
pub struct Provisioned {
    /// The physical id; also what `Ref` returns.
    pub physical_id: String,
    /// What `Fn::GetAtt` can read (`Arn`, `RootResourceId`, ...).
    pub attributes: Map<String, Value>,
}

impl Provisioned {
    pub fn new(physical_id: impl Into<String>) -> Self {
        Provisioned { physical_id: physical_id.into(), attributes: Map::new() }
    }

    pub fn with(mut self, attribute: &str, value: impl Into<Value>) -> Self {
        self.attributes.insert(attribute.to_owned(), value.into());
        self
    }
}

/// Why a resource operation failed; the message is what `DescribeStackEvents` shows as
/// the resource's `ResourceStatusReason`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ResourceError {
    /// A property the type does not accept or a required one missing (found before any
    /// call was made).
    #[error("{0}")]
    InvalidProperties(String),
    /// The service refused or failed the call; the message carries its error code and
    /// message, as CloudFormation reports them.
    #[error("{0}")]
    Service(String),
    /// The resource is already gone (a delete treats it as success).
    #[error("{0}")]
    NotFound(String),
}

/// One resource type (`AWS::Lambda::Function`, ...).
#[async_trait]
pub trait ResourceType: Send + Sync + 'static {
    /// The type name as templates write it.
    fn type_name(&self) -> &'static str;

    /// Whether a change to this top-level property replaces the resource (a new physical
    /// resource is created, then the old one deleted) rather than updating it in place.
    fn replaces_on_change(&self, property: &str) -> bool;

    /// Creates the resource from its resolved properties.
    async fn create(
        &self,
        context: &Context<'_>,
        properties: &Map<String, Value>,
    ) -> Result<Provisioned, ResourceError>;

    /// Updates the resource in place from `old` to `new` properties (only called when no
    /// changed property requires replacement).
    async fn update(
        &self,
        context: &Context<'_>,
        current: &Provisioned,
        old: &Map<String, Value>,
        new: &Map<String, Value>,
    ) -> Result<Provisioned, ResourceError>;

    /// Deletes the resource; a resource already gone is success.
    async fn delete(
        &self,
        context: &Context<'_>,
        current: &Provisioned,
        properties: &Map<String, Value>,
    ) -> Result<(), ResourceError>;
}
