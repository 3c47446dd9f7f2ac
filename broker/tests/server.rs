//! Integration tests: the real server on port 0, spoken to over TCP with
//! kafka-protocol's own encoders.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use strata_broker::config::BrokerConfig;
use strata_broker::properties::BrokerProperties;
use strata_broker::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TIMEOUT: Duration = Duration::from_secs(20);

fn config(dir: &Path, overrides: &[(&str, &str)]) -> BrokerConfig {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let props: BTreeMap<String, String> = overrides
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    BrokerConfig {
        data_dir: dir.to_path_buf(),
        kafka_addr: any,
        advertised_host: "127.0.0.1".into(),
        advertised_port: None,
        schema_registry_addr: any,
        rest_proxy_addr: any,
        admin_addr: any,
        properties: BrokerProperties::from_map(props).unwrap(),
        tier: None,
    }
}

struct Client {
    stream: TcpStream,
    correlation_id: i32,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Self {
        Client {
            stream: TcpStream::connect(addr).await.unwrap(),
            correlation_id: 0,
        }
    }

    async fn call<Req, Resp>(&mut self, api_key: ApiKey, version: i16, request: &Req) -> Resp
    where
        Req: Encodable,
        Resp: Decodable,
    {
        self.correlation_id += 1;
        let header = RequestHeader::default()
            .with_request_api_key(api_key as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation_id)
            .with_client_id(Some(StrBytes::from_static_str("it")));
        let mut body = BytesMut::new();
        header
            .encode(&mut body, api_key.request_header_version(version))
            .unwrap();
        request.encode(&mut body, version).unwrap();
        let mut frame = BytesMut::new();
        frame.put_i32(body.len() as i32);
        frame.extend_from_slice(&body);
        tokio::time::timeout(TIMEOUT, self.stream.write_all(&frame))
            .await
            .unwrap()
            .unwrap();
        let mut response = self.read_frame().await.expect("a response");
        let header =
            ResponseHeader::decode(&mut response, api_key.response_header_version(version))
                .unwrap();
        assert_eq!(header.correlation_id, self.correlation_id);
        Resp::decode(&mut response, version).unwrap()
    }

    async fn read_frame(&mut self) -> Option<Bytes> {
        let mut len = [0u8; 4];
        tokio::time::timeout(TIMEOUT, self.stream.read_exact(&mut len))
            .await
            .unwrap()
            .ok()?;
        let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
        tokio::time::timeout(TIMEOUT, self.stream.read_exact(&mut body))
            .await
            .unwrap()
            .ok()?;
        Some(Bytes::from(body))
    }
}

fn batch(values: &[&str], timestamp: i64) -> Bytes {
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // kafka-protocol splits batches where offset - sequence changes.
            sequence: i as i32 - 1,
            timestamp: timestamp + i as i64,
            key: Some(Bytes::from(format!("k{i}"))),
            value: Some(Bytes::copy_from_slice(v.as_bytes())),
            headers: IndexMap::new(),
        })
        .collect();
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut buf, records.iter(), &options).unwrap();
    buf.freeze()
}

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

async fn create_topic(client: &mut Client, topic: &str, partitions: i32) {
    let request = CreateTopicsRequest::default()
        .with_timeout_ms(5000)
        .with_topics(vec![CreatableTopic::default()
            .with_name(name(topic))
            .with_num_partitions(partitions)
            .with_replication_factor(1)]);
    let response: CreateTopicsResponse = client.call(ApiKey::CreateTopics, 7, &request).await;
    assert_eq!(
        response.topics[0].error_code, 0,
        "{:?}",
        response.topics[0].error_message
    );
}

async fn produce(client: &mut Client, topic: &str, records: Bytes) -> i64 {
    let request = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name(topic))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(records))])]);
    let response: ProduceResponse = client.call(ApiKey::Produce, 9, &request).await;
    let partition = &response.responses[0].partition_responses[0];
    assert_eq!(partition.error_code, 0, "{:?}", partition.error_message);
    partition.base_offset
}

async fn fetch_values(client: &mut Client, topic: &str, offset: i64) -> Vec<(i64, String)> {
    let request = FetchRequest::default()
        .with_max_wait_ms(100)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(name(topic))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(1 << 20)])]);
    let response: FetchResponse = client.call(ApiKey::Fetch, 12, &request).await;
    let partition = &response.responses[0].partitions[0];
    assert_eq!(partition.error_code, 0);
    let mut records = partition.records.clone().unwrap_or_default();
    let mut out = Vec::new();
    while records.has_remaining() {
        for r in RecordBatchDecoder::decode(&mut records).unwrap().records {
            out.push((
                r.offset,
                String::from_utf8(r.value.unwrap().to_vec()).unwrap(),
            ));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_fetch_and_restart_keep_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path(), &[])).await.unwrap();
    let mut client = Client::connect(server.kafka_addr()).await;
    create_topic(&mut client, "orders", 1).await;
    assert_eq!(
        produce(&mut client, "orders", batch(&["a", "b"], 1_000)).await,
        0
    );
    assert_eq!(
        produce(&mut client, "orders", batch(&["c"], 2_000)).await,
        2
    );
    let expected = vec![
        (0, "a".to_string()),
        (1, "b".to_string()),
        (2, "c".to_string()),
    ];
    assert_eq!(fetch_values(&mut client, "orders", 0).await, expected);
    drop(client);
    server.shutdown().await;

    let server = Server::start(config(dir.path(), &[])).await.unwrap();
    let mut client = Client::connect(server.kafka_addr()).await;
    assert_eq!(fetch_values(&mut client, "orders", 0).await, expected);
    assert_eq!(
        produce(&mut client, "orders", batch(&["d"], 3_000)).await,
        3
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_versions_advertises_only_what_is_served_and_survives_unknown_versions() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path(), &[])).await.unwrap();
    let mut client = Client::connect(server.kafka_addr()).await;
    let response: ApiVersionsResponse = client
        .call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default())
        .await;
    let produce = response
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::Produce as i16)
        .unwrap();
    assert_eq!((produce.min_version, produce.max_version), (3, 12));
    let init = response
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::InitProducerId as i16)
        .unwrap();
    assert_eq!((init.min_version, init.max_version), (0, 5));
    // Not served (yet): not advertised.
    assert!(!response
        .api_keys
        .iter()
        .any(|k| k.api_key == ApiKey::SaslHandshake as i16));

    // Version 99: a v0 answer with UNSUPPORTED_VERSION, and the connection stays open.
    let mut frame = BytesMut::new();
    frame.put_i32(10);
    frame.put_i16(ApiKey::ApiVersions as i16);
    frame.put_i16(99);
    frame.put_i32(777);
    frame.put_i16(-1);
    client.stream.write_all(&frame).await.unwrap();
    let mut body = client.read_frame().await.unwrap();
    assert_eq!(body.get_i32(), 777);
    let v0 = ApiVersionsResponse::decode(&mut body, 0).unwrap();
    assert_eq!(v0.error_code, 35);
    assert!(!v0.api_keys.is_empty());
    let again: ApiVersionsResponse = client
        .call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default())
        .await;
    assert_eq!(again.error_code, 0);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_close_only_their_connection() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path(), &[("socket.request.max.bytes", "1024")]))
        .await
        .unwrap();
    for bad in [
        (-1i32).to_be_bytes().to_vec(),
        0i32.to_be_bytes().to_vec(),
        2048i32.to_be_bytes().to_vec(),
        {
            // An unknown api key in an otherwise well-formed frame.
            let mut f = vec![];
            f.extend_from_slice(&8i32.to_be_bytes());
            f.extend_from_slice(&999i16.to_be_bytes());
            f.extend_from_slice(&0i16.to_be_bytes());
            f.extend_from_slice(&1i32.to_be_bytes());
            f
        },
    ] {
        let mut client = Client::connect(server.kafka_addr()).await;
        client.stream.write_all(&bad).await.unwrap();
        assert!(
            client.read_frame().await.is_none(),
            "connection should be closed for {bad:?}"
        );
    }
    let mut healthy = Client::connect(server.kafka_addr()).await;
    let response: ApiVersionsResponse = healthy
        .call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default())
        .await;
    assert_eq!(response.error_code, 0);
    server.shutdown().await;
}

/// TxnOffsetCommit belongs to a transaction: refused outside one, pending
/// inside one (invisible to OffsetFetch, UNSTABLE_OFFSET_COMMIT with
/// require_stable), and visible once EndTxn commits it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn txn_offset_commit_is_visible_only_once_its_transaction_commits() {
    use kafka_protocol::messages::offset_fetch_request::{
        OffsetFetchRequestGroup, OffsetFetchRequestTopics,
    };
    use kafka_protocol::messages::txn_offset_commit_request::{
        TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
    };

    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(
        dir.path(),
        &[
            ("offsets.topic.num.partitions", "1"),
            ("transaction.state.log.num.partitions", "1"),
        ],
    ))
    .await
    .unwrap();
    let mut client = Client::connect(server.kafka_addr()).await;
    create_topic(&mut client, "in", 1).await;
    let txn_id = || TransactionalId(StrBytes::from_static_str("tx"));
    let group = || GroupId(StrBytes::from_static_str("g"));
    let partition = |index: i32| {
        TxnOffsetCommitRequestPartition::default()
            .with_partition_index(index)
            .with_committed_offset(42)
            .with_committed_leader_epoch(-1)
    };
    let commit_offsets = |producer_id: i64, epoch: i16| {
        TxnOffsetCommitRequest::default()
            .with_transactional_id(txn_id())
            .with_group_id(group())
            .with_producer_id(ProducerId(producer_id))
            .with_producer_epoch(epoch)
            .with_generation_id(-1)
            .with_topics(vec![
                TxnOffsetCommitRequestTopic::default()
                    .with_name(name("in"))
                    .with_partitions(vec![partition(0), partition(9)]),
                TxnOffsetCommitRequestTopic::default()
                    .with_name(name("nope"))
                    .with_partitions(vec![partition(0)]),
            ])
    };
    let codes = |response: &TxnOffsetCommitResponse| -> Vec<Vec<i16>> {
        response
            .topics
            .iter()
            .map(|t| t.partitions.iter().map(|p| p.error_code).collect())
            .collect()
    };
    let init: InitProducerIdResponse = client
        .call(
            ApiKey::InitProducerId,
            4,
            &InitProducerIdRequest::default()
                .with_transactional_id(Some(txn_id()))
                .with_transaction_timeout_ms(60_000)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1),
        )
        .await;
    assert_eq!(init.error_code, 0);
    let (pid, epoch) = (init.producer_id.0, init.producer_epoch);

    // No transaction yet holds the group's offsets partition: INVALID_TXN_STATE (48).
    let outside: TxnOffsetCommitResponse = client
        .call(ApiKey::TxnOffsetCommit, 3, &commit_offsets(pid, epoch))
        .await;
    assert_eq!(codes(&outside), vec![vec![48, 3], vec![3]]);

    let added: AddOffsetsToTxnResponse = client
        .call(
            ApiKey::AddOffsetsToTxn,
            3,
            &AddOffsetsToTxnRequest::default()
                .with_transactional_id(txn_id())
                .with_producer_id(ProducerId(pid))
                .with_producer_epoch(epoch)
                .with_group_id(group()),
        )
        .await;
    assert_eq!(added.error_code, 0);
    for version in [0, 3] {
        let response: TxnOffsetCommitResponse = client
            .call(
                ApiKey::TxnOffsetCommit,
                version,
                &commit_offsets(pid, epoch),
            )
            .await;
        assert_eq!(codes(&response), vec![vec![0, 3], vec![3]], "v{version}");
    }
    let fetch = |require_stable: bool| {
        OffsetFetchRequest::default()
            .with_require_stable(require_stable)
            .with_groups(vec![OffsetFetchRequestGroup::default()
                .with_group_id(group())
                .with_topics(Some(vec![OffsetFetchRequestTopics::default()
                    .with_name(name("in"))
                    .with_partition_indexes(vec![0])]))])
    };
    for (require_stable, expected) in [(false, (-1, 0)), (true, (-1, 88))] {
        let response: OffsetFetchResponse = client
            .call(ApiKey::OffsetFetch, 8, &fetch(require_stable))
            .await;
        let p = &response.groups[0].topics[0].partitions[0];
        assert_eq!((p.committed_offset, p.error_code), expected);
    }
    let ended: EndTxnResponse = client
        .call(
            ApiKey::EndTxn,
            3,
            &EndTxnRequest::default()
                .with_transactional_id(txn_id())
                .with_producer_id(ProducerId(pid))
                .with_producer_epoch(epoch)
                .with_committed(true),
        )
        .await;
    assert_eq!(ended.error_code, 0);
    let response: OffsetFetchResponse = client.call(ApiKey::OffsetFetch, 8, &fetch(true)).await;
    let p = &response.groups[0].topics[0].partitions[0];
    assert_eq!((p.committed_offset, p.error_code), (42, 0));
    server.shutdown().await;
}
