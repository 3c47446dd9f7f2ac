//! ACLs and SCRAM credentials over the Kafka protocol: CreateAcls,
//! DescribeAcls, DeleteAcls, Describe/AlterUserScramCredentials, their
//! survival across a restart, and what a denied principal sees. A
//! plaintext connection is `User:ANONYMOUS`.

#[allow(dead_code)] // each test crate uses a part of it
mod common;

use common::*;
use kafka_protocol::messages::alter_user_scram_credentials_request::{
    ScramCredentialDeletion, ScramCredentialUpsertion,
};
use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::describe_user_scram_credentials_request::UserName;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use strata_broker::Server;

const AUTHORIZER: (&str, &str) = (
    "authorizer.class.name",
    "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
);
const ANONYMOUS_IS_SUPER: (&str, &str) = ("super.users", "User:ANONYMOUS");

// Kafka's codes.
const TOPIC: i8 = 2;
const CLUSTER: i8 = 4;
const ANY: i8 = 1;
const MATCH: i8 = 2;
const LITERAL: i8 = 3;
const PREFIXED: i8 = 4;
const READ: i8 = 3;
const WRITE: i8 = 4;
const CREATE: i8 = 5;
const DESCRIBE: i8 = 8;
const DESCRIBE_CONFIGS: i8 = 10;
const ALLOW: i8 = 3;

fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_string())
}

fn acl(resource_type: i8, name: &str, pattern: i8, principal: &str, op: i8) -> AclCreation {
    AclCreation::default()
        .with_resource_type(resource_type)
        .with_resource_name(s(name))
        .with_resource_pattern_type(pattern)
        .with_principal(s(principal))
        .with_host(s("*"))
        .with_operation(op)
        .with_permission_type(ALLOW)
}

async fn create(client: &mut Client, creations: Vec<AclCreation>) -> Vec<i16> {
    let request = CreateAclsRequest::default().with_creations(creations);
    let response: CreateAclsResponse = client.call(ApiKey::CreateAcls, 3, &request).await;
    response.results.iter().map(|r| r.error_code).collect()
}

/// Every (name, pattern type, operation) DescribeAcls answers for a topic filter.
async fn describe_topics(
    client: &mut Client,
    name: Option<&str>,
    pattern: i8,
) -> (i16, Vec<(String, i8, i8)>) {
    let request = DescribeAclsRequest::default()
        .with_resource_type_filter(TOPIC)
        .with_resource_name_filter(name.map(s))
        .with_pattern_type_filter(pattern)
        .with_principal_filter(None)
        .with_host_filter(None)
        .with_operation(ANY)
        .with_permission_type(ANY);
    let response: DescribeAclsResponse = client.call(ApiKey::DescribeAcls, 3, &request).await;
    let mut out: Vec<_> = response
        .resources
        .iter()
        .flat_map(|r| {
            r.acls
                .iter()
                .map(|a| (r.resource_name.to_string(), r.pattern_type, a.operation))
        })
        .collect();
    out.sort();
    (response.error_code, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acls_are_created_described_deleted_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let overrides = [AUTHORIZER, ANONYMOUS_IS_SUPER];
    let server = Server::start(config(dir.path(), &overrides)).await.unwrap();
    let mut client = Client::connect(server.kafka_addr()).await;
    let codes = create(
        &mut client,
        vec![
            acl(TOPIC, "orders", LITERAL, "User:alice", READ),
            acl(TOPIC, "ord", PREFIXED, "User:alice", WRITE),
            acl(TOPIC, "*", LITERAL, "User:bob", DESCRIBE),
            acl(TOPIC, "payments", LITERAL, "User:bob", READ),
            // Invalid: the cluster has one name; a principal needs a type.
            acl(CLUSTER, "other", LITERAL, "User:alice", DESCRIBE),
            acl(TOPIC, "x", LITERAL, "alice", READ),
        ],
    )
    .await;
    assert_eq!(codes, vec![0, 0, 0, 0, 42, 42]); // INVALID_REQUEST

    let (code, all) = describe_topics(&mut client, None, ANY).await;
    assert_eq!(code, 0);
    assert_eq!(all.len(), 4);
    // MATCH: what applies to "orders": literal, prefix and wildcard.
    let (_, matching) = describe_topics(&mut client, Some("orders"), MATCH).await;
    assert_eq!(
        matching,
        vec![
            ("*".to_string(), LITERAL, DESCRIBE),
            ("ord".to_string(), PREFIXED, WRITE),
            ("orders".to_string(), LITERAL, READ),
        ]
    );
    let (_, prefixed) = describe_topics(&mut client, None, PREFIXED).await;
    assert_eq!(prefixed, vec![("ord".to_string(), PREFIXED, WRITE)]);

    // Delete bob's ACLs; the answer lists what matched.
    let request = DeleteAclsRequest::default().with_filters(vec![DeleteAclsFilter::default()
        .with_resource_type_filter(ANY)
        .with_resource_name_filter(None)
        .with_pattern_type_filter(ANY)
        .with_principal_filter(Some(s("User:bob")))
        .with_host_filter(None)
        .with_operation(ANY)
        .with_permission_type(ANY)]);
    let response: DeleteAclsResponse = client.call(ApiKey::DeleteAcls, 3, &request).await;
    assert_eq!(response.filter_results[0].error_code, 0);
    assert_eq!(response.filter_results[0].matching_acls.len(), 2);
    server.shutdown().await;

    let server = Server::start(config(dir.path(), &overrides)).await.unwrap();
    let mut client = Client::connect(server.kafka_addr()).await;
    let (_, all) = describe_topics(&mut client, None, ANY).await;
    assert_eq!(
        all,
        vec![
            ("ord".to_string(), PREFIXED, WRITE),
            ("orders".to_string(), LITERAL, READ),
        ]
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl_apis_answer_security_disabled_without_an_authorizer() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path(), &[])).await.unwrap();
    let mut client = Client::connect(server.kafka_addr()).await;
    let codes = create(&mut client, vec![acl(TOPIC, "t", LITERAL, "User:a", READ)]).await;
    assert_eq!(codes, vec![54]); // SECURITY_DISABLED
    let (code, _) = describe_topics(&mut client, None, ANY).await;
    assert_eq!(code, 54);
    server.shutdown().await;
}

async fn describe_scram(
    client: &mut Client,
    users: Option<&[&str]>,
) -> Vec<(String, i16, Vec<(i8, i32)>)> {
    let request = DescribeUserScramCredentialsRequest::default().with_users(users.map(|u| {
        u.iter()
            .map(|n| UserName::default().with_name(s(n)))
            .collect()
    }));
    let response: DescribeUserScramCredentialsResponse = client
        .call(ApiKey::DescribeUserScramCredentials, 0, &request)
        .await;
    assert_eq!(response.error_code, 0);
    let mut out: Vec<_> = response
        .results
        .iter()
        .map(|r| {
            (
                r.user.to_string(),
                r.error_code,
                r.credential_infos
                    .iter()
                    .map(|c| (c.mechanism, c.iterations))
                    .collect(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scram_credentials_are_altered_described_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), &[]);
    cfg.admin_user = Some(("admin".into(), "admin-secret".into()));
    let server = Server::start(cfg.clone()).await.unwrap();
    let mut client = Client::connect(server.kafka_addr()).await;
    let upsert = |user: &str, mechanism: i8, iterations: i32| {
        ScramCredentialUpsertion::default()
            .with_name(s(user))
            .with_mechanism(mechanism)
            .with_iterations(iterations)
            .with_salt(bytes::Bytes::from_static(b"salt"))
            .with_salted_password(bytes::Bytes::from_static(&[7; 32]))
    };
    let request = AlterUserScramCredentialsRequest::default()
        .with_upsertions(vec![
            upsert("alice", 1, 4096),
            upsert("carol", 2, 100), // too few iterations
            upsert("dave", 3, 8192), // unknown mechanism
            upsert("", 1, 8192),     // empty user
        ])
        .with_deletions(vec![
            ScramCredentialDeletion::default()
                .with_name(s("erin"))
                .with_mechanism(1), // nothing to delete
        ]);
    let response: AlterUserScramCredentialsResponse = client
        .call(ApiKey::AlterUserScramCredentials, 0, &request)
        .await;
    let mut results: Vec<_> = response
        .results
        .iter()
        .map(|r| (r.user.to_string(), r.error_code))
        .collect();
    results.sort();
    // UNACCEPTABLE_CREDENTIAL 93, UNSUPPORTED_SASL_MECHANISM 33, RESOURCE_NOT_FOUND 91.
    assert_eq!(
        results,
        vec![
            ("".into(), 93),
            ("alice".into(), 0),
            ("carol".into(), 93),
            ("dave".into(), 33),
            ("erin".into(), 91)
        ]
    );
    let described = describe_scram(&mut client, Some(&["alice", "nobody", "alice"])).await;
    assert_eq!(
        described,
        vec![
            ("alice".into(), 92, vec![]), // DUPLICATE_RESOURCE
            ("nobody".into(), 91, vec![]),
        ]
    );
    server.shutdown().await;

    let server = Server::start(cfg).await.unwrap();
    let mut client = Client::connect(server.kafka_addr()).await;
    assert_eq!(
        describe_scram(&mut client, None).await,
        vec![
            ("admin".into(), 0, vec![(1, 8192), (2, 8192)]),
            ("alice".into(), 0, vec![(1, 4096)]),
        ]
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_principal_gets_authorization_errors_and_misses_topics() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path(), &[AUTHORIZER, ANONYMOUS_IS_SUPER]))
        .await
        .unwrap();
    let mut client = Client::connect(server.kafka_addr()).await;
    create_topic(&mut client, "visible", 1).await;
    create_topic(&mut client, "secret", 2).await;
    let codes = create(
        &mut client,
        vec![acl(TOPIC, "visible", LITERAL, "User:ANONYMOUS", WRITE)],
    )
    .await;
    assert_eq!(codes, vec![0]);
    let codes = create(
        &mut client,
        vec![
            acl(TOPIC, "made", PREFIXED, "User:ANONYMOUS", CREATE),
            acl(
                TOPIC,
                "made-shown",
                LITERAL,
                "User:ANONYMOUS",
                DESCRIBE_CONFIGS,
            ),
        ],
    )
    .await;
    assert_eq!(codes, vec![0, 0]);
    server.shutdown().await;

    // ANONYMOUS is no longer a super user: only its ACLs count.
    let server = Server::start(config(dir.path(), &[AUTHORIZER]))
        .await
        .unwrap();
    let mut client = Client::connect(server.kafka_addr()).await;
    produce(&mut client, "visible", batch(&["ok"], 1)).await;
    let request = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name("secret"))
            .with_partition_data(
                (0..2)
                    .map(|p| {
                        PartitionProduceData::default()
                            .with_index(p)
                            .with_records(Some(batch(&["no"], 1)))
                    })
                    .collect(),
            )]);
    let response: ProduceResponse = client.call(ApiKey::Produce, 9, &request).await;
    let codes: Vec<_> = response.responses[0]
        .partition_responses
        .iter()
        .map(|p| p.error_code)
        .collect();
    assert_eq!(codes, vec![29, 29]); // TOPIC_AUTHORIZATION_FAILED

    // All topics: "secret" is left out. Named: it is refused.
    let all: MetadataResponse = client
        .call(
            ApiKey::Metadata,
            12,
            &MetadataRequest::default().with_topics(None),
        )
        .await;
    let names: Vec<_> = all
        .topics
        .iter()
        .map(|t| t.name.as_ref().unwrap().to_string())
        .collect();
    assert_eq!(names, vec!["visible".to_string()]);
    let named: MetadataResponse = client
        .call(
            ApiKey::Metadata,
            12,
            &MetadataRequest::default().with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(name("secret")))
            ])),
        )
        .await;
    assert_eq!(named.topics[0].error_code, 29);
    // Authorized operations: WRITE, and DESCRIBE which WRITE implies.
    let ops: MetadataResponse = client
        .call(
            ApiKey::Metadata,
            12,
            &MetadataRequest::default()
                .with_topics(None)
                .with_include_topic_authorized_operations(true),
        )
        .await;
    assert_eq!(
        ops.topics[0].topic_authorized_operations,
        (1 << 4) | (1 << 8)
    );
    // Auto-creation needs CREATE on the cluster or the topic.
    let created: MetadataResponse = client
        .call(
            ApiKey::Metadata,
            12,
            &MetadataRequest::default()
                .with_allow_auto_topic_creation(true)
                .with_topics(Some(vec![
                    MetadataRequestTopic::default().with_name(Some(name("visible2")))
                ])),
        )
        .await;
    assert_eq!(created.topics[0].error_code, 29);
    // CreateAcls needs ALTER on the cluster.
    let codes = create(
        &mut client,
        vec![acl(TOPIC, "secret", LITERAL, "User:ANONYMOUS", READ)],
    )
    .await;
    assert_eq!(codes, vec![31]); // CLUSTER_AUTHORIZATION_FAILED

    // CreateTopics with Create but without DescribeConfigs: created, but as
    // Kafka's controller answers, without its partition count or configs.
    let request = CreateTopicsRequest::default()
        .with_timeout_ms(10_000)
        .with_topics(
            ["made-hidden", "made-shown"]
                .iter()
                .map(|t| {
                    CreatableTopic::default()
                        .with_name(name(t))
                        .with_num_partitions(2)
                        .with_replication_factor(1)
                })
                .collect(),
        );
    let response: CreateTopicsResponse = client.call(ApiKey::CreateTopics, 7, &request).await;
    let hidden = &response.topics[0];
    assert_eq!((hidden.error_code, hidden.topic_config_error_code), (0, 29));
    assert_eq!((hidden.num_partitions, hidden.replication_factor), (-1, -1));
    assert_eq!(hidden.configs.as_ref().map(Vec::len), Some(0));
    let shown = &response.topics[1];
    assert_eq!((shown.error_code, shown.topic_config_error_code), (0, 0));
    assert_eq!(shown.num_partitions, 2);
    assert!(shown.configs.as_ref().is_some_and(|c| !c.is_empty()));
    server.shutdown().await;
}
