//! The chunk cache against counted fetches: hits, misses, eviction to disk, reopen.

use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use super::*;

/// Every test runs under this bound.
const TEST_TIMEOUT: Duration = Duration::from_secs(10);

fn config(dir: &Path, memory_bytes: usize) -> CacheConfig {
    CacheConfig {
        dir: dir.to_path_buf(),
        memory_bytes,
        disk_bytes: MIN_DISK_BYTES,
    }
}

fn key(object: &str, chunk: u64) -> ChunkKey {
    ChunkKey {
        object: object.to_owned(),
        chunk,
    }
}

/// Distinct, recognisable bytes for each chunk.
fn bytes_of(chunk: u64, len: usize) -> Bytes {
    (0..len)
        .map(|i| (i as u64).wrapping_mul(31).wrapping_add(chunk * 7) as u8)
        .collect::<Vec<u8>>()
        .into()
}

/// A fetch that counts its calls and answers `bytes` after `delay`.
fn counted(
    calls: &Arc<AtomicUsize>,
    bytes: Bytes,
    delay: Duration,
) -> impl FnOnce() -> futures::future::BoxFuture<'static, Result<Bytes, object_store::Error>>
       + Send
       + 'static {
    let calls = Arc::clone(calls);
    move || {
        Box::pin(async move {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(delay).await;
            Ok(bytes)
        })
    }
}

fn not_found(path: &str) -> object_store::Error {
    object_store::Error::NotFound {
        path: path.to_owned(),
        source: "no such key".into(),
    }
}

/// Waits, at most 5 s, until every chunk of `keys` is on disk (or in
/// memory). foyer writes asynchronously, and `storage().wait()` alone
/// can return before an entry evicted or filtered a moment ago is even
/// queued; a chunk lost for good still fails the caller's assertions.
async fn written(cache: &ChunkCache, keys: impl Iterator<Item = ChunkKey> + Clone) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while keys.clone().any(|k| !cache.contains(&k)) && tokio::time::Instant::now() < deadline {
        cache.cache.storage().wait().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn bounded<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(TEST_TIMEOUT, f)
        .await
        .expect("test timed out")
}

/// A cache in a temporary directory and the count of fetches its misses
/// made: the set-up every cache test starts from.
struct Fixture {
    config: CacheConfig,
    cache: ChunkCache,
    calls: Arc<AtomicUsize>,
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn open(memory_bytes: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path(), memory_bytes);
        let cache = ChunkCache::open(&config).await.unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        Self {
            config,
            cache,
            calls,
            _dir: dir,
        }
    }

    /// Drops the cache and opens a new one on the same directory.
    async fn reopen(self) -> Self {
        drop(self.cache);
        let cache = ChunkCache::open(&self.config).await.unwrap();
        Self { cache, ..self }
    }

    /// Reads `k` through the cache; a miss fetches `on_miss`, counted.
    async fn read(&self, k: ChunkKey, on_miss: Bytes) -> Bytes {
        let fetch = counted(&self.calls, on_miss, Duration::ZERO);
        self.cache.get_or_fetch(k, fetch).await.unwrap()
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn miss_then_hit() {
    bounded(async {
        let fx = Fixture::open(4 * MIB).await;
        let cache = &fx.cache;
        let k = key("p/t-1/0/00000000000000000000-1048576.log", 3);
        let want = bytes_of(3, 100 * KIB);
        assert!(!cache.contains(&k));

        let got = fx.read(k.clone(), want.clone()).await;
        assert_eq!(got, want);
        assert_eq!((cache.hits(), cache.misses()), (0, 1));
        assert!(cache.contains(&k));
        assert!(!cache.contains(&key(&k.object, 4)));

        let again = fx.read(k, Bytes::new()).await;
        assert_eq!(again, want);
        assert_eq!(fx.calls(), 1);
        assert_eq!((cache.hits(), cache.misses()), (1, 1));
        cache.close().await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_fetch_once() {
    bounded(async {
        let fx = Fixture::open(4 * MIB).await;
        let cache = &fx.cache;
        let want = bytes_of(0, 64 * KIB);
        let readers = (0..16).map(|_| {
            let fetch = counted(&fx.calls, want.clone(), Duration::from_millis(100));
            let cache = cache.clone();
            tokio::spawn(async move { cache.get_or_fetch(key("o", 0), fetch).await })
        });
        for reader in futures::future::join_all(readers).await {
            assert_eq!(reader.unwrap().unwrap(), want);
        }
        assert_eq!(fx.calls(), 1);
        assert_eq!(cache.hits() + cache.misses(), 16);
        cache.close().await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_returned_and_not_cached() {
    bounded(async {
        let fx = Fixture::open(4 * MIB).await;
        let cache = &fx.cache;
        let failing = || {
            Box::pin(async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                Err(not_found("o"))
            }) as futures::future::BoxFuture<'static, _>
        };

        // One reader whose fetch fails, one waiting on it: both see NotFound.
        let (a, b) = tokio::join!(
            cache.get_or_fetch(key("o", 0), failing),
            cache.get_or_fetch(key("o", 0), failing),
        );
        for e in [a.unwrap_err(), b.unwrap_err()] {
            match e {
                object_store::Error::NotFound { path, source } => {
                    assert_eq!(path, "o");
                    assert_eq!(source.to_string(), "no such key");
                }
                other => panic!("expected NotFound, got {other:?}"),
            }
        }
        assert!(!cache.contains(&key("o", 0)));
        assert_eq!(cache.misses(), 2);

        let want = bytes_of(0, 10 * KIB);
        let got = fx.read(key("o", 0), want.clone()).await;
        assert_eq!(got, want);
        assert_eq!(fx.calls(), 1);
        cache.close().await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunk_bigger_than_memory_is_served_from_disk() {
    bounded(async {
        let memory = 64 * KIB;
        let fx = Fixture::open(memory).await;
        let cache = &fx.cache;
        for chunk in 0..4 {
            let want = bytes_of(chunk, 256 * KIB);
            let got = fx.read(key("big", chunk), want.clone()).await;
            assert_eq!(got, want);
            assert!(cache.cache.memory().usage() <= memory);
        }
        written(cache, (0..4).map(|chunk| key("big", chunk))).await;

        for chunk in 0..4 {
            let got = fx.read(key("big", chunk), Bytes::new()).await;
            assert_eq!(got, bytes_of(chunk, 256 * KIB));
        }
        assert_eq!(fx.calls(), 4, "re-fetched instead of disk");
        assert_eq!(cache.hits(), 4);
        cache.close().await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evicted_chunks_come_back_from_disk_intact() {
    bounded(async {
        let memory = 256 * KIB;
        let fx = Fixture::open(memory).await;
        let cache = &fx.cache;
        let chunks = 32;
        for chunk in 0..chunks {
            fx.read(key("seg", chunk), bytes_of(chunk, 64 * KIB)).await;
            assert!(cache.cache.memory().usage() <= memory);
        }
        cache.cache.storage().wait().await;

        for chunk in 0..chunks {
            // Promoting the disk hits below evicts the chunks memory held,
            // which then queue for the disk writer: let it finish first.
            written(cache, std::iter::once(key("seg", chunk))).await;
            assert!(cache.contains(&key("seg", chunk)));
            let got = fx.read(key("seg", chunk), Bytes::new()).await;
            assert_eq!(got, bytes_of(chunk, 64 * KIB), "chunk {chunk}");
        }
        assert_eq!(fx.calls(), chunks as usize);
        assert_eq!((cache.hits(), cache.misses()), (chunks, chunks));

        // A chunk still on its way to disk may survive a removal (see
        // `remove_object`): let the writes the promotions caused land.
        written(cache, (0..chunks).map(|chunk| key("seg", chunk))).await;
        cache.cache.storage().wait().await;
        cache.remove_object("seg", chunks);
        for chunk in 0..chunks {
            assert!(!cache.contains(&key("seg", chunk)), "chunk {chunk}");
        }
        cache.close().await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_keeps_memory_and_disk() {
    bounded(async {
        // 20 MiB in memory at close: more than foyer's write buffer, so
        // `close` must move it in rounds for all of it to survive.
        let memory = 24 * MIB;
        let chunks = 20;
        let fx = Fixture::open(memory).await;
        for chunk in 0..chunks {
            fx.read(key("r", chunk), bytes_of(chunk, MIB)).await;
        }
        fx.cache.close().await.unwrap();
        fx.cache.close().await.unwrap();

        let fx = fx.reopen().await;
        for chunk in 0..chunks {
            let got = fx.read(key("r", chunk), Bytes::new()).await;
            assert_eq!(got, bytes_of(chunk, MIB), "chunk {chunk}");
        }
        assert_eq!(fx.calls(), chunks as usize);
        assert_eq!(fx.cache.hits(), chunks);
        fx.cache.close().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn refuses_a_disk_too_small() {
    let dir = tempfile::tempdir().unwrap();
    let mut small = config(dir.path(), MIB);
    small.disk_bytes = MIN_DISK_BYTES - 1;
    let e = ChunkCache::open(&small).await.unwrap_err();
    assert!(e.to_string().contains("below the minimum"), "{e}");
}

#[test]
fn key_code_round_trips() {
    let k = key("prefix/orders-1/0/00000000000000000000-1048576.log", 42);
    let mut buf = Vec::new();
    k.encode(&mut buf).unwrap();
    assert_eq!(buf.len(), k.estimated_size());
    assert_eq!(ChunkKey::decode(&mut buf.as_slice()).unwrap(), k);
}

#[test]
fn get_or_fetch_is_send() {
    fn send<T: Send>(_: &T) {}
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let dir = tempfile::tempdir().unwrap();
    let cache = rt
        .block_on(ChunkCache::open(&config(dir.path(), MIB)))
        .unwrap();
    send(&cache.get_or_fetch(key("o", 0), || async { Ok(Bytes::new()) }));
    rt.block_on(cache.close()).unwrap();
}
