//! LeaveGroup (classic): members leave; the group rebalances or empties.

use super::*;

impl GroupCoordinator {
    /// Removes members; one result per member, in order.
    pub(crate) fn leave(
        &self,
        group_id: &str,
        members: &[(String, Option<String>)],
    ) -> Result<Vec<Result<(), ResponseError>>, ResponseError> {
        let mut groups = self.groups.lock();
        let group = groups
            .get_mut(group_id)
            .ok_or(ResponseError::UnknownMemberId)?;
        let now = Instant::now();
        self.transact(group, |next| match &mut next.kind {
            GroupKind::Classic(classic) => members
                .iter()
                .map(|(id, instance)| classic.leave(id, instance.as_deref(), now))
                .collect(),
            GroupKind::Consumer(_) => members
                .iter()
                .map(|_| Err(ResponseError::UnknownMemberId))
                .collect(),
        })
    }
}
