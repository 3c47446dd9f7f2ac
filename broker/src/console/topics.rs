//! `GET /console/api/topics`: the topics the caller may describe, with
//! partitions, offsets and sizes (local and tiered), which the REST
//! Proxy's topic listing does not carry. Which topics are listed is the
//! broker's Metadata answer for the caller (Describe on each topic, as
//! Kafka filters a listing); the sizes come from the logs and the tier.

use std::collections::HashMap;

use axum::extract::State;
use axum::Json;
use kafka_protocol::messages::MetadataRequest;
use serde::Serialize;
use strata_rest_proxy::{Caller, RestError};

use super::{Console, Shared};

/// One topic of the listing.
#[derive(Debug, Serialize)]
pub(super) struct TopicSummary {
    pub(super) name: String,
    pub(super) internal: bool,
    pub(super) partitions: Vec<PartitionSummary>,
    pub(super) local_bytes: u64,
    pub(super) tiered_bytes: u64,
    pub(super) records: i64,
    pub(super) bytes_in: u64,
    pub(super) bytes_out: u64,
    pub(super) records_in: u64,
    pub(super) records_out: u64,
}

#[derive(Debug, Serialize)]
pub(super) struct PartitionSummary {
    pub(super) partition: i32,
    pub(super) log_start_offset: i64,
    pub(super) high_watermark: i64,
    pub(super) local_bytes: u64,
    pub(super) tiered_bytes: u64,
}

pub(super) async fn list(
    State(console): State<Shared>,
    caller: Caller,
) -> Result<Json<Vec<TopicSummary>>, RestError> {
    Ok(Json(summaries(&console, &caller).await?))
}

/// The topics `caller` may describe, by name, with what the broker knows
/// of them.
pub(super) async fn summaries(
    console: &Console,
    caller: &Caller,
) -> Result<Vec<TopicSummary>, RestError> {
    let metadata = console
        .send(caller, MetadataRequest::default().with_topics(None))
        .await?;
    let mut tiered: HashMap<(String, i32), u64> = HashMap::new();
    if let Some(tier) = console.broker.cluster.tier() {
        for (spec, bytes) in tier.remote_sizes() {
            *tiered
                .entry((spec.topic.clone(), spec.partition))
                .or_default() += bytes;
        }
    }
    let mut out = Vec::with_capacity(metadata.topics.len());
    for listed in metadata.topics.iter().filter(|t| t.error_code == 0) {
        let Some(name) = listed.name.as_ref().map(|n| n.to_string()) else {
            continue;
        };
        // Listed by Metadata but gone since: skip rather than show zeros.
        let Some(topic) = console.broker.cluster.topic(&name) else {
            continue;
        };
        let traffic = topic.traffic.totals();
        let partitions: Vec<PartitionSummary> = topic
            .logs()
            .iter()
            .enumerate()
            .map(|(index, log)| {
                let s = log.stats();
                let partition = index as i32;
                PartitionSummary {
                    partition,
                    log_start_offset: s.log_start_offset,
                    high_watermark: s.high_watermark,
                    local_bytes: s.local_size_bytes,
                    tiered_bytes: tiered.get(&(name.clone(), partition)).copied().unwrap_or(0),
                }
            })
            .collect();
        out.push(TopicSummary {
            internal: listed.is_internal || name.starts_with("__"),
            local_bytes: partitions.iter().map(|p| p.local_bytes).sum(),
            tiered_bytes: partitions.iter().map(|p| p.tiered_bytes).sum(),
            records: partitions
                .iter()
                .map(|p| (p.high_watermark - p.log_start_offset).max(0))
                .sum(),
            bytes_in: traffic.bytes_in,
            bytes_out: traffic.bytes_out,
            records_in: traffic.records_in,
            records_out: traffic.records_out,
            name,
            partitions,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}
