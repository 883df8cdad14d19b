//! What the end of a request must do with its session: a pure function of the state, the token
//! the request presented and the expiry, so that every rule can be checked without a store.

use crate::expiry::{Expiry, Millis};
use crate::request_header::Presented;
use crate::state::{SessionState, Stored};
use crate::token::Token;

/// What the response says about the client's token.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// No `X-Session` header: the client keeps what it has.
    Leave,
    /// The client must use this token from now on; the session dies at the given moment unless
    /// it is used again.
    Set(Token, Millis),
    /// The client must forget its token.
    Clear,
}

/// What must happen before the response goes out.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Nothing to write: answer at once.
    Nothing(Outcome),
    /// An insert was refused for size, so nothing of the request is saved: answer at once.
    Refuse(Outcome),
    /// Store the session under a new token (its first write, or a rotation), then delete the
    /// stored session it replaces, if any.
    Create,
    /// Write the request's changes back under the session's own token.
    Update,
    /// Nothing changed, but the time the session was last used has grown stale: write it back.
    Touch,
    /// The session holds nothing any more: delete it, and tell the client to forget its token.
    Delete,
}

/// Decides from the request's session state, once its handler has answered without a server
/// error (a `5xx` saves nothing, and is not decided here).
pub(crate) fn decide(state: &SessionState, presented: &Presented, expiry: &Expiry) -> Decision {
    if state.refused() {
        return Decision::Refuse(answer_unchanged(state.stored(), presented));
    }
    let Some(stored) = state.stored() else {
        return if state.is_empty() {
            Decision::Nothing(answer_unchanged(None, presented))
        } else {
            Decision::Create
        };
    };
    if state.is_empty() {
        Decision::Delete
    } else if state.rotating() {
        Decision::Create
    } else if !state.changed().is_empty()
        || state.principal_changed()
        || state.authentication_changed()
    {
        Decision::Update
    } else if state.touch_requested() || touch_due(stored, expiry, state.principal().is_some()) {
        Decision::Touch
    } else {
        Decision::Nothing(Outcome::Set(stored.token.clone(), stored.expires))
    }
}

/// The answer when nothing is saved: the live session's token if there is one, else an order to
/// forget whatever token the client sent.
pub(crate) fn answer_unchanged(live: Option<&Stored>, presented: &Presented) -> Outcome {
    match (live, presented) {
        (Some(stored), _) => Outcome::Set(stored.token.clone(), stored.expires),
        (None, Presented::Nothing) => Outcome::Leave,
        (None, Presented::Malformed | Presented::Token(_)) => Outcome::Clear,
    }
}

/// Whether a session read without changes was last seen so long ago that it is written back.
fn touch_due(stored: &Stored, expiry: &Expiry, signed_in: bool) -> bool {
    stored.read_at.saturating_sub(stored.last_seen) >= expiry.touch_interval(signed_in)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::hold::SessionHold;
    use crate::locks::SessionLocks;
    use crate::record::Record;

    const MINUTE: u64 = 60_000;

    /// A live session read at `read_at`, last seen at `last_seen`, holding a value.
    fn stored_state(token: &Token, last_seen: u64, read_at: u64) -> SessionState {
        let locks = Arc::new(SessionLocks::default());
        let lock = locks.try_lock(token.key()).ok().unwrap();
        let stored = Stored {
            token: token.clone(),
            key: token.key(),
            version: 3,
            created: 0,
            last_seen,
            read_at,
            expires: u64::MAX,
        };
        let record = Record {
            version: 3,
            created: 0,
            last_seen,
            expires: u64::MAX,
            data: Arc::new([("counter", json!(1))].into_iter().collect()),
            principal: None,
            user_agent: None,
            rotated: false,
            authenticated_at: None,
        };
        SessionState::loaded(Some(SessionHold::new(lock, None)), stored, record)
    }

    #[test]
    fn without_a_stored_session_only_values_create_one() {
        let expiry = Expiry::default();
        let empty = SessionState::new();
        assert_eq!(
            decide(&empty, &Presented::Nothing, &expiry),
            Decision::Nothing(Outcome::Leave)
        );
        assert_eq!(
            decide(&empty, &Presented::Malformed, &expiry),
            Decision::Nothing(Outcome::Clear)
        );
        // An unknown or expired token loads as no session: the client must forget it.
        assert_eq!(
            decide(&empty, &Presented::Token(Token::generate()), &expiry),
            Decision::Nothing(Outcome::Clear)
        );
        let mut written = SessionState::new();
        written.insert("a", json!(1), usize::MAX).unwrap();
        assert_eq!(
            decide(&written, &Presented::Nothing, &expiry),
            Decision::Create
        );
        let mut principal_only = SessionState::new();
        principal_only.set_principal(Some("ada"));
        assert_eq!(
            decide(&principal_only, &Presented::Nothing, &expiry),
            Decision::Create
        );
    }

    #[test]
    fn a_stored_session_is_written_only_when_it_changed_or_its_last_use_is_stale() {
        let expiry = Expiry::default();
        let token = Token::generate();
        let presented = Presented::Token(token.clone());

        let fresh = stored_state(&token, 0, MINUTE - 1);
        assert_eq!(
            decide(&fresh, &presented, &expiry),
            Decision::Nothing(Outcome::Set(token.clone(), u64::MAX))
        );
        let stale = stored_state(&token, 0, MINUTE);
        assert_eq!(decide(&stale, &presented, &expiry), Decision::Touch);

        let mut changed = stored_state(&token, 0, 0);
        changed.insert("counter", json!(2), usize::MAX).unwrap();
        assert_eq!(decide(&changed, &presented, &expiry), Decision::Update);

        let mut bound = stored_state(&token, 0, 0);
        bound.set_principal(Some("ada"));
        assert_eq!(decide(&bound, &presented, &expiry), Decision::Update);

        let mut rotated = stored_state(&token, 0, 0);
        rotated.rotate();
        assert_eq!(decide(&rotated, &presented, &expiry), Decision::Create);
    }

    #[test]
    fn an_emptied_session_is_deleted_and_a_refused_one_saves_nothing() {
        let expiry = Expiry::default();
        let token = Token::generate();
        let presented = Presented::Token(token.clone());

        let mut emptied = stored_state(&token, 0, 0);
        emptied.remove("counter");
        assert_eq!(decide(&emptied, &presented, &expiry), Decision::Delete);

        let mut destroyed = stored_state(&token, 0, 0);
        destroyed.destroy();
        assert_eq!(decide(&destroyed, &presented, &expiry), Decision::Delete);

        let mut destroyed_then_written = stored_state(&token, 0, 0);
        destroyed_then_written.destroy();
        destroyed_then_written
            .insert("counter", json!(100), usize::MAX)
            .unwrap();
        assert_eq!(
            decide(&destroyed_then_written, &presented, &expiry),
            Decision::Create
        );

        let mut refused = stored_state(&token, 0, MINUTE);
        refused.rotate();
        let _ = refused.insert("blob", json!("x".repeat(100)), 16);
        assert_eq!(
            decide(&refused, &presented, &expiry),
            Decision::Refuse(Outcome::Set(token.clone(), u64::MAX))
        );
        let mut refused_new = SessionState::new();
        let _ = refused_new.insert("blob", json!("x".repeat(100)), 16);
        assert_eq!(
            decide(&refused_new, &Presented::Nothing, &expiry),
            Decision::Refuse(Outcome::Leave)
        );
    }
}
