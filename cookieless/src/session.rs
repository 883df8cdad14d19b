//! The `Session` handle that handlers use: typed values by key, loaded from the store on first use.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use compact_str::CompactString;
use http::request::Parts;
use http::HeaderValue;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::data::Data;
use crate::error::SessionError;
use crate::expiry::Millis;
use crate::layer::Shared;
use crate::lazy_state::{LazyState, StillLoading};
use crate::locks::SessionLock;
use crate::record::Record;
use crate::token::{SessionKey, Token};

/// What the request's `X-Session` header said.
#[derive(Clone, Debug)]
pub(crate) enum Presented {
    Nothing,
    /// A header that could not be a token of ours: it is never looked up.
    Malformed,
    Token(Token),
}

/// The session of the current request.
///
/// Cheap to clone; every clone is the same session. Nothing is read from the store until a
/// method needs it, and nothing is written until the response is on its way out.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    presented: Presented,
    /// The request's `User-Agent`, recorded with sessions it begins. Kept as the header (a
    /// shared buffer, no copy) since most requests begin no session.
    user_agent: Option<HeaderValue>,
    state: LazyState<Loaded>,
}

/// The longest `User-Agent` kept with a session.
const MAX_USER_AGENT: usize = 256;

/// One of a principal's sessions, as [`Session::principal_sessions`] lists them.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionInfo {
    /// A public identifier: it names the session, and cannot be used as its token.
    pub id: String,
    pub created: Millis,
    pub last_seen: Millis,
    pub user_agent: Option<String>,
    /// Whether this is the session of the request that asked.
    pub current: bool,
}

/// The session accepted from the store, as it was read.
pub(crate) struct Stored {
    pub(crate) token: Token,
    pub(crate) key: SessionKey,
    pub(crate) version: u64,
    pub(crate) created: Millis,
    pub(crate) last_seen: Millis,
    /// When it was read and found live: the time this request saw it.
    pub(crate) read_at: Millis,
}

pub(crate) struct Loaded {
    /// Held while the request may change a stored session: see `docs/protocol.md`.
    pub(crate) _lock: Option<SessionLock>,
    pub(crate) stored: Option<Stored>,
    pub(crate) data: Arc<Data>,
    /// Keys this request inserted or removed, replayed onto a newer record if another process
    /// wrote the session meanwhile.
    pub(crate) changed: BTreeSet<CompactString>,
    /// The data must move to a new token: set by `rotate` and `destroy`.
    pub(crate) rotate: bool,
    /// A write was refused for size; the request's changes are not saved.
    pub(crate) refused: bool,
    /// Whose session this is.
    pub(crate) principal: Option<Arc<str>>,
    pub(crate) principal_changed: bool,
    /// What began the stored session.
    pub(crate) user_agent: Option<Arc<str>>,
}

impl Loaded {
    fn empty() -> Self {
        Loaded {
            _lock: None,
            stored: None,
            data: Arc::default(),
            changed: BTreeSet::new(),
            rotate: false,
            refused: false,
            principal: None,
            principal_changed: false,
            user_agent: None,
        }
    }

    /// Nothing worth storing: no values and no principal.
    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty() && self.principal.is_none()
    }
}

impl Session {
    pub(crate) fn new(
        shared: Arc<Shared>,
        presented: Presented,
        user_agent: Option<HeaderValue>,
    ) -> Self {
        Session {
            inner: Arc::new(Inner {
                shared,
                presented,
                user_agent,
                state: LazyState::new(),
            }),
        }
    }

    /// The value under `key`, if there is one.
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionError> {
        let value = self
            .with_loaded(|loaded| loaded.data.get(key).map(T::deserialize).transpose())
            .await?;
        Ok(value?)
    }

    /// Stores `value` under `key`. A value that would take the session past its size limit is
    /// refused with [`SessionError::TooLarge`] (413), and then none of this request's changes are
    /// saved.
    pub async fn insert<T: Serialize>(&self, key: &str, value: T) -> Result<(), SessionError> {
        let value = serde_json::to_value(value)?;
        let limit = self.inner.shared.max_size;
        self.with_loaded(|loaded| {
            let data = Arc::make_mut(&mut loaded.data);
            let previous = data.insert(key, value);
            if Record::data_size(data) > limit {
                match previous {
                    Some(previous) => data.insert(key, previous),
                    None => data.remove(key),
                };
                loaded.refused = true;
                return Err(SessionError::TooLarge { limit });
            }
            if !loaded.changed.contains(key) {
                loaded.changed.insert(key.into());
            }
            Ok(())
        })
        .await?
    }

    /// Removes the value under `key` and returns it.
    pub async fn remove<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionError> {
        let removed = self
            .with_loaded(|loaded| {
                // Looked up first, so that removing what is not there copies no values.
                loaded.data.get(key)?;
                let value = Arc::make_mut(&mut loaded.data).remove(key)?;
                loaded.changed.insert(key.into());
                Some(value)
            })
            .await?;
        Ok(removed.map(T::deserialize).transpose()?)
    }

    /// Whether the session holds no values (and so will not be stored).
    pub async fn is_empty(&self) -> Result<bool, SessionError> {
        self.with_loaded(|loaded| loaded.data.is_empty()).await
    }

    /// Moves the session to a new token when the response is sent, keeping its values; the old
    /// token dies. Call it when the user's privileges change, as on login, so that a token known
    /// before the change is worthless after it.
    pub async fn rotate(&self) -> Result<(), SessionError> {
        self.with_loaded(|loaded| loaded.rotate = true).await
    }

    /// Ends the session: its values and principal are dropped and its token dies. Values
    /// inserted afterwards start a new session under a new token.
    pub async fn destroy(&self) -> Result<(), SessionError> {
        self.with_loaded(|loaded| {
            loaded.data = Arc::default();
            loaded.changed.clear();
            loaded.principal = None;
            loaded.principal_changed = true;
            loaded.rotate = true;
        })
        .await
    }

    /// Whose session this is: the user it was bound to with [`Session::set_principal`].
    pub async fn principal(&self) -> Result<Option<String>, SessionError> {
        self.with_loaded(|loaded| loaded.principal.as_deref().map(str::to_string))
            .await
    }

    /// Binds the session to a user (on login), or unbinds it. A session with a principal is kept
    /// even without values, and is listed among the principal's sessions.
    pub async fn set_principal(&self, principal: Option<&str>) -> Result<(), SessionError> {
        self.with_loaded(|loaded| {
            loaded.principal = principal.map(Arc::from);
            loaded.principal_changed = true;
        })
        .await
    }

    /// Every live session of this session's principal (none without a principal), this one
    /// marked `current`. This request's own changes show once its response is sent.
    pub async fn principal_sessions(&self) -> Result<Vec<SessionInfo>, SessionError> {
        let mut infos: Vec<SessionInfo> = self
            .principal_sessions_by_key()
            .await?
            .into_iter()
            .map(|(_, info)| info)
            .collect();
        infos.sort_by(|a, b| {
            b.current
                .cmp(&a.current)
                .then(b.last_seen.cmp(&a.last_seen))
        });
        Ok(infos)
    }

    /// Ends the principal's session with the public `id`; ending the current one is
    /// [`Session::destroy`]. Returns whether there was such a session.
    pub async fn end_principal_session(&self, id: &str) -> Result<bool, SessionError> {
        let sessions = self.principal_sessions_by_key().await?;
        let Some((key, target)) = sessions.into_iter().find(|(_, info)| info.id == id) else {
            return Ok(false);
        };
        if target.current {
            self.destroy().await?;
        } else {
            self.inner.shared.store.delete(&key).await?;
        }
        Ok(true)
    }

    /// Ends every session of the principal but this one, returning how many ended.
    pub async fn end_other_principal_sessions(&self) -> Result<usize, SessionError> {
        let mut ended = 0;
        for (key, info) in self.principal_sessions_by_key().await? {
            if !info.current {
                self.inner.shared.store.delete(&key).await?;
                ended += 1;
            }
        }
        Ok(ended)
    }

    /// The principal's live sessions with their store keys, which never leave this module.
    async fn principal_sessions_by_key(
        &self,
    ) -> Result<Vec<(SessionKey, SessionInfo)>, SessionError> {
        let (principal, current) = self
            .with_loaded(|loaded| {
                (
                    loaded.principal.clone(),
                    loaded.stored.as_ref().map(|stored| stored.key),
                )
            })
            .await?;
        let Some(principal) = principal else {
            return Ok(Vec::new());
        };
        let sessions = self
            .inner
            .shared
            .store
            .principal_sessions(&principal, self.inner.shared.clock.now())
            .await?;
        Ok(sessions
            .into_iter()
            .map(|(key, record)| {
                let info = SessionInfo {
                    id: key.public_id(),
                    created: record.created,
                    last_seen: record.last_seen,
                    user_agent: record.user_agent.as_deref().map(str::to_string),
                    current: Some(key) == current,
                };
                (key, info)
            })
            .collect())
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    pub(crate) fn presented(&self) -> &Presented {
        &self.inner.presented
    }

    pub(crate) fn request_user_agent(&self) -> Option<Arc<str>> {
        // `to_str` admits visible ASCII only, so any byte is a character boundary.
        let agent = self.inner.user_agent.as_ref()?.to_str().ok()?;
        Some(Arc::from(agent.get(..agent.len().min(MAX_USER_AGENT))?))
    }

    /// Runs `use_state` on the request's session state, loading it from the store first if that
    /// has not happened yet.
    async fn with_loaded<R>(
        &self,
        use_state: impl FnOnce(&mut Loaded) -> R,
    ) -> Result<R, SessionError> {
        self.inner.state.with(|| self.load(), use_state).await
    }

    /// The request's session state, taken out unless a clone of this handle is loading it in
    /// another task: see [`Session::take_state`].
    pub(crate) fn try_take_state(&self) -> Result<Option<Loaded>, StillLoading> {
        self.inner.state.try_take()
    }

    /// Takes the request's session state out, ending its hold on the session: later use of a
    /// clone of this handle reads the session again.
    pub(crate) async fn take_state(&self) -> Option<Loaded> {
        self.inner.state.take().await
    }

    /// Reads the session the request presented, and holds it until the returned state is dropped.
    pub(crate) async fn load(&self) -> Result<Loaded, SessionError> {
        let mut loaded = Loaded::empty();
        let Presented::Token(token) = &self.inner.presented else {
            return Ok(loaded);
        };
        let shared = &self.inner.shared;
        let key = token.key();
        let lock = shared.locks.lock(key).await;
        let Some(record) = shared.store.load(&key).await? else {
            return Ok(loaded);
        };
        let now = shared.clock.now();
        if record.is_expired(now) {
            if let Err(error) = shared.store.delete(&key).await {
                tracing::warn!(%error, ?key, "could not remove an expired session; the sweep will");
            }
            return Ok(loaded);
        }
        loaded._lock = Some(lock);
        loaded.stored = Some(Stored {
            token: token.clone(),
            key,
            version: record.version,
            created: record.created,
            last_seen: record.last_seen,
            read_at: now,
        });
        loaded.data = record.data;
        loaded.principal = record.principal;
        loaded.user_agent = record.user_agent;
        Ok(loaded)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = SessionError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or(SessionError::MissingLayer)
    }
}
