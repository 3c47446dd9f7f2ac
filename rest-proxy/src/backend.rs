//! The seam between the REST Proxy and the Kafka cluster it fronts.
//!
//! The proxy speaks Kafka requests, typed as `kafka-protocol` messages, to a
//! [`KafkaBackend`]. In the `strata` binary the backend runs them through
//! the broker's own handlers in process (no socket, no encoding), so every
//! REST action has exactly the semantics, checks and authorization of the
//! Kafka request it stands for, under the HTTP caller's principal. The same
//! trait could be implemented over a TCP Kafka client, which is how the
//! proxy would front brokers in other processes.

use std::future::Future;
use std::pin::Pin;

use kafka_protocol::messages::*;
use strata_governance::Principal;

use crate::error::RestError;

/// A boxed, sendable future (object-safe async in traits).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Who is asking, as the broker records and authorizes it.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    /// Reported as the `client.id` of group members and in broker logs.
    pub client_id: String,
    /// The HTTP client's address, as Kafka writes hosts (`/127.0.0.1`).
    pub client_host: String,
}

impl Caller {
    /// An unauthenticated caller from `client_host`.
    pub fn anonymous(client_host: impl Into<String>) -> Self {
        Caller {
            principal: Principal::anonymous(),
            client_id: "strata-rest-proxy".into(),
            client_host: client_host.into(),
        }
    }
}

/// The request could not be answered at all (the backend is shutting down,
/// or does not serve the API): per-item failures are error codes inside a
/// response instead.
#[derive(Debug, thiserror::Error)]
#[error("the Kafka backend could not serve {api}: {reason}")]
pub struct BackendError {
    pub api: &'static str,
    pub reason: String,
}

/// Serves Kafka requests at the version given.
pub trait KafkaBackend: Send + Sync + 'static {
    fn call<'a>(
        &'a self,
        caller: &'a Caller,
        version: i16,
        request: RequestKind,
    ) -> BoxFuture<'a, Result<ResponseKind, BackendError>>;
}

/// A Kafka request the proxy sends, with the version it sends it at and the
/// response it expects. The versions are recent ones that name topics (not
/// ids) and that the broker serves.
pub trait KafkaRequest: Into<RequestKind> + Send {
    type Response;
    const NAME: &'static str;
    const VERSION: i16;
    fn response(kind: ResponseKind) -> Option<Self::Response>;
}

macro_rules! kafka_requests {
    ($( $variant:ident: $request:ty => $response:ty, version $version:literal; )*) => {
        $(
            impl KafkaRequest for $request {
                type Response = $response;
                const NAME: &'static str = stringify!($variant);
                const VERSION: i16 = $version;
                fn response(kind: ResponseKind) -> Option<$response> {
                    match kind {
                        ResponseKind::$variant(r) => Some(r),
                        _ => None,
                    }
                }
            }
        )*
    };
}

kafka_requests! {
    Produce: ProduceRequest => ProduceResponse, version 9;
    Fetch: FetchRequest => FetchResponse, version 12;
    ListOffsets: ListOffsetsRequest => ListOffsetsResponse, version 7;
    Metadata: MetadataRequest => MetadataResponse, version 12;
    OffsetCommit: OffsetCommitRequest => OffsetCommitResponse, version 8;
    OffsetFetch: OffsetFetchRequest => OffsetFetchResponse, version 8;
    FindCoordinator: FindCoordinatorRequest => FindCoordinatorResponse, version 4;
    JoinGroup: JoinGroupRequest => JoinGroupResponse, version 9;
    SyncGroup: SyncGroupRequest => SyncGroupResponse, version 5;
    Heartbeat: HeartbeatRequest => HeartbeatResponse, version 4;
    LeaveGroup: LeaveGroupRequest => LeaveGroupResponse, version 5;
    DescribeGroups: DescribeGroupsRequest => DescribeGroupsResponse, version 5;
    ListGroups: ListGroupsRequest => ListGroupsResponse, version 5;
    DeleteGroups: DeleteGroupsRequest => DeleteGroupsResponse, version 2;
    CreateTopics: CreateTopicsRequest => CreateTopicsResponse, version 7;
    DeleteTopics: DeleteTopicsRequest => DeleteTopicsResponse, version 6;
    CreatePartitions: CreatePartitionsRequest => CreatePartitionsResponse, version 3;
    DescribeConfigs: DescribeConfigsRequest => DescribeConfigsResponse, version 4;
    IncrementalAlterConfigs: IncrementalAlterConfigsRequest => IncrementalAlterConfigsResponse, version 1;
    ListPartitionReassignments: ListPartitionReassignmentsRequest => ListPartitionReassignmentsResponse, version 0;
    DescribeCluster: DescribeClusterRequest => DescribeClusterResponse, version 1;
    ConsumerGroupDescribe: ConsumerGroupDescribeRequest => ConsumerGroupDescribeResponse, version 1;
    DescribeAcls: DescribeAclsRequest => DescribeAclsResponse, version 3;
    CreateAcls: CreateAclsRequest => CreateAclsResponse, version 3;
    DeleteAcls: DeleteAclsRequest => DeleteAclsResponse, version 3;
}

/// Sends `request` through `backend` and unwraps its typed response; a
/// backend failure is a 500 with Confluent's Kafka error code.
pub async fn send<R: KafkaRequest>(
    backend: &dyn KafkaBackend,
    caller: &Caller,
    request: R,
) -> Result<R::Response, RestError> {
    let kind = backend
        .call(caller, R::VERSION, request.into())
        .await
        .map_err(|e| RestError::kafka(e.to_string()))?;
    R::response(kind)
        .ok_or_else(|| RestError::kafka(format!("{} answered with another API", R::NAME)))
}
