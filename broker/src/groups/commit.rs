//! OffsetCommit: offsets are appended first and enter memory once the
//! append succeeded; the answer waits until they are durable.

use super::*;

impl GroupCoordinator {
    /// Commits offsets and waits until they are durable.
    pub(crate) async fn commit(
        &self,
        group_id: &str,
        committer: &Committer,
        commits: Vec<OffsetCommit>,
    ) -> Result<Vec<Result<(), ResponseError>>, ResponseError> {
        let now = now_ms();
        let (wait, results) = {
            let mut groups = self.groups.lock();
            let simple = committer.generation_id < 0 && committer.member_id.is_empty();
            let created = !groups.contains_key(group_id);
            if created {
                if !simple {
                    return Err(ResponseError::UnknownMemberId);
                }
                groups.insert(group_id.to_string(), self.new_group(group_id));
            }
            let group = groups.get_mut(group_id).expect("present");
            match &group.kind {
                GroupKind::Consumer(consumer) => {
                    consumer.validate_commit(&committer.member_id, committer.generation_id)?
                }
                GroupKind::Classic(classic) => validate_commit(classic, committer)?,
            }
            let OffsetRecords {
                records,
                accepted,
                results,
            } = self.offset_records(group_id, commits, now);
            if records.is_empty() {
                return Ok(results);
            }
            let wait = match self.append(group_id, &records) {
                Ok(wait) => wait,
                Err(e) => {
                    // A simple group this commit made does not outlive it.
                    if created {
                        groups.remove(group_id);
                    }
                    return Err(e);
                }
            };
            let first = wait.1 - records.len() as i64;
            group
                .offsets
                .extend(accepted.into_iter().enumerate().map(|(i, (tp, mut c))| {
                    c.record_offset = first + i as i64;
                    (tp, c)
                }));
            (wait, results)
        };
        let (log, end) = wait;
        log.wait_durable(end).await.map_err(|e| {
            tracing::error!(group = group_id, error = %e, "offset commit not durable");
            ResponseError::CoordinatorNotAvailable
        })?;
        Ok(results)
    }

    /// The offset records of an (Txn)OffsetCommit: records to append, the
    /// offsets they commit (their record offsets still unknown) and a result
    /// per partition in order (metadata too large is refused on its own).
    pub(super) fn offset_records(
        &self,
        group_id: &str,
        commits: Vec<OffsetCommit>,
        now: i64,
    ) -> OffsetRecords {
        let mut records = Vec::new();
        let mut results = Vec::with_capacity(commits.len());
        let mut accepted = Vec::new();
        for c in commits {
            let metadata = c.metadata.unwrap_or_default();
            if metadata.len() > self.config.offset_metadata_max_bytes {
                results.push(Err(ResponseError::OffsetMetadataTooLarge));
                continue;
            }
            let value = OffsetValue {
                offset: c.offset,
                leader_epoch: c.leader_epoch,
                metadata,
                commit_timestamp: now,
            };
            let key = RecordKey::Offset {
                group: group_id.to_string(),
                topic: c.topic.clone(),
                partition: c.partition,
            };
            records.push((key.encode(), Some(value.encode())));
            accepted.push(((c.topic, c.partition), committed_from(value, -1)));
            results.push(Ok(()));
        }
        OffsetRecords {
            records,
            accepted,
            results,
        }
    }
}

/// Kafka's classic-group offset commit checks.
fn validate_commit(group: &ClassicGroup, committer: &Committer) -> Result<(), ResponseError> {
    if group.state == GroupState::Dead {
        return Err(ResponseError::CoordinatorNotAvailable);
    }
    if committer.generation_id < 0 && group.state == GroupState::Empty {
        // A simple consumer or an admin client committing for an empty group.
        return Ok(());
    }
    if committer.generation_id >= 0
        || !committer.member_id.is_empty()
        || committer.group_instance_id.is_some()
    {
        let Some(member) = group.members.get(&committer.member_id) else {
            return Err(ResponseError::UnknownMemberId);
        };
        if committer.group_instance_id.is_some()
            && member.group_instance_id != committer.group_instance_id
        {
            return Err(ResponseError::FencedInstanceId);
        }
        if committer.generation_id != group.generation_id {
            return Err(ResponseError::IllegalGeneration);
        }
    } else {
        return Err(ResponseError::UnknownMemberId);
    }
    if group.state == GroupState::CompletingRebalance {
        return Err(ResponseError::RebalanceInProgress);
    }
    Ok(())
}
