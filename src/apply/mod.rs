//! Executing a plan: a concurrent walker over the step graph with failure containment.
