//! How ACLs and SCRAM credentials are written in `__strata_metadata`.
//!
//! A binding is stored by its Kafka names (`TOPIC`, `LITERAL`, `READ`,
//! `ALLOW`) rather than wire codes, so the log reads like `kafka-acls
//! --list`. Salts and keys are base64. Every binding and every (user,
//! mechanism) has its own record key, so a compacted metadata log would keep
//! exactly the latest event for each: the binding's creation or deletion, the
//! credential's latest upsert or its deletion.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use strata_governance::acl::{codes, AclBinding};
use strata_governance::credentials::{ScramCredential, ScramMechanism};

/// One binding as the metadata log holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredAcl {
    pub(crate) resource_type: String,
    pub(crate) resource_name: String,
    pub(crate) pattern_type: String,
    pub(crate) principal: String,
    pub(crate) host: String,
    pub(crate) operation: String,
    pub(crate) permission: String,
}

impl From<&AclBinding> for StoredAcl {
    fn from(b: &AclBinding) -> Self {
        StoredAcl {
            resource_type: codes::resource_type_name(b.resource_type).to_string(),
            resource_name: b.resource_name.clone(),
            pattern_type: codes::pattern_type_name(b.pattern_type).to_string(),
            principal: b.principal.clone(),
            host: b.host.clone(),
            operation: codes::operation_name(b.operation).to_string(),
            permission: codes::permission_name(b.permission).to_string(),
        }
    }
}

impl StoredAcl {
    /// The binding, or what in it could not be read (a log written by a
    /// newer Strata with names this one does not know).
    pub(crate) fn binding(&self) -> anyhow::Result<AclBinding> {
        let bad = |what: &str, v: &str| anyhow::anyhow!("stored ACL with unknown {what} {v:?}");
        Ok(AclBinding {
            resource_type: codes::parse_resource_type_name(&self.resource_type)
                .ok_or_else(|| bad("resource type", &self.resource_type))?,
            resource_name: self.resource_name.clone(),
            pattern_type: codes::parse_pattern_type_name(&self.pattern_type)
                .ok_or_else(|| bad("pattern type", &self.pattern_type))?,
            principal: self.principal.clone(),
            host: self.host.clone(),
            operation: codes::parse_operation_name(&self.operation)
                .ok_or_else(|| bad("operation", &self.operation))?,
            permission: codes::parse_permission_name(&self.permission)
                .ok_or_else(|| bad("permission", &self.permission))?,
        })
    }

    /// The record key of this binding: `acl:` and its JSON, unambiguous
    /// whatever characters the names hold.
    pub(crate) fn record_key(&self) -> String {
        format!(
            "acl:{}",
            serde_json::to_string(self).expect("strings always serialize")
        )
    }
}

/// The record key of one user's credential for one mechanism.
pub(crate) fn scram_record_key(user: &str, mechanism: &str) -> String {
    format!("scram:{user}:{mechanism}")
}

/// Bytes as base64 in JSON.
pub(crate) mod b64 {
    use super::*;

    pub(crate) fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// The mechanism by its SASL name (`SCRAM-SHA-256`) in JSON.
pub(crate) mod mechanism {
    use super::*;

    pub(crate) fn serialize<S: serde::Serializer>(
        m: &ScramMechanism,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(m.name())
    }

    pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<ScramMechanism, D::Error> {
        let text = String::deserialize(d)?;
        ScramMechanism::from_name(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown SCRAM mechanism {text:?}")))
    }
}

/// A credential from the fields of a `ScramCredentialUpserted` event.
pub(crate) fn credential(
    salt: &[u8],
    iterations: u32,
    stored_key: &[u8],
    server_key: &[u8],
) -> ScramCredential {
    ScramCredential {
        salt: salt.to_vec(),
        iterations,
        stored_key: stored_key.to_vec(),
        server_key: server_key.to_vec(),
    }
}
