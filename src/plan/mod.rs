//! Matching desired to live entities, normalising both with Kong's schemas, diffing them
//! field by field, and the resulting plan.
