//! Leptos server functions. Their client is `cookieless_client::SessionClient`, so they carry the
//! session exactly as the REST calls do, and their server side reads the same `Session`.
//!
//! Each has an explicit endpoint: the default one hashes the crate's path, which differs between
//! the browser build and the server build.

use leptos::prelude::*;

use crate::api::Counter;

/// Where every server function is served.
pub const PREFIX: &str = "/api/fn";

/// Sets the visitor's counter back to zero.
#[server(prefix = "/api/fn", endpoint = "reset_counter", client = cookieless_client::SessionClient)]
pub async fn reset_counter() -> Result<Counter, ServerFnError> {
    let session: cookieless::Session = leptos_axum::extract().await?;
    session
        .remove::<u64>(crate::api::session_keys::COUNTER)
        .await
        .map_err(ServerFnError::new)?;
    Ok(Counter { value: 0 })
}
