//! Confluent's error bodies: `{"error_code": 40401, "message": "Topic not
//! found."}`, with the HTTP status the first three digits name (Confluent's
//! codes are the status followed by two digits; plain statuses such as 404
//! or 415 stand alone). Codes and messages follow kafka-rest's `Errors` and
//! rest-utils' `KafkaExceptionMapper`, so scripts matching on them work.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kafka_protocol::error::ResponseError;
use serde_json::json;

/// An HTTP error answer in Confluent's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestError {
    pub status: StatusCode,
    pub error_code: u32,
    pub message: String,
}

impl RestError {
    /// An error whose code is `error_code` and whose status is the code's
    /// first three digits (or the code itself when it has three).
    pub fn new(error_code: u32, message: impl Into<String>) -> Self {
        let status_code = if error_code >= 10_000 {
            error_code / 100
        } else {
            error_code
        };
        RestError {
            status: StatusCode::from_u16(status_code as u16)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            error_code,
            message: message.into(),
        }
    }

    // 400
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }
    /// 40001: a consumer config value outside its constraints.
    pub fn invalid_consumer_config_constraint(message: impl std::fmt::Display) -> Self {
        Self::new(
            40001,
            format!(
                "Invalid consumer configuration. It does not abide by the constraints: {message}"
            ),
        )
    }

    // 401 / 403
    pub fn authentication(message: impl Into<String>) -> Self {
        Self::new(40101, message)
    }
    pub fn authorization(message: impl Into<String>) -> Self {
        Self::new(40301, message)
    }

    // 404
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, message)
    }
    pub fn topic_not_found() -> Self {
        Self::new(40401, "Topic not found.")
    }
    pub fn partition_not_found() -> Self {
        Self::new(40402, "Partition not found.")
    }
    pub fn consumer_instance_not_found() -> Self {
        Self::new(40403, "Consumer instance not found.")
    }
    pub fn leader_not_available() -> Self {
        Self::new(40404, "Leader not available.")
    }
    pub fn consumer_group_not_found() -> Self {
        Self::new(40405, "Consumer group id not found.")
    }

    // 405 / 406 / 415
    pub fn method_not_allowed() -> Self {
        Self::new(405, "HTTP 405 Method Not Allowed")
    }
    pub fn not_acceptable() -> Self {
        Self::new(406, "HTTP 406 Not Acceptable")
    }
    pub fn consumer_format_mismatch() -> Self {
        Self::new(
            40601,
            "The requested embedded data format does not match the deserializer for this consumer instance",
        )
    }
    pub fn unsupported_media_type() -> Self {
        Self::new(415, "HTTP 415 Unsupported Media Type")
    }

    // 409
    pub fn consumer_already_exists() -> Self {
        Self::new(
            40902,
            "Consumer with specified consumer ID already exists in the specified consumer group.",
        )
    }
    pub fn illegal_state(message: impl std::fmt::Display) -> Self {
        Self::new(40903, format!("Illegal state: {message}"))
    }
    /// Mixing subscribe and assign, or topics and a pattern: the
    /// `IllegalStateException` Kafka's consumer throws, which Confluent's
    /// v2 resource answers 40903.
    pub fn subscriptions_mutually_exclusive() -> Self {
        Self::illegal_state("Subscription to topics, partitions and pattern are mutually exclusive")
    }
    /// 40002 (v3): a resource that already exists, e.g. a topic.
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(40002, message)
    }

    // 422
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(422, message)
    }
    pub fn key_schema_missing() -> Self {
        Self::new(
            42201,
            "Request includes keys but does not include key schema",
        )
    }
    pub fn value_schema_missing() -> Self {
        Self::new(
            42202,
            "Request includes values but does not include value schema",
        )
    }
    pub fn json_conversion(message: impl std::fmt::Display) -> Self {
        Self::new(
            42203,
            format!("Conversion of JSON to Object failed: {message}"),
        )
    }
    pub fn invalid_consumer_config(message: impl std::fmt::Display) -> Self {
        Self::new(42204, format!("Invalid consumer configuration: {message}"))
    }
    pub fn invalid_schema(message: impl std::fmt::Display) -> Self {
        Self::new(42205, format!("Invalid schema: {message}"))
    }
    pub fn invalid_payload(message: impl std::fmt::Display) -> Self {
        Self::new(42206, format!("Payload error. {message}"))
    }
    pub fn serialization(message: impl std::fmt::Display) -> Self {
        Self::new(42207, format!("Error serializing message. {message}"))
    }
    pub fn produce_batch(message: impl Into<String>) -> Self {
        Self::new(42208, message)
    }

    // 429
    pub fn too_many_requests() -> Self {
        Self::new(42901, "Request rate limit exceeded: too many requests.")
    }

    // 500 / 501 / 503
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, message)
    }
    /// 50002: a Kafka error that is not otherwise classified.
    pub fn kafka(message: impl std::fmt::Display) -> Self {
        Self::new(50002, format!("Kafka error: {message}"))
    }
    /// 50003: a Kafka error worth retrying.
    pub fn kafka_retriable(message: impl std::fmt::Display) -> Self {
        Self::new(50003, format!("Retriable Kafka exception: {message}"))
    }
    pub fn no_ssl_support() -> Self {
        Self::new(
            50101,
            "Only SSL endpoints were found for the specified broker, but SSL is not supported for the invoked API yet.",
        )
    }

    /// The answer for a Kafka error code in a response, as rest-utils'
    /// `KafkaExceptionMapper` maps the exception a Java client would throw.
    pub fn from_kafka(error: ResponseError, message: Option<&str>) -> Self {
        use ResponseError as E;
        let detail = message
            .map(str::to_owned)
            .unwrap_or_else(|| error.to_string());
        match error {
            E::UnknownTopicOrPartition | E::UnknownTopicId => Self::topic_not_found(),
            E::LeaderNotAvailable | E::NotLeaderOrFollower => Self::leader_not_available(),
            E::TopicAlreadyExists => Self::new(40002, detail),
            E::GroupIdNotFound => Self::consumer_group_not_found(),
            E::TopicAuthorizationFailed
            | E::GroupAuthorizationFailed
            | E::ClusterAuthorizationFailed
            | E::TransactionalIdAuthorizationFailed => Self::authorization(detail),
            E::SaslAuthenticationFailed => Self::authentication(detail),
            E::InvalidTopicException
            | E::InvalidPartitions
            | E::InvalidReplicationFactor
            | E::InvalidConfig
            | E::InvalidRequest
            | E::PolicyViolation
            | E::InvalidRecord
            | E::RecordListTooLarge
            | E::MessageTooLarge
            | E::UnsupportedVersion => Self::new(40002, detail),
            e if e.is_retriable() => Self::kafka_retriable(detail),
            _ => Self::kafka(detail),
        }
    }

    /// The Confluent JSON body.
    pub fn body(&self) -> serde_json::Value {
        json!({"error_code": self.error_code, "message": self.message})
    }
}

impl std::fmt::Display for RestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.error_code, self.message)
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_the_code_prefix() {
        assert_eq!(RestError::topic_not_found().status, StatusCode::NOT_FOUND);
        assert_eq!(RestError::key_schema_missing().status.as_u16(), 422);
        assert_eq!(RestError::kafka("x").status.as_u16(), 500);
        assert_eq!(RestError::no_ssl_support().status.as_u16(), 501);
        assert_eq!(RestError::unsupported_media_type().status.as_u16(), 415);
        assert_eq!(
            RestError::topic_not_found().body(),
            json!({"error_code": 40401, "message": "Topic not found."})
        );
    }
}
