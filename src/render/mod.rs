//! Text, JSON and Markdown views of plans and applies.
