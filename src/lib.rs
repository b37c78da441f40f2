//! gateform: a GitOps engine for API gateways.
//!
//! A gateway-agnostic core plans and applies changes to entities: [`model`] (kinds as data,
//! entities), [`source`] (files, Git commits, `gateform.toml`, templates), [`plan`] (match,
//! normalise, diff), [`graph`] (order the steps), [`apply`] (the concurrent walker with
//! failure containment), [`render`] (every view of every result), [`secrets`] (the per-run
//! redactor), [`ledger`] (history and locks) and [`engine`] (the [`engine::Reconciler`] that
//! runs one run end to end). Gateways are taught to the core through [`gateway`]'s traits;
//! [`kong`] is the Kong dialect (decK files, the Admin API, the Kong sandbox). [`cli`] is a
//! thin front end over the engine and the only module that prints or exits; [`vcs`] posts
//! its plans to pull requests.
//!
//! Arrows point one way: `cli` → `engine` → (`apply`, `graph`, `plan`, `render`, `ledger`,
//! `secrets`, `source`) → `gateway` → `model`; dialects implement `gateway` and may use the
//! core's types; the core never imports a dialect.

#![warn(missing_docs)]

pub mod apply;
pub mod cli;
pub mod engine;
pub mod gateway;
pub mod graph;
pub mod kong;
pub mod ledger;
pub mod model;
pub mod plan;
pub mod render;
pub mod secrets;
pub mod source;
pub mod tyk;
pub mod vcs;
pub mod watch;
