//! The demo SPA: pages, and the pieces of page they share.

mod account;
mod auth;
mod config;
mod counter;
mod devices;
mod home;
mod nav;
mod notes;
mod notices;
mod rest;
mod session_panel;

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
use home::HomePage;
use nav::NavBar;
use notes::NotesPage;
use notices::{provide_notices, use_notices, NoticeList};

/// The whole app.
#[component]
pub fn App() -> impl IntoView {
    let config = config::Config::from_page();
    config.apply();
    let session = cookieless_client::provide_session();
    let notices = provide_notices();
    provide_context(Redirect(RwSignal::new(None)));

    if session.token.get_untracked().is_some() {
        // A token from before the reload: find out whose it is, and show what is waiting.
        spawn_local(async move {
            if let Ok(me) = api::get::<UserInfo>(paths::ME).await {
                session.user.set(Some(me.username));
            }
            notices.fetch_messages().await;
        });
    }

    view! {
        <Router>
            <SessionWatch />
            <NavBar />
            <main>
                <NoticeList />
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=HomePage />
                    <Route path=path!("/login") view=LoginPage />
                    <Route path=path!("/register") view=RegisterPage />
                    <Route path=path!("/devices") view=DevicesPage />
                    <Route path=path!("/notes") view=NotesPage />
                    <Route path=path!("/account") view=AccountPage />
                </Routes>
            </main>
        </Router>
    }
}

/// A request, from anywhere in the app, to go to another page.
#[derive(Clone, Copy)]
pub(crate) struct Redirect(RwSignal<Option<&'static str>>);

impl Redirect {
    /// The app's redirect; take it while rendering, since tasks spawned later have no context.
    pub(crate) fn use_redirect() -> Self {
        expect_context::<Redirect>()
    }

    pub(crate) fn go(self, path: &'static str) {
        self.0.set(Some(path));
    }
}

/// Follows redirects, and sends the user to the login page when the server ends a logged-in
/// session.
#[component]
fn SessionWatch() -> impl IntoView {
    let session = cookieless_client::use_session();
    let notices = use_notices();
    let redirect = expect_context::<Redirect>();
    let navigate = use_navigate();

    Effect::new(move |_| {
        if let Some(path) = redirect.0.get() {
            redirect.0.set(None);
            navigate(path, Default::default());
        }
    });
    Effect::new(move |_| {
        if session.ended.get() {
            session.ended.set(false);
            notices.push(
                Level::Warning,
                "Your session has ended. Please log in again.",
            );
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
