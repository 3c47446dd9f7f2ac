//! SyncGroup: the leader hands out the assignment, the others wait for it.

use super::replies::Waiter;
use super::*;

impl GroupCoordinator {
    pub(crate) async fn sync(&self, group_id: &str, request: SyncRequest) -> SyncResult {
        let (waiter, receiver) = Waiter::new();
        {
            let mut groups = self.groups.lock();
            let refuse = |error| SyncResult {
                error: Some(error),
                ..Default::default()
            };
            // A consumer group has no classic members to sync.
            let Some(group) = groups
                .get_mut(group_id)
                .filter(|g| matches!(g.kind, GroupKind::Classic(_)))
            else {
                return refuse(ResponseError::UnknownMemberId);
            };
            let synced = self.transact(group, |next| {
                if let GroupKind::Classic(classic) = &mut next.kind {
                    classic.sync(request, waiter.clone(), Instant::now());
                }
            });
            if let Err(error) = synced {
                waiter.send(refuse(error));
            }
        }
        receiver.await.unwrap_or_else(|_| SyncResult {
            error: Some(ResponseError::CoordinatorNotAvailable),
            ..Default::default()
        })
    }
}
