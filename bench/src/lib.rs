//! Benchmarks of the session layer: see `docs/benchmarks.md`.

pub mod contenders;
pub mod targets;
