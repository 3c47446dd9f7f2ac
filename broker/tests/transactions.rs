//! Integration tests of transactions over the raw protocol: transactional
//! offset commits and the transaction version 2 flow (KIP-890).

#[allow(dead_code)] // each test crate uses a part of it
mod common;

use common::*;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use strata_broker::Server;

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
    // EndTxn answers once the commit is decided (as Kafka's does); the
    // offsets apply with the markers just after, and a stable read says
    // UNSTABLE_OFFSET_COMMIT (88) until then, as Kafka's does.
    let stable = settled(
        async || {
            let response: OffsetFetchResponse =
                client.call(ApiKey::OffsetFetch, 8, &fetch(true)).await;
            let p = &response.groups[0].topics[0].partitions[0];
            (p.committed_offset, p.error_code)
        },
        |stable| *stable != (-1, 88),
    )
    .await;
    assert_eq!(stable, (42, 0));
    server.shutdown().await;
}

/// A transactional batch of `values` from `producer_id` at `epoch`,
/// sequences from 0.
fn transactional_batch(values: &[&str], producer_id: i64, epoch: i16) -> bytes::Bytes {
    use kafka_protocol::indexmap::IndexMap;
    use kafka_protocol::records::{
        Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
    };
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Record {
            transactional: true,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id,
            producer_epoch: epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: i as i32,
            timestamp: 1_700_000_000_000,
            key: None,
            value: Some(bytes::Bytes::copy_from_slice(v.as_bytes())),
            headers: IndexMap::new(),
        })
        .collect();
    let mut buf = bytes::BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut buf, records.iter(), &options).unwrap();
    buf.freeze()
}

async fn produce_transactional(
    client: &mut Client,
    version: i16,
    transactional_id: &str,
    records: bytes::Bytes,
) -> i16 {
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    let request = ProduceRequest::default()
        .with_transactional_id(Some(TransactionalId(StrBytes::from_string(
            transactional_id.to_string(),
        ))))
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name("out"))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(records))])]);
    let response: ProduceResponse = client.call(ApiKey::Produce, version, &request).await;
    response.responses[0].partition_responses[0].error_code
}

async fn latest(client: &mut Client, isolation_level: i8) -> i64 {
    use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
    let request = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_isolation_level(isolation_level)
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(name("out"))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_timestamp(-1)])]);
    let response: ListOffsetsResponse = client.call(ApiKey::ListOffsets, 5, &request).await;
    response.topics[0].partitions[0].offset
}

/// The last of `read`'s answers, read again every 10 ms until `done` holds
/// of one or 5 s pass: EndTxn answers once the outcome is decided, and its
/// markers (which make it visible) follow within milliseconds.
async fn settled<T>(mut read: impl AsyncFnMut() -> T, done: impl Fn(&T) -> bool) -> T {
    let mut answer = read().await;
    for _ in 0..500 {
        if done(&answer) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        answer = read().await;
    }
    answer
}

/// Transaction version 2 (KIP-890), as Kafka 4.1 finalizes it: ApiVersions
/// says so, Produce v12 adds its partition to the transaction without
/// AddPartitionsToTxn, EndTxn v5 bumps the epoch and returns it, and the
/// records become visible to read_committed only then. Older Produce
/// versions still need the partition added first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_version_2_adds_partitions_implicitly_and_bumps_the_epoch_at_end() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(
        dir.path(),
        &[("transaction.state.log.num.partitions", "1")],
    ))
    .await
    .unwrap();
    let mut client = Client::connect(server.kafka_addr()).await;
    let versions: ApiVersionsResponse = client
        .call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default())
        .await;
    let tv = versions
        .finalized_features
        .iter()
        .find(|f| f.name.as_str() == "transaction.version")
        .expect("transaction.version is finalized");
    assert_eq!((tv.min_version_level, tv.max_version_level), (2, 2));
    assert!(versions.finalized_features_epoch >= 0);

    create_topic(&mut client, "out", 1).await;
    let init: InitProducerIdResponse = client
        .call(
            ApiKey::InitProducerId,
            5,
            &InitProducerIdRequest::default()
                .with_transactional_id(Some(TransactionalId(StrBytes::from_static_str("tv2"))))
                .with_transaction_timeout_ms(60_000)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1),
        )
        .await;
    assert_eq!(init.error_code, 0);
    let (pid, epoch) = (init.producer_id.0, init.producer_epoch);

    let records = transactional_batch(&["a", "b"], pid, epoch);
    assert_eq!(
        produce_transactional(&mut client, 12, "tv2", records).await,
        0
    );
    assert_eq!(
        latest(&mut client, 0).await,
        2,
        "read_uncommitted sees the records"
    );
    assert_eq!(
        latest(&mut client, 1).await,
        0,
        "the open transaction holds the LSO"
    );

    let ended: EndTxnResponse = client
        .call(
            ApiKey::EndTxn,
            5,
            &EndTxnRequest::default()
                .with_transactional_id(TransactionalId(StrBytes::from_static_str("tv2")))
                .with_producer_id(ProducerId(pid))
                .with_producer_epoch(epoch)
                .with_committed(true),
        )
        .await;
    assert_eq!(ended.error_code, 0);
    assert_eq!(
        (ended.producer_id.0, ended.producer_epoch),
        (pid, epoch + 1)
    );
    // Two records and the COMMIT marker, all stable once the marker is
    // durable (EndTxn answers before it, as Kafka's does).
    assert_eq!(
        settled(async || latest(&mut client, 1).await, |end| *end >= 3).await,
        3
    );
    // The records, then the marker (a control record consumers skip).
    let values: Vec<String> = fetch_values(&mut client, "out", 0)
        .await
        .into_iter()
        .filter(|&(offset, _)| offset < 2)
        .map(|(_, v)| v)
        .collect();
    assert_eq!(values, ["a", "b"]);

    // Produce v11 is transaction version 1: its partition must be added first.
    let records = transactional_batch(&["c"], pid, epoch + 1);
    assert_eq!(
        produce_transactional(&mut client, 11, "tv2", records).await,
        48,
        "INVALID_TXN_STATE"
    );
    server.shutdown().await;
}
