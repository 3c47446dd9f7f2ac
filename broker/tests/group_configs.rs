//! GROUP (32) and CLIENT_METRICS (16) config resources over the Kafka
//! protocol, as Kafka 4.1 serves them: authorization on the group or the
//! cluster, validation against the broker's `group.consumer.*` bounds,
//! durability across a restart, and the group coordinator honouring a
//! group's session timeout and heartbeat interval.

#[allow(dead_code)] // each test crate uses a part of it
mod common;

use std::time::Duration;

use common::*;
use kafka_protocol::messages::alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request as inc;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use strata_broker::Server;

const AUTHORIZER: (&str, &str) = (
    "authorizer.class.name",
    "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
);
const ANONYMOUS_IS_SUPER: (&str, &str) = ("super.users", "User:ANONYMOUS");
const GROUP: i8 = 32;
const CLIENT_METRICS: i8 = 16;
const BROKER_LOGGER: i8 = 8;
const ACL_GROUP: i8 = 3;
const LITERAL: i8 = 3;
const DESCRIBE_CONFIGS: i8 = 10;
const ALLOW: i8 = 3;
const INVALID_CONFIG: i16 = 40;
const INVALID_REQUEST: i16 = 42;
const GROUP_DENIED: i16 = 30;
const CLUSTER_DENIED: i16 = 31;
const DYNAMIC_GROUP_CONFIG: i8 = 8;
const DEFAULT_CONFIG: i8 = 5;
const SESSION: &str = "consumer.session.timeout.ms";
const HEARTBEAT: &str = "consumer.heartbeat.interval.ms";

fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_string())
}

/// (error code, message, [(name, value, source)]) of each resource.
type Described = Vec<(i16, Option<String>, Vec<(String, String, i8)>)>;

async fn describe(client: &mut Client, resources: &[(i8, &str)]) -> Described {
    let request = DescribeConfigsRequest::default().with_resources(
        resources
            .iter()
            .map(|(t, n)| {
                DescribeConfigsResource::default()
                    .with_resource_type(*t)
                    .with_resource_name(s(n))
            })
            .collect(),
    );
    let response: DescribeConfigsResponse = client.call(ApiKey::DescribeConfigs, 4, &request).await;
    response
        .results
        .iter()
        .map(|r| {
            let configs = r
                .configs
                .iter()
                .map(|c| {
                    let value = c.value.as_ref().map(|v| v.to_string()).unwrap_or_default();
                    (c.name.to_string(), value, c.config_source)
                })
                .collect();
            (
                r.error_code,
                r.error_message.as_ref().map(|m| m.to_string()),
                configs,
            )
        })
        .collect()
}

/// IncrementalAlterConfigs SET of `(name, value)` on one resource: (code, message).
async fn set(
    client: &mut Client,
    resource_type: i8,
    name: &str,
    configs: &[(&str, &str)],
) -> (i16, Option<String>) {
    let request = IncrementalAlterConfigsRequest::default().with_resources(vec![
        inc::AlterConfigsResource::default()
            .with_resource_type(resource_type)
            .with_resource_name(s(name))
            .with_configs(
                configs
                    .iter()
                    .map(|(k, v)| {
                        inc::AlterableConfig::default()
                            .with_name(s(k))
                            .with_config_operation(0)
                            .with_value(Some(s(v)))
                    })
                    .collect(),
            ),
    ]);
    let response: IncrementalAlterConfigsResponse = client
        .call(ApiKey::IncrementalAlterConfigs, 1, &request)
        .await;
    let r = &response.responses[0];
    (
        r.error_code,
        r.error_message.as_ref().map(|m| m.to_string()),
    )
}

/// Legacy AlterConfigs of one resource: (code, message).
async fn replace(
    client: &mut Client,
    resource_type: i8,
    name: &str,
    configs: &[(&str, &str)],
) -> (i16, Option<String>) {
    let request =
        AlterConfigsRequest::default().with_resources(vec![AlterConfigsResource::default()
            .with_resource_type(resource_type)
            .with_resource_name(s(name))
            .with_configs(
                configs
                    .iter()
                    .map(|(k, v)| {
                        AlterableConfig::default()
                            .with_name(s(k))
                            .with_value(Some(s(v)))
                    })
                    .collect(),
            )]);
    let response: AlterConfigsResponse = client.call(ApiKey::AlterConfigs, 2, &request).await;
    let r = &response.responses[0];
    (
        r.error_code,
        r.error_message.as_ref().map(|m| m.to_string()),
    )
}

fn value_of(described: &Described, index: usize, name: &str) -> (String, i8) {
    let (code, message, configs) = &described[index];
    assert_eq!(*code, 0, "{message:?}");
    let (_, value, source) = configs.iter().find(|(n, _, _)| n == name).unwrap();
    (value.clone(), *source)
}

#[tokio::test]
async fn group_configs_are_validated_stored_authorized_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path(), &[AUTHORIZER, ANONYMOUS_IS_SUPER]))
        .await
        .unwrap();
    let mut client = Client::connect(server.kafka_addr()).await;

    // A group that does not exist is described with the broker defaults.
    let d = describe(&mut client, &[(GROUP, "g1")]).await;
    assert_eq!(value_of(&d, 0, SESSION), ("45000".into(), DEFAULT_CONFIG));
    assert_eq!(value_of(&d, 0, HEARTBEAT), ("5000".into(), DEFAULT_CONFIG));

    assert_eq!(
        set(&mut client, GROUP, "g1", &[(SESSION, "50000")]).await,
        (0, None)
    );
    let d = describe(&mut client, &[(GROUP, "g1")]).await;
    assert_eq!(
        value_of(&d, 0, SESSION),
        ("50000".into(), DYNAMIC_GROUP_CONFIG)
    );

    let (code, message) = set(&mut client, GROUP, "g1", &[(SESSION, "30000")]).await;
    assert_eq!(code, INVALID_CONFIG);
    assert!(message
        .unwrap()
        .contains("group.consumer.min.session.timeout.ms"));
    let (code, message) = set(
        &mut client,
        GROUP,
        "g1",
        &[("share.session.timeout.ms", "45000")],
    )
    .await;
    assert_eq!(code, INVALID_CONFIG);
    assert!(message.unwrap().contains("share groups"));
    let (code, _) = replace(
        &mut client,
        GROUP,
        "g1",
        &[("streams.num.standby.replicas", "1")],
    )
    .await;
    assert_eq!(code, INVALID_CONFIG);
    let (code, _) = set(&mut client, GROUP, "", &[(SESSION, "50000")]).await;
    assert_eq!(code, INVALID_REQUEST);
    // Legacy AlterConfigs takes GROUP too, and replaces the whole set.
    assert_eq!(
        replace(&mut client, GROUP, "g2", &[(HEARTBEAT, "6000")]).await,
        (0, None)
    );

    // CLIENT_METRICS: authorized, then refused; legacy AlterConfigs refuses BROKER_LOGGER first.
    let (code, message) = set(
        &mut client,
        CLIENT_METRICS,
        "sub",
        &[("interval.ms", "1000")],
    )
    .await;
    assert_eq!(code, INVALID_REQUEST);
    assert!(message.unwrap().contains("no client metrics subscriptions"));
    let d = describe(&mut client, &[(CLIENT_METRICS, "sub")]).await;
    assert_eq!(d[0].0, INVALID_REQUEST);
    let (code, message) = replace(&mut client, BROKER_LOGGER, "1", &[]).await;
    assert_eq!(
        (code, message.as_deref()),
        (INVALID_REQUEST, Some("Unknown resource type 8"))
    );

    let acl = AclCreation::default()
        .with_resource_type(ACL_GROUP)
        .with_resource_name(s("g1"))
        .with_resource_pattern_type(LITERAL)
        .with_principal(s("User:ANONYMOUS"))
        .with_host(s("*"))
        .with_operation(DESCRIBE_CONFIGS)
        .with_permission_type(ALLOW);
    let request = CreateAclsRequest::default().with_creations(vec![acl]);
    let response: CreateAclsResponse = client.call(ApiKey::CreateAcls, 3, &request).await;
    assert_eq!(
        response.results[0].error_code, 0,
        "{:?}",
        response.results[0].error_message
    );
    server.shutdown().await;

    // ANONYMOUS is no longer a super user: only its ACLs count.
    let server = Server::start(config(dir.path(), &[AUTHORIZER]))
        .await
        .unwrap();
    let mut client = Client::connect(server.kafka_addr()).await;
    let d = describe(
        &mut client,
        &[(GROUP, "g1"), (GROUP, "g2"), (CLIENT_METRICS, "sub")],
    )
    .await;
    assert_eq!(
        value_of(&d, 0, SESSION),
        ("50000".into(), DYNAMIC_GROUP_CONFIG)
    );
    assert_eq!(
        (d[1].0, d[1].1.as_deref()),
        (GROUP_DENIED, Some("Group authorization failed."))
    );
    assert_eq!(d[2].0, CLUSTER_DENIED);
    assert_eq!(
        set(&mut client, GROUP, "g1", &[(SESSION, "55000")]).await.0,
        GROUP_DENIED
    );
    assert_eq!(replace(&mut client, GROUP, "g1", &[]).await.0, GROUP_DENIED);
    assert_eq!(
        set(&mut client, CLIENT_METRICS, "sub", &[]).await.0,
        CLUSTER_DENIED
    );
    server.shutdown().await;
}

async fn join(
    client: &mut Client,
    group: &str,
    member: &str,
    topic: &str,
) -> ConsumerGroupHeartbeatResponse {
    let request = ConsumerGroupHeartbeatRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_member_id(s(member))
        .with_member_epoch(0)
        .with_rebalance_timeout_ms(30_000)
        .with_subscribed_topic_names(Some(vec![name(topic)]))
        .with_topic_partitions(Some(vec![]));
    client
        .call(ApiKey::ConsumerGroupHeartbeat, 1, &request)
        .await
}

async fn members(client: &mut Client, group: &str) -> usize {
    let request = ConsumerGroupDescribeRequest::default().with_group_ids(vec![GroupId(s(group))]);
    let response: ConsumerGroupDescribeResponse = client
        .call(ApiKey::ConsumerGroupDescribe, 0, &request)
        .await;
    response.groups[0].members.len()
}

#[tokio::test]
async fn the_coordinator_honours_a_groups_heartbeat_interval_and_session_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let bounds = [
        ("group.consumer.min.session.timeout.ms", "1000"),
        ("group.consumer.min.heartbeat.interval.ms", "100"),
    ];
    let server = Server::start(config(dir.path(), &bounds)).await.unwrap();
    let mut client = Client::connect(server.kafka_addr()).await;
    create_topic(&mut client, "t", 1).await;
    let fast = [(SESSION, "1500"), (HEARTBEAT, "500")];
    assert_eq!(set(&mut client, GROUP, "fast", &fast).await, (0, None));

    let answered = join(&mut client, "fast", "m-fast", "t").await;
    assert_eq!(
        (answered.error_code, answered.heartbeat_interval_ms),
        (0, 500)
    );
    let answered = join(&mut client, "slow", "m-slow", "t").await;
    assert_eq!(
        (answered.error_code, answered.heartbeat_interval_ms),
        (0, 5000)
    );
    assert_eq!(
        (
            members(&mut client, "fast").await,
            members(&mut client, "slow").await
        ),
        (1, 1)
    );

    // Nobody heartbeats: the fast group's member is gone after its 1.5 s, the other stays.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while members(&mut client, "fast").await > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "member of 'fast' never expired"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(members(&mut client, "slow").await, 1);
    server.shutdown().await;
}
