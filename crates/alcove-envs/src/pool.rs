//! The bookkeeping of environments: which idle environment an invoke gets, when a new one
//! may start, which idle one is evicted to make room, which are reaped or retired.
//!
//! These rules decide isolation (an environment is handed out only to its own key, so
//! never to another tenant) and availability (the cap on environments, least recently
//! used first out), so they are kept apart from the processes they count: [`Pools`] is
//! generic over the environment, and is tested with a fake one. The manager holds it
//! under its lock and does the starting, invoking and shutting down.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use alcove_core::{FunctionName, Version};

use crate::environment::Environment;
use crate::key::EnvKey;

/// What the pools need to know of an environment.
pub(crate) trait Pooled {
    fn key(&self) -> &EnvKey;
    fn id(&self) -> &str;
    /// The epoch it was started under (see [`Pools::epoch`]).
    fn epoch(&self) -> (u64, u64);
    /// When its last invoke ended (or it started).
    fn last_used(&self) -> Instant;
    /// Whether it keeps its key's provisioned concurrency ready.
    fn provisioned(&self) -> bool;
}

impl Pooled for Environment {
    fn key(&self) -> &EnvKey {
        &self.key
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn epoch(&self) -> (u64, u64) {
        self.epoch
    }

    fn last_used(&self) -> Instant {
        self.last_used
    }

    fn provisioned(&self) -> bool {
        self.provisioned
    }
}

/// The provisioned environments of one key.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProvisionedCount {
    /// How many are to be kept.
    pub target: usize,
    /// Alive: starting, idle or busy.
    pub alive: usize,
    /// Of those, still initialising.
    pub starting: usize,
}
#[derive(Debug)]
pub(crate) enum Claim<E> {
    /// In this idle environment of its key, the most recently used one.
    Warm(E),
    /// In a new environment, to be started under `epoch`; its place is counted already
    /// (give it back with [`Pools::start_failed`] if it does not start). `evicted` was
    /// taken out of the pools to make room, and is to be shut down.
    Cold { epoch: (u64, u64), evicted: Option<E> },
    /// Nowhere: every environment is busy and the cap is reached.
    AtCapacity,
    /// Nowhere: the function has as many environments as its cap allows, busy or idle (the
    /// tenant environment quota of `PER_TENANT` functions; idle environments of other
    /// tenants are not evicted for it).
    FunctionAtCapacity,
}

pub(crate) struct Pools<E> {
    /// Idle environments per key, most recently used last.
    idle: HashMap<EnvKey, Vec<E>>,
    /// Environments alive: idle, busy or starting.
    alive: usize,
    /// The same, per function.
    alive_per_function: HashMap<FunctionName, usize>,
    /// Bumped when a function, or one of its versions, changes or goes away; an
    /// environment started under an older epoch is not reused.
    epochs: HashMap<FunctionName, u64>,
    version_epochs: HashMap<(FunctionName, Version), u64>,
    /// Idle provisioned environments per key, apart from `idle`: never evicted or reaped.
    provisioned_idle: HashMap<EnvKey, Vec<E>>,
    provisioned: HashMap<EnvKey, ProvisionedCount>,
}

impl<E> Default for Pools<E> {
    fn default() -> Self {
        Pools {
            provisioned_idle: HashMap::new(),
            provisioned: HashMap::new(),
            idle: HashMap::new(),
            alive: 0,
            alive_per_function: HashMap::new(),
            epochs: HashMap::new(),
            version_epochs: HashMap::new(),
        }
    }
}

/// Whether an environment idle since `last_used` has outstayed `idle_timeout` at `now`.
fn expired(now: Instant, last_used: Instant, idle_timeout: Duration) -> bool {
    now.duration_since(last_used) >= idle_timeout
}

impl<E: Pooled> Pools<E> {
    /// The epoch an environment of `key` is current under: (function, version) pair.
    pub fn epoch(&self, key: &EnvKey) -> (u64, u64) {
        let function = self.epochs.get(key.function()).copied().unwrap_or(0);
        let version = self.version_epochs.get(&(key.function().clone(), key.version())).copied().unwrap_or(0);
        (function, version)
    }

    /// Finds an invoke of `key` an environment: the most recently used idle one of that
    /// key (the warmest), else room for a new one, evicting the least recently used idle
    /// environment of any key when `max_environments` are alive.
    #[cfg(test)]
    pub fn claim(&mut self, key: &EnvKey, max_environments: usize) -> Claim<E> {
        self.claim_within(key, max_environments, None)
    }

    /// [`Pools::claim`], with at most `function_cap` environments of the key's function
    /// alive: when it has that many, a new one is refused even if some are idle.
    pub fn claim_within(
        &mut self,
        key: &EnvKey,
        max_environments: usize,
        function_cap: Option<usize>,
    ) -> Claim<E> {
        let epoch = self.epoch(key);
        // A ready provisioned environment first: that is what it is kept for.
        if let Some(env) = pop(&mut self.provisioned_idle, key) {
            return Claim::Warm(env);
        }
        let warm = self.idle.get_mut(key).and_then(Vec::pop);
        if self.idle.get(key).is_some_and(Vec::is_empty) {
            self.idle.remove(key);
        }
        if let Some(env) = warm {
            return Claim::Warm(env);
        }
        if function_cap.is_some_and(|cap| self.alive_of(key.function()) >= cap) {
            return Claim::FunctionAtCapacity;
        }
        let mut evicted = None;
        if self.alive >= max_environments {
            evicted = self.take_least_recently_used();
            if evicted.is_none() {
                return Claim::AtCapacity;
            }
        }
        self.alive += 1;
        *self.alive_per_function.entry(key.function().clone()).or_default() += 1;
        Claim::Cold { epoch, evicted }
    }

    /// Room for one more provisioned environment of `key`, evicting the least recently
    /// used (non-provisioned) idle environment when `max_environments` are alive.
    /// Provisioned environments count among `max_environments` like any other.
    pub fn claim_provisioned(&mut self, key: &EnvKey, max_environments: usize) -> Claim<E> {
        let mut evicted = None;
        if self.alive >= max_environments {
            evicted = self.take_least_recently_used();
            if evicted.is_none() {
                return Claim::AtCapacity;
            }
        }
        self.alive += 1;
        *self.alive_per_function.entry(key.function().clone()).or_default() += 1;
        let count = self.provisioned.entry(key.clone()).or_default();
        count.alive += 1;
        count.starting += 1;
        Claim::Cold { epoch: self.epoch(key), evicted }
    }

    /// A provisioned environment of `key` finished initialising, or failed to (`started`
    /// false: its place is given back).
    pub fn provisioned_started(&mut self, key: &EnvKey, started: bool) {
        if let Some(count) = self.provisioned.get_mut(key) {
            count.starting = count.starting.saturating_sub(1);
            if !started {
                count.alive = count.alive.saturating_sub(1);
            }
        }
        if !started {
            self.forget(key.function(), 1);
        }
        self.drop_unused_count(key);
    }

    /// How many provisioned environments `key` is to keep.
    pub fn set_provisioned_target(&mut self, key: &EnvKey, target: usize) {
        self.provisioned.entry(key.clone()).or_default().target = target;
        self.drop_unused_count(key);
    }

    pub fn provisioned_count(&self, key: &EnvKey) -> ProvisionedCount {
        self.provisioned.get(key).copied().unwrap_or_default()
    }

    /// Idle provisioned environments of `key` now.
    pub fn provisioned_idle(&self, key: &EnvKey) -> usize {
        self.provisioned_idle.get(key).map_or(0, Vec::len)
    }

    /// Takes out up to `count` idle provisioned environments of `key`, to be shut down.
    pub fn take_provisioned(&mut self, key: &EnvKey, count: usize) -> Vec<E> {
        let mut taken = Vec::new();
        while taken.len() < count {
            let Some(env) = pop(&mut self.provisioned_idle, key) else { break };
            taken.push(env);
        }
        self.forget_all(&taken);
        taken
    }

    /// Takes out the idle provisioned environments of keys no longer provisioned.
    pub fn drain_unwanted_provisioned(&mut self) -> Vec<E> {
        let unwanted: Vec<EnvKey> = self
            .provisioned_idle
            .keys()
            .filter(|k| self.provisioned.get(*k).is_none_or(|c| c.target == 0))
            .cloned()
            .collect();
        let envs: Vec<E> =
            unwanted.iter().filter_map(|k| self.provisioned_idle.remove(k)).flatten().collect();
        self.forget_all(&envs);
        envs
    }

    fn drop_unused_count(&mut self, key: &EnvKey) {
        if self.provisioned.get(key).is_some_and(|c| *c == ProvisionedCount::default()) {
            self.provisioned.remove(key);
        }
    }

    /// Gives back the place of a [`Claim::Cold`] environment of `key` that did not start.
    pub fn start_failed(&mut self, key: &EnvKey) {
        self.forget(key.function(), 1);
    }

    /// Environments of `function` alive (idle, busy or starting).
    pub fn alive_of(&self, function: &FunctionName) -> usize {
        self.alive_per_function.get(function).copied().unwrap_or(0)
    }

    /// Takes `count` environments of `function` out of the counts.
    fn forget(&mut self, function: &FunctionName, count: usize) {
        self.alive -= count;
        if let Some(alive) = self.alive_per_function.get_mut(function) {
            *alive = alive.saturating_sub(count);
            if *alive == 0 {
                self.alive_per_function.remove(function);
            }
        }
    }

    fn forget_all(&mut self, envs: &[E]) {
        for env in envs {
            self.forget_env(env);
        }
    }

    /// Takes one environment out of the counts, provisioned ones out of their key's too.
    fn forget_env(&mut self, env: &E) {
        self.forget(&env.key().function().clone(), 1);
        if env.provisioned() {
            if let Some(count) = self.provisioned.get_mut(env.key()) {
                count.alive = count.alive.saturating_sub(1);
            }
            self.drop_unused_count(&env.key().clone());
        }
    }

    /// Removes the least recently used idle environment of any key. Within a key the
    /// first idle is the oldest; between keys with the same time, any one of them.
    fn take_least_recently_used(&mut self) -> Option<E> {
        let key = self
            .idle
            .iter()
            .filter_map(|(key, envs)| envs.first().map(|e| (key, e.last_used())))
            .min_by_key(|(_, used)| *used)
            .map(|(key, _)| key.clone())?;
        let envs = self.idle.get_mut(&key)?;
        let env = envs.remove(0);
        if envs.is_empty() {
            self.idle.remove(&key);
        }
        self.forget(key.function(), 1);
        Some(env)
    }

    /// Takes back an environment after its invoke: idle again if it survived the invoke
    /// and its function was not retired meanwhile (returned, now the key's most recently
    /// used), else out of the count (returned as the error, to be shut down).
    pub fn give_back(&mut self, env: E, reusable: bool) -> Result<&E, E> {
        let current = reusable && env.epoch() == self.epoch(env.key());
        // A provisioned environment beyond its key's target (lowered or deleted while it
        // was busy) is shut down rather than kept.
        let wanted = !env.provisioned() || {
            let count = self.provisioned_count(env.key());
            count.alive <= count.target
        };
        if !(current && wanted) {
            self.forget_env(&env);
            return Err(env);
        }
        let pool = if env.provisioned() { &mut self.provisioned_idle } else { &mut self.idle };
        let envs = pool.entry(env.key().clone()).or_default();
        envs.push(env);
        Ok(envs.last().expect("just pushed"))
    }

    /// Retires the environments of one version of `function`, or of all its versions:
    /// returns the idle ones, and makes the busy ones current under an older epoch, so
    /// that [`Pools::give_back`] refuses them.
    pub fn retire(&mut self, function: &FunctionName, version: Option<Version>) -> Vec<E> {
        match version {
            None => *self.epochs.entry(function.clone()).or_default() += 1,
            Some(v) => *self.version_epochs.entry((function.clone(), v)).or_default() += 1,
        }
        let keys: Vec<EnvKey> = self
            .idle
            .keys()
            .filter(|k| k.function() == function && version.is_none_or(|v| k.version() == v))
            .cloned()
            .collect();
        let mut envs: Vec<E> = keys.iter().filter_map(|k| self.idle.remove(k)).flatten().collect();
        let provisioned: Vec<EnvKey> = self
            .provisioned
            .keys()
            .chain(self.provisioned_idle.keys())
            .filter(|k| k.function() == function && version.is_none_or(|v| k.version() == v))
            .cloned()
            .collect();
        for key in &provisioned {
            envs.extend(self.provisioned_idle.remove(key).unwrap_or_default());
            if let Some(count) = self.provisioned.get_mut(key) {
                count.target = 0;
            }
        }
        self.forget_all(&envs);
        envs
    }

    /// Takes out every environment idle for `idle_timeout` or longer at `now`.
    pub fn reap(&mut self, now: Instant, idle_timeout: Duration) -> Vec<E> {
        let mut reaped = Vec::new();
        for envs in self.idle.values_mut() {
            let (old, fresh): (Vec<_>, Vec<_>) =
                envs.drain(..).partition(|e| expired(now, e.last_used(), idle_timeout));
            *envs = fresh;
            reaped.extend(old);
        }
        self.idle.retain(|_, envs| !envs.is_empty());
        self.forget_all(&reaped);
        reaped
    }

    /// Takes out every idle environment.
    pub fn drain(&mut self) -> Vec<E> {
        let mut envs: Vec<E> = self.idle.drain().flat_map(|(_, v)| v).collect();
        envs.extend(self.provisioned_idle.drain().flat_map(|(_, v)| v));
        for count in self.provisioned.values_mut() {
            count.target = 0;
        }
        self.forget_all(&envs);
        envs
    }

    /// The idle environment `id` of `key`, if it is still idle since `since` (not taken
    /// and given back again meanwhile).
    pub fn idle_since(&mut self, key: &EnvKey, id: &str, since: Instant) -> Option<&mut E> {
        let found = |envs: &mut Vec<E>| envs.iter().position(|e| e.id() == id && e.last_used() == since);
        if let Some(i) = self.idle.get_mut(key).and_then(found) {
            return self.idle.get_mut(key).map(|envs| &mut envs[i]);
        }
        let i = self.provisioned_idle.get_mut(key).and_then(found)?;
        self.provisioned_idle.get_mut(key).map(|envs| &mut envs[i])
    }

    /// Environments alive (idle, busy or starting).
    pub fn alive(&self) -> usize {
        self.alive
    }

    /// Environments idle.
    pub fn idle(&self) -> usize {
        self.idle.values().chain(self.provisioned_idle.values()).map(Vec::len).sum()
    }
}

/// The most recently used environment of `key` in `pool`, removing the key when emptied.
fn pop<E>(pool: &mut HashMap<EnvKey, Vec<E>>, key: &EnvKey) -> Option<E> {
    let env = pool.get_mut(key).and_then(Vec::pop);
    if pool.get(key).is_some_and(Vec::is_empty) {
        pool.remove(key);
    }
    env
}

#[cfg(test)]
mod tests {
    use alcove_core::testing::function_config;
    use alcove_core::{FunctionConfig, TenantId};

    use super::*;

    /// An environment with no process behind it.
    #[derive(Debug, PartialEq)]
    struct Fake {
        key: EnvKey,
        id: String,
        epoch: (u64, u64),
        last_used: Instant,
        provisioned: bool,
    }

    impl Pooled for Fake {
        fn key(&self) -> &EnvKey {
            &self.key
        }
        fn id(&self) -> &str {
            &self.id
        }
        fn epoch(&self) -> (u64, u64) {
            self.epoch
        }
        fn last_used(&self) -> Instant {
            self.last_used
        }
        fn provisioned(&self) -> bool {
            self.provisioned
        }
    }

    fn config(function: &str, version: Version, revision: &str) -> FunctionConfig {
        function_config(function).with_version(version).with_revision(revision)
    }

    fn key(function: &str, tenant: &str) -> EnvKey {
        EnvKey::new(&config(function, Version::Latest, "r1"), Some(TenantId::parse(tenant).unwrap()))
    }

    /// Times in seconds after a fixed start.
    struct Clock(Instant);

    impl Clock {
        fn at(&self, secs: u64) -> Instant {
            self.0 + Duration::from_secs(secs)
        }
    }

    /// Starts a new environment of `key` through a cold claim (there must be no idle one
    /// of that key), to be given back later as last used at `used`.
    fn start(pools: &mut Pools<Fake>, key: &EnvKey, id: &str, used: Instant) -> Fake {
        let Claim::Cold { epoch, evicted: None } = pools.claim(key, usize::MAX) else {
            panic!("{id} should start cold");
        };
        Fake { key: key.clone(), id: id.into(), epoch, last_used: used, provisioned: false }
    }

    /// Starts new environments of `key` and gives them back idle, in order, each last used
    /// at its time.
    fn idle_all(pools: &mut Pools<Fake>, key: &EnvKey, envs: &[(&str, Instant)]) {
        let started: Vec<Fake> = envs.iter().map(|&(id, used)| start(pools, key, id, used)).collect();
        for env in started {
            assert!(pools.give_back(env, true).is_ok());
        }
    }

    /// Starts a new environment of `key` and gives it back idle, last used at `used`.
    fn idle(pools: &mut Pools<Fake>, key: &EnvKey, id: &str, used: Instant) {
        idle_all(pools, key, &[(id, used)]);
    }

    fn ids(envs: &[Fake]) -> Vec<&str> {
        envs.iter().map(|e| e.id.as_str()).collect()
    }

    fn warm_id(claim: Claim<Fake>) -> String {
        match claim {
            Claim::Warm(env) => env.id,
            other => panic!("expected a warm environment, got {other:?}"),
        }
    }

    #[test]
    fn an_invoke_gets_only_an_environment_of_its_own_key() {
        let clock = Clock(Instant::now());
        let mut pools = Pools::default();
        let (a, b) = (key("f", "tenant-a"), key("f", "tenant-b"));
        idle(&mut pools, &a, "a1", clock.at(1));
        // Tenant B finds no warm environment though tenant A's is idle.
        assert!(matches!(pools.claim(&b, 10), Claim::Cold { evicted: None, .. }));
        // Nor does another function, another version or another revision of the same.
        let other_version = EnvKey::new(&config("f", Version::Published(1), "r1"), a.tenant().cloned());
        let other_revision = EnvKey::new(&config("f", Version::Latest, "r2"), a.tenant().cloned());
        for other in [key("g", "tenant-a"), other_version, other_revision] {
            assert!(matches!(pools.claim(&other, 10), Claim::Cold { .. }));
        }
        assert_eq!(warm_id(pools.claim(&a, 10)), "a1");
        assert_eq!(pools.alive(), 5);
    }

    #[test]
    fn the_most_recently_used_idle_environment_is_taken_first() {
        let clock = Clock(Instant::now());
        let mut pools = Pools::default();
        let a = key("f", "tenant-a");
        idle_all(&mut pools, &a, &[("older", clock.at(1)), ("newer", clock.at(2))]);
        assert_eq!(warm_id(pools.claim(&a, 10)), "newer");
        assert_eq!(warm_id(pools.claim(&a, 10)), "older");
        assert!(matches!(pools.claim(&a, 10), Claim::Cold { .. }));
        assert_eq!(pools.alive(), 3);
        assert_eq!(pools.idle(), 0);
    }

    #[test]
    fn a_warm_environment_is_taken_even_at_the_cap() {
        let clock = Clock(Instant::now());
        let mut pools = Pools::default();
        let a = key("f", "tenant-a");
        idle(&mut pools, &a, "a1", clock.at(1));
        assert_eq!(warm_id(pools.claim(&a, 1)), "a1");
        assert_eq!(pools.alive(), 1);
    }

    #[test]
    fn below_the_cap_nothing_is_evicted() {
        let clock = Clock(Instant::now());
        let mut pools = Pools::default();
        idle(&mut pools, &key("f", "a"), "a1", clock.at(1));
        assert!(matches!(pools.claim(&key("f", "b"), 2), Claim::Cold { evicted: None, .. }));
        assert_eq!((pools.alive(), pools.idle()), (2, 1));
    }

    #[test]
    fn at_the_cap_the_least_recently_used_idle_environment_of_any_key_is_evicted() {
        let clock = Clock(Instant::now());
        let mut pools = Pools::default();
        idle(&mut pools, &key("f", "a"), "a-newest", clock.at(3));
        idle(&mut pools, &key("f", "b"), "b-oldest", clock.at(1));
        idle(&mut pools, &key("g", "a"), "c-middle", clock.at(2));
        let Claim::Cold { evicted: Some(evicted), .. } = pools.claim(&key("h", "d"), 3) else {
            panic!("a cold start at the cap evicts");
        };
        assert_eq!(evicted.id, "b-oldest");
        assert_eq!((pools.alive(), pools.idle()), (3, 2), "one out, one in");
        let Claim::Cold { evicted: Some(evicted), .. } = pools.claim(&key("h", "e"), 3) else {
            panic!("a cold start at the cap evicts");
        };
        assert_eq!(evicted.id, "c-middle");
    }

    #[test]
    fn a_function_cap_counts_idle_environments_and_evicts_none() {
        let clock = Clock(Instant::now());
        let mut pools = Pools::default();
        idle(&mut pools, &key("f", "a"), "a1", clock.at(1));
        idle(&mut pools, &key("f", "b"), "b1", clock.at(2));
        assert_eq!(pools.alive_of(&key("f", "a").function().clone()), 2);
        // Two of f's environments exist, idle: a third tenant is refused, not given one of theirs.
        assert!(matches!(pools.claim_within(&key("f", "c"), 10, Some(2)), Claim::FunctionAtCapacity));
        assert_eq!(pools.idle(), 2, "nothing was evicted");
        // A tenant with an idle environment still gets it, and other functions are not counted.
        assert_eq!(warm_id(pools.claim_within(&key("f", "a"), 10, Some(2))), "a1");
        assert!(matches!(pools.claim_within(&key("g", "c"), 10, Some(2)), Claim::Cold { .. }));
        // Once one of f's environments is gone, there is room again.
        let reaped = pools.reap(clock.at(100), Duration::from_secs(1));
        assert_eq!(reaped.len(), 1);
        assert!(matches!(pools.claim_within(&key("f", "c"), 10, Some(2)), Claim::Cold { .. }));
        pools.start_failed(&key("f", "c"));
        assert_eq!(pools.alive_of(&key("f", "c").function().clone()), 1, "only the busy a1 is left");
    }

    #[test]
    fn eviction_within_a_key_takes_its_first_idle_environment() {
        let clock = Clock(Instant::now());
        let mut pools = Pools::default();
        let a = key("f", "a");
        // Two idle environments of one key, last used at the same instant: the one that
        // went idle first is evicted, and the other stays the key's warm one.
        idle_all(&mut pools, &a, &[("first", clock.at(1)), ("second", clock.at(1))]);
        let Claim::Cold { evicted: Some(evicted), .. } = pools.claim(&key("g", "b"), 2) else {
            panic!("a cold start at the cap evicts");
        };
        assert_eq!(evicted.id, "first");
        assert_eq!(warm_id(pools.claim(&a, 2)), "second");
    }

    #[test]
    fn eviction_between_keys_used_at_the_same_instant_takes_one_of_them() {
        let clock = Clock(Instant::now());
        let mut pools = Pools::default();
        idle(&mut pools, &key("f", "a"), "tied-1", clock.at(1));
        idle(&mut pools, &key("f", "b"), "tied-2", clock.at(1));
        idle(&mut pools, &key("f", "c"), "later", clock.at(2));
        let Claim::Cold { evicted: Some(evicted), .. } = pools.claim(&key("g", "d"), 3) else {
            panic!("a cold start at the cap evicts");
        };
        assert!(["tied-1", "tied-2"].contains(&evicted.id.as_str()), "evicted {}", evicted.id);
    }

    #[test]
    fn at_the_cap_with_nothing_idle_the_invoke_is_refused() {
        let mut pools = Pools::<Fake>::default();
        assert!(matches!(pools.claim(&key("f", "a"), 1), Claim::Cold { evicted: None, .. }));
        assert!(matches!(pools.claim(&key("f", "b"), 1), Claim::AtCapacity));
        assert!(matches!(pools.claim(&key("f", "a"), 1), Claim::AtCapacity));
        assert_eq!(pools.alive(), 1, "a refused claim counts nothing");
        assert!(matches!(pools.claim(&key("f", "a"), 0), Claim::AtCapacity));
    }

    #[test]
    fn a_start_that_failed_frees_its_place() {
        let mut pools = Pools::<Fake>::default();
        assert!(matches!(pools.claim(&key("f", "a"), 1), Claim::Cold { .. }));
        pools.start_failed(&key("f", "a"));
        assert_eq!(pools.alive(), 0);
        assert!(matches!(pools.claim(&key("f", "b"), 1), Claim::Cold { evicted: None, .. }));
    }

    #[test]
    fn an_environment_that_did_not_survive_its_invoke_is_not_kept() {
        let clock = Clock(Instant::now());
        let mut pools = Pools::default();
        let a = key("f", "a");
        let Claim::Cold { epoch, .. } = pools.claim(&a, 10) else { panic!() };
        let env =
            Fake { key: a.clone(), id: "crashed".into(), epoch, last_used: clock.at(1), provisioned: false };
        assert_eq!(pools.give_back(env, false).map(|e| e.id.clone()).unwrap_err().id, "crashed");
        assert_eq!((pools.alive(), pools.idle()), (0, 0));
    }

    #[test]
    fn retiring_a_function_retires_its_idle_and_busy_environments_only() {
        let clock = Clock(Instant::now());
        let mut pools = Pools::default();
        let (f_a, f_b, g_a) = (key("f", "a"), key("f", "b"), key("g", "a"));
        idle(&mut pools, &f_a, "f-a", clock.at(1));
        idle(&mut pools, &g_a, "g-a", clock.at(1));
        let Claim::Cold { epoch, .. } = pools.claim(&f_b, 10) else { panic!() };
        let busy = Fake {
            key: f_b.clone(),
            id: "f-b-busy".into(),
            epoch,
            last_used: clock.at(1),
            provisioned: false,
        };
        let retired = pools.retire(f_a.function(), None);
        assert_eq!(ids(&retired), ["f-a"]);
        assert_eq!(pools.alive(), 2, "g-a idle and f-b busy");
        // The busy one is refused when its invoke ends.
        assert!(pools.give_back(busy, true).is_err());
        assert_eq!((pools.alive(), pools.idle()), (1, 1));
        // A new environment of f starts under the new epoch, and is kept.
        idle(&mut pools, &f_a, "f-a-new", clock.at(2));
        assert_eq!(warm_id(pools.claim(&f_a, 10)), "f-a-new");
    }

    #[test]
    fn retiring_a_version_leaves_the_functions_other_versions() {
        let clock = Clock(Instant::now());
        let mut pools = Pools::default();
        let tenant = Some(TenantId::parse("a").unwrap());
        let v1 = EnvKey::new(&config("f", Version::Published(1), "r1"), tenant.clone());
        let v2 = EnvKey::new(&config("f", Version::Published(2), "r1"), tenant);
        idle(&mut pools, &v1, "v1", clock.at(1));
        idle(&mut pools, &v2, "v2", clock.at(1));
        assert_eq!(ids(&pools.retire(v1.function(), Some(Version::Published(1)))), ["v1"]);
        assert_eq!(pools.epoch(&v1), (0, 1));
        assert_eq!(pools.epoch(&v2), (0, 0));
        assert_eq!(warm_id(pools.claim(&v2, 10)), "v2");
    }

    #[test]
    fn the_reaper_takes_environments_idle_for_the_timeout_or_longer() {
        let clock = Clock(Instant::now());
        let mut pools = Pools::default();
        let (a, b) = (key("f", "a"), key("f", "b"));
        idle_all(&mut pools, &a, &[("a-old", clock.at(0)), ("a-fresh", clock.at(50))]);
        idle(&mut pools, &b, "b-exact", clock.at(40));
        let mut reaped = pools.reap(clock.at(100), Duration::from_secs(60));
        reaped.sort_by(|x, y| x.id.cmp(&y.id));
        assert_eq!(ids(&reaped), ["a-old", "b-exact"], "idle exactly the timeout is reaped");
        assert_eq!((pools.alive(), pools.idle()), (1, 1));
        assert_eq!(warm_id(pools.claim(&a, 10)), "a-fresh");
        assert!(matches!(pools.claim(&b, 10), Claim::Cold { .. }), "b's key left the pools");
    }

    #[test]
    fn the_reaper_leaves_busy_environments_and_recent_ones() {
        let clock = Clock(Instant::now());
        let mut pools = Pools::default();
        let a = key("f", "a");
        idle(&mut pools, &a, "recent", clock.at(41));
        let Claim::Cold { .. } = pools.claim(&key("f", "b"), 10) else { panic!() };
        assert!(pools.reap(clock.at(100), Duration::from_secs(60)).is_empty());
        assert_eq!((pools.alive(), pools.idle()), (2, 1));
    }

    #[test]
    fn the_freezer_finds_an_environment_only_if_it_stayed_idle() {
        let clock = Clock(Instant::now());
        let mut pools = Pools::default();
        let a = key("f", "a");
        idle(&mut pools, &a, "a1", clock.at(1));
        assert!(pools.idle_since(&a, "a1", clock.at(1)).is_some());
        // Taken and given back again later: the earlier entry no longer matches it.
        let Claim::Warm(mut env) = pools.claim(&a, 10) else { panic!() };
        env.last_used = clock.at(2);
        assert!(pools.give_back(env, true).is_ok());
        assert!(pools.idle_since(&a, "a1", clock.at(1)).is_none());
        assert!(pools.idle_since(&a, "a1", clock.at(2)).is_some());
        assert!(pools.idle_since(&key("f", "b"), "a1", clock.at(2)).is_none());
    }

    #[test]
    fn draining_leaves_only_the_busy_counted() {
        let clock = Clock(Instant::now());
        let mut pools = Pools::default();
        idle(&mut pools, &key("f", "a"), "a1", clock.at(1));
        idle(&mut pools, &key("g", "a"), "a2", clock.at(1));
        let Claim::Cold { .. } = pools.claim(&key("f", "b"), 10) else { panic!() };
        assert_eq!(pools.drain().len(), 2);
        assert_eq!((pools.alive(), pools.idle()), (1, 0));
    }

    #[test]
    fn expiry_is_inclusive_and_saturates_for_later_use() {
        let clock = Clock(Instant::now());
        let timeout = Duration::from_secs(60);
        assert!(expired(clock.at(60), clock.at(0), timeout));
        assert!(!expired(clock.at(59), clock.at(0), timeout));
        // Used after `now` (a reaper tick that raced a release): not expired.
        assert!(!expired(clock.at(0), clock.at(5), timeout));
    }
}
