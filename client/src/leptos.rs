//! The session as Leptos signals, so that a UI reacts when the server ends the session.

use leptos::prelude::*;

use crate::storage::Place;
use crate::tabs::TabScope;
use crate::tokens::{self, SessionEvent};

/// The session as the UI sees it. Copy it freely; get it with [`use_session`].
#[cfg_attr(docsrs, doc(cfg(feature = "leptos")))]
#[derive(Clone, Copy)]
pub struct SessionSignals {
    /// The token held now.
    pub token: ReadSignal<Option<String>>,
    /// Who is logged in, as the application said in this tab or another
    /// ([`SessionSignals::logged_in_as`]): a name, or whatever text it describes its user with.
    pub user: ReadSignal<Option<String>>,
    set_user: WriteSignal<Option<String>>,
    /// Set when a logged-in session ended without the user asking: the server cleared the token,
    /// replaced it with a new one, or answered 401 (a logout elsewhere), or its deadline passed.
    /// The application shows it and clears it. A login must therefore start from a logged-out
    /// state ([`SessionSignals::logged_out`]), since its rotation replaces the token too.
    pub ended: RwSignal<bool>,
    /// Set when another tab of the site logged out: this tab's user is cleared too, and the
    /// application shows its login page. The application clears it. (Another tab's login
    /// reaches [`SessionSignals::user`] by itself, once that tab has said who logged in.)
    pub logged_out_elsewhere: RwSignal<bool>,
    /// When the session dies unless used again, on this browser's clock (milliseconds since
    /// the Unix epoch, as `Date.now()` counts); see [`crate::expires`].
    pub expires: ReadSignal<Option<f64>>,
    /// Where the token is kept.
    pub place: Place,
    /// Whether the site's tabs share the session, as in effect in this browser.
    pub scope: TabScope,
    /// How many requests that rotate the token on purpose are on their way.
    rotating: StoredValue<usize>,
}

/// Creates the session signals, keeps them in step with the token holder, and provides them as
/// context. Call it once, near the root, after [`crate::install`].
///
/// ```no_run
/// use cookieless_client::{install, provide_session, use_session, StoragePolicy};
/// use leptos::prelude::*;
///
/// #[component]
/// fn App() -> impl IntoView {
///     install(StoragePolicy::Auto);
///     provide_session();
///     view! { <SessionBadge /> }
/// }
///
/// #[component]
/// fn SessionBadge() -> impl IntoView {
///     let session = use_session();
///     move || match session.token.get() {
///         Some(_) => "in a session",
///         None => "no session yet",
///     }
/// }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "leptos")))]
pub fn provide_session() -> SessionSignals {
    let (token, set_token) = signal(tokens::current());
    let (expires, set_expires) = signal(tokens::expires());
    let (user, set_user) = signal(tokens::user().flatten());
    let ended = RwSignal::new(false);
    let logged_out_elsewhere = RwSignal::new(false);
    let rotating = StoredValue::new(0_usize);
    tokens::subscribe(move |event| {
        let lost = match event {
            SessionEvent::TokenChanged(next) => {
                set_token.set(next.clone());
                next.is_none()
            }
            SessionEvent::ExpiresChanged(next) => {
                set_expires.set(*next);
                false
            }
            SessionEvent::ChangedInAnotherTab(None) => {
                if user.get_untracked().is_some() {
                    set_user.set(None);
                    logged_out_elsewhere.set(true);
                }
                false
            }
            // Who holds the new token comes with it, or just after ([`SessionEvent::UserChanged`]).
            SessionEvent::ChangedInAnotherTab(Some(_)) => false,
            SessionEvent::UserChanged(next) => {
                // This tab clears its user before it says so: only another tab's word ends a
                // session here (the server ended it there).
                if next.is_none() && user.get_untracked().is_some() {
                    ended.set(true);
                }
                if user.get_untracked() != *next {
                    set_user.set(next.clone());
                }
                false
            }
            SessionEvent::TokenReplaced if rotating.get_value() > 0 => {
                // The same user, under the new token: the other tabs hear it.
                tokens::set_user(user.get_untracked().as_deref());
                false
            }
            SessionEvent::TokenReplaced | SessionEvent::Unauthorized | SessionEvent::Expired => {
                true
            }
        };
        if lost && user.get_untracked().is_some() {
            set_user.set(None);
            ended.set(true);
            tokens::set_user(None);
        }
    });
    let session = SessionSignals {
        token,
        user,
        set_user,
        ended,
        logged_out_elsewhere,
        expires,
        place: tokens::place(),
        scope: tokens::scope(),
        rotating,
    };
    provide_context(session);
    session
}

/// The signals [`provide_session`] provided.
///
/// # Panics
///
/// When called outside a component below the one that called [`provide_session`].
#[cfg_attr(docsrs, doc(cfg(feature = "leptos")))]
pub fn use_session() -> SessionSignals {
    expect_context::<SessionSignals>()
}

impl SessionSignals {
    /// Runs `request`, which rotates the token on purpose while the same user stays logged in
    /// (a password change): the new token it brings is not reported as an ended session.
    ///
    /// ```no_run
    /// # async fn change_password() {}
    /// # fn demo(session: cookieless_client::SessionSignals) {
    /// leptos::task::spawn_local(async move {
    ///     session.rotating(change_password()).await;
    /// });
    /// # }
    /// ```
    pub async fn rotating<T>(&self, request: impl std::future::Future<Output = T>) -> T {
        self.rotating.update_value(|count| *count += 1);
        // Counted down however the request ends, dropped half-way included.
        let _rotation = Rotation(self.rotating);
        request.await
    }

    /// Records who logged in (a login's answer, or the server asked who holds the token), here
    /// and in every other tab of the site that holds the same token ([`crate::set_user`]).
    ///
    /// ```no_run
    /// # fn demo(session: cookieless_client::SessionSignals) {
    /// session.logged_in_as(Some("ada".to_string()));
    /// # }
    /// ```
    pub fn logged_in_as(&self, user: Option<String>) {
        tokens::set_user(user.as_deref());
        // What the holder took: without a token (it died meanwhile), nobody.
        self.set_user.set(tokens::user().flatten());
    }

    /// Records that the user logged out on purpose (or is about to log in as someone, which
    /// rotates the token), so that losing the token is not reported as an ended session. The
    /// other tabs hear of it with the change of token that follows, not before.
    pub fn logged_out(&self) {
        self.set_user.set(None);
        self.ended.set(false);
        self.logged_out_elsewhere.set(false);
    }
}

/// One request that rotates the token on purpose, on its way.
struct Rotation(StoredValue<usize>);

impl Drop for Rotation {
    fn drop(&mut self) {
        self.0
            .try_update_value(|count| *count = count.saturating_sub(1));
    }
}
