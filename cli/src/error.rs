//! What can go wrong, and the exit code each kind gives a script: 1 for a
//! Kafka or HTTP error (the cluster or registry answered no, or could not
//! be reached), 2 for a usage error (the command itself is wrong).

use kafka_protocol::error::ResponseError;

/// An error of a `strata` subcommand.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The broker answered with a Kafka error code.
    #[error("{context}: {} (error code {code}){}", kafka_error_name(*.code), message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Kafka {
        context: String,
        code: i16,
        message: Option<String>,
    },
    /// The Schema Registry answered with an error.
    #[error("{context}: HTTP {status}{}: {message}", error_code.map(|c| format!(" (error code {c})")).unwrap_or_default())]
    Http {
        context: String,
        status: u16,
        error_code: Option<i64>,
        message: String,
    },
    /// A connection could not be made or broke.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// A TLS or SASL setup or exchange failed on our side.
    #[error("{0}")]
    Connect(String),
    /// The peer sent something we could not decode or did not expect.
    #[error("{0}")]
    Protocol(String),
    /// The cluster is not in a state that allows the operation.
    #[error("{0}")]
    State(String),
    /// The command line or its inputs are wrong.
    #[error("{0}")]
    Usage(String),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            _ => 1,
        }
    }

    pub(crate) fn usage(message: impl Into<String>) -> Self {
        CliError::Usage(message.into())
    }

    pub(crate) fn protocol(message: impl Into<String>) -> Self {
        CliError::Protocol(message.into())
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        CliError::Io {
            context: context.into(),
            source,
        }
    }

    /// `Err` for a non-zero Kafka error code.
    pub(crate) fn check(
        code: i16,
        message: Option<&str>,
        context: impl FnOnce() -> String,
    ) -> Result<(), CliError> {
        if code == 0 {
            return Ok(());
        }
        Err(CliError::Kafka {
            context: context(),
            code,
            message: message.filter(|m| !m.is_empty()).map(str::to_owned),
        })
    }
}

/// Kafka's name for an error code (`UNKNOWN_TOPIC_OR_PARTITION`), as its
/// `Errors` enum and the protocol guide spell it.
pub fn kafka_error_name(code: i16) -> String {
    match ResponseError::try_from_code(code) {
        None => "NONE".to_string(),
        Some(ResponseError::Unknown(code)) => format!("UNKNOWN_ERROR_CODE_{code}"),
        Some(known) => {
            let camel = known.to_string();
            let mut out = String::with_capacity(camel.len() + 8);
            for (i, c) in camel.chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 {
                    out.push('_');
                }
                out.push(c.to_ascii_uppercase());
            }
            out
        }
    }
}

pub(crate) type Result<T, E = CliError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_are_kafkas() {
        assert_eq!(kafka_error_name(3), "UNKNOWN_TOPIC_OR_PARTITION");
        assert_eq!(kafka_error_name(58), "SASL_AUTHENTICATION_FAILED");
        assert_eq!(kafka_error_name(36), "TOPIC_ALREADY_EXISTS");
        assert_eq!(kafka_error_name(-1), "UNKNOWN_SERVER_ERROR");
    }

    #[test]
    fn exit_codes() {
        assert_eq!(CliError::usage("x").exit_code(), 2);
        let kafka = CliError::check(3, Some(""), || "topic t".into()).unwrap_err();
        assert_eq!(kafka.exit_code(), 1);
        assert_eq!(
            kafka.to_string(),
            "topic t: UNKNOWN_TOPIC_OR_PARTITION (error code 3)"
        );
    }
}
