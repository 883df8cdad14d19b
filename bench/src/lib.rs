//! Benchmarks of the session layer: see `docs/benchmarks.md`.

pub mod cli;
pub mod contenders;
pub mod targets;
