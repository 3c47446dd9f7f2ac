//! Heartbeat (classic): keeps a member's session alive and tells it
//! whether a rebalance is under way. It changes no stored state, so it
//! writes nothing and needs no copy of the group.

use super::*;

impl GroupCoordinator {
    pub(crate) fn heartbeat(
        &self,
        group_id: &str,
        member_id: &str,
        group_instance_id: Option<&str>,
        generation_id: i32,
    ) -> Result<(), ResponseError> {
        let mut groups = self.groups.lock();
        match groups.get_mut(group_id).map(|g| &mut g.kind) {
            Some(GroupKind::Classic(classic)) => {
                classic.heartbeat(member_id, group_instance_id, generation_id, Instant::now())
            }
            Some(GroupKind::Consumer(_)) | None => Err(ResponseError::UnknownMemberId),
        }
    }
}
