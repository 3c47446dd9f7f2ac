//! The classic group's sync phase (CompletingRebalance -> Stable): the
//! leader's SyncGroup hands every member its assignment.

use std::collections::HashMap;
use std::time::Instant;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;

use super::*;

impl ClassicGroup {
    /// Handles a SyncGroup.
    pub(crate) fn sync(&mut self, request: SyncRequest, tx: Waiter<SyncResult>, now: Instant) {
        let SyncRequest {
            member_id,
            group_instance_id,
            generation_id,
            protocol_type,
            protocol_name,
            assignments,
        } = request;
        let member_id = member_id.as_str();
        if let Err(e) = self.check_member(member_id, group_instance_id.as_deref()) {
            self.replies.push(tx, SyncResult::error(e));
            return;
        }
        if generation_id != self.generation_id {
            self.replies
                .push(tx, SyncResult::error(ResponseError::IllegalGeneration));
            return;
        }
        if protocol_type
            .as_ref()
            .is_some_and(|p| Some(p) != self.protocol_type.as_ref())
            || protocol_name
                .as_ref()
                .is_some_and(|p| Some(p) != self.protocol_name.as_ref())
        {
            self.replies.push(
                tx,
                SyncResult::error(ResponseError::InconsistentGroupProtocol),
            );
            return;
        }
        match self.state {
            GroupState::PreparingRebalance => {
                self.replies
                    .push(tx, SyncResult::error(ResponseError::RebalanceInProgress));
            }
            GroupState::CompletingRebalance => {
                if let Some(m) = self.members.get_mut(member_id) {
                    m.last_heartbeat = now;
                    m.sync_waiter = Some(tx);
                }
                if self.leader.as_deref() == Some(member_id) {
                    let mut given: HashMap<String, Bytes> = assignments.into_iter().collect();
                    for m in self.members.values_mut() {
                        m.assignment = given.remove(&m.member_id).unwrap_or_default();
                    }
                    self.transition(GroupState::Stable, now);
                }
            }
            GroupState::Stable => {
                let m = self.members.get_mut(member_id).expect("checked");
                m.last_heartbeat = now;
                self.replies.push(
                    tx,
                    SyncResult {
                        error: None,
                        protocol_type: self.protocol_type.clone(),
                        protocol_name: self.protocol_name.clone(),
                        assignment: m.assignment.clone(),
                    },
                );
            }
            GroupState::Empty | GroupState::Dead => {
                self.replies
                    .push(tx, SyncResult::error(ResponseError::UnknownMemberId));
            }
        }
    }
}
