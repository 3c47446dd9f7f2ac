//! `strata user`: SCRAM credentials with Describe/AlterUserScramCredentials.
//! The password never leaves this process: the salted password is derived
//! here with a fresh salt, as Kafka's admin client does.

use bytes::Bytes;
use kafka_protocol::messages::alter_user_scram_credentials_request::{
    ScramCredentialDeletion, ScramCredentialUpsertion,
};
use kafka_protocol::messages::describe_user_scram_credentials_request::UserName;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, DescribeUserScramCredentialsRequest,
};
use kafka_protocol::protocol::StrBytes;
use serde_json::{json, Value};
use strata_governance::credentials::{random_bytes, salted_password, ScramMechanism};

use crate::args::UserAction;
use crate::client::Client;
use crate::error::{CliError, Result};
use crate::output::{Report, Table};

fn mechanism(name: &str) -> Result<ScramMechanism> {
    ScramMechanism::from_name(&name.to_ascii_uppercase()).ok_or_else(|| {
        CliError::usage(format!(
            "mechanism {name:?}: expected SCRAM-SHA-256 or SCRAM-SHA-512"
        ))
    })
}

pub(crate) async fn run(client: &mut Client, action: UserAction) -> Result<Report> {
    match action {
        UserAction::List { users } => {
            let names = (!users.is_empty()).then(|| {
                users
                    .iter()
                    .map(|u| UserName::default().with_name(StrBytes::from_string(u.clone())))
                    .collect()
            });
            let response = client
                .any()
                .call(|_| DescribeUserScramCredentialsRequest::default().with_users(names))
                .await?;
            CliError::check(
                response.error_code,
                response.error_message.as_deref(),
                || "describe users".into(),
            )?;
            let mut table = Table::new(vec!["USER", "MECHANISM", "ITERATIONS"]);
            let mut json = Vec::new();
            for r in &response.results {
                CliError::check(r.error_code, r.error_message.as_deref(), || {
                    format!("user {}", r.user)
                })?;
                let mut creds = Vec::new();
                for c in &r.credential_infos {
                    let mech =
                        ScramMechanism::from_code(c.mechanism).map_or("UNKNOWN", |m| m.name());
                    table.row(vec![
                        r.user.to_string(),
                        mech.to_string(),
                        c.iterations.to_string(),
                    ]);
                    creds.push(json!({"mechanism": mech, "iterations": c.iterations}));
                }
                json.push(json!({"user": r.user.as_str(), "credentials": creds}));
            }
            Ok(Report::table(Value::Array(json), table))
        }
        UserAction::Set {
            name,
            new_password,
            mechanism: mech,
            iterations,
        } => {
            let m = mechanism(&mech)?;
            if !(m.min_iterations()..=m.max_iterations()).contains(&iterations) {
                return Err(CliError::usage(format!(
                    "--iterations must be between {} and {}",
                    m.min_iterations(),
                    m.max_iterations()
                )));
            }
            let salt = random_bytes(32);
            let salted = salted_password(m, &new_password, &salt, iterations);
            let upsertion = ScramCredentialUpsertion::default()
                .with_name(StrBytes::from_string(name.clone()))
                .with_mechanism(m.code())
                .with_iterations(iterations as i32)
                .with_salt(Bytes::from(salt))
                .with_salted_password(Bytes::from(salted));
            alter(
                client,
                AlterUserScramCredentialsRequest::default().with_upsertions(vec![upsertion]),
            )
            .await?;
            Ok(Report::message(
                json!({"user": name, "mechanism": m.name(), "iterations": iterations}),
                format!("set the {} credential of {name}", m.name()),
            ))
        }
        UserAction::Delete {
            name,
            mechanism: mech,
        } => {
            let m = mechanism(&mech)?;
            let deletion = ScramCredentialDeletion::default()
                .with_name(StrBytes::from_string(name.clone()))
                .with_mechanism(m.code());
            alter(
                client,
                AlterUserScramCredentialsRequest::default().with_deletions(vec![deletion]),
            )
            .await?;
            Ok(Report::message(
                json!({"user": name, "deleted": m.name()}),
                format!("deleted the {} credential of {name}", m.name()),
            ))
        }
    }
}

async fn alter(client: &mut Client, request: AlterUserScramCredentialsRequest) -> Result<()> {
    // Kafka sends credential changes to the controller (a broker forwards them).
    let response = client.controller().await?.call(|_| request).await?;
    for r in &response.results {
        CliError::check(r.error_code, r.error_message.as_deref(), || {
            format!("alter the credentials of {}", r.user)
        })?;
    }
    Ok(())
}
