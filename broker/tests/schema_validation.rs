//! Broker-side schema validation through the real server: a schema
//! registered over the Schema Registry port, a topic created with the
//! validation configs, and Produce answered per partition with
//! INVALID_RECORD and record errors (v8+) for refused batches.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use clap::Parser;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use strata_broker::config::{BrokerConfig, Cli};
use strata_broker::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TIMEOUT: Duration = Duration::from_secs(20);
const USER: &str = r#"{"type":"record","name":"User","fields":[{"name":"name","type":"string"}]}"#;
const INVALID_RECORD: i16 = 87;

async fn start(dir: &std::path::Path) -> Server {
    let any = "127.0.0.1:0";
    let cli = Cli::parse_from([
        "strata",
        "--data-dir",
        dir.to_str().unwrap(),
        "--kafka-addr",
        any,
        "--advertised-addr",
        "127.0.0.1:9092",
        "--schema-registry-addr",
        any,
        "--rest-proxy-addr",
        any,
        "--admin-addr",
        any,
    ]);
    Server::start(BrokerConfig::from_cli(&cli).unwrap())
        .await
        .unwrap()
}

/// POSTs `body` to the Schema Registry and returns the response body.
async fn post(addr: SocketAddr, path: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(TIMEOUT, stream.read_to_string(&mut response))
        .await
        .unwrap()
        .unwrap();
    response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap()
}

async fn register(addr: SocketAddr, subject: &str, schema: &str) -> u32 {
    let body = serde_json::json!({ "schema": schema }).to_string();
    let answer = post(addr, &format!("/subjects/{subject}/versions"), &body).await;
    let v: serde_json::Value = serde_json::from_str(&answer).unwrap();
    v["id"].as_u64().unwrap() as u32
}

struct Client {
    stream: TcpStream,
    correlation_id: i32,
}

impl Client {
    async fn call<Req: Encodable, Resp: Decodable>(
        &mut self,
        api_key: ApiKey,
        version: i16,
        request: &Req,
    ) -> Resp {
        self.correlation_id += 1;
        let header = RequestHeader::default()
            .with_request_api_key(api_key as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation_id);
        let mut body = BytesMut::new();
        header
            .encode(&mut body, api_key.request_header_version(version))
            .unwrap();
        request.encode(&mut body, version).unwrap();
        let mut frame = (body.len() as i32).to_be_bytes().to_vec();
        frame.extend_from_slice(&body);
        self.stream.write_all(&frame).await.unwrap();
        let mut len = [0u8; 4];
        tokio::time::timeout(TIMEOUT, self.stream.read_exact(&mut len))
            .await
            .unwrap()
            .unwrap();
        let mut response = vec![0u8; i32::from_be_bytes(len) as usize];
        self.stream.read_exact(&mut response).await.unwrap();
        let mut response = Bytes::from(response);
        ResponseHeader::decode(&mut response, api_key.response_header_version(version)).unwrap();
        Resp::decode(&mut response, version).unwrap()
    }
}

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

fn framed(id: u32, body: &[u8]) -> Bytes {
    let mut out = vec![0];
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(body);
    Bytes::from(out)
}

fn batch(values: &[Bytes]) -> Bytes {
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
            sequence: i as i32 - 1,
            timestamp: strata_now(),
            key: None,
            value: Some(v.clone()),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::Lz4,
    };
    RecordBatchEncoder::encode(&mut buf, records.iter(), &options).unwrap();
    buf.freeze()
}

fn strata_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn produce(
    client: &mut Client,
    version: i16,
    topic: &str,
    partitions: Vec<(i32, Bytes)>,
) -> Vec<PartitionProduceResponse> {
    let request = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name(topic))
            .with_partition_data(
                partitions
                    .into_iter()
                    .map(|(p, records)| {
                        PartitionProduceData::default()
                            .with_index(p)
                            .with_records(Some(records))
                    })
                    .collect(),
            )]);
    let response: ProduceResponse = client.call(ApiKey::Produce, version, &request).await;
    response.responses[0].partition_responses.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_batches_get_invalid_record_and_record_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let id = register(server.schema_registry_addr(), "t-value", USER).await;
    let other = register(
        server.schema_registry_addr(),
        "u-value",
        r#"{"type":"record","name":"Other","fields":[]}"#,
    )
    .await;
    let mut client = Client {
        stream: TcpStream::connect(server.kafka_addr()).await.unwrap(),
        correlation_id: 0,
    };
    let config = |k: &str, v: &str| {
        CreatableTopicConfig::default()
            .with_name(StrBytes::from_string(k.into()))
            .with_value(Some(StrBytes::from_string(v.into())))
    };
    let request = CreateTopicsRequest::default()
        .with_timeout_ms(5000)
        .with_topics(vec![CreatableTopic::default()
            .with_name(name("t"))
            .with_num_partitions(2)
            .with_replication_factor(1)
            .with_configs(vec![
                config("confluent.value.schema.validation", "true"),
                config("strata.value.schema.validation.mode", "payload"),
            ])]);
    let created: CreateTopicsResponse = client.call(ApiKey::CreateTopics, 7, &request).await;
    assert_eq!(created.topics[0].error_code, 0);

    let good = framed(id, &[4, b'a', b'b']);
    let answers = produce(
        &mut client,
        9,
        "t",
        vec![
            (0, batch(std::slice::from_ref(&good))),
            (
                1,
                batch(&[
                    good.clone(),
                    Bytes::from_static(b"no header"),
                    framed(other, &[]),
                    framed(id, &[4, b'a']),
                ]),
            ),
        ],
    )
    .await;
    assert_eq!((answers[0].error_code, answers[0].base_offset), (0, 0));
    let refused = &answers[1];
    assert_eq!(refused.error_code, INVALID_RECORD);
    assert_eq!(refused.base_offset, -1);
    let indexes: Vec<i32> = refused
        .record_errors
        .iter()
        .map(|e| e.batch_index)
        .collect();
    assert_eq!(indexes, vec![1, 2, 3]);
    let messages: Vec<String> = refused
        .record_errors
        .iter()
        .map(|e| e.batch_index_error_message.as_deref().unwrap().to_string())
        .collect();
    assert!(
        messages[0].starts_with("value has no schema id"),
        "{messages:?}"
    );
    assert_eq!(
        messages[1],
        format!("value schema id {other} is not registered under subject t-value")
    );
    assert!(messages[2].contains("datum is truncated"), "{messages:?}");
    let summary = refused.error_message.as_deref().unwrap().to_string();
    assert!(
        summary
            .starts_with("One or more records have been rejected due to 3 record errors in total"),
        "{summary}"
    );

    // Before v8 there are no record errors, only the code.
    let old = produce(&mut client, 7, "t", vec![(1, batch(&[framed(other, &[])]))]).await;
    assert_eq!(old[0].error_code, INVALID_RECORD);

    // Nothing of the refused batches was appended.
    let after = produce(&mut client, 9, "t", vec![(1, batch(&[good]))]).await;
    assert_eq!((after[0].error_code, after[0].base_offset), (0, 0));
    server.shutdown().await;
}
