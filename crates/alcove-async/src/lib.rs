//! Asynchronous invocation (`InvocationType: Event`).
//!
//! An accepted event is written to the durable queue before the caller gets its 202, and
//! leaves the queue only when it has run to an end: success, or failure after its retries.
//! A crash at any moment therefore loses nothing; an event that was running when the
//! process died runs again after the restart (at-least-once, as in Lambda).
//!
//! The dispatcher polls the queue for due events, runs up to `concurrency` of them at a
//! time through the environment manager (with the tenant id they were accepted with), and
//! reschedules failures with a linear backoff: 1 minute, then 2, by default.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alcove_core::{EventQueue, QueuedEvent, Store};
use alcove_envs::{InvokeError, InvokeRequest, InvokeTarget, Manager};
use alcove_store::CodeStore;
use bytes::Bytes;
use tokio::sync::{Notify, Semaphore};

#[derive(Debug, Clone)]
pub struct AsyncSettings {
    /// Delay before retry `n` is `n × retry_base`.
    pub retry_base: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Events running at once.
    pub concurrency: usize,
    /// Region of the invoked function ARN the runtime sees.
    pub region: String,
}

impl Default for AsyncSettings {
    fn default() -> Self {
        AsyncSettings { retry_base: Duration::from_secs(60), max_retries: 2, concurrency: 16, region: "us-east-1".into() }
    }
}

/// Delay before throttled events are tried again (no attempt is counted).
const THROTTLE_DELAY: Duration = Duration::from_secs(1);
/// Longest the dispatcher sleeps without looking at the queue.
const IDLE_POLL: Duration = Duration::from_secs(1);

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

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
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
                        tracing::error!(error = %e, "cannot read the async queue");
                        tokio::time::sleep(IDLE_POLL).await;
                        continue;
                    }
                }
            };
            if events.is_empty() {
                let sleep = match self.queue.next_due_ms().await {
                    Ok(Some(due)) => Duration::from_millis((due - now_ms()).clamp(0, IDLE_POLL.as_millis() as i64) as u64),
                    _ => IDLE_POLL,
                };
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
        let outcome = self.attempt(&event).await;
        let result = match outcome {
            Attempt::Done => self.queue.complete(&event.id).await,
            Attempt::Dropped(reason) => {
                tracing::warn!(request_id = %event.id, function = %event.function, reason, "async event dropped");
                self.queue.complete(&event.id).await
            }
            Attempt::Throttled => {
                self.queue.reschedule(&event.id, event.attempts, now_ms() + THROTTLE_DELAY.as_millis() as i64).await
            }
            Attempt::Failed => {
                let attempts = event.attempts + 1;
                if attempts > self.settings.max_retries {
                    tracing::warn!(
                        request_id = %event.id,
                        function = %event.function,
                        attempts,
                        "async event failed on every attempt; discarded"
                    );
                    self.queue.complete(&event.id).await
                } else {
                    let delay = self.settings.retry_base * attempts;
                    tracing::info!(request_id = %event.id, attempts, delay_ms = delay.as_millis() as u64, "async event will be retried");
                    self.queue.reschedule(&event.id, attempts, now_ms() + delay.as_millis() as i64).await
                }
            }
        };
        if let Err(e) = result {
            tracing::error!(request_id = %event.id, error = %e, "cannot record an async event's outcome");
        }
    }

    async fn attempt(&self, event: &QueuedEvent) -> Attempt {
        let config = match self.store.get_function(&event.function, event.version).await {
            Ok(Some(config)) => config,
            Ok(None) => return Attempt::Dropped("the function or version no longer exists"),
            Err(e) => {
                tracing::error!(error = %e, "cannot load an async event's function");
                return Attempt::Throttled;
            }
        };
        let arn = match &event.qualifier {
            Some(q) => format!("{}:{q}", config.arn(&self.settings.region)),
            None => config.arn(&self.settings.region),
        };
        let target = InvokeTarget {
            task_root: self.code.task_root(&config.code.sha256_hex),
            tenant: event.tenant.clone(),
            config,
        };
        let request = InvokeRequest {
            request_id: event.id.clone(),
            payload: Bytes::from(event.payload.clone()),
            invoked_function_arn: arn,
            client_context: event.client_context.clone(),
            want_log_tail: false,
            may_wait: false,
        };
        match self.envs.invoke(target, request).await {
            Ok(response) if response.result.is_ok() => Attempt::Done,
            Ok(_) => Attempt::Failed,
            Err(InvokeError::AtCapacity(_) | InvokeError::Throttled(_)) => Attempt::Throttled,
            Err(InvokeError::IsolationUnavailable(_)) => Attempt::Dropped("this server cannot isolate tenants"),
        }
    }
}

enum Attempt {
    Done,
    Failed,
    Throttled,
    Dropped(&'static str),
}
