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

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use alcove_core::{FunctionName, TenantId, TenantLimits};
use tokio::sync::oneshot;

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

#[derive(Default)]
struct State {
    account_limit: u32,
    reserved: HashMap<FunctionName, u32>,
    tenant_limits: HashMap<FunctionName, TenantLimits>,
    /// Invocations running in the unreserved pool.
    unreserved_running: u32,
    running_per_function: HashMap<FunctionName, u32>,
    running_per_tenant: HashMap<(FunctionName, TenantId), u32>,
    /// Pairs with waiting invocations, in the order they are served.
    waiting: VecDeque<(PairKey, VecDeque<oneshot::Sender<Permit>>)>,
}

impl State {
    fn total_reserved(&self) -> u32 {
        self.reserved.values().sum()
    }

    fn check(&self, function: &FunctionName, tenant: Option<&TenantId>) -> Result<(), ThrottleReason> {
        let running = self.running_per_function.get(function).copied().unwrap_or(0);
        match self.reserved.get(function) {
            Some(&reserved) if running >= reserved => return Err(ThrottleReason::Reserved),
            Some(_) => {}
            None => {
                if self.unreserved_running >= self.account_limit.saturating_sub(self.total_reserved()) {
                    return Err(ThrottleReason::Account);
                }
            }
        }
        if let Some(tenant) = tenant {
            let limit = self.tenant_limits.get(function).and_then(|l| l.limit_for(tenant));
            let running =
                self.running_per_tenant.get(&(function.clone(), tenant.clone())).copied().unwrap_or(0);
            if limit.is_some_and(|limit| running >= limit) {
                return Err(ThrottleReason::Tenant);
            }
        }
        Ok(())
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
        let mut granted = Vec::new();
        let mut index = 0;
        while index < self.waiting.len() {
            let (key, waiters) = &mut self.waiting[index];
            while waiters.front().is_some_and(oneshot::Sender::is_closed) {
                waiters.pop_front();
            }
            if waiters.is_empty() {
                self.waiting.remove(index);
                continue;
            }
            let (function, tenant) = key.clone();
            if self.check(&function, tenant.as_ref()).is_err() {
                index += 1;
                continue;
            }
            let pooled = self.admit(&function, tenant.as_ref());
            let mut entry = self.waiting.remove(index).expect("index is in range");
            let waiter = entry.1.pop_front().expect("waiters are not empty");
            granted.push((waiter, (function, tenant), pooled));
            // Served: this pair goes to the back of the line.
            if !entry.1.is_empty() {
                self.waiting.push_back(entry);
            }
        }
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
            let reason = match state.check(function, tenant) {
                Ok(()) => {
                    let pooled = state.admit(function, tenant);
                    return Ok(self.permit(function.clone(), tenant.cloned(), pooled));
                }
                Err(reason) if wait.is_zero() => return Err(reason),
                Err(reason) => reason,
            };
            let (sender, granted) = oneshot::channel();
            let key = (function.clone(), tenant.cloned());
            match state.waiting.iter_mut().find(|(k, _)| *k == key) {
                Some((_, waiters)) => waiters.push_back(sender),
                None => state.waiting.push_back((key, VecDeque::from([sender]))),
            }
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
}
