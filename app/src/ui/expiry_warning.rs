//! The warning that a logged-in session is about to end, with the way to keep it.

use std::time::Duration;

use cookieless_client::use_session;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;

use super::notices::use_notices;
use super::rest as api;
use super::signed_in::signed_in;
use crate::api::{paths, Level};
use crate::return_to::login_then;

/// How long before the session's end the warning shows.
const WARN_BEFORE: f64 = 2.0 * 60_000.0;

#[component]
pub fn ExpiryWarning() -> impl IntoView {
    let session = use_session();
    let notices = use_notices();
    let now = RwSignal::new(js_sys::Date::now());
    if let Ok(ticking) =
        set_interval_with_handle(move || now.set(js_sys::Date::now()), Duration::from_secs(1))
    {
        on_cleanup(move || ticking.clear());
    }
    // The login's own end, which only a new login moves, as the server said at the login; or,
    // where a tab did not share it, as learned when staying signed in left the end where it was.
    let unmovable = RwSignal::new(None::<f64>);
    let pending = RwSignal::new(false);
    let left = move || {
        session.user.get()?;
        let left = session.expires.get()? - now.get();
        (left > 0.0 && left <= WARN_BEFORE).then_some(left)
    };
    let stay = move |_| {
        let before = session.expires.get_untracked();
        pending.set(true);
        spawn_local(async move {
            match api::post_empty::<()>(paths::TOUCH_SESSION).await {
                Ok(()) => {
                    let after = session.expires.get_untracked();
                    let moved = match (before, after) {
                        (Some(before), Some(after)) => after > before + 1_000.0,
                        _ => true,
                    };
                    if !moved {
                        unmovable.set(after);
                    }
                }
                Err(error) => notices.push(
                    Level::Error,
                    format!("The session could not be extended: {error}"),
                ),
            }
            pending.set(false);
        });
    };
    move || {
        let left = left()?;
        let when = in_words(left);
        let here = web_sys::window()
            .and_then(|window| window.location().pathname().ok())
            .unwrap_or_default();
        let login_ends_at = signed_in(&session).and_then(|user| user.login_ends_at);
        let at_the_end = match (login_ends_at.or(unmovable.get()), session.expires.get()) {
            // The same deadline, give or take the second the server's clock is read to.
            (Some(end), Some(expires)) => expires >= end - 2_000.0,
            _ => false,
        };
        let view = if at_the_end {
            view! {
                <p>
                    {format!("Your session ends {when} and cannot be extended. ")}
                    <A href=login_then(&here)>"Log in again"</A>
                    " to keep working."
                </p>
            }
            .into_any()
        } else {
            view! {
                <p>{format!("Your session ends {when}.")}</p>
                <button type="button" on:click=stay disabled=move || pending.get()>
                    "Stay signed in"
                </button>
            }
            .into_any()
        };
        Some(view! { <section class="notice warning expiry-warning" role="alert">{view}</section> })
    }
}

/// "in 2 minutes", "in 45 seconds": how long `millis` is, as the warning says it.
fn in_words(millis: f64) -> String {
    let seconds = (millis / 1_000.0).ceil() as u64;
    if seconds > 60 {
        let minutes = seconds.div_ceil(60);
        format!("in {minutes} minutes")
    } else if seconds == 60 {
        "in 1 minute".to_string()
    } else if seconds == 1 {
        "in 1 second".to_string()
    } else {
        format!("in {seconds} seconds")
    }
}
