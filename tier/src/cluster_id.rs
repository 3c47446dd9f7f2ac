//! Which cluster a tier prefix belongs to: `cluster.json` under the prefix,
//! written by the first broker that uses it and read back by a restore, so
//! a broker started on an empty data directory takes the cluster id back
//! instead of minting a new one (clients and the Schema Registry key state
//! by it). Two clusters under one prefix would overwrite each other's
//! metadata log and manifests, so the broker refuses to start when its data
//! directory names another cluster than the prefix does (`tiering.rs`).

use anyhow::Context;
use object_store::{ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};

use crate::tier::Tier;

const OBJECT: &str = "cluster.json";

#[derive(Debug, Serialize, Deserialize)]
struct ClusterMarker {
    cluster_id: String,
    /// When it was written, for people reading the bucket.
    created_ms: i64,
}

impl Tier {
    /// The cluster id the prefix holds, if any broker wrote one.
    pub async fn cluster_id(&self) -> anyhow::Result<Option<String>> {
        let path = self.store().path(OBJECT);
        match self.store().store.get(&path).await {
            Ok(found) => {
                let bytes = found
                    .bytes()
                    .await
                    .with_context(|| format!("reading {path}"))?;
                let marker: ClusterMarker =
                    serde_json::from_slice(&bytes).with_context(|| format!("decoding {path}"))?;
                Ok(Some(marker.cluster_id))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {path}")),
        }
    }

    /// Records `cluster_id` as the prefix's cluster.
    pub async fn put_cluster_id(&self, cluster_id: &str) -> anyhow::Result<()> {
        let path = self.store().path(OBJECT);
        let marker = ClusterMarker {
            cluster_id: cluster_id.to_string(),
            created_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64),
        };
        let bytes = serde_json::to_vec_pretty(&marker).expect("a marker always serializes");
        self.store()
            .store
            .put(&path, PutPayload::from(bytes))
            .await
            .with_context(|| format!("writing {path}"))?;
        Ok(())
    }
}
