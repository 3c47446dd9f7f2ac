//! Who is asking: a principal as Kafka writes it (`User:alice`).

use std::fmt;

/// An authenticated identity, as Kafka writes it: `User:alice`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    pub kind: String,
    pub name: String,
}

impl Principal {
    /// The principal of a connection that did not authenticate (PLAINTEXT).
    pub fn anonymous() -> Self {
        Principal::user("ANONYMOUS")
    }

    /// `User:<name>`, the kind every SASL mechanism and certificate yields.
    pub fn user(name: impl Into<String>) -> Self {
        Principal {
            kind: "User".into(),
            name: name.into(),
        }
    }

    /// Parses `Kind:name` (the name may itself contain colons, as
    /// distinguished names do). `None` without a colon or with an empty kind.
    pub fn parse(text: &str) -> Option<Self> {
        let (kind, name) = text.split_once(':')?;
        if kind.is_empty() {
            return None;
        }
        Some(Principal {
            kind: kind.into(),
            name: name.into(),
        })
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_principal_displays_as_kafka_writes_it() {
        assert_eq!(Principal::anonymous().to_string(), "User:ANONYMOUS");
    }

    #[test]
    fn parse_keeps_colons_in_the_name() {
        let p = Principal::parse("User:CN=a,O=b:c").unwrap();
        assert_eq!((p.kind.as_str(), p.name.as_str()), ("User", "CN=a,O=b:c"));
        assert!(Principal::parse("alice").is_none());
        assert!(Principal::parse(":alice").is_none());
    }
}
