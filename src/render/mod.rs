//! Every view of every result: plans (text, JSON, Markdown), the progress and report of an
//! apply (text, or JSON event lines), the replay and drill reports, the nodes of an
//! environment and the ledger's history. Renderers only draw: every value they receive is
//! already masked where sensitive.

pub mod apply;
pub mod drill;
pub mod events;
pub mod history;
pub mod json;
pub mod markdown;
pub mod nodes;
pub mod replay;
pub mod text;
