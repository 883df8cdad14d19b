//! The demo's shared half: the JSON API's types and input rules (used by client and server), the
//! server functions, and with the `csr` feature the Leptos UI.

pub mod api;
pub mod call_error;
pub mod return_to;
pub mod server_fns;
pub mod time;
pub mod token;
pub mod validation;

#[cfg(feature = "csr")]
pub mod ui;
