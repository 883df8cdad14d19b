//! What the session looks like from the browser: the header flow made visible.

use cookieless_client::{cookies_work, use_session};
use leptos::prelude::*;

use crate::token::shorten;

#[component]
pub fn SessionPanel() -> impl IntoView {
    let session = use_session();
    let cookies = if cookies_work() {
        "accepted"
    } else {
        "blocked"
    };
    view! {
        <aside class="card session-panel" aria-labelledby="session-heading">
            <h2 id="session-heading">"Session"</h2>
            <dl>
                <dt>"Token"</dt>
                <dd>{move || session.token.get().map_or_else(|| "none".to_string(), |token| format!("held ({})", shorten(&token)))}</dd>
                <dt>"Kept in"</dt>
                <dd>{session.place.label()}</dd>
                <dt>"Tabs"</dt>
                <dd>{session.scope.label()}</dd>
                <dt>"Ends"</dt>
                <dd>{move || session.expires.get().map_or_else(|| "unknown".to_string(), local_time)}</dd>
                <dt>"Cookies in this browser"</dt>
                <dd>{cookies}</dd>
                <dt>"Logged in as"</dt>
                <dd>{move || super::signed_in::username(&session).unwrap_or_else(|| "nobody".to_string())}</dd>
            </dl>
            <p class="hint">
                "Every API call carries the token in its X-Session header. No cookie is used."
            </p>
        </aside>
    }
}

/// A moment on this browser's clock, as the reader's locale writes a time of day.
fn local_time(millis: f64) -> String {
    let date = js_sys::Date::new(&millis.into());
    String::from(date.to_locale_time_string("default"))
}
