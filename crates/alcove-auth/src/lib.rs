//! Who may call Alcove, and what they may do.
//!
//! Authentication and authorization share one root secret, the server key
//! ([`server_key`]), from which every other key is derived: the key that seals access-key
//! secrets at rest and the key that seals temporary session credentials ([`session`]).
//! Session credentials are self-contained (the sealed token carries the secret, the
//! principal and the expiry), so verifying one needs no lookup, and any server holding
//! the same server key can verify it. What a caller may do is an IAM-grammar policy
//! ([`policy`]) evaluated against the action, resource and condition keys of each
//! request.
//!
//! This crate knows nothing of HTTP: the edge (`alcove-api`) turns a request into a
//! [`policy::Request`] and an answer in the service's own error shape.

#![forbid(unsafe_code)]

pub mod policy;
pub mod seal;
pub mod server_key;
pub mod session;

pub use policy::{Decision, Policy, PolicyError};
pub use server_key::ServerKey;
pub use session::{SessionClaims, SessionError, SessionIssuer, SessionPrincipal, TemporaryCredentials};
