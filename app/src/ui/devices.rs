//! The devices page: every browser the user is logged in on, and the way to log them out.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::notices::use_notices;
use super::password_dialog::use_password_check;
use super::rest as api;
use crate::api::{paths, Level, SessionSummary};
use crate::time::short_time;

#[component]
pub fn DevicesPage() -> impl IntoView {
    let notices = use_notices();
    let sessions = RwSignal::new(None::<Vec<SessionSummary>>);
    let reload = move || {
        spawn_local(async move {
            match api::get::<Vec<SessionSummary>>(paths::SESSIONS).await {
                Ok(list) => sessions.set(Some(list)),
                Err(error) => notices.push(
                    Level::Error,
                    format!("The devices could not be listed: {error}"),
                ),
            }
        })
    };
    reload();
    let password_check = use_password_check();
    let end = move |id: String| {
        spawn_local(async move {
            let path = format!("{}/{id}", paths::SESSIONS);
            let ended = password_check.confirmed(|| api::delete::<()>(&path)).await;
            match ended {
                Some(Ok(())) => notices.push(Level::Success, "That device is logged out."),
                None => {}
                Some(Err(error)) => notices.push(
                    Level::Error,
                    format!("That device could not be logged out: {error}"),
                ),
            }
            reload();
        })
    };
    let end_others = move |_| {
        spawn_local(async move {
            let ended = password_check
                .confirmed(|| api::post_empty::<()>(paths::REVOKE_OTHER_SESSIONS))
                .await;
            match ended {
                Some(Ok(())) => notices.push(Level::Success, "Every other device is logged out."),
                None => {}
                Some(Err(error)) => notices.push(
                    Level::Error,
                    format!("The other devices could not be logged out: {error}"),
                ),
            }
            reload();
        })
    };
    view! {
        <h1>"Devices"</h1>
        <section class="card" aria-labelledby="devices-heading">
            <h2 id="devices-heading">"Where you are logged in"</h2>
            <p>"Each browser or device you log in on has a session of its own. Log out the ones you do not recognise."</p>
            {move || match sessions.get() {
                None => view! { <p>"Loading…"</p> }.into_any(),
                Some(list) => view! {
                    <ul class="devices">
                        {list.into_iter().map(|session| view! { <DeviceItem session=session on_end=end /> }).collect_view()}
                    </ul>
                }.into_any(),
            }}
            <div class="actions">
                <button type="button" class="secondary" on:click=end_others>"Log out all other devices"</button>
            </div>
        </section>
    }
}

#[component]
fn DeviceItem(session: SessionSummary, on_end: impl Fn(String) + Copy + 'static) -> impl IntoView {
    let name = session
        .device_name
        .clone()
        .or_else(|| session.user_agent.clone())
        .unwrap_or_else(|| "Unknown browser".into());
    let item_label = if session.current {
        format!("{name}, this device")
    } else {
        name.clone()
    };
    let id = session.id.clone();
    view! {
        <li class="device" aria-label=item_label>
            <div>
                <p class="device-name">
                    <span title=session.user_agent.clone()>{name}</span>
                    {session.current.then(|| view! { <span class="device-badge">"This device"</span> })}
                </p>
                <p class="device-times">
                    "Logged in " <time datetime=session.created.clone()>{short_time(&session.created)}</time>
                    ", last active " <time datetime=session.last_seen.clone()>{short_time(&session.last_seen)}</time>
                </p>
            </div>
            {(!session.current).then(|| view! {
                <button type="button" on:click=move |_| on_end(id.clone())>"Log out this device"</button>
            })}
        </li>
    }
}
