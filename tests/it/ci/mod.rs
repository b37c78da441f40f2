//! CI integration: plans as sticky pull-request comments (against a loopback GitHub and
//! GitLab), the CI definitions the repository ships, and the small commands (completions,
//! man pages, init), target selection, destroy guards and the apply event stream.

mod cli;
mod comment;
mod files;
mod forge;
