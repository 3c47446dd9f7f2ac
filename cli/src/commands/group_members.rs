//! A group's state and members, by the protocol the group speaks: a
//! KIP-848 group (type `consumer`, as ListGroups v5 names it) through
//! ConsumerGroupDescribe, with its group and assignment epochs and each
//! member's epoch and target assignment; a classic group (or a broker
//! without ListGroups v5) through DescribeGroups, its assignments decoded
//! from the consumer protocol's bytes. Kafka's own tool asks the same way.

use bytes::Buf;
use kafka_protocol::messages::consumer_group_describe_response::Assignment;
use kafka_protocol::messages::consumer_protocol_assignment::ConsumerProtocolAssignment;
use kafka_protocol::messages::{
    ConsumerGroupDescribeRequest, DescribeGroupsRequest, GroupId, ListGroupsRequest,
};
use kafka_protocol::protocol::{Decodable, StrBytes};

use crate::client::Client;
use crate::error::{CliError, Result};

/// One member of a group and the partitions assigned to it.
pub(crate) struct Member {
    pub(crate) id: String,
    pub(crate) client_id: String,
    pub(crate) host: String,
    pub(crate) assigned: Vec<(String, i32)>,
    /// KIP-848 members: the member's epoch and what the group coordinator
    /// means it to own once it has caught up.
    pub(crate) epoch: Option<i32>,
    pub(crate) target: Option<Vec<(String, i32)>>,
}

/// The epochs and assignor of a KIP-848 group.
pub(crate) struct Epochs {
    pub(crate) group: i32,
    pub(crate) assignment: i32,
    pub(crate) assignor: String,
}

/// A group's state and members.
pub(crate) struct Described {
    pub(crate) state: String,
    /// `consumer` (KIP-848) or `classic`.
    pub(crate) kind: &'static str,
    pub(crate) epochs: Option<Epochs>,
    pub(crate) members: Vec<Member>,
}

fn group_id(g: &str) -> GroupId {
    GroupId(StrBytes::from_string(g.to_string()))
}

pub(crate) async fn describe_group(client: &mut Client, group: &str) -> Result<Described> {
    if group_type(client, group).await?.as_deref() == Some("consumer") {
        describe_consumer(client, group).await
    } else {
        describe_classic(client, group).await
    }
}

/// The group's type as its coordinator's ListGroups (v5+) names it; `None`
/// for an unknown group or an older broker.
async fn group_type(client: &mut Client, group: &str) -> Result<Option<String>> {
    let conn = client.coordinator(group).await?;
    if conn.version_of::<ListGroupsRequest>()? < 5 {
        return Ok(None);
    }
    let response = conn.call(|_| ListGroupsRequest::default()).await?;
    CliError::check(response.error_code, None, || {
        format!("list groups to find the type of {group}")
    })?;
    Ok(response
        .groups
        .into_iter()
        .find(|g| g.group_id.0.as_str() == group)
        .map(|g| g.group_type.to_string()))
}

fn partitions(a: &Assignment) -> Vec<(String, i32)> {
    a.topic_partitions
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|&p| (t.topic_name.0.to_string(), p))
        })
        .collect()
}

async fn describe_consumer(client: &mut Client, group: &str) -> Result<Described> {
    let response = client
        .coordinator(group)
        .await?
        .call(|_| ConsumerGroupDescribeRequest::default().with_group_ids(vec![group_id(group)]))
        .await?;
    let g = response
        .groups
        .into_iter()
        .next()
        .ok_or_else(|| CliError::protocol("ConsumerGroupDescribe answered no group"))?;
    CliError::check(g.error_code, g.error_message.as_deref(), || {
        format!("describe consumer group {group}")
    })?;
    let members = g
        .members
        .iter()
        .map(|m| Member {
            id: m.member_id.to_string(),
            client_id: m.client_id.to_string(),
            host: m.client_host.to_string(),
            assigned: partitions(&m.assignment),
            epoch: Some(m.member_epoch),
            target: Some(partitions(&m.target_assignment)),
        })
        .collect();
    Ok(Described {
        state: g.group_state.to_string(),
        kind: "consumer",
        epochs: Some(Epochs {
            group: g.group_epoch,
            assignment: g.assignment_epoch,
            assignor: g.assignor_name.to_string(),
        }),
        members,
    })
}

async fn describe_classic(client: &mut Client, group: &str) -> Result<Described> {
    let response = client
        .coordinator(group)
        .await?
        .call(|_| DescribeGroupsRequest::default().with_groups(vec![group_id(group)]))
        .await?;
    let g = response
        .groups
        .into_iter()
        .next()
        .ok_or_else(|| CliError::protocol("DescribeGroups answered no group"))?;
    CliError::check(g.error_code, g.error_message.as_deref(), || {
        format!("describe group {group}")
    })?;
    let consumer = g.protocol_type.as_str() == "consumer";
    let members = g
        .members
        .iter()
        .map(|m| {
            let assigned = if consumer {
                decode_assignment(m.member_assignment.clone())
            } else {
                Vec::new()
            };
            Member {
                id: m.member_id.to_string(),
                client_id: m.client_id.to_string(),
                host: m.client_host.to_string(),
                assigned,
                epoch: None,
                target: None,
            }
        })
        .collect();
    Ok(Described {
        state: g.group_state.to_string(),
        kind: "classic",
        epochs: None,
        members,
    })
}

/// The partitions of a consumer's assignment (`ConsumerProtocolAssignment`,
/// its version first); an undecodable one is shown as none.
fn decode_assignment(mut bytes: bytes::Bytes) -> Vec<(String, i32)> {
    if bytes.remaining() < 2 {
        return Vec::new();
    }
    let version = bytes.get_i16().clamp(0, 3);
    ConsumerProtocolAssignment::decode(&mut bytes, version)
        .map(|a| {
            a.assigned_partitions
                .iter()
                .flat_map(|t| t.partitions.iter().map(|&p| (t.topic.0.to_string(), p)))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use bytes::BufMut;
    use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition;
    use kafka_protocol::messages::TopicName;
    use kafka_protocol::protocol::Encodable;

    use super::*;

    #[test]
    fn assignments_decode() {
        let assignment = ConsumerProtocolAssignment::default().with_assigned_partitions(vec![
            TopicPartition::default()
                .with_topic(TopicName(StrBytes::from_static_str("orders")))
                .with_partitions(vec![0, 1]),
        ]);
        let mut buf = bytes::BytesMut::new();
        buf.put_i16(1);
        assignment.encode(&mut buf, 1).unwrap();
        assert_eq!(
            decode_assignment(buf.freeze()),
            vec![("orders".to_string(), 0), ("orders".to_string(), 1)]
        );
        assert!(decode_assignment(bytes::Bytes::new()).is_empty());
    }
}
