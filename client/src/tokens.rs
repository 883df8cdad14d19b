//! The one place that holds the session token in this page.
//!
//! Memory is the source of truth while the page lives; the chosen [`Place`] keeps a copy so that a
//! reload can pick the token up again, and under [`TabScope::Shared`] the other tabs of the site
//! hold the same token and hear of every change ([`crate::tabs`]).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use futures_channel::oneshot;
use futures_util::future::{self, Either};
use gloo_timers::callback::Timeout;
use gloo_timers::future::TimeoutFuture;

use crate::header::next_token;
use crate::storage::{carry_token_across_history, Place, StoragePolicy};
use crate::tabs::{self, this_tab, Hooks, Stamp, TabScope, TabState};

/// Something that happened to the session, for whoever watches it (a UI, for instance).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// The token changed: a new one, or none.
    TokenChanged(Option<String>),
    /// The server answered a request made with a token by handing out a different one: it
    /// rotated the session (a login) or no longer knew the token and started a new session.
    TokenReplaced,
    /// The server answered 401: whatever this client thought, it is not logged in.
    Unauthorized,
    /// Another tab of the site changed the token (a login, a logout, a rotation), and this tab
    /// now holds the same one; [`SessionEvent::TokenChanged`] comes just after.
    ChangedInAnotherTab(Option<String>),
    /// The moment the session dies unless used again, on this browser's clock (milliseconds
    /// since the Unix epoch, as `Date.now()` counts); `None` when unknown or no session.
    ExpiresChanged(Option<f64>),
    /// That moment passed: the token is dead on the server, and this client forgot it without
    /// a request ([`SessionEvent::TokenChanged`] came just before).
    Expired,
    /// Who is logged in with the token held now, as the application told this tab or another
    /// ([`set_user`]); `None`: nobody.
    UserChanged(Option<String>),
}

type Listener = Rc<dyn Fn(&SessionEvent)>;

struct Holder {
    place: Place,
    scope: TabScope,
    state: TabState,
    /// The greatest stamp seen, this tab's own changes and the other tabs' alike.
    seen: Stamp,
    /// Until the tabs already open have answered, no request leaves (shared scope only).
    asking: bool,
    /// The question to the other tabs this holder waits for: only its end settles it.
    question: u64,
    settled: Vec<oneshot::Sender<()>>,
    /// Woken whenever the token changes.
    token_watchers: Vec<oneshot::Sender<()>>,
    expiry: Option<Timeout>,
    /// The token the deadline timer dropped, until another token is held.
    expired: Option<String>,
    /// The request (by [`begin_request`]) whose answer set the deadline held: an answer to an
    /// earlier request, overtaken on the way, may not move it back.
    deadline_from: u64,
    listeners: Vec<Listener>,
}

thread_local! {
    static HOLDER: RefCell<Option<Holder>> = const { RefCell::new(None) };
    /// Questions to the other tabs asked so far, by every holder this page installed.
    static QUESTIONS: Cell<u64> = const { Cell::new(0) };
    /// Requests begun so far in this page.
    static REQUESTS: Cell<u64> = const { Cell::new(0) };
}

/// Numbers a request as it begins, so that answers can be told apart from those of requests
/// that left earlier.
pub(crate) fn begin_request() -> u64 {
    REQUESTS.with(|begun| {
        begun.set(begun.get() + 1);
        begun.get()
    })
}

fn requests_begun() -> u64 {
    REQUESTS.with(Cell::get)
}

fn with_holder<R>(f: impl FnOnce(&mut Holder) -> R) -> R {
    let created = HOLDER.with(|holder| {
        let mut holder = holder.borrow_mut();
        let created = holder.is_none();
        if created {
            *holder = Some(Holder::new(
                StoragePolicy::Auto,
                TabScope::Shared,
                Vec::new(),
            ));
        }
        created
    });
    if created {
        join_other_tabs();
    }
    HOLDER.with(|holder| f(holder.borrow_mut().as_mut().expect("created above")))
}

/// Chooses where the token is kept and picks up a token an earlier load of the page kept there;
/// every tab of the site shares it ([`TabScope::Shared`]). Call it once, before the first
/// request; without it the policy is [`StoragePolicy::Auto`]. Returns where the token is
/// actually kept: the policy's own place where the browser allows it, else a fallback (see
/// [`Place::for_policy`]).
///
/// ```no_run
/// use cookieless_client::{install, Place, StoragePolicy};
///
/// let place = install(StoragePolicy::Auto);
/// if place == Place::Memory {
///     println!("the session will not survive a reload");
/// }
/// ```
pub fn install(policy: StoragePolicy) -> Place {
    install_with_scope(policy, TabScope::Shared).0
}

/// [`install`] with a choice of whether the site's tabs share the session. Returns where the
/// token is kept and the scope in effect: [`TabScope::PerTab`] where the browser cannot share
/// (it has no `BroadcastChannel`), whatever was asked.
///
/// ```no_run
/// use cookieless_client::{install_with_scope, StoragePolicy, TabScope};
///
/// // Two accounts side by side, one per tab.
/// let (_place, scope) = install_with_scope(StoragePolicy::Auto, TabScope::PerTab);
/// assert_eq!(scope, TabScope::PerTab);
/// ```
pub fn install_with_scope(policy: StoragePolicy, scope: TabScope) -> (Place, TabScope) {
    HOLDER.with(|holder| {
        let listeners = holder
            .borrow_mut()
            .take()
            .map(|old| old.listeners)
            .unwrap_or_default();
        *holder.borrow_mut() = Some(Holder::new(policy, scope, listeners));
    });
    join_other_tabs();
    with_holder(|holder| (holder.place, holder.scope))
}

impl Holder {
    fn new(policy: StoragePolicy, scope: TabScope, listeners: Vec<Listener>) -> Self {
        let place = Place::probe(policy);
        if place == Place::HistoryState {
            carry_token_across_history(|| {
                with_holder(|holder| (holder.state.token.clone(), holder.state.changed_at))
            });
        }
        let token = place.read();
        let changed_at = if token.is_some() {
            place.changed_at()
        } else {
            0.0
        };
        // A token kept across a reload counts as no change: it is older than any change the
        // other tabs know of, and only tabs that know of none take it (see `adopt`).
        let stamp = Stamp {
            count: 0,
            tab: this_tab(),
        };
        Holder {
            place,
            scope,
            state: TabState {
                token,
                expires: None,
                stamp,
                user: None,
                user_known: false,
                changed_at,
            },
            seen: Stamp::default(),
            asking: false,
            question: 0,
            settled: Vec::new(),
            token_watchers: Vec::new(),
            expiry: None,
            expired: None,
            deadline_from: 0,
            listeners,
        }
    }
}

/// Opens the channel to the other tabs if the scope asks for it, and asks them for their token.
fn join_other_tabs() {
    let wanted = HOLDER.with(|holder| {
        holder
            .borrow()
            .as_ref()
            .is_some_and(|holder| holder.scope == TabScope::Shared)
    });
    if !wanted {
        tabs::close();
        return;
    }
    let hooks = Hooks {
        current: shared_state,
        adopt,
        adopt_deadline,
        adopt_user,
    };
    if !tabs::open(hooks) {
        with_holder(|holder| holder.scope = TabScope::PerTab);
        return;
    }
    let question = QUESTIONS.with(|asked| {
        asked.set(asked.get() + 1);
        asked.get()
    });
    with_holder(|holder| {
        holder.asking = true;
        holder.question = question;
    });
    wasm_bindgen_futures::spawn_local(async move {
        tabs::ask().await;
        let waiting = with_holder(|holder| {
            if holder.question != question {
                return Vec::new();
            }
            holder.asking = false;
            std::mem::take(&mut holder.settled)
        });
        for sender in waiting {
            let _ = sender.send(());
        }
    });
}

/// Waits, the first time, until the other tabs of the site have said which token they hold (at
/// most [`ASK_WAIT`](crate::ASK_WAIT)); at once afterwards, and under [`TabScope::PerTab`].
/// Requests wait for it by themselves; a page waits for it before it decides that nobody is
/// logged in.
///
/// ```no_run
/// # async fn start() {
/// cookieless_client::ready().await;
/// let logged_out = cookieless_client::current().is_none();
/// # }
/// ```
pub async fn ready() {
    // A holder installed anew while this waited asks again: wait for that question too.
    loop {
        let wait = with_holder(|holder| {
            holder.asking.then(|| {
                let (sender, receiver) = oneshot::channel();
                holder.settled.push(sender);
                receiver
            })
        });
        let Some(wait) = wait else { return };
        let _ = wait.await;
    }
}

/// The token held now.
pub fn current() -> Option<String> {
    with_holder(|holder| holder.state.token.clone())
}

/// When the session dies unless used again, on this browser's clock (milliseconds since the
/// Unix epoch, as `Date.now()` counts), as the last answer that carried a token said; `None`
/// before such an answer, and without a session.
pub fn expires() -> Option<f64> {
    with_holder(|holder| holder.state.expires)
}

/// Where the token is kept.
pub fn place() -> Place {
    with_holder(|holder| holder.place)
}

/// Whether the tabs of the site share the session, as in effect in this browser.
pub fn scope() -> TabScope {
    with_holder(|holder| holder.scope)
}

fn shared_state() -> TabState {
    with_holder(|holder| holder.state.clone())
}

/// Applies a response's `X-Session` header, given the token its request was sent with.
/// [`SessionRequest::finish`] calls it; for requests sent by other means use [`SessionRequest`]
/// too, which also keeps concurrent first requests from starting two sessions and reads the
/// session's deadline.
///
/// [`SessionRequest`]: crate::SessionRequest
/// [`SessionRequest::finish`]: crate::SessionRequest::finish
pub fn apply_response(sent: Option<&str>, header: Option<&str>) {
    apply(sent, header, None, requests_begun());
}

/// [`apply_response`] for the request numbered `began` ([`begin_request`]), with the session's
/// deadline on this browser's clock when the answer gave one.
pub(crate) fn apply(sent: Option<&str>, header: Option<&str>, expires: Option<f64>, began: u64) {
    enum Change {
        Token(TabState),
        Deadline(TabState),
    }
    let change = with_holder(|holder| {
        let mut held = holder.state.token.clone();
        // An answer to a request sent with the token the deadline timer just dropped still
        // counts: the server kept the session alive (a "Stay signed in" at the last second).
        if held.is_none() && sent.is_some() && sent == holder.expired.as_deref() {
            held = holder.expired.take();
        }
        let revived = held != holder.state.token;
        let next = next_token(held.as_deref(), sent, header);
        if next.is_none() && !revived {
            // A deadline counts only from an answer that carried the token held now.
            let fresh = header.is_some_and(|header| !header.is_empty()) && held.as_deref() == sent;
            let expires = expires.filter(|_| fresh)?;
            let moved = match holder.state.expires {
                None => true,
                // An answer overtaken by a later request's (a read answered before a "Stay
                // signed in" but delivered after it) must not bring an earlier deadline back.
                Some(before) if expires < before => {
                    before - expires >= 1_000.0 && began >= holder.deadline_from
                }
                Some(before) => expires - before >= 1_000.0,
            };
            if !moved {
                return None;
            }
            holder.state.expires = Some(expires);
            holder.deadline_from = holder.deadline_from.max(began);
            return Some(Change::Deadline(holder.state.clone()));
        }
        let token = next.unwrap_or(held);
        holder.expired = None;
        holder.deadline_from = holder.deadline_from.max(began);
        let stamp = Stamp::next_after(holder.seen);
        holder.seen = stamp;
        holder.state = TabState {
            expires: expires.filter(|_| token.is_some()),
            // Nobody, without a token; with a new one, whoever the application says.
            user: None,
            user_known: token.is_none(),
            token,
            stamp,
            changed_at: js_sys::Date::now(),
        };
        Some(Change::Token(holder.state.clone()))
    });
    match change {
        None => {}
        Some(Change::Deadline(state)) => {
            tabs::announce_deadline(state.stamp, state.expires);
            schedule_expiry();
            notify(&SessionEvent::ExpiresChanged(state.expires));
        }
        Some(Change::Token(state)) => {
            keep();
            tabs::announce(&state);
            schedule_expiry();
            wake_token_watchers();
            let replaced = sent.is_some() && state.token.is_some();
            notify(&SessionEvent::TokenChanged(state.token.clone()));
            if replaced {
                notify(&SessionEvent::TokenReplaced);
            }
            notify(&SessionEvent::ExpiresChanged(state.expires));
        }
    }
}

/// Keeps a copy of the token held, and when it changed, where a reload finds them; outside the
/// holder's borrow, since a history method may be wrapped by other scripts.
fn keep() {
    let (place, token, changed_at) = with_holder(|holder| {
        let state = &holder.state;
        (holder.place, state.token.clone(), state.changed_at)
    });
    place.write_changed(token.as_deref(), changed_at);
}

/// Takes another tab's state if it is newer than this tab's: a later change, or, between tabs
/// that know of no change, a token kept across a reload over none.
fn adopt(remote: TabState) {
    let change = with_holder(|holder| {
        holder.seen = holder.seen.max(remote.stamp);
        let mine = &holder.state;
        let newer = if remote.stamp.is_initial() && mine.stamp.is_initial() {
            // Tokens from before a reload, or none: the later-changed token, and any over none.
            match (&mine.token, &remote.token) {
                (None, Some(_)) => true,
                (Some(_), Some(_)) => {
                    (remote.changed_at, remote.stamp) > (mine.changed_at, mine.stamp)
                }
                _ => false,
            }
        } else {
            remote.stamp > mine.stamp
        };
        if !newer {
            return None;
        }
        let token_changed = remote.token != mine.token;
        let kept_changed = token_changed || remote.changed_at != mine.changed_at;
        let expires_changed = remote.expires != mine.expires;
        let user_changed =
            remote.user_known && (!mine.user_known || remote.user != mine.user || token_changed);
        holder.expired = None;
        // Only requests that begin from now on answer for the adopted deadline.
        holder.deadline_from = requests_begun() + 1;
        holder.state = remote.clone();
        Some((token_changed, kept_changed, expires_changed, user_changed))
    });
    let Some((token_changed, kept_changed, expires_changed, user_changed)) = change else {
        return;
    };
    schedule_expiry();
    if kept_changed {
        keep();
    }
    if token_changed {
        wake_token_watchers();
        notify(&SessionEvent::ChangedInAnotherTab(remote.token.clone()));
        notify(&SessionEvent::TokenChanged(remote.token));
    }
    if expires_changed {
        notify(&SessionEvent::ExpiresChanged(remote.expires));
    }
    if user_changed {
        notify(&SessionEvent::UserChanged(remote.user));
    }
}

/// Takes another tab's new deadline for the token this tab holds too (the same change of token,
/// by its stamp); a deadline never overrides a change of token.
fn adopt_deadline(stamp: Stamp, expires: Option<f64>) {
    let changed = with_holder(|holder| {
        let changed = holder.state.holds_change(stamp) && holder.state.expires != expires;
        if changed {
            holder.state.expires = expires;
            holder.deadline_from = requests_begun() + 1;
        }
        changed
    });
    if changed {
        schedule_expiry();
        notify(&SessionEvent::ExpiresChanged(expires));
    }
}

/// Takes another tab's word on who is logged in with the token this tab holds too (the same
/// change of token, by its stamp).
fn adopt_user(stamp: Stamp, user: Option<String>) {
    let changed = with_holder(|holder| {
        let state = &mut holder.state;
        let changed = state.holds_change(stamp) && (!state.user_known || state.user != user);
        if changed {
            state.user = user.clone();
            state.user_known = true;
        }
        changed
    });
    if changed {
        notify(&SessionEvent::UserChanged(user));
    }
}

/// Who is logged in with the token held now, as the application told this tab or another
/// ([`set_user`]): `Some(None)` for nobody, `None` while no tab has said since the token
/// changed. A tab that opens, or follows another tab's login, learns it without a request.
///
/// ```no_run
/// match cookieless_client::user() {
///     Some(Some(name)) => println!("logged in as {name}"),
///     Some(None) => println!("nobody is logged in"),
///     None => println!("ask the server"),
/// }
/// ```
pub fn user() -> Option<Option<String>> {
    with_holder(|holder| {
        let state = &holder.state;
        state.user_known.then(|| state.user.clone())
    })
}

/// Tells this tab and every other tab of the site who is logged in with the token held now (a
/// name, or whatever text the application describes its user with; `None` for nobody). It
/// holds until the token changes, and reaches the others as [`SessionEvent::UserChanged`].
/// Without a token nobody is logged in, whatever it says.
///
/// ```no_run
/// // After a login's answer, which brought the new token.
/// cookieless_client::set_user(Some("ada"));
/// ```
pub fn set_user(user: Option<&str>) {
    let changed = with_holder(|holder| {
        let state = &mut holder.state;
        let user = user.filter(|_| state.token.is_some());
        if state.user_known && state.user.as_deref() == user {
            return None;
        }
        state.user = user.map(str::to_string);
        state.user_known = true;
        Some((state.stamp, state.user.clone()))
    });
    let Some((stamp, user)) = changed else { return };
    tabs::announce_user(stamp, user.clone());
    notify(&SessionEvent::UserChanged(user));
}

/// Sets a timer for the session's deadline, replacing any earlier one.
fn schedule_expiry() {
    let deadline = with_holder(|holder| {
        holder.expiry = None;
        holder.state.expires
    });
    let Some(deadline) = deadline else { return };
    // setTimeout holds at most 2^31 - 1 ms (24.8 days); a later deadline is checked again then.
    let wait = (deadline - js_sys::Date::now()).clamp(0.0, f64::from(i32::MAX)) as u32;
    let timer = Timeout::new(wait, expire_if_due);
    with_holder(|holder| holder.expiry = Some(timer));
}

/// Forgets a token whose deadline passed. Every tab does so on its own timer, so this tab tells
/// no other: a tab that has just moved the deadline (and told the others) must win over it.
fn expire_if_due() {
    let due = with_holder(|holder| {
        holder.expiry = None;
        match holder.state.expires {
            Some(deadline) if js_sys::Date::now() >= deadline => {
                holder.expired = holder.state.token.take();
                holder.state.expires = None;
                holder.state.user = None;
                holder.state.user_known = true;
                Some(true)
            }
            Some(_) => Some(false),
            None => None,
        }
    });
    match due {
        Some(true) => {
            keep();
            wake_token_watchers();
            notify(&SessionEvent::TokenChanged(None));
            notify(&SessionEvent::ExpiresChanged(None));
            notify(&SessionEvent::Expired);
        }
        Some(false) => schedule_expiry(),
        None => {}
    }
}

/// Waits until the held token is no longer `sent`, for at most `wait`; returns the token held
/// then. A request refused because a rotation retired its token waits here for the answer (of
/// this tab or another) that brings the new one.
pub(crate) async fn replacement_of(sent: Option<&str>, wait: Duration) -> Option<String> {
    let until = js_sys::Date::now() + wait.as_millis() as f64;
    // This tab may have missed the change (it was frozen, or back from the page cache).
    tabs::ask_again();
    loop {
        let (held, watcher) = with_holder(|holder| {
            let held = holder.state.token.clone();
            if held.as_deref() != sent {
                return (held, None);
            }
            let (sender, receiver) = oneshot::channel();
            holder.token_watchers.push(sender);
            (held, Some(receiver))
        });
        let Some(watcher) = watcher else { return held };
        let left = until - js_sys::Date::now();
        if left <= 0.0 {
            return held;
        }
        if let Either::Right(_) = future::select(watcher, TimeoutFuture::new(left as u32)).await {
            return current();
        }
    }
}

fn wake_token_watchers() {
    let watchers = with_holder(|holder| std::mem::take(&mut holder.token_watchers));
    for watcher in watchers {
        let _ = watcher.send(());
    }
}

/// Tells the watchers that the server refused the request as unauthenticated.
pub fn report_unauthorized() {
    notify(&SessionEvent::Unauthorized);
}

/// Calls `listener` on every [`SessionEvent`] from now on.
pub fn subscribe(listener: impl Fn(&SessionEvent) + 'static) {
    with_holder(|holder| holder.listeners.push(Rc::new(listener)));
}

fn notify(event: &SessionEvent) {
    // Listeners run outside the borrow, so that they may read the token.
    let listeners = with_holder(|holder| holder.listeners.clone());
    for listener in listeners {
        listener(event);
    }
}
