//! Who is logged in, as every tab of the site that holds the same token shares it
//! ([`SessionSignals::user`]): a tab that follows another tab's login learns it without asking
//! the server.

use cookieless_client::SessionSignals;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::UserInfo;

/// What the SPA knows of its user.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignedIn {
    pub username: String,
    /// When the login ends however busy the session is, on this browser's clock (milliseconds
    /// since the epoch); only a new login goes past it.
    pub login_ends_at: Option<f64>,
}

impl SignedIn {
    /// From the server's answer to a login, a registration or `GET /api/auth/me`, received now.
    pub fn from_answer(info: UserInfo) -> Self {
        let login_ends_at = info
            .login_ends_in
            .map(|seconds| js_sys::Date::now() + seconds as f64 * 1_000.0);
        SignedIn {
            username: info.username,
            login_ends_at,
        }
    }

    /// What another tab shared; a bare name, as a tab of an older build shares, is a user too.
    fn read(shared: &str) -> Self {
        serde_json::from_str(shared).unwrap_or_else(|_| SignedIn {
            username: shared.to_string(),
            login_ends_at: None,
        })
    }
}

/// Who is logged in (tracked: a view that calls it follows every change).
pub fn signed_in(session: &SessionSignals) -> Option<SignedIn> {
    session.user.get().map(|shared| SignedIn::read(&shared))
}

/// The logged-in user's name (tracked).
pub fn username(session: &SessionSignals) -> Option<String> {
    signed_in(session).map(|user| user.username)
}

/// Records the server's word on who is logged in, here and in the site's other tabs.
pub fn remember(session: &SessionSignals, info: UserInfo) {
    let shared = serde_json::to_string(&SignedIn::from_answer(info)).ok();
    session.logged_in_as(shared);
}
