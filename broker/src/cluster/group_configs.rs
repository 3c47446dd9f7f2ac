//! Changing a group's dynamic configs (KIP-848): validated against the
//! broker's bounds, written to `__strata_metadata` and fsynced, then
//! installed where the group coordinator reads them.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;

use super::{internal, AdminError, Cluster, MetadataEvent};
use crate::group_config::{self, GroupConfigs};

impl Cluster {
    /// Every group's configs, shared with the group coordinator.
    pub(crate) fn group_configs(&self) -> Arc<GroupConfigs> {
        self.group_configs.clone()
    }

    /// Replaces a group's overrides with `overrides` (validated here, as
    /// Kafka's controller validates the whole new set). The group need not
    /// exist: Kafka stores configs of any group name.
    pub(crate) async fn replace_group_configs(
        &self,
        group: &str,
        overrides: BTreeMap<String, String>,
        validate_only: bool,
    ) -> Result<(), AdminError> {
        let _guard = self.changes.lock().await;
        group_config::validate(&overrides, &self.properties)
            .map_err(|m| AdminError::new(ResponseError::InvalidConfig, m))?;
        if validate_only {
            return Ok(());
        }
        let event = MetadataEvent::GroupConfigsReplaced {
            group: group.to_string(),
            configs: overrides.clone(),
        };
        self.metadata.append(&event).await.map_err(internal)?;
        self.group_configs.replace(group, overrides);
        tracing::info!(group, "group configs changed");
        Ok(())
    }
}
