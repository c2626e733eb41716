//! Fuzz targets for every parser that takes bytes from outside the server: tenant ids,
//! code packages (zip bombs, path traversal, symbolic links), OpenAPI import, API
//! Gateway's route matching and proxy event, the Runtime API as a function's runtime
//! speaks to it, CloudFormation templates, the S3 and Query protocols' request parts, and
//! credentials and policies (session tokens, IAM policy documents).
//!
//! The targets are [bolero](https://camshaft.github.io/bolero) tests. Under plain
//! `cargo test` each one replays its committed corpus (`src/__fuzz__/<target>/corpus`,
//! plus any `crashes/` kept as regression inputs) and then runs generated inputs for about
//! a second, so the workspace's test run fuzzes every parser briefly without a nightly
//! toolchain or an instrumented rebuild. `cargo bolero test` runs the same targets under
//! libFuzzer for as long as wanted (docs/FUZZING.md).
//!
//! Every target calls the real function the server calls and checks what must hold
//! whatever the input: no panic (in any thread, see `support`), bounded work, and the
//! target's own property (a package never reaches outside its directory, an accepted
//! tenant id is exactly what was sent, ...).

#![forbid(unsafe_code)]

#[cfg(test)]
mod apigateway;
#[cfg(test)]
mod auth;
#[cfg(test)]
mod cloudformation;
#[cfg(test)]
mod code_zip;
#[cfg(test)]
mod identifiers;
#[cfg(test)]
mod openapi;
#[cfg(test)]
mod runtime_api;
#[cfg(test)]
mod support;
#[cfg(test)]
mod wire;
