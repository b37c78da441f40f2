//! Integration tests: one binary, one module per area. They drive the real `gateform`
//! binary and the sandbox over real HTTP.

mod architecture;
mod ci;
mod cli;
mod common;
mod deck_files;
mod engine;
mod gitops;
mod nodes;
mod parser_fuzz;
mod plans;
mod robustness;
mod sandbox;
mod tyk;
mod watch;
