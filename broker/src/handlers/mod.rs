//! One module per Kafka API. The route table below is the single source of
//! truth: it both dispatches requests and produces the ApiVersions answer, so
//! nothing is advertised that is not served.
//!
//! A handler returns its typed response; per-partition and per-item failures
//! are error codes inside it. `Err` is reserved for a broken connection.

mod add_offsets_to_txn;
mod add_partitions_to_txn;
mod alter_client_quotas;
mod alter_configs;
mod alter_user_scram_credentials;
mod api_versions;
mod configs;
mod consumer_group_describe;
mod consumer_group_heartbeat;
mod create_acls;
mod create_partitions;
mod create_topics;
mod delete_acls;
mod delete_groups;
mod delete_records;
mod delete_topics;
mod describe_acls;
mod describe_client_quotas;
mod describe_cluster;
mod describe_configs;
mod describe_groups;
mod describe_producers;
mod describe_topic_partitions;
mod describe_transactions;
mod describe_user_scram_credentials;
mod end_txn;
mod fetch;
mod find_coordinator;
mod group_configs;
mod heartbeat;
mod incremental_alter_configs;
mod init_producer_id;
mod join_group;
mod leave_group;
mod list_groups;
mod list_offsets;
mod list_partition_reassignments;
mod list_transactions;
mod metadata;
mod offset_commit;
mod offset_delete;
mod offset_fetch;
mod offset_for_leader_epoch;
mod produce;
mod sasl_authenticate;
mod sasl_handshake;
mod sync_group;
mod txn_offset_commit;

use std::sync::Arc;

use kafka_protocol::messages::{ApiKey, RequestKind, ResponseKind};
use kafka_protocol::protocol::StrBytes;
use strata_governance::acl::supported_operations;
use strata_governance::audit::{AuditEvent, Face};
use strata_governance::{Identity, Operation, Resource, ResourceType};

use crate::broker::Broker;

pub(crate) use api_versions::unsupported_version_response;

/// What a handler knows about the request it serves.
pub(crate) struct RequestContext {
    pub(crate) broker: Arc<Broker>,
    /// The API's name (`Produce`), for audit records.
    pub(crate) api: &'static str,
    /// Where the request came from: a Kafka client, or the REST Proxy
    /// acting for its HTTP caller (audit records say which).
    pub(crate) face: Face,
    pub(crate) version: i16,
    /// The authenticated principal and its address, as the authorizer sees them.
    pub(crate) identity: Arc<Identity>,
    /// The client's `client.id`, as group members report it.
    pub(crate) client_id: String,
    /// The client's address as Kafka writes it (`/127.0.0.1`).
    pub(crate) client_host: String,
    /// The listener the request came in on: Metadata and FindCoordinator
    /// answer with its advertised endpoint.
    pub(crate) listener: Arc<str>,
    /// Set for requests that append or truncate: their place in the
    /// connection's order of log changes.
    pub(crate) append_turn: parking_lot::Mutex<Option<AppendTurn>>,
}

/// A request's turn to change logs, in the order its connection sent it.
///
/// Handlers of pipelined requests run concurrently, but Kafka applies a
/// connection's requests in order: two produce requests for one partition
/// must append in the order they were sent, or offsets would not follow the
/// producer's order. Offset commits take turns too: librdkafka pipelines
/// async commits, and commit 49 landing after commit 50 would leave the
/// group at 49 though both were acknowledged (librdkafka's test 0030).
/// Each turn waits for the previous one to be released;
/// dropping the turn releases it (also if the handler fails or panics).
pub(crate) struct AppendTurn {
    previous: Option<tokio::sync::oneshot::Receiver<()>>,
    _release: tokio::sync::oneshot::Sender<()>,
}

impl AppendTurn {
    /// A turn after `previous`, and the receiver the next turn waits on.
    pub(crate) fn after(
        previous: Option<tokio::sync::oneshot::Receiver<()>>,
    ) -> (Self, tokio::sync::oneshot::Receiver<()>) {
        let (release, next) = tokio::sync::oneshot::channel();
        (
            AppendTurn {
                previous,
                _release: release,
            },
            next,
        )
    }

    /// Waits until every earlier turn of the connection is released.
    pub(crate) async fn wait(&mut self) {
        if let Some(previous) = self.previous.take() {
            // An error means the earlier handler ended without releasing: also done.
            let _ = previous.await;
        }
    }
}

impl RequestContext {
    /// Asks the authorizer whether this request's principal may act; a
    /// refusal is recorded in the audit log (Kafka's `logIfDenied = true`).
    pub(crate) fn may(&self, operation: Operation, resource: Resource<'_>) -> bool {
        let granted = self.may_quietly(operation, resource.clone());
        if !granted {
            self.audit_denied(operation, &resource);
        }
        granted
    }

    /// [`Self::may`] without an audit record of a refusal: Kafka's
    /// `logIfDenied = false`, for checks that only filter what an answer
    /// shows (Metadata's topic list, ListGroups) or that a second check
    /// may still allow (Create on the cluster before Create on the topic).
    pub(crate) fn may_quietly(&self, operation: Operation, resource: Resource<'_>) -> bool {
        self.broker
            .authorizer
            .authorize(&self.identity, operation, &resource)
    }

    /// Records that the principal was refused `operation` on `resource`.
    pub(crate) fn audit_denied(&self, operation: Operation, resource: &Resource<'_>) {
        self.broker.audit.record(
            AuditEvent::denied(self.face, self.api, &self.identity, operation, resource)
                .with_request("client_id", self.client_id.as_str()),
        );
    }

    /// An audit record of a change this request made to `resource`, under
    /// `operation`; add details with `with_request` and [`Self::record`] it.
    pub(crate) fn changed(&self, operation: Operation, resource: Resource<'_>) -> AuditEvent {
        AuditEvent::changed(self.face, self.api, &self.identity, operation, &resource)
            .with_request("client_id", self.client_id.as_str())
    }

    /// Hands an audit event to the broker's audit log.
    pub(crate) fn record(&self, event: AuditEvent) {
        self.broker.audit.record(event);
    }

    /// Takes this request's append turn and waits for it; `None` when the
    /// request was not given one (direct calls in tests).
    pub(crate) async fn append_turn(&self) -> Option<AppendTurn> {
        let mut turn = self.append_turn.lock().take()?;
        turn.wait().await;
        Some(turn)
    }

    /// Kafka's `authorizeByResourceType`: may the principal perform
    /// `operation` on some resource of `resource_type`? Not audited: the
    /// caller records the refusal it answers.
    pub(crate) fn may_any(&self, operation: Operation, resource_type: ResourceType) -> bool {
        self.broker
            .authorizer
            .authorize_any(&self.identity, operation, resource_type)
    }

    /// The `authorized_operations` bit field Kafka fills for `resource`:
    /// every operation its type supports that the principal may perform.
    pub(crate) fn authorized_operations(&self, resource: Resource<'_>) -> i32 {
        strata_governance::authorized_operations(
            &*self.broker.authorizer,
            &self.identity,
            &resource,
            supported_operations(resource.resource_type()),
        )
    }

    /// The advertised host and port of the listener this request came in on.
    pub(crate) fn advertised(&self) -> (&str, u16) {
        self.broker.advertised(&self.listener)
    }

    /// May the principal perform `operation` on topic `name`?
    pub(crate) fn may_topic(&self, operation: Operation, name: &str) -> bool {
        self.may(operation, Resource::Topic(name))
    }

    /// [`Self::may_topic`] without an audit record (see [`Self::may_quietly`]).
    pub(crate) fn may_topic_quietly(&self, operation: Operation, name: &str) -> bool {
        self.may_quietly(operation, Resource::Topic(name))
    }
}

/// An API this broker serves and the versions of it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Route {
    pub(crate) api_key: ApiKey,
    /// The API's name, for metric labels and logs.
    pub(crate) name: &'static str,
    pub(crate) min_version: i16,
    pub(crate) max_version: i16,
}

/// A request the router has no handler for: a bug, since decoding checks
/// the route table first.
#[derive(Debug, thiserror::Error)]
#[error("no handler is registered for this api key")]
pub(crate) struct NotRouted;

macro_rules! routes {
    ($( $variant:ident => $module:ident, $min:literal ..= $max:literal; )*) => {
        /// Every API served, with its versions (Kafka 4.1's ranges).
        pub(crate) const ROUTES: &[Route] = &[
            $( Route { api_key: ApiKey::$variant, name: stringify!($variant), min_version: $min, max_version: $max }, )*
        ];

        /// The name of `body`'s API, as in [`ROUTES`].
        pub(crate) fn api_of(body: &RequestKind) -> &'static str {
            match body {
                $( RequestKind::$variant(_) => stringify!($variant), )*
                _ => "unknown",
            }
        }

        /// Runs the handler for `body`.
        pub(crate) async fn dispatch(ctx: &RequestContext, body: RequestKind) -> Result<ResponseKind, NotRouted> {
            match body {
                $( RequestKind::$variant(request) => Ok(ResponseKind::$variant($module::handle(ctx, request).await)), )*
                _ => Err(NotRouted),
            }
        }
    };
}

routes! {
    Produce => produce, 3..=12;
    Fetch => fetch, 4..=17;
    ListOffsets => list_offsets, 1..=10;
    OffsetCommit => offset_commit, 2..=9;
    OffsetFetch => offset_fetch, 1..=9;
    FindCoordinator => find_coordinator, 0..=6;
    JoinGroup => join_group, 0..=9;
    Heartbeat => heartbeat, 0..=4;
    LeaveGroup => leave_group, 0..=5;
    SyncGroup => sync_group, 0..=5;
    DescribeGroups => describe_groups, 0..=6;
    ListGroups => list_groups, 0..=5;
    Metadata => metadata, 0..=13;
    ApiVersions => api_versions, 0..=4;
    CreateTopics => create_topics, 2..=7;
    DeleteTopics => delete_topics, 1..=6;
    DeleteRecords => delete_records, 0..=2;
    InitProducerId => init_producer_id, 0..=5;
    AddPartitionsToTxn => add_partitions_to_txn, 0..=5;
    AddOffsetsToTxn => add_offsets_to_txn, 0..=4;
    EndTxn => end_txn, 0..=5;
    OffsetForLeaderEpoch => offset_for_leader_epoch, 2..=4;
    DescribeConfigs => describe_configs, 1..=4;
    AlterConfigs => alter_configs, 0..=2;
    CreatePartitions => create_partitions, 0..=3;
    IncrementalAlterConfigs => incremental_alter_configs, 0..=1;
    ListPartitionReassignments => list_partition_reassignments, 0..=0;
    OffsetDelete => offset_delete, 0..=0;
    DeleteGroups => delete_groups, 0..=2;
    DescribeCluster => describe_cluster, 0..=2;
    DescribeTopicPartitions => describe_topic_partitions, 0..=0;
    DescribeProducers => describe_producers, 0..=0;
    DescribeTransactions => describe_transactions, 0..=0;
    ListTransactions => list_transactions, 0..=1;
    ConsumerGroupHeartbeat => consumer_group_heartbeat, 0..=1;
    ConsumerGroupDescribe => consumer_group_describe, 0..=1;
    TxnOffsetCommit => txn_offset_commit, 0..=5;
    DescribeAcls => describe_acls, 1..=3;
    CreateAcls => create_acls, 1..=3;
    DeleteAcls => delete_acls, 1..=3;
    DescribeClientQuotas => describe_client_quotas, 0..=1;
    AlterClientQuotas => alter_client_quotas, 0..=1;
    DescribeUserScramCredentials => describe_user_scram_credentials, 0..=0;
    AlterUserScramCredentials => alter_user_scram_credentials, 0..=0;
    SaslHandshake => sasl_handshake, 0..=1;
    SaslAuthenticate => sasl_authenticate, 0..=2;
}

/// Whether `version` of `api_key` is served.
pub(crate) fn is_served(api_key: ApiKey, version: i16) -> bool {
    ROUTES
        .iter()
        .any(|r| r.api_key == api_key && (r.min_version..=r.max_version).contains(&version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_stay_within_what_kafka_protocol_can_encode() {
        for route in ROUTES {
            let valid = route.api_key.valid_versions();
            assert!(
                valid.min <= route.min_version && route.max_version <= valid.max,
                "{:?} {}..={} outside {:?}",
                route.api_key,
                route.min_version,
                route.max_version,
                valid
            );
        }
    }
}

/// Builds a protocol topic name.
pub(crate) fn topic_name(name: &str) -> kafka_protocol::messages::TopicName {
    kafka_protocol::messages::TopicName(StrBytes::from_string(name.to_string()))
}

/// Builds a protocol string.
pub(crate) fn text(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

/// The Kafka error code for a storage failure.
pub(crate) fn storage_error_code(
    e: &strata_storage::StorageError,
) -> kafka_protocol::error::ResponseError {
    use kafka_protocol::error::ResponseError as E;
    use strata_storage::StorageError as S;
    use strata_wire::batch::BatchError;
    match e {
        S::OffsetOutOfRange { .. } => E::OffsetOutOfRange,
        S::InvalidBatch(BatchError::UnsupportedMagic(_)) => E::InvalidRecord,
        S::InvalidBatch(_) => E::CorruptMessage,
        S::BatchTooLarge { .. } => E::RecordListTooLarge,
        S::OutOfOrderSequence { .. } => E::OutOfOrderSequenceNumber,
        S::InvalidProducerEpoch { .. } => E::InvalidProducerEpoch,
        S::CoordinatorFenced { .. } => E::TransactionCoordinatorFenced,
        S::InvalidTxnState(_) => E::InvalidTxnState,
        S::DuplicateSequence => E::DuplicateSequenceNumber,
        other => {
            tracing::error!(error = %other, "storage failure");
            E::KafkaStorageError
        }
    }
}

/// The authorized-operations bit fields.
pub(crate) mod acl_operations {
    /// Sent when the client did not ask for authorized operations.
    pub(crate) const NOT_REQUESTED: i32 = i32::MIN;
}
