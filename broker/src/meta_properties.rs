//! `meta.properties`: the cluster id and node id a data directory belongs to,
//! as Kafka keeps them. A directory written by another node id is refused.

use std::path::Path;

use anyhow::{bail, Context};
use base64::Engine;

const FILE: &str = "meta.properties";

/// Returns the data directory's cluster id, creating it on first start.
pub(crate) fn load_or_create(data_dir: &Path, node_id: i32) -> anyhow::Result<String> {
    let path = data_dir.join(FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let get = |key: &str| {
                text.lines()
                    .filter_map(|l| l.split_once('='))
                    .find(|(k, _)| k.trim() == key)
                    .map(|(_, v)| v.trim().to_string())
            };
            let cluster_id = get("cluster.id")
                .with_context(|| format!("{} has no cluster.id", path.display()))?;
            if let Some(stored) = get("node.id") {
                if stored != node_id.to_string() {
                    bail!(
                        "{} belongs to node.id {stored}, not {node_id}",
                        path.display()
                    );
                }
            }
            Ok(cluster_id)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Kafka's cluster ids are a random UUID in URL-safe base64 without padding.
            let cluster_id = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(uuid::Uuid::new_v4().as_bytes());
            let text = format!("version=1\ncluster.id={cluster_id}\nnode.id={node_id}\n");
            let tmp = data_dir.join(format!("{FILE}.tmp"));
            std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
            std::fs::File::open(&tmp)?.sync_all()?;
            std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
            Ok(cluster_id)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}
