//! Dynamic group configs (KIP-848, Kafka's `GroupConfig`): the GROUP config
//! resource of DescribeConfigs, AlterConfigs and IncrementalAlterConfigs.
//!
//! A group's overrides are cluster metadata, as in Kafka (a `ConfigRecord`
//! there, a `GroupConfigsReplaced` event in `__strata_metadata` here), so a
//! restart and a restore from the tier keep them. The group coordinator
//! reads [`GroupConfigs::consumer_settings`] at every ConsumerGroupHeartbeat:
//! a change reaches each member at its next heartbeat, as in Kafka.
//!
//! Strata serves consumer groups only. Kafka 4.1's `share.*` (KIP-932) and
//! `streams.*` (KIP-1071) group configs configure group kinds Strata does
//! not have, so they are refused rather than stored and ignored.

use std::collections::{BTreeMap, HashMap};

use parking_lot::RwLock;

use crate::groups::ConsumerSettings;
use crate::properties::BrokerProperties;
use crate::topic_config::ConfigType;

pub(crate) const CONSUMER_SESSION_TIMEOUT_MS: &str = "consumer.session.timeout.ms";
pub(crate) const CONSUMER_HEARTBEAT_INTERVAL_MS: &str = "consumer.heartbeat.interval.ms";

/// One group config Strata honours.
pub(crate) struct GroupConfigDef {
    pub(crate) name: &'static str,
    pub(crate) kind: ConfigType,
    pub(crate) doc: &'static str,
}

/// Every group config Strata honours, by name.
pub(crate) const GROUP_CONFIGS: &[GroupConfigDef] = &[
    GroupConfigDef {
        name: CONSUMER_HEARTBEAT_INTERVAL_MS,
        kind: ConfigType::Int,
        doc: "The heartbeat interval given to the members of this consumer group (default: the broker's group.consumer.heartbeat.interval.ms).",
    },
    GroupConfigDef {
        name: CONSUMER_SESSION_TIMEOUT_MS,
        kind: ConfigType::Int,
        doc: "The timeout to detect client failures in this consumer group (default: the broker's group.consumer.session.timeout.ms).",
    },
];

/// Why a Kafka 4.1 group config of a group kind Strata lacks is refused.
fn unserved_kind(name: &str) -> Option<&'static str> {
    if name.starts_with("share.") {
        Some("it configures share groups (KIP-932), which Strata does not serve")
    } else if name.starts_with("streams.") {
        Some("it configures Kafka Streams groups (KIP-1071), which Strata does not serve")
    } else {
        None
    }
}

/// The broker defaults of the group configs (Kafka's
/// `extractConsumerGroupConfigMap`).
pub(crate) fn broker_defaults(props: &BrokerProperties) -> ConsumerSettings {
    ConsumerSettings {
        session_timeout_ms: props.group_consumer_session_timeout_ms,
        heartbeat_interval_ms: props.group_consumer_heartbeat_interval_ms,
    }
}

/// A group's settings: its overrides (validated when stored) over the
/// broker defaults.
pub(crate) fn resolve(
    overrides: &BTreeMap<String, String>,
    defaults: ConsumerSettings,
) -> ConsumerSettings {
    let int = |name: &str, default: i32| {
        overrides
            .get(name)
            .and_then(|v| v.trim().parse::<i32>().ok())
            .unwrap_or(default)
    };
    ConsumerSettings {
        session_timeout_ms: int(CONSUMER_SESSION_TIMEOUT_MS, defaults.session_timeout_ms),
        heartbeat_interval_ms: int(
            CONSUMER_HEARTBEAT_INTERVAL_MS,
            defaults.heartbeat_interval_ms,
        ),
    }
}

/// Checks a group's whole new set of overrides as Kafka's
/// `GroupConfigManager.validate` does (names, then values parsed as INT at
/// least 1, then the broker's bounds, then heartbeat below session), over
/// the broker defaults. The message is Kafka's; every refusal is
/// INVALID_CONFIG.
pub(crate) fn validate(
    overrides: &BTreeMap<String, String>,
    props: &BrokerProperties,
) -> Result<(), String> {
    for name in overrides.keys() {
        if let Some(why) = unserved_kind(name) {
            return Err(format!("Group config {name} is not supported: {why}"));
        }
        if !GROUP_CONFIGS.iter().any(|d| d.name == name) {
            return Err(format!("Unknown group config name: {name}"));
        }
    }
    let defaults = broker_defaults(props);
    let value = |name: &str, default: i32| -> Result<i32, String> {
        let Some(text) = overrides.get(name) else {
            return Ok(default);
        };
        let n: i32 = text.trim().parse().map_err(|_| {
            format!("Invalid value {text} for configuration {name}: Not a number of type INT")
        })?;
        if n < 1 {
            return Err(format!(
                "Invalid value {n} for configuration {name}: Value must be at least 1"
            ));
        }
        Ok(n)
    };
    let session = value(CONSUMER_SESSION_TIMEOUT_MS, defaults.session_timeout_ms)?;
    let heartbeat = value(
        CONSUMER_HEARTBEAT_INTERVAL_MS,
        defaults.heartbeat_interval_ms,
    )?;
    let bounds = [
        (
            heartbeat < props.group_consumer_min_heartbeat_interval_ms,
            "consumer.heartbeat.interval.ms must be greater than or equal to group.consumer.min.heartbeat.interval.ms",
        ),
        (
            heartbeat > props.group_consumer_max_heartbeat_interval_ms,
            "consumer.heartbeat.interval.ms must be less than or equal to group.consumer.max.heartbeat.interval.ms",
        ),
        (
            session < props.group_consumer_min_session_timeout_ms,
            "consumer.session.timeout.ms must be greater than or equal to group.consumer.min.session.timeout.ms",
        ),
        (
            session > props.group_consumer_max_session_timeout_ms,
            "consumer.session.timeout.ms must be less than or equal to group.consumer.max.session.timeout.ms",
        ),
        (
            session <= heartbeat,
            "consumer.session.timeout.ms must be greater than consumer.heartbeat.interval.ms",
        ),
    ];
    match bounds.iter().find(|(broken, _)| *broken) {
        Some((_, why)) => Err(why.to_string()),
        None => Ok(()),
    }
}

/// Every group's overrides, shared by the cluster (which changes them after
/// the metadata log has them) and the group coordinator (which reads them).
pub(crate) struct GroupConfigs {
    defaults: ConsumerSettings,
    by_group: RwLock<HashMap<String, BTreeMap<String, String>>>,
}

impl GroupConfigs {
    pub(crate) fn new(
        props: &BrokerProperties,
        stored: HashMap<String, BTreeMap<String, String>>,
    ) -> Self {
        GroupConfigs {
            defaults: broker_defaults(props),
            by_group: RwLock::new(stored),
        }
    }

    /// The group's overrides (empty when it has none, or does not exist).
    pub(crate) fn overrides(&self, group: &str) -> BTreeMap<String, String> {
        self.by_group.read().get(group).cloned().unwrap_or_default()
    }

    /// What the coordinator gives the group's members.
    pub(crate) fn consumer_settings(&self, group: &str) -> ConsumerSettings {
        match self.by_group.read().get(group) {
            Some(overrides) => resolve(overrides, self.defaults),
            None => self.defaults,
        }
    }

    /// Installs a group's new overrides (an empty set removes the group's entry).
    pub(crate) fn replace(&self, group: &str, overrides: BTreeMap<String, String>) {
        let mut by_group = self.by_group.write();
        if overrides.is_empty() {
            by_group.remove(group);
        } else {
            by_group.insert(group.to_string(), overrides);
        }
    }
}

#[cfg(test)]
#[path = "group_config_tests.rs"]
mod tests;
