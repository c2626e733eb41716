//! The spawner thread: the one thread that changes network namespaces. It serves launch
//! requests in order and, whenever it has nothing to do, tops up a few ready slots so the
//! next cold starts skip creating a cgroup and a network namespace. Slots with egress are
//! stocked only once a function with egress has started, so a server whose functions have
//! no network runs no idle network stacks.
//!
//! It must outlive every sandbox: bwrap's `--die-with-parent` is tied to the thread that
//! started it.

use std::sync::mpsc::{self, TryRecvError};

use crate::launcher::{start, SandboxError, SpawnRequest};
use crate::slot::{Slot, SlotFactory};

/// Slots kept ready ahead of need, without and with egress.
const READY_SLOTS: usize = 4;
const READY_EGRESS_SLOTS: usize = 2;

pub(crate) fn start_thread(factory: SlotFactory, runtime: tokio::runtime::Handle) -> std::io::Result<mpsc::Sender<SpawnRequest>> {
    let (requests, inbox) = mpsc::channel::<SpawnRequest>();
    std::thread::Builder::new().name("alcove-spawner".into()).spawn(move || {
        let _runtime = runtime.enter();
        serve(&inbox, &factory);
    })?;
    Ok(requests)
}

#[derive(Default)]
struct Stock {
    plain: Vec<Slot>,
    egress: Vec<Slot>,
    egress_wanted: bool,
}

impl Stock {
    /// Which kind of slot to prepare next, if any is short.
    fn short(&self) -> Option<bool> {
        if self.plain.len() < READY_SLOTS {
            Some(false)
        } else if self.egress_wanted && self.egress.len() < READY_EGRESS_SLOTS {
            Some(true)
        } else {
            None
        }
    }

    fn shelf(&mut self, egress: bool) -> &mut Vec<Slot> {
        if egress {
            &mut self.egress
        } else {
            &mut self.plain
        }
    }
}

fn serve(inbox: &mpsc::Receiver<SpawnRequest>, factory: &SlotFactory) {
    let mut stock = Stock::default();
    let mut stocking = true;
    loop {
        let short = if stocking { stock.short() } else { None };
        let request = match short {
            Some(egress) => match inbox.try_recv() {
                Ok(request) => request,
                Err(TryRecvError::Empty) => {
                    match factory.make(egress) {
                        Ok(slot) => stock.shelf(egress).push(slot),
                        Err(e) => {
                            tracing::warn!(error = %e, egress, "cannot prepare a sandbox slot ahead");
                            stocking = false;
                        }
                    }
                    continue;
                }
                Err(TryRecvError::Disconnected) => break,
            },
            None => match inbox.recv() {
                Ok(request) => request,
                Err(_) => break,
            },
        };
        stocking = true;
        let egress = request.plan.egress;
        stock.egress_wanted |= egress;
        let slot = match stock.shelf(egress).pop() {
            Some(slot) => Ok(slot),
            None => factory.make(egress).map_err(|e| SandboxError::Launch(format!("preparing the sandbox: {e}"))),
        };
        let _ = request.reply.send(slot.and_then(|slot| start(request.plan, slot)));
    }
    for slot in stock.plain.into_iter().chain(stock.egress) {
        slot.cgroup.destroy();
    }
}
