//! The demo SPA: pages, and the pieces of page they share.

mod account;
mod auth;
mod config;
mod counter;
mod devices;
mod expiry_warning;
mod home;
mod login_gate;
mod nav;
mod notes;
mod notes_download;
mod notices;
mod password_dialog;
mod rest;
mod session_panel;
mod signed_in;

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::hooks::use_navigate;
use leptos_router::path;

use self::rest as api;
use crate::api::{paths, Level, UserInfo};
use account::AccountPage;
use auth::{LoginPage, RegisterPage};
use devices::DevicesPage;
use expiry_warning::ExpiryWarning;
use home::HomePage;
use login_gate::{provide_user_check, RequireLogin, UserCheck};
use nav::NavBar;
use notes::NotesPage;
use notices::{provide_notices, use_notices, NoticeList};
use password_dialog::{provide_password_check, PasswordDialog};

/// The whole app.
#[component]
pub fn App() -> impl IntoView {
    let config = config::Config::from_page();
    config.apply();
    let session = cookieless_client::provide_session();
    let notices = provide_notices();
    let check = provide_user_check();
    provide_password_check();
    provide_context(Redirect(RwSignal::new(None)));

    spawn_local(async move {
        // The token from before a reload, or the one the site's other tabs hold: find out whose
        // it is (the other tabs say, if they know), and show what is waiting.
        cookieless_client::ready().await;
        if session.token.get_untracked().is_some() {
            if cookieless_client::user().is_none() {
                learn_who_is_logged_in(session, check).await;
            }
            notices.fetch_messages().await;
        }
        check.known.set(true);
    });
    // A login in another tab: this tab is logged in too, as whoever that tab says. Should it
    // not say (a tab of an older build), this tab asks the server.
    cookieless_client::subscribe(move |event| {
        if let cookieless_client::SessionEvent::ChangedInAnotherTab(Some(token)) = event {
            let token = token.clone();
            set_timeout(
                move || {
                    let unsaid = cookieless_client::user().is_none();
                    if unsaid && cookieless_client::current().as_ref() == Some(&token) {
                        spawn_local(learn_who_is_logged_in(session, check));
                    }
                },
                OTHER_TAB_SAYS_WHO,
            );
        }
    });

    view! {
        <Router>
            <SessionWatch />
            <NavBar />
            <main>
                <ExpiryWarning />
                <NoticeList />
                <PasswordDialog />
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=HomePage />
                    <Route path=path!("/login") view=LoginPage />
                    <Route path=path!("/register") view=RegisterPage />
                    <Route path=path!("/devices") view=|| view! {
                        <RequireLogin to_see="your devices" here="/devices"><DevicesPage /></RequireLogin>
                    } />
                    <Route path=path!("/notes") view=|| view! {
                        <RequireLogin to_see="your notes" here="/notes"><NotesPage /></RequireLogin>
                    } />
                    <Route path=path!("/account") view=|| view! {
                        <RequireLogin to_see="your account" here="/account"><AccountPage /></RequireLogin>
                    } />
                </Routes>
            </main>
        </Router>
    }
}

/// How long after another tab's change of token this tab waits for that tab to say who holds
/// it, before it asks the server.
const OTHER_TAB_SAYS_WHO: std::time::Duration = std::time::Duration::from_secs(1);

async fn learn_who_is_logged_in(session: cookieless_client::SessionSignals, check: UserCheck) {
    if let Ok(me) = api::get::<UserInfo>(paths::ME).await {
        signed_in::remember(&session, me);
    }
    check.known.set(true);
}

/// A request, from anywhere in the app, to go to another page.
#[derive(Clone, Copy)]
pub(crate) struct Redirect(RwSignal<Option<String>>);

impl Redirect {
    /// The app's redirect; take it while rendering, since tasks spawned later have no context.
    pub(crate) fn use_redirect() -> Self {
        expect_context::<Redirect>()
    }

    pub(crate) fn go(self, path: impl Into<String>) {
        self.0.set(Some(path.into()));
    }
}

/// Follows redirects, and sends the user to the login page when a logged-in session ends: the
/// server ended it, its deadline passed, or another tab logged out.
#[component]
fn SessionWatch() -> impl IntoView {
    let session = cookieless_client::use_session();
    let notices = use_notices();
    let redirect = expect_context::<Redirect>();
    let navigate = use_navigate();

    Effect::new(move |_| {
        if let Some(path) = redirect.0.get() {
            redirect.0.set(None);
            navigate(&path, Default::default());
        }
    });
    Effect::new(move |_| {
        if session.ended.get() {
            session.ended.set(false);
            notices.push(
                Level::Warning,
                "Your session has ended. Please log in again.",
            );
            redirect.go(login_returning_here());
        }
    });
    Effect::new(move |_| {
        if session.logged_out_elsewhere.get() {
            session.logged_out_elsewhere.set(false);
            notices.push(Level::Info, "You were logged out in another tab.");
            redirect.go("/login");
        }
    });
}

#[component]
fn NotFound() -> impl IntoView {
    view! {
        <section class="card">
            <h1>"Page not found"</h1>
            <p>"There is no page at this address. " <A href="/">"Go to the home page"</A></p>
        </section>
    }
}

/// The login page, coming back to the page shown now once logged in.
fn login_returning_here() -> String {
    let here = web_sys::window()
        .and_then(|window| window.location().pathname().ok())
        .unwrap_or_default();
    crate::return_to::login_then(&here)
}
