//! `strata consume`: Fetch from each partition's leader from a start
//! (offset, time, beginning or end) until the end seen at start, a count,
//! or for ever with `--follow`; one line per record on stdout.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufWriter, IsTerminal, Write};

use indicatif::{ProgressBar, ProgressStyle};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{BrokerId, FetchRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use serde_json::{json, Value};
use strata_wire::records::{FetchedBatch, FetchedRecord};

use super::offsets::{list_offsets, parse_time, OffsetSpec};
use crate::args::{ConsumeArgs, LineFormat};
use crate::client::{Client, TopicLayout};
use crate::error::{CliError, Result};
use crate::records::decode_fetched;
use crate::registry::{plain, Serde};

/// Per-partition read position and where reading stops.
struct Position {
    next: i64,
    /// The end seen at start (`None` with --follow).
    end: Option<i64>,
}

pub(crate) async fn run(client: &mut Client, args: ConsumeArgs) -> Result<()> {
    let layout = client.topic(&args.topic).await?;
    let partitions: Vec<i32> = if args.partitions.is_empty() {
        layout.leaders.keys().copied().collect()
    } else {
        for p in &args.partitions {
            if !layout.leaders.contains_key(p) {
                return Err(CliError::Kafka {
                    context: format!("partition {}-{p}", args.topic),
                    code: 3,
                    message: None,
                });
            }
        }
        args.partitions.clone()
    };
    let rc = args.read_committed;
    let starts: BTreeMap<i32, i64> = if let Some(offset) = args.offset {
        partitions.iter().map(|&p| (p, offset)).collect()
    } else if let Some(time) = &args.from_time {
        let at = parse_time(time)?;
        list_offsets(client, &layout, &partitions, OffsetSpec::Time(at), rc).await?
    } else if args.from_end {
        list_offsets(client, &layout, &partitions, OffsetSpec::Latest, rc).await?
    } else {
        list_offsets(client, &layout, &partitions, OffsetSpec::Earliest, rc).await?
    };
    let ends = if args.follow {
        BTreeMap::new()
    } else {
        list_offsets(client, &layout, &partitions, OffsetSpec::Latest, rc).await?
    };
    let mut positions: BTreeMap<i32, Position> = starts
        .into_iter()
        .map(|(p, next)| {
            (
                p,
                Position {
                    next,
                    end: ends.get(&p).copied(),
                },
            )
        })
        .collect();
    let mut keys = Serde::reader(args.schema.key_format, args.schema.registry.as_deref())?;
    let mut values = Serde::reader(args.schema.value_format, args.schema.registry.as_deref())?;
    let progress = std::io::stderr().is_terminal().then(|| {
        let bar = match args.count {
            Some(n) => ProgressBar::new(n),
            None => ProgressBar::new_spinner(),
        };
        bar.with_style(
            ProgressStyle::with_template("{spinner} {pos} records {elapsed}")
                .expect("valid template"),
        )
    });
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut printed = 0u64;
    let limit = args.count.unwrap_or(u64::MAX);
    while printed < limit {
        let active: Vec<i32> = positions
            .iter()
            .filter(|(_, pos)| pos.end.is_none_or(|end| pos.next < end))
            .map(|(&p, _)| p)
            .collect();
        if active.is_empty() {
            break;
        }
        let fetched = fetch(client, &layout, &active, &positions, rc).await?;
        for (partition, records) in fetched {
            let pos = positions
                .get_mut(&partition)
                .expect("fetched partitions are active");
            for (batch, record) in records.data() {
                if record.offset < pos.next || printed >= limit {
                    continue;
                }
                if pos.end.is_some_and(|end| record.offset >= end) {
                    break;
                }
                pos.next = record.offset + 1;
                if records.aborted.contains(&batch.base_offset) {
                    continue;
                }
                let key = keys.decode(record.key.as_deref()).await?;
                let value = values.decode(record.value.as_deref()).await?;
                let line = render(&args, partition, record, key, value);
                writeln!(out, "{line}").map_err(|e| CliError::io("write to stdout", e))?;
                printed += 1;
            }
            if printed < limit {
                if let Some(next) = records.next_offset {
                    pos.next = pos.next.max(next);
                }
            }
        }
        out.flush()
            .map_err(|e| CliError::io("write to stdout", e))?;
        if let Some(bar) = &progress {
            bar.set_position(printed);
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    out.flush().map_err(|e| CliError::io("write to stdout", e))
}

/// The records of one partition from one Fetch.
struct PartitionRecords {
    batches: Vec<FetchedBatch>,
    next_offset: Option<i64>,
    /// Base offsets of the batches of aborted transactions.
    aborted: HashSet<i64>,
}

impl PartitionRecords {
    /// Every data record with its batch, in offset order.
    fn data(&self) -> impl Iterator<Item = (&FetchedBatch, &FetchedRecord)> {
        self.batches
            .iter()
            .flat_map(|b| b.records.iter().map(move |r| (b, r)))
    }
}

/// One Fetch per leader of `active`.
async fn fetch(
    client: &mut Client,
    layout: &TopicLayout,
    active: &[i32],
    positions: &BTreeMap<i32, Position>,
    read_committed: bool,
) -> Result<Vec<(i32, PartitionRecords)>> {
    let mut by_leader: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    for &p in active {
        by_leader
            .entry(*layout.leaders.get(&p).unwrap_or(&-1))
            .or_default()
            .push(p);
    }
    let mut out = Vec::new();
    for parts in by_leader.into_values() {
        let request = FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(500)
            .with_min_bytes(1)
            .with_max_bytes(50 * 1024 * 1024)
            .with_isolation_level(i8::from(read_committed))
            .with_session_id(0)
            .with_session_epoch(-1)
            .with_topics(vec![FetchTopic::default()
                .with_topic(TopicName(StrBytes::from_string(layout.name.clone())))
                .with_partitions(
                    parts
                        .iter()
                        .map(|p| {
                            FetchPartition::default()
                                .with_partition(*p)
                                .with_current_leader_epoch(-1)
                                .with_fetch_offset(positions[p].next)
                                .with_last_fetched_epoch(-1)
                                .with_log_start_offset(-1)
                                .with_partition_max_bytes(4 * 1024 * 1024)
                        })
                        .collect(),
                )]);
        let response = client
            .leader(layout, parts[0])
            .await?
            .call(|_| request)
            .await?;
        CliError::check(response.error_code, None, || {
            format!("fetch from {}", layout.name)
        })?;
        for topic in response.responses {
            for p in topic.partitions {
                CliError::check(p.error_code, None, || {
                    format!(
                        "fetch {}-{} at offset {}",
                        layout.name,
                        p.partition_index,
                        positions.get(&p.partition_index).map_or(-1, |x| x.next)
                    )
                })?;
                let fetched = match p.records {
                    Some(data) => decode_fetched(data)?,
                    None => Default::default(),
                };
                let aborted = aborted_batches(
                    &fetched.batches,
                    p.aborted_transactions.as_deref().unwrap_or(&[]),
                );
                out.push((
                    p.partition_index,
                    PartitionRecords {
                        batches: fetched.batches,
                        next_offset: fetched.next_offset,
                        aborted,
                    },
                ));
            }
        }
    }
    Ok(out)
}

/// Kafka's read_committed filter, batch by batch as its consumer does it:
/// a producer's transactional batches from an aborted transaction's first
/// offset up to its abort marker are left out.
fn aborted_batches(
    batches: &[FetchedBatch],
    aborted: &[kafka_protocol::messages::fetch_response::AbortedTransaction],
) -> HashSet<i64> {
    let mut out = HashSet::new();
    if aborted.is_empty() {
        return out;
    }
    let mut pending: Vec<(i64, i64)> = aborted
        .iter()
        .map(|a| (a.first_offset, a.producer_id.0))
        .collect();
    pending.sort_unstable();
    let mut pending = pending.into_iter().peekable();
    let mut open: HashSet<i64> = HashSet::new();
    for b in batches {
        while let Some((_, producer)) = pending.next_if(|(first, _)| *first <= b.last_offset) {
            open.insert(producer);
        }
        if b.control {
            open.remove(&b.producer_id);
        } else if b.transactional && open.contains(&b.producer_id) {
            out.insert(b.base_offset);
        }
    }
    out
}

/// One record as a line: the value (or key, separator, value), or a JSON object.
fn render(
    args: &ConsumeArgs,
    partition: i32,
    record: &FetchedRecord,
    key: Value,
    value: Value,
) -> String {
    let text = |v: Value| match v {
        Value::Null => String::new(),
        Value::String(s) => s,
        other => other.to_string(),
    };
    match args.format {
        LineFormat::Text => match &args.key_separator {
            Some(sep) => format!("{}{sep}{}", text(key), text(value)),
            None => text(value),
        },
        LineFormat::Json => {
            // A list of [name, value] pairs: a name may repeat.
            let headers: Vec<Value> = record
                .headers
                .iter()
                .map(|(k, v)| json!([k, v.as_deref().map_or(Value::Null, plain)]))
                .collect();
            json!({
                "topic": args.topic,
                "partition": partition,
                "offset": record.offset,
                "timestamp": record.timestamp,
                "key": key,
                "value": value,
                "headers": headers,
            })
            .to_string()
        }
    }
}
