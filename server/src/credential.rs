//! Which password a session was made with, so that a new password ends every session made with
//! the old one at once, logins in flight included, without racing the index of sessions.
//!
//! As Django does: the session keeps a keyed hash (HMAC-SHA256) of the user's password hash,
//! and every request that asks who the user is compares it with the user's current one. The key
//! is the server's own secret, kept with the users, so that a copy of the session store alone
//! says nothing about the password hashes.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The session value that holds the credential.
pub const SESSION_KEY: &str = "credential";

/// The key of the credential hashes.
#[derive(Clone)]
pub struct CredentialKey([u8; 32]);

impl CredentialKey {
    pub fn new(secret: [u8; 32]) -> Self {
        CredentialKey(secret)
    }

    /// The credential of a session made with `password_hash`.
    pub fn of(&self, password_hash: &str) -> String {
        let bytes = self.mac(password_hash).finalize().into_bytes();
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// Whether `credential` was made from `password_hash`, compared in constant time.
    pub fn matches(&self, credential: &str, password_hash: &str) -> bool {
        let Some(bytes) = decode_hex(credential) else {
            return false;
        };
        self.mac(password_hash).verify_slice(&bytes).is_ok()
    }

    fn mac(&self, password_hash: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(password_hash.as_bytes());
        mac
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_matches_its_hash_under_its_key_only() {
        let key = CredentialKey::new([7; 32]);
        let credential = key.of("$argon2id$old");
        assert_eq!(credential.len(), 64);
        assert!(key.matches(&credential, "$argon2id$old"));
        assert!(!key.matches(&credential, "$argon2id$new"));
        assert!(!CredentialKey::new([8; 32]).matches(&credential, "$argon2id$old"));
        assert!(!key.matches("not hex", "$argon2id$old"));
        assert!(!key.matches("", "$argon2id$old"));
    }
}
