//! Function logs as CloudWatch Logs: log groups (one per function, `/aws/lambda/NAME`),
//! one log stream per execution environment (so one tenant per stream), and events, kept
//! durably in the data directory within bounded space.
//!
//! This crate is the store and its rules: writing (one transaction per batch of lines),
//! reading as CloudWatch's `GetLogEvents`, `FilterLogEvents`, `DescribeLogStreams` and
//! `DescribeLogGroups` do (tokens, ordering, limits), filter patterns, retention and the
//! total size cap. The wire protocol lives in `alcove-api`; the output copier that feeds
//! streams lives in `alcove-envs`.

#![forbid(unsafe_code)]

mod error;
pub mod filter;
mod retention;
mod schema;
mod store;
mod token;

pub use error::LogsError;
pub use filter::FilterPattern;
pub use retention::{Retention, RETENTION_DAYS};
pub use store::{
    now_ms, EventsPage, EventsQuery, FilterPage, FilterQuery, FilteredEvent, GroupQuery, LogEvent, LogGroup,
    LogStore, LogStoreSettings, LogStreamInfo, Page, StreamOrder, StreamOwner, StreamQuery, StreamSelection,
    StreamWriter, SweepReport, EVENT_OVERHEAD, MAX_RESPONSE_BYTES,
};
