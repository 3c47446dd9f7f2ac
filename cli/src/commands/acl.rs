//! `strata acl`: DescribeAcls, CreateAcls and DeleteAcls, with Kafka's
//! names for resource types, pattern types, operations and permissions.

use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::{CreateAclsRequest, DeleteAclsRequest, DescribeAclsRequest};
use kafka_protocol::protocol::StrBytes;
use serde_json::{json, Value};

use crate::args::{AclAction, AclSpec};
use crate::client::Client;
use crate::error::{CliError, Result};
use crate::output::{Report, Table};

const RESOURCE_TYPES: &[(&str, i8)] = &[
    ("any", 1),
    ("topic", 2),
    ("group", 3),
    ("cluster", 4),
    ("transactional-id", 5),
    ("delegation-token", 6),
    ("user", 7),
];
const PATTERN_TYPES: &[(&str, i8)] = &[("any", 1), ("match", 2), ("literal", 3), ("prefixed", 4)];
const OPERATIONS: &[(&str, i8)] = &[
    ("any", 1),
    ("all", 2),
    ("read", 3),
    ("write", 4),
    ("create", 5),
    ("delete", 6),
    ("alter", 7),
    ("describe", 8),
    ("cluster-action", 9),
    ("describe-configs", 10),
    ("alter-configs", 11),
    ("idempotent-write", 12),
    ("create-tokens", 13),
    ("describe-tokens", 14),
    ("two-phase-commit", 15),
];
const PERMISSIONS: &[(&str, i8)] = &[("any", 1), ("deny", 2), ("allow", 3)];

/// The code of `name` in `table` (case, `_` and `-` ignored: `READ`,
/// `TransactionalId` and `transactional_id` all parse).
fn code(table: &[(&str, i8)], what: &str, name: &str) -> Result<i8> {
    let wanted: String = name.to_ascii_lowercase().replace(['_', '-'], "");
    table
        .iter()
        .find(|(n, _)| n.replace('-', "") == wanted)
        .map(|&(_, c)| c)
        .ok_or_else(|| {
            let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
            CliError::usage(format!(
                "{what} {name:?}: expected one of {}",
                names.join(", ")
            ))
        })
}

/// Kafka's upper-case name of `code` (`TRANSACTIONAL_ID`).
fn name(table: &[(&str, i8)], code: i8) -> String {
    table.iter().find(|&&(_, c)| c == code).map_or_else(
        || format!("UNKNOWN({code})"),
        |(n, _)| n.to_ascii_uppercase().replace('-', "_"),
    )
}

/// One ACL binding or filter in codes.
#[derive(Debug, Clone, PartialEq)]
struct Binding {
    resource_type: i8,
    resource_name: Option<String>,
    pattern_type: i8,
    principal: Option<String>,
    host: Option<String>,
    operation: i8,
    permission: i8,
}

/// What a spec may leave out and what it then is: filters match anything
/// not given; a creation takes kafka-acls.sh's defaults and needs the rest.
struct Defaults {
    pattern_type: &'static str,
    /// `None`: the part must be given.
    operation: Option<&'static str>,
    permission: &'static str,
    host: Option<&'static str>,
}

const FILTER: Defaults = Defaults {
    pattern_type: "any",
    operation: Some("any"),
    permission: "any",
    host: None,
};

const CREATION: Defaults = Defaults {
    pattern_type: "literal",
    operation: None,
    permission: "allow",
    host: Some("*"),
};

impl Binding {
    /// The one builder of a binding from the command line, with `defaults`
    /// for what is not given.
    fn from_spec(spec: &AclSpec, defaults: &Defaults) -> Result<Binding> {
        let operation = match (&spec.operation, defaults.operation) {
            (Some(op), _) => op.as_str(),
            (None, Some(default)) => default,
            (None, None) => return Err(CliError::usage("acl create needs --operation")),
        };
        Ok(Binding {
            resource_type: code(RESOURCE_TYPES, "resource type", &spec.resource_type)?,
            resource_name: spec.resource_name.clone(),
            pattern_type: code(
                PATTERN_TYPES,
                "pattern type",
                spec.pattern_type
                    .as_deref()
                    .unwrap_or(defaults.pattern_type),
            )?,
            principal: spec.principal.clone(),
            host: spec
                .host
                .clone()
                .or_else(|| defaults.host.map(String::from)),
            operation: code(OPERATIONS, "operation", operation)?,
            permission: code(
                PERMISSIONS,
                "permission",
                spec.permission.as_deref().unwrap_or(defaults.permission),
            )?,
        })
    }

    /// A filter: what is not given matches anything.
    fn filter(spec: &AclSpec) -> Result<Binding> {
        Binding::from_spec(spec, &FILTER)
    }

    /// A binding to create: every part given, defaults as kafka-acls.sh.
    fn creation(spec: &AclSpec) -> Result<Binding> {
        let mut binding = Binding::from_spec(spec, &CREATION)?;
        if binding.resource_name.is_none() {
            if binding.resource_type != 4 {
                return Err(CliError::usage("acl create needs --resource-name"));
            }
            binding.resource_name = Some("kafka-cluster".to_string());
        }
        if binding.principal.is_none() {
            return Err(CliError::usage("acl create needs --principal User:<name>"));
        }
        if binding.resource_type == 1
            || matches!(binding.pattern_type, 1 | 2)
            || binding.operation == 1
            || binding.permission == 1
        {
            return Err(CliError::usage("acl create needs a concrete resource type, pattern type, operation and permission (not any or match)"));
        }
        Ok(binding)
    }

    /// A binding as a response names it.
    fn answered(
        resource_type: i8,
        resource_name: &StrBytes,
        pattern_type: i8,
        principal: &StrBytes,
        host: &StrBytes,
        operation: i8,
        permission: i8,
    ) -> Binding {
        Binding {
            resource_type,
            resource_name: Some(resource_name.to_string()),
            pattern_type,
            principal: Some(principal.to_string()),
            host: Some(host.to_string()),
            operation,
            permission,
        }
    }

    fn json(&self) -> Value {
        json!({
            "resource_type": name(RESOURCE_TYPES, self.resource_type),
            "resource_name": self.resource_name,
            "pattern_type": name(PATTERN_TYPES, self.pattern_type),
            "principal": self.principal,
            "host": self.host,
            "operation": name(OPERATIONS, self.operation),
            "permission": name(PERMISSIONS, self.permission),
        })
    }

    fn row(&self) -> Vec<String> {
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        vec![
            name(RESOURCE_TYPES, self.resource_type),
            s(&self.resource_name),
            name(PATTERN_TYPES, self.pattern_type),
            s(&self.principal),
            s(&self.host),
            name(OPERATIONS, self.operation),
            name(PERMISSIONS, self.permission),
        ]
    }
}

fn opt(s: &Option<String>) -> Option<StrBytes> {
    s.clone().map(StrBytes::from_string)
}

/// DescribeAcls and a DeleteAcls filter: the same seven fields, built once.
macro_rules! acl_filter {
    ($ty:ty, $b:expr) => {{
        let b: &Binding = $b;
        <$ty>::default()
            .with_resource_type_filter(b.resource_type)
            .with_resource_name_filter(opt(&b.resource_name))
            .with_pattern_type_filter(b.pattern_type)
            .with_principal_filter(opt(&b.principal))
            .with_host_filter(opt(&b.host))
            .with_operation(b.operation)
            .with_permission_type(b.permission)
    }};
}

/// The bindings as a table (titled when `title` is given) and as JSON
/// (under `key` when given, else a bare list).
fn report(bindings: &[Binding], key: Option<&str>, title: Option<String>) -> Report {
    let mut t = Table::new(vec![
        "RESOURCE-TYPE",
        "NAME",
        "PATTERN",
        "PRINCIPAL",
        "HOST",
        "OPERATION",
        "PERMISSION",
    ]);
    for b in bindings {
        t.row(b.row());
    }
    let list = Value::Array(bindings.iter().map(Binding::json).collect());
    let json = match key {
        Some(key) => json!({ key: list }),
        None => list,
    };
    let t = match title {
        Some(title) => t.titled(title),
        None => t,
    };
    Report::table(json, t)
}

pub(crate) async fn run(client: &mut Client, action: AclAction) -> Result<Report> {
    match action {
        AclAction::List(spec) => {
            let f = Binding::filter(&spec)?;
            let response = client
                .any()
                .call(|_| acl_filter!(DescribeAclsRequest, &f))
                .await?;
            CliError::check(
                response.error_code,
                response.error_message.as_deref(),
                || "describe ACLs".into(),
            )?;
            let bindings: Vec<Binding> = response
                .resources
                .iter()
                .flat_map(|r| {
                    r.acls.iter().map(|a| {
                        Binding::answered(
                            r.resource_type,
                            &r.resource_name,
                            r.pattern_type,
                            &a.principal,
                            &a.host,
                            a.operation,
                            a.permission_type,
                        )
                    })
                })
                .collect();
            Ok(report(&bindings, None, None))
        }
        AclAction::Create(spec) => {
            let b = Binding::creation(&spec)?;
            let s = |v: &Option<String>| StrBytes::from_string(v.clone().unwrap_or_default());
            let creation = AclCreation::default()
                .with_resource_type(b.resource_type)
                .with_resource_name(s(&b.resource_name))
                .with_resource_pattern_type(b.pattern_type)
                .with_principal(s(&b.principal))
                .with_host(s(&b.host))
                .with_operation(b.operation)
                .with_permission_type(b.permission);
            let response = client
                .any()
                .call(|_| CreateAclsRequest::default().with_creations(vec![creation]))
                .await?;
            for r in &response.results {
                CliError::check(r.error_code, r.error_message.as_deref(), || {
                    "create ACL".into()
                })?;
            }
            Ok(report(&[b], Some("created"), Some("Created:".into())))
        }
        AclAction::Delete(spec) => {
            let f = Binding::filter(&spec)?;
            let filter = acl_filter!(DeleteAclsFilter, &f);
            let response = client
                .any()
                .call(|_| DeleteAclsRequest::default().with_filters(vec![filter]))
                .await?;
            let mut deleted = Vec::new();
            for r in &response.filter_results {
                CliError::check(r.error_code, r.error_message.as_deref(), || {
                    "delete ACLs".into()
                })?;
                for m in &r.matching_acls {
                    CliError::check(m.error_code, m.error_message.as_deref(), || {
                        "delete ACL".into()
                    })?;
                    deleted.push(Binding::answered(
                        m.resource_type,
                        &m.resource_name,
                        m.pattern_type,
                        &m.principal,
                        &m.host,
                        m.operation,
                        m.permission_type,
                    ));
                }
            }
            let title = format!("Deleted {}:", deleted.len());
            Ok(report(&deleted, Some("deleted"), Some(title)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> AclSpec {
        AclSpec {
            resource_type: "topic".into(),
            resource_name: Some("orders".into()),
            pattern_type: None,
            principal: Some("User:alice".into()),
            host: None,
            operation: Some("READ".into()),
            permission: None,
        }
    }

    #[test]
    fn names_and_codes() {
        assert_eq!(code(RESOURCE_TYPES, "t", "TransactionalId").unwrap(), 5);
        assert_eq!(code(OPERATIONS, "o", "describe_configs").unwrap(), 10);
        assert_eq!(name(RESOURCE_TYPES, 5), "TRANSACTIONAL_ID");
        assert_eq!(code(OPERATIONS, "o", "fly").unwrap_err().exit_code(), 2);
    }

    #[test]
    fn creation_defaults_and_filters() {
        let b = Binding::creation(&spec()).unwrap();
        assert_eq!((b.pattern_type, b.permission, b.operation), (3, 3, 3));
        assert_eq!(b.host.as_deref(), Some("*"));
        let f = Binding::filter(&AclSpec {
            operation: None,
            ..spec()
        })
        .unwrap();
        assert_eq!((f.pattern_type, f.operation, f.permission), (1, 1, 1));
        assert!(Binding::creation(&AclSpec {
            operation: Some("any".into()),
            ..spec()
        })
        .is_err());
        let cluster = Binding::creation(&AclSpec {
            resource_type: "cluster".into(),
            resource_name: None,
            ..spec()
        })
        .unwrap();
        assert_eq!(cluster.resource_name.as_deref(), Some("kafka-cluster"));
    }
}
