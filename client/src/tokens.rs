//! The one place that holds the session token in this page.
//!
//! Memory is the source of truth while the page lives; the chosen [`Place`] keeps a copy so that a
//! reload can pick the token up again.

use std::cell::RefCell;
use std::rc::Rc;

use crate::header::next_token;
use crate::storage::{carry_token_across_history, Place, StoragePolicy};

/// Something that happened to the session, for whoever watches it (a UI, for instance).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionEvent {
    /// The token changed: a new one, or none.
    TokenChanged(Option<String>),
    /// The server answered a request made with a token by handing out a different one: it
    /// rotated the session (a login) or no longer knew the token and started a new session.
    TokenReplaced,
    /// The server answered 401: whatever this client thought, it is not logged in.
    Unauthorized,
}

type Listener = Rc<dyn Fn(&SessionEvent)>;

struct Holder {
    place: Place,
    token: Option<String>,
    listeners: Vec<Listener>,
}

thread_local! {
    static HOLDER: RefCell<Option<Holder>> = const { RefCell::new(None) };
}

fn with_holder<R>(f: impl FnOnce(&mut Holder) -> R) -> R {
    HOLDER.with(|holder| {
        let mut holder = holder.borrow_mut();
        let holder = holder.get_or_insert_with(|| Holder::new(StoragePolicy::Auto, Vec::new()));
        f(holder)
    })
}

/// Chooses where the token is kept and picks up a token an earlier load of the page kept there.
/// Call it once, before the first request; without it the policy is [`StoragePolicy::Auto`].
/// Returns where the token is actually kept: the policy's own place where the browser allows
/// it, else a fallback (see [`Place::for_policy`]).
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
    HOLDER.with(|holder| {
        let listeners = holder
            .borrow_mut()
            .take()
            .map(|old| old.listeners)
            .unwrap_or_default();
        let installed = Holder::new(policy, listeners);
        let place = installed.place;
        *holder.borrow_mut() = Some(installed);
        place
    })
}

impl Holder {
    fn new(policy: StoragePolicy, listeners: Vec<Listener>) -> Self {
        let place = Place::probe(policy);
        if place == Place::HistoryState {
            carry_token_across_history(current);
        }
        Holder {
            place,
            token: place.read(),
            listeners,
        }
    }
}

/// The token held now.
pub fn current() -> Option<String> {
    with_holder(|holder| holder.token.clone())
}

/// Where the token is kept.
pub fn place() -> Place {
    with_holder(|holder| holder.place)
}

/// Applies a response's `X-Session` header, given the token its request was sent with.
/// [`SessionRequest::finish`] calls it; for requests sent by other means use [`SessionRequest`]
/// too, which also keeps concurrent first requests from starting two sessions.
///
/// [`SessionRequest`]: crate::SessionRequest
/// [`SessionRequest::finish`]: crate::SessionRequest::finish
pub fn apply_response(sent: Option<&str>, header: Option<&str>) {
    let change = with_holder(|holder| {
        let next = next_token(holder.token.as_deref(), sent, header)?;
        holder.token = next.clone();
        holder.place.write(next.as_deref());
        Some(next)
    });
    if let Some(token) = change {
        let replaced = sent.is_some() && token.is_some();
        notify(&SessionEvent::TokenChanged(token));
        if replaced {
            notify(&SessionEvent::TokenReplaced);
        }
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
