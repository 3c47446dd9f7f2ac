//! ListOffsets for one partition, as the v2 offsets endpoint and the v3
//! read ask it; each caller maps the partition's error code its own way.

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::list_offsets_response::ListOffsetsPartitionResponse;
use kafka_protocol::messages::{BrokerId, ListOffsetsRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::backend::Caller;
use crate::error::RestError;
use crate::RestProxy;

/// The answer for `partition` of `topic` at `timestamp` (-2 earliest, -1
/// latest, read_uncommitted); `None` when the answer does not name it.
pub(crate) async fn list_one(
    proxy: &RestProxy,
    caller: &Caller,
    topic: &str,
    partition: i32,
    timestamp: i64,
) -> Result<Option<ListOffsetsPartitionResponse>, RestError> {
    let request = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_owned())))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(partition)
                .with_current_leader_epoch(-1)
                .with_timestamp(timestamp)])]);
    let response = proxy.send(caller, request).await?;
    Ok(response
        .topics
        .into_iter()
        .flat_map(|t| t.partitions)
        .find(|p| p.partition_index == partition))
}
