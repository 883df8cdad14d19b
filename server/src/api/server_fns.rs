//! The app's Leptos server functions, served under the same session layer as the REST API.

use app::server_fns::{ResetCounter, PREFIX};
use axum::routing::post;
use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    // Registered by name, so that the server functions are linked in whatever the linker keeps.
    leptos::server_fn::axum::register_explicit::<ResetCounter>();
    Router::new().route(
        &format!("{PREFIX}/{{*name}}"),
        post(leptos_axum::handle_server_fns),
    )
}
