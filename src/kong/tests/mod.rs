//! The core (plan, graph, renderers) driven through the Kong dialect.

mod drill_reports;
mod graph;
mod plan;
mod reconciler;
mod render;
mod reports;
mod resolve;
mod saved;
