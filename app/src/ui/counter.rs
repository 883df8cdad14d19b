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
    let show = move |result: Result<Counter, String>| match result {
        Ok(counter) => {
            value.set(Some(counter.value));
            error.set(None);
        }
        Err(message) => error.set(Some(message)),
    };
    spawn_local(async move {
        show(
            api::get::<Counter>(paths::COUNTER)
                .await
                .map_err(|e| e.to_string()),
        );
    });
    let increment = move |_| {
        spawn_local(async move {
            let result = api::post_empty::<Counter>(paths::COUNTER_INCREMENT).await;
            show(result.map_err(|e| e.to_string()));
        })
    };
    let reset = move |_| {
        spawn_local(async move {
            show(reset_counter().await.map_err(|e| e.to_string()));
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
