//! The baseline of the tiered-storage read bar: plain `object_store` GETs
//! of whole objects, one after another, through the same store Strata opens
//! for a tier URL (same client, same AWS variables).
//!
//!     cargo run --release -p strata-tier --example plain_gets -- s3://bucket/prefix key1 key2 ...
//!
//! Keys are relative to the URL's prefix. Prints `{"bytes": N, "seconds": S}`.

use std::time::Instant;

use object_store::ObjectStoreExt;
use strata_tier::store::TierStore;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: plain_gets URL KEY..."))?;
    let keys: Vec<String> = args.collect();
    let store = TierStore::open(&url)?;
    let start = Instant::now();
    let mut bytes = 0usize;
    for key in &keys {
        let path = store.path(key);
        bytes += store.store.get(&path).await?.bytes().await?.len();
    }
    let seconds = start.elapsed().as_secs_f64();
    println!("{{\"bytes\": {bytes}, \"seconds\": {seconds}}}");
    Ok(())
}
