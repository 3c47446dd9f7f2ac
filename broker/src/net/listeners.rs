//! Kafka listeners as Kafka configures them: `listeners`,
//! `advertised.listeners`, `listener.security.protocol.map`, and the
//! per-listener `listener.name.<name>.*` overrides of the SSL and SASL
//! properties. Everything is checked at start: a listener that cannot be
//! honoured refuses the start.

use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use strata_governance::principal_mapping::SslPrincipalMapper;
use strata_governance::sasl::{Mechanism, SaslAuthenticator};

use crate::properties::BrokerProperties;
use crate::tls::{ClientAuth, ReloadingTlsAcceptor, TlsSettings};

/// How a listener's connections are secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "PLAINTEXT" => Some(SecurityProtocol::Plaintext),
            "SSL" => Some(SecurityProtocol::Ssl),
            "SASL_PLAINTEXT" => Some(SecurityProtocol::SaslPlaintext),
            "SASL_SSL" => Some(SecurityProtocol::SaslSsl),
            _ => None,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }

    pub(crate) fn tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    pub(crate) fn sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

/// One configured listener, before it is bound.
#[derive(Debug, Clone)]
pub(crate) struct ListenerConfig {
    /// As written in `listeners` (upper case by convention).
    pub(crate) name: String,
    pub(crate) protocol: SecurityProtocol,
    pub(crate) bind: SocketAddr,
    /// `None`: advertise the bound address (port 0 then works).
    pub(crate) advertised: Option<(String, u16)>,
    pub(crate) tls: Option<TlsSettings>,
    pub(crate) principal_mapping_rules: String,
    pub(crate) mechanisms: Vec<Mechanism>,
    pub(crate) max_reauth_ms: u64,
}

/// What a connection needs to know about the listener it came in on.
pub(crate) struct ListenerContext {
    pub(crate) name: Arc<str>,
    pub(crate) protocol: SecurityProtocol,
    pub(crate) tls: Option<ReloadingTlsAcceptor>,
    pub(crate) mapper: SslPrincipalMapper,
    pub(crate) mechanisms: Vec<Mechanism>,
    pub(crate) authenticator: SaslAuthenticator,
    /// `connections.max.reauth.ms`; 0: sessions do not expire by themselves.
    pub(crate) max_reauth_ms: u64,
    /// `connection.failed.authentication.delay.ms`.
    pub(crate) failed_auth_delay: Duration,
}

impl ListenerContext {
    /// Loads the listener's certificates; fails on any that does not load.
    pub(crate) fn new(
        config: &ListenerConfig,
        authenticator: SaslAuthenticator,
        failed_auth_delay: Duration,
    ) -> anyhow::Result<Self> {
        let tls = match &config.tls {
            Some(settings) => Some(
                ReloadingTlsAcceptor::new(settings.clone())
                    .with_context(|| format!("TLS of the listener {}", config.name))?,
            ),
            None => None,
        };
        let mapper = SslPrincipalMapper::parse(&config.principal_mapping_rules)
            .with_context(|| format!("the listener {}", config.name))?;
        Ok(ListenerContext {
            name: config.name.as_str().into(),
            protocol: config.protocol,
            tls,
            mapper,
            mechanisms: config.mechanisms.clone(),
            authenticator,
            max_reauth_ms: config.max_reauth_ms,
            failed_auth_delay,
        })
    }
}

/// `NAME://host:port` entries of `listeners` or `advertised.listeners`.
fn parse_endpoints(property: &str, text: &str) -> anyhow::Result<Vec<(String, String, u16)>> {
    let mut out: Vec<(String, String, u16)> = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, address) = item
            .split_once("://")
            .with_context(|| format!("{property}: {item:?} is not NAME://host:port"))?;
        let (host, port) = address
            .rsplit_once(':')
            .with_context(|| format!("{property}: {item:?} has no port"))?;
        let port: u16 = port
            .parse()
            .with_context(|| format!("{property}: the port of {item:?}"))?;
        let name = name.trim().to_string();
        if name.is_empty() {
            bail!("{property}: {item:?} has no listener name");
        }
        if out.iter().any(|(n, _, _)| n.eq_ignore_ascii_case(&name)) {
            bail!("{property}: the listener {name} is listed twice");
        }
        out.push((name, host.trim_matches(['[', ']']).to_string(), port));
    }
    Ok(out)
}

/// The listeners `props` describe; without `listeners`, one PLAINTEXT
/// listener on `kafka_addr` advertised as `advertised` (the flags).
pub(crate) fn listener_configs(
    props: &BrokerProperties,
    kafka_addr: SocketAddr,
    advertised_host: &str,
    advertised_port: Option<u16>,
) -> anyhow::Result<Vec<ListenerConfig>> {
    let mut protocols = BTreeMap::new();
    for item in props
        .value("listener.security.protocol.map")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let (name, protocol) = item.split_once(':').with_context(|| {
            format!("listener.security.protocol.map: {item:?} is not NAME:PROTOCOL")
        })?;
        let protocol = SecurityProtocol::parse(protocol.trim()).with_context(|| {
            format!("listener.security.protocol.map: unknown security protocol in {item:?}")
        })?;
        protocols.insert(name.trim().to_ascii_uppercase(), protocol);
    }
    let listed = parse_endpoints("listeners", props.value("listeners"))?;
    let advertised = parse_endpoints("advertised.listeners", props.value("advertised.listeners"))?;
    let mut configs = Vec::new();
    if listed.is_empty() {
        if !advertised.is_empty() {
            bail!("advertised.listeners needs listeners");
        }
        configs.push(listener(props, &protocols, "PLAINTEXT", kafka_addr, None)?);
    } else {
        for (name, host, port) in &listed {
            let bind = resolve(host, *port)
                .with_context(|| format!("listeners: the address of {name}"))?;
            let advertised = advertised
                .iter()
                .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, h, p)| (h.clone(), *p));
            configs.push(listener(props, &protocols, name, bind, advertised)?);
        }
        if let Some((name, _, _)) = advertised
            .iter()
            .find(|(n, _, _)| !listed.iter().any(|(l, _, _)| l.eq_ignore_ascii_case(n)))
        {
            bail!("advertised.listeners names {name}, which is not in listeners");
        }
    }
    // --advertised-addr keeps its meaning: the first listener's endpoint.
    let first = &mut configs[0];
    if first.advertised.is_none() && advertised_port.is_some() {
        first.advertised = Some((advertised_host.to_string(), advertised_port.unwrap_or(0)));
    }
    for config in &configs {
        let host = config
            .advertised
            .as_ref()
            .map_or_else(|| config.bind.ip().to_string(), |(h, _)| h.clone());
        if host.is_empty() || host == "0.0.0.0" || host == "::" {
            bail!(
                "the listener {} binds a wildcard address; advertise a host clients can reach (advertised.listeners or --advertised-addr)",
                config.name
            );
        }
    }
    Ok(configs)
}

fn resolve(host: &str, port: u16) -> anyhow::Result<SocketAddr> {
    let host = if host.is_empty() { "0.0.0.0" } else { host };
    (host, port)
        .to_socket_addrs()
        .with_context(|| format!("resolving {host}"))?
        .next()
        .with_context(|| format!("{host} resolves to no address"))
}

/// A per-listener property (`listener.name.<name>.<property>`) or the broker-wide one.
fn listener_value<'a>(props: &'a BrokerProperties, name: &str, property: &str) -> &'a str {
    let key = format!("listener.name.{}.{property}", name.to_ascii_lowercase());
    match props.explicit().get(&key) {
        Some(value) => value.trim(),
        None => props.value(property),
    }
}

fn listener(
    props: &BrokerProperties,
    protocols: &BTreeMap<String, SecurityProtocol>,
    name: &str,
    bind: SocketAddr,
    advertised: Option<(String, u16)>,
) -> anyhow::Result<ListenerConfig> {
    let protocol = protocols
        .get(&name.to_ascii_uppercase())
        .copied()
        .with_context(|| {
            format!(
                "the listener {name} has no security protocol in listener.security.protocol.map"
            )
        })?;
    let value = |property: &str| listener_value(props, name, property);
    let tls = if protocol.tls() {
        if !value("ssl.key.password").is_empty() {
            bail!("the listener {name}: ssl.key.password is not supported (use an unencrypted PEM key)");
        }
        for property in ["ssl.keystore.type", "ssl.truststore.type"] {
            if !value(property).eq_ignore_ascii_case("PEM") {
                bail!("the listener {name}: {property} must be PEM");
            }
        }
        let keystore = value("ssl.keystore.location");
        if keystore.is_empty() {
            bail!(
                "the listener {name} ({}) needs ssl.keystore.location",
                protocol.name()
            );
        }
        let truststore = value("ssl.truststore.location");
        Some(TlsSettings {
            keystore: keystore.into(),
            truststore: (!truststore.is_empty()).then(|| truststore.into()),
            client_auth: ClientAuth::parse(value("ssl.client.auth"))
                .with_context(|| format!("the listener {name}"))?,
        })
    } else {
        None
    };
    let mut mechanisms = Vec::new();
    for item in value("sasl.enabled.mechanisms")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let mechanism = Mechanism::from_name(item)
            .with_context(|| format!("the listener {name}: unsupported SASL mechanism {item}"))?;
        if !mechanisms.contains(&mechanism) {
            mechanisms.push(mechanism);
        }
    }
    let jwks = !props.value("sasl.oauthbearer.jwks.endpoint.url").is_empty();
    if jwks && !mechanisms.contains(&Mechanism::OAuthBearer) {
        mechanisms.push(Mechanism::OAuthBearer);
    }
    if mechanisms.contains(&Mechanism::OAuthBearer) && !jwks {
        bail!("the listener {name}: OAUTHBEARER needs sasl.oauthbearer.jwks.endpoint.url");
    }
    if protocol.sasl() && mechanisms.is_empty() {
        bail!(
            "the listener {name} ({}) enables no SASL mechanism",
            protocol.name()
        );
    }
    let max_reauth_ms = value("connections.max.reauth.ms")
        .parse()
        .with_context(|| format!("the listener {name}: connections.max.reauth.ms"))?;
    Ok(ListenerConfig {
        name: name.to_string(),
        protocol,
        bind,
        advertised,
        tls,
        principal_mapping_rules: value("ssl.principal.mapping.rules").to_string(),
        mechanisms,
        max_reauth_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BrokerProperties {
        BrokerProperties::from_map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
        .unwrap()
    }

    const KAFKA: &str = "127.0.0.1:9092";

    #[test]
    fn without_listeners_one_plaintext_listener_serves_the_kafka_addr() {
        let configs =
            listener_configs(&props(&[]), KAFKA.parse().unwrap(), "127.0.0.1", None).unwrap();
        assert_eq!(configs.len(), 1);
        assert_eq!(configs[0].name, "PLAINTEXT");
        assert_eq!(configs[0].protocol, SecurityProtocol::Plaintext);
        assert_eq!(configs[0].bind, KAFKA.parse().unwrap());
        assert_eq!(configs[0].advertised, None);
        let configs = listener_configs(
            &props(&[]),
            KAFKA.parse().unwrap(),
            "kafka.example",
            Some(19092),
        )
        .unwrap();
        assert_eq!(configs[0].advertised, Some(("kafka.example".into(), 19092)));
    }

    #[test]
    fn named_listeners_take_their_protocol_and_overrides() {
        let p = props(&[
            (
                "listeners",
                "INTERNAL://127.0.0.1:0,EXTERNAL://127.0.0.1:9095",
            ),
            (
                "listener.security.protocol.map",
                "INTERNAL:PLAINTEXT,EXTERNAL:SASL_SSL",
            ),
            ("advertised.listeners", "EXTERNAL://kafka.example:443"),
            ("ssl.keystore.location", "/k.pem"),
            (
                "listener.name.external.sasl.enabled.mechanisms",
                "SCRAM-SHA-512",
            ),
        ]);
        let configs = listener_configs(&p, KAFKA.parse().unwrap(), "127.0.0.1", None).unwrap();
        assert_eq!(configs[0].protocol, SecurityProtocol::Plaintext);
        assert_eq!(configs[1].protocol, SecurityProtocol::SaslSsl);
        assert_eq!(configs[1].advertised, Some(("kafka.example".into(), 443)));
        assert_eq!(
            configs[1].tls.as_ref().unwrap().keystore,
            std::path::PathBuf::from("/k.pem")
        );
        assert_eq!(configs[1].mechanisms.len(), 1);
        assert_eq!(configs[0].mechanisms.len(), 3);
    }

    #[test]
    fn listeners_that_cannot_be_honoured_are_refused() {
        let kafka: SocketAddr = KAFKA.parse().unwrap();
        for bad in [
            vec![("listeners", "FOO://127.0.0.1:1")],
            vec![("listeners", "SSL://127.0.0.1:1")],
            vec![
                ("listeners", "SSL://127.0.0.1:1"),
                ("ssl.keystore.location", "/k.pem"),
                ("ssl.key.password", "x"),
            ],
            vec![("listeners", "PLAINTEXT://0.0.0.0:1")],
            vec![
                ("listeners", "PLAINTEXT://127.0.0.1:1"),
                ("advertised.listeners", "OTHER://h:1"),
            ],
            vec![(
                "listeners",
                "PLAINTEXT://127.0.0.1:1,plaintext://127.0.0.1:2",
            )],
            vec![
                ("listeners", "SASL_PLAINTEXT://127.0.0.1:1"),
                ("sasl.enabled.mechanisms", "GSSAPI"),
            ],
        ] {
            assert!(
                listener_configs(&props(&bad), kafka, "127.0.0.1", None).is_err(),
                "{bad:?}"
            );
        }
    }
}
