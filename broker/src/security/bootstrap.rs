//! The first admin (`--admin-user`/`--admin-password`): without it a broker
//! with ACLs on and no credentials could never be administered.

use strata_governance::credentials::{
    CredentialLookup, CredentialStore, ScramCredential, ScramMechanism,
};

use super::{change_credentials, CredentialChange};
use crate::cluster::Cluster;

/// Iterations of the first admin's credentials.
const ADMIN_ITERATIONS: u32 = 8192;

/// Creates SCRAM-SHA-256 and SCRAM-SHA-512 credentials for `user` unless it
/// has any credential already (a password changed since through
/// AlterUserScramCredentials is kept). Its principal is a super user (see
/// `Security::open`).
pub(crate) async fn bootstrap_admin(
    cluster: &Cluster,
    store: &CredentialStore,
    user: &str,
    password: &str,
) -> anyhow::Result<()> {
    anyhow::ensure!(!user.is_empty(), "--admin-user must not be empty");
    anyhow::ensure!(!password.is_empty(), "--admin-password must not be empty");
    let mechanisms = [ScramMechanism::Sha256, ScramMechanism::Sha512];
    if mechanisms.iter().any(|m| store.scram(user, *m).is_some()) {
        tracing::info!(user, "admin user has credentials already");
        return Ok(());
    }
    let changes = mechanisms
        .into_iter()
        .map(|mechanism| CredentialChange::Upsert {
            user: user.to_string(),
            mechanism,
            credential: ScramCredential::generate(mechanism, password, ADMIN_ITERATIONS),
        })
        .collect();
    change_credentials(cluster, store, changes).await?;
    tracing::info!(user, "admin user credentials created");
    Ok(())
}
