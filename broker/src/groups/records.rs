//! Keys and values of `__consumer_offsets`, in Apache Kafka's own layouts so
//! that the state rebuilds from the log and Kafka's tools can read it:
//!
//! - OffsetCommitKey v1 (group, topic, partition) -> OffsetCommitValue v3
//!   (offset, leader epoch, metadata, commit timestamp);
//! - GroupMetadataKey v2 (group) -> GroupMetadataValue v3 (protocol type,
//!   generation, protocol, leader, state timestamp, members).
//!
//! A null value (tombstone) deletes the key.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::classic::{StoredGroup, StoredMember};

const OFFSET_KEY_VERSION: i16 = 1;
const GROUP_KEY_VERSION: i16 = 2;
const OFFSET_VALUE_VERSION: i16 = 3;
const GROUP_VALUE_VERSION: i16 = 3;

/// A decoded `__consumer_offsets` key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum RecordKey {
    Offset {
        group: String,
        topic: String,
        partition: i32,
    },
    Group {
        group: String,
    },
}

/// A committed offset as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OffsetValue {
    pub(crate) offset: i64,
    pub(crate) leader_epoch: i32,
    pub(crate) metadata: String,
    pub(crate) commit_timestamp: i64,
}

#[derive(Debug, thiserror::Error)]
#[error("malformed __consumer_offsets record: {0}")]
pub(crate) struct RecordError(String);

fn put_string(buf: &mut BytesMut, s: &str) {
    buf.put_i16(s.len() as i16);
    buf.put_slice(s.as_bytes());
}
fn put_nullable_string(buf: &mut BytesMut, s: Option<&str>) {
    match s {
        Some(s) => put_string(buf, s),
        None => buf.put_i16(-1),
    }
}
fn put_bytes(buf: &mut BytesMut, b: &[u8]) {
    buf.put_i32(b.len() as i32);
    buf.put_slice(b);
}

fn short(what: &str) -> RecordError {
    RecordError(format!("truncated {what}"))
}
fn get_i16(b: &mut Bytes, what: &str) -> Result<i16, RecordError> {
    b.try_get_i16().map_err(|_| short(what))
}
fn get_i32(b: &mut Bytes, what: &str) -> Result<i32, RecordError> {
    b.try_get_i32().map_err(|_| short(what))
}
fn get_i64(b: &mut Bytes, what: &str) -> Result<i64, RecordError> {
    b.try_get_i64().map_err(|_| short(what))
}
fn get_nullable_string(b: &mut Bytes, what: &str) -> Result<Option<String>, RecordError> {
    let len = get_i16(b, what)?;
    if len < 0 {
        return Ok(None);
    }
    if b.remaining() < len as usize {
        return Err(short(what));
    }
    String::from_utf8(b.split_to(len as usize).to_vec())
        .map(Some)
        .map_err(|_| RecordError(format!("{what} is not utf-8")))
}
fn get_string(b: &mut Bytes, what: &str) -> Result<String, RecordError> {
    get_nullable_string(b, what)?.ok_or_else(|| RecordError(format!("{what} is null")))
}
fn get_bytes(b: &mut Bytes, what: &str) -> Result<Bytes, RecordError> {
    let len = get_i32(b, what)?;
    if len < 0 {
        return Ok(Bytes::new());
    }
    if b.remaining() < len as usize {
        return Err(short(what));
    }
    Ok(b.split_to(len as usize))
}

impl RecordKey {
    pub(crate) fn encode(&self) -> Bytes {
        let mut buf = BytesMut::new();
        match self {
            RecordKey::Offset {
                group,
                topic,
                partition,
            } => {
                buf.put_i16(OFFSET_KEY_VERSION);
                put_string(&mut buf, group);
                put_string(&mut buf, topic);
                buf.put_i32(*partition);
            }
            RecordKey::Group { group } => {
                buf.put_i16(GROUP_KEY_VERSION);
                put_string(&mut buf, group);
            }
        }
        buf.freeze()
    }

    pub(crate) fn decode(mut b: Bytes) -> Result<Self, RecordError> {
        match get_i16(&mut b, "key version")? {
            0 | 1 => Ok(RecordKey::Offset {
                group: get_string(&mut b, "group")?,
                topic: get_string(&mut b, "topic")?,
                partition: get_i32(&mut b, "partition")?,
            }),
            2 => Ok(RecordKey::Group {
                group: get_string(&mut b, "group")?,
            }),
            other => Err(RecordError(format!("unknown key version {other}"))),
        }
    }
}

impl OffsetValue {
    pub(crate) fn encode(&self) -> Bytes {
        let mut buf = BytesMut::new();
        buf.put_i16(OFFSET_VALUE_VERSION);
        buf.put_i64(self.offset);
        buf.put_i32(self.leader_epoch);
        put_string(&mut buf, &self.metadata);
        buf.put_i64(self.commit_timestamp);
        buf.freeze()
    }

    pub(crate) fn decode(mut b: Bytes) -> Result<Self, RecordError> {
        let version = get_i16(&mut b, "value version")?;
        let offset = get_i64(&mut b, "offset")?;
        let leader_epoch = if version >= 3 {
            get_i32(&mut b, "leader epoch")?
        } else {
            -1
        };
        let metadata = get_nullable_string(&mut b, "metadata")?.unwrap_or_default();
        let commit_timestamp = get_i64(&mut b, "commit timestamp")?;
        Ok(OffsetValue {
            offset,
            leader_epoch,
            metadata,
            commit_timestamp,
        })
    }
}

pub(crate) fn encode_group(group: &StoredGroup) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(GROUP_VALUE_VERSION);
    put_string(&mut buf, &group.protocol_type);
    buf.put_i32(group.generation_id);
    put_nullable_string(&mut buf, group.protocol_name.as_deref());
    put_nullable_string(&mut buf, group.leader.as_deref());
    buf.put_i64(group.state_timestamp);
    buf.put_i32(group.members.len() as i32);
    for m in &group.members {
        put_string(&mut buf, &m.member_id);
        put_nullable_string(&mut buf, m.group_instance_id.as_deref());
        put_string(&mut buf, &m.client_id);
        put_string(&mut buf, &m.client_host);
        buf.put_i32(m.rebalance_timeout_ms);
        buf.put_i32(m.session_timeout_ms);
        put_bytes(&mut buf, &m.subscription);
        put_bytes(&mut buf, &m.assignment);
    }
    buf.freeze()
}

pub(crate) fn decode_group(mut b: Bytes) -> Result<StoredGroup, RecordError> {
    let version = get_i16(&mut b, "value version")?;
    let protocol_type = get_string(&mut b, "protocol type")?;
    let generation_id = get_i32(&mut b, "generation")?;
    let protocol_name = get_nullable_string(&mut b, "protocol")?;
    let leader = get_nullable_string(&mut b, "leader")?;
    let state_timestamp = if version >= 2 {
        get_i64(&mut b, "state timestamp")?
    } else {
        -1
    };
    let count = get_i32(&mut b, "member count")?;
    let mut members = Vec::with_capacity(count.clamp(0, 1024) as usize);
    for _ in 0..count.max(0) {
        let member_id = get_string(&mut b, "member id")?;
        let group_instance_id = if version >= 3 {
            get_nullable_string(&mut b, "instance id")?
        } else {
            None
        };
        let client_id = get_string(&mut b, "client id")?;
        let client_host = get_string(&mut b, "client host")?;
        let rebalance_timeout_ms = if version >= 1 {
            get_i32(&mut b, "rebalance timeout")?
        } else {
            0
        };
        let session_timeout_ms = get_i32(&mut b, "session timeout")?;
        members.push(StoredMember {
            member_id,
            group_instance_id,
            client_id,
            client_host,
            rebalance_timeout_ms: if version >= 1 {
                rebalance_timeout_ms
            } else {
                session_timeout_ms
            },
            session_timeout_ms,
            subscription: get_bytes(&mut b, "subscription")?,
            assignment: get_bytes(&mut b, "assignment")?,
        });
    }
    Ok(StoredGroup {
        protocol_type,
        generation_id,
        protocol_name,
        leader,
        state_timestamp,
        members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_round_trip() {
        let key = RecordKey::Offset {
            group: "g".into(),
            topic: "t".into(),
            partition: 3,
        };
        assert_eq!(RecordKey::decode(key.encode()).unwrap(), key);
        let key = RecordKey::Group { group: "g".into() };
        assert_eq!(RecordKey::decode(key.encode()).unwrap(), key);
        let value = OffsetValue {
            offset: 42,
            leader_epoch: 0,
            metadata: "m".into(),
            commit_timestamp: 7,
        };
        assert_eq!(OffsetValue::decode(value.encode()).unwrap(), value);
        let group = StoredGroup {
            protocol_type: "consumer".into(),
            generation_id: 5,
            protocol_name: Some("range".into()),
            leader: Some("a".into()),
            state_timestamp: 9,
            members: vec![StoredMember {
                member_id: "a".into(),
                group_instance_id: Some("i".into()),
                client_id: "c".into(),
                client_host: "/127.0.0.1".into(),
                rebalance_timeout_ms: 300_000,
                session_timeout_ms: 45_000,
                subscription: Bytes::from_static(b"sub"),
                assignment: Bytes::from_static(b"asg"),
            }],
        };
        let back = decode_group(encode_group(&group)).unwrap();
        assert_eq!(back.generation_id, 5);
        assert_eq!(back.members[0].group_instance_id.as_deref(), Some("i"));
        assert_eq!(back.members[0].assignment, Bytes::from_static(b"asg"));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(RecordKey::decode(Bytes::from_static(&[0, 1, 0, 9, b'x'])).is_err());
        assert!(decode_group(Bytes::from_static(&[0, 3, 0])).is_err());
    }
}
