//! One transactional id's state and the transitions Kafka allows it
//! (`TransactionMetadata`). Pure: no I/O, no clock; the coordinator passes
//! `now_ms` in.
//!
//! A transition is computed as the *whole* metadata it leads to (what Kafka's
//! `completeTransitionTo` leaves behind), so the coordinator can write that
//! value to `__transaction_state`, wait for it to be durable and only then
//! replace the in-memory state with it.

use std::collections::BTreeSet;

/// No producer id (`RecordBatch.NO_PRODUCER_ID`).
pub(crate) const NO_PRODUCER_ID: i64 = -1;
/// No producer epoch (`RecordBatch.NO_PRODUCER_EPOCH`).
pub(crate) const NO_PRODUCER_EPOCH: i16 = -1;

/// Kafka's transaction states, with the ids `__transaction_state` stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum TxnState {
    Empty,
    Ongoing,
    PrepareCommit,
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
    Dead,
    PrepareEpochFence,
}

impl TxnState {
    pub(crate) const ALL: [TxnState; 8] = [
        TxnState::Empty,
        TxnState::Ongoing,
        TxnState::PrepareCommit,
        TxnState::PrepareAbort,
        TxnState::CompleteCommit,
        TxnState::CompleteAbort,
        TxnState::Dead,
        TxnState::PrepareEpochFence,
    ];

    /// The id written in `TransactionLogValue.TransactionStatus`.
    pub(crate) fn id(self) -> i8 {
        match self {
            TxnState::Empty => 0,
            TxnState::Ongoing => 1,
            TxnState::PrepareCommit => 2,
            TxnState::PrepareAbort => 3,
            TxnState::CompleteCommit => 4,
            TxnState::CompleteAbort => 5,
            TxnState::Dead => 6,
            TxnState::PrepareEpochFence => 7,
        }
    }

    pub(crate) fn from_id(id: i8) -> Option<Self> {
        TxnState::ALL.into_iter().find(|s| s.id() == id)
    }

    /// The name DescribeTransactions and ListTransactions report.
    pub(crate) fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
            TxnState::Dead => "Dead",
            TxnState::PrepareEpochFence => "PrepareEpochFence",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        TxnState::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The states this one may be entered from, as Kafka's `validPreviousStates`.
    fn valid_previous(self) -> &'static [TxnState] {
        use TxnState::*;
        match self {
            Empty => &[Empty, CompleteCommit, CompleteAbort],
            Ongoing => &[Ongoing, Empty, CompleteCommit, CompleteAbort],
            PrepareCommit => &[Ongoing],
            PrepareAbort => &[Ongoing, PrepareEpochFence],
            CompleteCommit => &[PrepareCommit],
            CompleteAbort => &[PrepareAbort],
            Dead => &[Empty, CompleteAbort, CompleteCommit],
            PrepareEpochFence => &[Ongoing],
        }
    }

    /// States an idle transactional id may expire in.
    pub(crate) fn expiration_allowed(self) -> bool {
        matches!(
            self,
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort
        )
    }

    /// States with markers still to write.
    pub(crate) fn is_prepare(self) -> bool {
        matches!(self, TxnState::PrepareCommit | TxnState::PrepareAbort)
    }
}

/// A transition Kafka refuses (in Kafka an `IllegalStateException`; here a
/// value the coordinator turns into an error code, so no client can crash us).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("illegal transaction transition from {from:?} to {to:?}")]
pub(crate) struct IllegalTransition {
    pub(crate) from: TxnState,
    pub(crate) to: TxnState,
}

/// Transaction version 2 (KIP-890): the epoch is bumped at every EndTxn.
pub(crate) const TV_2: i16 = 2;

/// What `__transaction_state` holds for one transactional id, plus the
/// previous epoch Kafka keeps in memory only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TxnMetadata {
    pub(crate) producer_id: i64,
    /// The producer id before the last rotation (epoch exhaustion).
    pub(crate) previous_producer_id: i64,
    /// With transaction version 2, the producer id a Prepare* hands over to at Complete*.
    pub(crate) next_producer_id: i64,
    pub(crate) producer_epoch: i16,
    /// The epoch before the last bump, so a retried request is recognised; not persisted.
    pub(crate) last_producer_epoch: i16,
    pub(crate) timeout_ms: i32,
    pub(crate) state: TxnState,
    pub(crate) partitions: BTreeSet<(String, i32)>,
    /// When the first partition was added; -1 when no transaction ran yet.
    pub(crate) start_ms: i64,
    pub(crate) last_update_ms: i64,
    /// The transaction version of the client's last EndTxn or implicit add.
    pub(crate) client_tv: i16,
}

impl TxnMetadata {
    /// A transactional id seen for the first time, before its first epoch.
    pub(crate) fn new(producer_id: i64, timeout_ms: i32, now_ms: i64) -> Self {
        TxnMetadata {
            producer_id,
            previous_producer_id: NO_PRODUCER_ID,
            next_producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            last_producer_epoch: NO_PRODUCER_EPOCH,
            timeout_ms,
            state: TxnState::Empty,
            partitions: BTreeSet::new(),
            start_ms: -1,
            last_update_ms: now_ms,
            client_tv: 0,
        }
    }

    /// No epoch may reach `i16::MAX` in a client's hands, so the coordinator
    /// can always fence one more time.
    pub(crate) fn epoch_exhausted(epoch: i16) -> bool {
        epoch >= i16::MAX - 1
    }

    pub(crate) fn supports_epoch_bump(&self) -> bool {
        self.client_tv >= TV_2
    }

    fn check(&self, to: TxnState) -> Result<(), IllegalTransition> {
        if to.valid_previous().contains(&self.state) {
            Ok(())
        } else {
            Err(IllegalTransition {
                from: self.state,
                to,
            })
        }
    }

    /// InitProducerId on an idle id: the next epoch, or a retry of the last
    /// bump. `expected_epoch` is the epoch a recovering producer sends
    /// (InitProducerId v3+). `Ok(None)` means the producer is fenced.
    pub(crate) fn bump_epoch(
        &self,
        timeout_ms: i32,
        expected_epoch: Option<i16>,
        now_ms: i64,
    ) -> Result<Option<Self>, IllegalTransition> {
        self.check(TxnState::Empty)?;
        let bumped = self.producer_epoch.wrapping_add(1);
        let (epoch, last) = match expected_epoch {
            None => (bumped, NO_PRODUCER_EPOCH),
            Some(e) if self.producer_epoch == NO_PRODUCER_EPOCH || e == self.producer_epoch => {
                (bumped, self.producer_epoch)
            }
            // A retry of a bump whose answer was lost: the same epoch again.
            Some(e) if e == self.last_producer_epoch => (self.producer_epoch, e),
            Some(_) => return Ok(None),
        };
        Ok(Some(self.to_empty(
            self.producer_id,
            epoch,
            last,
            timeout_ms,
            now_ms,
        )))
    }

    /// InitProducerId once the epochs of this producer id are used up.
    pub(crate) fn rotate_producer_id(
        &self,
        new_producer_id: i64,
        timeout_ms: i32,
        record_last_epoch: bool,
        now_ms: i64,
    ) -> Result<Self, IllegalTransition> {
        self.check(TxnState::Empty)?;
        let last = if record_last_epoch {
            self.producer_epoch
        } else {
            NO_PRODUCER_EPOCH
        };
        let mut next = self.to_empty(new_producer_id, 0, last, timeout_ms, now_ms);
        next.previous_producer_id = self.producer_id;
        Ok(next)
    }

    fn to_empty(&self, pid: i64, epoch: i16, last: i16, timeout_ms: i32, now_ms: i64) -> Self {
        TxnMetadata {
            producer_id: pid,
            previous_producer_id: self.previous_producer_id,
            next_producer_id: NO_PRODUCER_ID,
            producer_epoch: epoch,
            last_producer_epoch: last,
            timeout_ms,
            state: TxnState::Empty,
            partitions: BTreeSet::new(),
            start_ms: -1,
            last_update_ms: now_ms,
            client_tv: self.client_tv,
        }
    }

    /// AddPartitionsToTxn / AddOffsetsToTxn / an implicit add by Produce:
    /// Ongoing with the union of partitions; a new transaction starts its clock.
    pub(crate) fn add_partitions(
        &self,
        added: impl IntoIterator<Item = (String, i32)>,
        client_tv: i16,
        now_ms: i64,
    ) -> Result<Self, IllegalTransition> {
        self.check(TxnState::Ongoing)?;
        let mut next = self.clone();
        if self.state != TxnState::Ongoing {
            next.start_ms = now_ms;
        }
        next.partitions.extend(added);
        next.state = TxnState::Ongoing;
        next.last_update_ms = now_ms;
        next.client_tv = client_tv;
        Ok(next)
    }

    /// Fencing an Ongoing transaction (InitProducerId from a new instance, or
    /// the timeout): bump the epoch once so the old producer is fenced; the
    /// abort then runs at that epoch. Kafka bumps its in-memory epoch before
    /// the write and so needs `hasFailedEpochFence` not to bump twice after a
    /// failed write; here memory changes only after a durable write, so a
    /// retried fence computes the same epoch again.
    pub(crate) fn fence_then_abort(&self, now_ms: i64) -> Result<Self, IllegalTransition> {
        self.check(TxnState::PrepareEpochFence)?;
        if self.producer_epoch == i16::MAX {
            return Err(IllegalTransition {
                from: self.state,
                to: TxnState::PrepareEpochFence,
            });
        }
        let mut next = self.clone();
        next.producer_epoch += 1;
        next.last_producer_epoch = NO_PRODUCER_EPOCH;
        next.state = TxnState::PrepareAbort;
        next.last_update_ms = now_ms;
        Ok(next)
    }

    /// EndTxn on an Ongoing transaction. With transaction version 2 the epoch
    /// is bumped, and `next_producer_id` (set when the bump exhausts the
    /// epochs) takes over at Complete*.
    pub(crate) fn prepare_end(
        &self,
        commit: bool,
        client_tv: i16,
        next_producer_id: i64,
        now_ms: i64,
    ) -> Result<Self, IllegalTransition> {
        let to = if commit {
            TxnState::PrepareCommit
        } else {
            TxnState::PrepareAbort
        };
        self.check(to)?;
        let mut next = self.clone();
        if client_tv >= TV_2 {
            if self.producer_epoch == i16::MAX {
                return Err(IllegalTransition {
                    from: self.state,
                    to,
                });
            }
            next.producer_epoch = self.producer_epoch + 1;
            next.last_producer_epoch = self.producer_epoch;
            next.next_producer_id = next_producer_id;
        }
        next.state = to;
        next.last_update_ms = now_ms;
        next.client_tv = client_tv;
        Ok(next)
    }

    /// Markers are durable: CompleteCommit / CompleteAbort. With transaction
    /// version 2 and an exhausted epoch, the next producer id starts at 0.
    pub(crate) fn complete(&self, now_ms: i64) -> Result<Self, IllegalTransition> {
        let to = match self.state {
            TxnState::PrepareCommit => TxnState::CompleteCommit,
            _ => TxnState::CompleteAbort,
        };
        self.check(to)?;
        let mut next = self.clone();
        next.state = to;
        next.partitions.clear();
        next.last_update_ms = now_ms;
        if self.supports_epoch_bump() {
            next.previous_producer_id = self.producer_id;
            next.last_producer_epoch = self.producer_epoch;
            if self.next_producer_id != NO_PRODUCER_ID {
                next.producer_id = self.next_producer_id;
                next.producer_epoch = 0;
            }
        }
        next.next_producer_id = NO_PRODUCER_ID;
        Ok(next)
    }

    /// The id expires: a tombstone will be written.
    pub(crate) fn dead(&self) -> Result<Self, IllegalTransition> {
        self.check(TxnState::Dead)?;
        let mut next = self.clone();
        next.state = TxnState::Dead;
        next.partitions.clear();
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000;
    const TIMEOUT: i32 = 60_000;

    fn tp(topic: &str, partition: i32) -> (String, i32) {
        (topic.to_string(), partition)
    }

    #[test]
    fn state_machine_follows_kafkas_transitions() {
        let empty = TxnMetadata::new(1, TIMEOUT, T0)
            .bump_epoch(TIMEOUT, None, T0)
            .unwrap()
            .unwrap();
        assert_eq!((empty.state, empty.producer_epoch), (TxnState::Empty, 0));
        // Nothing to end or fence without a transaction.
        assert!(empty.prepare_end(true, 0, NO_PRODUCER_ID, T0).is_err());
        assert!(empty.fence_then_abort(T0).is_err());
        assert!(empty.complete(T0).is_err());
        let ongoing = empty.add_partitions([tp("t", 0)], 0, T0 + 1).unwrap();
        assert_eq!(
            (ongoing.state, ongoing.start_ms),
            (TxnState::Ongoing, T0 + 1)
        );
        assert!(ongoing.dead().is_err());
        assert!(ongoing.bump_epoch(TIMEOUT, None, T0).is_err());
        assert!(ongoing.complete(T0).is_err());
        let prepared = ongoing
            .prepare_end(true, 0, NO_PRODUCER_ID, T0 + 2)
            .unwrap();
        assert_eq!(prepared.state, TxnState::PrepareCommit);
        assert!(prepared.add_partitions([tp("t", 1)], 0, T0).is_err());
        assert!(prepared.prepare_end(false, 0, NO_PRODUCER_ID, T0).is_err());
        let done = prepared.complete(T0 + 3).unwrap();
        assert_eq!(done.state, TxnState::CompleteCommit);
        assert!(done.partitions.is_empty());
        assert!(done.dead().is_ok());
        // A fence bumps once and aborts at that epoch.
        let fenced = ongoing.fence_then_abort(T0).unwrap();
        assert_eq!(
            (fenced.state, fenced.producer_epoch),
            (TxnState::PrepareAbort, 1)
        );
        assert_eq!(fenced.last_producer_epoch, NO_PRODUCER_EPOCH);
        // A recovering producer with a stale epoch is fenced; a lost answer's retry is not.
        let next = done.bump_epoch(TIMEOUT, Some(0), T0).unwrap().unwrap();
        assert_eq!((next.producer_epoch, next.last_producer_epoch), (1, 0));
        assert_eq!(
            next.bump_epoch(TIMEOUT, Some(0), T0)
                .unwrap()
                .unwrap()
                .producer_epoch,
            1
        );
        assert!(next.bump_epoch(TIMEOUT, Some(7), T0).unwrap().is_none());
        for state in TxnState::ALL {
            assert_eq!(TxnState::from_id(state.id()), Some(state));
            assert_eq!(TxnState::from_name(state.name()), Some(state));
        }
    }
}
