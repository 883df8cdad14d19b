//! Which password a session was made with, so that a new password ends every session made with
//! the old one at once, logins in flight included, without racing the index of sessions.
//!
//! As Django does: the session keeps a keyed hash (HMAC-SHA256) of the user's password hash,
//! and every request that asks who the user is compares it with the user's current one. The hash
//! also covers the user's sessions epoch, which "log out my other devices" raises, so that
//! revocations hold even for a session the index of a user's sessions no longer lists. The key
//! is the server's own secret, kept with the users, so that a copy of the session store alone
//! says nothing about the password hashes.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::users::User;

/// The session value that holds the credential.
pub const SESSION_KEY: &str = "credential";

/// The key of the credential hashes.
#[derive(Clone)]
pub struct CredentialKey([u8; 32]);

impl CredentialKey {
    pub fn new(secret: [u8; 32]) -> Self {
        CredentialKey(secret)
    }

    /// The credential of a session of `user` as the user now is: made with their password, under
    /// their sessions epoch.
    pub fn of(&self, user: &User) -> String {
        let bytes = self.mac(user).finalize().into_bytes();
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// Whether `credential` was made for `user` as the user now is, compared in constant time.
    pub fn matches(&self, credential: &str, user: &User) -> bool {
        let Some(bytes) = decode_hex(credential) else {
            return false;
        };
        self.mac(user).verify_slice(&bytes).is_ok()
    }

    fn mac(&self, user: &User) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(user.password_hash.as_bytes());
        // Epoch 0 adds nothing, so that sessions made before epochs existed stay valid; the hash
        // never holds a NUL, so no other hash and epoch make the same input.
        if user.sessions_epoch != 0 {
            mac.update(&[0]);
            mac.update(&user.sessions_epoch.to_be_bytes());
        }
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

    fn user(password_hash: &str, sessions_epoch: u64) -> User {
        User {
            username: "ada".into(),
            password_hash: password_hash.into(),
            created: 0,
            sessions_epoch,
        }
    }

    #[test]
    fn a_credential_matches_its_user_under_its_key_only() {
        let key = CredentialKey::new([7; 32]);
        let credential = key.of(&user("$argon2id$old", 0));
        assert_eq!(credential.len(), 64);
        assert!(key.matches(&credential, &user("$argon2id$old", 0)));
        assert!(!key.matches(&credential, &user("$argon2id$new", 0)));
        assert!(!key.matches(&credential, &user("$argon2id$old", 1)));
        assert!(!CredentialKey::new([8; 32]).matches(&credential, &user("$argon2id$old", 0)));
        assert!(!key.matches("not hex", &user("$argon2id$old", 0)));
        assert!(!key.matches("", &user("$argon2id$old", 0)));
    }
}
