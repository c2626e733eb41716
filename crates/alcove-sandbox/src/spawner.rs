//! The spawner thread: the one thread that changes network namespaces. It serves launch
//! requests in order and, whenever it has nothing to do, tops up a few ready slots so the
//! next cold starts skip creating a cgroup and a network namespace.
//!
//! It must outlive every sandbox: bwrap's `--die-with-parent` is tied to the thread that
//! started it.

use std::sync::mpsc::{self, TryRecvError};

use crate::launcher::{start, SandboxError, SpawnRequest};
use crate::slot::{Slot, SlotFactory};

/// Slots kept ready ahead of need.
const READY_SLOTS: usize = 4;

pub(crate) fn start_thread(factory: SlotFactory, runtime: tokio::runtime::Handle) -> std::io::Result<mpsc::Sender<SpawnRequest>> {
    let (requests, inbox) = mpsc::channel::<SpawnRequest>();
    std::thread::Builder::new().name("alcove-spawner".into()).spawn(move || {
        let _runtime = runtime.enter();
        serve(&inbox, &factory);
    })?;
    Ok(requests)
}

fn serve(inbox: &mpsc::Receiver<SpawnRequest>, factory: &SlotFactory) {
    let mut ready: Vec<Slot> = Vec::with_capacity(READY_SLOTS);
    let mut stocking = true;
    loop {
        let request = if stocking && ready.len() < READY_SLOTS {
            match inbox.try_recv() {
                Ok(request) => request,
                Err(TryRecvError::Empty) => {
                    match factory.make() {
                        Ok(slot) => ready.push(slot),
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot prepare a sandbox slot ahead");
                            stocking = false;
                        }
                    }
                    continue;
                }
                Err(TryRecvError::Disconnected) => break,
            }
        } else {
            match inbox.recv() {
                Ok(request) => request,
                Err(_) => break,
            }
        };
        stocking = true;
        let slot = match ready.pop() {
            Some(slot) => Ok(slot),
            None => factory.make().map_err(|e| SandboxError::Launch(format!("preparing the sandbox: {e}"))),
        };
        let _ = request.reply.send(slot.and_then(|slot| start(request.plan, slot, &factory.host_netns)));
    }
    for slot in ready {
        slot.cgroup.destroy();
    }
}
