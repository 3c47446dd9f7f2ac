//! ConsumerGroupHeartbeat as the handlers and the state machine see it:
//! the request and answer, the epochs with a meaning, and Kafka's request
//! checks that need no group state.

use kafka_protocol::error::ResponseError;

use super::assignors::{Assignment, Assignor};
use super::regex_cache;

/// Epoch a heartbeat sends to leave the group.
pub(crate) const LEAVE_EPOCH: i32 = -1;
/// Epoch a static member sends to leave for now (it keeps its assignment).
pub(crate) const STATIC_LEAVE_EPOCH: i32 = -2;

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
        if let Err(e) = regex_cache::compiled(regex) {
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
