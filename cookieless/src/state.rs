//! A request's session state: the record as it was read, and the changes the handler made to it.
//!
//! [`SessionState`] is the one owner of that state. Handlers change it only through `Session`,
//! which calls the methods here; `decide.rs` reads it to choose what the end of the request does,
//! and `commit.rs` carries that out.
//!
//! The changes form a small state machine, from the record as read (or nothing):
//!
//! - `insert`/`remove` mark their key changed (replayed key by key if another process writes the
//!   session meanwhile). An insert past the size cap is undone and marks the state *refused*:
//!   then nothing of the request is saved, whatever else it did.
//! - `set_principal` marks the principal changed.
//! - `rotate` marks that the data moves to a new token when saved; the old token dies.
//! - `destroy` drops the values and the principal and rotates, so that values inserted later
//!   start a new session under a new token, and an emptied session is deleted.

use std::collections::BTreeSet;
use std::sync::Arc;

use compact_str::CompactString;
use serde_json::Value;

use crate::data::Data;
use crate::error::SessionError;
use crate::expiry::Millis;
use crate::hold::SessionHold;
use crate::record::Record;
use crate::session_store::LeaseId;
use crate::token::{SessionKey, Token};

/// The session accepted from the store, as it was read.
pub(crate) struct Stored {
    pub(crate) token: Token,
    pub(crate) key: SessionKey,
    pub(crate) version: u64,
    pub(crate) created: Millis,
    pub(crate) last_seen: Millis,
    /// When it was read and found live: the time this request saw it.
    pub(crate) read_at: Millis,
    /// When it dies unless used again, as stored.
    pub(crate) expires: Millis,
}

/// The session of one request, from its load to its commit.
pub(crate) struct SessionState {
    /// Held while the request may change a stored session: see `docs/protocol.md`.
    hold: Option<SessionHold>,
    stored: Option<Stored>,
    data: Arc<Data>,
    changed: BTreeSet<CompactString>,
    rotate: bool,
    /// Set by `destroy`: the old token is ended, not rotated, so it leaves no tombstone.
    destroyed: bool,
    /// Set by `touch`: the deadline moves now, however recently it last moved.
    touch: bool,
    refused: bool,
    principal: Option<Arc<str>>,
    principal_changed: bool,
    /// When the user last proved who they are, and whether this request changed it.
    authenticated_at: Option<Millis>,
    authentication_changed: bool,
    /// What began the stored session.
    user_agent: Option<Arc<str>>,
}

impl SessionState {
    /// No stored session: the request presented none, or one that is unknown or expired.
    pub(crate) fn new() -> Self {
        SessionState {
            hold: None,
            stored: None,
            data: Arc::default(),
            changed: BTreeSet::new(),
            rotate: false,
            destroyed: false,
            touch: false,
            refused: false,
            principal: None,
            principal_changed: false,
            authenticated_at: None,
            authentication_changed: false,
            user_agent: None,
        }
    }

    /// The live session `record`, read at `stored.read_at` under `hold` (none: read without
    /// holding the session, by a request that never used it).
    pub(crate) fn loaded(hold: Option<SessionHold>, stored: Stored, record: Record) -> Self {
        // Every field named, not `..Self::new()`: that would allocate empty data only to drop it,
        // on every request that presents a live token.
        SessionState {
            hold,
            stored: Some(stored),
            data: record.data,
            changed: BTreeSet::new(),
            rotate: false,
            destroyed: false,
            touch: false,
            refused: false,
            principal: record.principal,
            principal_changed: false,
            authenticated_at: record.authenticated_at,
            authentication_changed: false,
            user_agent: record.user_agent,
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.data.get(key)
    }

    /// Sets `key`, unless the data would then pass `limit` bytes: then nothing changes, and the
    /// whole request's changes are refused.
    pub(crate) fn insert(
        &mut self,
        key: &str,
        value: Value,
        limit: usize,
    ) -> Result<(), SessionError> {
        let data = Arc::make_mut(&mut self.data);
        let previous = data.insert(key, value);
        if Record::data_size(data) > limit {
            match previous {
                Some(previous) => data.insert(key, previous),
                None => data.remove(key),
            };
            self.refused = true;
            return Err(SessionError::TooLarge { limit });
        }
        if !self.changed.contains(key) {
            self.changed.insert(key.into());
        }
        Ok(())
    }

    pub(crate) fn remove(&mut self, key: &str) -> Option<Value> {
        // Looked up first, so that removing what is not there copies no values.
        self.data.get(key)?;
        let value = Arc::make_mut(&mut self.data).remove(key)?;
        self.changed.insert(key.into());
        Some(value)
    }

    pub(crate) fn rotate(&mut self) {
        self.rotate = true;
    }

    pub(crate) fn destroy(&mut self) {
        self.data = Arc::default();
        self.changed.clear();
        self.principal = None;
        self.principal_changed = true;
        self.authenticated_at = None;
        self.authentication_changed = true;
        self.rotate = true;
        self.destroyed = true;
    }

    pub(crate) fn touch(&mut self) {
        self.touch = true;
    }

    /// Whether the handler asked for the session's deadline to move.
    pub(crate) fn touch_requested(&self) -> bool {
        self.touch
    }

    pub(crate) fn set_principal(&mut self, principal: Option<&str>) {
        self.principal = principal.map(Arc::from);
        self.principal_changed = true;
    }

    /// Records when the user proved who they are (`None`: forgets it).
    pub(crate) fn set_authenticated_at(&mut self, at: Option<Millis>) {
        self.authenticated_at = at;
        self.authentication_changed = true;
    }

    pub(crate) fn authenticated_at(&self) -> Option<Millis> {
        self.authenticated_at
    }

    pub(crate) fn authentication_changed(&self) -> bool {
        self.authentication_changed
    }

    pub(crate) fn principal(&self) -> Option<&Arc<str>> {
        self.principal.as_ref()
    }

    pub(crate) fn has_values(&self) -> bool {
        !self.data.is_empty()
    }

    /// Nothing worth storing: no values and no principal.
    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty() && self.principal.is_none()
    }

    pub(crate) fn stored(&self) -> Option<&Stored> {
        self.stored.as_ref()
    }

    pub(crate) fn data(&self) -> &Arc<Data> {
        &self.data
    }

    /// Keys this request inserted or removed.
    pub(crate) fn changed(&self) -> &BTreeSet<CompactString> {
        &self.changed
    }

    /// Whether the data must move to a new token.
    pub(crate) fn rotating(&self) -> bool {
        self.rotate
    }

    /// Whether the stored session was ended (a logout), rather than moved to a new token.
    pub(crate) fn destroyed(&self) -> bool {
        self.destroyed
    }

    /// Whether an insert was refused for size, so that nothing is saved.
    pub(crate) fn refused(&self) -> bool {
        self.refused
    }

    pub(crate) fn principal_changed(&self) -> bool {
        self.principal_changed
    }

    pub(crate) fn user_agent(&self) -> Option<&Arc<str>> {
        self.user_agent.as_ref()
    }

    /// The store's lease this request holds on its session, if any and not yet released.
    pub(crate) fn lease(&self) -> Option<LeaseId> {
        self.hold.as_ref().and_then(SessionHold::lease)
    }

    /// Records that the store released the lease (a save under it, or the session's deletion).
    pub(crate) fn lease_released(&self) {
        if let Some(hold) = &self.hold {
            hold.released();
        }
    }

    /// The id the request's lease was taken under, released or not.
    pub(crate) fn lease_id(&self) -> Option<LeaseId> {
        self.hold.as_ref().and_then(SessionHold::id)
    }

    /// Records that the request took its lease again.
    pub(crate) fn lease_reacquired(&self) {
        if let Some(hold) = &self.hold {
            hold.reacquired();
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_insert_past_the_limit_is_undone_and_refuses_the_request() {
        let mut state = SessionState::new();
        state.insert("a", json!("small"), 64).unwrap();
        assert!(matches!(
            state.insert("a", json!("x".repeat(100)), 64),
            Err(SessionError::TooLarge { limit: 64 })
        ));
        assert_eq!(state.get("a"), Some(&json!("small")));
        assert!(state.refused());
        assert!(matches!(
            state.insert("b", json!("x".repeat(100)), 64),
            Err(SessionError::TooLarge { .. })
        ));
        assert_eq!(state.get("b"), None);
    }

    #[test]
    fn changes_are_tracked_by_key_and_destroy_clears_them() {
        let mut state = SessionState::new();
        state.insert("a", json!(1), usize::MAX).unwrap();
        assert_eq!(state.remove("missing"), None);
        assert_eq!(state.remove("a"), Some(json!(1)));
        assert_eq!(
            state
                .changed()
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>(),
            ["a"]
        );
        state.set_principal(Some("ada"));
        assert!(!state.is_empty() && !state.has_values());
        state.destroy();
        assert!(state.is_empty() && state.rotating() && state.principal_changed());
        assert!(state.changed().is_empty());
    }
}
