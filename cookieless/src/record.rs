//! What a store keeps for one session.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::expiry::Millis;

/// The values a session holds, by key.
pub type Data = BTreeMap<String, serde_json::Value>;

/// One stored session.
///
/// `version` grows by one on every write, so that a store can refuse a write based on a stale read
/// (see [`SessionStore::save`](crate::SessionStore::save)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub version: u64,
    pub created: Millis,
    pub last_seen: Millis,
    /// When the session dies; stores use it to expire entries without decoding `data`.
    pub expires: Millis,
    /// Shared, so that a store in memory hands a record out without copying its values, and a
    /// request copies them only if it changes them.
    pub data: Arc<Data>,
    /// Whose session this is (a username, say), for listing and ending a user's sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// The browser or app that began the session, as its `User-Agent` said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

impl Record {
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

    pub fn decode(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes.get(8..).unwrap_or_default())
    }

    /// The expiry stored in front of an encoded record, if the bytes are long enough to hold one.
    pub fn encoded_expiry(bytes: &[u8]) -> Option<Millis> {
        Some(Millis::from_be_bytes(bytes.get(..8)?.try_into().ok()?))
    }

    /// What the size cap counts: the session's data as it is serialised.
    pub fn data_size(data: &Data) -> usize {
        serde_json::to_vec(data).map_or(usize::MAX, |bytes| bytes.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_and_exposes_the_expiry() {
        let mut data = Data::new();
        data.insert("counter".into(), serde_json::json!(3));
        let record = Record {
            version: 2,
            created: 10,
            last_seen: 20,
            expires: 30,
            data: Arc::new(data),
            principal: Some("ada".into()),
            user_agent: None,
        };
        let bytes = record.encode();
        assert_eq!(Record::encoded_expiry(&bytes), Some(30));
        assert_eq!(Record::decode(&bytes).unwrap(), record);
        assert!(Record::decode(b"short").is_err());
        assert_eq!(Record::encoded_expiry(b"short"), None);
    }
}
