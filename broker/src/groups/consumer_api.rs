//! Consumer (KIP-848) groups as the handlers see them: the heartbeat
//! request and answer, Kafka's stateless request checks, and the
//! coordinator's entry points.

use std::time::Instant;

use kafka_protocol::error::ResponseError;

use super::assignors::{Assignment, Assignor};
use super::consumer::{
    compile_regex, ConsumerGroup, ConsumerGroupDescription, TopicsView, STATIC_LEAVE_EPOCH,
};
use super::{Group, GroupCoordinator};

/// A ConsumerGroupHeartbeat, with the request's optional fields as sent.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConsumerHeartbeat {
    pub(crate) member_id: String,
    pub(crate) member_epoch: i32,
    pub(crate) instance_id: Option<String>,
    pub(crate) rack_id: Option<String>,
    pub(crate) rebalance_timeout_ms: i32,
    pub(crate) subscribed_topic_names: Option<Vec<String>>,
    pub(crate) subscribed_topic_regex: Option<String>,
    pub(crate) server_assignor: Option<String>,
    pub(crate) owned: Option<Assignment>,
    pub(crate) client_id: String,
    pub(crate) client_host: String,
}

/// What a heartbeat answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConsumerHeartbeatResult {
    pub(crate) member_id: String,
    pub(crate) member_epoch: i32,
    pub(crate) heartbeat_interval_ms: i32,
    /// `None` when unchanged since the last answer.
    pub(crate) assignment: Option<Assignment>,
}

/// A heartbeat refused: the Kafka error and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeartbeatError {
    pub(crate) error: ResponseError,
    pub(crate) message: Option<String>,
}

pub(super) fn refuse(error: ResponseError, message: impl Into<String>) -> HeartbeatError {
    HeartbeatError {
        error,
        message: Some(message.into()),
    }
}

/// Kafka's request checks that need no group state.
pub(crate) fn validate_request(
    group_id: &str,
    request: &ConsumerHeartbeat,
    version: i16,
) -> Result<(), HeartbeatError> {
    let invalid = |m: &str| Err(refuse(ResponseError::InvalidRequest, m));
    if group_id.is_empty() {
        return invalid("GroupId can't be empty.");
    }
    if request.instance_id.as_deref() == Some("") {
        return invalid("InstanceId can't be empty.");
    }
    if request.rack_id.as_deref() == Some("") {
        return invalid("RackId can't be empty.");
    }
    if version >= 1 && request.member_id.is_empty() {
        return invalid("MemberId can't be empty.");
    }
    match request.member_epoch {
        0 => {
            if request.rebalance_timeout_ms == -1 {
                return invalid("RebalanceTimeoutMs must be provided in first request.");
            }
            if request.owned.as_ref().is_some_and(|o| !o.is_empty()) {
                return invalid("TopicPartitions must be empty when (re-)joining.");
            }
            if request.subscribed_topic_names.is_none() && request.subscribed_topic_regex.is_none()
            {
                return invalid(
                    "SubscribedTopicNames or SubscribedTopicRegex must be set in first request.",
                );
            }
        }
        STATIC_LEAVE_EPOCH if request.instance_id.is_none() => {
            return invalid("InstanceId can't be null.");
        }
        e if e < STATIC_LEAVE_EPOCH => return invalid("MemberEpoch is invalid."),
        _ => {}
    }
    if version < 1 && request.member_id.is_empty() && request.member_epoch != 0 {
        return invalid("MemberId can't be empty.");
    }
    if let Some(regex) = &request.subscribed_topic_regex {
        if let Err(e) = compile_regex(regex) {
            return Err(refuse(
                ResponseError::InvalidRegularExpression,
                format!("SubscribedTopicRegex `{regex}` is not a valid regular expression: {e}."),
            ));
        }
    }
    if let Some(name) = &request.server_assignor {
        if Assignor::from_name(name).is_none() {
            return Err(refuse(
                ResponseError::UnsupportedAssignor,
                format!(
                    "ServerAssignor {name} is not supported. Supported assignors: {}.",
                    Assignor::NAMES.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

impl GroupCoordinator {
    /// ConsumerGroupHeartbeat: validates, runs the state machine and
    /// appends the records it produced.
    pub(crate) fn consumer_heartbeat(
        &self,
        group_id: &str,
        request: ConsumerHeartbeat,
        topics: &TopicsView,
    ) -> Result<ConsumerHeartbeatResult, HeartbeatError> {
        let now = Instant::now();
        let mut groups = self.groups.lock();
        let joining = request.member_epoch == 0;
        let group = match groups.get_mut(group_id) {
            Some(group) => group,
            None if joining => {
                let group = self.new_group(group_id);
                groups.entry(group_id.to_string()).or_insert(group)
            }
            None => {
                return Err(refuse(
                    ResponseError::GroupIdNotFound,
                    format!("Consumer group {group_id} not found."),
                ))
            }
        };
        if group.consumer.is_none() {
            if !joining {
                return Err(refuse(
                    ResponseError::GroupIdNotFound,
                    format!("Consumer group {group_id} not found."),
                ));
            }
            if !group.classic.is_empty() {
                return Err(refuse(
                    ResponseError::GroupIdNotFound,
                    format!("Group {group_id} is not a consumer group."),
                ));
            }
            if group.classic.generation_id > 0 {
                // The empty classic group's record goes; its offsets stay.
                let key = super::records::RecordKey::Group {
                    group: group_id.to_string(),
                }
                .encode();
                if let Err(e) = self.append(group_id, &[(key, None)]) {
                    tracing::warn!(group = group_id, error = ?e, "classic group record not removed");
                }
            }
            group.consumer = Some(ConsumerGroup::new(group_id, self.consumer_settings));
        }
        let consumer = group.consumer.as_mut().expect("set above");
        let result = consumer.heartbeat(request, topics, now);
        self.flush_consumer(group);
        result
    }

    /// Appends what a consumer group's changes produced.
    pub(super) fn flush_consumer(&self, group: &mut Group) {
        let Some(consumer) = group.consumer.as_mut() else {
            return;
        };
        let records = consumer.take_records();
        if records.is_empty() {
            return;
        }
        if let Err(e) = self.append(&consumer.group_id, &records) {
            tracing::warn!(group = %consumer.group_id, error = ?e, "consumer group state not persisted");
        }
    }

    /// ConsumerGroupDescribe: `None` for unknown groups, `Err` for groups of
    /// the classic type.
    pub(crate) fn describe_consumer(
        &self,
        group_id: &str,
    ) -> Option<Result<ConsumerGroupDescription, ()>> {
        let groups = self.groups.lock();
        let group = groups.get(group_id)?;
        Some(
            group
                .consumer
                .as_ref()
                .map(ConsumerGroup::describe)
                .ok_or(()),
        )
    }

    /// OffsetFetch v9 member check for consumer groups.
    pub(crate) fn validate_consumer_fetch(
        &self,
        group_id: &str,
        member_id: Option<&str>,
        member_epoch: i32,
    ) -> Result<(), ResponseError> {
        let groups = self.groups.lock();
        match groups.get(group_id).and_then(|g| g.consumer.as_ref()) {
            Some(consumer) => consumer.validate_fetch(member_id, member_epoch),
            None => Ok(()),
        }
    }

    /// Whether `group_id` is a consumer (KIP-848) group.
    pub(crate) fn is_consumer_group(&self, group_id: &str) -> bool {
        self.groups
            .lock()
            .get(group_id)
            .is_some_and(|g| g.consumer.is_some())
    }
}
