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

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str) -> EnvironmentInfo {
        EnvironmentInfo {
            id: id.into(),
            function: FunctionName::parse("f").unwrap(),
            version: Version::Latest,
            tenant: Some(TenantId::parse("acme").unwrap()),
            state: EnvState::Busy,
            started: SystemTime::now(),
            invokes: 0,
            sandboxed: true,
            memory_file: None,
        }
    }

    fn listed(registry: &Registry) -> Vec<(String, EnvState, u64)> {
        registry.list().into_iter().map(|i| (i.id, i.state, i.invokes)).collect()
    }

    #[test]
    fn an_environment_is_listed_while_its_registration_lives() {
        let registry = Arc::new(Registry::default());
        let b = registry.register(info("b"));
        let a = registry.register(info("a"));
        assert_eq!(listed(&registry), [("a".into(), EnvState::Busy, 0), ("b".into(), EnvState::Busy, 0)]);
        drop(b);
        assert_eq!(listed(&registry), [("a".into(), EnvState::Busy, 0)]);
        drop(a);
        assert!(registry.list().is_empty());
    }

    #[test]
    fn updates_change_state_and_count_of_that_environment_only() {
        let registry = Arc::new(Registry::default());
        let _a = registry.register(info("a"));
        let _b = registry.register(info("b"));
        registry.update("a", EnvState::Frozen, 3);
        assert_eq!(listed(&registry), [("a".into(), EnvState::Frozen, 3), ("b".into(), EnvState::Busy, 0)]);
    }

    #[test]
    fn an_update_after_the_environment_is_gone_does_not_bring_it_back() {
        let registry = Arc::new(Registry::default());
        drop(registry.register(info("gone")));
        registry.update("gone", EnvState::Idle, 1);
        assert!(registry.list().is_empty());
    }

    #[test]
    fn memory_is_read_from_the_cgroup_file_when_there_is_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("memory.current");
        std::fs::write(&file, "1048576\n").unwrap();
        let with_file = EnvironmentInfo { memory_file: Some(file), ..info("a") };
        assert_eq!(with_file.memory_used_bytes(), Some(1_048_576));
        assert_eq!(info("b").memory_used_bytes(), None);
        let missing = EnvironmentInfo { memory_file: Some(dir.path().join("absent")), ..info("c") };
        assert_eq!(missing.memory_used_bytes(), None);
    }
}
