//! The storage metrics that only the log can measure: how long fsyncs take.
//!
//! One histogram for the process, not one per log: every log of a broker
//! shares its disks, and a per-partition fsync histogram would cost buckets
//! times partitions series for no question an operator asks. The broker
//! registers [`collectors`] with its registry.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus::core::Collector;
use prometheus::{Histogram, HistogramOpts};

/// From 100 µs (a battery-backed cache) to 5 s (a disk in trouble).
const FSYNC_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

static FSYNC_DURATION: LazyLock<Histogram> = LazyLock::new(|| {
    Histogram::with_opts(
        HistogramOpts::new(
            "strata_log_fsync_duration_seconds",
            "Time one group-commit round spends in fsync (segment data and directory), seconds.",
        )
        .buckets(FSYNC_BUCKETS.to_vec()),
    )
    .expect("valid metric")
});

/// Records one fsync round.
pub(crate) fn observe_fsync(took: Duration) {
    FSYNC_DURATION.observe(took.as_secs_f64());
}

/// The storage collectors, for the broker's registry.
pub fn collectors() -> Vec<Box<dyn Collector>> {
    vec![Box::new(FSYNC_DURATION.clone())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fsync_rounds_are_counted() {
        let before = FSYNC_DURATION.get_sample_count();
        observe_fsync(Duration::from_millis(2));
        assert!(FSYNC_DURATION.get_sample_count() > before);
        let families = collectors()[0].collect();
        assert_eq!(families[0].name(), "strata_log_fsync_duration_seconds");
    }
}
