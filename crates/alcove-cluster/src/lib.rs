//! Many `alcove serve` nodes on one PostgreSQL database.
//!
//! PostgreSQL is the only shared state: there is no consensus protocol of Alcove's own.
//! Nodes find each other through [`membership`] rows carrying a lease each node renews
//! by heartbeat; a node whose lease lapses is out. Placement ([`placement`]) ranks the
//! live nodes for a key (a function version and a tenant) by rendezvous hashing, so every
//! node computes the same owner without asking anyone, and a node joining or leaving
//! moves only the keys it gains or held.

#![forbid(unsafe_code)]

pub mod membership;
pub mod placement;

pub use membership::{Member, Membership, MembershipError, MembershipSettings};
pub use placement::rank;
