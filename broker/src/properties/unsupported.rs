//! Kafka 4.1 broker configs Strata does not implement, each with the reason,
//! so a `server.properties` carried over from Kafka fails at start saying
//! why instead of "unknown". One table: an entry names a config exactly or,
//! ending in `.`, every config under that prefix.

use anyhow::bail;

const KRAFT: &str = "Strata is a single node and runs no KRaft quorum; its cluster metadata is its own log (__strata_metadata)";
const REPLICATION: &str = "Strata is a single node: partitions have one replica and there is no inter-broker replication to tune";
const JVM_PLUGIN: &str = "Strata runs no JVM: Java plug-in classes cannot be loaded (its authorizer is set by authorizer.class.name)";
const THREADS: &str = "Strata serves requests on an async runtime sized to the machine's cores; Kafka's thread pools and request queues have no counterpart";
const SOCKETS: &str =
    "Strata leaves socket buffers and the accept backlog to the operating system's defaults";
const REMOVED_4_0: &str = "removed in Kafka 4.0";
const ZOOKEEPER: &str = "removed in Kafka 4.0 with ZooKeeper mode; Strata has never used ZooKeeper";
const CLEANER: &str = "Strata's cleaner is one background task per broker, paced by log.cleaner.backoff.ms; Kafka's cleaner threads and buffers have no counterpart";
const LOG_DIRS: &str =
    "Strata keeps its logs in one directory, set with --data-dir (STRATA_DATA_DIR)";
const CHECKPOINTS: &str = "Strata writes its recovery points and log start offsets when they change (fsynced), not on a timer";
const METRICS: &str = "Strata's metrics are Prometheus counters, gauges and histograms on the admin address's /metrics; Kafka's sampled metric windows and reporters have no counterpart";
const SHARE_GROUPS: &str = "Strata serves no share groups (KIP-932)";
const KERBEROS: &str = "Strata's SASL mechanisms are PLAIN, SCRAM-SHA-256/512 and OAUTHBEARER; GSSAPI (Kerberos) is not supported";
const TLS: &str = "Strata's TLS (rustls) takes TLS 1.2 and 1.3 with rustls' cipher suites; the TLS settings Strata honours are the ssl.* properties in docs/configuration.md";
const INTERNAL_TOPICS: &str = "Strata sizes the segments and reads of its internal topics itself";

/// (name, or prefix ending in `.`; why it is refused). Exact names are
/// looked up before prefixes.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("process.roles", KRAFT),
    ("controller.listener.names", KRAFT),
    ("controller.quorum.", KRAFT),
    ("controller.", KRAFT),
    ("metadata.log.", KRAFT),
    ("metadata.max.", KRAFT),
    ("initial.broker.registration.timeout.ms", KRAFT),
    ("broker.heartbeat.interval.ms", KRAFT),
    ("broker.session.timeout.ms", KRAFT),
    ("early.start.listeners", KRAFT),
    ("eligible.leader.replicas.enable", REPLICATION),
    ("num.replica.fetchers", REPLICATION),
    ("replica.", REPLICATION),
    ("inter.broker.listener.name", REPLICATION),
    ("security.inter.broker.protocol", REPLICATION),
    ("sasl.mechanism.inter.broker.protocol", REPLICATION),
    ("auto.leader.rebalance.enable", REPLICATION),
    ("leader.imbalance.", REPLICATION),
    ("leader.replication.throttled.rate", REPLICATION),
    ("follower.replication.throttled.rate", REPLICATION),
    ("num.replica.alter.log.dirs.threads", REPLICATION),
    ("broker.rack", REPLICATION),
    ("unclean.leader.election.interval.ms", REPLICATION),
    ("create.topic.policy.class.name", JVM_PLUGIN),
    ("alter.config.policy.class.name", JVM_PLUGIN),
    ("client.quota.callback.class", JVM_PLUGIN),
    ("principal.builder.class", JVM_PLUGIN),
    ("metric.reporters", JVM_PLUGIN),
    ("kafka.metrics.reporters", JVM_PLUGIN),
    ("sasl.server.callback.handler.class", JVM_PLUGIN),
    ("sasl.client.callback.handler.class", JVM_PLUGIN),
    ("sasl.login.class", JVM_PLUGIN),
    ("sasl.login.callback.handler.class", JVM_PLUGIN),
    ("ssl.engine.factory.class", JVM_PLUGIN),
    ("security.providers", JVM_PLUGIN),
    ("config.providers", JVM_PLUGIN),
    ("remote.log.storage.manager.", JVM_PLUGIN),
    ("remote.log.metadata.manager.", JVM_PLUGIN),
    ("num.network.threads", THREADS),
    ("num.io.threads", THREADS),
    ("background.threads", THREADS),
    ("num.recovery.threads.per.data.dir", THREADS),
    ("queued.max.requests", THREADS),
    ("queued.max.request.bytes", THREADS),
    ("remote.log.reader.threads", THREADS),
    ("remote.log.reader.max.pending.tasks", THREADS),
    ("remote.log.manager.thread.pool.size", THREADS),
    ("remote.log.manager.expiration.thread.pool.size", THREADS),
    ("socket.send.buffer.bytes", SOCKETS),
    ("socket.receive.buffer.bytes", SOCKETS),
    ("socket.listen.backlog.size", SOCKETS),
    ("log.message.format.version", REMOVED_4_0),
    ("log.message.timestamp.difference.max.ms", REMOVED_4_0),
    ("log.message.downconversion.enable", REMOVED_4_0),
    ("inter.broker.protocol.version", REMOVED_4_0),
    ("control.plane.listener.name", REMOVED_4_0),
    ("broker.id.generation.enable", ZOOKEEPER),
    ("reserved.broker.max.id", ZOOKEEPER),
    ("zookeeper.", ZOOKEEPER),
    ("log.cleaner.threads", CLEANER),
    ("log.cleaner.dedupe.buffer.size", CLEANER),
    ("log.cleaner.io.", CLEANER),
    ("log.cleaner.enable", CLEANER),
    ("log.dir", LOG_DIRS),
    ("log.dirs", LOG_DIRS),
    ("log.dir.failure.timeout.ms", LOG_DIRS),
    ("log.flush.offset.checkpoint.interval.ms", CHECKPOINTS),
    ("log.flush.start.offset.checkpoint.interval.ms", CHECKPOINTS),
    ("log.flush.scheduler.interval.ms", CHECKPOINTS),
    ("metrics.", METRICS),
    ("telemetry.max.bytes", METRICS),
    ("group.share.", SHARE_GROUPS),
    ("share.", SHARE_GROUPS),
    ("sasl.kerberos.", KERBEROS),
    ("ssl.cipher.suites", TLS),
    ("ssl.enabled.protocols", TLS),
    ("ssl.protocol", TLS),
    ("ssl.provider", TLS),
    ("ssl.secure.random.implementation", TLS),
    ("ssl.endpoint.identification.algorithm", TLS),
    ("ssl.keymanager.algorithm", TLS),
    ("ssl.trustmanager.algorithm", TLS),
    ("offsets.load.buffer.size", INTERNAL_TOPICS),
    ("offsets.topic.segment.bytes", INTERNAL_TOPICS),
    ("offsets.topic.compression.codec", INTERNAL_TOPICS),
    ("transaction.state.log.segment.bytes", INTERNAL_TOPICS),
    ("transaction.state.log.load.buffer.size", INTERNAL_TOPICS),
];

/// Why a Kafka broker config is refused, if Strata knows it as unsupported.
pub(super) fn reason(name: &str) -> Option<&'static str> {
    let exact = UNSUPPORTED.iter().find(|(n, _)| *n == name);
    let prefix = || {
        UNSUPPORTED
            .iter()
            .find(|(n, _)| n.ends_with('.') && name.starts_with(n))
    };
    exact.or_else(prefix).map(|(_, why)| *why)
}

/// Properties Strata takes with the one value a single node can honour.
const SINGLE_NODE_VALUES: &[(&str, &str)] = &[
    ("offsets.topic.replication.factor", "1"),
    ("transaction.state.log.min.isr", "1"),
    ("transaction.state.log.replication.factor", "1"),
];

/// Refuses any other value of a [`SINGLE_NODE_VALUES`] property.
pub(super) fn check_single_node_value(name: &str, value: &str) -> anyhow::Result<()> {
    match SINGLE_NODE_VALUES.iter().find(|(n, _)| *n == name) {
        Some((_, only)) if value.trim() != *only => bail!(
            "broker property {name}={value:?} is not supported: Strata is a single node, so {name} can only be {only}"
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::properties::BrokerProperties;
    use std::collections::BTreeMap;

    fn load(name: &str, value: &str) -> anyhow::Result<BrokerProperties> {
        BrokerProperties::from_map(BTreeMap::from([(name.to_string(), value.to_string())]))
    }

    #[test]
    fn kafka_configs_strata_does_not_implement_are_refused_with_the_reason() {
        let e = load("controller.quorum.voters", "1@localhost:9093").unwrap_err();
        assert!(format!("{e:#}").contains("runs no KRaft quorum"), "{e:#}");
        let e = load("num.replica.fetchers", "4").unwrap_err();
        assert!(
            format!("{e:#}").contains("no inter-broker replication"),
            "{e:#}"
        );
        let e = load("log.dirs", "/var/kafka").unwrap_err();
        assert!(format!("{e:#}").contains("--data-dir"), "{e:#}");
        let e = load("no.such.thing", "1").unwrap_err();
        assert!(
            format!("{e:#}").contains("unknown broker property"),
            "{e:#}"
        );
    }

    #[test]
    fn honoured_names_win_over_unsupported_prefixes() {
        // ssl.keystore.location is honoured although other ssl.* are not;
        // replica.* is refused but no honoured name starts with it.
        assert!(reason("ssl.keystore.location").is_none());
        for (name, _, _) in crate::properties::BROKER_ONLY {
            assert!(
                reason(name).is_none(),
                "{name} is both honoured and refused"
            );
        }
        for def in crate::topic_config::TOPIC_CONFIGS {
            assert!(reason(def.broker_name).is_none(), "{}", def.broker_name);
        }
    }

    #[test]
    fn single_node_values_are_taken_and_others_refused() {
        let props = load("offsets.topic.replication.factor", "1").unwrap();
        assert_eq!(props.value("offsets.topic.replication.factor"), "1");
        let e = load("transaction.state.log.replication.factor", "3").unwrap_err();
        assert!(format!("{e:#}").contains("can only be 1"), "{e:#}");
    }
}
