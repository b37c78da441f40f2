//! The dependency graph of plan steps: parents before children on create and update,
//! children before parents on delete, unique-key moves ordered so they never collide.
