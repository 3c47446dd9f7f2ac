//! `strata schema`: the Schema Registry's REST API (Confluent's), for
//! Strata's registry or any compatible one.

use std::io::Read;
use std::path::Path;

use reqwest::Method;
use serde_json::{json, Value};

use crate::args::{RegistryArgs, SchemaAction};
use crate::error::{CliError, Result};
use crate::output::{Report, Table};
use crate::registry::{segment, Registry};

fn read_schema(path: &Path) -> Result<String> {
    let mut text = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::io("read the schema from stdin", e))?;
    } else {
        text = std::fs::read_to_string(path)
            .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
    }
    Ok(text)
}

/// `AVRO`, `JSON` or `PROTOBUF` (also `json-schema`).
fn schema_type(name: &str) -> Result<&'static str> {
    match name.to_ascii_uppercase().replace('-', "_").as_str() {
        "AVRO" => Ok("AVRO"),
        "JSON" | "JSON_SCHEMA" | "JSONSCHEMA" => Ok("JSON"),
        "PROTOBUF" => Ok("PROTOBUF"),
        other => Err(CliError::usage(format!(
            "schema type {other}: expected AVRO, JSON or PROTOBUF"
        ))),
    }
}

fn new_schema(path: &Path, kind: &str) -> Result<Value> {
    Ok(json!({"schema": read_schema(path)?, "schemaType": schema_type(kind)?}))
}

pub(crate) async fn run(args: &RegistryArgs, action: SchemaAction) -> Result<Report> {
    let registry = Registry::new(
        &args.registry,
        args.registry_user.clone(),
        args.registry_password.clone(),
    )?;
    match action {
        SchemaAction::Register {
            subject,
            schema_file,
            schema_type,
        } => {
            let body = new_schema(&schema_file, &schema_type)?;
            let path = format!("/subjects/{}/versions", segment(&subject));
            let answer = registry.request(Method::POST, &path, Some(body)).await?;
            let id = answer["id"].clone();
            Ok(Report::message(
                json!({"subject": subject, "id": id}),
                format!("registered under {subject} with id {id}"),
            ))
        }
        SchemaAction::List => {
            let subjects = registry.get("/subjects").await?;
            let mut table = Table::new(vec!["SUBJECT"]);
            for s in subjects.as_array().into_iter().flatten() {
                table.row(vec![s.as_str().unwrap_or_default().to_string()]);
            }
            Ok(Report::table(subjects, table))
        }
        SchemaAction::Get {
            subject,
            version,
            id,
        } => {
            let found = match (&subject, id) {
                (_, Some(id)) => {
                    let mut found = registry.get(&format!("/schemas/ids/{id}")).await?;
                    found["id"] = json!(id);
                    found
                }
                (Some(subject), None) => {
                    registry
                        .get(&format!(
                            "/subjects/{}/versions/{}",
                            segment(subject),
                            segment(&version)
                        ))
                        .await?
                }
                (None, None) => return Err(CliError::usage("schema get needs a subject or --id")),
            };
            let mut table = Table::new(vec!["SUBJECT", "VERSION", "ID", "TYPE"]);
            let field = |k: &str| match &found[k] {
                Value::Null => "-".to_string(),
                Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            table.row(vec![
                field("subject"),
                field("version"),
                field("id"),
                found["schemaType"].as_str().unwrap_or("AVRO").to_string(),
            ]);
            Ok(Report {
                lines: Vec::new(),
                tables: vec![
                    table,
                    Table::new(vec!["SCHEMA"]).titled(found["schema"].as_str().unwrap_or_default()),
                ],
                json: found,
            })
        }
        SchemaAction::Check {
            subject,
            schema_file,
            schema_type,
            version,
        } => {
            let body = new_schema(&schema_file, &schema_type)?;
            let path = format!(
                "/compatibility/subjects/{}/versions/{}?verbose=true",
                segment(&subject),
                segment(&version)
            );
            let answer = registry.request(Method::POST, &path, Some(body)).await?;
            let compatible = answer["is_compatible"].as_bool().unwrap_or(false);
            if !compatible {
                let messages: Vec<String> = answer["messages"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_owned))
                    .collect();
                let format = args.output.output;
                super::write_stdout(
                    &Report::message(answer.clone(), "not compatible".into()).render(format),
                )?;
                return Err(CliError::State(format!(
                    "the schema is not compatible with {subject} version {version}: {}",
                    messages.join("; ")
                )));
            }
            Ok(Report::message(
                answer,
                format!("compatible with {subject} version {version}"),
            ))
        }
        SchemaAction::Delete {
            subject,
            version,
            permanent,
        } => {
            let mut path = format!("/subjects/{}", segment(&subject));
            if let Some(v) = &version {
                path.push_str(&format!("/versions/{}", segment(v)));
            }
            if permanent {
                path.push_str("?permanent=true");
            }
            let answer = registry.request(Method::DELETE, &path, None).await?;
            Ok(Report::message(
                json!({"subject": subject, "deleted": answer}),
                format!("deleted {subject} {answer}"),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_types() {
        assert_eq!(schema_type("avro").unwrap(), "AVRO");
        assert_eq!(schema_type("json-schema").unwrap(), "JSON");
        assert!(schema_type("xml").is_err());
    }
}
