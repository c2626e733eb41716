//! Admission: whether an invocation may start now, under the account's and the
//! function's concurrency limits and, beyond Lambda, a per-tenant limit.
//!
//! Lambda's rules: a function with reserved concurrency runs at most that many invokes
//! at once (0 throttles everything); functions without a reservation share what the
//! reservations leave of the account limit. Alcove adds a per-tenant limit on PER_TENANT
//! functions (a function-wide default, overridable per tenant id).
//!
//! Over a limit, Lambda throttles at once (429); so does Alcove by default. With a queue
//! wait configured, an invocation over a limit waits up to that long instead, and freed
//! concurrency goes to the waiting (function, tenant) pairs *in turn*, first come first
//! served within one pair. That round robin is the fairness property: a tenant that floods
//! a function queues behind itself, and a quiet tenant's invocation starts as soon as any
//! slot frees, however long the flooder's queue.
//!
//! A granted invocation holds a [`Permit`]; dropping it frees the slot and hands it on.
//!
//! Whether an invocation fits is one pure function of the limits and the running counts
//! (`admission_decision`), and the turn order is the generic `FairQueue`; this module
//! keeps the counts and hands out the permits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use alcove_core::{FunctionName, TenantId, TenantLimits};
use tokio::sync::oneshot;

use crate::fair_queue::FairQueue;

/// Why an invocation could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleReason {
    /// The function's reserved concurrency is in use.
    Reserved,
    /// The account's unreserved concurrency is in use.
    Account,
    /// The tenant's own limit is in use (Alcove only).
    Tenant,
}

impl ThrottleReason {
    /// The `Reason` of Lambda's TooManyRequestsException.
    pub fn as_str(self) -> &'static str {
        match self {
            ThrottleReason::Reserved => "ReservedFunctionConcurrentInvocationLimitExceeded",
            ThrottleReason::Account => "ConcurrentInvocationLimitExceeded",
            ThrottleReason::Tenant => "TenantConcurrentInvocationLimitExceeded",
        }
    }
}

type PairKey = (FunctionName, Option<TenantId>);

/// The limits that apply to one invocation of one function for one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Limits {
    account: u32,
    /// Reserved concurrency of all functions together.
    total_reserved: u32,
    /// This function's reserved concurrency, if it has one.
    reserved: Option<u32>,
    /// The tenant's limit on this function, if it has one.
    tenant: Option<u32>,
}

/// What runs now that counts against those limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Running {
    /// Invocations of every function without a reservation.
    unreserved: u32,
    /// Invocations of this function.
    function: u32,
    /// Invocations of this function for this tenant.
    tenant: u32,
}

/// Whether one more invocation fits, or the first limit it would exceed: the function's
/// reservation (it runs only within it, however idle the account), else the account's
/// unreserved pool (what the reservations leave of the account limit); then the tenant's
/// limit. A limit is reached when what runs *equals* it.
fn admission_decision(limits: Limits, running: Running) -> Result<(), ThrottleReason> {
    match limits.reserved {
        Some(reserved) if running.function >= reserved => return Err(ThrottleReason::Reserved),
        Some(_) => {}
        None => {
            if running.unreserved >= limits.account.saturating_sub(limits.total_reserved) {
                return Err(ThrottleReason::Account);
            }
        }
    }
    if limits.tenant.is_some_and(|limit| running.tenant >= limit) {
        return Err(ThrottleReason::Tenant);
    }
    Ok(())
}

/// Lambda's quota on the execution environments of a `PER_TENANT` function: "Lambda limits
/// the maximum number of tenant-aware execution environments (active or idle) that can
/// exist at a time to 2,500 for every 1,000 concurrent executions of your function"
/// (developer guide, "Troubleshooting tenant isolation"). The proportion is applied to
/// the function's concurrency and rounded down: 1 gives 2, 1,000 gives 2,500.
pub fn tenant_environment_cap(concurrency: u32) -> usize {
    (u64::from(concurrency) * 2_500 / 1_000) as usize
}

#[derive(Default)]
struct State {
    account_limit: u32,
    reserved: HashMap<FunctionName, u32>,
    tenant_limits: HashMap<FunctionName, TenantLimits>,
    /// Invocations running in the unreserved pool.
    unreserved_running: u32,
    running_per_function: HashMap<FunctionName, u32>,
    running_per_tenant: HashMap<(FunctionName, TenantId), u32>,
    /// Invocations waiting for their turn, per (function, tenant) pair.
    waiting: FairQueue<PairKey, oneshot::Sender<Permit>>,
}

impl State {
    fn check(&self, function: &FunctionName, tenant: Option<&TenantId>) -> Result<(), ThrottleReason> {
        let limits = Limits {
            account: self.account_limit,
            total_reserved: self.reserved.values().sum(),
            reserved: self.reserved.get(function).copied(),
            tenant: tenant.and_then(|t| self.tenant_limits.get(function).and_then(|l| l.limit_for(t))),
        };
        let running = Running {
            unreserved: self.unreserved_running,
            function: self.running_per_function.get(function).copied().unwrap_or(0),
            tenant: tenant
                .and_then(|t| self.running_per_tenant.get(&(function.clone(), t.clone())).copied())
                .unwrap_or(0),
        };
        admission_decision(limits, running)
    }

    /// Counts a started invocation; returns whether it runs in the unreserved pool.
    fn admit(&mut self, function: &FunctionName, tenant: Option<&TenantId>) -> bool {
        let pooled = !self.reserved.contains_key(function);
        if pooled {
            self.unreserved_running += 1;
        }
        *self.running_per_function.entry(function.clone()).or_default() += 1;
        if let Some(tenant) = tenant {
            *self.running_per_tenant.entry((function.clone(), tenant.clone())).or_default() += 1;
        }
        pooled
    }

    /// Admits `function` for `tenant` if it fits; returns whether it runs in the
    /// unreserved pool.
    fn try_admit(
        &mut self,
        function: &FunctionName,
        tenant: Option<&TenantId>,
    ) -> Result<bool, ThrottleReason> {
        self.check(function, tenant)?;
        Ok(self.admit(function, tenant))
    }

    fn release(&mut self, function: &FunctionName, tenant: Option<&TenantId>, pooled: bool) {
        if pooled {
            self.unreserved_running = self.unreserved_running.saturating_sub(1);
        }
        decrement(&mut self.running_per_function, function.clone());
        if let Some(tenant) = tenant {
            decrement(&mut self.running_per_tenant, (function.clone(), tenant.clone()));
        }
    }

    /// Starts waiting invocations that now fit, one pair at a time in turn.
    fn grant(&mut self) -> Vec<(oneshot::Sender<Permit>, PairKey, bool)> {
        let mut waiting = std::mem::take(&mut self.waiting);
        let granted = waiting.serve(
            |(function, tenant)| self.try_admit(function, tenant.as_ref()).ok(),
            oneshot::Sender::is_closed,
        );
        self.waiting = waiting;
        granted
    }
}

fn decrement<K: std::hash::Hash + Eq>(map: &mut HashMap<K, u32>, key: K) {
    if let Some(count) = map.get_mut(&key) {
        *count = count.saturating_sub(1);
        if *count == 0 {
            map.remove(&key);
        }
    }
}

/// The admission controller shared by every invocation path.
pub struct Admission {
    state: Mutex<State>,
    /// Itself, for the permits it hands to waiters.
    this: Weak<Admission>,
}

/// One running invocation's share of concurrency; released on drop.
pub struct Permit {
    admission: Arc<Admission>,
    function: FunctionName,
    tenant: Option<TenantId>,
    pooled: bool,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.admission.release(&self.function, self.tenant.as_ref(), self.pooled);
    }
}

impl Admission {
    pub fn new(account_limit: u32) -> Arc<Admission> {
        Arc::new_cyclic(|this| Admission {
            state: Mutex::new(State { account_limit, ..State::default() }),
            this: this.clone(),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts an invocation of `function` for `tenant` now, or after waiting up to
    /// `wait` for its turn, or says which limit stopped it.
    pub async fn acquire(
        self: &Arc<Self>,
        function: &FunctionName,
        tenant: Option<&TenantId>,
        wait: Duration,
    ) -> Result<Permit, ThrottleReason> {
        let (reason, granted) = {
            let mut state = self.state();
            let reason = match state.try_admit(function, tenant) {
                Ok(pooled) => return Ok(self.permit(function.clone(), tenant.cloned(), pooled)),
                Err(reason) if wait.is_zero() => return Err(reason),
                Err(reason) => reason,
            };
            let (sender, granted) = oneshot::channel();
            state.waiting.push((function.clone(), tenant.cloned()), sender);
            (reason, granted)
        };
        match tokio::time::timeout(wait, granted).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(reason),
        }
    }

    fn permit(self: &Arc<Self>, function: FunctionName, tenant: Option<TenantId>, pooled: bool) -> Permit {
        Permit { admission: Arc::clone(self), function, tenant, pooled }
    }

    fn release(&self, function: &FunctionName, tenant: Option<&TenantId>, pooled: bool) {
        let granted = {
            let mut state = self.state();
            state.release(function, tenant, pooled);
            state.grant()
        };
        self.hand_over(granted);
    }

    /// Sends grants outside the lock: a grant whose waiter gave up comes back as a
    /// dropped permit, which releases (and re-grants) through the lock.
    fn hand_over(&self, granted: Vec<(oneshot::Sender<Permit>, PairKey, bool)>) {
        if granted.is_empty() {
            return;
        }
        let Some(owner) = self.this.upgrade() else { return };
        for (sender, (function, tenant), pooled) in granted {
            let _ = sender.send(owner.permit(function, tenant, pooled));
        }
    }

    /// Changes the account limit this admission enforces: a node of a cluster enforces its
    /// share of the account's. Invocations already running keep running; a higher limit
    /// lets waiting ones in.
    pub fn set_account_limit(self: &Arc<Self>, limit: u32) {
        let granted = {
            let mut state = self.state();
            state.account_limit = limit;
            state.grant()
        };
        self.hand_over(granted);
    }

    /// Sets or clears a function's reserved concurrency.
    pub fn set_reserved(self: &Arc<Self>, function: &FunctionName, reserved: Option<u32>) {
        let granted = {
            let mut state = self.state();
            match reserved {
                Some(n) => state.reserved.insert(function.clone(), n),
                None => state.reserved.remove(function),
            };
            state.grant()
        };
        self.hand_over(granted);
    }

    /// Sets a function's per-tenant limits (an empty value clears them).
    pub fn set_tenant_limits(self: &Arc<Self>, function: &FunctionName, limits: TenantLimits) {
        let granted = {
            let mut state = self.state();
            if limits.is_empty() {
                state.tenant_limits.remove(function);
            } else {
                state.tenant_limits.insert(function.clone(), limits);
            }
            state.grant()
        };
        self.hand_over(granted);
    }

    pub fn tenant_limits(&self, function: &FunctionName) -> TenantLimits {
        self.state().tenant_limits.get(function).cloned().unwrap_or_default()
    }

    /// The concurrency a function may use: its reservation, else the account's unreserved
    /// concurrency (what the reservations leave of the account limit).
    pub fn function_concurrency(&self, function: &FunctionName) -> u32 {
        let state = self.state();
        match state.reserved.get(function) {
            Some(reserved) => *reserved,
            None => state.account_limit.saturating_sub(state.reserved.values().sum()),
        }
    }

    /// Invocations of one function running now.
    pub fn running(&self, function: &FunctionName) -> u32 {
        self.state().running_per_function.get(function).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str) -> FunctionName {
        FunctionName::parse(n).unwrap()
    }

    fn tenant(t: &str) -> TenantId {
        TenantId::parse(t).unwrap()
    }

    const NOW: Duration = Duration::ZERO;

    #[test]
    fn tenant_environment_cap_is_two_and_a_half_per_unit_of_concurrency() {
        assert_eq!(tenant_environment_cap(0), 0);
        assert_eq!(tenant_environment_cap(1), 2);
        assert_eq!(tenant_environment_cap(2), 5);
        assert_eq!(tenant_environment_cap(1_000), 2_500);
        assert_eq!(tenant_environment_cap(u32::MAX), u32::MAX as usize / 2 * 5 + 2);
    }

    #[test]
    fn function_concurrency_is_the_reservation_or_the_unreserved_pool() {
        let admission = Admission::new(1_000);
        let (reserved, open) = (name("reserved"), name("open"));
        assert_eq!(admission.function_concurrency(&open), 1_000);
        admission.set_reserved(&reserved, Some(1));
        assert_eq!(admission.function_concurrency(&reserved), 1);
        assert_eq!(admission.function_concurrency(&open), 999);
    }

    #[tokio::test]
    async fn reserved_and_unreserved_limits() {
        let admission = Admission::new(10);
        let (reserved, open) = (name("reserved"), name("open"));
        admission.set_reserved(&reserved, Some(2));
        let a = admission.acquire(&reserved, None, NOW).await.unwrap();
        let _b = admission.acquire(&reserved, None, NOW).await.unwrap();
        assert_eq!(admission.acquire(&reserved, None, NOW).await.err(), Some(ThrottleReason::Reserved));
        drop(a);
        let _c = admission.acquire(&reserved, None, NOW).await.unwrap();
        // 10 - 2 reserved = 8 for everyone else.
        let open_permits: Vec<Permit> = futures_collect(&admission, &open, 8).await;
        assert_eq!(admission.acquire(&open, None, NOW).await.err(), Some(ThrottleReason::Account));
        drop(open_permits);
        assert!(admission.acquire(&open, None, NOW).await.is_ok());
        admission.set_reserved(&reserved, Some(0));
        assert_eq!(admission.acquire(&reserved, None, NOW).await.err(), Some(ThrottleReason::Reserved));
    }

    async fn futures_collect(admission: &Arc<Admission>, function: &FunctionName, n: usize) -> Vec<Permit> {
        let mut permits = Vec::new();
        for _ in 0..n {
            permits.push(admission.acquire(function, None, NOW).await.unwrap());
        }
        permits
    }

    #[tokio::test]
    async fn tenant_limits_with_overrides() {
        let admission = Admission::new(100);
        let f = name("f");
        admission
            .set_tenant_limits(&f, TenantLimits { default: Some(1), overrides: [(tenant("big"), 3)].into() });
        let _one = admission.acquire(&f, Some(&tenant("small")), NOW).await.unwrap();
        assert_eq!(
            admission.acquire(&f, Some(&tenant("small")), NOW).await.err(),
            Some(ThrottleReason::Tenant)
        );
        let _other = admission.acquire(&f, Some(&tenant("other")), NOW).await.unwrap();
        for _ in 0..3 {
            std::mem::forget(admission.acquire(&f, Some(&tenant("big")), NOW).await.unwrap());
        }
        assert_eq!(
            admission.acquire(&f, Some(&tenant("big")), NOW).await.err(),
            Some(ThrottleReason::Tenant)
        );
    }

    #[tokio::test]
    async fn freed_slots_go_to_waiting_tenants_in_turn() {
        let admission = Admission::new(100);
        let f = name("f");
        admission.set_reserved(&f, Some(1));
        let first = admission.acquire(&f, Some(&tenant("flood")), NOW).await.unwrap();
        let wait = Duration::from_secs(5);
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        // The flooder queues five, then the quiet tenant one.
        for (i, who) in ["flood", "flood", "flood", "flood", "flood", "quiet"].into_iter().enumerate() {
            let (admission, f, order) = (Arc::clone(&admission), f.clone(), Arc::clone(&order));
            tasks.push(tokio::spawn(async move {
                let permit = admission.acquire(&f, Some(&tenant(who)), wait).await.unwrap();
                order.lock().unwrap().push(who);
                tokio::time::sleep(Duration::from_millis(5)).await;
                drop(permit);
            }));
            tokio::time::sleep(Duration::from_millis(2 + i as u64)).await;
        }
        drop(first);
        for task in tasks {
            task.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        // The quiet tenant is served second, not after the whole flood.
        assert_eq!(order[..2], ["flood", "quiet"], "{order:?}");
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_loses_nothing() {
        let admission = Admission::new(100);
        let f = name("f");
        admission.set_reserved(&f, Some(1));
        let held = admission.acquire(&f, None, NOW).await.unwrap();
        assert_eq!(
            admission.acquire(&f, None, Duration::from_millis(20)).await.err(),
            Some(ThrottleReason::Reserved)
        );
        drop(held);
        assert_eq!(admission.running(&f), 0);
        assert!(admission.acquire(&f, None, NOW).await.is_ok());
    }

    /// An account of `account` with no reservation and no tenant limit.
    fn open(account: u32) -> Limits {
        Limits { account, total_reserved: 0, reserved: None, tenant: None }
    }

    fn running(unreserved: u32, function: u32, tenant: u32) -> Running {
        Running { unreserved, function, tenant }
    }

    #[test]
    fn the_account_limit_is_reached_exactly_at_the_cap() {
        assert_eq!(admission_decision(open(10), running(9, 9, 0)), Ok(()));
        assert_eq!(admission_decision(open(10), running(10, 0, 0)), Err(ThrottleReason::Account));
        assert_eq!(admission_decision(open(0), Running::default()), Err(ThrottleReason::Account));
    }

    #[test]
    fn reservations_come_out_of_the_unreserved_pool() {
        let limits = Limits { total_reserved: 4, ..open(10) };
        assert_eq!(admission_decision(limits, running(5, 0, 0)), Ok(()));
        assert_eq!(admission_decision(limits, running(6, 0, 0)), Err(ThrottleReason::Account));
        // Reservations beyond the account limit leave nothing, without wrapping around.
        let over = Limits { total_reserved: 12, ..open(10) };
        assert_eq!(admission_decision(over, Running::default()), Err(ThrottleReason::Account));
    }

    #[test]
    fn a_reserved_function_runs_within_its_reservation_only() {
        let limits = Limits { total_reserved: 3, reserved: Some(3), ..open(10) };
        assert_eq!(admission_decision(limits, running(0, 2, 0)), Ok(()));
        assert_eq!(admission_decision(limits, running(0, 3, 0)), Err(ThrottleReason::Reserved));
        // A full unreserved pool does not stop it...
        assert_eq!(admission_decision(limits, running(7, 0, 0)), Ok(()));
        // ...and an idle account does not let it past its reservation.
        assert_eq!(admission_decision(limits, running(0, 3, 0)), Err(ThrottleReason::Reserved));
    }

    #[test]
    fn a_reservation_of_zero_throttles_everything() {
        let limits = Limits { total_reserved: 0, reserved: Some(0), ..open(10) };
        assert_eq!(admission_decision(limits, Running::default()), Err(ThrottleReason::Reserved));
    }

    #[test]
    fn the_tenant_limit_is_reached_exactly_at_the_cap() {
        let limits = Limits { tenant: Some(2), ..open(10) };
        assert_eq!(admission_decision(limits, running(5, 5, 1)), Ok(()));
        assert_eq!(admission_decision(limits, running(5, 5, 2)), Err(ThrottleReason::Tenant));
        let zero = Limits { tenant: Some(0), ..open(10) };
        assert_eq!(admission_decision(zero, Running::default()), Err(ThrottleReason::Tenant));
        // No tenant limit: only the function's and the account's apply.
        assert_eq!(admission_decision(open(10), running(0, 0, 1_000)), Ok(()));
    }

    #[test]
    fn function_limits_are_reported_before_the_tenants() {
        let reserved = Limits { total_reserved: 1, reserved: Some(1), tenant: Some(1), ..open(10) };
        assert_eq!(admission_decision(reserved, running(0, 1, 1)), Err(ThrottleReason::Reserved));
        let pooled = Limits { tenant: Some(1), ..open(2) };
        assert_eq!(admission_decision(pooled, running(2, 1, 1)), Err(ThrottleReason::Account));
    }

    fn tenant_state(account: u32) -> State {
        State { account_limit: account, ..State::default() }
    }

    #[test]
    fn state_counts_each_tenant_of_each_function_apart() {
        let mut state = tenant_state(100);
        let (f, g) = (name("f"), name("g"));
        state
            .tenant_limits
            .insert(f.clone(), TenantLimits { default: Some(1), overrides: Default::default() });
        let (a, b) = (tenant("a"), tenant("b"));
        assert_eq!(state.try_admit(&f, Some(&a)), Ok(true));
        assert_eq!(state.try_admit(&f, Some(&a)), Err(ThrottleReason::Tenant));
        assert_eq!(state.try_admit(&f, Some(&b)), Ok(true), "another tenant has its own count");
        assert_eq!(state.try_admit(&g, Some(&a)), Ok(true), "g has no tenant limit");
        assert_eq!(state.try_admit(&g, Some(&a)), Ok(true));
        state.release(&f, Some(&a), true);
        assert_eq!(state.try_admit(&f, Some(&a)), Ok(true));
        assert_eq!(state.unreserved_running, 4);
    }

    #[test]
    fn state_keeps_reserved_invocations_out_of_the_pool() {
        let mut state = tenant_state(3);
        let (reserved, open) = (name("reserved"), name("open"));
        state.reserved.insert(reserved.clone(), 1);
        assert_eq!(state.try_admit(&reserved, None), Ok(false));
        assert_eq!(state.try_admit(&open, None), Ok(true));
        assert_eq!(state.try_admit(&open, None), Ok(true));
        assert_eq!(state.try_admit(&open, None), Err(ThrottleReason::Account));
        state.release(&reserved, None, false);
        assert_eq!(state.unreserved_running, 2, "a reserved release frees nothing in the pool");
        assert_eq!(state.try_admit(&open, None), Err(ThrottleReason::Account));
        state.release(&open, None, true);
        assert_eq!(state.try_admit(&open, None), Ok(true));
    }

    #[test]
    fn grant_serves_pairs_in_turn_and_counts_what_it_grants() {
        let mut state = tenant_state(100);
        let f = name("f");
        state.reserved.insert(f.clone(), 2);
        let (flood, quiet) = (Some(tenant("flood")), Some(tenant("quiet")));
        let mut receivers = Vec::new();
        for who in [&flood, &flood, &flood, &quiet] {
            let (sender, receiver) = oneshot::channel();
            state.waiting.push((f.clone(), who.clone()), sender);
            receivers.push(receiver);
        }
        // Both slots free: one each, the quiet tenant second, not fourth.
        let granted: Vec<_> = state.grant().into_iter().map(|(_, (_, t), pooled)| (t, pooled)).collect();
        assert_eq!(granted, [(flood.clone(), false), (quiet.clone(), false)]);
        assert_eq!(state.running_per_function[&f], 2);
        assert!(state.grant().is_empty(), "the reservation is in use");
        state.release(&f, quiet.as_ref(), false);
        let granted: Vec<_> = state.grant().into_iter().map(|(_, (_, t), _)| t).collect();
        assert_eq!(granted, [flood]);
    }

    #[test]
    fn grant_skips_waiters_that_gave_up() {
        let mut state = tenant_state(1);
        let f = name("f");
        let (gave_up, _) = oneshot::channel::<Permit>();
        state.waiting.push((f.clone(), None), gave_up);
        let (waiting, _receiver) = oneshot::channel();
        state.waiting.push((f.clone(), Some(tenant("t"))), waiting);
        let granted: Vec<_> = state.grant().into_iter().map(|(_, (_, t), _)| t).collect();
        assert_eq!(granted, [Some(tenant("t"))]);
        assert_eq!(state.unreserved_running, 1, "the waiter that gave up took no slot");
    }
}
