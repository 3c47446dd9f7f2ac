//! SCRAM credentials: what is kept per user and mechanism (salt, iteration
//! count, StoredKey, ServerKey, as RFC 5802 and Kafka keep them; never the
//! password), and the in-memory store the broker fills from its metadata log.
//!
//! PLAIN logins and HTTP Basic check a password against these same
//! credentials, so there is one user store for every face.

use std::collections::BTreeMap;

use parking_lot::RwLock;

/// SCRAM-SHA-256 or SCRAM-SHA-512.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScramMechanism {
    Sha256,
    Sha512,
}

impl ScramMechanism {
    /// `SCRAM-SHA-256` / `SCRAM-SHA-512`.
    pub fn name(self) -> &'static str {
        match self {
            ScramMechanism::Sha256 => "SCRAM-SHA-256",
            ScramMechanism::Sha512 => "SCRAM-SHA-512",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "SCRAM-SHA-256" => Some(ScramMechanism::Sha256),
            "SCRAM-SHA-512" => Some(ScramMechanism::Sha512),
            _ => None,
        }
    }

    /// The code DescribeUserScramCredentials/AlterUserScramCredentials use
    /// (`ScramMechanism` in Kafka: 1 = SHA-256, 2 = SHA-512).
    pub fn code(self) -> i8 {
        match self {
            ScramMechanism::Sha256 => 1,
            ScramMechanism::Sha512 => 2,
        }
    }

    pub fn from_code(code: i8) -> Option<Self> {
        match code {
            1 => Some(ScramMechanism::Sha256),
            2 => Some(ScramMechanism::Sha512),
            _ => None,
        }
    }

    /// Kafka's bounds on iterations (4096 for SHA-256/512 is the minimum).
    pub fn min_iterations(self) -> u32 {
        4096
    }

    pub fn max_iterations(self) -> u32 {
        16384
    }
}

/// One user's credential for one mechanism.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramCredential {
    pub salt: Vec<u8>,
    pub iterations: u32,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
}

impl ScramCredential {
    /// Derives the credential from a password with a fresh random salt.
    pub fn generate(mechanism: ScramMechanism, password: &str, iterations: u32) -> Self {
        let _ = (mechanism, password, iterations);
        todo!("helper A")
    }

    /// Derives the credential from a password and a given salt.
    pub fn derive(mechanism: ScramMechanism, password: &str, salt: &[u8], iterations: u32) -> Self {
        let _ = (mechanism, password, salt, iterations);
        todo!("helper A")
    }

    /// From the salted password AlterUserScramCredentials carries (the
    /// client computes Hi(password, salt, i); the broker never sees the password).
    pub fn from_salted_password(
        mechanism: ScramMechanism,
        salt: &[u8],
        iterations: u32,
        salted_password: &[u8],
    ) -> Self {
        let _ = (mechanism, salt, iterations, salted_password);
        todo!("helper A")
    }

    /// Whether `password` is this credential's password (constant-time compare
    /// of the derived StoredKey).
    pub fn verify_password(&self, mechanism: ScramMechanism, password: &str) -> bool {
        let _ = (mechanism, password);
        todo!("helper A")
    }
}

/// Reads credentials; what SASL and HTTP logins need.
pub trait CredentialLookup: Send + Sync {
    fn scram(&self, user: &str, mechanism: ScramMechanism) -> Option<ScramCredential>;

    /// Checks a password against any of the user's SCRAM credentials (PLAIN
    /// and HTTP Basic).
    fn check_password(&self, user: &str, password: &str) -> bool {
        [ScramMechanism::Sha512, ScramMechanism::Sha256]
            .into_iter()
            .any(|mech| {
                self.scram(user, mech)
                    .is_some_and(|c| c.verify_password(mech, password))
            })
    }
}

/// The users and their credentials, in memory. The broker appends changes to
/// its metadata log first and then applies them here.
#[derive(Debug, Default)]
pub struct CredentialStore {
    users: RwLock<BTreeMap<String, BTreeMap<ScramMechanism, ScramCredential>>>,
}

impl CredentialStore {
    pub fn upsert(&self, user: &str, mechanism: ScramMechanism, credential: ScramCredential) {
        self.users
            .write()
            .entry(user.to_string())
            .or_default()
            .insert(mechanism, credential);
    }

    /// Removes one mechanism's credential; true if there was one.
    pub fn delete(&self, user: &str, mechanism: ScramMechanism) -> bool {
        let mut users = self.users.write();
        let Some(mechanisms) = users.get_mut(user) else {
            return false;
        };
        let removed = mechanisms.remove(&mechanism).is_some();
        if mechanisms.is_empty() {
            users.remove(user);
        }
        removed
    }

    /// Every user with the mechanisms and iteration counts they have.
    pub fn describe(&self) -> BTreeMap<String, Vec<(ScramMechanism, u32)>> {
        self.users
            .read()
            .iter()
            .map(|(user, m)| {
                (
                    user.clone(),
                    m.iter().map(|(mech, c)| (*mech, c.iterations)).collect(),
                )
            })
            .collect()
    }
}

impl CredentialLookup for CredentialStore {
    fn scram(&self, user: &str, mechanism: ScramMechanism) -> Option<ScramCredential> {
        self.users.read().get(user)?.get(&mechanism).cloned()
    }
}
