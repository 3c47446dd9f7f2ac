//! `meta.properties`: the cluster id and node id a data directory belongs to,
//! as Kafka keeps them. A directory written by another node id is refused.

use std::path::Path;

use anyhow::{bail, Context};
use base64::Engine;

const FILE: &str = "meta.properties";

/// Returns the data directory's cluster id, creating it on first start.
pub(crate) fn load_or_create(data_dir: &Path, node_id: i32) -> anyhow::Result<String> {
    if let Some(cluster_id) = read(data_dir, node_id)? {
        return Ok(cluster_id);
    }
    // Kafka's cluster ids are a random UUID in URL-safe base64 without padding.
    let cluster_id =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes());
    write(data_dir, &cluster_id, node_id)?;
    Ok(cluster_id)
}

/// The data directory's cluster id, `None` when it has no `meta.properties`.
pub(crate) fn read(data_dir: &Path, node_id: i32) -> anyhow::Result<Option<String>> {
    let path = data_dir.join(FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let get = |key: &str| {
        text.lines()
            .filter_map(|l| l.split_once('='))
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim().to_string())
    };
    let cluster_id =
        get("cluster.id").with_context(|| format!("{} has no cluster.id", path.display()))?;
    if let Some(stored) = get("node.id") {
        if stored != node_id.to_string() {
            bail!(
                "{} belongs to node.id {stored}, not {node_id}",
                path.display()
            );
        }
    }
    Ok(Some(cluster_id))
}

/// Writes `meta.properties` atomically (a restore writes the id the tier
/// holds before anything else opens the directory).
pub(crate) fn write(data_dir: &Path, cluster_id: &str, node_id: i32) -> anyhow::Result<()> {
    let path = data_dir.join(FILE);
    let text = format!("version=1\ncluster.id={cluster_id}\nnode.id={node_id}\n");
    let tmp = data_dir.join(format!("{FILE}.tmp"));
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_ids_read_back_and_other_nodes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path(), 1).unwrap(), None);
        write(dir.path(), "abc", 1).unwrap();
        assert_eq!(read(dir.path(), 1).unwrap().as_deref(), Some("abc"));
        assert_eq!(load_or_create(dir.path(), 1).unwrap(), "abc");
        assert!(read(dir.path(), 2).is_err());
    }
}
