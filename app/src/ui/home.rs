//! The home page: the counter and the session panel.

use cookieless_client::use_session;
use leptos::prelude::*;

use super::counter::CounterCard;
use super::session_panel::SessionPanel;

#[component]
pub fn HomePage() -> impl IntoView {
    let session = use_session();
    view! {
        <h1>{move || match super::signed_in::username(&session) {
            Some(username) => format!("Hello, {username}"),
            None => "Hello, visitor".to_string(),
        }}</h1>
        <div class="columns">
            <CounterCard />
            <SessionPanel />
        </div>
    }
}
