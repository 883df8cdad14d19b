//! A minimal Leptos app whose REST calls and server function share one cookieless session.
//!
//! It shows the demo's per-session counter: the page reads it with [`api::get`] and "Increment"
//! raises it with [`api::post_empty`], both over REST; "Reset" calls a Leptos server function
//! whose client is [`SessionClient`]. All three carry the same `X-Session` token, so the reset
//! clears what the increments counted.
//!
//! It talks to the demo server of this repository (`server/`), which serves these routes. To run
//! it, from the repository root, with wasm-bindgen-cli at the version of the wasm-bindgen crate
//! in `Cargo.lock`:
//!
//! ```sh
//! cargo build -p cookieless-client --example leptos_counter \
//!     --target wasm32-unknown-unknown --features leptos
//! wasm-bindgen --target web --no-typescript --out-dir target/leptos_counter \
//!     target/wasm32-unknown-unknown/debug/examples/leptos_counter.wasm
//! cp client/examples/leptos_counter/index.html target/leptos_counter/
//! cargo run -p server -- --store memory --static-dir target/leptos_counter
//! ```
//!
//! and open <http://127.0.0.1:3000>. The `index.html` next to this file loads the JavaScript
//! wasm-bindgen wrote, which starts `main`; the server serves it and the API from one origin, so
//! no base URL or CORS is needed.

use cookieless_client::{api, install, provide_session, SessionClient, StoragePolicy};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::{Deserialize, Serialize};

/// The demo's counter, as `GET /api/counter` and its server function answer it.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct Counter {
    value: u64,
}

/// Sets the session's counter back to zero.
///
/// Only the client half is built here: in a browser build `#[server]` keeps the signature and
/// sends the call to `/api/fn/reset_counter` through [`SessionClient`]. The demo server answers
/// it with its own declaration of this function (`app/src/server_fns.rs`), whose body removes
/// the counter from the session; a body written here would run only in a server build.
#[server(prefix = "/api/fn", endpoint = "reset_counter", client = SessionClient)]
async fn reset_counter() -> Result<Counter, ServerFnError> {
    Ok(Counter { value: 0 })
}

#[component]
fn App() -> impl IntoView {
    let session = provide_session();
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
            api::get::<Counter>("/api/counter")
                .await
                .map_err(|error| error.to_string()),
        );
    });
    let increment = move |_| {
        spawn_local(async move {
            let result = api::post_empty::<Counter>("/api/counter/increment").await;
            show(result.map_err(|error| error.to_string()));
        })
    };
    let reset = move |_| {
        spawn_local(async move {
            show(reset_counter().await.map_err(|error| error.to_string()));
        })
    };
    view! {
        <h1>"cookieless-client: a counter in the session"</h1>
        <p>
            "Counter: "
            <output>{move || value.get().map_or_else(|| "…".to_string(), |value| value.to_string())}</output>
        </p>
        <button type="button" on:click=increment>"Increment"</button>
        <button type="button" on:click=reset>"Reset"</button>
        <p>
            {move || match session.token.get() {
                Some(_) => format!("In a session; the token is kept in {}.", session.place.label()),
                None => "No session yet: the first increment starts one.".to_string(),
            }}
        </p>
        {move || error.get().map(|message| view! { <p role="alert">{message}</p> })}
    }
}

fn main() {
    install(StoragePolicy::Auto);
    leptos::mount::mount_to_body(App);
}
