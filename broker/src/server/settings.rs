//! Subsystem settings derived from the broker properties at start-up: the
//! tier, the group and transaction coordinators, OAUTHBEARER and the REST
//! Proxy's limits.

use std::time::Duration;

use anyhow::Context;
use strata_governance::oauth::{JwksSource, JwtSettings};
use strata_tier::{CacheConfig, TierConfig};

use crate::cluster::Cluster;
use crate::config::TierSettings;
use crate::groups::{CoordinatorConfig, GroupSettings};
use crate::properties::BrokerProperties;
use crate::transactions::TransactionConfig;

pub(super) fn tier_config(settings: &TierSettings, p: &BrokerProperties) -> TierConfig {
    TierConfig {
        url: settings.url.clone(),
        cache: CacheConfig {
            dir: settings.cache_dir.clone(),
            memory_bytes: settings.cache_memory_bytes,
            disk_bytes: settings.cache_disk_bytes,
        },
        task_interval: Duration::from_millis(p.remote_task_interval_ms),
        retry_backoff: Duration::from_millis(p.remote_retry_backoff_ms.max(1)),
        retry_backoff_max: Duration::from_millis(
            p.remote_retry_backoff_max_ms
                .max(p.remote_retry_backoff_ms.max(1)),
        ),
        upload_bytes_per_second: (p.remote_copy_max_bytes_per_second < i64::MAX as u64)
            .then_some(p.remote_copy_max_bytes_per_second),
        upload_concurrency: p.remote_copier_pool_size,
        chunk_bytes: TIER_CHUNK_BYTES,
        read_ahead_chunks: TIER_READ_AHEAD_CHUNKS,
        internal_roll_ms: p.remote_internal_roll_ms,
        recovery_point: Duration::from_millis(p.tier_recovery_point_ms.max(1)),
    }
}

/// Remote segments are read and cached in ranges of this size: large
/// enough that a sequential consumer costs few requests, small enough that a
/// random read does not fetch much it does not need.
const TIER_CHUNK_BYTES: u64 = 4 << 20;
/// Chunks fetched ahead of a sequential remote reader.
const TIER_READ_AHEAD_CHUNKS: u64 = 4;

pub(super) fn coordinator_config(p: &BrokerProperties) -> CoordinatorConfig {
    CoordinatorConfig {
        group: GroupSettings {
            initial_rebalance_delay: Duration::from_millis(p.group_initial_rebalance_delay_ms),
            min_session_timeout_ms: p.group_min_session_timeout_ms,
            max_session_timeout_ms: p.group_max_session_timeout_ms,
        },
        offsets_partitions: p.offsets_topic_num_partitions,
        offsets_retention: Duration::from_secs(p.offsets_retention_minutes * 60),
        offsets_retention_check: Duration::from_millis(p.offsets_retention_check_interval_ms),
        offset_metadata_max_bytes: p.offset_metadata_max_bytes,
    }
}

pub(super) fn transaction_config(cluster: &Cluster, p: &BrokerProperties) -> TransactionConfig {
    TransactionConfig {
        partitions: p.transaction_state_log_num_partitions,
        max_timeout_ms: p.transaction_max_timeout_ms,
        id_expiration_ms: p.transactional_id_expiration_ms,
        abort_interval: Duration::from_millis(p.transaction_abort_timed_out_interval_ms),
        remove_interval: Duration::from_millis(p.transaction_remove_expired_interval_ms),
        retry_backoff: Duration::from_millis(100),
        // A group's offsets live where the group coordinator puts them: the
        // existing topic's partition count wins over the property.
        offsets_partitions: cluster
            .topic(crate::groups::OFFSETS_TOPIC)
            .map(|t| t.partition_count())
            .unwrap_or(p.offsets_topic_num_partitions),
        // About a hundred fsyncs: a commit's Complete* is written in one.
        concurrent_wait: Duration::from_millis(1000),
    }
}

/// The `sasl.oauthbearer.*` settings; `None` without a JWKS.
pub(super) fn jwt_settings(p: &BrokerProperties) -> anyhow::Result<Option<JwtSettings>> {
    let url = p.value("sasl.oauthbearer.jwks.endpoint.url");
    if url.is_empty() {
        return Ok(None);
    }
    let jwks = match url.strip_prefix("file://") {
        Some(path) => JwksSource::File(path.into()),
        None if url.starts_with("https://") || url.starts_with("http://") => {
            JwksSource::Url(url.to_string())
        }
        None => anyhow::bail!(
            "sasl.oauthbearer.jwks.endpoint.url must be file://, http:// or https://, not {url:?}"
        ),
    };
    let number = |name: &str| -> anyhow::Result<u64> {
        p.value(name)
            .parse()
            .with_context(|| format!("broker property {name}"))
    };
    let issuer = p.value("sasl.oauthbearer.expected.issuer");
    Ok(Some(JwtSettings {
        jwks,
        expected_issuer: (!issuer.is_empty()).then(|| issuer.to_string()),
        expected_audience: p
            .value("sasl.oauthbearer.expected.audience")
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(String::from)
            .collect(),
        principal_claim: p.value("sasl.oauthbearer.sub.claim.name").to_string(),
        clock_skew: Duration::from_secs(number("sasl.oauthbearer.clock.skew.seconds")?),
        jwks_refresh: Duration::from_millis(
            number("sasl.oauthbearer.jwks.endpoint.refresh.ms")?.max(1000),
        ),
    }))
}

/// The REST Proxy's `rate.limit.*` settings; `None` unless `rate.limit.enable`.
pub(super) fn rest_rate_limit(
    props: &BrokerProperties,
) -> anyhow::Result<Option<strata_rest_proxy::RateLimitConfig>> {
    fn number<T: std::str::FromStr>(props: &BrokerProperties, name: &str) -> anyhow::Result<T> {
        let value = props.value(name).trim();
        value
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}={value:?} is not a whole number >= 0"))
    }
    let enable = props.value("rate.limit.enable").trim();
    let enabled: bool = enable
        .parse()
        .map_err(|_| anyhow::anyhow!("rate.limit.enable={enable:?} must be true or false"))?;
    if !enabled {
        return Ok(None);
    }
    let permits_per_sec: u32 = number(props, "rate.limit.permits.per.sec")?;
    anyhow::ensure!(
        permits_per_sec > 0,
        "rate.limit.permits.per.sec must be > 0"
    );
    Ok(Some(strata_rest_proxy::RateLimitConfig {
        permits_per_sec,
        default_cost: number(props, "rate.limit.default.cost")?,
        timeout: std::time::Duration::from_millis(number(props, "rate.limit.timeout.ms")?),
    }))
}

/// `consumer.instance.timeout.ms` (a REST Proxy setting, taken as a broker
/// property since the proxy runs in the broker).
pub(super) fn consumer_instance_timeout(
    props: &BrokerProperties,
) -> anyhow::Result<std::time::Duration> {
    let ms = match props.explicit().get("consumer.instance.timeout.ms") {
        Some(v) => v.trim().parse::<u64>().map_err(|e| {
            anyhow::anyhow!("broker property consumer.instance.timeout.ms={v:?}: {e}")
        })?,
        None => 300_000,
    };
    Ok(std::time::Duration::from_millis(ms))
}
