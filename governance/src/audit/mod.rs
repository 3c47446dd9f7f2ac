//! The audit trail every face writes to: failed logins, denied requests and
//! security-relevant changes, as [`AuditEvent`]s handed to an [`AuditSink`].
//!
//! Sans I/O: the broker implements the sink (it appends CloudEvents JSON
//! records to its audit topic); the Schema Registry and the REST Proxy are
//! given the sink the way they are given the authorizer, as an
//! `Arc<dyn AuditSink>`, so they never depend on the broker. [`NoAudit`] is
//! the sink of a broker without an audit log and of tests.
//!
//! Recording must never slow a request: a sink may drop an event (and count
//! it) rather than wait. [`DenialLimiter`] keeps a flood of refused requests
//! from flooding the trail.

mod event;
mod limiter;

pub use event::{AuditEvent, AuthorizationInfo, EventKind, Face};
pub use limiter::{DenialLimiter, DEFAULT_WINDOW};

/// Where audit events go.
pub trait AuditSink: Send + Sync + 'static {
    /// Takes one event. Must not block: a full sink drops the event.
    fn record(&self, event: AuditEvent);
}

/// Discards every event: no audit log configured.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoAudit;

impl AuditSink for NoAudit {
    fn record(&self, _: AuditEvent) {}
}
