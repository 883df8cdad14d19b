//! The browser side of cookieless sessions.
//!
//! The server hands out a session token in the `X-Session` response header and expects it back in
//! the `X-Session` request header (`docs/protocol.md`). This crate is the one place in a web app
//! that holds that token: [`api`] sends it with every REST call and picks up every answer's
//! header; with the `leptos` feature, [`SessionClient`] does the same for Leptos server
//! functions, and [`provide_session`] exposes the session as signals. Until a session exists,
//! both send one writing request at a time ([`SessionRequest`]), so that concurrent first requests
//! start one session, not several.
//!
//! # Where the token is kept
//!
//! | Policy | Survives a reload | Other tabs | Where cookies are blocked |
//! | --- | --- | --- | --- |
//! | [`StoragePolicy::SessionStorage`] | yes | no (per tab) | unavailable: the browser blocks Web Storage too |
//! | [`StoragePolicy::HistoryState`] | yes | no (per history entry of this tab) | works |
//! | [`StoragePolicy::Memory`] | no | no | works |
//! | [`StoragePolicy::Auto`] (default) | yes where either of the first two works | no | history.state |
//!
//! `HistoryState` keeps the token in `history.state` of the current entry, which other sites
//! cannot read. It is stamped whenever the token changes; `pushState` and `replaceState` are
//! wrapped so that every new entry a router makes carries it too, and going back or forward
//! stamps the held token into the entry the user lands on. No router cooperation is needed.
//!
//! Never used, on purpose: `localStorage` (shared across tabs and kept forever), cookies (the
//! point of the exercise, and CSRF), the URL (leaks through history, logs and Referer) and
//! `window.name` (survives a navigation to another site, which can read it).
//!
//! **XSS caveat.** Any script running in the page can read the token wherever it is kept, memory
//! included, just as it could make requests with an `HttpOnly` cookie. Header tokens remove CSRF;
//! they do not protect against XSS. Keep a strict Content-Security-Policy and escape output.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
// The overview above links to the `leptos` feature's items, which a build without it lacks.
#![cfg_attr(not(feature = "leptos"), allow(rustdoc::broken_intra_doc_links))]

// Kept in layers, so that no two modules depend on each other: each uses only modules of an
// earlier layer. `header` (the protocol's rules) and `storage` (where a token can be kept);
// `tokens` (the page's one token); `request` (when a request may leave); the clients `api` and
// `server_fn_client`, and the `leptos` signals.
pub mod api;
mod header;
#[cfg(feature = "leptos")]
mod leptos;
mod request;
#[cfg(feature = "leptos")]
mod server_fn_client;
mod storage;
mod tokens;

pub use header::{next_token, X_SESSION};
#[cfg(feature = "leptos")]
pub use leptos::{provide_session, use_session, SessionSignals};
pub use request::{SessionRequest, START_WAIT};
#[cfg(feature = "leptos")]
pub use server_fn_client::SessionClient;
pub use storage::{cookies_work, Place, StoragePolicy};
pub use tokens::{
    apply_response, current, install, place, report_unauthorized, subscribe, SessionEvent,
};

// The README's examples are compiled with the doctests, so that they keep up with the API; one
// of them declares a server function.
#[cfg(all(doctest, feature = "leptos"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
