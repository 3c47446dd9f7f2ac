//! The first administrator (`--admin-user`, `--admin-password`): SCRAM
//! credentials created at start when the user has none, so a secured broker
//! can be reached before any credential was created through the Kafka API.

use strata_governance::credentials::{
    CredentialLookup, CredentialStore, ScramCredential, ScramMechanism,
};

/// Iterations of the bootstrap credentials (Kafka's kafka-storage default).
pub(crate) const ADMIN_ITERATIONS: u32 = 8192;

/// Creates SCRAM-SHA-256 and SCRAM-SHA-512 credentials for `user` unless
/// it already has credentials of that mechanism.
pub(crate) fn bootstrap_admin(store: &CredentialStore, user: &str, password: &str) {
    for mechanism in [ScramMechanism::Sha256, ScramMechanism::Sha512] {
        if store.scram(user, mechanism).is_none() {
            store.upsert(
                user,
                mechanism,
                ScramCredential::generate(mechanism, password, ADMIN_ITERATIONS),
            );
        }
    }
}
