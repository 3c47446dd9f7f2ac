//! The coordinator's clock: every 100 ms, expired sessions leave, join and
//! sync phases whose time is up end, KIP-848 members that did not revoke in
//! time are removed; every `offsets.retention.check.interval.ms`, offsets
//! expire (`offset_expiry.rs`). Only groups with something due are copied
//! and changed, through the same log-first path as requests.

use super::*;

impl GroupCoordinator {
    /// Runs the timers until `stopped` turns true.
    pub(crate) async fn run_timers(&self, mut stopped: tokio::sync::watch::Receiver<bool>) {
        let mut last_expiry = Instant::now();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                _ = stopped.wait_for(|s| *s) => return,
            }
            let now = Instant::now();
            self.tick(now);
            if now.duration_since(last_expiry) >= self.config.offsets_retention_check {
                last_expiry = now;
                self.expire_offsets();
            }
        }
    }

    /// One pass of the membership timers over every group. A group whose
    /// change cannot be written stays as it was and is tried again next
    /// pass.
    pub(super) fn tick(&self, now: Instant) {
        let mut groups = self.groups.lock();
        for group in groups.values_mut() {
            if !group.kind.due(now) {
                continue;
            }
            let ticked = self.transact(group, |next| match &mut next.kind {
                GroupKind::Classic(classic) => {
                    classic.tick(now);
                    Vec::new()
                }
                GroupKind::Consumer(consumer) => consumer.tick(now),
            });
            match ticked {
                Ok(removed) => {
                    for member in removed {
                        tracing::info!(group = %group.kind.group_id(), member = %member, "consumer group member removed: session or rebalance timeout");
                    }
                }
                Err(e) => {
                    tracing::warn!(group = %group.kind.group_id(), error = ?e, "group timer change not written; retried next pass");
                }
            }
        }
    }
}

impl GroupKind {
    /// Whether a timer has something to do for the group now.
    fn due(&self, now: Instant) -> bool {
        match self {
            GroupKind::Classic(c) => c.due(now),
            GroupKind::Consumer(c) => c.due(now),
        }
    }
}
