//! Text, JSON and Markdown views of plans and applies. Renderers only draw: every value
//! they receive is already masked where sensitive.

pub mod json;
pub mod markdown;
pub mod text;

#[cfg(test)]
mod tests;
