//! The connections one Runtime API server has admitted, and which of them are idle.
//!
//! A connection is *busy* from the moment hyper hands a parsed request head to the
//! service until the response's last byte has been handed back to hyper (its body is
//! dropped), and *idle* otherwise: a kept-alive connection between requests, or one whose
//! request head has not fully arrived. A pending `GET /next` is busy for as long as it
//! waits, even through minutes of the environment being frozen.
//!
//! When every slot is taken and another connection waits to be accepted, the accept loop
//! asks [`Connections::evict_idle`] to close the connection idle for longest, once it has
//! been idle for a grace period: a connection just admitted gets the time to send its
//! first request before the next one in line can push it out (and a flood cannot turn
//! the loop into an accept-and-close spin). Busy connections are never evicted, and
//! neither are *reserved* ones: the connection whose `/next` delivered the invocation in
//! progress stays reserved until that invocation is settled. Between receiving an event
//! and posting its result the runtime's connection has no request in flight, for as long
//! as the handler runs; without the reservation, the function's own code could open
//! connections until that one was evicted, and the result's `POST` would race the close.
//! A legitimate runtime's connection is therefore never evictable except for the instant
//! between a result and its next `/next`.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, Notify};

/// Shared by the registry and every connection's [`Activity`].
#[derive(Debug)]
struct Signals {
    started: Instant,
    /// Notified whenever a connection becomes idle or closes.
    changed: Notify,
}

impl Signals {
    fn now(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }
}

/// What one connection is doing, updated by its service and read by the registry and by
/// its header deadline.
#[derive(Debug)]
pub(crate) struct Activity {
    in_flight: AtomicUsize,
    /// Invocations delivered on this connection and not yet settled (0 or 1).
    reservations: AtomicUsize,
    /// Requests started on this connection so far.
    started: AtomicU64,
    /// When it last became idle, in nanoseconds since the registry was made.
    idle_since: AtomicU64,
    signals: Arc<Signals>,
}

impl Activity {
    /// Marks a request as in flight until the returned guard is dropped.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.started.fetch_add(1, Ordering::SeqCst);
        InFlight(Arc::clone(self))
    }

    /// Keeps the connection from being evicted until the returned guard is dropped,
    /// without making it busy (its header deadline still applies).
    pub fn reserve(self: &Arc<Self>) -> Reservation {
        self.reservations.fetch_add(1, Ordering::SeqCst);
        Reservation(Arc::clone(self))
    }

    pub fn is_idle(&self) -> bool {
        self.in_flight.load(Ordering::SeqCst) == 0
    }

    fn is_evictable(&self) -> bool {
        self.is_idle() && self.reservations.load(Ordering::SeqCst) == 0
    }

    pub fn requests_started(&self) -> u64 {
        self.started.load(Ordering::SeqCst)
    }
}

/// One request in flight on a connection.
#[derive(Debug)]
pub(crate) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        if activity.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            activity.idle_since.store(activity.signals.now(), Ordering::SeqCst);
            activity.signals.changed.notify_one();
        }
    }
}

/// The connection that delivered the invocation in progress; see the module doc.
#[derive(Debug)]
pub(crate) struct Reservation(Arc<Activity>);

impl Drop for Reservation {
    fn drop(&mut self) {
        let activity = &self.0;
        if activity.reservations.fetch_sub(1, Ordering::SeqCst) == 1 && activity.is_idle() {
            // Idle since its last request ended, but evictable only from now on.
            activity.idle_since.store(activity.signals.now(), Ordering::SeqCst);
            activity.signals.changed.notify_one();
        }
    }
}

struct Entry {
    id: u64,
    activity: Arc<Activity>,
    /// Dropped to close the connection.
    evict: Option<oneshot::Sender<()>>,
}

/// What [`Connections::evict_idle`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Eviction {
    Evicted,
    /// The longest idle connection becomes evictable after this long.
    NotBefore(Duration),
    /// Every connection has a request in flight.
    NothingIdle,
}

/// The admitted connections of one server.
pub(crate) struct Connections {
    entries: Mutex<Vec<Entry>>,
    next_id: AtomicU64,
    signals: Arc<Signals>,
}

/// A connection's place in the registry; dropping it removes the connection.
pub(crate) struct Admission {
    pub activity: Arc<Activity>,
    /// Resolves when the registry evicts the connection.
    pub evicted: oneshot::Receiver<()>,
    pub registration: Registration,
}

pub(crate) struct Registration {
    id: u64,
    connections: Arc<Connections>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.connections.lock().retain(|entry| entry.id != self.id);
        self.connections.signals.changed.notify_one();
    }
}

impl Connections {
    pub fn new() -> Arc<Self> {
        Arc::new(Connections {
            entries: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(0),
            signals: Arc::new(Signals { started: Instant::now(), changed: Notify::new() }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a newly accepted connection, idle until its first request.
    pub fn admit(self: &Arc<Self>) -> Admission {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let activity = Arc::new(Activity {
            in_flight: AtomicUsize::new(0),
            reservations: AtomicUsize::new(0),
            started: AtomicU64::new(0),
            idle_since: AtomicU64::new(self.signals.now()),
            signals: Arc::clone(&self.signals),
        });
        let (evict, evicted) = oneshot::channel();
        self.lock().push(Entry { id, activity: Arc::clone(&activity), evict: Some(evict) });
        Admission { activity, evicted, registration: Registration { id, connections: Arc::clone(self) } }
    }

    /// Closes the connection that has been idle (and unreserved) for longest, if it has
    /// been so for at least `grace`.
    pub fn evict_idle(&self, grace: Duration) -> Eviction {
        let mut entries = self.lock();
        let longest_idle = entries
            .iter_mut()
            .filter(|entry| entry.evict.is_some() && entry.activity.is_evictable())
            .min_by_key(|entry| entry.activity.idle_since.load(Ordering::SeqCst));
        let Some(entry) = longest_idle else {
            return Eviction::NothingIdle;
        };
        let idle_for = Duration::from_nanos(
            self.signals.now().saturating_sub(entry.activity.idle_since.load(Ordering::SeqCst)),
        );
        if idle_for < grace {
            return Eviction::NotBefore(grace - idle_for);
        }
        entry.evict = None;
        Eviction::Evicted
    }

    /// Waits until a connection becomes idle or closes (or did since the last call).
    pub async fn changed(&self) {
        self.signals.changed.notified().await
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_idle_connections_are_evicted_longest_idle_first() {
        let connections = Connections::new();
        let Admission { activity: older, evicted: mut older_evicted, registration: _older } =
            connections.admit();
        let Admission { activity: newer, evicted: mut newer_evicted, registration: _newer } =
            connections.admit();
        let Admission { activity: busy, evicted: mut busy_evicted, registration: _busy } =
            connections.admit();
        let _request = busy.begin();
        // The older one gets busy and then idle again: it is now the more recently idle.
        drop(older.begin());
        assert!(newer.is_idle() && older.is_idle() && !busy.is_idle());

        assert_eq!(connections.evict_idle(Duration::ZERO), Eviction::Evicted);
        assert!(newer_evicted.try_recv().is_err_and(|e| e == oneshot::error::TryRecvError::Closed));
        assert!(older_evicted.try_recv().is_err_and(|e| e == oneshot::error::TryRecvError::Empty));
        assert_eq!(connections.evict_idle(Duration::ZERO), Eviction::Evicted);
        assert!(older_evicted.try_recv().is_err_and(|e| e == oneshot::error::TryRecvError::Closed));
        assert_eq!(
            connections.evict_idle(Duration::ZERO),
            Eviction::NothingIdle,
            "a connection with a request in flight is never evicted"
        );
        assert!(busy_evicted.try_recv().is_err_and(|e| e == oneshot::error::TryRecvError::Empty));
    }

    #[test]
    fn a_reserved_connection_is_not_evicted_until_its_reservation_ends() {
        let connections = Connections::new();
        let Admission { activity, mut evicted, registration: _registration } = connections.admit();
        // The runtime's `/next` was answered with an event: no request in flight, but the
        // handler is running and the result will come on this connection.
        drop(activity.begin());
        let reservation = activity.reserve();
        assert!(activity.is_idle());
        assert_eq!(connections.evict_idle(Duration::ZERO), Eviction::NothingIdle);
        drop(reservation);
        let grace = Duration::from_secs(60);
        assert!(
            matches!(connections.evict_idle(grace), Eviction::NotBefore(wait) if wait > grace - Duration::from_secs(5)),
            "the grace counts from the end of the reservation"
        );
        assert_eq!(connections.evict_idle(Duration::ZERO), Eviction::Evicted);
        assert!(evicted.try_recv().is_err_and(|e| e == oneshot::error::TryRecvError::Closed));
    }

    #[test]
    fn a_dropped_registration_leaves_the_registry() {
        let connections = Connections::new();
        let admission = connections.admit();
        assert_eq!(connections.len(), 1);
        drop(admission);
        assert_eq!(connections.len(), 0);
        assert_eq!(connections.evict_idle(Duration::ZERO), Eviction::NothingIdle);
    }

    #[test]
    fn a_connection_is_evictable_only_after_its_grace() {
        let connections = Connections::new();
        let Admission { evicted: mut fresh_evicted, registration: _fresh, .. } = connections.admit();
        let grace = Duration::from_secs(60);
        assert!(
            matches!(connections.evict_idle(grace), Eviction::NotBefore(wait) if wait > grace - Duration::from_secs(5))
        );
        assert!(fresh_evicted.try_recv().is_err_and(|e| e == oneshot::error::TryRecvError::Empty));
    }
}
