//! Integration tests: the real server on port 0, spoken to over TCP with
//! kafka-protocol's own encoders.

#[allow(dead_code)] // each test crate uses a part of it
mod common;

use bytes::{Buf, BufMut, BytesMut};
use common::*;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::Decodable;
use strata_broker::Server;
use tokio::io::AsyncWriteExt;

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
        .any(|k| k.api_key == ApiKey::ElectLeaders as i16));

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
