//! Connection options from flags, environment and a Kafka client
//! properties file (`--command-config`), flags winning.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::sasl::{Login, SaslMechanism};
use crate::args::KafkaArgs;
use crate::error::{CliError, Result};

/// How to reach and log in to the brokers.
#[derive(Clone)]
pub(crate) struct ConnectOptions {
    pub(crate) bootstrap: Vec<String>,
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
    pub(crate) sasl: Option<Login>,
    pub(crate) timeout: Duration,
}

/// The properties of a client properties file this CLI understands; any
/// other key is refused rather than ignored.
const KNOWN_PROPERTIES: &[&str] = &[
    "security.protocol",
    "sasl.mechanism",
    "sasl.username",
    "sasl.password",
    "sasl.jaas.config",
    "ssl.ca.location",
    "ssl.truststore.location",
    "ssl.truststore.type",
    "ssl.endpoint.identification.algorithm",
];

impl ConnectOptions {
    pub(crate) fn from_args(args: &KafkaArgs) -> Result<ConnectOptions> {
        let file = match &args.command_config {
            Some(path) => read_properties(path)?,
            None => BTreeMap::new(),
        };
        let prop = |key: &str| file.get(key).cloned();
        let jaas = prop("sasl.jaas.config")
            .map(|j| parse_jaas(&j))
            .transpose()?;
        let user = args
            .user
            .clone()
            .or_else(|| prop("sasl.username"))
            .or_else(|| jaas.as_ref().map(|j| j.0.clone()));
        let password = args
            .password
            .clone()
            .or_else(|| prop("sasl.password"))
            .or_else(|| jaas.as_ref().map(|j| j.1.clone()));
        let ca_file = args.ca_file.clone().or_else(|| {
            prop("ssl.ca.location")
                .or_else(|| prop("ssl.truststore.location"))
                .map(Into::into)
        });
        if let Some(kind) = prop("ssl.truststore.type") {
            if !kind.eq_ignore_ascii_case("PEM") {
                return Err(CliError::usage(format!(
                    "ssl.truststore.type={kind}: only PEM trust stores are read"
                )));
            }
        }
        let mechanism = args
            .sasl_mechanism
            .clone()
            .or_else(|| prop("sasl.mechanism"));
        let protocol = match args
            .security_protocol
            .clone()
            .or_else(|| prop("security.protocol"))
        {
            Some(p) => p.to_ascii_uppercase(),
            None => match (user.is_some() || mechanism.is_some(), ca_file.is_some()) {
                (false, false) => "PLAINTEXT".into(),
                (false, true) => "SSL".into(),
                (true, false) => "SASL_PLAINTEXT".into(),
                (true, true) => "SASL_SSL".into(),
            },
        };
        let (tls, sasl) = match protocol.as_str() {
            "PLAINTEXT" => (false, false),
            "SSL" => (true, false),
            "SASL_PLAINTEXT" => (false, true),
            "SASL_SSL" => (true, true),
            other => {
                return Err(CliError::usage(format!(
                    "security protocol {other}: expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
                )))
            }
        };
        let tls = match (tls, ca_file) {
            (false, _) => None,
            (true, Some(ca)) => Some(super::tls::client_config(&ca)?),
            (true, None) => {
                return Err(CliError::usage(format!(
                    "{protocol} needs a CA file (--ca-file or ssl.ca.location)"
                )))
            }
        };
        let sasl = if sasl {
            let mechanism = SaslMechanism::parse(mechanism.as_deref().unwrap_or("PLAIN"))?;
            let (Some(user), Some(password)) = (user, password) else {
                return Err(CliError::usage(format!(
                    "{protocol} needs --user and --password (or sasl.username/sasl.password)"
                )));
            };
            Some(Login {
                mechanism,
                user,
                password,
            })
        } else {
            None
        };
        let bootstrap: Vec<String> = args
            .bootstrap_server
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if bootstrap.is_empty() {
            return Err(CliError::usage("--bootstrap-server is empty"));
        }
        Ok(ConnectOptions {
            bootstrap,
            tls,
            sasl,
            timeout: Duration::from_secs(args.timeout.max(1)),
        })
    }
}

/// A Java properties file's `key=value` lines (`#`/`!` comments, `:` also
/// separates, a trailing `\` continues the line).
fn read_properties(path: &Path) -> Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
    let properties = parse_properties(&text);
    if let Some(unknown) = properties
        .keys()
        .find(|k| !KNOWN_PROPERTIES.contains(&k.as_str()))
    {
        return Err(CliError::usage(format!(
            "{}: property {unknown} is not supported by this client (known: {})",
            path.display(),
            KNOWN_PROPERTIES.join(", ")
        )));
    }
    Ok(properties)
}

pub(crate) fn parse_properties(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut pending = String::new();
    for line in text.lines() {
        let line = line.trim_start();
        if pending.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!'))
        {
            continue;
        }
        if let Some(continued) = line.strip_suffix('\\') {
            pending.push_str(continued);
            continue;
        }
        pending.push_str(line);
        let entry = std::mem::take(&mut pending);
        let split = entry.find(['=', ':']).unwrap_or(entry.len());
        let key = entry[..split].trim().to_string();
        let value = entry.get(split + 1..).unwrap_or("").trim().to_string();
        out.insert(key, value);
    }
    out
}

/// The `username` and `password` of a PlainLoginModule or
/// ScramLoginModule `sasl.jaas.config`.
fn parse_jaas(config: &str) -> Result<(String, String)> {
    let field = |name: &str| {
        let start = config.find(&format!("{name}=\""))? + name.len() + 2;
        let end = config[start..].find('"')? + start;
        Some(config[start..end].to_string())
    };
    match (field("username"), field("password")) {
        (Some(user), Some(password)) => Ok((user, password)),
        _ => Err(CliError::usage(
            "sasl.jaas.config needs username=\"...\" and password=\"...\"",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_and_jaas() {
        let props = parse_properties(
            "# comment\nsecurity.protocol=SASL_PLAINTEXT\nsasl.mechanism = SCRAM-SHA-256\n\
             sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule \\\n  required username=\"alice\" password=\"s3cr=t\";\n",
        );
        assert_eq!(props["security.protocol"], "SASL_PLAINTEXT");
        assert_eq!(props["sasl.mechanism"], "SCRAM-SHA-256");
        let (user, password) = parse_jaas(&props["sasl.jaas.config"]).unwrap();
        assert_eq!((user.as_str(), password.as_str()), ("alice", "s3cr=t"));
    }
}
