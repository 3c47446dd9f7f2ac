//! `GET /console/api/overview`: listeners, traffic counters, disk and tier
//! usage. The page polls it every 2 s and draws throughput from the
//! difference of two answers, so the broker keeps no rate state for it.
//! Traffic and sizes are summed over the topics the caller may describe.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use strata_rest_proxy::{Caller, RestError};

use super::{topics, Shared};

pub(super) async fn get(
    State(console): State<Shared>,
    caller: Caller,
) -> Result<Json<Value>, RestError> {
    let topics = topics::summaries(&console, &caller).await?;
    let broker = &console.broker;
    let listeners: Vec<Value> = broker
        .endpoints
        .iter()
        .map(|e| json!({"name": e.listener.as_ref(), "host": e.host, "port": e.port}))
        .collect();
    let sum = |f: fn(&topics::TopicSummary) -> u64| topics.iter().map(f).sum::<u64>();
    let data_dir = console.data_dir.clone();
    let (disk_total, disk_available) = tokio::task::spawn_blocking(move || {
        (
            fs4::total_space(&data_dir).ok(),
            fs4::available_space(&data_dir).ok(),
        )
    })
    .await
    .unwrap_or((None, None));
    Ok(Json(json!({
        "cluster_id": broker.cluster.cluster_id,
        "principal": caller.principal.to_string(),
        "time_ms": crate::clock::now_ms(),
        "listeners": listeners,
        "topics": topics.len(),
        "partitions": topics.iter().map(|t| t.partitions.len()).sum::<usize>(),
        "traffic": {
            "bytes_in": sum(|t| t.bytes_in),
            "bytes_out": sum(|t| t.bytes_out),
            "records_in": sum(|t| t.records_in),
            "records_out": sum(|t| t.records_out),
        },
        "disk": {
            "data_dir": console.data_dir.display().to_string(),
            "log_bytes": sum(|t| t.local_bytes),
            "total_bytes": disk_total,
            "available_bytes": disk_available,
        },
        "tier": {
            "enabled": broker.cluster.tier().is_some(),
            "bytes": sum(|t| t.tiered_bytes),
        },
    })))
}
