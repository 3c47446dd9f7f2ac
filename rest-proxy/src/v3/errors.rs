//! The v3 face's error answers. Confluent's v3 resources report through
//! JAX-RS and rest-utils' mappers rather than v2's `Errors` table: a missing
//! resource is `{"error_code": 404, ...}`, a Kafka error is mapped as
//! rest-utils' `KafkaExceptionMapper` maps the exception the Java Admin
//! client throws (unknown topic or partition 404/40403, bad requests
//! 400/40002, ...), an unparsable body is 400/400 and an empty one 422 with
//! kafka-rest's "Payload error." text.

use kafka_protocol::error::ResponseError;

use crate::error::RestError;

/// JAX-RS `NotFoundException()` as rest-utils writes it.
pub(crate) fn not_found() -> RestError {
    RestError::new(404, "HTTP 404 Not Found")
}

/// A 404 with a message, as kafka-rest's `checkEntityExists` raises it.
pub(crate) fn not_found_msg(message: impl Into<String>) -> RestError {
    RestError::new(404, message)
}

/// `Cluster {id} cannot be found.`
pub(crate) fn cluster_not_found(cluster_id: &str) -> RestError {
    not_found_msg(format!("Cluster {cluster_id} cannot be found."))
}

/// What rest-utils answers for Kafka's `UnknownTopicOrPartitionException`.
pub(crate) fn unknown_topic_or_partition() -> RestError {
    RestError::new(
        40403,
        default_message(ResponseError::UnknownTopicOrPartition),
    )
}

/// Kafka's default message for an error (its `Errors` description), for
/// answers that carry no message of their own; `kafka-protocol` prints only
/// the variant name, which is what is left for the rarer codes.
fn default_message(error: ResponseError) -> String {
    use ResponseError as E;
    let text = match error {
        E::UnknownServerError => "The server experienced an unexpected error when processing the request.",
        E::UnknownTopicOrPartition => "This server does not host this topic-partition.",
        E::LeaderNotAvailable => "There is no leader for this topic-partition as we are in the middle of a leadership election.",
        E::RequestTimedOut => "The request timed out.",
        E::BrokerNotAvailable => "The broker is not available.",
        E::CoordinatorLoadInProgress => "The coordinator is loading and hence can't process requests.",
        E::CoordinatorNotAvailable => "The coordinator is not available.",
        E::NotCoordinator => "This is not the correct coordinator.",
        E::TopicAuthorizationFailed => "Topic authorization failed.",
        E::GroupAuthorizationFailed => "Group authorization failed.",
        E::ClusterAuthorizationFailed => "Cluster authorization failed.",
        E::UnsupportedVersion => "The version of API is not supported.",
        E::TopicAlreadyExists => "Topic with this name already exists.",
        E::InvalidPartitions => "Number of partitions is below 1.",
        E::InvalidReplicationFactor => "Replication factor is below 1 or larger than the number of available brokers.",
        E::InvalidRequest => "This most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker. See the broker logs for more details.",
        E::PolicyViolation => "Request parameters do not satisfy the configured policy.",
        E::InvalidConfig => "Configuration is invalid.",
        E::SecurityDisabled => "Security features are disabled.",
        E::GroupIdNotFound => "The group id does not exist.",
        other => return other.to_string(),
    };
    text.to_owned()
}

/// kafka-rest's `Errors.invalidPayloadException`, as its v3
/// `RestConstraintViolationExceptionMapper` writes it.
pub(crate) fn invalid_payload(cause: &str) -> RestError {
    RestError::new(422, format!("Error: 42206 : Payload error. {cause}"))
}

/// A 400 for a body that is not the JSON expected.
pub(crate) fn bad_body(message: impl Into<String>) -> RestError {
    RestError::new(400, message)
}

/// The answer for a Kafka error code in a response, as rest-utils'
/// `KafkaExceptionMapper` maps the exception the Admin client would throw;
/// `message` is the response's error message when it has one.
pub(crate) fn kafka(code: i16, message: Option<&str>) -> Option<RestError> {
    use ResponseError as E;
    let error = ResponseError::try_from_code(code)?;
    let detail = message
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| default_message(error));
    Some(match error {
        E::SaslAuthenticationFailed => RestError::new(40101, detail),
        E::TopicAuthorizationFailed
        | E::GroupAuthorizationFailed
        | E::ClusterAuthorizationFailed
        | E::TransactionalIdAuthorizationFailed
        | E::DelegationTokenAuthorizationFailed => RestError::new(40301, detail),
        E::UnknownTopicOrPartition => unknown_topic_or_partition(),
        E::BrokerNotAvailable => RestError::new(50302, detail),
        E::InvalidReplicationFactor
        | E::SecurityDisabled
        | E::UnsupportedVersion
        | E::InvalidPartitions
        | E::InvalidRequest
        | E::UnknownServerError
        | E::PolicyViolation
        | E::TopicAlreadyExists
        | E::InvalidConfig => RestError::new(40002, detail),
        e if e.is_retriable() => RestError::new(50003, detail),
        _ => RestError::new(50002, detail),
    })
}

/// `Err` for a non-zero Kafka error code.
pub(crate) fn check(code: i16, message: Option<&str>) -> Result<(), RestError> {
    match kafka(code, message) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_as_rest_utils() {
        let e = kafka(3, None).unwrap();
        assert_eq!((e.status.as_u16(), e.error_code), (404, 40403));
        assert_eq!(e.message, "This server does not host this topic-partition.");
        let e = kafka(36, Some("Topic 't' already exists.")).unwrap();
        assert_eq!((e.status.as_u16(), e.error_code), (400, 40002));
        assert_eq!(e.message, "Topic 't' already exists.");
        let e = kafka(54, None).unwrap();
        assert_eq!((e.status.as_u16(), e.error_code), (400, 40002));
        assert!(kafka(0, None).is_none());
        assert_eq!(invalid_payload("x").status.as_u16(), 422);
    }
}
