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
//! Each tab keeps its own copy for its reloads; sharing the token between tabs is the tab
//! scope's business (below), not the place's.
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
//! # Every tab, one session
//!
//! Under [`TabScope::Shared`], the default, every open tab of the site holds the same token, as
//! they would share a session cookie, with no storage shared between them: a tab that opens asks the others
//! over a `BroadcastChannel` (waiting at most [`ASK_WAIT`]), a change in one tab (a login, a
//! rotation, a logout, a session the server ended) reaches the others at once, and the token is
//! gone once the last tab closes. The protocol's rules hold across tabs: an answer to a request
//! sent with a token that any tab has since replaced is ignored, and while no tab holds a token
//! only one write in all of them may start the session. A browser without `BroadcastChannel`
//! gets [`TabScope::PerTab`], which [`scope`] reports; ask for it with [`install_with_scope`]
//! to keep one session per tab (two accounts side by side).
//!
//! # When the session ends
//!
//! Every answer that carries the token says when the session dies unless it is used again
//! (`X-Session-Expires`); [`expires`] gives it on the browser's clock, corrected for a server
//! clock that disagrees. When it passes, every tab forgets the token on its own timer, without a
//! request, and says so ([`SessionEvent::Expired`]); a browser may run a hidden tab's timers
//! late, never early.
//!
//! **XSS caveat.** Any script running in the page can read the token wherever it is kept, memory
//! included, just as it could make requests with an `HttpOnly` cookie. Header tokens remove CSRF;
//! they do not protect against XSS. Keep a strict Content-Security-Policy and escape output.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
// The overview above links to the `leptos` feature's items, which a build without it lacks.
#![cfg_attr(not(feature = "leptos"), allow(rustdoc::broken_intra_doc_links))]

// Kept in layers, so that no two modules depend on each other: each uses only modules of an
// earlier layer. `header` (the protocol's rules), `storage` (where a token can be kept) and
// `tabs` (the channel between the site's tabs); `tokens` (the page's one token); `request` (when
// a request may leave); the clients `api` and `server_fn_client`, and the `leptos` signals.
pub mod api;
mod header;
#[cfg(feature = "leptos")]
mod leptos;
mod request;
#[cfg(feature = "leptos")]
mod server_fn_client;
mod storage;
mod tabs;
mod tokens;

pub use header::{is_rotation_refusal, local_deadline, next_token, X_SESSION, X_SESSION_EXPIRES};
#[cfg(feature = "leptos")]
pub use leptos::{provide_session, use_session, SessionSignals};
pub use request::{Answer, SessionRequest, ROTATION_WAIT};
#[cfg(feature = "leptos")]
pub use server_fn_client::SessionClient;
pub use storage::{cookies_work, Place, StoragePolicy};
pub use tabs::{TabScope, ASK_WAIT, CHANNEL, START_WAIT};
pub use tokens::{
    apply_response, current, expires, install, install_with_scope, place, ready,
    report_unauthorized, scope, set_user, subscribe, user, SessionEvent,
};

// The README's examples are compiled with the doctests, so that they keep up with the API; one
// of them declares a server function.
#[cfg(all(doctest, feature = "leptos"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
