//! Background work: finishing transactions found prepared at start-up,
//! aborting transactions that outlived their timeout, and expiring idle
//! transactional ids.

use std::time::Duration;

use tokio::sync::watch;

use super::metadata::TxnState;
use super::TransactionCoordinator;

impl TransactionCoordinator {
    /// Resumes prepared transactions, then runs the timers until `stopped`.
    pub(crate) async fn run(&self, mut stopped: watch::Receiver<bool>) {
        drop(self.resume_pending());
        let abort_every = self.config().abort_interval.max(Duration::from_millis(1));
        let remove_every = self.config().remove_interval.max(Duration::from_millis(1));
        let mut abort = tokio::time::interval(abort_every);
        let mut remove = tokio::time::interval(remove_every);
        abort.tick().await;
        remove.tick().await;
        loop {
            tokio::select! {
                _ = abort.tick() => self.abort_timed_out().await,
                _ = remove.tick() => self.remove_expired().await,
                // The guard wait_for returns is not Send: drop it inside.
                _ = async { drop(stopped.wait_for(|s| *s).await) } => return,
            }
        }
    }

    /// Writes the markers and Complete* of every transaction replayed in
    /// PrepareCommit or PrepareAbort (a crash came between the two), as
    /// Kafka does when it loads a partition. Returns the waiters, for tests.
    pub(crate) fn resume_pending(&self) -> Vec<tokio::sync::oneshot::Receiver<(i64, i16)>> {
        let prepared: Vec<_> = self
            .inner
            .entries
            .lock()
            .iter()
            .filter(|(_, e)| e.meta.state.is_prepare() && e.pending.is_none())
            .map(|(id, e)| (id.clone(), e.meta.clone()))
            .collect();
        prepared
            .into_iter()
            .map(|(id, meta)| {
                tracing::info!(transactional_id = %id, state = ?meta.state, "completing a transaction prepared before the restart");
                self.spawn_completion(id, meta)
            })
            .collect()
    }

    /// Aborts every Ongoing transaction older than its timeout, fencing its
    /// producer with a bumped epoch (Kafka's `abortTimedOutTransactions`).
    pub(crate) async fn abort_timed_out(&self) {
        let now = self.now();
        let timed_out: Vec<(String, i64)> = self
            .inner
            .entries
            .lock()
            .iter()
            .filter(|(_, e)| {
                e.pending.is_none()
                    && e.meta.state == TxnState::Ongoing
                    && e.meta.start_ms + i64::from(e.meta.timeout_ms) < now
            })
            .map(|(id, e)| (id.clone(), e.meta.producer_id))
            .collect();
        for (id, producer_id) in timed_out {
            let begun = {
                let mut entries = self.inner.entries.lock();
                let Some(entry) = entries.get(&id) else {
                    continue;
                };
                // Re-checked: the producer may have ended it meanwhile.
                if entry.pending.is_some()
                    || entry.meta.state != TxnState::Ongoing
                    || entry.meta.producer_id != producer_id
                {
                    continue;
                }
                match entry.meta.fence_then_abort(now) {
                    Ok(next) => self
                        .begin(&mut entries, &id, &next)
                        .map(|durable| (next, durable)),
                    Err(e) => Err(super::illegal(&id, e)),
                }
            };
            let outcome = match begun {
                Ok((next, durable)) => self.finish_fence(&id, next, durable).await,
                Err(e) => Err(e),
            };
            match outcome {
                Ok(()) => {
                    tracing::info!(transactional_id = %id, "aborting a transaction that outlived its timeout")
                }
                Err(e) => {
                    tracing::warn!(transactional_id = %id, error = ?e, "aborting a timed-out transaction failed")
                }
            }
        }
    }

    /// Removes transactional ids idle for `transactional.id.expiration.ms`
    /// by writing their tombstones.
    pub(crate) async fn remove_expired(&self) {
        let cutoff = self.now() - self.config().id_expiration_ms;
        let expired: Vec<String> = self
            .inner
            .entries
            .lock()
            .iter()
            .filter(|(_, e)| {
                e.pending.is_none()
                    && e.meta.state.expiration_allowed()
                    && e.meta.last_update_ms <= cutoff
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            let begun = {
                let mut entries = self.inner.entries.lock();
                let Some(entry) = entries.get_mut(&id) else {
                    continue;
                };
                if entry.pending.is_some()
                    || !entry.meta.state.expiration_allowed()
                    || entry.meta.last_update_ms > cutoff
                    || entry.meta.dead().is_err()
                {
                    continue;
                }
                match self.append(&id, None) {
                    Ok(durable) => {
                        entry.pending = Some(TxnState::Dead);
                        durable
                    }
                    Err(e) => {
                        tracing::warn!(transactional_id = %id, error = ?e, "expiring a transactional id failed");
                        continue;
                    }
                }
            };
            let outcome = begun.log.wait_durable(begun.end).await;
            let mut entries = self.inner.entries.lock();
            match outcome {
                Ok(()) => {
                    entries.remove(&id);
                    tracing::info!(transactional_id = %id, "transactional id expired");
                }
                Err(e) => {
                    if let Some(entry) = entries.get_mut(&id) {
                        entry.pending = None;
                    }
                    tracing::warn!(transactional_id = %id, error = %e, "tombstone of an expired transactional id not durable");
                }
            }
        }
    }
}
