//! AlterUserScramCredentials (key 51): ALTER on the cluster; deletions and
//! upsertions checked as Kafka's `ScramControlManager.alterCredentials`
//! checks them (a user at most once per request, a known mechanism, a
//! non-empty name, 4096..=16384 iterations, deleting only what exists), the
//! accepted ones recorded in one batch. The client sends the salted password;
//! the broker keeps StoredKey and ServerKey, never a password.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse,
};
use strata_governance::credentials::{CredentialLookup, ScramCredential, ScramMechanism};
use strata_governance::{Operation, Resource};

use super::{text, RequestContext};
use crate::security::CredentialChange;

type Refusal = (ResponseError, String);

const TWICE: &str = "A user credential cannot be altered twice in the same request";

fn refuse(code: ResponseError, message: &str) -> Refusal {
    (code, message.to_string())
}

fn check_user_and_mechanism(user: &str, mechanism: i8) -> Result<ScramMechanism, Refusal> {
    if user.is_empty() {
        return Err(refuse(
            ResponseError::UnacceptableCredential,
            "Username must not be empty",
        ));
    }
    ScramMechanism::from_code(mechanism).ok_or_else(|| {
        refuse(
            ResponseError::UnsupportedSaslMechanism,
            "Unknown SCRAM mechanism",
        )
    })
}

pub(super) async fn handle(
    ctx: &RequestContext,
    request: AlterUserScramCredentialsRequest,
) -> AlterUserScramCredentialsResponse {
    let users = request
        .deletions
        .iter()
        .map(|d| &d.name)
        .chain(request.upsertions.iter().map(|u| &u.name));
    if !ctx.may(Operation::Alter, Resource::Cluster) {
        let results = users
            .map(|user| {
                AlterUserScramCredentialsResult::default()
                    .with_user(user.clone())
                    .with_error_code(ResponseError::ClusterAuthorizationFailed.code())
                    .with_error_message(Some(text("Cluster authorization failed.")))
            })
            .collect();
        return AlterUserScramCredentialsResponse::default().with_results(results);
    }
    let store = &ctx.broker.credentials;
    let mut changes: BTreeMap<String, CredentialChange> = BTreeMap::new();
    let mut refused: BTreeMap<String, Refusal> = BTreeMap::new();
    for deletion in &request.deletions {
        let user = deletion.name.to_string();
        if refused.contains_key(&user) {
            continue;
        }
        if changes.remove(&user).is_some() {
            refused.insert(user, refuse(ResponseError::DuplicateResource, TWICE));
            continue;
        }
        let checked = check_user_and_mechanism(&user, deletion.mechanism).and_then(|mechanism| {
            if store.scram(&user, mechanism).is_none() {
                return Err(refuse(
                    ResponseError::ResourceNotFound,
                    "Attempt to delete a user credential that does not exist",
                ));
            }
            Ok(mechanism)
        });
        match checked {
            Ok(mechanism) => {
                changes.insert(user.clone(), CredentialChange::Delete { user, mechanism });
            }
            Err(refusal) => {
                refused.insert(user, refusal);
            }
        }
    }
    for upsertion in &request.upsertions {
        let user = upsertion.name.to_string();
        if refused.contains_key(&user) {
            continue;
        }
        if changes.remove(&user).is_some() {
            refused.insert(user, refuse(ResponseError::DuplicateResource, TWICE));
            continue;
        }
        let checked = check_user_and_mechanism(&user, upsertion.mechanism).and_then(|mechanism| {
            let iterations = upsertion.iterations;
            if iterations < mechanism.min_iterations() as i32 {
                return Err(refuse(
                    ResponseError::UnacceptableCredential,
                    "Too few iterations",
                ));
            }
            if iterations > mechanism.max_iterations() as i32 {
                return Err(refuse(
                    ResponseError::UnacceptableCredential,
                    "Too many iterations",
                ));
            }
            Ok(ScramCredential::from_salted_password(
                mechanism,
                &upsertion.salt,
                iterations as u32,
                &upsertion.salted_password,
            ))
            .map(|credential| (mechanism, credential))
        });
        match checked {
            Ok((mechanism, credential)) => {
                changes.insert(
                    user.clone(),
                    CredentialChange::Upsert {
                        user,
                        mechanism,
                        credential,
                    },
                );
            }
            Err(refusal) => {
                refused.insert(user, refusal);
            }
        }
    }
    let accepted: Vec<String> = changes.keys().cloned().collect();
    let audited: Vec<_> = changes
        .values()
        .map(|c| match c {
            CredentialChange::Upsert {
                user, mechanism, ..
            } => (user.clone(), "upsert", mechanism.name()),
            CredentialChange::Delete { user, mechanism } => {
                (user.clone(), "delete", mechanism.name())
            }
        })
        .collect();
    let stored = crate::security::change_credentials(
        &ctx.broker.cluster,
        store,
        changes.into_values().collect(),
    )
    .await;
    match &stored {
        // Who and how, never the salted password.
        Ok(()) => {
            for (user, change, mechanism) in audited {
                ctx.record(
                    ctx.changed(Operation::Alter, Resource::Cluster)
                        .with_request("user", user)
                        .with_request("change", change)
                        .with_request("mechanism", mechanism),
                );
            }
        }
        Err(e) => tracing::error!(
            error = format!("{e:#}"),
            "recording SCRAM credentials failed"
        ),
    }
    let mut results: Vec<_> = accepted
        .into_iter()
        .map(|user| {
            let result = AlterUserScramCredentialsResult::default().with_user(text(user));
            match &stored {
                Ok(()) => result,
                Err(e) => result
                    .with_error_code(ResponseError::UnknownServerError.code())
                    .with_error_message(Some(text(format!("{e:#}")))),
            }
        })
        .collect();
    results.extend(refused.into_iter().map(|(user, (code, message))| {
        AlterUserScramCredentialsResult::default()
            .with_user(text(user))
            .with_error_code(code.code())
            .with_error_message(Some(text(message)))
    }));
    AlterUserScramCredentialsResponse::default().with_results(results)
}
