//! Waiters grouped by key and served one key at a time in turn: the fairness rule of
//! admission, kept apart from the concurrency counts so that it can be tested with plain
//! values.
//!
//! Within one key, waiters are served first come first served. Across keys, a key that
//! was just served goes to the back of the line, so a key with a thousand waiters gets
//! no more turns than a key with one: a tenant that floods a function queues behind
//! itself, not in front of everyone else.

use std::collections::VecDeque;

pub(crate) struct FairQueue<K, W> {
    /// Keys with waiters, in the order they are served.
    turns: VecDeque<(K, VecDeque<W>)>,
}

impl<K, W> Default for FairQueue<K, W> {
    fn default() -> Self {
        FairQueue { turns: VecDeque::new() }
    }
}

impl<K: PartialEq + Clone, W> FairQueue<K, W> {
    /// Queues `waiter` behind the others of its key; a key new to the queue joins the
    /// back of the line.
    pub fn push(&mut self, key: K, waiter: W) {
        match self.turns.iter_mut().find(|(k, _)| *k == key) {
            Some((_, waiters)) => waiters.push_back(waiter),
            None => self.turns.push_back((key, VecDeque::from([waiter]))),
        }
    }

    /// Serves waiters in turn, as long as any fits: for each key in line, waiters that
    /// are `gone` are discarded, and the first remaining one is served if `admit` lets
    /// its key in (returning what the admission produced). A served key goes to the back
    /// of the line, and may be served again in the same pass once the keys ahead of it
    /// have had their turn; a key that does not fit keeps its place.
    pub fn serve<R>(
        &mut self,
        mut admit: impl FnMut(&K) -> Option<R>,
        gone: impl Fn(&W) -> bool,
    ) -> Vec<(W, K, R)> {
        let mut served = Vec::new();
        let mut index = 0;
        while index < self.turns.len() {
            let (key, waiters) = &mut self.turns[index];
            while waiters.front().is_some_and(&gone) {
                waiters.pop_front();
            }
            if waiters.is_empty() {
                self.turns.remove(index);
                continue;
            }
            let Some(admitted) = admit(key) else {
                index += 1;
                continue;
            };
            let (key, mut waiters) = self.turns.remove(index).expect("index is in range");
            let waiter = waiters.pop_front().expect("waiters are not empty");
            served.push((waiter, key.clone(), admitted));
            if !waiters.is_empty() {
                self.turns.push_back((key, waiters));
            }
        }
        served
    }

    /// Waiters queued, including any that are gone and not yet discarded.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.turns.iter().map(|(_, waiters)| waiters.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// A queue of numbered waiters under string keys.
    fn queue(waiters: &[(&'static str, u32)]) -> FairQueue<&'static str, u32> {
        let mut queue = FairQueue::default();
        for &(key, waiter) in waiters {
            queue.push(key, waiter);
        }
        queue
    }

    /// Serves with `slots` free places in total, nothing gone; returns the waiters served.
    fn serve_slots(queue: &mut FairQueue<&'static str, u32>, slots: usize) -> Vec<u32> {
        let mut left = slots;
        let served = queue.serve(
            |_| {
                (left > 0).then(|| {
                    left -= 1;
                })
            },
            |_| false,
        );
        served.into_iter().map(|(waiter, _, ())| waiter).collect()
    }

    #[test]
    fn keys_are_served_in_turn_not_in_arrival_order() {
        let mut q = queue(&[("flood", 1), ("flood", 2), ("flood", 3), ("quiet", 4), ("other", 5)]);
        assert_eq!(serve_slots(&mut q, 1), [1]);
        // The flooder went to the back: the quiet keys come first.
        assert_eq!(serve_slots(&mut q, 2), [4, 5]);
        assert_eq!(serve_slots(&mut q, 5), [2, 3]);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn one_pass_serves_every_key_before_any_key_twice() {
        let mut q = queue(&[("a", 1), ("a", 2), ("b", 3), ("b", 4), ("c", 5)]);
        assert_eq!(serve_slots(&mut q, 5), [1, 3, 5, 2, 4]);
    }

    #[test]
    fn within_a_key_first_come_first_served() {
        let mut q = queue(&[("a", 1), ("a", 2), ("a", 3)]);
        assert_eq!(serve_slots(&mut q, 3), [1, 2, 3]);
    }

    #[test]
    fn nothing_is_served_without_room() {
        let mut q = queue(&[("a", 1), ("b", 2)]);
        assert!(serve_slots(&mut q, 0).is_empty());
        assert_eq!(q.len(), 2);
    }

    #[test]
    fn a_key_that_does_not_fit_keeps_its_place() {
        let mut q = queue(&[("full", 1), ("open", 2), ("open", 3), ("full", 4)]);
        // "full" is at its own limit: "open" is served past it, twice.
        let served = q.serve(|key| (*key == "open").then_some(()), |_| false);
        assert_eq!(served.iter().map(|(w, _, ())| *w).collect::<Vec<_>>(), [2, 3]);
        // Once room frees for "full", its waiters are first, in order.
        assert_eq!(serve_slots(&mut q, 1), [1]);
        assert_eq!(serve_slots(&mut q, 1), [4]);
    }

    #[test]
    fn waiters_that_gave_up_take_no_slot() {
        let mut q = queue(&[("a", 1), ("a", 2), ("b", 3), ("a", 4)]);
        let served = q.serve(|_| Some(()), |waiter| [1, 3].contains(waiter));
        assert_eq!(served.iter().map(|(w, _, ())| *w).collect::<Vec<_>>(), [2, 4]);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn a_key_whose_waiters_all_gave_up_leaves_the_line() {
        let mut q = queue(&[("gone", 1), ("gone", 2), ("live", 3)]);
        let mut asked = Vec::new();
        let served = q.serve(
            |key| {
                asked.push(*key);
                Some(())
            },
            |waiter| *waiter < 3,
        );
        assert_eq!(asked, ["live"], "a key with no live waiter is not admitted");
        assert_eq!(served.len(), 1);
        // A later waiter of that key joins at the back.
        q.push("other", 5);
        q.push("gone", 6);
        assert_eq!(serve_slots(&mut q, 2), [5, 6]);
    }

    #[test]
    fn the_admission_result_travels_with_its_waiter() {
        let mut q = queue(&[("pooled", 1), ("reserved", 2)]);
        let pooled: HashMap<&str, bool> = [("pooled", true), ("reserved", false)].into();
        let served = q.serve(|key| Some(pooled[key]), |_| false);
        assert_eq!(served, [(1, "pooled", true), (2, "reserved", false)]);
    }
}
