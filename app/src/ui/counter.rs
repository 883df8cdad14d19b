//! The per-session counter: incremented over REST, reset by a server function, so that both
//! paths are seen to carry the same session.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::rest as api;
use crate::api::{paths, Counter};
use crate::server_fns::reset_counter;

#[component]
pub fn CounterCard() -> impl IntoView {
    let value = RwSignal::new(None::<u64>);
    let error = RwSignal::new(None::<String>);
    // Answers may come back out of order (the first read and a quick first click leave together
    // once the other tabs have answered): only the answer to the latest request sent is shown.
    let sent = StoredValue::new(0_u64);
    let send = move || {
        sent.update_value(|sent| *sent += 1);
        sent.get_value()
    };
    let show = move |request: u64, result: Result<Counter, String>| {
        if request != sent.get_value() {
            return;
        }
        match result {
            Ok(counter) => {
                value.set(Some(counter.value));
                error.set(None);
            }
            Err(message) => error.set(Some(message)),
        }
    };
    let request = send();
    spawn_local(async move {
        let result = api::get::<Counter>(paths::COUNTER).await;
        show(request, result.map_err(|e| e.to_string()));
    });
    let increment = move |_| {
        let request = send();
        spawn_local(async move {
            let result = api::post_empty::<Counter>(paths::COUNTER_INCREMENT).await;
            show(request, result.map_err(|e| e.to_string()));
        })
    };
    let reset = move |_| {
        let request = send();
        spawn_local(async move {
            show(request, reset_counter().await.map_err(|e| e.to_string()));
        })
    };
    view! {
        <section class="card" aria-labelledby="counter-heading">
            <h2 id="counter-heading">"Counter"</h2>
            <p>
                "This counter lives in your session on the server. It works before you log in and keeps its value when you do."
            </p>
            <p class="counter">
                <span id="counter-label">"Value"</span>
                <output aria-labelledby="counter-label">
                    {move || value.get().map_or_else(|| "…".to_string(), |value| value.to_string())}
                </output>
            </p>
            <div class="actions">
                <button type="button" on:click=increment>"Increment"</button>
                <button type="button" class="secondary" on:click=reset>"Reset"</button>
            </div>
            {move || error.get().map(|message| view! { <p class="error" role="alert">{message}</p> })}
        </section>
    }
}
