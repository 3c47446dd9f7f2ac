//! The subcommands and their flags (clap derive). Every connection flag
//! has an environment variable; a `--command-config` properties file fills
//! what flags and environment leave unset.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// A `strata` subcommand: everything but running the server.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, list, describe, alter and delete topics.
    Topic {
        #[command(flatten)]
        conn: KafkaArgs,
        #[command(subcommand)]
        action: TopicAction,
    },
    /// Write records read from a file or stdin, one per line.
    Produce(Box<ProduceArgs>),
    /// Read records and print them, one per line.
    Consume(Box<ConsumeArgs>),
    /// List, describe (with lag), reset the offsets of and delete consumer groups.
    Group {
        #[command(flatten)]
        conn: KafkaArgs,
        #[command(subcommand)]
        action: GroupAction,
    },
    /// Register, list, get, check and delete schemas in a Schema Registry.
    Schema {
        #[command(flatten)]
        registry: RegistryArgs,
        #[command(subcommand)]
        action: SchemaAction,
    },
    /// List, create and delete ACLs.
    Acl {
        #[command(flatten)]
        conn: KafkaArgs,
        #[command(subcommand)]
        action: AclAction,
    },
    /// List, set and delete users' SCRAM credentials.
    User {
        #[command(flatten)]
        conn: KafkaArgs,
        #[command(subcommand)]
        action: UserAction,
    },
    /// The cluster: id, brokers, controller, feature versions.
    Cluster {
        #[command(flatten)]
        conn: KafkaArgs,
        #[command(subcommand)]
        action: ClusterAction,
    },
}

/// How to reach and log in to the cluster, and how to print.
#[derive(Debug, Clone, Args)]
pub struct KafkaArgs {
    /// `host:port` of a broker (several, comma-separated, are tried in turn).
    #[arg(
        long,
        short = 'b',
        env = "STRATA_BOOTSTRAP",
        default_value = "127.0.0.1:9092",
        global = true
    )]
    pub bootstrap_server: String,
    /// A Kafka client properties file: security.protocol, sasl.mechanism,
    /// sasl.username, sasl.password, sasl.jaas.config, ssl.ca.location,
    /// ssl.truststore.location (PEM). Flags win over it.
    #[arg(long, env = "STRATA_COMMAND_CONFIG", global = true)]
    pub command_config: Option<PathBuf>,
    /// PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (default: from the other flags).
    #[arg(long, env = "STRATA_SECURITY_PROTOCOL", global = true)]
    pub security_protocol: Option<String>,
    /// PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (default PLAIN when a user is given).
    #[arg(long, env = "STRATA_SASL_MECHANISM", global = true)]
    pub sasl_mechanism: Option<String>,
    /// SASL user name.
    #[arg(long, env = "STRATA_USER", global = true)]
    pub user: Option<String>,
    /// SASL password.
    #[arg(long, env = "STRATA_PASSWORD", hide_env_values = true, global = true)]
    pub password: Option<String>,
    /// PEM file of the CAs that sign the brokers' certificates (turns on TLS).
    #[arg(long, env = "STRATA_CA_FILE", global = true)]
    pub ca_file: Option<PathBuf>,
    /// Seconds to wait for any one answer.
    #[arg(long, env = "STRATA_TIMEOUT", default_value_t = 30, global = true)]
    pub timeout: u64,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Output as an aligned table or as JSON.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// `table` (aligned columns) or `json` (one document, for scripts).
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Table, global = true)]
    pub output: OutputFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum TopicAction {
    /// Create a topic.
    Create {
        topic: String,
        /// Number of partitions (default: the broker's num.partitions).
        #[arg(long, short = 'p')]
        partitions: Option<i32>,
        /// Replication factor (default: the broker's default.replication.factor).
        #[arg(long, short = 'r')]
        replication_factor: Option<i16>,
        /// A topic config `key=value` (repeatable).
        #[arg(long = "config", short = 'c')]
        configs: Vec<String>,
    },
    /// List topics.
    List {
        /// Include internal topics.
        #[arg(long)]
        internal: bool,
    },
    /// Partitions, leaders, offsets and configs of a topic.
    Describe { topic: String },
    /// Set (`--set k=v`) or remove (`--delete k`) topic configs.
    AlterConfig {
        topic: String,
        #[arg(long)]
        set: Vec<String>,
        #[arg(long)]
        delete: Vec<String>,
    },
    /// Delete topics.
    Delete {
        #[arg(required = true)]
        topics: Vec<String>,
    },
}

/// How keys and values are written or read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValueFormat {
    /// UTF-8 text as is.
    String,
    /// Avro in Confluent's wire format, given and shown as Avro's JSON encoding.
    Avro,
    /// JSON Schema in Confluent's wire format.
    JsonSchema,
    /// Protobuf in Confluent's wire format, given and shown as Protobuf's JSON mapping.
    Protobuf,
}

/// Where schema formats find their schemas.
#[derive(Debug, Clone, Args)]
pub struct SchemaFormatArgs {
    /// Format of values.
    #[arg(long, value_enum, default_value_t = ValueFormat::String)]
    pub value_format: ValueFormat,
    /// Format of keys.
    #[arg(long, value_enum, default_value_t = ValueFormat::String)]
    pub key_format: ValueFormat,
    /// Schema Registry URL (for the schema formats).
    #[arg(long, env = "STRATA_REGISTRY")]
    pub registry: Option<String>,
    /// Produce: the subject whose latest schema writes values (default `<topic>-value`).
    #[arg(long)]
    pub subject: Option<String>,
    /// Produce: the schema id values are written with (instead of a subject's latest).
    #[arg(long)]
    pub schema_id: Option<u32>,
}

#[derive(Debug, Args)]
pub struct ProduceArgs {
    pub topic: String,
    #[command(flatten)]
    pub conn: KafkaArgs,
    /// Read records from this file instead of stdin.
    #[arg(long, short = 'f')]
    pub file: Option<PathBuf>,
    /// Each line is `key<SEP>value` (as kcat's -K).
    #[arg(long, short = 'K')]
    pub key_separator: Option<String>,
    /// A header `key=value` on every record (repeatable).
    #[arg(long = "header", short = 'H')]
    pub headers: Vec<String>,
    /// Write to this partition (default: by key hash as Kafka clients do, else round robin).
    #[arg(long, short = 'p')]
    pub partition: Option<i32>,
    /// `text` lines, or `json` lines `{"key":..,"value":..,"headers":{..},"partition":..}`.
    #[arg(long, value_enum, default_value_t = LineFormat::Text)]
    pub format: LineFormat,
    /// acks: -1 (all), 1 or 0.
    #[arg(long, default_value_t = -1, allow_hyphen_values = true)]
    pub acks: i16,
    /// Records per produce request.
    #[arg(long, default_value_t = 1000)]
    pub batch_size: usize,
    /// none, gzip, snappy, lz4 or zstd.
    #[arg(long, default_value = "none")]
    pub compression: String,
    #[command(flatten)]
    pub schema: SchemaFormatArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LineFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ConsumeArgs {
    pub topic: String,
    #[command(flatten)]
    pub conn: KafkaArgs,
    /// Read only this partition (repeatable; default all).
    #[arg(long = "partition", short = 'p')]
    pub partitions: Vec<i32>,
    /// Start at this offset (needs one --partition).
    #[arg(long, conflicts_with_all = ["from_beginning", "from_end", "from_time"])]
    pub offset: Option<i64>,
    /// Start at the first record.
    #[arg(long, conflicts_with_all = ["from_end", "from_time"])]
    pub from_beginning: bool,
    /// Start after the last record (the default without --count is to
    /// read from the beginning).
    #[arg(long, conflicts_with = "from_time")]
    pub from_end: bool,
    /// Start at the first record at or after this time (RFC 3339 or milliseconds since the epoch).
    #[arg(long)]
    pub from_time: Option<String>,
    /// Stop after this many records.
    #[arg(long, short = 'c')]
    pub count: Option<u64>,
    /// Keep waiting for new records at the end instead of exiting.
    #[arg(long)]
    pub follow: bool,
    /// `text` (the value, or `key<SEP>value` with -K) or `json` (one object per record).
    #[arg(long, value_enum, default_value_t = LineFormat::Text)]
    pub format: LineFormat,
    /// Print `key<SEP>value`.
    #[arg(long, short = 'K')]
    pub key_separator: Option<String>,
    /// Read committed records only.
    #[arg(long)]
    pub read_committed: bool,
    #[command(flatten)]
    pub schema: SchemaFormatArgs,
}

#[derive(Debug, Subcommand)]
pub enum GroupAction {
    /// List consumer groups.
    List,
    /// State, members and lag per partition.
    Describe { group: String },
    /// Move an empty group's committed offsets.
    ResetOffsets(ResetArgs),
    /// Delete groups.
    Delete {
        #[arg(required = true)]
        groups: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct ResetArgs {
    pub group: String,
    /// The topic to reset (`topic` or `topic:0,1`; repeatable; default every topic the group has offsets for).
    #[arg(long)]
    pub topic: Vec<String>,
    #[arg(long, group = "to")]
    pub to_earliest: bool,
    #[arg(long, group = "to")]
    pub to_latest: bool,
    #[arg(long, group = "to", allow_hyphen_values = true)]
    pub to_offset: Option<i64>,
    /// RFC 3339 time or milliseconds since the epoch.
    #[arg(long, group = "to")]
    pub to_datetime: Option<String>,
    /// Show the new offsets without committing them.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RegistryArgs {
    /// Schema Registry URL.
    #[arg(
        long,
        env = "STRATA_REGISTRY",
        default_value = "http://127.0.0.1:8081",
        global = true
    )]
    pub registry: String,
    /// HTTP Basic user for the registry.
    #[arg(long, env = "STRATA_REGISTRY_USER", global = true)]
    pub registry_user: Option<String>,
    /// HTTP Basic password for the registry.
    #[arg(
        long,
        env = "STRATA_REGISTRY_PASSWORD",
        hide_env_values = true,
        global = true
    )]
    pub registry_password: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Subcommand)]
pub enum SchemaAction {
    /// Register a schema under a subject.
    Register {
        subject: String,
        /// File holding the schema text (`-` for stdin).
        #[arg(long)]
        schema_file: PathBuf,
        /// AVRO, JSON or PROTOBUF.
        #[arg(long, default_value = "AVRO")]
        schema_type: String,
    },
    /// List subjects.
    List,
    /// A subject's version (default latest), or a schema by `--id`.
    Get {
        #[arg(required_unless_present = "id")]
        subject: Option<String>,
        #[arg(long, default_value = "latest")]
        version: String,
        #[arg(long, conflicts_with = "subject")]
        id: Option<u32>,
    },
    /// Whether a schema is compatible with a subject's version (default latest).
    Check {
        subject: String,
        #[arg(long)]
        schema_file: PathBuf,
        #[arg(long, default_value = "AVRO")]
        schema_type: String,
        #[arg(long, default_value = "latest")]
        version: String,
    },
    /// Delete a subject, or one of its versions.
    Delete {
        subject: String,
        #[arg(long)]
        version: Option<String>,
        /// Hard delete (after a soft delete).
        #[arg(long)]
        permanent: bool,
    },
}

/// ACL selection and creation, named as kafka-acls.sh names them.
#[derive(Debug, Clone, Args)]
pub struct AclSpec {
    /// topic, group, cluster, transactional-id, delegation-token, user (or any, for list/delete).
    #[arg(long, default_value = "any")]
    pub resource_type: String,
    /// Resource name (`kafka-cluster` for the cluster; default any).
    #[arg(long)]
    pub resource_name: Option<String>,
    /// literal, prefixed (match for list/delete; default literal for create, any for list/delete).
    #[arg(long)]
    pub pattern_type: Option<String>,
    /// `User:alice` (default any).
    #[arg(long)]
    pub principal: Option<String>,
    /// Host (default `*` for create, any for list/delete).
    #[arg(long)]
    pub host: Option<String>,
    /// read, write, create, delete, alter, describe, cluster-action,
    /// describe-configs, alter-configs, idempotent-write, all (default any).
    #[arg(long)]
    pub operation: Option<String>,
    /// allow or deny (default allow for create, any for list/delete).
    #[arg(long)]
    pub permission: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AclAction {
    /// ACLs matching the filter.
    List(AclSpec),
    /// Create one ACL.
    Create(AclSpec),
    /// Delete the ACLs matching the filter.
    Delete(AclSpec),
}

#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Users with SCRAM credentials (or the named ones).
    List { users: Vec<String> },
    /// Set a user's SCRAM credential.
    Set {
        name: String,
        /// The new password (env STRATA_NEW_PASSWORD).
        #[arg(
            long = "new-password",
            env = "STRATA_NEW_PASSWORD",
            hide_env_values = true
        )]
        new_password: String,
        /// SCRAM-SHA-256 or SCRAM-SHA-512.
        #[arg(long, default_value = "SCRAM-SHA-256")]
        mechanism: String,
        #[arg(long, default_value_t = 8192)]
        iterations: u32,
    },
    /// Delete a user's SCRAM credential.
    Delete {
        name: String,
        #[arg(long, default_value = "SCRAM-SHA-256")]
        mechanism: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClusterAction {
    /// Cluster id, brokers, controller and feature versions.
    Info,
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[derive(Debug, Parser)]
    struct Strata {
        #[command(subcommand)]
        command: Command,
    }

    #[test]
    fn the_command_line_is_consistent() {
        Strata::command().debug_assert();
    }

    #[test]
    fn connection_flags_go_after_the_action() {
        let parsed = Strata::try_parse_from([
            "strata",
            "topic",
            "list",
            "-b",
            "h:1",
            "-o",
            "json",
            "--user",
            "u",
            "--password",
            "p",
        ])
        .unwrap();
        let Command::Topic { conn, action } = parsed.command else {
            panic!("not a topic command");
        };
        assert!(matches!(action, TopicAction::List { internal: false }));
        assert_eq!(conn.bootstrap_server, "h:1");
        assert_eq!(conn.output.output, OutputFormat::Json);
        assert_eq!(conn.user.as_deref(), Some("u"));
        let err = Strata::try_parse_from([
            "strata",
            "group",
            "reset-offsets",
            "g",
            "--to-earliest",
            "--to-latest",
        ])
        .unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
