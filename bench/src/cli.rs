//! Command-line checks shared by the benchmark binaries.

use clap::builder::RangedU64ValueParser;

/// A count of at least `min`: fewer rounds, sessions or writers would leave nothing to measure,
/// and are refused with clap's message instead of failing halfway through a run.
pub fn at_least(min: u64) -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::new().range(min..)
}
