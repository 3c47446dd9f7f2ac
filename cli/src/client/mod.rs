//! A small Kafka client on `kafka-protocol`: connections by node id,
//! metadata, and routing of requests to partition leaders, group
//! coordinators and the controller as Kafka's clients route them.

mod connection;
pub(crate) mod options;
mod sasl;
mod tls;

use std::collections::{BTreeMap, HashMap};

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    BrokerId, FindCoordinatorRequest, MetadataRequest, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

pub(crate) use connection::Connection;
pub(crate) use options::ConnectOptions;

use crate::error::{CliError, Result};

/// A topic's partitions and their leaders.
#[derive(Debug, Clone)]
pub(crate) struct TopicLayout {
    pub(crate) name: String,
    /// Partition index to leader node id, in partition order.
    pub(crate) leaders: BTreeMap<i32, i32>,
}

/// Connections to the cluster, opened as requests need them.
pub(crate) struct Client {
    options: ConnectOptions,
    /// The first connection, to a bootstrap address (node id unknown).
    bootstrap: Connection,
    /// Connections by node id.
    nodes: HashMap<i32, Connection>,
    /// Node id to `host:port`, from the last Metadata answer.
    brokers: BTreeMap<i32, String>,
}

impl Client {
    /// Connects to the first bootstrap address that answers.
    pub(crate) async fn connect(options: ConnectOptions) -> Result<Client> {
        let mut last = None;
        for addr in &options.bootstrap {
            match Connection::open(addr, &options).await {
                Ok(bootstrap) => {
                    return Ok(Client {
                        options,
                        bootstrap,
                        nodes: HashMap::new(),
                        brokers: BTreeMap::new(),
                    })
                }
                // A refused login is final: another broker would refuse too.
                Err(e @ CliError::Kafka { .. }) => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| CliError::usage("no bootstrap server")))
    }

    /// The bootstrap connection, for requests any broker answers.
    pub(crate) fn any(&mut self) -> &mut Connection {
        &mut self.bootstrap
    }

    /// The connection to node `id`, opened on first use.
    pub(crate) async fn node(&mut self, id: i32) -> Result<&mut Connection> {
        if !self.nodes.contains_key(&id) {
            if self.brokers.is_empty() {
                self.metadata(Some(&[])).await?;
            }
            let addr = self
                .brokers
                .get(&id)
                .cloned()
                .ok_or_else(|| CliError::Kafka {
                    context: format!("node {id}"),
                    code: 8,
                    message: Some("the node is not in the cluster's metadata".into()),
                })?;
            let conn = Connection::open(&addr, &self.options).await?;
            self.nodes.insert(id, conn);
        }
        Ok(self.nodes.get_mut(&id).expect("inserted above"))
    }

    /// Metadata for `topics` (`None`: every topic), remembering the brokers.
    pub(crate) async fn metadata(&mut self, topics: Option<&[String]>) -> Result<MetadataResponse> {
        let response = self
            .bootstrap
            .call(|_| {
                MetadataRequest::default()
                    .with_topics(topics.map(|names| {
                        names
                            .iter()
                            .map(|n| {
                                MetadataRequestTopic::default()
                                    .with_name(Some(TopicName(StrBytes::from_string(n.clone()))))
                            })
                            .collect()
                    }))
                    .with_allow_auto_topic_creation(false)
            })
            .await?;
        self.brokers = response
            .brokers
            .iter()
            .map(|b| (b.node_id.0, format!("{}:{}", b.host.as_str(), b.port)))
            .collect();
        Ok(response)
    }

    /// The partitions and leaders of `topic`; an unknown topic is
    /// `UNKNOWN_TOPIC_OR_PARTITION`.
    pub(crate) async fn topic(&mut self, topic: &str) -> Result<TopicLayout> {
        let metadata = self.metadata(Some(&[topic.to_string()])).await?;
        let found = metadata
            .topics
            .iter()
            .find(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic))
            .ok_or_else(|| CliError::Kafka {
                context: format!("topic {topic}"),
                code: 3,
                message: None,
            })?;
        CliError::check(found.error_code, None, || format!("topic {topic}"))?;
        Ok(TopicLayout {
            name: topic.to_string(),
            leaders: found
                .partitions
                .iter()
                .map(|p| (p.partition_index, p.leader_id.0))
                .collect(),
        })
    }

    /// The connection to the leader of `partition` of `layout`.
    pub(crate) async fn leader(
        &mut self,
        layout: &TopicLayout,
        partition: i32,
    ) -> Result<&mut Connection> {
        let leader = *layout
            .leaders
            .get(&partition)
            .ok_or_else(|| CliError::Kafka {
                context: format!("partition {}-{partition}", layout.name),
                code: 3,
                message: None,
            })?;
        if leader < 0 {
            return Err(CliError::Kafka {
                context: format!("partition {}-{partition}", layout.name),
                code: 5,
                message: None,
            });
        }
        self.node(leader).await
    }

    /// The connection to the coordinator of consumer group `group`.
    pub(crate) async fn coordinator(&mut self, group: &str) -> Result<&mut Connection> {
        let version = self.bootstrap.version_of::<FindCoordinatorRequest>()?;
        let mut request = FindCoordinatorRequest::default().with_key_type(0);
        if version >= 4 {
            request.coordinator_keys = vec![StrBytes::from_string(group.to_string())];
        } else {
            request.key = StrBytes::from_string(group.to_string());
        }
        let response = self.bootstrap.send(&request, version).await?;
        let (code, message, node) = match response.coordinators.first() {
            Some(c) if version >= 4 => (c.error_code, c.error_message.clone(), c.node_id),
            _ => (
                response.error_code,
                response.error_message.clone(),
                response.node_id,
            ),
        };
        CliError::check(code, message.as_deref(), || {
            format!("coordinator of group {group}")
        })?;
        self.node(node.0).await
    }

    /// The connection to the controller (where Kafka's admin client sends
    /// topic changes), falling back to the bootstrap broker.
    pub(crate) async fn controller(&mut self) -> Result<&mut Connection> {
        let metadata = self.metadata(Some(&[])).await?;
        let BrokerId(id) = metadata.controller_id;
        if id >= 0 && self.brokers.contains_key(&id) {
            return self.node(id).await;
        }
        Ok(&mut self.bootstrap)
    }
}
