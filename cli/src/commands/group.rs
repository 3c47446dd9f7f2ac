//! `strata group`: ListGroups on every broker, DescribeGroups and
//! OffsetFetch at the coordinator with lag against each partition's end,
//! offset resets of an empty group with OffsetCommit, and DeleteGroups.

use std::collections::BTreeMap;

use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::{
    DeleteGroupsRequest, GroupId, ListGroupsRequest, OffsetCommitRequest, OffsetFetchRequest,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use serde_json::{json, Value};

use super::group_members::{describe_group, Member};
use super::offsets::{lag, list_offsets, parse_time, resolve_reset, OffsetSpec, ResetTo};
use crate::args::{GroupAction, ResetArgs};
use crate::client::Client;
use crate::error::{CliError, Result};
use crate::output::{Report, Table};

fn group_id(g: &str) -> GroupId {
    GroupId(StrBytes::from_string(g.to_string()))
}

pub(crate) async fn run(client: &mut Client, action: GroupAction) -> Result<Report> {
    match action {
        GroupAction::List => list(client).await,
        GroupAction::Describe { group } => describe(client, &group).await,
        GroupAction::ResetOffsets(args) => reset(client, args).await,
        GroupAction::Delete { groups } => delete(client, groups).await,
    }
}

async fn list(client: &mut Client) -> Result<Report> {
    let metadata = client.metadata(Some(&[])).await?;
    let mut groups = BTreeMap::new();
    for broker in &metadata.brokers {
        let response = client
            .node(broker.node_id.0)
            .await?
            .call(|_| ListGroupsRequest::default())
            .await?;
        CliError::check(response.error_code, None, || {
            format!("list groups at node {}", broker.node_id.0)
        })?;
        for g in response.groups {
            groups.insert(
                g.group_id.0.to_string(),
                (
                    g.group_state.to_string(),
                    g.protocol_type.to_string(),
                    g.group_type.to_string(),
                ),
            );
        }
    }
    let mut table = Table::new(vec!["GROUP", "STATE", "TYPE", "PROTOCOL"]);
    let mut json = Vec::new();
    for (id, (state, protocol, kind)) in &groups {
        table.row(vec![
            id.clone(),
            state.clone(),
            kind.clone(),
            protocol.clone(),
        ]);
        json.push(json!({"group": id, "state": state, "type": kind, "protocol_type": protocol}));
    }
    Ok(Report::table(Value::Array(json), table))
}

/// Committed offsets of `group` by topic and partition.
async fn committed(
    client: &mut Client,
    group: &str,
) -> Result<BTreeMap<String, BTreeMap<i32, i64>>> {
    let response = client
        .coordinator(group)
        .await?
        .call(|_| {
            OffsetFetchRequest::default()
                .with_group_id(group_id(group))
                .with_topics(None)
        })
        .await?;
    CliError::check(response.error_code, None, || {
        format!("offsets of group {group}")
    })?;
    let mut out: BTreeMap<String, BTreeMap<i32, i64>> = BTreeMap::new();
    for t in response.topics {
        for p in t.partitions {
            CliError::check(p.error_code, None, || {
                format!(
                    "offset of group {group} on {}-{}",
                    t.name.0, p.partition_index
                )
            })?;
            if p.committed_offset >= 0 {
                out.entry(t.name.0.to_string())
                    .or_default()
                    .insert(p.partition_index, p.committed_offset);
            }
        }
    }
    Ok(out)
}

async fn describe(client: &mut Client, group: &str) -> Result<Report> {
    let described = describe_group(client, group).await?;
    let offsets = committed(client, group).await?;
    let mut owner: BTreeMap<(String, i32), &Member> = BTreeMap::new();
    for m in &described.members {
        for tp in &m.assigned {
            owner.insert(tp.clone(), m);
        }
    }
    // Every partition with an offset or an owner, with its end offset.
    let mut partitions: BTreeMap<String, BTreeMap<i32, Option<i64>>> = BTreeMap::new();
    for (t, parts) in &offsets {
        for (&p, &o) in parts {
            partitions.entry(t.clone()).or_default().insert(p, Some(o));
        }
    }
    for (t, p) in owner.keys() {
        partitions
            .entry(t.clone())
            .or_default()
            .entry(*p)
            .or_insert(None);
    }
    let mut columns = vec![
        "TOPIC",
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
    ];
    // A KIP-848 member's epoch tells whether it has caught up with the group.
    let with_epochs = described.epochs.is_some();
    if with_epochs {
        columns.push("MEMBER-EPOCH");
    }
    let mut table = Table::new(columns);
    let mut rows = Vec::new();
    let mut total_lag = 0i64;
    for (topic, parts) in &partitions {
        let ids: Vec<i32> = parts.keys().copied().collect();
        let layout = client.topic(topic).await?;
        let ends = list_offsets(client, &layout, &ids, OffsetSpec::Latest, false).await?;
        for (&p, &current) in parts {
            let end = ends.get(&p).copied().unwrap_or(-1);
            let lag = lag(current, end);
            total_lag += lag.unwrap_or(0);
            let m = owner.get(&(topic.clone(), p)).copied();
            let dash = |v: Option<i64>| v.map_or("-".to_string(), |v| v.to_string());
            let text = |f: fn(&Member) -> &String| m.map(f).filter(|s| !s.is_empty());
            let (member, host, client_id) =
                (text(|m| &m.id), text(|m| &m.host), text(|m| &m.client_id));
            let or_dash = |s: Option<&String>| s.map_or("-".to_string(), String::clone);
            let mut row = vec![
                topic.clone(),
                p.to_string(),
                dash(current),
                end.to_string(),
                dash(lag),
                or_dash(member),
                or_dash(host),
                or_dash(client_id),
            ];
            let epoch = m.and_then(|m| m.epoch);
            if with_epochs {
                row.push(dash(epoch.map(i64::from)));
            }
            table.row(row);
            let mut json_row = json!({
                "topic": topic, "partition": p, "current_offset": current, "log_end_offset": end,
                "lag": lag, "consumer_id": member, "host": host, "client_id": client_id,
            });
            if with_epochs {
                json_row["member_epoch"] = json!(epoch);
            }
            rows.push(json_row);
        }
    }
    let pairs = |tps: &[(String, i32)]| -> Vec<Value> {
        tps.iter()
            .map(|(t, p)| json!({"topic": t, "partition": p}))
            .collect()
    };
    let members: Vec<Value> = described
        .members
        .iter()
        .map(|m| {
            let mut j = json!({
                "member_id": m.id,
                "client_id": m.client_id,
                "host": m.host,
                "assignment": pairs(&m.assigned),
            });
            if let (Some(epoch), Some(target)) = (m.epoch, &m.target) {
                j["member_epoch"] = json!(epoch);
                j["target_assignment"] = json!(pairs(target));
            }
            j
        })
        .collect();
    let mut json = json!({
        "group": group,
        "type": described.kind,
        "state": described.state,
        "members": members,
        "lag": total_lag,
        "partitions": rows,
    });
    let protocol = match &described.epochs {
        Some(e) => {
            json["group_epoch"] = json!(e.group);
            json["assignment_epoch"] = json!(e.assignment);
            json["assignor"] = json!(e.assignor);
            format!(
                "consumer protocol, group epoch {}, assignment epoch {}, assignor {}, ",
                e.group, e.assignment, e.assignor
            )
        }
        None => String::new(),
    };
    let title = format!(
        "Group {group}: {} ({protocol}{} members, total lag {total_lag})",
        described.state,
        described.members.len()
    );
    Ok(Report::table(json, table.titled(title)))
}

/// `topic` or `topic:0,1,2`.
fn parse_topic_spec(spec: &str) -> Result<(String, Option<Vec<i32>>)> {
    match spec.split_once(':') {
        None => Ok((spec.to_string(), None)),
        Some((topic, parts)) => {
            let parts = parts
                .split(',')
                .map(|p| {
                    p.trim().parse::<i32>().map_err(|_| {
                        CliError::usage(format!("--topic {spec:?}: bad partition {p:?}"))
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok((topic.to_string(), Some(parts)))
        }
    }
}

async fn reset(client: &mut Client, args: ResetArgs) -> Result<Report> {
    let to =
        match (
            &args.to_earliest,
            &args.to_latest,
            args.to_offset,
            &args.to_datetime,
        ) {
            (true, _, _, _) => ResetTo::Earliest,
            (_, true, _, _) => ResetTo::Latest,
            (_, _, Some(o), _) => ResetTo::Offset(o),
            (_, _, _, Some(t)) => ResetTo::Time(parse_time(t)?),
            _ => return Err(CliError::usage(
                "reset-offsets needs one of --to-earliest, --to-latest, --to-offset, --to-datetime",
            )),
        };
    let group = &args.group;
    let described = describe_group(client, group).await?;
    if !matches!(described.state.as_str(), "Empty" | "Dead") {
        return Err(CliError::State(format!(
            "assignments can only be reset if the group '{group}' is inactive, but the current state is {}",
            described.state
        )));
    }
    let mut targets: Vec<(String, Option<Vec<i32>>)> = args
        .topic
        .iter()
        .map(|t| parse_topic_spec(t))
        .collect::<Result<_>>()?;
    if targets.is_empty() {
        targets = committed(client, group)
            .await?
            .into_keys()
            .map(|t| (t, None))
            .collect();
        if targets.is_empty() {
            return Err(CliError::usage(format!(
                "group {group} has no committed offsets: name the topics with --topic"
            )));
        }
    }
    let mut new_offsets: BTreeMap<String, BTreeMap<i32, i64>> = BTreeMap::new();
    for (topic, parts) in targets {
        let layout = client.topic(&topic).await?;
        let parts = parts.unwrap_or_else(|| layout.leaders.keys().copied().collect());
        let earliest = list_offsets(client, &layout, &parts, OffsetSpec::Earliest, false).await?;
        let latest = list_offsets(client, &layout, &parts, OffsetSpec::Latest, false).await?;
        let at_time = match to {
            ResetTo::Time(ms) => {
                Some(list_offsets(client, &layout, &parts, OffsetSpec::Time(ms), false).await?)
            }
            _ => None,
        };
        for p in parts {
            let (e, l) = (
                earliest.get(&p).copied().unwrap_or(0),
                latest.get(&p).copied().unwrap_or(0),
            );
            let t = at_time.as_ref().and_then(|m| m.get(&p).copied());
            new_offsets
                .entry(topic.clone())
                .or_default()
                .insert(p, resolve_reset(to, e, l, t));
        }
    }
    if !args.dry_run {
        let topics = new_offsets
            .iter()
            .map(|(t, parts)| {
                OffsetCommitRequestTopic::default()
                    .with_name(TopicName(StrBytes::from_string(t.clone())))
                    .with_partitions(
                        parts
                            .iter()
                            .map(|(&p, &o)| {
                                OffsetCommitRequestPartition::default()
                                    .with_partition_index(p)
                                    .with_committed_offset(o)
                                    .with_committed_leader_epoch(-1)
                                    .with_committed_metadata(Some(StrBytes::default()))
                            })
                            .collect(),
                    )
            })
            .collect();
        let response = client
            .coordinator(group)
            .await?
            .call(|_| {
                OffsetCommitRequest::default()
                    .with_group_id(group_id(group))
                    .with_generation_id_or_member_epoch(-1)
                    .with_member_id(StrBytes::default())
                    .with_retention_time_ms(-1)
                    .with_topics(topics)
            })
            .await?;
        for t in &response.topics {
            for p in &t.partitions {
                CliError::check(p.error_code, None, || {
                    format!(
                        "commit offset of group {group} on {}-{}",
                        t.name.0, p.partition_index
                    )
                })?;
            }
        }
    }
    let mut table = Table::new(vec!["TOPIC", "PARTITION", "NEW-OFFSET"]);
    let mut rows = Vec::new();
    for (t, parts) in &new_offsets {
        for (p, o) in parts {
            table.row(vec![t.clone(), p.to_string(), o.to_string()]);
            rows.push(json!({"topic": t, "partition": p, "offset": o}));
        }
    }
    let json = json!({"group": group, "dry_run": args.dry_run, "offsets": rows});
    Ok(Report::table(json, table))
}

async fn delete(client: &mut Client, groups: Vec<String>) -> Result<Report> {
    for group in &groups {
        let response = client
            .coordinator(group)
            .await?
            .call(|_| DeleteGroupsRequest::default().with_groups_names(vec![group_id(group)]))
            .await?;
        for r in &response.results {
            CliError::check(r.error_code, None, || {
                format!("delete group {}", r.group_id.0)
            })?;
        }
    }
    Ok(Report::message(
        json!({"deleted": groups}),
        format!("deleted {}", groups.join(", ")),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_specs() {
        assert_eq!(parse_topic_spec("t").unwrap(), ("t".to_string(), None));
        assert_eq!(
            parse_topic_spec("t:0,2").unwrap(),
            ("t".to_string(), Some(vec![0, 2]))
        );
        assert!(parse_topic_spec("t:x").is_err());
    }
}
