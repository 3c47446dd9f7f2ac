//! Quota entities (`user`, `client-id`), the quota keys, and Kafka's
//! validation of both (`ClientQuotaControlManager`), with its messages.
//!
//! A name of `None` is the entity type's default (`<default>` in
//! `kafka-configs`), written as a null name in the protocol. `ip` entities
//! (`connection_creation_rate`) are refused: Strata has no connection rate
//! quota.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

pub(crate) const USER: &str = "user";
pub(crate) const CLIENT_ID: &str = "client-id";
pub(crate) const IP: &str = "ip";

/// The quota types, by their config key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum QuotaKind {
    Produce,
    Fetch,
    Request,
    ControllerMutation,
}

impl QuotaKind {
    pub(crate) const ALL: [QuotaKind; 4] = [
        QuotaKind::Produce,
        QuotaKind::Fetch,
        QuotaKind::Request,
        QuotaKind::ControllerMutation,
    ];

    pub(crate) fn key(self) -> &'static str {
        match self {
            QuotaKind::Produce => "producer_byte_rate",
            QuotaKind::Fetch => "consumer_byte_rate",
            QuotaKind::Request => "request_percentage",
            QuotaKind::ControllerMutation => "controller_mutation_rate",
        }
    }

    /// The `type` label of the throttle metric (Kafka's `QuotaType` names).
    pub(crate) fn label(self) -> &'static str {
        match self {
            QuotaKind::Produce => "Produce",
            QuotaKind::Fetch => "Fetch",
            QuotaKind::Request => "Request",
            QuotaKind::ControllerMutation => "ControllerMutation",
        }
    }

    pub(crate) fn from_key(key: &str) -> Option<Self> {
        QuotaKind::ALL.into_iter().find(|k| k.key() == key)
    }

    /// The byte rates are LONG configs in Kafka: whole numbers only.
    fn integral(self) -> bool {
        matches!(self, QuotaKind::Produce | QuotaKind::Fetch)
    }

    pub(crate) fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A quota entity: a user, a client id, or both; `Some(None)` is the default.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct QuotaEntity {
    #[serde(default, with = "part", skip_serializing_if = "Option::is_none")]
    pub(crate) user: Option<Option<String>>,
    #[serde(
        default,
        with = "part",
        rename = "client-id",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) client_id: Option<Option<String>>,
}

/// An entity part in JSON: absent when the entity has no such part, `null`
/// for the default entity (plain serde would read `null` back as absent).
mod part {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<S: Serializer>(
        part: &Option<Option<String>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match part {
            Some(name) => name.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

impl QuotaEntity {
    /// The entity's (type, name) pairs, user first.
    pub(crate) fn parts(&self) -> Vec<(&'static str, Option<&str>)> {
        let mut parts = Vec::with_capacity(2);
        if let Some(user) = &self.user {
            parts.push((USER, user.as_deref()));
        }
        if let Some(client) = &self.client_id {
            parts.push((CLIENT_ID, client.as_deref()));
        }
        parts
    }

    /// The record key of one quota of this entity in the metadata log.
    pub(crate) fn record_key(&self, key: &str) -> String {
        format!(
            "quota:{}:{key}",
            serde_json::to_string(self).expect("strings always serialize")
        )
    }

    /// Checks the entity as Kafka's `validateEntity` and
    /// `configKeysForEntityType` do; the message is Kafka's.
    pub(crate) fn parse<'a>(
        parts: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
    ) -> Result<QuotaEntity, String> {
        let mut entity = QuotaEntity {
            user: None,
            client_id: None,
        };
        let mut ip = false;
        let mut any = false;
        for (entity_type, name) in parts {
            any = true;
            let slot = match entity_type {
                USER => &mut entity.user,
                CLIENT_ID => &mut entity.client_id,
                IP if !ip => {
                    ip = true;
                    continue;
                }
                IP => {
                    return Err(format!(
                        "Invalid client quota entity, duplicate entity entry {entity_type}"
                    ))
                }
                other => return Err(format!("Unhandled client quota entity type: {other}")),
            };
            if slot.is_some() {
                return Err(format!(
                    "Invalid client quota entity, duplicate entity entry {entity_type}"
                ));
            }
            if name == Some("") {
                return Err(format!("Empty {entity_type} not supported"));
            }
            *slot = Some(name.map(str::to_string));
        }
        if !any {
            return Err("Invalid empty client quota entity".into());
        }
        if ip {
            if entity.user.is_some() || entity.client_id.is_some() {
                return Err(
                    "Invalid quota entity combination, IP entity shouldnot be combined with User or ClientId"
                        .into(),
                );
            }
            return Err(
                "ip quota entities (connection_creation_rate) are not supported by Strata".into(),
            );
        }
        Ok(entity)
    }
}

impl fmt::Display for QuotaEntity {
    /// As Kafka's `ClientQuotaEntity.toString`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .parts()
            .into_iter()
            .map(|(t, n)| format!("{t}={}", n.unwrap_or("null")))
            .collect();
        write!(f, "ClientQuotaEntity(entries={{{}}})", parts.join(", "))
    }
}

/// Checks one quota value as Kafka's `validateQuotaKeyValue`.
pub(crate) fn validate_value(key: &str, value: f64) -> Result<QuotaKind, String> {
    let Some(kind) = QuotaKind::from_key(key) else {
        return Err(format!("Invalid configuration key {key}"));
    };
    if value.is_nan() || value <= 0.0 {
        return Err(format!("Quota {key} must be greater than 0"));
    }
    if kind.integral() {
        if value > i64::MAX as f64 {
            return Err(format!("Proposed value for {key} is too large for a LONG."));
        }
        if (value % 1.0).abs() > 1e-6 {
            return Err(format!("{key} cannot be a fractional value."));
        }
    }
    Ok(kind)
}

/// How a DescribeClientQuotas component matches an entity type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Match {
    /// This name (`None`: the default entity).
    Exact(Option<String>),
    /// Any name, default included, as long as the type is there.
    Specified,
}

/// A DescribeClientQuotas filter, checked as Kafka's `ClientQuotasImage.describe`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    components: BTreeMap<String, Match>,
    strict: bool,
}

/// Why a filter is refused: `Unsupported` answers UNSUPPORTED_VERSION.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FilterError {
    Invalid(String),
    Unsupported(String),
}

impl Filter {
    pub(crate) fn parse<'a>(
        components: impl IntoIterator<Item = (&'a str, i8, Option<&'a str>)>,
        strict: bool,
    ) -> Result<Filter, FilterError> {
        let mut filter = Filter {
            components: BTreeMap::new(),
            strict,
        };
        for (entity_type, match_type, name) in components {
            if entity_type.is_empty() {
                return Err(FilterError::Invalid("Invalid empty entity type.".into()));
            }
            if filter.components.contains_key(entity_type) {
                return Err(FilterError::Invalid(format!(
                    "Entity type {entity_type} cannot appear more than once in the filter."
                )));
            }
            if ![USER, CLIENT_ID, IP].contains(&entity_type) {
                return Err(FilterError::Unsupported(format!(
                    "Unsupported entity type {entity_type}"
                )));
            }
            let m = match (match_type, name) {
                (0, Some(name)) => Match::Exact(Some(name.to_string())),
                (0, None) => {
                    return Err(FilterError::Invalid(
                        "Request specified MATCH_TYPE_EXACT, but set match string to null.".into(),
                    ))
                }
                (1, None) => Match::Exact(None),
                (1, Some(_)) => {
                    return Err(FilterError::Invalid(
                        "Request specified MATCH_TYPE_DEFAULT, but also specified a match string."
                            .into(),
                    ))
                }
                (2, None) => Match::Specified,
                (2, Some(_)) => return Err(FilterError::Invalid(
                    "Request specified MATCH_TYPE_SPECIFIED, but also specified a match string."
                        .into(),
                )),
                (other, _) => {
                    return Err(FilterError::Invalid(format!("Unknown match type {other}")))
                }
            };
            filter.components.insert(entity_type.to_string(), m);
        }
        if filter.components.contains_key(IP)
            && (filter.components.contains_key(USER) || filter.components.contains_key(CLIENT_ID))
        {
            return Err(FilterError::Invalid(
                "Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component."
                    .into(),
            ));
        }
        Ok(filter)
    }

    /// Kafka's `ClientQuotasImage.matches`.
    pub(crate) fn matches(&self, entity: &QuotaEntity) -> bool {
        let parts = entity.parts();
        if self.strict && parts.len() != self.components.len() {
            return false;
        }
        self.components.iter().all(|(entity_type, m)| {
            let Some((_, name)) = parts.iter().find(|(t, _)| t == entity_type) else {
                return false;
            };
            match m {
                Match::Exact(wanted) => wanted.as_deref() == *name,
                Match::Specified => true,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(user: Option<Option<&str>>, client: Option<Option<&str>>) -> QuotaEntity {
        QuotaEntity {
            user: user.map(|u| u.map(str::to_string)),
            client_id: client.map(|c| c.map(str::to_string)),
        }
    }

    #[test]
    fn entities_are_checked_with_kafkas_messages() {
        assert_eq!(
            QuotaEntity::parse([(USER, Some("alice")), (CLIENT_ID, None)]).unwrap(),
            entity(Some(Some("alice")), Some(None))
        );
        assert_eq!(
            QuotaEntity::parse([]).unwrap_err(),
            "Invalid empty client quota entity"
        );
        assert_eq!(
            QuotaEntity::parse([(USER, Some(""))]).unwrap_err(),
            "Empty user not supported"
        );
        assert_eq!(
            QuotaEntity::parse([("group", Some("g"))]).unwrap_err(),
            "Unhandled client quota entity type: group"
        );
        assert!(QuotaEntity::parse([(IP, Some("1.2.3.4"))])
            .unwrap_err()
            .contains("not supported"));
    }

    #[test]
    fn default_entities_survive_json() {
        for e in [
            entity(Some(None), None),
            entity(None, Some(None)),
            entity(Some(Some("a")), Some(None)),
            entity(Some(None), Some(Some("c"))),
        ] {
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(
                serde_json::from_str::<QuotaEntity>(&json).unwrap(),
                e,
                "{json}"
            );
        }
    }

    #[test]
    fn values_are_checked_as_kafka_does() {
        assert_eq!(
            validate_value("producer_byte_rate", 1024.0),
            Ok(QuotaKind::Produce)
        );
        assert_eq!(
            validate_value("producer_byte_rate", 1.5).unwrap_err(),
            "producer_byte_rate cannot be a fractional value."
        );
        assert_eq!(
            validate_value("request_percentage", 0.0).unwrap_err(),
            "Quota request_percentage must be greater than 0"
        );
        assert!(validate_value("request_percentage", 12.5).is_ok());
        assert_eq!(
            validate_value("bogus", 1.0).unwrap_err(),
            "Invalid configuration key bogus"
        );
    }

    #[test]
    fn filters_match_as_kafkas_image() {
        let alice_default = entity(Some(Some("alice")), Some(None));
        let alice = entity(Some(Some("alice")), None);
        let exact = Filter::parse([(USER, 0, Some("alice"))], false).unwrap();
        assert!(exact.matches(&alice) && exact.matches(&alice_default));
        let strict = Filter::parse([(USER, 0, Some("alice"))], true).unwrap();
        assert!(strict.matches(&alice) && !strict.matches(&alice_default));
        let default_client = Filter::parse([(CLIENT_ID, 1, None)], false).unwrap();
        assert!(default_client.matches(&alice_default) && !default_client.matches(&alice));
        let any_client = Filter::parse([(CLIENT_ID, 2, None)], false).unwrap();
        assert!(any_client.matches(&alice_default));
        assert!(matches!(
            Filter::parse([(USER, 0, None)], false),
            Err(FilterError::Invalid(_))
        ));
        assert!(matches!(
            Filter::parse([("group", 2, None)], false),
            Err(FilterError::Unsupported(_))
        ));
    }
}
