//! `ssl.principal.mapping.rules` as Kafka writes them
//! (`RULE:^CN=(.*?),OU=(.*?)$/$1@$2/L, DEFAULT`): the first rule whose
//! pattern matches a client certificate's distinguished name gives the
//! principal's name; DEFAULT keeps the whole DN. And the DN itself, read
//! from the certificate in RFC 2253 form, as Java's
//! `X500Principal.getName()` writes it.
//!
//! Parsing follows Kafka's `SslPrincipalMapper`: rules are separated by
//! commas (whitespace around them is free, so `,` then a newline works); a
//! rule's pattern and
//! replacement run to the next unescaped `/` and may contain commas; `\/` is
//! a slash; an optional `L` or `U` lower- or upper-cases the result; anything
//! else after a rule is an error. Empty entries are ignored. A pattern must
//! match the whole DN; the replacement's `$n` are its groups (a `$n` past the
//! last group is literal, as Kafka escapes it).
//!
//! [`certificate_principal`] puts the two together: it is what every TLS
//! listener (Kafka and HTTP) calls with the client's certificate, and what
//! the `tls_principal` fuzz target feeds arbitrary DER.

use regex::Regex;
use x509_parser::der_parser::asn1_rs::{Any, Tag};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::Principal;

/// Parsed mapping rules.
#[derive(Debug, Clone)]
pub struct SslPrincipalMapper {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
enum Rule {
    Default,
    Replace {
        /// The pattern anchored at both ends (Java's `Matcher.matches`).
        whole: Regex,
        /// The pattern as written, for the replacement (`replaceAll`).
        pattern: Regex,
        /// The replacement in the `regex` crate's syntax.
        replacement: String,
        case: Case,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Keep,
    Lower,
    Upper,
}

/// A rule list that does not parse (refused at start).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid ssl.principal.mapping.rules: {0}")]
pub struct InvalidRules(pub String);

impl SslPrincipalMapper {
    /// Parses Kafka's rule syntax; `DEFAULT` alone when unset.
    pub fn parse(rules: &str) -> Result<Self, InvalidRules> {
        let text = rules.trim();
        if text.is_empty() {
            return Ok(SslPrincipalMapper {
                rules: vec![Rule::Default],
            });
        }
        let mut parsed = Vec::new();
        let mut rest = text;
        loop {
            rest = rest.trim_start();
            if rest.is_empty() {
                break;
            }
            let (rule, after) = if let Some(after) = rest.strip_prefix("RULE:") {
                parse_rule(rest, after)?
            } else {
                let end = rest.find(',').unwrap_or(rest.len());
                let item = rest[..end].trim_end();
                let rule = match item {
                    "DEFAULT" => Some(Rule::Default),
                    "" => None,
                    other => return Err(InvalidRules(format!("Invalid rule: {other}"))),
                };
                (rule, &rest[end..])
            };
            parsed.extend(rule);
            rest = after.trim_start();
            match rest.strip_prefix(',') {
                Some(next) => rest = next,
                None if rest.is_empty() => break,
                None => return Err(InvalidRules(format!("Invalid rule: {rest}"))),
            }
        }
        Ok(SslPrincipalMapper { rules: parsed })
    }

    /// The principal name for a distinguished name; `None` if no rule
    /// matches (Kafka then refuses the connection).
    pub fn map(&self, distinguished_name: &str) -> Option<String> {
        self.rules.iter().find_map(|rule| match rule {
            Rule::Default => Some(distinguished_name.to_string()),
            Rule::Replace {
                whole,
                pattern,
                replacement,
                case,
            } => {
                if !whole.is_match(distinguished_name) {
                    return None;
                }
                let name = pattern
                    .replace_all(distinguished_name, replacement.as_str())
                    .into_owned();
                Some(match case {
                    Case::Keep => name,
                    Case::Lower => name.to_lowercase(),
                    Case::Upper => name.to_uppercase(),
                })
            }
        })
    }
}

/// `RULE:pattern/replacement/[LU]`; `rule` is the whole text from `RULE:`,
/// `after` what follows `RULE:`. Returns the rule and the text after it.
fn parse_rule<'a>(rule: &str, after: &'a str) -> Result<(Option<Rule>, &'a str), InvalidRules> {
    let invalid = || {
        let end = rule.find(',').unwrap_or(rule.len());
        InvalidRules(format!("Invalid rule: {}", &rule[..end]))
    };
    let (pattern, after) = until_slash(after).ok_or_else(invalid)?;
    let (replacement, after) = until_slash(after).ok_or_else(invalid)?;
    let (case, after) = match after.as_bytes().first() {
        Some(b'L') => (Case::Lower, &after[1..]),
        Some(b'U') => (Case::Upper, &after[1..]),
        _ => (Case::Keep, after),
    };
    let trailing = after.trim_start();
    if !(trailing.is_empty() || trailing.starts_with(',')) {
        let end = trailing.find(',').unwrap_or(trailing.len());
        return Err(InvalidRules(format!(
            "Invalid rule: `{}`, unmatched substring: `{}`",
            rule.trim_end(),
            &trailing[..end]
        )));
    }
    let pattern = pattern.replace("\\/", "/");
    let compile = |p: &str| {
        Regex::new(p).map_err(|e| InvalidRules(format!("Invalid rule pattern `{pattern}`: {e}")))
    };
    let compiled = compile(&pattern)?;
    let whole = compile(&format!("^(?:{pattern})$"))?;
    let replacement = rust_replacement(replacement, compiled.captures_len() - 1);
    Ok((
        Some(Rule::Replace {
            whole,
            pattern: compiled,
            replacement,
            case,
        }),
        after,
    ))
}

/// Splits at the first `/` not escaped by a backslash.
fn until_slash(text: &str) -> Option<(&str, &str)> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '/' => return Some((&text[..i], &text[i + 1..])),
            _ => {}
        }
    }
    None
}

/// Java's replacement syntax (`$1`, `\x` for a literal x) in the `regex`
/// crate's (`${1}`, `$$`); `$n` past the last group stays literal.
fn rust_replacement(java: &str, groups: usize) -> String {
    let mut out = String::with_capacity(java.len() + 8);
    let mut chars = java.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            '$' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                match digits.parse::<usize>() {
                    Ok(n) if n <= groups => out.push_str(&format!("${{{n}}}")),
                    _ => {
                        out.push_str("$$");
                        out.push_str(&digits);
                    }
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// The principal a client certificate proves: its subject DN through the
/// mapping rules, as Kafka's `SslPrincipalMapper` names the principal
/// (`User:<name>`). `None` when the DER is not a certificate or no rule
/// matches the DN; the listener then refuses the client, as Kafka does.
pub fn certificate_principal(der: &[u8], mapper: &SslPrincipalMapper) -> Option<Principal> {
    let distinguished_name = certificate_subject(der)?;
    mapper.map(&distinguished_name).map(Principal::user)
}

/// The subject DN of a DER certificate, RFC 2253 as Java prints it
/// (`CN=alice,OU=eng,O=Example`).
pub fn certificate_subject(der: &[u8]) -> Option<String> {
    let (_, certificate) = X509Certificate::from_der(der).ok()?;
    let rdns: Vec<String> = certificate
        .subject()
        .iter()
        .map(|rdn| {
            rdn.iter()
                .map(|ava| attribute(&ava.attr_type().to_id_string(), ava.attr_value()))
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    // Most specific first, as RFC 2253 writes a name.
    Some(rdns.into_iter().rev().collect::<Vec<_>>().join(","))
}

/// One `type=value`: the RFC 2253 keyword and the escaped string for the
/// types Java names, the dotted OID and `#`-hex of the DER value otherwise.
fn attribute(oid: &str, value: &Any<'_>) -> String {
    let keyword = match oid {
        "2.5.4.3" => Some("CN"),
        "2.5.4.6" => Some("C"),
        "2.5.4.7" => Some("L"),
        "2.5.4.8" => Some("ST"),
        "2.5.4.9" => Some("STREET"),
        "2.5.4.10" => Some("O"),
        "2.5.4.11" => Some("OU"),
        "0.9.2342.19200300.100.1.25" => Some("DC"),
        "0.9.2342.19200300.100.1.1" => Some("UID"),
        _ => None,
    };
    match (keyword, string_value(value)) {
        (Some(keyword), Some(text)) => format!("{keyword}={}", escape(&text)),
        (keyword, _) => format!("{}=#{}", keyword.unwrap_or(oid), der_hex(value)),
    }
}

/// The text of a directory string, `None` for other types.
fn string_value(value: &Any<'_>) -> Option<String> {
    let data = value.data;
    match value.tag() {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::NumericString
        | Tag::VisibleString => std::str::from_utf8(data).ok().map(str::to_string),
        // T.61: Latin-1 in practice, as Java reads it.
        Tag::TeletexString => Some(data.iter().map(|b| char::from(*b)).collect()),
        Tag::BmpString => {
            if data.len() % 2 != 0 {
                return None;
            }
            let units: Vec<u16> = data
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        Tag::UniversalString => {
            if data.len() % 4 != 0 {
                return None;
            }
            data.chunks(4)
                .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                .collect()
        }
        _ => None,
    }
}

/// Java's escaping: `,=+<>#;"\` anywhere, spaces at either end.
fn escape(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let lead = chars.iter().take_while(|c| **c == ' ').count();
    let trail = chars.len() - chars.iter().rev().take_while(|c| **c == ' ').count();
    let mut out = String::with_capacity(value.len() + 4);
    for (i, c) in chars.into_iter().enumerate() {
        if i < lead || i >= trail || ",=+<>#;\"\\".contains(c) {
            out.push('\\');
        } else if c == '\0' {
            out.push_str("\\00");
            continue;
        }
        out.push(c);
    }
    out
}

/// Lower-case hex of the value's DER encoding (tag, length, content).
fn der_hex(value: &Any<'_>) -> String {
    let data = value.data;
    let class = (value.class() as u8) << 6;
    let constructed = if value.header.is_constructed() {
        0x20
    } else {
        0
    };
    let mut der = Vec::with_capacity(data.len() + 6);
    let tag = value.tag().0;
    if tag < 31 {
        der.push(class | constructed | tag as u8);
    } else {
        der.push(class | constructed | 0x1f);
        let mut bytes = Vec::new();
        let mut t = tag;
        bytes.push((t & 0x7f) as u8);
        t >>= 7;
        while t > 0 {
            bytes.push(0x80 | (t & 0x7f) as u8);
            t >>= 7;
        }
        der.extend(bytes.into_iter().rev());
    }
    if data.len() < 0x80 {
        der.push(data.len() as u8);
    } else {
        let len = (data.len() as u64).to_be_bytes();
        let skip = len.iter().take_while(|b| **b == 0).count();
        der.push(0x80 | (8 - skip) as u8);
        der.extend_from_slice(&len[skip..]);
    }
    der.extend_from_slice(data);
    der.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
#[path = "principal_mapping_tests.rs"]
mod tests;
