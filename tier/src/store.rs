//! Opening the object store a tier URL names, and checking it answers.
//!
//! `s3://bucket/prefix` goes through `object_store`'s S3 client configured
//! from the standard AWS variables (`AWS_ENDPOINT_URL`, `AWS_REGION`,
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`, ...), so
//! MinIO, moto and AWS all work unchanged; `file:///path` is a local
//! directory (useful on one machine, and in tests without an S3 server).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use futures::TryStreamExt;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{BackoffConfig, ClientConfigKey, ObjectStore, RetryConfig};

/// An object store and the prefix under which everything of this cluster lives.
#[derive(Clone, Debug)]
pub struct TierStore {
    pub store: Arc<dyn ObjectStore>,
    pub prefix: Path,
    /// The URL as configured, for messages.
    pub url: String,
}

/// The client's own retries stay short; the uploader retries with backoff.
fn retry_config() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries: 2,
        retry_timeout: Duration::from_secs(20),
    }
}

/// An S3 client from the AWS variables, with Strata's defaults under them:
/// request timeouts, so a hung store surfaces as an error the uploader
/// retries with its own backoff rather than a stall of minutes; and
/// unsigned payloads (the request is still signed; TLS protects the body),
/// because hashing every uploaded byte with SHA-256 costs more CPU than the
/// rest of the upload. `AWS_UNSIGNED_PAYLOAD=false` turns signing back on.
fn s3_builder() -> AmazonS3Builder {
    let mut builder = AmazonS3Builder::new()
        .with_config(
            AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout),
            "5s",
        )
        .with_config(AmazonS3ConfigKey::Client(ClientConfigKey::Timeout), "30s")
        .with_config(AmazonS3ConfigKey::UnsignedPayload, "true");
    // As `AmazonS3Builder::from_env`, applied over the defaults above
    // (`with_client_options` would replace every client option the
    // environment set, AWS_ALLOW_HTTP among them).
    for (key, value) in std::env::vars() {
        if key.starts_with("AWS_") {
            if let Ok(config_key) = key.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
                builder = builder.with_config(config_key, value);
            }
        }
    }
    builder
}

impl TierStore {
    /// Opens the store `url` names. Does not contact it: see [`TierStore::check`].
    pub fn open(url: &str) -> anyhow::Result<TierStore> {
        let parsed = url::Url::parse(url).with_context(|| format!("tier URL {url:?}"))?;
        let (store, prefix): (Arc<dyn ObjectStore>, Path) = match parsed.scheme() {
            "s3" | "s3a" => {
                let bucket = parsed
                    .host_str()
                    .filter(|b| !b.is_empty())
                    .with_context(|| format!("tier URL {url:?} names no bucket"))?;
                let store = s3_builder()
                    .with_bucket_name(bucket)
                    .with_retry(retry_config())
                    .build()
                    .with_context(|| format!("configuring S3 for tier URL {url:?}"))?;
                (Arc::new(store), Path::from(parsed.path()))
            }
            "file" => {
                let dir = parsed
                    .to_file_path()
                    .map_err(|()| anyhow::anyhow!("tier URL {url:?} is not an absolute path"))?;
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("creating tier directory {}", dir.display()))?;
                let store = LocalFileSystem::new_with_prefix(&dir)
                    .with_context(|| format!("opening tier directory {}", dir.display()))?
                    .with_automatic_cleanup(true);
                (Arc::new(store), Path::default())
            }
            other => bail!("tier URL {url:?}: unsupported scheme {other:?} (use s3:// or file://)"),
        };
        Ok(TierStore {
            store,
            prefix,
            url: url.to_string(),
        })
    }

    /// Lists one page under the prefix: fails when the store cannot be
    /// reached, the bucket does not exist, or the credentials are refused.
    pub async fn check(&self) -> anyhow::Result<()> {
        let mut listing = self.store.list(Some(&self.prefix));
        listing
            .try_next()
            .await
            .with_context(|| format!("tier store {} is not reachable", self.url))?;
        Ok(())
    }

    /// The full path of `relative` under the prefix.
    pub fn path(&self, relative: &str) -> Path {
        let mut path = self.prefix.clone();
        for part in relative.split('/').filter(|p| !p.is_empty()) {
            path = path.join(part);
        }
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(TierStore::open("ftp://x/y").is_err());
        assert!(TierStore::open("not a url").is_err());
        let dir = tempfile::tempdir().unwrap();
        let url = format!("file://{}", dir.path().display());
        let store = TierStore::open(&url).unwrap();
        assert_eq!(store.path("a/b.log").as_ref(), "a/b.log");
        let s3 = TierStore::open("s3://bucket/some/prefix").unwrap();
        assert_eq!(
            s3.path("t-1/0/manifest.json").as_ref(),
            "some/prefix/t-1/0/manifest.json"
        );
    }

    #[tokio::test]
    async fn a_local_directory_is_reachable() {
        let dir = tempfile::tempdir().unwrap();
        let store = TierStore::open(&format!("file://{}", dir.path().display())).unwrap();
        store.check().await.unwrap();
    }
}
