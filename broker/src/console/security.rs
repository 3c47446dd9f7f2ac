//! SCRAM users, `/console/api/users`: listed, created or given a new
//! password, deleted, through DescribeUserScramCredentials and
//! AlterUserScramCredentials under the caller (Describe or Alter on the
//! cluster), which the REST Proxy does not offer. The console derives the
//! salted password itself, as Kafka's admin client does, so the broker
//! receives no password. ACLs are managed through the REST Proxy's v3 ACL
//! routes (`/console/rest/v3/clusters/{c}/acls`).

use axum::extract::{Path, State};
use axum::Json;
use bytes::Bytes;
use kafka_protocol::messages::alter_user_scram_credentials_request::{
    ScramCredentialDeletion, ScramCredentialUpsertion,
};
use kafka_protocol::messages::describe_user_scram_credentials_request::UserName;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse,
    DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse, RequestKind,
    ResponseKind,
};
use kafka_protocol::protocol::StrBytes;
use serde::Deserialize;
use serde_json::{json, Value};
use strata_governance::credentials::{random_bytes, salted_password, ScramMechanism};
use strata_rest_proxy::{Caller, KafkaBackend, RestError};

use super::{kafka_error, Console, Shared};

/// Iterations of a password set from the console (`kafka-configs.sh`'s
/// default).
const ITERATIONS: u32 = 8192;
const SALT_LEN: usize = 32;

pub(super) async fn list(
    State(console): State<Shared>,
    caller: Caller,
) -> Result<Json<Value>, RestError> {
    let response = describe(&console, &caller, None).await?;
    let users: Vec<Value> = response
        .results
        .iter()
        .filter(|r| r.error_code == 0)
        .map(|r| {
            let mechanisms: Vec<Value> = r
                .credential_infos
                .iter()
                .map(|c| {
                    json!({
                        "mechanism": ScramMechanism::from_code(c.mechanism).map(|m| m.name()),
                        "iterations": c.iterations,
                    })
                })
                .collect();
            json!({"user": r.user.to_string(), "mechanisms": mechanisms})
        })
        .collect();
    Ok(Json(json!({ "users": users })))
}

#[derive(Debug, Deserialize)]
pub(super) struct UpsertBody {
    user: String,
    password: String,
    #[serde(default = "default_mechanism")]
    mechanism: String,
}

fn default_mechanism() -> String {
    "SCRAM-SHA-512".into()
}

pub(super) async fn upsert(
    State(console): State<Shared>,
    caller: Caller,
    Json(body): Json<UpsertBody>,
) -> Result<Json<Value>, RestError> {
    let mechanism = ScramMechanism::from_name(&body.mechanism).ok_or_else(|| {
        RestError::bad_request(format!(
            "Unknown mechanism {:?} (SCRAM-SHA-256, SCRAM-SHA-512).",
            body.mechanism
        ))
    })?;
    if body.password.is_empty() {
        return Err(RestError::bad_request("The password must not be empty."));
    }
    let salt = random_bytes(SALT_LEN);
    let password = body.password;
    let salt_for_hash = salt.clone();
    // PBKDF2 of thousands of rounds: off the async workers.
    let salted = tokio::task::spawn_blocking(move || {
        salted_password(mechanism, &password, &salt_for_hash, ITERATIONS)
    })
    .await
    .map_err(|e| RestError::kafka(format!("deriving the salted password: {e}")))?;
    let request = AlterUserScramCredentialsRequest::default().with_upsertions(vec![
        ScramCredentialUpsertion::default()
            .with_name(StrBytes::from_string(body.user.clone()))
            .with_mechanism(mechanism.code())
            .with_iterations(ITERATIONS as i32)
            .with_salt(Bytes::from(salt))
            .with_salted_password(Bytes::from(salted)),
    ]);
    alter(&console, &caller, request).await?;
    Ok(Json(
        json!({"user": body.user, "mechanism": mechanism.name()}),
    ))
}

pub(super) async fn remove(
    State(console): State<Shared>,
    Path(user): Path<String>,
    caller: Caller,
) -> Result<Json<Value>, RestError> {
    let described = describe(&console, &caller, Some(&user)).await?;
    let Some(found) = described.results.first() else {
        return Err(RestError::not_found(format!("No user {user}.")));
    };
    kafka_error(found.error_code, found.error_message.as_deref())?;
    let deletions = found
        .credential_infos
        .iter()
        .map(|c| {
            ScramCredentialDeletion::default()
                .with_name(StrBytes::from_string(user.clone()))
                .with_mechanism(c.mechanism)
        })
        .collect();
    alter(
        &console,
        &caller,
        AlterUserScramCredentialsRequest::default().with_deletions(deletions),
    )
    .await?;
    Ok(Json(json!({ "user": user })))
}

async fn describe(
    console: &Console,
    caller: &Caller,
    user: Option<&str>,
) -> Result<DescribeUserScramCredentialsResponse, RestError> {
    let request = DescribeUserScramCredentialsRequest::default().with_users(
        user.map(|u| vec![UserName::default().with_name(StrBytes::from_string(u.to_owned()))]),
    );
    let answer = console
        .kafka
        .call(
            caller,
            0,
            RequestKind::DescribeUserScramCredentials(request),
        )
        .await
        .map_err(|e| RestError::kafka(e.to_string()))?;
    let ResponseKind::DescribeUserScramCredentials(response) = answer else {
        return Err(RestError::kafka(
            "DescribeUserScramCredentials answered with another API",
        ));
    };
    kafka_error(response.error_code, response.error_message.as_deref())?;
    Ok(response)
}

async fn alter(
    console: &Console,
    caller: &Caller,
    request: AlterUserScramCredentialsRequest,
) -> Result<AlterUserScramCredentialsResponse, RestError> {
    let answer = console
        .kafka
        .call(caller, 0, RequestKind::AlterUserScramCredentials(request))
        .await
        .map_err(|e| RestError::kafka(e.to_string()))?;
    let ResponseKind::AlterUserScramCredentials(response) = answer else {
        return Err(RestError::kafka(
            "AlterUserScramCredentials answered with another API",
        ));
    };
    for result in &response.results {
        kafka_error(result.error_code, result.error_message.as_deref())?;
    }
    Ok(response)
}
