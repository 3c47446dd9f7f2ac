//! The tier against a real local-directory store (`file://`) and real
//! partition logs: upload, reads below the local start, total retention,
//! DeleteRecords, compacted replacements and restore. The S3 path is
//! exercised against moto_server by compat-tests/test_tiering.py.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use strata_storage::{FlushPolicy, Log, LogConfig, StorageError, TieredRange};

use crate::cache::CacheConfig;
use crate::manifest::PartitionPath;
use crate::{PartitionSpec, Tier, TierConfig, TierMetrics};

/// A RecordBatch v2 of `records` records, `payload` opaque bytes, max timestamp `max_ts`.
fn batch(records: i32, max_ts: i64, payload: usize) -> Bytes {
    Bytes::from(strata_wire::testing::opaque_batch(records, max_ts, payload))
}

fn log_config() -> LogConfig {
    LogConfig {
        segment_bytes: 1000,
        segment_ms: None,
        retention_ms: None,
        retention_bytes: Some(0),
        index_interval_bytes: 256,
        flush: FlushPolicy::Always,
        remote_storage: true,
        ..LogConfig::default()
    }
}

/// A tier on `root/bucket`, with its cache in `root/{cache}`.
async fn open_tier(root: &Path, cache: &str) -> Arc<Tier> {
    open_tier_with(root, cache, TierMetrics::new()).await
}

async fn open_tier_with(root: &Path, cache: &str, metrics: TierMetrics) -> Arc<Tier> {
    let config = TierConfig {
        url: format!("file://{}", root.join("bucket").display()),
        cache: CacheConfig {
            dir: root.join(cache),
            memory_bytes: 1 << 20,
            disk_bytes: crate::cache::MIN_DISK_BYTES,
        },
        task_interval: Duration::from_millis(50),
        retry_backoff: Duration::from_millis(10),
        retry_backoff_max: Duration::from_millis(100),
        upload_bytes_per_second: None,
        upload_concurrency: 2,
        // Small chunks, so batches straddle chunk boundaries.
        chunk_bytes: 300,
        read_ahead_chunks: 2,
        internal_roll_ms: 60_000,
    };
    Tier::open(config, metrics).await.unwrap()
}

fn spec() -> PartitionSpec {
    PartitionSpec {
        path: PartitionPath::topic("orders", "id-1", 0),
        topic: "orders".into(),
        topic_id: Some("id-1".into()),
        partition: 0,
        internal: false,
    }
}

/// 50 batches of 200 bytes, 2 records each, timestamps 1000.., 5 per segment.
fn fill(log: &Log) -> Vec<Bytes> {
    let mut appended = Vec::new();
    for i in 0..50 {
        log.append(batch(2, 1000 + i, 139), 0, None).unwrap();
    }
    log.flush().unwrap();
    for i in 0..50 {
        appended.push(log.read(i * 2, 200, true).unwrap());
    }
    appended
}

/// A tier with cache `cache` under `root`, and the log `fill` wrote, tracked
/// and uploaded by one pass; returns them with the appended batches.
async fn filled_and_uploaded(root: &Path) -> (Arc<Tier>, Log, Vec<Bytes>) {
    let tier = open_tier(root, "cache").await;
    let log = Log::open(root.join("data/orders-0"), log_config()).unwrap();
    let appended = fill(&log);
    tier.track(spec(), log.clone());
    tier.load_pending().await.unwrap();
    assert!(tier.pass().await);
    (tier, log, appended)
}

#[tokio::test]
async fn uploads_serve_reads_below_the_local_start_and_restore() {
    let root = tempfile::tempdir().unwrap();
    let (tier, log, appended) = filled_and_uploaded(root.path()).await;
    let remote = tier.partition(&spec().path).unwrap();
    let manifest = remote.manifest().unwrap();
    assert_eq!(manifest.segments.len(), 9, "every sealed segment");
    assert_eq!(log.tiered_range(), Some(TieredRange { start: 0, end: 90 }));
    // Local retention (cap 0) now deletes the uploaded segments only.
    log.enforce_retention(0).unwrap();
    assert_eq!(log.local_log_start_offset(), 90);
    assert_eq!(log.log_start_offset(), 0);
    assert!(matches!(
        log.read(4, 1000, true),
        Err(StorageError::NotLocal { .. })
    ));
    // Remote reads give back the bytes appended, batch for batch.
    for (i, expected) in appended.iter().enumerate().take(45) {
        let offset = i as i64 * 2 + 1; // mid-batch offsets find their batch
        let got = tier.read(&remote, offset, 200, true).await.unwrap();
        assert_eq!(&got, expected, "batch {i}");
    }
    // A larger read returns the whole batches that fit the chunk (300
    // bytes here) holding the first one: only the batch at 0..200...
    let many = tier.read(&remote, 0, 650, true).await.unwrap();
    assert_eq!(many, appended[0]);
    // ...while a batch crossing a chunk boundary still comes whole: the
    // batch at 200..400 starts in chunk 0 and ends in chunk 1.
    let crossing = tier.read(&remote, 2, 650, true).await.unwrap();
    assert_eq!(crossing, appended[1]);
    // By timestamp: the first batch whose max timestamp reaches 1012.
    let found = tier
        .batch_at_timestamp(&remote, 1012)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, appended[12]);

    // Restore: an empty data directory, the same store.
    let restored_root = root.path().join("restored");
    let dir = restored_root.join("orders-0");
    assert!(tier.restore_partition_start(&spec(), &dir).await.unwrap());
    let restored = Log::open(&dir, log_config()).unwrap();
    assert_eq!(restored.local_log_start_offset(), 90);
    // A second broker: the same bucket, a cold cache of its own.
    let tier2 = open_tier(root.path(), "cache2").await;
    tier2.track(spec(), restored.clone());
    tier2.load_pending().await.unwrap();
    assert_eq!(restored.log_start_offset(), 0);
    let remote2 = tier2.partition(&spec().path).unwrap();
    assert_eq!(
        tier2.read(&remote2, 20, 200, true).await.unwrap(),
        appended[10]
    );
}

/// A sequential reader from a cold cache: each GET runs from the chunk
/// first wanted towards the end of its segment (two chunks at most here),
/// so a 1000-byte segment of 300-byte chunks costs two GETs, not four; and
/// no read needs a segment's index files.
#[tokio::test]
async fn sequential_reads_fetch_spans_not_single_chunks() {
    let root = tempfile::tempdir().unwrap();
    let (_tier, _log, appended) = filled_and_uploaded(root.path()).await;
    let metrics = TierMetrics::new();
    let reader = open_tier_with(root.path(), "cold-cache", metrics.clone()).await;
    let dir = root.path().join("restored/orders-0");
    assert!(reader.restore_partition_start(&spec(), &dir).await.unwrap());
    reader.track(spec(), Log::open(&dir, log_config()).unwrap());
    reader.load_pending().await.unwrap();
    let remote = reader.partition(&spec().path).unwrap();
    // Each read continues where the last one ended, so a sequential reader
    // from a segment's start never needs its index files.
    for entry in std::fs::read_dir(root.path().join("bucket/orders-id-1/0")).unwrap() {
        let path = entry.unwrap().path();
        if path
            .extension()
            .is_some_and(|e| e == "index" || e == "timeindex")
        {
            std::fs::remove_file(path).unwrap();
        }
    }
    let mut offset = 0;
    let mut got = Vec::new();
    while offset < 90 {
        let bytes = reader.read(&remote, offset, 1000, true).await.unwrap();
        let mut batches = strata_wire::batch::Batches::new(&bytes);
        for header in batches.by_ref() {
            let header = header.unwrap();
            offset = header.last_offset() + 1;
        }
        got.extend_from_slice(&bytes);
    }
    assert_eq!(got, appended[..45].concat());
    let gets = metrics.remote_fetches.get();
    assert!(
        (9..=18).contains(&gets),
        "{gets} GETs for 9 segments of 4 chunks, 2 chunks per span (35 chunk by chunk)"
    );
}

#[tokio::test]
async fn total_retention_and_delete_records_move_the_remote_start() {
    let root = tempfile::tempdir().unwrap();
    let (tier, log, _) = filled_and_uploaded(root.path()).await;
    log.enforce_retention(0).unwrap();
    // DeleteRecords below the local start: the manifest follows at the next pass.
    log.delete_records_before(25).unwrap();
    assert!(tier.pass().await);
    let remote = tier.partition(&spec().path).unwrap();
    let manifest = remote.manifest().unwrap();
    assert_eq!(manifest.log_start_offset, 25);
    assert_eq!(
        manifest.segments[0].base_offset, 20,
        "segments wholly below 25 are gone"
    );
    assert!(matches!(
        tier.read(&remote, 24, 200, true).await,
        Err(crate::RemoteReadError::OutOfRange(24))
    ));
    let bucket = root.path().join("bucket/orders-id-1/0");
    assert!(!bucket.join("00000000000000000000-1000.log").exists());
    // Total retention by size: 1000 bytes across both tiers.
    log.set_config(LogConfig {
        total_retention_bytes: Some(1000),
        ..log_config()
    });
    assert!(tier.pass().await);
    let manifest = remote.manifest().unwrap();
    assert_eq!(
        manifest.log_start_offset, 90,
        "only the local active segment remains"
    );
    assert!(manifest.segments.is_empty());
    assert_eq!(log.log_start_offset(), 90);
}

#[tokio::test]
async fn nothing_is_uploaded_for_topics_without_remote_storage() {
    let root = tempfile::tempdir().unwrap();
    let tier = open_tier(root.path(), "cache").await;
    let config = LogConfig {
        remote_storage: false,
        retention_bytes: None,
        ..log_config()
    };
    let log = Log::open(root.path().join("data/orders-0"), config).unwrap();
    fill(&log);
    tier.track(spec(), log.clone());
    tier.load_pending().await.unwrap();
    assert!(tier.pass().await);
    assert!(tier
        .partition(&spec().path)
        .unwrap()
        .manifest()
        .unwrap()
        .segments
        .is_empty());
    assert!(!root.path().join("bucket/orders-id-1").exists());
}

#[tokio::test]
async fn orphans_left_by_an_interrupted_upload_are_deleted() {
    let root = tempfile::tempdir().unwrap();
    let tier = open_tier(root.path(), "cache").await;
    let log = Log::open(root.path().join("data/orders-0"), log_config()).unwrap();
    fill(&log);
    let dir = root.path().join("bucket/orders-id-1/0");
    std::fs::create_dir_all(&dir).unwrap();
    // A segment object whose manifest write never happened.
    let orphan = dir.join("00000000000000000000-999.log");
    std::fs::write(&orphan, b"half an upload").unwrap();
    tier.track(spec(), log.clone());
    tier.load_pending().await.unwrap();
    assert!(tier.pass().await);
    assert!(!orphan.exists());
    assert!(dir.join("00000000000000000000-1000.log").exists());
    assert!(dir.join("manifest.json").exists());
}
