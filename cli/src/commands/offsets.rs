//! Offsets by position or time (ListOffsets, routed to each partition's
//! leader), and the arithmetic of lag and of offset resets.

use std::collections::BTreeMap;

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{BrokerId, ListOffsetsRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::client::{Client, TopicLayout};
use crate::error::{CliError, Result};

/// Which offset of a partition to look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OffsetSpec {
    Earliest,
    Latest,
    /// The first offset whose timestamp is at or after this time (ms).
    Time(i64),
}

impl OffsetSpec {
    fn timestamp(self) -> i64 {
        match self {
            OffsetSpec::Earliest => -2,
            OffsetSpec::Latest => -1,
            OffsetSpec::Time(ms) => ms,
        }
    }
}

/// The offset `spec` names in each of `partitions` of `layout`; for a time
/// after the last record that is the end of the partition, as Kafka's
/// tools answer. `read_committed` reads the last stable offset as the end.
pub(crate) async fn list_offsets(
    client: &mut Client,
    layout: &TopicLayout,
    partitions: &[i32],
    spec: OffsetSpec,
    read_committed: bool,
) -> Result<BTreeMap<i32, i64>> {
    let mut by_leader: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    for &p in partitions {
        let leader = *layout.leaders.get(&p).ok_or_else(|| CliError::Kafka {
            context: format!("partition {}-{p}", layout.name),
            code: 3,
            message: None,
        })?;
        by_leader.entry(leader).or_default().push(p);
    }
    let mut out = BTreeMap::new();
    for parts in by_leader.into_values() {
        let conn = client.leader(layout, parts[0]).await?;
        let response = conn
            .call(|_| {
                ListOffsetsRequest::default()
                    .with_replica_id(BrokerId(-1))
                    .with_isolation_level(i8::from(read_committed))
                    .with_timeout_ms(30_000)
                    .with_topics(vec![ListOffsetsTopic::default()
                        .with_name(TopicName(StrBytes::from_string(layout.name.clone())))
                        .with_partitions(
                            parts
                                .iter()
                                .map(|&p| {
                                    ListOffsetsPartition::default()
                                        .with_partition_index(p)
                                        .with_current_leader_epoch(-1)
                                        .with_timestamp(spec.timestamp())
                                })
                                .collect(),
                        )])
            })
            .await?;
        for topic in response.topics {
            for p in topic.partitions {
                CliError::check(p.error_code, None, || {
                    format!("offsets of {}-{}", layout.name, p.partition_index)
                })?;
                out.insert(p.partition_index, p.offset);
            }
        }
    }
    if let OffsetSpec::Time(_) = spec {
        let past_end: Vec<i32> = out
            .iter()
            .filter(|(_, &o)| o < 0)
            .map(|(&p, _)| p)
            .collect();
        if !past_end.is_empty() {
            let ends = Box::pin(list_offsets(
                client,
                layout,
                &past_end,
                OffsetSpec::Latest,
                read_committed,
            ))
            .await?;
            out.extend(ends);
        }
    }
    Ok(out)
}

/// Milliseconds since the epoch from digits, or an RFC 3339 time in UTC
/// (`2026-01-02T03:04:05Z`, the `Z` and fractions optional).
pub(crate) fn parse_time(text: &str) -> Result<i64> {
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    let time = humantime::parse_rfc3339_weak(text).map_err(|e| {
        CliError::usage(format!(
            "time {text:?}: {e} (expected milliseconds since the epoch or YYYY-MM-DDTHH:MM:SS[.sss]Z)"
        ))
    })?;
    let since = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| CliError::usage(format!("time {text:?} is before 1970")))?;
    i64::try_from(since.as_millis()).map_err(|_| CliError::usage(format!("time {text:?} too far")))
}

/// A partition's lag: records between the committed offset and the end;
/// `None` without a committed offset (Kafka's tools print `-`).
pub(crate) fn lag(committed: Option<i64>, end: i64) -> Option<i64> {
    committed.filter(|&c| c >= 0).map(|c| (end - c).max(0))
}

/// Where `group reset-offsets` moves a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResetTo {
    Earliest,
    Latest,
    Offset(i64),
    /// The offset a time resolved to (ListOffsets by timestamp).
    Time(i64),
}

/// The new committed offset: an explicit offset is kept within
/// `[earliest, latest]`, as kafka-consumer-groups.sh clamps it.
pub(crate) fn resolve_reset(to: ResetTo, earliest: i64, latest: i64, at_time: Option<i64>) -> i64 {
    match to {
        ResetTo::Earliest => earliest,
        ResetTo::Latest => latest,
        ResetTo::Offset(o) => o.clamp(earliest, latest.max(earliest)),
        ResetTo::Time(_) => at_time
            .unwrap_or(latest)
            .clamp(earliest, latest.max(earliest)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_arithmetic() {
        assert_eq!(lag(Some(3), 10), Some(7));
        assert_eq!(lag(Some(10), 10), Some(0));
        // A committed offset past the end (after a truncation) is no lag.
        assert_eq!(lag(Some(12), 10), Some(0));
        assert_eq!(lag(None, 10), None);
        assert_eq!(lag(Some(-1), 10), None);
    }

    #[test]
    fn reset_resolution() {
        assert_eq!(resolve_reset(ResetTo::Earliest, 5, 20, None), 5);
        assert_eq!(resolve_reset(ResetTo::Latest, 5, 20, None), 20);
        assert_eq!(resolve_reset(ResetTo::Offset(7), 5, 20, None), 7);
        assert_eq!(resolve_reset(ResetTo::Offset(2), 5, 20, None), 5);
        assert_eq!(resolve_reset(ResetTo::Offset(99), 5, 20, None), 20);
        assert_eq!(resolve_reset(ResetTo::Time(1), 5, 20, Some(12)), 12);
        assert_eq!(resolve_reset(ResetTo::Time(1), 5, 20, None), 20);
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("1700000000000").unwrap(), 1_700_000_000_000);
        assert_eq!(
            parse_time("2023-11-14T22:13:20Z").unwrap(),
            1_700_000_000_000
        );
        assert_eq!(
            parse_time("2023-11-14T22:13:20.5Z").unwrap(),
            1_700_000_000_500
        );
        assert_eq!(parse_time("yesterday").unwrap_err().exit_code(), 2);
    }
}
