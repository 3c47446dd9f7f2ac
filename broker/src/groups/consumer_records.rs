//! `__consumer_offsets` records of KIP-848 consumer groups, in Apache Kafka's
//! binary layouts (group-coordinator `ConsumerGroup*Key/Value.json`):
//!
//! | key version | key | value (version 0, flexible) |
//! |---|---|---|
//! | 3 | ConsumerGroupMetadataKey (group) | epoch |
//! | 5 | ConsumerGroupMemberMetadataKey (group, member) | instance, rack, client id and host, topic names, regex, rebalance timeout, assignor |
//! | 6 | ConsumerGroupTargetAssignmentMetadataKey (group) | assignment epoch |
//! | 7 | ConsumerGroupTargetAssignmentMemberKey (group, member) | target partitions |
//! | 8 | ConsumerGroupCurrentMemberAssignmentKey (group, member) | epochs, state, assigned and pending-revocation partitions |
//!
//! Keys are non-flexible (int16 length strings); values are flexible
//! (compact strings and arrays, tagged fields). Tagged fields are written
//! empty (Kafka's defaults) and skipped when read. Version 4 (partition
//! metadata) is not written: the subscribed topics' metadata is recomputed
//! on the first heartbeat after a restart.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use uuid::Uuid;

use super::assignors::Assignment;

const GROUP_METADATA: i16 = 3;
const MEMBER_METADATA: i16 = 5;
const TARGET_METADATA: i16 = 6;
const TARGET_MEMBER: i16 = 7;
const CURRENT_ASSIGNMENT: i16 = 8;
const VALUE_VERSION: i16 = 0;

/// A consumer-group key of `__consumer_offsets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConsumerKey {
    Group { group: String },
    Member { group: String, member: String },
    TargetEpoch { group: String },
    TargetMember { group: String, member: String },
    Current { group: String, member: String },
}

/// ConsumerGroupMemberMetadataValue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MemberMetadata {
    pub(crate) instance_id: Option<String>,
    pub(crate) rack_id: Option<String>,
    pub(crate) client_id: String,
    pub(crate) client_host: String,
    pub(crate) subscribed_topic_names: Vec<String>,
    pub(crate) subscribed_topic_regex: Option<String>,
    pub(crate) rebalance_timeout_ms: i32,
    pub(crate) server_assignor: Option<String>,
}

/// ConsumerGroupCurrentMemberAssignmentValue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CurrentAssignment {
    pub(crate) member_epoch: i32,
    pub(crate) previous_member_epoch: i32,
    /// Kafka's MemberState code: 0 unrevoked, 1 unreleased, 2 stable.
    pub(crate) state: i8,
    pub(crate) assigned: Assignment,
    pub(crate) pending_revocation: Assignment,
}

/// A consumer-group record that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("malformed consumer group record: {0}")]
pub(crate) struct RecordError(String);

impl RecordError {
    fn new(message: String) -> Self {
        RecordError(message)
    }
}

fn err(what: &str) -> RecordError {
    RecordError::new(format!("truncated {what}"))
}

fn put_string(buf: &mut BytesMut, s: &str) {
    buf.put_i16(s.len() as i16);
    buf.put_slice(s.as_bytes());
}

fn get_string(b: &mut Bytes, what: &str) -> Result<String, RecordError> {
    let len = b.try_get_i16().map_err(|_| err(what))?;
    if len < 0 || b.remaining() < len as usize {
        return Err(err(what));
    }
    String::from_utf8(b.split_to(len as usize).to_vec())
        .map_err(|_| RecordError::new(format!("{what} is not utf-8")))
}

fn put_uvarint(buf: &mut BytesMut, mut v: u32) {
    while v >= 0x80 {
        buf.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

fn get_uvarint(b: &mut Bytes, what: &str) -> Result<u32, RecordError> {
    let mut v: u32 = 0;
    for shift in (0..35).step_by(7) {
        let byte = b.try_get_u8().map_err(|_| err(what))?;
        v |= u32::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(RecordError::new(format!("{what}: varint too long")))
}

fn put_compact_nullable(buf: &mut BytesMut, s: Option<&str>) {
    match s {
        None => put_uvarint(buf, 0),
        Some(s) => {
            put_uvarint(buf, s.len() as u32 + 1);
            buf.put_slice(s.as_bytes());
        }
    }
}

fn get_compact_nullable(b: &mut Bytes, what: &str) -> Result<Option<String>, RecordError> {
    let len = get_uvarint(b, what)?;
    if len == 0 {
        return Ok(None);
    }
    let len = (len - 1) as usize;
    if b.remaining() < len {
        return Err(err(what));
    }
    String::from_utf8(b.split_to(len).to_vec())
        .map(Some)
        .map_err(|_| RecordError::new(format!("{what} is not utf-8")))
}

fn get_compact(b: &mut Bytes, what: &str) -> Result<String, RecordError> {
    get_compact_nullable(b, what)?.ok_or_else(|| RecordError::new(format!("{what} is null")))
}

/// An empty tagged-field section.
fn put_no_tags(buf: &mut BytesMut) {
    put_uvarint(buf, 0);
}

/// Skips a tagged-field section (fields this layout does not keep).
fn skip_tags(b: &mut Bytes) -> Result<(), RecordError> {
    let count = get_uvarint(b, "tagged fields")?;
    for _ in 0..count {
        get_uvarint(b, "tag")?;
        let size = get_uvarint(b, "tag size")? as usize;
        if b.remaining() < size {
            return Err(err("tagged field"));
        }
        b.advance(size);
    }
    Ok(())
}

fn get_array_len(b: &mut Bytes, what: &str) -> Result<usize, RecordError> {
    let len = get_uvarint(b, what)?;
    // A null array reads as empty; a length past the bytes left is corrupt.
    let len = len.saturating_sub(1) as usize;
    if len > b.remaining() {
        return Err(err(what));
    }
    Ok(len)
}

fn put_partitions(buf: &mut BytesMut, assignment: &Assignment) {
    put_uvarint(buf, assignment.len() as u32 + 1);
    for (topic, partitions) in assignment {
        buf.put_slice(topic.as_bytes());
        put_uvarint(buf, partitions.len() as u32 + 1);
        for p in partitions {
            buf.put_i32(*p);
        }
        put_no_tags(buf);
    }
}

fn get_partitions(b: &mut Bytes, what: &str) -> Result<Assignment, RecordError> {
    let mut out = Assignment::new();
    for _ in 0..get_array_len(b, what)? {
        if b.remaining() < 16 {
            return Err(err("topic id"));
        }
        let mut id = [0u8; 16];
        b.copy_to_slice(&mut id);
        let entry = out.entry(Uuid::from_bytes(id)).or_default();
        for _ in 0..get_array_len(b, "partitions")? {
            entry.insert(b.try_get_i32().map_err(|_| err("partition"))?);
        }
        skip_tags(b)?;
    }
    Ok(out)
}

fn value_header(b: &mut Bytes) -> Result<(), RecordError> {
    match b.try_get_i16().map_err(|_| err("value version"))? {
        VALUE_VERSION => Ok(()),
        v => Err(RecordError::new(format!("unknown value version {v}"))),
    }
}

impl ConsumerKey {
    pub(crate) fn group_id(&self) -> &str {
        match self {
            ConsumerKey::Group { group }
            | ConsumerKey::TargetEpoch { group }
            | ConsumerKey::Member { group, .. }
            | ConsumerKey::TargetMember { group, .. }
            | ConsumerKey::Current { group, .. } => group,
        }
    }

    pub(crate) fn encode(&self) -> Bytes {
        let mut buf = BytesMut::new();
        let (version, group, member) = match self {
            ConsumerKey::Group { group } => (GROUP_METADATA, group, None),
            ConsumerKey::TargetEpoch { group } => (TARGET_METADATA, group, None),
            ConsumerKey::Member { group, member } => (MEMBER_METADATA, group, Some(member)),
            ConsumerKey::TargetMember { group, member } => (TARGET_MEMBER, group, Some(member)),
            ConsumerKey::Current { group, member } => (CURRENT_ASSIGNMENT, group, Some(member)),
        };
        buf.put_i16(version);
        put_string(&mut buf, group);
        if let Some(member) = member {
            put_string(&mut buf, member);
        }
        buf.freeze()
    }

    /// `None` for keys that are not consumer-group keys (3, 5-8); key 4
    /// (partition metadata, which Kafka wrote before 4.1) is also `None`.
    pub(crate) fn decode(key: &Bytes) -> Option<Result<Self, RecordError>> {
        let mut b = key.clone();
        let version = b.try_get_i16().ok()?;
        if !matches!(version, 3 | 5..=8) {
            return None;
        }
        let decoded = (|| {
            let group = get_string(&mut b, "group")?;
            Ok(match version {
                GROUP_METADATA => ConsumerKey::Group { group },
                TARGET_METADATA => ConsumerKey::TargetEpoch { group },
                v => {
                    let member = get_string(&mut b, "member")?;
                    match v {
                        MEMBER_METADATA => ConsumerKey::Member { group, member },
                        TARGET_MEMBER => ConsumerKey::TargetMember { group, member },
                        _ => ConsumerKey::Current { group, member },
                    }
                }
            })
        })();
        Some(decoded)
    }
}

/// ConsumerGroupMetadataValue and ConsumerGroupTargetAssignmentMetadataValue
/// (both one int32 epoch).
pub(crate) fn encode_epoch(epoch: i32) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(VALUE_VERSION);
    buf.put_i32(epoch);
    put_no_tags(&mut buf);
    buf.freeze()
}

pub(crate) fn decode_epoch(mut b: Bytes) -> Result<i32, RecordError> {
    value_header(&mut b)?;
    b.try_get_i32().map_err(|_| err("epoch"))
}

/// ConsumerGroupTargetAssignmentMemberValue.
pub(crate) fn encode_target(assignment: &Assignment) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(VALUE_VERSION);
    put_partitions(&mut buf, assignment);
    put_no_tags(&mut buf);
    buf.freeze()
}

pub(crate) fn decode_target(mut b: Bytes) -> Result<Assignment, RecordError> {
    value_header(&mut b)?;
    get_partitions(&mut b, "target partitions")
}

impl MemberMetadata {
    pub(crate) fn encode(&self) -> Bytes {
        let mut buf = BytesMut::new();
        buf.put_i16(VALUE_VERSION);
        put_compact_nullable(&mut buf, self.instance_id.as_deref());
        put_compact_nullable(&mut buf, self.rack_id.as_deref());
        put_compact_nullable(&mut buf, Some(&self.client_id));
        put_compact_nullable(&mut buf, Some(&self.client_host));
        put_uvarint(&mut buf, self.subscribed_topic_names.len() as u32 + 1);
        for name in &self.subscribed_topic_names {
            put_compact_nullable(&mut buf, Some(name));
        }
        put_compact_nullable(&mut buf, self.subscribed_topic_regex.as_deref());
        buf.put_i32(self.rebalance_timeout_ms);
        put_compact_nullable(&mut buf, self.server_assignor.as_deref());
        put_no_tags(&mut buf);
        buf.freeze()
    }

    pub(crate) fn decode(mut b: Bytes) -> Result<Self, RecordError> {
        value_header(&mut b)?;
        let instance_id = get_compact_nullable(&mut b, "instance id")?;
        let rack_id = get_compact_nullable(&mut b, "rack id")?;
        let client_id = get_compact(&mut b, "client id")?;
        let client_host = get_compact(&mut b, "client host")?;
        let mut subscribed_topic_names = Vec::new();
        for _ in 0..get_array_len(&mut b, "topic names")? {
            subscribed_topic_names.push(get_compact(&mut b, "topic name")?);
        }
        let subscribed_topic_regex = get_compact_nullable(&mut b, "regex")?;
        let rebalance_timeout_ms = b.try_get_i32().map_err(|_| err("rebalance timeout"))?;
        let server_assignor = get_compact_nullable(&mut b, "server assignor")?;
        skip_tags(&mut b)?;
        Ok(MemberMetadata {
            instance_id,
            rack_id,
            client_id,
            client_host,
            subscribed_topic_names,
            subscribed_topic_regex,
            rebalance_timeout_ms,
            server_assignor,
        })
    }
}

impl CurrentAssignment {
    pub(crate) fn encode(&self) -> Bytes {
        let mut buf = BytesMut::new();
        buf.put_i16(VALUE_VERSION);
        buf.put_i32(self.member_epoch);
        buf.put_i32(self.previous_member_epoch);
        buf.put_i8(self.state);
        put_partitions(&mut buf, &self.assigned);
        put_partitions(&mut buf, &self.pending_revocation);
        put_no_tags(&mut buf);
        buf.freeze()
    }

    pub(crate) fn decode(mut b: Bytes) -> Result<Self, RecordError> {
        value_header(&mut b)?;
        let member_epoch = b.try_get_i32().map_err(|_| err("member epoch"))?;
        let previous_member_epoch = b.try_get_i32().map_err(|_| err("previous epoch"))?;
        let state = b.try_get_i8().map_err(|_| err("state"))?;
        let assigned = get_partitions(&mut b, "assigned partitions")?;
        let pending_revocation = get_partitions(&mut b, "pending revocation")?;
        Ok(CurrentAssignment {
            member_epoch,
            previous_member_epoch,
            state,
            assigned,
            pending_revocation,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_others_are_not_ours() {
        let keys = [
            ConsumerKey::Group { group: "g".into() },
            ConsumerKey::TargetEpoch { group: "g".into() },
            ConsumerKey::Member {
                group: "g".into(),
                member: "m".into(),
            },
            ConsumerKey::TargetMember {
                group: "g".into(),
                member: "m".into(),
            },
            ConsumerKey::Current {
                group: "g".into(),
                member: "m".into(),
            },
        ];
        for key in keys {
            assert_eq!(ConsumerKey::decode(&key.encode()).unwrap().unwrap(), key);
        }
        // Kafka's bytes for ConsumerGroupMetadataKey("g").
        assert_eq!(
            &ConsumerKey::Group { group: "g".into() }.encode()[..],
            &[0, 3, 0, 1, b'g']
        );
        assert!(ConsumerKey::decode(&Bytes::from_static(&[0, 2, 0, 1, b'g'])).is_none());
        assert!(
            ConsumerKey::decode(&Bytes::from_static(&[0, 5, 0, 1, b'g']))
                .unwrap()
                .is_err()
        );
    }

    #[test]
    fn values_round_trip() {
        assert_eq!(decode_epoch(encode_epoch(7)).unwrap(), 7);
        assert_eq!(&encode_epoch(7)[..], &[0, 0, 0, 0, 0, 7, 0]);
        let member = MemberMetadata {
            instance_id: Some("i".into()),
            rack_id: None,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            subscribed_topic_names: vec!["a".into(), "b".into()],
            subscribed_topic_regex: Some("x.*".into()),
            rebalance_timeout_ms: 300_000,
            server_assignor: Some("range".into()),
        };
        assert_eq!(MemberMetadata::decode(member.encode()).unwrap(), member);
        let t = Uuid::from_u128(9);
        let current = CurrentAssignment {
            member_epoch: 4,
            previous_member_epoch: 3,
            state: 0,
            assigned: Assignment::from([(t, [0, 2].into())]),
            pending_revocation: Assignment::from([(t, [1].into())]),
        };
        assert_eq!(
            CurrentAssignment::decode(current.encode()).unwrap(),
            current
        );
        assert_eq!(
            decode_target(encode_target(&current.assigned)).unwrap(),
            current.assigned
        );
        assert!(CurrentAssignment::decode(Bytes::from_static(&[0, 0, 0])).is_err());
    }
}
