//! Session tokens: what the client holds, and the hash the store keys sessions by.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::HeaderValue;
use rand::rngs::OsRng;
use rand::TryRngCore;
use sha2::{Digest, Sha256};

/// Bytes of entropy in a token the server makes: 256 bits, well above the 128 the protocol demands.
const TOKEN_BYTES: usize = 32;

/// Which bytes a token may hold: `[A-Za-z0-9_-]`.
static TOKEN_ALPHABET: [bool; 256] = {
    let mut alphabet = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        alphabet[byte] = b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        byte += 1;
    }
    alphabet
};

/// An opaque session token, as carried in the `X-Session` header.
///
/// Its `Debug` output is redacted so that a token never reaches a log by accident. It is kept as
/// a header value, marked sensitive, so that echoing a client's token back costs no copy.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(HeaderValue);

impl Token {
    /// The shortest token the protocol accepts on the wire (128 bits in base64).
    pub const MIN_LEN: usize = 22;
    /// The longest token the protocol accepts on the wire.
    pub const MAX_LEN: usize = 64;

    /// A fresh token from the operating system's CSPRNG.
    ///
    /// # Panics
    ///
    /// When the operating system's random source fails: no safe token can be made then.
    pub fn generate() -> Self {
        let mut bytes = [0u8; TOKEN_BYTES];
        OsRng
            .try_fill_bytes(&mut bytes)
            .expect("the operating system's random source failed; no safe token can be made");
        let value = HeaderValue::try_from(URL_SAFE_NO_PAD.encode(bytes))
            .expect("URL-safe base64 is always a valid header value");
        Token::sensitive(value)
    }

    /// Accepts a header value only if it has the shape of a token: 22 to 64 characters of
    /// `[A-Za-z0-9_-]`. Anything else is rejected before any store is asked about it.
    pub fn parse(value: &[u8]) -> Option<Self> {
        if !Self::is_well_formed(value) {
            return None;
        }
        HeaderValue::from_bytes(value).ok().map(Token::sensitive)
    }

    /// [`Token::parse`] for a header the request already holds, sharing its bytes.
    pub(crate) fn from_header(value: &HeaderValue) -> Option<Self> {
        Self::is_well_formed(value.as_bytes()).then(|| Token::sensitive(value.clone()))
    }

    fn is_well_formed(value: &[u8]) -> bool {
        // A table and no early exit: a token's characters are random, so branching on each one
        // mispredicts about every other byte, which cost more than the rest of reading a request.
        (Self::MIN_LEN..=Self::MAX_LEN).contains(&value.len())
            && value
                .iter()
                .fold(true, |ok, &byte| ok & TOKEN_ALPHABET[usize::from(byte)])
    }

    fn sensitive(mut value: HeaderValue) -> Self {
        value.set_sensitive(true);
        Token(value)
    }

    /// The token as text.
    pub fn as_str(&self) -> &str {
        // Every constructor checked the bytes to be `[A-Za-z0-9_-]`.
        self.0.to_str().unwrap_or_default()
    }

    /// The token as the `X-Session` header carries it.
    pub fn header_value(&self) -> HeaderValue {
        self.0.clone()
    }

    /// The key the store files this token's session under.
    pub fn key(&self) -> SessionKey {
        SessionKey(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// The SHA-256 of a token. Stores key sessions by it, so a copy of the database holds no token
/// that could be replayed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey([u8; 32]);

impl SessionKey {
    /// The key whose SHA-256 bytes are `bytes`, as a store read them back.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        SessionKey(bytes)
    }

    /// The SHA-256 bytes, for stores whose keys are bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Reads [`SessionKey::to_hex`] back.
    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks(2)) {
            *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
        }
        Some(SessionKey(bytes))
    }

    /// A name for the session that can be shown and sent around: it identifies the session in
    /// lists, and since it is a hash of the key (itself a hash of the token), no token can be
    /// made from it.
    pub fn public_id(&self) -> String {
        let digest = Sha256::new()
            .chain_update(b"cookieless public session id:")
            .chain_update(self.0)
            .finalize();
        URL_SAFE_NO_PAD.encode(&digest[..16])
    }

    /// Lower-case hex, for stores whose keys are text.
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(self.0.len() * 2);
        for byte in self.0 {
            hex.push(DIGITS[usize::from(byte >> 4)] as char);
            hex.push(DIGITS[usize::from(byte & 0xf)] as char);
        }
        hex
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not even a prefix: logs must not let anyone match a session across systems.
        f.write_str("SessionKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_url_safe_and_long_enough() {
        let token = Token::generate();
        assert_eq!(token.as_str().len(), 43);
        assert!(Token::parse(token.as_str().as_bytes()).is_some());
        assert_ne!(Token::generate(), token);
    }

    #[test]
    fn a_token_read_from_a_header_goes_back_unchanged_and_sensitive() {
        let sent = HeaderValue::from_str(Token::generate().as_str()).unwrap();
        let token = Token::from_header(&sent).unwrap();
        assert_eq!(token.header_value(), sent);
        assert!(token.header_value().is_sensitive());
        assert!(Token::generate().header_value().is_sensitive());
        assert!(Token::from_header(&HeaderValue::from_static("not a token")).is_none());
    }

    #[test]
    fn parse_rejects_everything_that_is_not_token_shaped() {
        assert!(Token::parse(b"short").is_none());
        assert!(Token::parse("a".repeat(65).as_bytes()).is_none());
        assert!(Token::parse(b"abcdefghijklmnopqrstuvwxyz+/").is_none());
        assert!(Token::parse(b"abcdefghijklmnopqrstuv,wxyz").is_none());
        assert!(Token::parse("abcdefghijklmnopqrstuvwxyz\u{e9}".as_bytes()).is_none());
        assert!(Token::parse(b"abcdefghijklmnopqrstuvwxyz ").is_none());
        assert!(Token::parse("a".repeat(22).as_bytes()).is_some());
        assert!(Token::parse("a".repeat(64).as_bytes()).is_some());
    }

    #[test]
    fn every_byte_outside_the_alphabet_is_refused_wherever_it_stands() {
        for byte in 0..=u8::MAX {
            let allowed = byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_';
            for position in [0, 21, 42] {
                let mut candidate = [b'a'; 43];
                candidate[position] = byte;
                assert_eq!(Token::parse(&candidate).is_some(), allowed, "byte {byte}");
            }
        }
    }

    #[test]
    fn the_key_is_the_sha256_of_the_token_and_debug_hides_both() {
        let token = Token::parse(b"AAAAAAAAAAAAAAAAAAAAAA").unwrap();
        assert_eq!(token.key(), token.clone().key());
        // printf AAAAAAAAAAAAAAAAAAAAAA | sha256sum
        assert_eq!(
            token.key().to_hex(),
            "8a5bdb4cc15164126c6ef2668de9dd240d299ce6397a42c95a9411b93d080ed8"
        );
        assert_eq!(
            SessionKey::from_hex(&token.key().to_hex()),
            Some(token.key())
        );
        assert_eq!(SessionKey::from_hex("zz"), None);
        assert!(!format!("{token:?}").contains("AAAA"));
        assert!(!format!("{:?}", token.key()).contains(&token.key().to_hex()));
    }
}
