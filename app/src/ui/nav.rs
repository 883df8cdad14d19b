//! The bar at the top: where to go, who is logged in, and the way out.

use cookieless_client::use_session;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;

use super::notices::use_notices;
use super::rest as api;
use super::Redirect;
use crate::api::{paths, Level};

#[component]
pub fn NavBar() -> impl IntoView {
    let session = use_session();
    let notices = use_notices();
    let redirect = Redirect::use_redirect();
    let logout = move |_| {
        // Logged out on purpose before the answer clears the token, so that it is not reported
        // as a session that ended by itself.
        session.logged_out();
        spawn_local(async move {
            match api::post_empty::<()>(paths::LOGOUT).await {
                Ok(()) => notices.push(Level::Info, "You have logged out."),
                Err(error) => notices.push(Level::Error, format!("Logging out failed: {error}")),
            }
            redirect.go("/login");
        });
    };
    view! {
        <header class="topbar">
            <nav aria-label="Main">
                <A href="/">"Home"</A>
                {move || match super::signed_in::username(&session) {
                    Some(username) => view! {
                        <A href="/notes">"Notes"</A>
                        <A href="/devices">"Devices"</A>
                        <A href="/account">"Account"</A>
                        <span class="whoami">"Logged in as " <strong>{username}</strong></span>
                        <button type="button" class="secondary" on:click=logout>"Log out"</button>
                    }.into_any(),
                    None => view! {
                        <A href="/login">"Log in"</A>
                        <A href="/register">"Register"</A>
                    }.into_any(),
                }}
            </nav>
        </header>
    }
}
