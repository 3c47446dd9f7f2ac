//! What the metrics scrape reads from the coordinator: each group's state,
//! member count and committed offsets, copied out under the groups lock (no
//! log I/O), so lag is computed outside it.

use super::{GroupCoordinator, GroupKind};

/// One group as the scrape sees it.
#[derive(Debug, Clone)]
pub(crate) struct GroupView {
    pub(crate) group_id: String,
    /// The state's name as ListGroups reports it ("Stable", "Empty", ...).
    pub(crate) state: &'static str,
    pub(crate) members: usize,
    /// `(topic, partition, committed offset)`, sorted.
    pub(crate) offsets: Vec<(String, i32, i64)>,
}

impl GroupCoordinator {
    /// Every group with its committed offsets (pending transactional
    /// offsets are not committed yet and are left out).
    pub(crate) fn metrics_view(&self) -> Vec<GroupView> {
        let groups = self.groups.lock();
        groups
            .iter()
            .map(|(id, group)| {
                let (state, members) = match &group.kind {
                    GroupKind::Consumer(consumer) => {
                        (consumer.state().name(), consumer.members.len())
                    }
                    GroupKind::Classic(classic) => (classic.state.name(), classic.members.len()),
                };
                GroupView {
                    group_id: id.clone(),
                    state,
                    members,
                    offsets: group
                        .offsets
                        .iter()
                        .map(|((topic, partition), c)| (topic.clone(), *partition, c.offset))
                        .collect(),
                }
            })
            .collect()
    }
}
