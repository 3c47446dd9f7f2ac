//! `ssl.principal.mapping.rules` as Kafka writes them
//! (`RULE:^CN=(.*?),OU=(.*?)$/$1@$2/L, DEFAULT`): the first rule whose
//! pattern matches a client certificate's distinguished name gives the
//! principal's name; DEFAULT keeps the whole DN. And the DN itself, read
//! from the certificate in RFC 2253 form, as Java's
//! `X500Principal.getName()` writes it.

/// Parsed mapping rules.
#[derive(Debug, Clone)]
pub struct SslPrincipalMapper {
    // helper A
}

/// A rule list that does not parse (refused at start).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid ssl.principal.mapping.rules: {0}")]
pub struct InvalidRules(pub String);

impl SslPrincipalMapper {
    /// Parses Kafka's rule syntax; `DEFAULT` alone when unset.
    pub fn parse(rules: &str) -> Result<Self, InvalidRules> {
        let _ = rules;
        todo!("helper A")
    }

    /// The principal name for a distinguished name; `None` if no rule
    /// matches (Kafka then refuses the connection).
    pub fn map(&self, distinguished_name: &str) -> Option<String> {
        let _ = distinguished_name;
        todo!("helper A")
    }
}

/// The subject DN of a DER certificate, RFC 2253 as Java prints it
/// (`CN=alice,OU=eng,O=Example`).
pub fn certificate_subject(der: &[u8]) -> Option<String> {
    let _ = der;
    todo!("helper A")
}
