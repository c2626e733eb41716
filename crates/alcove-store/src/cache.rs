//! An in-memory copy of the function configurations and aliases the server has read.
//!
//! Every invoke resolves its function (and alias) before it can pick an environment; a
//! database read costs a hand-off to the blocking pool and a transaction, several times
//! the cost of the rest of a warm invoke's bookkeeping. Reads are far more frequent than
//! changes, so the store keeps what it read and drops all of it whenever anything about
//! any function changes.
//!
//! A generation number keeps a read that raced a change from caching what the change
//! replaced: an entry read under generation *g* is stored only if no change bumped the
//! generation since. Changes bump it after they commit, so a reader either took its
//! generation after the bump, and so queried after the commit (reading the new rows), or
//! stores an entry the bump then drops, or finds its generation stale. Other nodes of a
//! shared store bump theirs when the change's notification arrives, after its commit too.

use std::collections::HashMap;
use std::sync::Mutex;

use alcove_core::{Alias, AliasName, FunctionConfig, FunctionName, Version};

/// Entries kept at most; past it the cache starts over (a bound, not an eviction policy:
/// a server serving more functions than this only loses some hits).
const MAX_ENTRIES: usize = 4096;

#[derive(Default)]
pub(crate) struct FunctionCache {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    generation: u64,
    functions: HashMap<(FunctionName, Version), FunctionConfig>,
    aliases: HashMap<(FunctionName, AliasName), Alias>,
}

impl FunctionCache {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The generation to read under: pass it back when storing what was read.
    pub fn generation(&self) -> u64 {
        self.state().generation
    }

    pub fn function(&self, name: &FunctionName, version: Version) -> Option<FunctionConfig> {
        self.state().functions.get(&(name.clone(), version)).cloned()
    }

    pub fn alias(&self, function: &FunctionName, name: &AliasName) -> Option<Alias> {
        self.state().aliases.get(&(function.clone(), name.clone())).cloned()
    }

    pub fn keep_function(&self, generation: u64, version: Version, config: &FunctionConfig) {
        let mut state = self.state();
        if state.generation == generation {
            state.make_room();
            state.functions.insert((config.name.clone(), version), config.clone());
        }
    }

    pub fn keep_alias(&self, generation: u64, alias: &Alias) {
        let mut state = self.state();
        if state.generation == generation {
            state.make_room();
            state.aliases.insert((alias.function.clone(), alias.name.clone()), alias.clone());
        }
    }

    /// Forgets everything; called after every committed change to functions or aliases.
    pub fn invalidate(&self) {
        let mut state = self.state();
        state.generation += 1;
        state.functions.clear();
        state.aliases.clear();
    }
}

impl State {
    fn make_room(&mut self) {
        if self.functions.len() + self.aliases.len() >= MAX_ENTRIES {
            self.functions.clear();
            self.aliases.clear();
        }
    }
}
