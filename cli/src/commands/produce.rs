//! `strata produce`: lines from a file or stdin become records, batched
//! per partition and sent to each partition's leader (Produce).
//!
//! Partitions: `--partition`, else a JSON line's `partition`, else Kafka's
//! default partitioner (murmur2 of the key), else round robin by batch,
//! as Kafka's sticky partitioner spreads records without keys.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use indicatif::{ProgressBar, ProgressStyle};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use serde_json::{json, Value};
use strata_rest_proxy::partitioner::murmur2;

use super::split_key_value;
use crate::args::{LineFormat, ProduceArgs};
use crate::client::{Client, TopicLayout};
use crate::error::{CliError, Result};
use crate::output::Report;
use crate::records::{encode_batch, parse_compression, NewRecord};
use crate::registry::Serde;

/// A record and the partition it goes to (`None`: partitioner's choice).
struct Line {
    partition: Option<i32>,
    record: NewRecord,
}

/// Reads records one line at a time.
struct LineReader<'a> {
    args: &'a ProduceArgs,
    headers: Vec<(String, Option<Bytes>)>,
    keys: Serde,
    values: Serde,
}

impl LineReader<'_> {
    fn parse(&self, line: &str, now: i64) -> Result<Line> {
        let mut record = NewRecord {
            headers: self.headers.clone(),
            timestamp: now,
            ..NewRecord::default()
        };
        let mut partition = self.args.partition;
        match self.args.format {
            LineFormat::Text => {
                let (key, value) = match &self.args.key_separator {
                    Some(sep) => match line.split_once(sep.as_str()) {
                        Some((k, v)) => (Some(k), v),
                        None => {
                            return Err(CliError::usage(format!(
                                "line {line:?} has no key separator {sep:?}"
                            )))
                        }
                    },
                    None => (None, line),
                };
                record.key = key.map(|k| self.keys.encode(k)).transpose()?;
                record.value = Some(self.values.encode(value)?);
            }
            LineFormat::Json => {
                let object: Value = serde_json::from_str(line)
                    .map_err(|e| CliError::usage(format!("line {line:?} is not JSON: {e}")))?;
                let text = |v: &Value| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let field = |name: &str| object.get(name).filter(|v| !v.is_null());
                // Schema formats take the JSON value itself; strings their text.
                record.key = field("key")
                    .map(|k| self.keys.encode(&text(k)))
                    .transpose()?;
                record.value = field("value")
                    .map(|v| self.values.encode(&text(v)))
                    .transpose()?;
                let header = |k: &str, v: &Value| {
                    (k.to_string(), (!v.is_null()).then(|| Bytes::from(text(v))))
                };
                match field("headers") {
                    None => {}
                    Some(Value::Object(headers)) => {
                        record.headers.extend(headers.iter().map(|(k, v)| header(k, v)));
                    }
                    // `[[name, value], ...]`, as `consume --format json` prints them.
                    Some(Value::Array(pairs)) => {
                        for pair in pairs {
                            match pair.as_array().map(Vec::as_slice) {
                                // A name may repeat: every pair is written, in order.
                                Some([Value::String(k), v]) => record.headers.push(header(k, v)),
                                _ => {
                                    return Err(CliError::usage(format!(
                                        "line {line:?}: a header is [name, value], not {pair}"
                                    )))
                                }
                            }
                        }
                    }
                    Some(other) => {
                        return Err(CliError::usage(format!(
                            "line {line:?}: headers are an object or a list of [name, value], not {other}"
                        )))
                    }
                }
                if partition.is_none() {
                    partition = field("partition")
                        .map(|p| {
                            p.as_i64()
                                .and_then(|p| i32::try_from(p).ok())
                                .ok_or_else(|| {
                                    CliError::usage(format!("line {line:?}: bad partition"))
                                })
                        })
                        .transpose()?;
                }
            }
        }
        Ok(Line { partition, record })
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub(crate) async fn run(client: &mut Client, args: ProduceArgs) -> Result<()> {
    if !(-1..=1).contains(&args.acks) {
        return Err(CliError::usage("--acks must be -1, 0 or 1"));
    }
    let compression = parse_compression(&args.compression)?;
    let layout = client.topic(&args.topic).await?;
    if let Some(p) = args.partition {
        if !layout.leaders.contains_key(&p) {
            return Err(CliError::Kafka {
                context: format!("partition {}-{p}", args.topic),
                code: 3,
                message: None,
            });
        }
    }
    let registry = args.schema.registry.as_deref();
    let subject = args
        .schema
        .subject
        .clone()
        .unwrap_or(format!("{}-value", args.topic));
    let values = Serde::writer(
        args.schema.value_format,
        registry,
        &subject,
        args.schema.schema_id,
    )
    .await?;
    let keys = Serde::writer(
        args.schema.key_format,
        registry,
        &format!("{}-key", args.topic),
        None,
    )
    .await?;
    let headers = args
        .headers
        .iter()
        .map(|h| split_key_value(h, "--header").map(|(k, v)| (k, Some(Bytes::from(v)))))
        .collect::<Result<Vec<_>>>()?;
    let (input, size): (Box<dyn Read>, Option<u64>) = match &args.file {
        Some(path) => {
            let file = std::fs::File::open(path)
                .map_err(|e| CliError::usage(format!("cannot open {}: {e}", path.display())))?;
            let size = file.metadata().ok().map(|m| m.len());
            (Box::new(file), size)
        }
        None => (Box::new(std::io::stdin()), None),
    };
    let progress = progress_bar(size);
    let reader = LineReader {
        args: &args,
        headers,
        keys,
        values,
    };
    let started = Instant::now();
    let mut producer = Producer {
        layout,
        acks: args.acks,
        compression,
        pending: BTreeMap::new(),
        pending_count: 0,
        round_robin: 0,
        produced: BTreeMap::new(),
    };
    let mut lines = BufReader::with_capacity(1 << 16, input);
    let mut line = String::new();
    let mut read_bytes = 0u64;
    loop {
        line.clear();
        let n = lines
            .read_line(&mut line)
            .map_err(|e| CliError::io("read the input", e))?;
        if n == 0 {
            break;
        }
        read_bytes += n as u64;
        let text = line.trim_end_matches(['\n', '\r']);
        if text.is_empty() {
            continue;
        }
        producer.add(reader.parse(text, now_ms())?);
        if producer.pending_count >= args.batch_size.max(1) {
            producer.flush(client).await?;
            if let Some(bar) = &progress {
                bar.set_position(read_bytes);
                bar.set_message(format!("{} records", producer.total()));
            }
        }
    }
    producer.flush(client).await?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total = producer.total();
    let report = Report::message(
        json!({
            "topic": args.topic,
            "records": total,
            "seconds": elapsed,
            "partitions": producer.produced.iter().map(|(p, (n, first, last))| json!({"partition": p, "records": n, "first_offset": first, "last_offset": last})).collect::<Vec<_>>(),
        }),
        format!(
            "produced {total} records to {} in {elapsed:.2} s ({:.0} records/s)",
            args.topic,
            total as f64 / elapsed.max(1e-9)
        ),
    );
    match args.conn.output.output {
        crate::args::OutputFormat::Json => {
            super::write_stdout(&report.render(args.conn.output.output))
        }
        // The summary is for the person watching; stdout stays clean.
        crate::args::OutputFormat::Table => {
            eprintln!("{}", report.render(args.conn.output.output));
            Ok(())
        }
    }
}

/// A bar over the input's bytes (or a counter for stdin) when stderr is a terminal.
fn progress_bar(size: Option<u64>) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = match size {
        Some(len) => ProgressBar::new(len).with_style(
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg} {elapsed}")
                .expect("valid template"),
        ),
        None => ProgressBar::new_spinner(),
    };
    Some(bar)
}

struct Producer {
    layout: TopicLayout,
    acks: i16,
    compression: Compression,
    pending: BTreeMap<i32, Vec<NewRecord>>,
    pending_count: usize,
    round_robin: usize,
    /// Per partition: records, first offset, last offset.
    produced: BTreeMap<i32, (u64, i64, i64)>,
}

impl Producer {
    fn total(&self) -> u64 {
        self.produced.values().map(|(n, ..)| n).sum()
    }

    fn add(&mut self, line: Line) {
        let count = self.layout.leaders.len().max(1);
        let partition = line.partition.unwrap_or_else(|| match &line.record.key {
            Some(key) => ((murmur2(key) & 0x7fff_ffff) as usize % count) as i32,
            None => *self
                .layout
                .leaders
                .keys()
                .nth(self.round_robin % count)
                .unwrap_or(&0),
        });
        self.pending.entry(partition).or_default().push(line.record);
        self.pending_count += 1;
    }

    /// Sends what is pending, one Produce per leader.
    async fn flush(&mut self, client: &mut Client) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.round_robin += 1;
        let pending = std::mem::take(&mut self.pending);
        self.pending_count = 0;
        let mut by_leader: BTreeMap<i32, Vec<(i32, Vec<NewRecord>)>> = BTreeMap::new();
        for (p, records) in pending {
            let leader = *self.layout.leaders.get(&p).ok_or_else(|| CliError::Kafka {
                context: format!("partition {}-{p}", self.layout.name),
                code: 3,
                message: None,
            })?;
            by_leader.entry(leader).or_default().push((p, records));
        }
        for batches in by_leader.into_values() {
            let mut data = Vec::new();
            let mut counts = BTreeMap::new();
            for (p, records) in &batches {
                counts.insert(*p, records.len() as u64);
                data.push(
                    PartitionProduceData::default()
                        .with_index(*p)
                        .with_records(Some(encode_batch(records, self.compression)?)),
                );
            }
            let request = ProduceRequest::default()
                .with_acks(self.acks)
                .with_timeout_ms(30_000)
                .with_topic_data(vec![TopicProduceData::default()
                    .with_name(TopicName(StrBytes::from_string(self.layout.name.clone())))
                    .with_partition_data(data)]);
            let conn = client.leader(&self.layout, batches[0].0).await?;
            if self.acks == 0 {
                conn.call_without_answer(|_| request).await?;
                for (p, n) in counts {
                    self.produced.entry(p).or_insert((0, -1, -1)).0 += n;
                }
                continue;
            }
            let response = conn.call(|_| request).await?;
            for topic in response.responses {
                for p in topic.partition_responses {
                    CliError::check(p.error_code, p.error_message.as_deref(), || {
                        format!("produce to {}-{}", self.layout.name, p.index)
                    })?;
                    let n = counts.get(&p.index).copied().unwrap_or(0);
                    let entry = self
                        .produced
                        .entry(p.index)
                        .or_insert((0, p.base_offset, -1));
                    entry.0 += n;
                    entry.2 = p.base_offset + n as i64 - 1;
                }
            }
        }
        Ok(())
    }
}
