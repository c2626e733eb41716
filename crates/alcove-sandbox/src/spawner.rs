//! The spawner thread: the one thread that changes network namespaces. Whenever it has
//! nothing more urgent to do it tops up a few ready slots, each with its sandbox started
//! and waiting for a function, so a cold start only activates one. A launch that finds
//! none ready asks the thread for one and waits for it. Slots with egress are stocked
//! only once a function with egress has started, so a server whose functions have no
//! network runs no idle network stacks.
//!
//! It must outlive every sandbox: it starts the starter process, and bwrap's
//! `--die-with-parent` is tied to the thread that started the starter.

use std::io;
use std::path::PathBuf;
use std::sync::mpsc::{self, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use crate::cgroup::CgroupVersion;
use crate::launcher::SandboxError;
use crate::slot::{Slot, SlotFactory};
use crate::starter::WaitingPlan;

/// Slots kept ready ahead of need, without and with egress.
pub(crate) const READY_SLOTS: usize = 4;
pub(crate) const READY_EGRESS_SLOTS: usize = 2;

enum Message {
    /// A launch found no ready slot of this kind: make one now.
    Make { egress: bool, reply: tokio::sync::oneshot::Sender<io::Result<Slot>> },
    /// A launch took a ready slot: top the stock up.
    Took,
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

/// The handle launches take slots through.
pub(crate) struct Spawner {
    stock: Arc<Mutex<Stock>>,
    requests: Mutex<mpsc::Sender<Message>>,
}

fn lock(stock: &Mutex<Stock>) -> MutexGuard<'_, Stock> {
    stock.lock().unwrap_or_else(|p| p.into_inner())
}

impl Spawner {
    fn send(&self, message: Message) -> Result<(), SandboxError> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(message)
            .map_err(|_| SandboxError::SpawnerGone)
    }

    /// A slot of the kind asked for: a ready one, or one made now.
    pub async fn take(&self, egress: bool) -> Result<Slot, SandboxError> {
        let ready = {
            let mut stock = lock(&self.stock);
            stock.egress_wanted |= egress;
            stock.shelf(egress).pop()
        };
        if let Some(slot) = ready {
            self.send(Message::Took)?;
            return Ok(slot);
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.send(Message::Make { egress, reply })?;
        answer
            .await
            .map_err(|_| SandboxError::SpawnerGone)?
            .map_err(|source| SandboxError::Launch { step: "preparing the sandbox", source })
    }
}

/// Starts the spawner thread, which makes its slot factory (and so the starter) itself.
pub(crate) fn start_thread(
    cgroups: CgroupVersion,
    slirp4netns: Option<PathBuf>,
    staging_root: PathBuf,
    plan: WaitingPlan,
    runtime: tokio::runtime::Handle,
) -> io::Result<Spawner> {
    let (requests, inbox) = mpsc::channel::<Message>();
    let stock = Arc::new(Mutex::new(Stock::default()));
    let shared = Arc::clone(&stock);
    let (ready, made) = mpsc::sync_channel::<io::Result<()>>(1);
    std::thread::Builder::new().name("alcove-spawner".into()).spawn(move || {
        let _runtime = runtime.enter();
        match SlotFactory::new(cgroups, slirp4netns, staging_root, plan) {
            Ok(mut factory) => {
                let _ = ready.send(Ok(()));
                serve(&inbox, &shared, &mut factory);
            }
            Err(e) => {
                let _ = ready.send(Err(e));
            }
        }
    })?;
    made.recv().map_err(|_| io::Error::other("the spawner thread ended"))??;
    Ok(Spawner { stock, requests: Mutex::new(requests) })
}

/// A new slot; logs how long its sandbox took to start (`when`: ahead or on demand).
fn make(factory: &mut SlotFactory, egress: bool, when: &str) -> io::Result<Slot> {
    let started = Instant::now();
    let made = factory.make(egress);
    if made.is_ok() {
        tracing::debug!(egress, when, took_us = started.elapsed().as_micros() as u64, "sandbox started");
    }
    made
}

fn serve(inbox: &mpsc::Receiver<Message>, stock: &Mutex<Stock>, factory: &mut SlotFactory) {
    let mut stocking = true;
    loop {
        // A launch waiting for a slot comes before the stock.
        let message = match inbox.try_recv() {
            Ok(message) => message,
            Err(TryRecvError::Disconnected) => break,
            Err(TryRecvError::Empty) => {
                let short = if stocking { lock(stock).short() } else { None };
                if let Some(egress) = short {
                    match make(factory, egress, "ahead") {
                        Ok(slot) => lock(stock).shelf(egress).push(slot),
                        Err(e) => {
                            tracing::warn!(error = %e, egress, "cannot prepare a sandbox ahead");
                            stocking = false;
                        }
                    }
                    continue;
                }
                match inbox.recv() {
                    Ok(message) => message,
                    Err(_) => break,
                }
            }
        };
        stocking = true;
        if let Message::Make { egress, reply } = message {
            let made = make(factory, egress, "on demand");
            // A launch that gave up waiting leaves its slot here.
            if let Err(Ok(slot)) = reply.send(made) {
                slot.cgroup.destroy();
            }
        }
    }
    let mut stock = lock(stock);
    let slots = std::mem::take(&mut stock.plain).into_iter().chain(std::mem::take(&mut stock.egress));
    for slot in slots {
        slot.cgroup.destroy();
    }
}
