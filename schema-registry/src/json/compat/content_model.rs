//! The content-model rules array items and object properties share
//! (Confluent's `*_ADDED_TO_OPEN_CONTENT_MODEL`, `*_REMOVED_FROM_CLOSED_...`
//! and `*_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL`): a member one side
//! names and the other does not is judged by the other side's content model,
//! open (anything goes), partially open (an `additional*` or pattern schema
//! the member must match) or closed.

use serde_json::Value;

use super::{is_empty_schema, Diff, Doc};

/// A positional array item or an object property.
#[derive(Debug, Clone, Copy)]
pub(super) enum Member {
    Item,
    Property,
}

impl Member {
    fn added_to_open(self) -> &'static str {
        match self {
            Member::Item => "ITEM_ADDED_TO_OPEN_CONTENT_MODEL",
            Member::Property => "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
        }
    }

    fn added_not_covered(self) -> &'static str {
        match self {
            Member::Item => "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
            Member::Property => "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        }
    }

    fn removed_from_closed(self) -> &'static str {
        match self {
            Member::Item => "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL",
            Member::Property => "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        }
    }

    fn removed_not_covered(self) -> &'static str {
        match self {
            Member::Item => "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
            Member::Property => "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        }
    }
}

/// One side's content model for a member it does not name: `open`, else the
/// schema the member must match (`Some`, partially open) or closed (`None`).
#[derive(Clone, Copy)]
pub(super) struct ContentModel<'a> {
    pub open: bool,
    pub partial: Option<&'a Value>,
}

impl<'a> Diff<'a> {
    /// A member of the original (schema `os`) the update no longer names:
    /// only the update's content model decides whether it still accepts
    /// what the member held.
    pub(super) fn member_removed(
        &mut self,
        member: Member,
        od: Doc<'a>,
        os: &'a Value,
        ud: Doc<'a>,
        update_model: ContentModel<'a>,
        path: &str,
    ) {
        if update_model.open {
            return;
        }
        if let Some(extra) = update_model.partial {
            if self.compare_recording(od, os, ud, extra, path) {
                self.add(member.removed_not_covered(), path);
            }
        } else if os != &Value::Bool(false) {
            self.add(member.removed_from_closed(), path);
        }
    }

    /// A member the update names (schema `us`) and the original did not:
    /// only the original's content model decides what data may already
    /// hold it.
    pub(super) fn member_added(
        &mut self,
        member: Member,
        od: Doc<'a>,
        original_model: ContentModel<'a>,
        ud: Doc<'a>,
        us: &'a Value,
        path: &str,
    ) {
        if original_model.open {
            let (_, resolved) = self.resolve(ud, us, false);
            if !is_empty_schema(resolved) {
                self.add(member.added_to_open(), path);
            }
        } else if let Some(extra) = original_model.partial {
            if self.compare_recording(od, extra, ud, us, path) {
                self.add(member.added_not_covered(), path);
            }
        }
    }
}
