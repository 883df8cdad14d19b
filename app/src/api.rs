//! Request and response bodies of the demo's JSON API.

use serde::{Deserialize, Serialize};

/// `POST /api/auth/register` and `POST /api/auth/login`.
///
/// Missing fields read as empty, so that the server answers them with a field error rather than
/// a parse error.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
}

/// Who is logged in: the answer to login, registration and `GET /api/auth/me`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub username: String,
    /// Seconds until the login ends however busy the session is (the session's absolute
    /// deadline): only a new login (or another rotation) goes past it. `None` from a server
    /// that does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_ends_in: Option<u64>,
}

/// `GET /api/session/transport`: how the session token travels (`header-only` or
/// `header-or-cookie`), so that the SPA knows whether a plain link carries the session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionTransport {
    pub transport: String,
}

impl SessionTransport {
    /// Whether a link the browser follows by itself carries the session.
    pub fn links_carry_the_session(&self) -> bool {
        self.transport == "header-or-cookie"
    }
}

/// `POST /api/auth/confirm`: the logged-in user's password, entered again before a sensitive
/// action.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordConfirmation {
    #[serde(default)]
    pub password: String,
}

/// `POST /api/auth/password`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordChange {
    #[serde(default)]
    pub current_password: String,
    #[serde(default)]
    pub new_password: String,
}

/// One of the user's sessions (`GET /api/sessions`): a device or browser they are logged in on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSummary {
    /// A public identifier, for `DELETE /api/sessions/{id}`; it cannot be used as a token.
    pub id: String,
    /// RFC 3339, UTC.
    pub created: String,
    /// RFC 3339, UTC.
    pub last_seen: String,
    /// The User-Agent header as the browser sent it (the session layer keeps its first 256 bytes).
    pub user_agent: Option<String>,
    /// The browser and system read from `user_agent` ("Chrome 156 on Linux"), if known.
    #[serde(default)]
    pub device_name: Option<String>,
    /// Whether this is the session that asked.
    pub current: bool,
}

/// A note as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub id: u64,
    pub title: String,
    pub body: String,
    /// RFC 3339, UTC.
    pub created: String,
    /// RFC 3339, UTC.
    pub updated: String,
}

/// `POST /api/notes` and `PUT /api/notes/{id}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteInput {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub body: String,
}

/// One page of a list, as Django REST Framework pages them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// How many items there are on all pages.
    pub count: u64,
    /// The next page's URL, if there is one.
    pub next: Option<String>,
    /// The previous page's URL, if there is one.
    pub previous: Option<String>,
    pub results: Vec<T>,
}

/// `GET /api/counter` and `POST /api/counter/increment`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counter {
    pub value: u64,
}

/// A one-shot notice, shown once and then gone (`GET /api/messages`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub level: Level,
    pub text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Success,
    Info,
    Warning,
    Error,
}

/// The body of an error that concerns the request as a whole: `{"detail": "..."}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub detail: String,
}

/// The body of a validation error: messages by field name, `{"username": ["..."]}`.
pub type FieldErrors = std::collections::BTreeMap<String, Vec<String>>;

/// Names of the values the demo keeps in a session, for the server side of the REST API and of
/// the server functions alike.
pub mod session_keys {
    pub const COUNTER: &str = "counter";
}

/// The demo's routes, for the client to call and the server to serve.
pub mod paths {
    pub const REGISTER: &str = "/api/auth/register";
    pub const LOGIN: &str = "/api/auth/login";
    pub const LOGOUT: &str = "/api/auth/logout";
    pub const ME: &str = "/api/auth/me";
    pub const COUNTER: &str = "/api/counter";
    pub const COUNTER_INCREMENT: &str = "/api/counter/increment";
    pub const MESSAGES: &str = "/api/messages";
    pub const PASSWORD: &str = "/api/auth/password";
    pub const CONFIRM: &str = "/api/auth/confirm";
    pub const SESSIONS: &str = "/api/sessions";
    pub const REVOKE_OTHER_SESSIONS: &str = "/api/sessions/revoke-others";
    pub const TOUCH_SESSION: &str = "/api/session/touch";
    pub const SESSION_TRANSPORT: &str = "/api/session/transport";
    pub const NOTES_EXPORT: &str = "/api/notes/export";
    /// The notes as a page rendered by the server, to read or print.
    pub const NOTES_PRINTABLE: &str = "/api/notes/printable";
    pub const NOTES: &str = "/api/notes";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_lowercase_on_the_wire() {
        let message = Message {
            level: Level::Success,
            text: "hi".into(),
        };
        assert_eq!(
            serde_json::to_string(&message).unwrap(),
            r#"{"level":"success","text":"hi"}"#
        );
    }

    #[test]
    fn missing_credentials_read_as_empty() {
        let credentials: Credentials = serde_json::from_str("{}").unwrap();
        assert_eq!(credentials, Credentials::default());
    }
}
