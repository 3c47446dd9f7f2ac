//! The tier against a real local-directory store (`file://`) and real
//! partition logs: upload, reads below the local start, total retention,
//! DeleteRecords, compacted replacements, restore, and the transaction
//! indexes and producer snapshots that go with segments. The S3 path is
//! exercised against moto_server by compat-tests/test_tiering.py.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use strata_storage::{FlushPolicy, Log, LogConfig, Marker, StorageError, TieredRange};

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
        recovery_point: Duration::from_millis(50),
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
    let sizes = tier.remote_sizes();
    assert_eq!(sizes.len(), 1);
    assert_eq!(sizes[0].0, spec());
    let sealed: u64 = manifest.segments.iter().map(|s| s.size_bytes).sum();
    assert!(sealed > 0);
    assert_eq!(sizes[0].1, sealed);
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

/// A 200-byte batch of 2 records by producer `id` (epoch 0).
fn producer(id: i64, sequence: i32, transactional: bool) -> Bytes {
    Bytes::from(strata_wire::testing::producer_batch(
        2,
        1000,
        139,
        id,
        0,
        sequence,
        transactional,
    ))
}

fn abort(producer_id: i64) -> Marker {
    Marker {
        producer_id,
        producer_epoch: 0,
        coordinator_epoch: 0,
        commit: false,
        timestamp: 1000,
    }
}

/// What `transactional_log` wrote, by offset.
struct Written {
    /// Producer 7's first transaction (offsets 0-1), aborted at once.
    first_abort: i64,
    /// Producer 7's second transaction, aborted segments later.
    second_txn: i64,
    second_abort: i64,
    /// Producer 11's transaction, never ended.
    open_txn: i64,
    /// Producer 9's last (idempotent) batch, and where it went.
    last_batch: Bytes,
    last_batch_offset: i64,
}

/// A log with two aborted transactions, an open one and an idempotent
/// producer over several segments, all sealed.
fn transactional_log(log: &Log) -> Written {
    let append = |b: Bytes| log.append(b, 0, None).unwrap().base_offset;
    let mut sequence = 0;
    let mut idempotent = |n: usize| {
        let mut last = (Bytes::new(), 0);
        for _ in 0..n {
            let batch = producer(9, sequence, false);
            last = (batch.clone(), append(batch));
            sequence += 2;
        }
        last
    };
    append(producer(7, 0, true));
    let first_abort = log.append_marker(&abort(7)).unwrap().base_offset;
    idempotent(12);
    let second_txn = append(producer(7, 2, true));
    idempotent(12);
    let second_abort = log.append_marker(&abort(7)).unwrap().base_offset;
    idempotent(6);
    let open_txn = append(producer(11, 0, true));
    let (last_batch, last_batch_offset) = idempotent(6);
    log.flush().unwrap();
    assert!(log.roll_if_older(i64::MAX / 2, 0).unwrap());
    log.flush().unwrap(); // the sealed segment's index files
    Written {
        first_abort,
        second_txn,
        second_abort,
        open_txn,
        last_batch,
        last_batch_offset,
    }
}

fn only_ids(aborted: Vec<strata_storage::AbortedTxn>) -> Vec<(i64, i64, i64)> {
    aborted
        .into_iter()
        .map(|a| (a.producer_id, a.first_offset, a.last_offset))
        .collect()
}

#[tokio::test]
async fn transaction_indexes_and_producer_snapshots_go_with_their_segments() {
    let root = tempfile::tempdir().unwrap();
    let tier = open_tier(root.path(), "cache").await;
    let log = Log::open(root.path().join("data/orders-0"), log_config()).unwrap();
    let written = transactional_log(&log);
    let end = log.log_end_offset();
    tier.track(spec(), log.clone());
    tier.load_pending().await.unwrap();
    assert!(tier.pass().await);
    let remote = tier.partition(&spec().path).unwrap();
    let manifest = remote.manifest().unwrap();
    assert_eq!(manifest.end_offset(), Some(end), "every segment uploaded");

    // Exactly the segments holding an ABORT marker have a transaction index.
    let base_of = |offset| manifest.segment_for(offset).unwrap().base_offset;
    let indexed: Vec<i64> = manifest
        .segments
        .iter()
        .filter(|s| s.txn_index)
        .map(|s| s.base_offset)
        .collect();
    assert_eq!(
        indexed,
        vec![base_of(written.first_abort), base_of(written.second_abort)]
    );
    assert_ne!(indexed[0], indexed[1], "the second abort is segments later");
    // The log keeps its newest three snapshots: the last three segments'
    // ends went up with them.
    let snapshots: Vec<bool> = manifest
        .segments
        .iter()
        .map(|s| s.producer_snapshot)
        .collect();
    assert_eq!(snapshots.iter().filter(|&&s| s).count(), 3);
    assert!(snapshots.ends_with(&[true, true, true]));
    // The manifest names exactly the objects in the bucket.
    let bucket = root.path().join("bucket/orders-id-1/0");
    let mut named: Vec<String> = manifest
        .segments
        .iter()
        .flat_map(|s| {
            s.extensions()
                .into_iter()
                .map(move |e| format!("{}.{e}", s.object_stem()))
        })
        .chain(["manifest.json".to_string()])
        .collect();
    named.sort();
    let mut stored: Vec<String> = std::fs::read_dir(&bucket)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    stored.sort();
    assert_eq!(stored, named);

    // Local retention leaves only the store to answer.
    log.enforce_retention(0).unwrap();
    assert_eq!(log.local_log_start_offset(), end);
    assert!(log.aborted_transactions(0, end).is_empty());
    let first = (7, 0, written.first_abort);
    let second = (7, written.second_txn, written.second_abort);
    let aborted = |from, to| tier.aborted_transactions(&remote, from, to);
    assert_eq!(only_ids(aborted(0, 2).await.unwrap()), vec![first]);
    // A transaction whose marker lies in a later segment.
    let (from, to) = (written.second_txn, written.second_txn + 2);
    assert_eq!(only_ids(aborted(from, to).await.unwrap()), vec![second]);
    // Between the two, and after the second marker: none.
    let between = aborted(written.first_abort + 1, written.second_txn);
    assert!(between.await.unwrap().is_empty());
    assert!(aborted(written.second_abort + 1, end)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        only_ids(aborted(0, end).await.unwrap()),
        vec![first, second]
    );

    // Restore: the producer state comes back with the last segment's snapshot.
    let dir = root.path().join("restored/orders-0");
    assert!(tier.restore_partition_start(&spec(), &dir).await.unwrap());
    assert!(strata_storage::producer_snapshot_path(&dir, end).exists());
    let restored = Log::open(&dir, log_config()).unwrap();
    assert_eq!(restored.local_log_start_offset(), end);
    assert_eq!(
        restored.last_stable_offset(),
        written.open_txn,
        "the open transaction still holds the LSO"
    );
    let retry = restored.append(written.last_batch, 0, None).unwrap();
    assert!(retry.duplicate, "a retry of the last batch is recognised");
    assert_eq!(retry.base_offset, written.last_batch_offset);
    assert_eq!(restored.log_end_offset(), end);

    // A whole download (the broker's own logs) brings the transaction
    // indexes along, so the log loads its aborted transactions.
    let whole = root.path().join("downloaded/orders-0");
    assert_eq!(
        tier.download_partition(&spec(), &whole).await.unwrap(),
        Some(0)
    );
    let downloaded = Log::open(&whole, log_config()).unwrap();
    assert_eq!(
        only_ids(downloaded.aborted_transactions(0, end)),
        vec![first, second]
    );
    drop(downloaded);

    // Deleting the remote segments deletes their optional objects too.
    log.delete_records_before(end).unwrap();
    assert!(tier.pass().await);
    assert!(remote.manifest().unwrap().segments.is_empty());
    let left: Vec<_> = std::fs::read_dir(&bucket)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["manifest.json"]);
}

/// A manifest written before segments listed their optional files: it
/// loads, and its segments are taken to have none (no GET is tried).
#[tokio::test]
async fn a_manifest_without_optional_file_flags_loads() {
    let root = tempfile::tempdir().unwrap();
    let tier = open_tier(root.path(), "cache").await;
    let log = Log::open(root.path().join("data/orders-0"), log_config()).unwrap();
    transactional_log(&log);
    tier.track(spec(), log.clone());
    tier.load_pending().await.unwrap();
    assert!(tier.pass().await);
    let path = root.path().join("bucket/orders-id-1/0/manifest.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for segment in json["segments"].as_array_mut().unwrap() {
        let fields = segment.as_object_mut().unwrap();
        fields.remove("txn_index");
        fields.remove("producer_snapshot");
    }
    std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
    // Their objects are orphans now: the new broker deletes them.
    let tier2 = open_tier(root.path(), "cache2").await;
    let dir = root.path().join("restored/orders-0");
    assert!(tier2.restore_partition_start(&spec(), &dir).await.unwrap());
    let end = log.log_end_offset();
    assert!(!strata_storage::producer_snapshot_path(&dir, end).exists());
    tier2.track(spec(), Log::open(&dir, log_config()).unwrap());
    tier2.load_pending().await.unwrap();
    let remote = tier2.partition(&spec().path).unwrap();
    let manifest = remote.manifest().unwrap();
    assert!(manifest
        .segments
        .iter()
        .all(|s| !s.txn_index && !s.producer_snapshot));
    assert!(tier2
        .aborted_transactions(&remote, 0, end)
        .await
        .unwrap()
        .is_empty());
    assert!(tier2.pass().await);
    let optional = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            let name = name.to_string_lossy();
            name.ends_with(".txnindex") || name.ends_with(".snapshot")
        })
        .count();
    assert_eq!(optional, 0);
}

/// An internal log's unsealed records reach the bucket as its tail, an idle
/// log uploads nothing more, and a restore gets them back after its sealed
/// segments.
#[tokio::test]
async fn internal_tails_are_uploaded_once_per_change_and_restored() {
    let root = tempfile::tempdir().unwrap();
    let metrics = TierMetrics::new();
    let tier = open_tier_with(root.path(), "cache", metrics.clone()).await;
    let internal = PartitionSpec {
        internal: true,
        ..spec()
    };
    let log = Log::open(root.path().join("data/orders-0"), log_config()).unwrap();
    tier.track(internal.clone(), log.clone());
    let appended = fill(&log);
    assert!(tier.pass().await);
    assert!(tier.sync_recovery_points().await);
    assert_eq!(metrics.recovery_point_uploads.get(), 1);
    // Nothing changed: no upload.
    assert!(tier.sync_recovery_points().await);
    assert_eq!(metrics.recovery_point_uploads.get(), 1);
    log.append(batch(2, 2000, 139), 0, None).unwrap();
    log.flush().unwrap();
    assert!(tier.sync_recovery_points().await);
    assert_eq!(metrics.recovery_point_uploads.get(), 2);

    let restored = root.path().join("restored");
    let tail = tier.download_partition(&internal, &restored).await.unwrap();
    assert_eq!(tail, Some(102 - 90), "the active segment's offsets");
    let back = Log::open(&restored, log_config()).unwrap();
    assert_eq!(back.high_watermark(), 102);
    for (i, bytes) in appended.iter().enumerate() {
        assert_eq!(&back.read(i as i64 * 2, 200, true).unwrap(), bytes);
    }
    assert_eq!(
        back.read(100, 200, true).unwrap(),
        log.read(100, 200, true).unwrap()
    );
}
