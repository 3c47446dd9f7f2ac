//! Tiered storage: sealed segments of partition logs uploaded to
//! S3-compatible object storage (or a local directory), and reads below a
//! log's local start served from there through a foyer memory/disk cache.
//!
//! * `cluster_id.rs`: the cluster a prefix belongs to (`cluster.json`).
//! * `store.rs`: the tier URL to an `object_store` store, reachability check.
//! * `manifest.rs`: the per-partition manifest naming its segment objects.
//! * `partition.rs`: a tracked partition and the pure decisions of a pass.
//! * `tier.rs`: the pass (upload, DeleteRecords, total retention), restore.
//! * `recovery_point.rs`: internal logs' unsealed tails, rewritten in place.
//! * `reader.rs`: remote reads in cached chunks with read-ahead.
//! * `aborted.rs`: aborted transactions of remote segments (read_committed).
//! * `cache.rs`: the foyer HybridCache of chunks.

mod aborted;
pub mod cache;
mod cluster_id;
mod limiter;
pub mod manifest;
pub mod metrics;
mod partition;
mod reader;
mod recovery_point;
pub mod store;
#[cfg(test)]
mod tests;
mod tier;

pub use cache::CacheConfig;
pub use manifest::{Manifest, PartitionPath, RemoteSegment};
pub use metrics::TierMetrics;
pub use partition::{PartitionSpec, RemotePartition};
pub use reader::RemoteReadError;
pub use tier::{Tier, TierConfig};
