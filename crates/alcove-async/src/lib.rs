//! Asynchronous invocation (`InvocationType: Event`).
//!
//! An accepted event is written to the durable queue before the caller gets its 202, and
//! leaves the queue only when it has run to an end: success, or failure after its retries.
//! A crash at any moment therefore loses nothing; an event that was running when the
//! process died runs again after the restart (at-least-once, as in Lambda).
//!
//! The dispatcher polls the queue for due events, runs up to `concurrency` of them at a
//! time through the environment manager (with the tenant id they were accepted with), and
//! reschedules failures with a linear backoff: 1 minute, then 2, by default. Each
//! qualifier's event invoke config sets the retries (0 to 2) and the maximum event age;
//! its destinations receive Lambda's invocation record on success or on failure for
//! good, and a failure with nowhere to go is kept as a dead letter. Events over a
//! concurrency limit stay queued and are tried again a second later, without counting
//! an attempt.
//!
//! What becomes of an event (retry, when, fail for good, where its record goes) is
//! decided by the pure functions of the `decision` module; this module carries the
//! decisions out against the queue, the store and the environment manager.

#![forbid(unsafe_code)]

mod decision;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alcove_core::clock::epoch_ms as now_ms;
use alcove_core::event_config::destination_function;
use alcove_core::{DeadLetter, EventQueue, FailureCondition, QueuedEvent, Store};
use alcove_envs::{InvokeError, InvokeRequest, InvokeTarget, Manager};
use alcove_store::CodeStore;
use bytes::Bytes;
use serde_json::{json, Value};
use tokio::sync::{Notify, Semaphore};

use crate::decision::{
    after_attempt, before_attempt, destination_tenant, idle_sleep, Decision, DestinationRefused, Outcome,
    IDLE_POLL, THROTTLE_DELAY,
};

#[derive(Debug, Clone)]
pub struct AsyncSettings {
    /// Delay before retry `n` is `n × retry_base`.
    pub retry_base: Duration,
    /// Events running at once.
    pub concurrency: usize,
    /// Region of the invoked function ARN the runtime sees.
    pub region: String,
}

impl Default for AsyncSettings {
    fn default() -> Self {
        AsyncSettings { retry_base: Duration::from_secs(60), concurrency: 16, region: "us-east-1".into() }
    }
}

/// Why an invocation record did not reach its destination.
#[derive(Debug, thiserror::Error)]
enum Undelivered {
    #[error("the destination is not a function")]
    NotAFunction(#[source] alcove_core::Error),
    #[error("no function {0}")]
    NoSuchFunction(String),
    #[error("the destination refused the record")]
    Refused(#[source] DestinationRefused),
    #[error("the store failed")]
    Store(#[source] alcove_core::Error),
}

/// Accepts events and runs them in the background.
#[derive(Clone)]
pub struct Dispatcher {
    queue: Arc<dyn EventQueue>,
    wake: Arc<Notify>,
}

struct Worker {
    queue: Arc<dyn EventQueue>,
    store: Arc<dyn Store>,
    code: CodeStore,
    envs: Manager,
    settings: AsyncSettings,
    in_flight: Mutex<HashSet<String>>,
    wake: Arc<Notify>,
}

impl Dispatcher {
    /// Starts dispatching whatever the queue holds, including events accepted before a
    /// restart.
    pub fn start(
        queue: Arc<dyn EventQueue>,
        store: Arc<dyn Store>,
        code: CodeStore,
        envs: Manager,
        settings: AsyncSettings,
    ) -> Self {
        let wake = Arc::new(Notify::new());
        let worker = Arc::new(Worker {
            queue: Arc::clone(&queue),
            store,
            code,
            envs,
            settings,
            in_flight: Mutex::new(HashSet::new()),
            wake: Arc::clone(&wake),
        });
        tokio::spawn(worker.run());
        Dispatcher { queue, wake }
    }

    /// Events accepted and not yet run to an end.
    pub async fn pending(&self) -> alcove_core::Result<u64> {
        self.queue.pending_count().await
    }

    /// Makes an event durable; once this returns, the event will run.
    pub async fn accept(&self, event: QueuedEvent) -> alcove_core::Result<()> {
        self.queue.enqueue(event).await?;
        self.wake.notify_one();
        Ok(())
    }
}

impl Worker {
    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn run(self: Arc<Self>) {
        let permits = Arc::new(Semaphore::new(self.settings.concurrency));
        loop {
            let free = permits.available_permits();
            let events = if free == 0 {
                Vec::new()
            } else {
                let exclude: Vec<String> = self.in_flight().iter().cloned().collect();
                match self.queue.due(now_ms(), exclude, free).await {
                    Ok(events) => events,
                    Err(e) => {
                        tracing::error!(error = %e.chain(), "cannot read the async queue");
                        tokio::time::sleep(IDLE_POLL).await;
                        continue;
                    }
                }
            };
            if events.is_empty() {
                let sleep = idle_sleep(self.queue.next_due_ms().await.ok().flatten(), now_ms());
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(sleep) => {}
                }
                continue;
            }
            for event in events {
                let Ok(permit) = Arc::clone(&permits).acquire_owned().await else { return };
                self.in_flight().insert(event.id.clone());
                let worker = Arc::clone(&self);
                tokio::spawn(async move {
                    let id = event.id.clone();
                    worker.deliver(event).await;
                    worker.in_flight().remove(&id);
                    drop(permit);
                    worker.wake.notify_one();
                });
            }
        }
    }

    /// Runs one event and records what became of it.
    async fn deliver(&self, event: QueuedEvent) {
        let qualifier = event.qualifier.clone().unwrap_or_else(|| "$LATEST".to_owned());
        let config = match self.store.get_event_invoke_config(&event.function, &qualifier).await {
            Ok(config) => config,
            Err(e) => {
                tracing::error!(request_id = %event.id, error = %e.chain(), "cannot read async settings; trying again later");
                self.postpone(&event).await;
                return;
            }
        };
        if let Some(decision) = before_attempt(event.attempts, event.enqueued_ms, config.as_ref(), now_ms()) {
            self.carry_out(event, decision, None).await;
            return;
        }
        let attempt = self.attempt(&event).await;
        let decision = after_attempt(
            event.attempts,
            attempt.outcome(),
            config.as_ref(),
            self.settings.retry_base,
            now_ms(),
        );
        self.carry_out(event, decision, attempt.response()).await;
    }

    /// Does what `decision` says with an event and the response of its attempt, if any.
    async fn carry_out(&self, event: QueuedEvent, decision: Decision, response: Option<&Response>) {
        let result = match decision {
            Decision::Succeeded { destination } => {
                if let Some(destination) = destination {
                    let record = destination_record(
                        &self.settings.region,
                        &event,
                        "Success",
                        event.attempts + 1,
                        response,
                        chrono::Utc::now(),
                    );
                    if let Err(reason) = self.send_to(&destination, &event, record).await {
                        let reason = alcove_core::error::chain(&reason);
                        tracing::warn!(request_id = %event.id, destination, reason, "on-success destination not reached");
                    }
                }
                self.queue.complete(&event.id).await
            }
            Decision::Drop { reason } => {
                tracing::warn!(request_id = %event.id, function = %event.function, reason, "async event dropped");
                self.queue.complete(&event.id).await
            }
            Decision::Postpone { at_ms } => self.queue.reschedule(&event.id, event.attempts, at_ms).await,
            Decision::Retry { attempts, at_ms } => {
                let delay_ms = at_ms - now_ms();
                tracing::info!(request_id = %event.id, attempts, delay_ms, "async event will be retried");
                self.queue.reschedule(&event.id, attempts, at_ms).await
            }
            Decision::FailedForGood { attempts, condition, destination } => {
                let event = QueuedEvent { attempts, ..event };
                self.failed_for_good(&event, destination, condition, response).await;
                return;
            }
        };
        self.record(&event, result);
    }

    /// Puts an event that was not attempted back in the queue, its attempts unchanged.
    async fn postpone(&self, event: &QueuedEvent) {
        let at_ms = now_ms() + THROTTLE_DELAY.as_millis() as i64;
        self.record(event, self.queue.reschedule(&event.id, event.attempts, at_ms).await);
    }

    fn record(&self, event: &QueuedEvent, result: alcove_core::Result<()>) {
        if let Err(e) = result {
            tracing::error!(request_id = %event.id, error = %e.chain(), "cannot record an async event's outcome");
        }
    }

    /// An event that will not run again: to the on-failure destination if there is one
    /// and it can be reached, to the dead letters otherwise; then off the queue. The
    /// record is written before the event leaves the queue, so a crash in between repeats
    /// the hand-over rather than losing the event.
    async fn failed_for_good(
        &self,
        event: &QueuedEvent,
        destination: Option<String>,
        condition: FailureCondition,
        response: Option<&Response>,
    ) {
        tracing::warn!(request_id = %event.id, function = %event.function, attempts = event.attempts, condition = condition.as_str(), "async event failed for good");
        let record = destination_record(
            &self.settings.region,
            event,
            condition.as_str(),
            event.attempts,
            response,
            chrono::Utc::now(),
        );
        let sent = match destination {
            Some(destination) => match self.send_to(&destination, event, record.clone()).await {
                Ok(()) => true,
                Err(reason) => {
                    let reason = alcove_core::error::chain(&reason);
                    tracing::warn!(request_id = %event.id, destination, reason, "on-failure destination not reached; kept as a dead letter");
                    false
                }
            },
            None => false,
        };
        if !sent {
            let letter = DeadLetter {
                id: event.id.clone(),
                function: event.function.clone(),
                qualifier: event.qualifier.clone(),
                tenant: event.tenant.clone(),
                record,
                failed_ms: now_ms(),
            };
            if let Err(e) = self.store.add_dead_letter(letter).await {
                tracing::error!(request_id = %event.id, error = %e.chain(), "cannot keep a dead letter; the event stays queued");
                self.postpone(event).await;
                return;
            }
        }
        self.record(event, self.queue.complete(&event.id).await);
    }

    /// Queues `record` as an Event invocation of the destination function, for the same
    /// tenant when the destination isolates tenants.
    async fn send_to(
        &self,
        destination: &str,
        event: &QueuedEvent,
        record: Value,
    ) -> Result<(), Undelivered> {
        let reference = destination_function(destination).map_err(Undelivered::NotAFunction)?;
        let target = match alcove_core::resolve_reference(self.store.as_ref(), &reference).await {
            Ok(Some(config)) => config,
            Ok(None) => return Err(Undelivered::NoSuchFunction(destination.to_owned())),
            Err(e) => return Err(Undelivered::Store(e)),
        };
        let version = target.version;
        let tenant =
            destination_tenant(target.tenancy, event.tenant.as_ref()).map_err(Undelivered::Refused)?;
        let now = now_ms();
        let queued = QueuedEvent {
            id: uuid::Uuid::new_v4().to_string(),
            function: target.name,
            version,
            qualifier: reference.qualifier.as_ref().map(ToString::to_string),
            tenant,
            payload: record.to_string().into_bytes(),
            client_context: None,
            attempts: 0,
            next_attempt_ms: now,
            enqueued_ms: now,
        };
        self.queue.enqueue(queued).await.map_err(Undelivered::Store)?;
        self.wake.notify_one();
        Ok(())
    }

    async fn attempt(&self, event: &QueuedEvent) -> Attempt {
        let config = match self.store.get_function(&event.function, event.version).await {
            Ok(Some(config)) => config,
            Ok(None) => return Attempt::Dropped("the function or version no longer exists"),
            Err(e) => {
                tracing::error!(error = %e.chain(), "cannot load an async event's function");
                return Attempt::Throttled;
            }
        };
        let arn = match &event.qualifier {
            Some(q) => format!("{}:{q}", config.arn(&self.settings.region)),
            None => config.arn(&self.settings.region),
        };
        let executed_version = config.version.to_string();
        let task_root = match self.code.local_task_root(&config.code.sha256_hex).await {
            Ok(task_root) => task_root,
            Err(e) => {
                // Retried like a throttle: the shared store may be back by then.
                tracing::error!(error = %e.chain(), "cannot fetch an async event's code package");
                return Attempt::Throttled;
            }
        };
        let target = InvokeTarget { task_root, tenant: event.tenant.clone(), config };
        let request = InvokeRequest {
            request_id: event.id.clone(),
            payload: Bytes::from(event.payload.clone()),
            invoked_function_arn: arn,
            client_context: event.client_context.clone(),
            want_log_tail: false,
            may_wait: false,
        };
        match self.envs.invoke(target, request).await {
            Ok(response) => match response.result {
                Ok(body) => Attempt::Done(Response { executed_version, function_error: false, body }),
                Err(failure) => {
                    Attempt::Failed(Response { executed_version, function_error: true, body: failure.body })
                }
            },
            Err(
                InvokeError::AtCapacity(_)
                | InvokeError::Throttled(_)
                | InvokeError::TenantEnvironmentsExhausted(_),
            ) => Attempt::Throttled,
            Err(InvokeError::IsolationUnavailable(_)) => {
                Attempt::Dropped("this server cannot isolate tenants")
            }
        }
    }
}

/// What the function answered.
struct Response {
    executed_version: String,
    function_error: bool,
    body: Bytes,
}

/// Lambda's invocation record for destinations.
fn destination_record(
    region: &str,
    event: &QueuedEvent,
    condition: &str,
    invoke_count: u32,
    response: Option<&Response>,
    timestamp: chrono::DateTime<chrono::Utc>,
) -> Value {
    let arn = format!("{}:{}", event.function.arn(region), event.qualifier.as_deref().unwrap_or("$LATEST"));
    let as_json = |bytes: &[u8]| {
        serde_json::from_slice::<Value>(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
    };
    let mut record = json!({
        "version": "1.0",
        "timestamp": timestamp.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        "requestContext": {
            "requestId": event.id,
            "functionArn": arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "requestPayload": as_json(&event.payload),
    });
    if let Some(tenant) = &event.tenant {
        record["requestContext"]["tenantId"] = json!(tenant.as_str());
    }
    if let Some(response) = response {
        record["responseContext"] =
            json!({ "statusCode": 200, "executedVersion": response.executed_version });
        if response.function_error {
            record["responseContext"]["functionError"] = json!("Unhandled");
        }
        record["responsePayload"] = as_json(&response.body);
    }
    record
}

/// How one attempt ended, with the function's response when it ran.
enum Attempt {
    Done(Response),
    Failed(Response),
    Throttled,
    Dropped(&'static str),
}

impl Attempt {
    fn outcome(&self) -> Outcome {
        match self {
            Attempt::Done(_) => Outcome::Succeeded,
            Attempt::Failed(_) => Outcome::Failed,
            Attempt::Throttled => Outcome::Throttled,
            Attempt::Dropped(reason) => Outcome::Dropped(reason),
        }
    }

    fn response(&self) -> Option<&Response> {
        match self {
            Attempt::Done(response) | Attempt::Failed(response) => Some(response),
            Attempt::Throttled | Attempt::Dropped(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alcove_core::{FunctionName, TenantId, Version};

    fn event(tenant: Option<&str>, qualifier: Option<&str>, payload: &[u8]) -> QueuedEvent {
        QueuedEvent {
            id: "req-1".into(),
            function: FunctionName::parse("orders").unwrap(),
            version: Version::Latest,
            qualifier: qualifier.map(str::to_owned),
            tenant: tenant.map(|t| TenantId::parse(t).unwrap()),
            payload: payload.to_vec(),
            client_context: None,
            attempts: 0,
            next_attempt_ms: 0,
            enqueued_ms: 0,
        }
    }

    fn at() -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05.678Z").unwrap().into()
    }

    #[test]
    fn record_of_a_success_carries_the_response() {
        let response =
            Response { executed_version: "3".into(), function_error: false, body: Bytes::from("[1]") };
        let record = destination_record(
            "eu-west-1",
            &event(Some("acme"), Some("live"), br#"{"n":1}"#),
            "Success",
            2,
            Some(&response),
            at(),
        );
        assert_eq!(
            record,
            json!({
                "version": "1.0",
                "timestamp": "2026-01-02T03:04:05.678Z",
                "requestContext": {
                    "requestId": "req-1",
                    "functionArn": "arn:aws:lambda:eu-west-1:000000000000:function:orders:live",
                    "condition": "Success",
                    "approximateInvokeCount": 2,
                    "tenantId": "acme",
                },
                "requestPayload": {"n": 1},
                "responseContext": {"statusCode": 200, "executedVersion": "3"},
                "responsePayload": [1],
            })
        );
    }

    #[test]
    fn record_of_a_function_error_is_marked_unhandled() {
        let response = Response {
            executed_version: "$LATEST".into(),
            function_error: true,
            body: Bytes::from("not json"),
        };
        let record = destination_record(
            "us-east-1",
            &event(None, None, b"x"),
            "RetriesExhausted",
            3,
            Some(&response),
            at(),
        );
        assert_eq!(record["responseContext"]["functionError"], "Unhandled");
        assert_eq!(record["responsePayload"], "not json", "a body that is not JSON is kept as a string");
        assert_eq!(record["requestPayload"], "x");
        assert_eq!(record["requestContext"]["approximateInvokeCount"], 3);
        assert_eq!(
            record["requestContext"]["functionArn"],
            "arn:aws:lambda:us-east-1:000000000000:function:orders:$LATEST"
        );
        assert!(record["requestContext"].get("tenantId").is_none());
    }

    #[test]
    fn record_of_an_event_never_run_has_no_response() {
        let record =
            destination_record("us-east-1", &event(None, None, b"{}"), "EventAgeExceeded", 0, None, at());
        assert!(record.get("responseContext").is_none());
        assert!(record.get("responsePayload").is_none());
        assert_eq!(record["requestContext"]["condition"], "EventAgeExceeded");
    }

    /// A dispatcher's worker over an in-memory store and queue; its environment manager
    /// is never asked to run anything.
    struct Fixture {
        worker: Worker,
        store: Arc<alcove_store::SqlStore>,
        dir: std::path::PathBuf,
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    async fn fixture() -> Fixture {
        let dir = std::env::temp_dir().join(format!("alcove-async-test-{}", uuid::Uuid::new_v4()));
        let store = Arc::new(alcove_store::SqlStore::open_in_memory().await.unwrap());
        let envs = Manager::new(alcove_envs::ManagerSettings {
            runtimes: alcove_envs::RuntimeSettings {
                node: "node".into(),
                node_bootstrap: "bootstrap.mjs".into(),
                python: "python3".into(),
                region: "us-east-1".into(),
                sandbox: None,
                function_access: None,
            },
            logs_root: dir.clone(),
            log_store: {
                std::fs::create_dir_all(&dir).unwrap();
                alcove_envs::LogStore::open(&dir.join("logs.db"), Default::default()).unwrap()
            },
            idle_timeout: Duration::from_secs(600),
            max_environments: 1,
            tenant_isolation_unavailable: None,
            account_concurrency: 1,
            queue_wait: Duration::ZERO,
            log_limits: Default::default(),
        });
        let worker = Worker {
            queue: Arc::clone(&store) as Arc<dyn EventQueue>,
            store: Arc::clone(&store) as Arc<dyn Store>,
            code: CodeStore::open(dir.join("code")).unwrap(),
            envs,
            settings: AsyncSettings::default(),
            in_flight: Mutex::new(HashSet::new()),
            wake: Arc::new(Notify::new()),
        };
        Fixture { worker, store, dir }
    }

    /// Creates function `name`, isolating tenants or not.
    async fn create_function(store: &alcove_store::SqlStore, name: &str, per_tenant: bool) {
        let tenancy = per_tenant.then_some(alcove_core::TenantIsolationMode::PerTenant);
        let config = alcove_core::testing::function_config(name).with_tenancy(tenancy);
        store.create_function(config, false).await.unwrap();
    }

    fn arn(name: &str) -> String {
        format!("arn:aws:lambda:us-east-1:000000000000:function:{name}")
    }

    /// Every queued event, due or not.
    async fn queued(store: &alcove_store::SqlStore) -> Vec<QueuedEvent> {
        store.due(i64::MAX, Vec::new(), 100).await.unwrap()
    }

    async fn dead_letters(store: &alcove_store::SqlStore) -> Vec<DeadLetter> {
        store.list_dead_letters(None, 100).await.unwrap()
    }

    fn failed(attempts: u32, destination: Option<String>) -> Decision {
        Decision::FailedForGood { attempts, condition: FailureCondition::RetriesExhausted, destination }
    }

    fn function_error() -> Response {
        Response { executed_version: "$LATEST".into(), function_error: true, body: Bytes::from("{}") }
    }

    #[tokio::test]
    async fn a_failure_with_no_destination_becomes_a_dead_letter() {
        let f = fixture().await;
        let queued_event = event(Some("acme"), None, b"{}");
        f.store.enqueue(queued_event.clone()).await.unwrap();
        f.worker.carry_out(queued_event, failed(3, None), Some(&function_error())).await;
        let letters = dead_letters(&f.store).await;
        assert_eq!(letters.len(), 1);
        assert_eq!(letters[0].id, "req-1");
        assert_eq!(letters[0].tenant, Some(TenantId::parse("acme").unwrap()));
        assert_eq!(letters[0].record["requestContext"]["condition"], "RetriesExhausted");
        assert_eq!(letters[0].record["requestContext"]["approximateInvokeCount"], 3);
        assert!(queued(&f.store).await.is_empty(), "the event left the queue");
    }

    #[tokio::test]
    async fn a_failure_whose_destination_is_missing_becomes_a_dead_letter() {
        let f = fixture().await;
        let queued_event = event(None, None, b"{}");
        f.store.enqueue(queued_event.clone()).await.unwrap();
        f.worker.carry_out(queued_event, failed(1, Some(arn("nowhere"))), Some(&function_error())).await;
        assert_eq!(dead_letters(&f.store).await.len(), 1);
        assert!(queued(&f.store).await.is_empty());
    }

    #[tokio::test]
    async fn a_failure_goes_to_its_destination_for_the_same_tenant() {
        let f = fixture().await;
        create_function(&f.store, "on-failure", true).await;
        let queued_event = event(Some("acme"), None, br#"{"order":7}"#);
        f.store.enqueue(queued_event.clone()).await.unwrap();
        f.worker.carry_out(queued_event, failed(3, Some(arn("on-failure"))), Some(&function_error())).await;
        assert!(dead_letters(&f.store).await.is_empty());
        let queued = queued(&f.store).await;
        assert_eq!(queued.len(), 1, "only the record for the destination is queued");
        assert_eq!(queued[0].function.as_str(), "on-failure");
        assert_eq!(queued[0].tenant, Some(TenantId::parse("acme").unwrap()));
        assert_eq!(queued[0].attempts, 0);
        let record: Value = serde_json::from_slice(&queued[0].payload).unwrap();
        assert_eq!(record["requestPayload"], json!({"order": 7}));
        assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
    }

    #[tokio::test]
    async fn a_failure_without_a_tenant_is_kept_when_its_destination_isolates_tenants() {
        let f = fixture().await;
        create_function(&f.store, "on-failure", true).await;
        let queued_event = event(None, None, b"{}");
        f.store.enqueue(queued_event.clone()).await.unwrap();
        f.worker.carry_out(queued_event, failed(1, Some(arn("on-failure"))), Some(&function_error())).await;
        assert_eq!(dead_letters(&f.store).await.len(), 1);
        assert!(queued(&f.store).await.is_empty());
    }

    #[tokio::test]
    async fn a_success_goes_to_its_destination_and_never_to_the_dead_letters() {
        let f = fixture().await;
        create_function(&f.store, "on-success", false).await;
        let queued_event = event(Some("acme"), None, b"{}");
        f.store.enqueue(queued_event.clone()).await.unwrap();
        let response =
            Response { executed_version: "$LATEST".into(), function_error: false, body: Bytes::from("1") };
        let decision = Decision::Succeeded { destination: Some(arn("on-success")) };
        f.worker.carry_out(queued_event, decision, Some(&response)).await;
        let queued = queued(&f.store).await;
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].function.as_str(), "on-success");
        assert_eq!(queued[0].tenant, None, "a shared destination runs for no tenant");
        let record: Value = serde_json::from_slice(&queued[0].payload).unwrap();
        assert_eq!(record["requestContext"]["condition"], "Success");
        assert_eq!(record["requestContext"]["approximateInvokeCount"], 1);
        assert!(dead_letters(&f.store).await.is_empty());
    }

    #[tokio::test]
    async fn a_retry_stays_queued_with_its_attempts_and_due_time() {
        let f = fixture().await;
        let queued_event = event(None, None, b"{}");
        f.store.enqueue(queued_event.clone()).await.unwrap();
        let at_ms = now_ms() + 60_000;
        f.worker.carry_out(queued_event, Decision::Retry { attempts: 1, at_ms }, None).await;
        assert!(f.store.due(at_ms - 1, Vec::new(), 10).await.unwrap().is_empty(), "not due before its time");
        let due = f.store.due(at_ms, Vec::new(), 10).await.unwrap();
        assert_eq!((due.len(), due[0].attempts, due[0].next_attempt_ms), (1, 1, at_ms));
        assert!(dead_letters(&f.store).await.is_empty());
    }

    #[tokio::test]
    async fn a_dropped_event_leaves_the_queue_without_a_trace() {
        let f = fixture().await;
        let queued_event = event(None, None, b"{}");
        f.store.enqueue(queued_event.clone()).await.unwrap();
        f.worker.carry_out(queued_event, Decision::Drop { reason: "gone" }, None).await;
        assert!(queued(&f.store).await.is_empty());
        assert!(dead_letters(&f.store).await.is_empty());
    }
}
