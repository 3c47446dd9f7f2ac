//! The broker-only properties Strata honours (those that are no topic
//! config's broker synonym), with their defaults and documentation.

/// Broker-only properties: name, default, documentation.
pub(crate) const BROKER_ONLY: &[(&str, &str, &str)] = &[
    (
        "allow.everyone.if.no.acl.found",
        "false",
        "With an authorizer: allow an action on a resource no ACL names.",
    ),
    (
        "authorizer.class.name",
        "",
        "StandardAuthorizer (or AclAuthorizer, or strata) enforces ACLs; empty allows everything.",
    ),
    (
        "advertised.listeners",
        "",
        "Endpoints given to clients, per listener (NAME://host:port, comma list); default: the bound listeners.",
    ),
    (
        "connection.failed.authentication.delay.ms",
        "100",
        "Delay before a failed SASL authentication is answered and its connection closed.",
    ),
    (
        "connections.max.reauth.ms",
        "0",
        "KIP-368: SASL sessions last at most this long before the client must re-authenticate (0: no limit).",
    ),
    (
        "listener.security.protocol.map",
        "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
        "Security protocol of each listener name (NAME:PROTOCOL, comma list).",
    ),
    (
        "listeners",
        "",
        "Kafka listeners (NAME://host:port, comma list); default: one PLAINTEXT listener on --kafka-addr.",
    ),
    (
        "sasl.enabled.mechanisms",
        "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        "SASL mechanisms served on SASL listeners (OAUTHBEARER is added when a JWKS is configured).",
    ),
    (
        "sasl.oauthbearer.clock.skew.seconds",
        "30",
        "Leeway when checking a JWT's exp, nbf and iat.",
    ),
    (
        "sasl.oauthbearer.expected.audience",
        "",
        "Audiences a JWT must name one of (comma list; empty: not checked).",
    ),
    (
        "sasl.oauthbearer.expected.issuer",
        "",
        "The iss a JWT must carry (empty: not checked).",
    ),
    (
        "sasl.oauthbearer.jwks.endpoint.refresh.ms",
        "3600000",
        "How often the JWKS is fetched again.",
    ),
    (
        "sasl.oauthbearer.jwks.endpoint.url",
        "",
        "JWKS of the token issuer (file:///path or http(s)://); set, OAUTHBEARER and Bearer logins are served.",
    ),
    (
        "sasl.oauthbearer.sub.claim.name",
        "sub",
        "The JWT claim naming the principal.",
    ),
    (
        "ssl.client.auth",
        "none",
        "Client certificates on SSL listeners: none, requested or required.",
    ),
    (
        "ssl.key.password",
        "",
        "Refused if set: encrypted private keys are not supported.",
    ),
    (
        "ssl.keystore.location",
        "",
        "PEM file with the private key and certificate chain of SSL and SASL_SSL listeners.",
    ),
    (
        "ssl.keystore.type",
        "PEM",
        "Keystore format; PEM is the only one.",
    ),
    (
        "ssl.principal.mapping.rules",
        "DEFAULT",
        "Rules turning a client certificate's DN into the principal name.",
    ),
    (
        "ssl.truststore.location",
        "",
        "PEM file of CA certificates client certificates are checked against.",
    ),
    (
        "ssl.truststore.type",
        "PEM",
        "Truststore format; PEM is the only one.",
    ),
    (
        "auto.create.topics.enable",
        "true",
        "Create a topic when a client asks Metadata for an unknown one.",
    ),
    (
        "consumer.instance.timeout.ms",
        "300000",
        "REST Proxy v2 consumer instances idle this long are closed and leave their group.",
    ),
    (
        "default.replication.factor",
        "1",
        "Replication factor of auto-created topics (a single node serves 1).",
    ),
    (
        "group.consumer.heartbeat.interval.ms",
        "5000",
        "Heartbeat interval given to consumer-protocol (KIP-848) group members.",
    ),
    (
        "group.consumer.max.heartbeat.interval.ms",
        "15000",
        "Largest consumer.heartbeat.interval.ms a consumer-protocol group may be given.",
    ),
    (
        "group.consumer.max.session.timeout.ms",
        "60000",
        "Largest consumer.session.timeout.ms a consumer-protocol group may be given.",
    ),
    (
        "group.consumer.min.heartbeat.interval.ms",
        "5000",
        "Smallest consumer.heartbeat.interval.ms a consumer-protocol group may be given.",
    ),
    (
        "group.consumer.min.session.timeout.ms",
        "45000",
        "Smallest consumer.session.timeout.ms a consumer-protocol group may be given.",
    ),
    (
        "group.consumer.session.timeout.ms",
        "45000",
        "Consumer-protocol (KIP-848) members not heard from for this long leave their group.",
    ),
    (
        "group.initial.rebalance.delay.ms",
        "3000",
        "How long a group starting from empty waits for more members.",
    ),
    (
        "group.max.session.timeout.ms",
        "1800000",
        "Largest session timeout a group member may ask for.",
    ),
    (
        "group.min.session.timeout.ms",
        "6000",
        "Smallest session timeout a group member may ask for.",
    ),
    (
        "log.cleaner.backoff.ms",
        "15000",
        "Pause between log compaction passes over the compacted topics.",
    ),
    (
        "log.retention.check.interval.ms",
        "300000",
        "How often retention and time-based segment rolling run.",
    ),
    (
        "max.connections",
        "2147483647",
        "Kafka connections served at once; more wait in the accept queue.",
    ),
    ("node.id", "1", "This broker's id in metadata."),
    (
        "num.partitions",
        "1",
        "Partitions of auto-created topics and of CreateTopics with -1.",
    ),
    (
        "producer.id.expiration.ms",
        "86400000",
        "A partition forgets an idempotent producer idle this long (no open transaction).",
    ),
    (
        "producer.id.expiration.check.interval.ms",
        "600000",
        "How often idle producers are forgotten.",
    ),
    (
        "offset.metadata.max.bytes",
        "4096",
        "Largest metadata string an offset commit may carry.",
    ),
    (
        "offsets.retention.check.interval.ms",
        "600000",
        "How often expired committed offsets are removed.",
    ),
    (
        "offsets.retention.minutes",
        "10080",
        "How long an empty group's committed offsets are kept.",
    ),
    (
        "offsets.topic.num.partitions",
        "50",
        "Partitions of __consumer_offsets when it is created.",
    ),
    (
        "quota.window.num",
        "11",
        "Samples a client quota's rate is measured over.",
    ),
    (
        "quota.window.size.seconds",
        "1",
        "Length of one client quota sample, in seconds.",
    ),
    (
        "rate.limit.default.cost",
        "1",
        "REST Proxy: permits one request takes when rate.limit.enable is on.",
    ),
    (
        "rate.limit.enable",
        "false",
        "REST Proxy: limit requests to rate.limit.permits.per.sec (HTTP 429, error_code 42901 above it).",
    ),
    (
        "rate.limit.permits.per.sec",
        "50",
        "REST Proxy: permits handed out per second, across all callers.",
    ),
    (
        "rate.limit.timeout.ms",
        "0",
        "REST Proxy: how long a request may wait for a permit before it is refused.",
    ),
    (
        "remote.log.manager.copier.thread.pool.size",
        "2",
        "Partitions whose segments are uploaded to the tier at the same time.",
    ),
    (
        "remote.log.manager.copy.max.bytes.per.second",
        "9223372036854775807",
        "Upload bandwidth cap of the tier, in bytes per second.",
    ),
    (
        "remote.log.manager.task.interval.ms",
        "30000",
        "How often sealed segments are uploaded to the tier and remote retention runs.",
    ),
    (
        "remote.log.manager.task.retry.backoff.max.ms",
        "30000",
        "Longest wait between tier passes after failures.",
    ),
    (
        "remote.log.manager.task.retry.backoff.ms",
        "500",
        "First wait before retrying a failed tier pass; doubles up to the max.",
    ),
    (
        "socket.request.max.bytes",
        "104857600",
        "Largest request frame; larger frames close the connection.",
    ),
    (
        "strata.audit.enabled",
        "",
        "Write security events (failed logins, denials, topic/config/ACL/credential/schema changes) to strata.audit.topic: true, false, or empty for true exactly when authorizer.class.name is set.",
    ),
    (
        "strata.audit.topic",
        "_strata_audit",
        "The audit topic: CloudEvents JSON, one record per event; created at start (1 partition, 90-day retention) when the audit log is on.",
    ),
    (
        "strata.tier.metadata.recovery.point.ms",
        "1000",
        "With a tier, how far the uploaded state of the broker's internal logs (metadata: topics, configs, ACLs, credentials, quotas, producer ids; consumer offsets; transactions; schemas) may lag a change: each changed internal partition's unsealed tail is rewritten in the bucket this often.",
    ),
    (
        "strata.remote.internal.roll.ms",
        "60000",
        "With a tier, how often the broker's internal logs (metadata, consumer offsets, schemas) roll so their latest state is uploaded.",
    ),
    (
        "super.users",
        "",
        "Principals allowed everything, separated by semicolons (User:admin;User:ops).",
    ),
    (
        "strata.http.authentication.methods",
        "",
        "How callers of the HTTP faces (Schema Registry, REST Proxy, admin) log in: a comma list of BASIC (SCRAM users' passwords), BEARER (JWTs checked with the sasl.oauthbearer.* settings), MTLS (the client certificate, mapped by ssl.principal.mapping.rules). Empty: no login, every caller is User:ANONYMOUS.",
    ),
    (
        "strata.http.ssl.client.auth",
        "none",
        "With HTTPS: none, requested or required client certificates (checked against strata.http.ssl.truststore.location).",
    ),
    (
        "strata.http.ssl.keystore.location",
        "",
        "A PEM file with the private key and certificate chain: when set, the three HTTP faces serve HTTPS only.",
    ),
    (
        "strata.http.ssl.truststore.location",
        "",
        "PEM CA certificates that HTTP client certificates are checked against.",
    ),
    (
        "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        "10000",
        "How often transactions older than their timeout are aborted.",
    ),
    (
        "transaction.max.timeout.ms",
        "900000",
        "Largest transaction timeout a producer may ask for (INVALID_TRANSACTION_TIMEOUT above it).",
    ),
    (
        "transaction.remove.expired.transaction.cleanup.interval.ms",
        "3600000",
        "How often transactional ids idle for transactional.id.expiration.ms are removed.",
    ),
    (
        "offsets.topic.replication.factor",
        "1",
        "Replicas of __consumer_offsets: 1 on a single node (the only value taken; Kafka's default, 3, needs three brokers).",
    ),
    (
        "transaction.state.log.min.isr",
        "1",
        "min.insync.replicas of __transaction_state: 1 on a single node (the only value taken).",
    ),
    (
        "transaction.state.log.replication.factor",
        "1",
        "Replicas of __transaction_state: 1 on a single node (the only value taken; Kafka's default, 3, needs three brokers).",
    ),
    (
        "transaction.state.log.num.partitions",
        "50",
        "Partitions of __transaction_state when it is created.",
    ),
    (
        "transactional.id.expiration.ms",
        "604800000",
        "How long a transactional id without transactions is kept.",
    ),
];

/// Properties a listener may set for itself as `listener.name.<name>.<property>`.
pub(crate) const PER_LISTENER: &[&str] = &[
    "sasl.enabled.mechanisms",
    "ssl.client.auth",
    "ssl.key.password",
    "ssl.keystore.location",
    "ssl.keystore.type",
    "ssl.principal.mapping.rules",
    "ssl.truststore.location",
    "ssl.truststore.type",
    "connections.max.reauth.ms",
];

/// `listener.name.<name>.<property>` for a per-listener property.
pub(crate) fn is_listener_property(name: &str) -> bool {
    name.strip_prefix("listener.name.")
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(_, property)| PER_LISTENER.contains(&property))
}
