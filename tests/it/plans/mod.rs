//! Plans as reviewable artifacts: saved plans, exit codes, Markdown comments, secrets.

mod exit_codes;
mod leaks;
mod markdown;
mod saved;
mod secrets;
