//! The benchmarks. Each records its figures or fails; none judges a timing.

pub mod churn;
pub mod cluster;
pub mod cold;
pub mod density;
pub mod warm;
