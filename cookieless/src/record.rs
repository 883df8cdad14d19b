//! What a store keeps for one session.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::data::Data;
use crate::expiry::Millis;

/// Bytes of the big-endian expiry in front of an encoded record.
const EXPIRY_LEN: usize = std::mem::size_of::<Millis>();

/// One stored session.
///
/// `version` grows by one on every write, so that a store can refuse a write based on a stale read
/// (see [`SessionStore::save`](crate::session_store::SessionStore::save)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Grows by one on every write of the session.
    pub version: u64,
    /// When the session began.
    pub created: Millis,
    /// When a request last used the session (kept to within the touch interval).
    pub last_seen: Millis,
    /// When the session dies; stores use it to expire entries without decoding `data`.
    pub expires: Millis,
    /// The session's values.
    // Shared, here and below, so that a store in memory hands a record out without copying it,
    // and a request copies the values only if it changes them.
    pub data: Arc<Data>,
    /// Whose session this is (a username, say), for listing and ending a user's sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<Arc<str>>,
    /// The browser or app that began the session, as its `User-Agent` said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<Arc<str>>,
    /// A tombstone: the session moved to a new token (a login rotated it), and this record, with
    /// no values and no principal, only says so until `expires`, the end of the rotation's grace
    /// window (`Expiry::rotation_grace`). It never names the new token.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rotated: bool,
    /// When the session's user last proved who they are (a login, a password entered again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticated_at: Option<Millis>,
}

impl Record {
    /// The tombstone a rotation leaves under the token it retired: version `version`, dead at
    /// `expires`.
    ///
    /// ```
    /// use cookieless::store::Record;
    ///
    /// let tombstone = Record::tombstone(4, 1_000, 31_000);
    /// assert!(tombstone.rotated && tombstone.data.is_empty() && tombstone.principal.is_none());
    /// assert!(!tombstone.is_expired(30_999));
    /// ```
    pub fn tombstone(version: u64, now: Millis, expires: Millis) -> Self {
        Record {
            version,
            created: now,
            last_seen: now,
            expires,
            data: Arc::default(),
            principal: None,
            user_agent: None,
            rotated: true,
            authenticated_at: None,
        }
    }

    /// Whether the session is dead at `now`.
    pub fn is_expired(&self, now: Millis) -> bool {
        self.expires <= now
    }

    /// The bytes a byte-oriented store keeps: the big-endian expiry first, so that a sweep can read
    /// it without parsing the rest, then the record as JSON.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = self.expires.to_be_bytes().to_vec();
        // A map of JSON values with string keys always serialises.
        serde_json::to_writer(&mut bytes, self).expect("a session record always serialises");
        bytes
    }

    /// Reads what [`Record::encode`] wrote.
    ///
    /// # Errors
    ///
    /// When the bytes are not an encoded record.
    pub fn decode(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(Self::encoded_json(bytes))
    }

    /// [`Record::decode`] for a write's checks, which need only the version and the principal:
    /// the values are skipped over rather than built.
    #[cfg(feature = "sled")]
    pub(crate) fn decode_head(bytes: &[u8]) -> Result<RecordHead, serde_json::Error> {
        serde_json::from_slice(Self::encoded_json(bytes))
    }

    /// The expiry stored in front of an encoded record, if the bytes are long enough to hold one.
    pub fn encoded_expiry(bytes: &[u8]) -> Option<Millis> {
        Some(Millis::from_be_bytes(
            bytes.get(..EXPIRY_LEN)?.try_into().ok()?,
        ))
    }

    /// The JSON that follows the expiry in an encoded record (nothing, if it is too short).
    fn encoded_json(bytes: &[u8]) -> &[u8] {
        bytes.get(EXPIRY_LEN..).unwrap_or_default()
    }

    /// What the size cap counts: the session's data as it is serialised.
    pub fn data_size(data: &Data) -> usize {
        let mut size = ByteCount(0);
        match serde_json::to_writer(&mut size, data) {
            Ok(()) => size.0,
            Err(_) => usize::MAX,
        }
    }
}

/// What [`Record::decode_head`] reads of an encoded record.
#[cfg(feature = "sled")]
#[derive(Debug, PartialEq, Eq, Deserialize)]
pub(crate) struct RecordHead {
    pub(crate) version: u64,
    #[serde(default)]
    pub(crate) principal: Option<String>,
}

/// A writer that only counts, so that measuring a session's data on every `insert` allocates
/// nothing.
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 += bytes.len();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_and_exposes_the_expiry() {
        let mut data = Data::new();
        data.insert("counter", serde_json::json!(3));
        let record = Record {
            version: 2,
            created: 10,
            last_seen: 20,
            expires: 30,
            data: Arc::new(data),
            principal: Some("ada".into()),
            user_agent: None,
            rotated: false,
            authenticated_at: None,
        };
        let bytes = record.encode();
        assert_eq!(Record::encoded_expiry(&bytes), Some(30));
        assert_eq!(Record::decode(&bytes).unwrap(), record);
        // What the sled store's writes read of a record.
        #[cfg(feature = "sled")]
        {
            assert_eq!(
                Record::decode_head(&bytes).unwrap(),
                RecordHead {
                    version: 2,
                    principal: Some("ada".into())
                }
            );
            let anonymous = Record {
                principal: None,
                ..record.clone()
            };
            assert_eq!(
                Record::decode_head(&anonymous.encode()).unwrap(),
                RecordHead {
                    version: 2,
                    principal: None
                }
            );
        }
        assert!(Record::decode(b"short").is_err());
        assert_eq!(Record::encoded_expiry(b"short"), None);
        assert_eq!(
            Record::data_size(&record.data),
            serde_json::to_vec(&*record.data).unwrap().len()
        );
    }
}
