//! Benchmarks of the session layer: see `docs/benchmarks.md`.

pub mod cli;
pub mod contenders;
pub mod kind;
pub mod lost_updates;
pub mod rivals;
pub mod targets;
