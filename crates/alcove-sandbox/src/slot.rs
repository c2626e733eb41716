//! Slots: what an environment needs that does not depend on its function, made ahead of
//! need by the spawner thread. A host uid of its own, a cgroup that uid may join, a
//! network namespace with loopback up and the Runtime API listener bound inside it, and
//! the sandbox itself, started and waiting for its function (see `activation`). Slots
//! with egress also have their user-space network stack running. A cold start that finds
//! a slot ready pays only for activation and the runtime's own start.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::cgroup::{Cgroup, CgroupVersion};
use crate::egress::Egress;
use crate::netns::{self, Listeners};
use crate::starter::{Started, Starter, WaitingPlan};

/// First host uid (and gid) given to environments; each live environment has its own.
pub const UID_BASE: u32 = 3_000_000;
/// Where servers on one host claim uids, so two servers never give an environment each
/// the same one: a lock file per uid, held (flock) for as long as the uid is in use.
const UID_CLAIMS: &str = "/run/alcove/uids";
/// How many taken uids a lease skips over before giving up.
const UID_CLAIM_ATTEMPTS: u32 = 100_000;

/// Host uids not held by a live environment or a ready slot of this server.
pub struct UidPool {
    free: BTreeSet<u32>,
    next: u32,
}

impl UidPool {
    pub fn new() -> Arc<Mutex<UidPool>> {
        Arc::new(Mutex::new(UidPool { free: BTreeSet::new(), next: UID_BASE + 1 }))
    }
}

/// A host uid in use by one environment; returned to the pool (and its claim released)
/// on drop.
pub struct UidLease {
    pub uid: u32,
    pool: Arc<Mutex<UidPool>>,
    _claim: Flock<File>,
}

impl UidLease {
    pub fn take(pool: &Arc<Mutex<UidPool>>) -> io::Result<UidLease> {
        fs::create_dir_all(UID_CLAIMS)?;
        let mut guard = pool.lock().unwrap_or_else(|p| p.into_inner());
        for _ in 0..UID_CLAIM_ATTEMPTS {
            let uid = match guard.free.pop_first() {
                Some(uid) => uid,
                None => {
                    guard.next += 1;
                    guard.next - 1
                }
            };
            // A uid another server holds is skipped for good: it is that server's.
            if let Some(claim) = claim(uid)? {
                return Ok(UidLease { uid, pool: Arc::clone(pool), _claim: claim });
            }
        }
        Err(io::Error::other("no free host uid for an environment"))
    }
}

/// Claims `uid` for this process, or `None` if another process holds it.
fn claim(uid: u32) -> io::Result<Option<Flock<File>>> {
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(format!("{UID_CLAIMS}/{uid}"))?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(locked) => Ok(Some(locked)),
        Err((_, Errno::EWOULDBLOCK)) => Ok(None),
        Err((_, e)) => Err(e.into()),
    }
}

impl Drop for UidLease {
    fn drop(&mut self) {
        self.pool.lock().unwrap_or_else(|p| p.into_inner()).free.insert(self.uid);
    }
}

/// One environment's worth of function-independent confinement, not yet in use.
pub struct Slot {
    pub uid: UidLease,
    pub cgroup: Cgroup,
    pub listeners: Listeners,
    /// The network stack serving the namespace, for slots with egress.
    pub egress: Option<Egress>,
    /// The waiting sandbox: its bwrap process, standard streams and activation pipe.
    pub started: Started,
}

/// Makes slots. Runs on the spawner thread: creating the namespace moves that thread
/// into it.
pub struct SlotFactory {
    pub cgroups: CgroupVersion,
    pub uids: Arc<Mutex<UidPool>>,
    /// The server's own network namespace, where helpers that must reach the host's
    /// network (the egress stack) are started.
    pub host_netns: OwnedFd,
    /// The egress stack's executable, when installed.
    pub slirp4netns: Option<PathBuf>,
    /// The staging area, which the egress stack must not see.
    staging_root: PathBuf,
    /// Forks the waiting sandboxes; started again if it ever exits.
    starter: Starter,
    waiting: WaitingPlan,
    created: AtomicU64,
}

impl SlotFactory {
    /// Call from the spawner thread, while it is still in the server's network namespace:
    /// it starts the starter, whose thread every sandbox's `--die-with-parent` refers to.
    pub(crate) fn new(
        cgroups: CgroupVersion,
        slirp4netns: Option<PathBuf>,
        staging_root: PathBuf,
        waiting: WaitingPlan,
    ) -> io::Result<SlotFactory> {
        let host_netns = netns::current()?;
        let starter = Starter::spawn(&waiting)?;
        Ok(SlotFactory {
            cgroups,
            uids: UidPool::new(),
            host_netns,
            slirp4netns,
            staging_root,
            starter,
            waiting,
            created: AtomicU64::new(0),
        })
    }

    /// A new slot, with its egress stack running if `egress` and its sandbox waiting.
    pub fn make(&mut self, egress: bool) -> io::Result<Slot> {
        let uid = UidLease::take(&self.uids)?;
        let name = format!("{}-{}", std::process::id(), self.created.fetch_add(1, Ordering::Relaxed));
        let cgroup = Cgroup::create(&self.cgroups, &name, uid.uid)?;
        let started = self.network(egress, uid.uid).and_then(|(netns, listeners, stack)| {
            // bwrap, and the runtime after it, are born in the slot's namespace.
            let started = self.start(egress, &uid, &cgroup, &netns)?;
            Ok((listeners, stack, started))
        });
        match started {
            Ok((listeners, egress, started)) => Ok(Slot { uid, cgroup, listeners, egress, started }),
            Err(e) => {
                cgroup.destroy();
                Err(e)
            }
        }
    }

    /// Has the starter fork the waiting sandbox.
    fn start(
        &mut self,
        egress: bool,
        uid: &UidLease,
        cgroup: &Cgroup,
        netns: &OwnedFd,
    ) -> io::Result<Started> {
        self.with_starter(|starter| starter.start(egress, uid.uid, cgroup.procs_files(), netns))
    }

    /// Runs `request` with the starter; a starter that is gone is replaced once.
    fn with_starter<T>(&mut self, request: impl Fn(&Starter) -> io::Result<T>) -> io::Result<T> {
        match request(&self.starter) {
            Err(e) if matches!(e.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset) => {
                tracing::warn!(error = %e, "the sandbox starter is gone; starting a new one");
                // The starter is started from the server's own network namespace.
                let current = netns::current()?;
                netns::enter(&self.host_netns)?;
                self.starter = Starter::spawn(&self.waiting)?;
                netns::enter(&current)?;
                request(&self.starter)
            }
            other => other,
        }
    }

    /// The slot's network namespace with loopback up and the server's listeners bound
    /// inside (the calling thread is left in it), and the egress stack when asked for.
    fn network(&mut self, egress: bool, uid: u32) -> io::Result<(OwnedFd, Listeners, Option<Egress>)> {
        let packet = (!self.cgroups.charges_all_socket_memory()).then_some(netns::SMALL_LOOPBACK_PACKET);
        if !egress {
            let namespace = netns::create(packet)?;
            let listeners = netns::bind_listeners()?;
            return Ok((namespace, listeners, None));
        }
        let slirp = self.slirp4netns.clone().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "egress needs slirp4netns, which is not installed")
        })?;
        // Owned by a user namespace of the environment's uid, so the stack can join it
        // as that uid.
        let (user, namespace) = self.with_starter(|starter| starter.network(uid))?;
        netns::enter(&namespace)?;
        netns::loopback_up(packet)?;
        let listeners = netns::bind_listeners()?;
        // The stack's own sockets must be on the host's network.
        netns::enter(&self.host_netns)?;
        let stack = Egress::attach(&slirp, &user, &namespace, uid, &self.staging_root)?;
        Ok((namespace, listeners, Some(stack)))
    }
}
