//! The live list of execution environments (`alcove envs`, `GET /alcove/v1/environments`).
//!
//! An environment appears once it has started and disappears when it is dropped: its
//! [`Registration`] removes it, so the list cannot keep an environment that is gone.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use alcove_core::{FunctionName, TenantId, Version};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvState {
    /// Running an invocation.
    Busy,
    /// Waiting for its next invocation.
    Idle,
    /// Idle, its processes stopped by the cgroup freezer (sandboxed environments).
    Frozen,
}

impl EnvState {
    pub fn as_str(self) -> &'static str {
        match self {
            EnvState::Busy => "busy",
            EnvState::Idle => "idle",
            EnvState::Frozen => "frozen",
        }
    }
}

#[derive(Debug, Clone)]
pub struct EnvironmentInfo {
    pub id: String,
    pub function: FunctionName,
    pub version: Version,
    pub tenant: Option<TenantId>,
    pub state: EnvState,
    pub started: SystemTime,
    pub invokes: u64,
    pub sandboxed: bool,
    /// The cgroup file holding the environment's current memory use, when sandboxed.
    pub memory_file: Option<PathBuf>,
}

impl EnvironmentInfo {
    /// Memory the environment uses now (its cgroup's charge), when known.
    pub fn memory_used_bytes(&self) -> Option<u64> {
        std::fs::read_to_string(self.memory_file.as_ref()?).ok()?.trim().parse().ok()
    }
}

#[derive(Default)]
pub struct Registry {
    entries: Mutex<BTreeMap<String, EnvironmentInfo>>,
}

/// An environment's place in the registry, held by the environment.
pub struct Registration {
    id: String,
    registry: Arc<Registry>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.registry.entries().remove(&self.id);
    }
}

impl Registry {
    fn entries(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, EnvironmentInfo>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn register(self: &Arc<Self>, info: EnvironmentInfo) -> Registration {
        let id = info.id.clone();
        self.entries().insert(id.clone(), info);
        Registration { id, registry: Arc::clone(self) }
    }

    pub fn update(&self, id: &str, state: EnvState, invokes: u64) {
        if let Some(info) = self.entries().get_mut(id) {
            info.state = state;
            info.invokes = invokes;
        }
    }

    pub fn list(&self) -> Vec<EnvironmentInfo> {
        self.entries().values().cloned().collect()
    }
}
