//! SCRAM credentials: what is kept per user and mechanism (salt, iteration
//! count, StoredKey, ServerKey, as RFC 5802 and Kafka keep them; never the
//! password), and the in-memory store the broker fills from its metadata log.
//!
//! PLAIN logins and HTTP Basic check a password against these same
//! credentials, so there is one user store for every face.

use std::collections::BTreeMap;

use hmac::{Hmac, KeyInit, Mac};
use parking_lot::RwLock;
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

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

    /// The length of the mechanism's hash (and of StoredKey, ServerKey, proofs).
    pub fn hash_len(self) -> usize {
        match self {
            ScramMechanism::Sha256 => 32,
            ScramMechanism::Sha512 => 64,
        }
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
        Self::derive(mechanism, password, &random_bytes(SALT_LEN), iterations)
    }

    /// Derives the credential from a password and a given salt.
    pub fn derive(mechanism: ScramMechanism, password: &str, salt: &[u8], iterations: u32) -> Self {
        let salted = salted_password(mechanism, password, salt, iterations);
        Self::from_salted_password(mechanism, salt, iterations, &salted)
    }

    /// From the salted password AlterUserScramCredentials carries (the
    /// client computes Hi(password, salt, i); the broker never sees the password).
    pub fn from_salted_password(
        mechanism: ScramMechanism,
        salt: &[u8],
        iterations: u32,
        salted_password: &[u8],
    ) -> Self {
        let client_key = hmac(mechanism, salted_password, b"Client Key");
        ScramCredential {
            salt: salt.to_vec(),
            iterations,
            stored_key: hash(mechanism, &client_key),
            server_key: hmac(mechanism, salted_password, b"Server Key"),
        }
    }

    /// Whether `password` is this credential's password (constant-time compare
    /// of the derived StoredKey).
    pub fn verify_password(&self, mechanism: ScramMechanism, password: &str) -> bool {
        let derived = Self::derive(mechanism, password, &self.salt, self.iterations);
        bool::from(derived.stored_key.ct_eq(&self.stored_key))
    }
}

/// The salt length [`ScramCredential::generate`] uses (Kafka's is 32 bytes
/// of base64 text; RFC 5802 sets no length).
const SALT_LEN: usize = 24;

/// `len` bytes from the operating system's random generator (salts).
pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    getrandom::fill(&mut bytes).expect("the operating system's random generator failed");
    bytes
}

/// RFC 5802's `Hi(password, salt, i)`: PBKDF2 with the mechanism's HMAC.
/// Public for clients of AlterUserScramCredentials (the web console and the
/// CLI), which send this instead of the password.
pub fn salted_password(
    mechanism: ScramMechanism,
    password: &str,
    salt: &[u8],
    iterations: u32,
) -> Vec<u8> {
    let mut out = vec![0; mechanism.hash_len()];
    match mechanism {
        ScramMechanism::Sha256 => {
            pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut out)
        }
        ScramMechanism::Sha512 => {
            pbkdf2::pbkdf2_hmac::<Sha512>(password.as_bytes(), salt, iterations, &mut out)
        }
    }
    out
}

/// `HMAC(key, data)` with the mechanism's hash.
pub fn hmac(mechanism: ScramMechanism, key: &[u8], data: &[u8]) -> Vec<u8> {
    fn run<D: hmac::EagerHash>(key: &[u8], data: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<D>::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }
    match mechanism {
        ScramMechanism::Sha256 => run::<Sha256>(key, data),
        ScramMechanism::Sha512 => run::<Sha512>(key, data),
    }
}

/// `H(data)` with the mechanism's hash.
pub fn hash(mechanism: ScramMechanism, data: &[u8]) -> Vec<u8> {
    match mechanism {
        ScramMechanism::Sha256 => Sha256::digest(data).to_vec(),
        ScramMechanism::Sha512 => Sha512::digest(data).to_vec(),
    }
}

/// Reads credentials; what SASL and HTTP logins need.
pub trait CredentialLookup: Send + Sync {
    fn scram(&self, user: &str, mechanism: ScramMechanism) -> Option<ScramCredential>;

    /// Checks a password against any of the user's SCRAM credentials (PLAIN
    /// and HTTP Basic). A user without credentials costs one key derivation
    /// too, so the answer's timing does not tell which users exist.
    fn check_password(&self, user: &str, password: &str) -> bool {
        let mut known = false;
        let ok = [ScramMechanism::Sha512, ScramMechanism::Sha256]
            .into_iter()
            .any(|mech| {
                self.scram(user, mech).is_some_and(|c| {
                    known = true;
                    c.verify_password(mech, password)
                })
            });
        if !known {
            std::hint::black_box(salted_password(
                ScramMechanism::Sha512,
                password,
                b"strata",
                8192,
            ));
        }
        ok
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

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    use super::*;

    #[test]
    fn rfc7677_credential_derivation() {
        // RFC 7677 section 3: user "user", password "pencil".
        let salt = STANDARD.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let c = ScramCredential::derive(ScramMechanism::Sha256, "pencil", &salt, 4096);
        // From the RFC's exchange: ServerSignature over its AuthMessage.
        let auth = "n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let signature = hmac(ScramMechanism::Sha256, &c.server_key, auth.as_bytes());
        assert_eq!(
            STANDARD.encode(signature),
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
        assert!(c.verify_password(ScramMechanism::Sha256, "pencil"));
        assert!(!c.verify_password(ScramMechanism::Sha256, "pencil "));
    }

    #[test]
    fn generate_salts_freshly_and_store_checks_passwords() {
        let a = ScramCredential::generate(ScramMechanism::Sha512, "secret", 4096);
        let b = ScramCredential::generate(ScramMechanism::Sha512, "secret", 4096);
        assert_ne!(a.salt, b.salt);
        assert_eq!(a.stored_key.len(), 64);
        let store = CredentialStore::default();
        store.upsert("alice", ScramMechanism::Sha512, a);
        assert!(store.check_password("alice", "secret"));
        assert!(!store.check_password("alice", "Secret"));
        assert!(!store.check_password("bob", "secret"));
        assert_eq!(
            store.describe()["alice"],
            vec![(ScramMechanism::Sha512, 4096)]
        );
        assert!(store.delete("alice", ScramMechanism::Sha512));
        assert!(!store.check_password("alice", "secret"));
    }

    #[test]
    fn salted_password_gives_the_same_credential() {
        let salt = b"0123456789";
        let sp = salted_password(ScramMechanism::Sha256, "pw", salt, 4096);
        assert_eq!(
            ScramCredential::from_salted_password(ScramMechanism::Sha256, salt, 4096, &sp),
            ScramCredential::derive(ScramMechanism::Sha256, "pw", salt, 4096)
        );
    }
}
