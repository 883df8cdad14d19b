//! The performance targets this library promises, and a report of each as met or missed, so that
//! every run of the benchmarks says where it stands instead of leaving a reader to compare.

use std::time::Duration;

/// Reads with the memory store, as a share of `bare`'s requests per second.
pub const MEMORY_READ_RATIO: f64 = 0.90;
/// Reads with the sled store, as a share of `bare`'s requests per second.
pub const SLED_READ_RATIO: f64 = 0.80;
/// Durable writes with the sled store, as a share of `bare`'s requests per second.
pub const SLED_DURABLE_WRITE_RATIO: f64 = 0.40;
/// Durable sled writes from 64 concurrent clients against one flush per request in sequence.
pub const GROUP_COMMIT_SPEEDUP: f64 = 5.0;
/// A million sessions in sled: the 99th percentile of `load`.
pub const SCALE_P99_LOAD: Duration = Duration::from_millis(1);
/// A million sessions in sled: the process's peak resident memory.
pub const SCALE_PEAK_RSS_BYTES: u64 = 1 << 30;

/// One target against what a run measured.
pub struct Check {
    pub target: String,
    pub measured: String,
    pub met: bool,
}

impl Check {
    /// A figure that must reach `floor`.
    pub fn at_least(target: impl Into<String>, value: f64, floor: f64, measured: String) -> Self {
        Check {
            target: target.into(),
            measured,
            met: value >= floor,
        }
    }

    /// A figure that must stay under `ceiling`.
    pub fn under(target: impl Into<String>, value: f64, ceiling: f64, measured: String) -> Self {
        Check {
            target: target.into(),
            measured,
            met: value < ceiling,
        }
    }
}

/// The checks as a Markdown table, or nothing if there are none.
pub fn table(checks: &[Check]) -> String {
    if checks.is_empty() {
        return String::new();
    }
    let mut table = String::from("| Target | Measured | Status |\n| --- | --- | --- |\n");
    for check in checks {
        table.push_str(&format!(
            "| {} | {} | {} |\n",
            check.target,
            check.measured,
            if check.met { "met" } else { "**missed**" }
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_is_met_only_on_the_right_side_of_its_bound() {
        assert!(Check::at_least("t", 0.90, MEMORY_READ_RATIO, String::new()).met);
        assert!(!Check::at_least("t", 0.89, MEMORY_READ_RATIO, String::new()).met);
        assert!(Check::under("t", 0.99, 1.0, String::new()).met);
        assert!(!Check::under("t", 1.0, 1.0, String::new()).met);
    }

    #[test]
    fn the_table_marks_each_target() {
        let checks = [
            Check::at_least("speed-up", 5.5, GROUP_COMMIT_SPEEDUP, "5.5x".into()),
            Check::under("p99", 2.0, 1.0, "2 ms".into()),
        ];
        assert_eq!(
            table(&checks),
            "| Target | Measured | Status |\n| --- | --- | --- |\n\
             | speed-up | 5.5x | met |\n| p99 | 2 ms | **missed** |\n"
        );
        assert_eq!(table(&[]), "");
    }
}
