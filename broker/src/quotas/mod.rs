//! Kafka client quotas: `producer_byte_rate`, `consumer_byte_rate`,
//! `request_percentage` and `controller_mutation_rate`, set per user and
//! client id with AlterClientQuotas, kept in `__strata_metadata` and
//! enforced as Kafka enforces them.
//!
//! Which quota applies to a request is Kafka's eight-level precedence
//! ([`ClientQuotas::resolve`]); the level also decides who shares a sensor
//! (`/users/u` is shared by every client of `u`, `/clients/<default>` gives
//! each client id its own). A throttled request is answered at once with
//! `throttle_time_ms`, and its connection reads nothing more for that long
//! ([`throttle`]): KIP-219's muting.
//!
//! With no quota configured, the hot paths pay one atomic load
//! ([`ClientQuotas::enabled`]) and allocate nothing.

pub(crate) mod entity;
pub(crate) mod mutation;
pub(crate) mod rate;
pub(crate) mod throttle;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

use anyhow::Context;
use parking_lot::{Mutex, RwLock};

use crate::cluster::{Cluster, MetadataEvent};
use crate::properties::BrokerProperties;
pub(crate) use entity::{QuotaEntity, QuotaKind};
use rate::{SampledRate, TokenBucket, WindowConfig};

/// Sensors idle this long are dropped (Kafka's inactive sensor expiry).
const SENSOR_IDLE_MS: u64 = 3_600_000;
/// The sensor count above which idle sensors are looked for.
const SENSOR_PRUNE_AT: usize = 4096;

/// One change to a quota: a value set, or removed (`None`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QuotaChange {
    pub(crate) entity: QuotaEntity,
    pub(crate) key: String,
    pub(crate) value: Option<f64>,
}

/// Who shares a sensor: Kafka's quota metric tags.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct SensorKey {
    kind: QuotaKind,
    user: String,
    client_id: String,
}

#[derive(Debug)]
enum Sensor {
    Rate(SampledRate),
    Bucket(TokenBucket),
}

impl Sensor {
    fn last_record_ms(&self) -> u64 {
        match self {
            Sensor::Rate(r) => r.last_record_ms,
            Sensor::Bucket(b) => b.last_record_ms,
        }
    }
}

/// The configured quotas and the clients' sensors.
pub(crate) struct ClientQuotas {
    window: WindowConfig,
    /// One bit per [`QuotaKind`] some entity sets.
    enabled: AtomicU8,
    configs: RwLock<BTreeMap<QuotaEntity, BTreeMap<String, f64>>>,
    sensors: Mutex<HashMap<SensorKey, Sensor>>,
    epoch: Instant,
}

impl ClientQuotas {
    pub(crate) fn new(window: WindowConfig) -> Self {
        ClientQuotas {
            window,
            enabled: AtomicU8::new(0),
            configs: RwLock::new(BTreeMap::new()),
            sensors: Mutex::new(HashMap::new()),
            epoch: Instant::now(),
        }
    }

    /// The quotas replayed from the metadata log, with the window settings
    /// `quota.window.num` and `quota.window.size.seconds`.
    pub(crate) fn open(
        properties: &BrokerProperties,
        replayed: BTreeMap<QuotaEntity, BTreeMap<String, f64>>,
    ) -> anyhow::Result<Self> {
        let window = window_config(properties)?;
        let quotas = ClientQuotas::new(window);
        *quotas.configs.write() = replayed;
        quotas.refresh_enabled();
        if quotas.any() {
            tracing::info!(
                entities = quotas.configs.read().len(),
                "client quotas enabled"
            );
        }
        Ok(quotas)
    }

    /// Milliseconds since the broker started: the sensors' clock.
    pub(crate) fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Whether any quota is set: the check every request makes first.
    pub(crate) fn any(&self) -> bool {
        self.enabled.load(Ordering::Relaxed) != 0
    }

    /// Whether some entity sets a quota of `kind`.
    pub(crate) fn enabled(&self, kind: QuotaKind) -> bool {
        self.enabled.load(Ordering::Relaxed) & kind.bit() != 0
    }

    fn refresh_enabled(&self) {
        let mut bits = 0;
        for values in self.configs.read().values() {
            for key in values.keys() {
                if let Some(kind) = QuotaKind::from_key(key) {
                    bits |= kind.bit();
                }
            }
        }
        self.enabled.store(bits, Ordering::Relaxed);
    }

    /// The quota of `kind` for `user` and `client_id`, by Kafka's precedence:
    /// `/users/u/clients/c`, `/users/u/clients/<default>`, `/users/u`,
    /// `/users/<default>/clients/c`, `/users/<default>/clients/<default>`,
    /// `/users/<default>`, `/clients/c`, `/clients/<default>`; with the key
    /// of the sensor the quota is measured on.
    pub(crate) fn resolve(
        &self,
        kind: QuotaKind,
        user: &str,
        client_id: &str,
    ) -> Option<(f64, SensorKey)> {
        let configs = self.configs.read();
        let named = |s: &str| Some(Some(s.to_string()));
        let levels = [
            (named(user), named(client_id), true, true),
            (named(user), Some(None), true, true),
            (named(user), None, true, false),
            (Some(None), named(client_id), true, true),
            (Some(None), Some(None), true, true),
            (Some(None), None, true, false),
            (None, named(client_id), false, true),
            (None, Some(None), false, true),
        ];
        for (u, c, by_user, by_client) in levels {
            let entity = QuotaEntity {
                user: u,
                client_id: c,
            };
            if let Some(value) = configs.get(&entity).and_then(|v| v.get(kind.key())) {
                let key = SensorKey {
                    kind,
                    user: if by_user {
                        user.to_string()
                    } else {
                        String::new()
                    },
                    client_id: if by_client {
                        client_id.to_string()
                    } else {
                        String::new()
                    },
                };
                return Some((*value, key));
            }
        }
        None
    }

    /// Records `value` against the client's rate quota of `kind` and
    /// returns the throttle time in milliseconds (0: within its quota, or
    /// no quota applies).
    pub(crate) fn record_and_throttle(
        &self,
        kind: QuotaKind,
        user: &str,
        client_id: &str,
        value: f64,
    ) -> u64 {
        let Some((quota, key)) = self.resolve(kind, user, client_id) else {
            return 0;
        };
        let now = self.now_ms();
        self.with_sensor(key, now, |sensor| match sensor {
            Sensor::Rate(rate) => rate.record_and_throttle(self.window, quota, value, now),
            Sensor::Bucket(_) => 0,
        })
    }

    /// Takes back a value recorded by [`Self::record_and_throttle`] (a
    /// throttled fetch answers empty, so its bytes were not sent).
    pub(crate) fn unrecord(&self, kind: QuotaKind, user: &str, client_id: &str, value: f64) {
        let Some((_, key)) = self.resolve(kind, user, client_id) else {
            return;
        };
        let now = self.now_ms();
        self.with_sensor(key, now, |sensor| {
            if let Sensor::Rate(rate) = sensor {
                rate.record(self.window, -value, now);
            }
        });
    }

    fn with_sensor<R>(&self, key: SensorKey, now: u64, f: impl FnOnce(&mut Sensor) -> R) -> R {
        let mut sensors = self.sensors.lock();
        if sensors.len() >= SENSOR_PRUNE_AT {
            sensors.retain(|_, s| now.saturating_sub(s.last_record_ms()) < SENSOR_IDLE_MS);
        }
        let kind = key.kind;
        let sensor = sensors.entry(key).or_insert_with(|| match kind {
            QuotaKind::ControllerMutation => Sensor::Bucket(TokenBucket::new(now)),
            _ => Sensor::Rate(SampledRate::new(now)),
        });
        f(sensor)
    }

    /// The quotas of every entity `filter` matches.
    pub(crate) fn describe(
        &self,
        filter: &entity::Filter,
    ) -> Vec<(QuotaEntity, BTreeMap<String, f64>)> {
        self.configs
            .read()
            .iter()
            .filter(|(entity, _)| filter.matches(entity))
            .map(|(e, v)| (e.clone(), v.clone()))
            .collect()
    }

    /// The quotas set on exactly `entity`.
    pub(crate) fn values(&self, entity: &QuotaEntity) -> BTreeMap<String, f64> {
        self.configs.read().get(entity).cloned().unwrap_or_default()
    }

    /// Applies recorded changes.
    pub(crate) fn apply(&self, changes: &[QuotaChange]) {
        {
            let mut configs = self.configs.write();
            for change in changes {
                apply_change(&mut configs, change);
            }
        }
        self.refresh_enabled();
    }
}

/// Applies one change to a map of quotas (also the metadata log's replay).
pub(crate) fn apply_change(
    configs: &mut BTreeMap<QuotaEntity, BTreeMap<String, f64>>,
    change: &QuotaChange,
) {
    match change.value {
        Some(value) => {
            configs
                .entry(change.entity.clone())
                .or_default()
                .insert(change.key.clone(), value);
        }
        None => {
            if let Some(values) = configs.get_mut(&change.entity) {
                values.remove(&change.key);
                if values.is_empty() {
                    configs.remove(&change.entity);
                }
            }
        }
    }
}

/// Records quota changes in the metadata log as one batch, then applies them.
pub(crate) async fn change_quotas(
    cluster: &Cluster,
    quotas: &ClientQuotas,
    changes: Vec<QuotaChange>,
) -> anyhow::Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let events: Vec<_> = changes
        .iter()
        .map(|c| MetadataEvent::ClientQuotaChanged {
            entity: c.entity.clone(),
            key: c.key.clone(),
            value: c.value,
        })
        .collect();
    cluster.record(&events, || quotas.apply(&changes)).await
}

/// `quota.window.num` and `quota.window.size.seconds`, checked.
fn window_config(properties: &BrokerProperties) -> anyhow::Result<WindowConfig> {
    let num = properties.value("quota.window.num");
    let samples: u32 = num
        .trim()
        .parse()
        .ok()
        .filter(|n| *n >= 1)
        .with_context(|| format!("quota.window.num={num:?} must be a whole number >= 1"))?;
    let size = properties.value("quota.window.size.seconds");
    let seconds: u64 = size
        .trim()
        .parse()
        .ok()
        .filter(|n| *n >= 1)
        .with_context(|| {
            format!("quota.window.size.seconds={size:?} must be a whole number >= 1")
        })?;
    Ok(WindowConfig {
        samples,
        window_ms: seconds * 1000,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(
        quotas: &ClientQuotas,
        user: Option<Option<&str>>,
        client: Option<Option<&str>>,
        v: f64,
    ) {
        quotas.apply(&[QuotaChange {
            entity: QuotaEntity {
                user: user.map(|u| u.map(str::to_string)),
                client_id: client.map(|c| c.map(str::to_string)),
            },
            key: "producer_byte_rate".into(),
            value: Some(v),
        }]);
    }

    #[test]
    fn precedence_is_kafkas() {
        let quotas = ClientQuotas::new(WindowConfig::default());
        assert!(!quotas.any());
        set(&quotas, None, Some(None), 8.0);
        assert!(quotas.enabled(QuotaKind::Produce) && !quotas.enabled(QuotaKind::Fetch));
        let (v, key) = quotas.resolve(QuotaKind::Produce, "alice", "app").unwrap();
        assert_eq!(
            (v, key.user.as_str(), key.client_id.as_str()),
            (8.0, "", "app")
        );
        set(&quotas, None, Some(Some("app")), 7.0);
        assert_eq!(
            quotas
                .resolve(QuotaKind::Produce, "alice", "app")
                .unwrap()
                .0,
            7.0
        );
        set(&quotas, Some(None), None, 6.0);
        let (v, key) = quotas.resolve(QuotaKind::Produce, "alice", "app").unwrap();
        assert_eq!(
            (v, key.user.as_str(), key.client_id.as_str()),
            (6.0, "alice", "")
        );
        set(&quotas, Some(Some("alice")), None, 3.0);
        assert_eq!(
            quotas
                .resolve(QuotaKind::Produce, "alice", "app")
                .unwrap()
                .0,
            3.0
        );
        set(&quotas, Some(Some("alice")), Some(None), 2.0);
        assert_eq!(
            quotas
                .resolve(QuotaKind::Produce, "alice", "app")
                .unwrap()
                .0,
            2.0
        );
        set(&quotas, Some(Some("alice")), Some(Some("app")), 1.0);
        assert_eq!(
            quotas
                .resolve(QuotaKind::Produce, "alice", "app")
                .unwrap()
                .0,
            1.0
        );
        // Bob falls through to the default user.
        assert_eq!(
            quotas.resolve(QuotaKind::Produce, "bob", "app").unwrap().0,
            6.0
        );
        assert!(quotas.resolve(QuotaKind::Fetch, "bob", "app").is_none());
    }

    #[test]
    fn removing_the_last_quota_disables_the_check() {
        let quotas = ClientQuotas::new(WindowConfig::default());
        set(&quotas, None, Some(Some("slow")), 100.0);
        assert!(quotas.record_and_throttle(QuotaKind::Produce, "u", "slow", 5000.0) > 0);
        assert_eq!(
            quotas.record_and_throttle(QuotaKind::Produce, "u", "fast", 5000.0),
            0
        );
        quotas.apply(&[QuotaChange {
            entity: QuotaEntity {
                user: None,
                client_id: Some(Some("slow".into())),
            },
            key: "producer_byte_rate".into(),
            value: None,
        }]);
        assert!(!quotas.any());
        assert!(quotas.describe(&entity::Filter::default()).is_empty());
    }
}
