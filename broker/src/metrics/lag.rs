//! Consumer group lag, computed by the broker from what it holds: a group's
//! committed offset against the partition's high watermark (what a
//! read_uncommitted consumer can reach) and against its last stable offset
//! (what a read_committed consumer can reach).
//!
//! A partition the group never committed has no lag series at all, as
//! `kafka-consumer-groups --describe` prints `-` for it: there is no offset
//! to measure from, and counting the whole log would page someone for a
//! group that reads from the end (`auto.offset.reset=latest`). A committed
//! offset past the end (a client that committed an offset it made up) is a
//! lag of 0, not a negative number.

/// The lag of a group at `committed` on a partition that ends at `end`
/// (high watermark or last stable offset); `None` without a commit (Kafka
/// stores "no offset" as -1).
pub(crate) fn lag(committed: Option<i64>, end: i64) -> Option<i64> {
    let committed = committed.filter(|c| *c >= 0)?;
    Some(end.saturating_sub(committed).max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_the_end_minus_the_committed_offset() {
        assert_eq!(lag(Some(7), 10), Some(3));
        assert_eq!(lag(Some(10), 10), Some(0));
        assert_eq!(lag(Some(0), 0), Some(0));
    }

    #[test]
    fn no_commit_means_no_lag_as_kafka_tools_show_it() {
        assert_eq!(lag(None, 10), None);
        assert_eq!(lag(Some(-1), 10), None);
    }

    #[test]
    fn a_commit_past_the_end_is_no_lag() {
        assert_eq!(lag(Some(12), 10), Some(0));
    }

    #[test]
    fn read_committed_lag_stops_at_the_last_stable_offset() {
        // HW 10, an open transaction from offset 6: a read_committed
        // consumer at 4 can read 2 more records now.
        assert_eq!(lag(Some(4), 10), Some(6));
        assert_eq!(lag(Some(4), 6), Some(2));
    }
}
