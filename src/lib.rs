//! gateform: a GitOps engine for API gateways.
//!
//! Desired state comes from decK-format files or a Git commit ([`source`]); live state from
//! a gateway's Admin API ([`kong`]). The [`plan`] module matches, normalises and diffs the
//! two; [`graph`] orders the actions; [`apply`] executes them concurrently; [`engine`] ties
//! them together (and replays a configuration with a verification). [`ledger`] records every
//! apply and holds per-environment locks. [`sandbox`] is a Kong-compatible Admin API server
//! for rehearsals and tests. [`cli`] is the only module that prints or exits.
//!
//! Module arrows point one way: `model` ← `schema` ← `source`/`plan`/`sandbox` ← `cli`.

#![warn(missing_docs)]

pub mod apply;
pub mod cli;
pub mod engine;
pub mod graph;
pub mod kong;
pub mod ledger;
pub mod model;
pub mod plan;
pub mod render;
pub mod secrets;
pub mod source;
pub mod watch;
