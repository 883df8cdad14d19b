//! The `Session` handle that handlers use: typed values by key, loaded from the store on first use.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::FromRequestParts;
use http::request::Parts;
use http::HeaderValue;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::config::LayerConfig;
use crate::error::SessionError;
use crate::expiry::Millis;
use crate::hold::{HeldLease, SessionHold};
use crate::lazy_state::{LazyState, StillLoading};
use crate::metrics::{Ended, Load};
use crate::new_sessions::Charge;
use crate::record::Record;
use crate::request_header::Presented;
use crate::session_store::{LeaseId, Leased};
use crate::state::{SessionState, Stored};
use crate::token::{SessionKey, Token};

/// The session of the current request.
///
/// An extractor: a handler behind a [`SessionLayer`](crate::SessionLayer) takes it as an
/// argument. Cheap to clone; every clone is the same session. Nothing is read from the store
/// until a method needs it, and nothing is written until the response is on its way out.
///
/// ```
/// use cookieless::{Session, SessionError};
///
/// async fn add_to_cart(session: Session) -> Result<String, SessionError> {
///     let mut cart: Vec<String> = session.get("cart").await?.unwrap_or_default();
///     cart.push("tea".into());
///     session.insert("cart", &cart).await?;
///     Ok(format!("{} items", cart.len()))
/// }
/// ```
///
/// # Errors
///
/// Every method may fail with a [`SessionError`]: [`SessionError::Store`] when the store cannot
/// be read, and the errors each method names. Returned from a handler, the error answers the
/// request with its status.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

struct Inner {
    config: Arc<LayerConfig>,
    presented: Presented,
    /// The request's `User-Agent`, recorded with sessions it begins. Kept as the header (a
    /// shared buffer, no copy) since most requests begin no session.
    user_agent: Option<HeaderValue>,
    /// Whether a session this request begins is paid for.
    charge: Charge,
    /// Set once the layer charged a request whose token turned out dead, before its handler ran.
    paid_before_handler: AtomicBool,
    /// Set once the request's token turned out to be one a rotation retired in its grace window.
    presented_rotated: AtomicBool,
    state: LazyState<SessionState>,
}

/// The longest `User-Agent` kept with a session.
const MAX_USER_AGENT: usize = 256;

/// One of a principal's sessions, as [`Session::principal_sessions`] lists them.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionInfo {
    /// A public identifier: it names the session, and cannot be used as its token.
    pub id: String,
    /// When the session began.
    pub created: Millis,
    /// When it was last used.
    pub last_seen: Millis,
    /// The `User-Agent` of the browser or app that began it (at most 256 bytes kept).
    pub user_agent: Option<String>,
    /// Whether this is the session of the request that asked.
    pub current: bool,
}

/// How far ahead of this instance's clock another's may be when it stamps a proof of who the
/// user is, in milliseconds.
const CLOCK_SKEW: u64 = 5_000;

impl Session {
    pub(crate) fn new(
        config: Arc<LayerConfig>,
        presented: Presented,
        user_agent: Option<HeaderValue>,
        charge: Charge,
    ) -> Self {
        Session {
            inner: Arc::new(Inner {
                config,
                presented,
                user_agent,
                charge,
                paid_before_handler: AtomicBool::new(false),
                presented_rotated: AtomicBool::new(false),
                state: LazyState::new(),
            }),
        }
    }

    /// The value under `key`, if there is one.
    ///
    /// ```
    /// # async fn handler(session: cookieless::Session) -> Result<(), cookieless::SessionError> {
    /// let visits: u64 = session.get("visits").await?.unwrap_or(0);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SessionError::Value`] when the stored value is not a `T`; [`SessionError::Store`] when
    /// the store cannot be read.
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionError> {
        let value = self
            .with_loaded(|state| state.get(key).map(T::deserialize).transpose())
            .await?;
        Ok(value?)
    }

    /// Stores `value` under `key`. A value that would take the session past its size limit is
    /// refused with [`SessionError::TooLarge`] (413), and then none of this request's changes are
    /// saved.
    ///
    /// ```
    /// # async fn handler(session: cookieless::Session) -> Result<(), cookieless::SessionError> {
    /// session.insert("theme", "dark").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SessionError::TooLarge`] past the size cap, [`SessionError::Value`] when `value` does not
    /// serialise to JSON, [`SessionError::Store`] when the store cannot be read.
    pub async fn insert<T: Serialize>(&self, key: &str, value: T) -> Result<(), SessionError> {
        let value = serde_json::to_value(value)?;
        let limit = self.inner.config.max_size;
        self.with_loaded(|state| state.insert(key, value, limit))
            .await?
    }

    /// Removes the value under `key` and returns it.
    ///
    /// ```
    /// # async fn handler(session: cookieless::Session) -> Result<(), cookieless::SessionError> {
    /// let flash: Option<String> = session.remove("flash").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SessionError::Value`] when the removed value is not a `T` (it is removed all the same);
    /// [`SessionError::Store`] when the store cannot be read.
    pub async fn remove<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionError> {
        let removed = self.with_loaded(|state| state.remove(key)).await?;
        Ok(removed.map(T::deserialize).transpose()?)
    }

    /// Whether the session holds no values (and so, without a principal, will not be stored).
    ///
    /// ```
    /// # async fn handler(session: cookieless::Session) -> Result<(), cookieless::SessionError> {
    /// if session.is_empty().await? {
    ///     // A first visit, or one whose session ended.
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store cannot be read.
    pub async fn is_empty(&self) -> Result<bool, SessionError> {
        self.with_loaded(|state| !state.has_values()).await
    }

    /// Moves the session to a new token when the response is sent, keeping its values; the old
    /// token dies. Call it when the user's privileges change, as on login, so that a token known
    /// before the change is worthless after it.
    ///
    /// ```
    /// # async fn handler(session: cookieless::Session) -> Result<(), cookieless::SessionError> {
    /// session.rotate().await?;
    /// session.set_principal(Some("ada")).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store cannot be read.
    pub async fn rotate(&self) -> Result<(), SessionError> {
        self.with_loaded(SessionState::rotate).await
    }

    /// Moves the session's deadline now: it dies an idle timeout from this request (never after
    /// its absolute deadline), as if the idle clock had just restarted. Any use of the session
    /// moves the deadline too, but only once a sixteenth of the idle timeout has passed since the
    /// last move; call this when the user asked to stay signed in. No session: nothing to do.
    ///
    /// ```
    /// # async fn handler(session: cookieless::Session) -> Result<(), cookieless::SessionError> {
    /// session.touch().await?; // "Stay signed in"
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store cannot be read.
    pub async fn touch(&self) -> Result<(), SessionError> {
        self.with_loaded(SessionState::touch).await
    }

    /// Ends the session: its values and principal are dropped and its token dies. Values
    /// inserted afterwards start a new session under a new token. The response tells the client
    /// to forget its token.
    ///
    /// ```
    /// # async fn handler(session: cookieless::Session) -> Result<(), cookieless::SessionError> {
    /// session.destroy().await?; // log out
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store cannot be read.
    pub async fn destroy(&self) -> Result<(), SessionError> {
        self.with_loaded(SessionState::destroy).await
    }

    /// Whose session this is: the user it was bound to with [`Session::set_principal`].
    ///
    /// ```
    /// # async fn handler(session: cookieless::Session) -> Result<(), cookieless::SessionError> {
    /// let logged_in = session.principal().await?.is_some();
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store cannot be read.
    pub async fn principal(&self) -> Result<Option<String>, SessionError> {
        self.with_loaded(|state| state.principal().map(|principal| principal.to_string()))
            .await
    }

    /// Binds the session to a user (on login), or unbinds it. A session with a principal is kept
    /// even without values, and is listed among the principal's sessions. Rotate as well on a
    /// login (see [`Session::rotate`]). Binding counts as the user proving who they are now
    /// ([`Session::authenticated_at`]); unbinding forgets when they last did.
    ///
    /// ```
    /// # async fn handler(session: cookieless::Session) -> Result<(), cookieless::SessionError> {
    /// session.set_principal(None).await?; // logged out, but the visitor's values stay
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store cannot be read.
    pub async fn set_principal(&self, principal: Option<&str>) -> Result<(), SessionError> {
        let now = self.inner.config.clock.now();
        self.with_loaded(|state| {
            state.set_principal(principal);
            state.set_authenticated_at(principal.map(|_| now));
        })
        .await
    }

    /// Records that the session's user proved who they are just now, again: a password entered
    /// to confirm a sensitive action. A login does it through [`Session::set_principal`].
    ///
    /// ```
    /// # async fn handler(session: cookieless::Session) -> Result<(), cookieless::SessionError> {
    /// // The password was checked against the user's record.
    /// session.record_authentication().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store cannot be read.
    pub async fn record_authentication(&self) -> Result<(), SessionError> {
        let now = self.inner.config.clock.now();
        self.with_loaded(|state| {
            // A proof is of someone: a session nobody is logged in to has none to renew.
            if state.principal().is_some() {
                state.set_authenticated_at(Some(now));
            }
        })
        .await
    }

    /// When the session's user last proved who they are (logged in, or confirmed their
    /// password); `None` for a session nobody is logged in to.
    ///
    /// ```
    /// # async fn handler(session: cookieless::Session) -> Result<(), cookieless::SessionError> {
    /// if let Some(at) = session.authenticated_at().await? {
    ///     println!("proved {:?} ago", at.elapsed().unwrap_or_default());
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store cannot be read.
    pub async fn authenticated_at(&self) -> Result<Option<SystemTime>, SessionError> {
        let at = self.with_loaded(|state| state.authenticated_at()).await?;
        Ok(at.map(|millis| UNIX_EPOCH + Duration::from_millis(millis)))
    }

    /// Succeeds if the session's user proved who they are within `max_age`; otherwise the
    /// handler answers with the error, `403 {"detail", "code": "reauthentication_required"}`,
    /// and the client asks for the password again ([`Session::record_authentication`]) before it
    /// retries. For actions a stolen token or an unlocked laptop must not be enough for.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # async fn delete_account(session: cookieless::Session) -> Result<(), cookieless::SessionError> {
    /// session.require_recent_auth(Duration::from_secs(600)).await?;
    /// // ... delete it
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SessionError::ReauthenticationRequired`] when the proof is older, or there is none;
    /// [`SessionError::Store`] when the store cannot be read.
    pub async fn require_recent_auth(&self, max_age: Duration) -> Result<(), SessionError> {
        let now = self.inner.config.clock.now();
        let at = self
            .with_loaded(|state| state.principal().and(state.authenticated_at()))
            .await?;
        let max_age = u64::try_from(max_age.as_millis()).unwrap_or(u64::MAX);
        match at {
            // A proof from the future (another instance's clock ahead of this one's) counts only
            // within a little skew, never for longer than its age allows.
            Some(at)
                if at <= now.saturating_add(CLOCK_SKEW) && now.saturating_sub(at) <= max_age =>
            {
                Ok(())
            }
            _ => Err(SessionError::ReauthenticationRequired),
        }
    }

    /// The moment the session ends however busy it is: its absolute deadline, counted from its
    /// start or its last rotation (a login, a password change). Only a new rotation goes past
    /// it, so a page can say a new login is needed ahead of time, rather than offer to keep a
    /// session that cannot be kept.
    ///
    /// ```
    /// # async fn handler(session: cookieless::Session) -> Result<(), cookieless::SessionError> {
    /// let left = session.ends_by().await?.duration_since(std::time::SystemTime::now());
    /// println!("a new login is needed in {:?}", left.unwrap_or_default());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store cannot be read.
    pub async fn ends_by(&self) -> Result<SystemTime, SessionError> {
        let config = &self.inner.config;
        let now = config.clock.now();
        let created = self
            .with_loaded(|state| match state.stored() {
                Some(stored) if !state.rotating() => stored.created,
                // A rotation stores the session anew, as of now.
                _ => now,
            })
            .await?;
        // Within what every platform's `SystemTime` holds: the end of the year 9999.
        let ends = config.expiry.absolute_end(created).min(253_402_300_799_000);
        Ok(UNIX_EPOCH + Duration::from_millis(ends))
    }

    /// Every live session of this session's principal (none without a principal), this one
    /// marked `current` and first, then the most recently used. This request's own changes show
    /// once its response is sent.
    ///
    /// ```
    /// # async fn handler(session: cookieless::Session) -> Result<(), cookieless::SessionError> {
    /// for device in session.principal_sessions().await? {
    ///     println!("{} last used at {} ms", device.id, device.last_seen);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store cannot be read or cannot list the sessions.
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
    /// [`Session::destroy`]. Returns whether there was such a session: an id that is not one of
    /// this principal's sessions ends nothing.
    ///
    /// ```
    /// # async fn handler(session: cookieless::Session) -> Result<(), cookieless::SessionError> {
    /// # let id = String::new();
    /// if !session.end_principal_session(&id).await? {
    ///     // 404: not one of this user's sessions.
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store cannot list or delete the sessions.
    pub async fn end_principal_session(&self, id: &str) -> Result<bool, SessionError> {
        let sessions = self.principal_sessions_by_key().await?;
        let Some((key, target)) = sessions.into_iter().find(|(_, info)| info.id == id) else {
            return Ok(false);
        };
        if target.current {
            self.destroy().await?;
        } else {
            self.inner.config.store.delete(&key).await?;
            self.inner.config.metrics.ended(Ended::Revoked, 1);
        }
        Ok(true)
    }

    /// Ends every session of the principal but this one, returning how many ended: "log out my
    /// other devices".
    ///
    /// ```
    /// # async fn handler(session: cookieless::Session) -> Result<(), cookieless::SessionError> {
    /// let ended = session.end_other_principal_sessions().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store cannot list or delete the sessions; those ended
    /// before the failure stay ended.
    pub async fn end_other_principal_sessions(&self) -> Result<usize, SessionError> {
        let mut ended = 0;
        for (key, info) in self.principal_sessions_by_key().await? {
            if !info.current {
                self.inner.config.store.delete(&key).await?;
                self.inner.config.metrics.ended(Ended::Revoked, 1);
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
            .with_loaded(|state| {
                (
                    state.principal().cloned(),
                    state.stored().map(|stored| stored.key),
                )
            })
            .await?;
        let Some(principal) = principal else {
            return Ok(Vec::new());
        };
        let sessions = self
            .inner
            .config
            .store
            .principal_sessions(&principal, self.inner.config.clock.now())
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

    pub(crate) fn config(&self) -> &LayerConfig {
        &self.inner.config
    }

    pub(crate) fn presented(&self) -> &Presented {
        &self.inner.presented
    }

    /// What a session this request begins still owes the budget of new sessions.
    pub(crate) fn charge(&self) -> Charge {
        if self.inner.paid_before_handler.load(Ordering::Relaxed) {
            Charge::Paid
        } else {
            self.inner.charge
        }
    }

    /// Loads the session of a request that may write, before its handler runs. A token a rotation
    /// retired fails here ([`SessionError::Rotated`]), so that none of the handler's work happens
    /// and the client can send the request again with its new token. And if the token turns out
    /// dead (so that what the handler writes would begin a session), takes one from the client's
    /// budget now: a made-up token must not let a handler's other work (an account made, a hash
    /// computed) through a spent budget.
    pub(crate) async fn load_before_handler(&self) -> Result<(), SessionError> {
        let live = self.with_loaded(|state| state.stored().is_some()).await?;
        let (Charge::Due(client), Some(budget)) =
            (self.inner.charge, &self.inner.config.new_sessions)
        else {
            return Ok(());
        };
        if !live {
            budget.charge(client)?;
            self.inner
                .paid_before_handler
                .store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Whether the request's token is one a rotation retired, still in its grace window.
    pub(crate) fn presented_rotated(&self) -> bool {
        self.inner.presented_rotated.load(Ordering::Relaxed)
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
        use_state: impl FnOnce(&mut SessionState) -> R,
    ) -> Result<R, SessionError> {
        self.inner.state.with(|| self.load(), use_state).await
    }

    /// The request's session state, taken out unless a clone of this handle is loading it in
    /// another task: see [`Session::take_state`].
    pub(crate) fn try_take_state(&self) -> Result<Option<SessionState>, StillLoading> {
        self.inner.state.try_take()
    }

    /// Takes the request's session state out, ending its hold on the session: later use of a
    /// clone of this handle reads the session again.
    pub(crate) async fn take_state(&self) -> Option<SessionState> {
        self.inner.state.take().await
    }

    /// Reads the session the request presented, and holds it until the returned state is dropped:
    /// in this process by the lock table, across processes by the store's lease, if it has leases
    /// and the layer takes them. With leases, the wait for both is bounded by the layer's lease
    /// wait, past which the request is answered `503`.
    pub(crate) async fn load(&self) -> Result<SessionState, SessionError> {
        let Presented::Token(token) = &self.inner.presented else {
            return Ok(SessionState::new());
        };
        let config = &self.inner.config;
        let key = token.key();
        let waited = Instant::now();
        let (hold, record, started) = match config.leases() {
            Some((leases, wait)) => {
                let Ok(lock) = tokio::time::timeout(wait, config.locks.lock(key)).await else {
                    config.metrics.loaded(Load::Busy);
                    return Err(SessionError::Busy { retry_after: wait });
                };
                let started = Instant::now();
                let id = LeaseId::generate();
                match leases
                    .load_leased(&key, id, wait.saturating_sub(waited.elapsed()))
                    .await?
                {
                    // A missing session is not leased: there is nothing to hold.
                    Leased::Granted(None) => (SessionHold::new(lock, None), None, started),
                    Leased::Granted(Some(record)) => {
                        let lease = HeldLease::new(config.store.clone(), key, id);
                        (SessionHold::new(lock, Some(lease)), Some(record), started)
                    }
                    Leased::Busy { retry_after } => {
                        config.metrics.loaded(Load::Busy);
                        return Err(SessionError::Busy { retry_after });
                    }
                }
            }
            None => {
                let lock = config.locks.lock(key).await;
                let started = Instant::now();
                let record = config.store.load(&key).await?;
                (SessionHold::new(lock, None), record, started)
            }
        };
        config.metrics.store_call("load", started);
        self.accept(token, record, Some(hold)).await
    }

    /// Reads the session the request presented for a request whose handler never used its
    /// session, to learn whether its token is live (and to refresh "last used"). With leases it
    /// reads without holding the session, so that it neither waits for other requests nor makes
    /// them wait (its refresh is then refused while another holds the session); without, it
    /// takes the process's lock, as [`Session::load`] does.
    pub(crate) async fn peek(&self) -> Result<SessionState, SessionError> {
        let Presented::Token(token) = &self.inner.presented else {
            return Ok(SessionState::new());
        };
        let config = &self.inner.config;
        if config.leases().is_none() {
            return self.load().await;
        }
        let started = Instant::now();
        let record = config.store.load(&token.key()).await?;
        config.metrics.store_call("load", started);
        self.accept(token, record, None).await
    }

    /// The request's state from the `record` its token found, if it is live.
    async fn accept(
        &self,
        token: &Token,
        record: Option<Record>,
        hold: Option<SessionHold>,
    ) -> Result<SessionState, SessionError> {
        let config = &self.inner.config;
        let key = token.key();
        let Some(record) = record else {
            config.metrics.loaded(Load::Miss);
            tracing::debug!(
                event = "token_refused",
                reason = "unknown",
                "a token was refused"
            );
            return Ok(SessionState::new());
        };
        let now = config.clock.now();
        if record.rotated && !record.is_expired(now) {
            config.metrics.loaded(Load::Rotated);
            tracing::debug!(
                event = "token_refused",
                reason = "rotated",
                "a token a rotation retired was refused"
            );
            self.inner.presented_rotated.store(true, Ordering::Relaxed);
            return Err(SessionError::Rotated);
        }
        if record.is_expired(now) {
            config.metrics.loaded(Load::Miss);
            if !record.rotated {
                config.metrics.ended(Ended::Expired, 1);
            }
            tracing::debug!(
                event = "token_refused",
                reason = "expired",
                "a token was refused"
            );
            match config.store.delete(&key).await {
                Ok(()) => {
                    if let Some(hold) = &hold {
                        hold.released();
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "could not remove an expired session; the sweep will");
                }
            }
            return Ok(SessionState::new());
        }
        config.metrics.loaded(Load::Hit);
        let stored = Stored {
            token: token.clone(),
            key,
            version: record.version,
            created: record.created,
            last_seen: record.last_seen,
            read_at: now,
            expires: record.expires,
        };
        Ok(SessionState::loaded(hold, stored, record))
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
