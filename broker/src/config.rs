//! Broker configuration: command-line flags, environment variables, an
//! optional TOML file, and Kafka-named broker properties.
//!
//! Precedence is flags, then environment (both through clap), then the file,
//! then defaults. Kafka broker properties (`num.partitions`,
//! `log.retention.ms`, ...) come from the file's `[broker]` table and from
//! `--override key=value`, overrides winning.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Parser;
use serde::Deserialize;

use crate::properties::BrokerProperties;

/// Strata: a Kafka-compatible streaming platform in one binary.
#[derive(Debug, Parser)]
#[command(name = "strata", version, about)]
pub struct Cli {
    /// Optional TOML configuration file.
    #[arg(long, env = "STRATA_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory holding every log and the broker's metadata.
    #[arg(long, env = "STRATA_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Kafka protocol listener address.
    #[arg(long, env = "STRATA_KAFKA_ADDR")]
    pub kafka_addr: Option<SocketAddr>,
    /// `host:port` advertised to Kafka clients in metadata (defaults to the listener address).
    #[arg(long, env = "STRATA_ADVERTISED_ADDR")]
    pub advertised_addr: Option<String>,
    /// Schema Registry HTTP listener address.
    #[arg(long, env = "STRATA_SCHEMA_REGISTRY_ADDR")]
    pub schema_registry_addr: Option<SocketAddr>,
    /// REST Proxy HTTP listener address.
    #[arg(long, env = "STRATA_REST_PROXY_ADDR")]
    pub rest_proxy_addr: Option<SocketAddr>,
    /// Admin HTTP listener address (`/health`, `/metrics`).
    #[arg(long, env = "STRATA_ADMIN_ADDR")]
    pub admin_addr: Option<SocketAddr>,
    /// Tiered storage: `s3://bucket/prefix` (configured by the standard AWS_*
    /// variables) or `file:///path`. Unset: no tiering.
    #[arg(long, env = "STRATA_TIER_URL")]
    pub tier_url: Option<String>,
    /// Directory of the tier's disk cache (default `<data-dir>/tier-cache`).
    #[arg(long, env = "STRATA_TIER_CACHE_DIR")]
    pub tier_cache_dir: Option<PathBuf>,
    /// Memory capacity of the tier cache, in bytes (default 64 MiB).
    #[arg(long, env = "STRATA_TIER_CACHE_MEMORY_BYTES")]
    pub tier_cache_memory_bytes: Option<usize>,
    /// Disk capacity of the tier cache, in bytes (default 1 GiB).
    #[arg(long, env = "STRATA_TIER_CACHE_DISK_BYTES")]
    pub tier_cache_disk_bytes: Option<u64>,
    /// A Kafka broker property, `key=value` (repeatable; env: comma-separated).
    /// A comma starts a new property only where `key=` follows it, so list
    /// values such as `listeners=PLAINTEXT://a:1,SSL://a:2` stay whole.
    #[arg(long = "override", env = "STRATA_OVERRIDES")]
    pub overrides: Vec<String>,
    /// The first admin: SCRAM-SHA-256/512 credentials are created for this
    /// user at start if it has none, and `User:<name>` is a super user.
    #[arg(long, env = "STRATA_ADMIN_USER", requires = "admin_password")]
    pub admin_user: Option<String>,
    /// The first admin's password (used only when the user has no credentials yet).
    #[arg(
        long,
        env = "STRATA_ADMIN_PASSWORD",
        requires = "admin_user",
        hide_env_values = true
    )]
    pub admin_password: Option<String>,
    /// Log filter in `tracing` syntax.
    #[arg(long, env = "STRATA_LOG", default_value = "info")]
    pub log: String,
    /// Log lines as human-readable text or as one JSON object per line
    /// (timestamp, level, target, message and the event's fields), for log
    /// shippers.
    #[arg(long, env = "STRATA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// A command-line tool instead of the server (without one, the server starts).
    #[command(subcommand)]
    pub command: Option<strata_cli::Command>,
}

/// The shape of log lines on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Splits `a=1,b=x,y` into `a=1` and `b=x,y`: a comma-separated piece
/// that does not start with a property name (lower case, as all of Kafka's
/// are) and `=` continues the value before it (Kafka list values:
/// listeners, mechanisms, protocol maps, `RULE:^CN=(.*?),OU=...` rules).
fn split_overrides(text: &str) -> Vec<String> {
    let starts_property = |piece: &str| {
        piece.split_once('=').is_some_and(|(key, _)| {
            !key.is_empty()
                && key.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
                })
        })
    };
    let mut items: Vec<String> = Vec::new();
    for piece in text.split(',') {
        match items.last_mut() {
            Some(last) if !starts_property(piece) => {
                last.push(',');
                last.push_str(piece);
            }
            _ => items.push(piece.to_string()),
        }
    }
    items
}

/// The TOML file's shape. Unknown keys are refused so that a typo is an
/// error at start instead of a silently ignored setting.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    kafka_addr: Option<SocketAddr>,
    advertised_addr: Option<String>,
    schema_registry_addr: Option<SocketAddr>,
    rest_proxy_addr: Option<SocketAddr>,
    admin_addr: Option<SocketAddr>,
    tier_url: Option<String>,
    tier_cache_dir: Option<PathBuf>,
    tier_cache_memory_bytes: Option<usize>,
    tier_cache_disk_bytes: Option<u64>,
    /// Kafka broker properties; dotted keys may be quoted or nested tables.
    #[serde(default)]
    broker: toml::Table,
}

/// The effective configuration the broker runs with.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    pub data_dir: PathBuf,
    pub kafka_addr: SocketAddr,
    pub advertised_host: String,
    /// `None`: advertise the port the Kafka listener actually bound (port 0 works).
    pub advertised_port: Option<u16>,
    pub schema_registry_addr: SocketAddr,
    pub rest_proxy_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    pub properties: BrokerProperties,
    pub tier: Option<TierSettings>,
    /// `--admin-user` and `--admin-password`.
    pub admin_user: Option<(String, String)>,
}

/// Where the tier is and how large its cache may grow.
#[derive(Debug, Clone)]
pub struct TierSettings {
    pub url: String,
    pub cache_dir: PathBuf,
    pub cache_memory_bytes: usize,
    pub cache_disk_bytes: u64,
}

fn default_addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

impl BrokerConfig {
    /// Merges flags, environment, file and defaults; refuses anything it
    /// could not honour.
    pub fn from_cli(cli: &Cli) -> anyhow::Result<Self> {
        let file = match &cli.config {
            Some(path) => load_file(path)?,
            None => FileConfig::default(),
        };
        let mut props = BTreeMap::new();
        flatten_table("", &file.broker, &mut props)?;
        for item in cli.overrides.iter().flat_map(|o| split_overrides(o)) {
            let (key, value) = item
                .split_once('=')
                .with_context(|| format!("--override {item:?} is not key=value"))?;
            props.insert(key.trim().to_string(), value.trim().to_string());
        }
        let properties = BrokerProperties::from_map(props)?;

        let kafka_addr = cli
            .kafka_addr
            .or(file.kafka_addr)
            .unwrap_or(default_addr(9092));
        let advertised = cli.advertised_addr.clone().or(file.advertised_addr);
        let (advertised_host, advertised_port) = match advertised {
            Some(text) => {
                let (host, port) = text
                    .rsplit_once(':')
                    .with_context(|| format!("advertised address {text:?} is not host:port"))?;
                let port: u16 = port
                    .parse()
                    .with_context(|| format!("advertised port in {text:?}"))?;
                (host.trim_matches(['[', ']']).to_string(), Some(port))
            }
            None => (kafka_addr.ip().to_string(), None),
        };
        if advertised_host == "0.0.0.0" || advertised_host == "::" {
            bail!("the Kafka listener binds a wildcard address; set --advertised-addr to a host clients can reach");
        }
        let data_dir = cli
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("./data"));
        let tier = cli
            .tier_url
            .clone()
            .or(file.tier_url)
            .filter(|u| !u.trim().is_empty())
            .map(|url| TierSettings {
                url,
                cache_dir: cli
                    .tier_cache_dir
                    .clone()
                    .or(file.tier_cache_dir)
                    .unwrap_or_else(|| data_dir.join("tier-cache")),
                cache_memory_bytes: cli
                    .tier_cache_memory_bytes
                    .or(file.tier_cache_memory_bytes)
                    .unwrap_or(64 << 20),
                cache_disk_bytes: cli
                    .tier_cache_disk_bytes
                    .or(file.tier_cache_disk_bytes)
                    .unwrap_or(1 << 30),
            });
        Ok(BrokerConfig {
            data_dir,
            kafka_addr,
            advertised_host,
            advertised_port,
            schema_registry_addr: cli
                .schema_registry_addr
                .or(file.schema_registry_addr)
                .unwrap_or(default_addr(8081)),
            rest_proxy_addr: cli
                .rest_proxy_addr
                .or(file.rest_proxy_addr)
                .unwrap_or(default_addr(8082)),
            admin_addr: cli
                .admin_addr
                .or(file.admin_addr)
                .unwrap_or(default_addr(9644)),
            properties,
            tier,
            admin_user: cli.admin_user.clone().zip(cli.admin_password.clone()),
        })
    }

    /// One line per setting for the start-up log. Nothing secret exists yet;
    /// when SASL lands, credentials are masked here.
    pub fn describe(&self) -> String {
        let mut out = format!(
            "data_dir={} kafka_addr={} advertised={}:{} schema_registry_addr={} rest_proxy_addr={} admin_addr={}",
            self.data_dir.display(),
            self.kafka_addr,
            self.advertised_host,
            self.advertised_port.map_or_else(|| "<bound port>".to_string(), |p| p.to_string()),
            self.schema_registry_addr,
            self.rest_proxy_addr,
            self.admin_addr,
        );
        if let Some(tier) = &self.tier {
            out.push_str(&format!(
                " tier_url={} tier_cache_dir={} tier_cache_memory_bytes={} tier_cache_disk_bytes={}",
                tier.url,
                tier.cache_dir.display(),
                tier.cache_memory_bytes,
                tier.cache_disk_bytes
            ));
        }
        if let Some((user, _)) = &self.admin_user {
            out.push_str(&format!(" admin_user={user} admin_password=********"));
        }
        for (key, value) in self.properties.explicit() {
            let secret = key.contains("password") || key.contains("jaas");
            let value = if secret { "********" } else { value.as_str() };
            out.push_str(&format!(" {key}={value}"));
        }
        out
    }
}

fn load_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
}

/// Turns `{log = {retention = {ms = 5}}}` and `{"log.retention.ms" = 5}` alike
/// into `log.retention.ms = "5"`.
fn flatten_table(
    prefix: &str,
    table: &toml::Table,
    out: &mut BTreeMap<String, String>,
) -> anyhow::Result<()> {
    for (key, value) in table {
        let name = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) => flatten_table(&name, inner, out)?,
            toml::Value::String(s) => {
                out.insert(name, s.clone());
            }
            toml::Value::Integer(i) => {
                out.insert(name, i.to_string());
            }
            toml::Value::Float(f) => {
                out.insert(name, f.to_string());
            }
            toml::Value::Boolean(b) => {
                out.insert(name, b.to_string());
            }
            toml::Value::Array(items) => {
                let parts: Vec<String> = items
                    .iter()
                    .map(|v| match v {
                        toml::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect();
                out.insert(name, parts.join(","));
            }
            toml::Value::Datetime(d) => {
                bail!("broker property {name} = {d}: datetimes are not a property type")
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Cli {
        let mut all = vec!["strata"];
        all.extend_from_slice(args);
        Cli::parse_from(all)
    }

    #[test]
    fn defaults_match_the_embedded_setup() {
        let config = BrokerConfig::from_cli(&cli(&[])).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("./data"));
        assert_eq!(config.kafka_addr, default_addr(9092));
        assert_eq!(config.admin_addr, default_addr(9644));
        assert_eq!(config.properties.num_partitions, 1);
    }

    #[test]
    fn overrides_split_at_commas_that_start_a_property() {
        assert_eq!(
            split_overrides("listeners=PLAINTEXT://a:1,SSL://a:2,num.partitions=3"),
            vec!["listeners=PLAINTEXT://a:1,SSL://a:2", "num.partitions=3"]
        );
        assert_eq!(
            split_overrides("ssl.principal.mapping.rules=RULE:^CN=(.*?),OU=(.*?)$/$1/,DEFAULT"),
            vec!["ssl.principal.mapping.rules=RULE:^CN=(.*?),OU=(.*?)$/$1/,DEFAULT"]
        );
        assert_eq!(
            split_overrides("sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256"),
            vec!["sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256"]
        );
    }

    #[test]
    fn file_tables_flatten_and_overrides_win() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("strata.toml");
        std::fs::write(
            &path,
            "data_dir = \"/tmp/x\"\n[broker]\nnum.partitions = 3\n\"log.retention.ms\" = 1000\n",
        )
        .unwrap();
        let config = BrokerConfig::from_cli(&cli(&[
            "--config",
            path.to_str().unwrap(),
            "--override",
            "num.partitions=5",
        ]))
        .unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(config.properties.num_partitions, 5);
        assert_eq!(
            config
                .properties
                .explicit()
                .get("log.retention.ms")
                .unwrap(),
            "1000"
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("strata.toml");
        std::fs::write(&path, "data_dri = \"x\"\n").unwrap();
        assert!(BrokerConfig::from_cli(&cli(&["--config", path.to_str().unwrap()])).is_err());
        assert!(BrokerConfig::from_cli(&cli(&["--override", "no.such.property=1"])).is_err());
    }
}
