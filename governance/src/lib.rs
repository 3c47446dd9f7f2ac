//! Governance: who is asking ([`Principal`], SASL mechanisms, JWTs,
//! certificates) and whether they may ([`Authorizer`], ACLs).
//!
//! Nothing here does I/O on sockets or knows the broker: the broker feeds
//! SASL payloads to [`sasl::SaslExchange`]s, keeps ACLs and credentials in
//! its metadata log and applies them to [`acl::AclAuthorizer`] and
//! [`credentials::CredentialStore`]. Every face reports failed logins, denials
//! and security-relevant changes to an [`audit::AuditSink`].

pub mod acl;
pub mod audit;
mod authorizer;
pub mod credentials;
pub mod oauth;
mod principal;
pub mod principal_mapping;
pub mod sasl;

pub use acl::{Operation, Resource, ResourceType};
pub use authorizer::{authorized_operations, AllowAll, Authorizer, Identity};
pub use principal::Principal;
