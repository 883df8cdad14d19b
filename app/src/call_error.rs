//! What a call to the demo's API fails with, in the API's own words: a refusal comes with a
//! Django REST Framework style body, `{"detail": "..."}` about the request as a whole or
//! messages by field, `{"username": ["..."]}`.

use std::collections::BTreeMap;
use std::fmt;

use cookieless_client::api::ApiError;
use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::api::FieldErrors;

/// An answer outside 2xx, read as the demo's API words it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The answer's HTTP status.
    pub status: u16,
    /// Its `{"detail"}` message, about the request as a whole.
    pub detail: Option<String>,
    /// Its `{"code"}`, for refusals a client acts on (`reauthentication_required`).
    pub code: Option<String>,
    /// Its messages by field.
    pub fields: FieldErrors,
}

/// One member of an error body: a message, messages, or something this client does not show.
#[derive(Deserialize)]
#[serde(untagged)]
enum Member {
    Message(String),
    Messages(Vec<String>),
    Other(IgnoredAny),
}

impl Refusal {
    /// The refusal `error` reports, `None` when the server did not refuse. A body that is not a
    /// JSON object still gives a refusal, with no messages.
    pub fn from_error(error: &ApiError) -> Option<Self> {
        let status = error.status()?;
        let members: BTreeMap<String, Member> = error.body_json().unwrap_or_default();
        let (mut detail, mut code) = (None, None);
        let mut fields = FieldErrors::new();
        for (name, member) in members {
            match member {
                Member::Message(message) if name == "detail" => detail = Some(message),
                Member::Message(message) if name == "code" => code = Some(message),
                Member::Messages(messages) => {
                    fields.insert(name, messages);
                }
                Member::Message(_) | Member::Other(_) => {}
            }
        }
        Some(Refusal {
            status,
            detail,
            code,
            fields,
        })
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.detail {
            Some(detail) => f.write_str(detail),
            None => write!(f, "the server answered {}", self.status),
        }
    }
}

/// What went wrong with a call to the demo's API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallError {
    /// The server refused, and said why.
    Refused(Refusal),
    /// The call got no answer the server meant: the network, an unreadable answer, a body that
    /// could not be sent.
    Failed(ApiError),
}

impl From<ApiError> for CallError {
    fn from(error: ApiError) -> Self {
        match Refusal::from_error(&error) {
            Some(refusal) => CallError::Refused(refusal),
            None => CallError::Failed(error),
        }
    }
}

impl CallError {
    /// The answer's HTTP status, when the server refused.
    /// Whether the server wants the password entered again before it does this.
    pub fn needs_reauthentication(&self) -> bool {
        matches!(self, CallError::Refused(Refusal { status: 403, code: Some(code), .. }) if code == "reauthentication_required")
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            CallError::Refused(refusal) => Some(refusal.status),
            CallError::Failed(_) => None,
        }
    }

    /// The messages the server gave for `field`.
    pub fn field(&self, field: &str) -> &[String] {
        match self {
            CallError::Refused(refusal) => refusal.fields.get(field).map_or(&[], Vec::as_slice),
            CallError::Failed(_) => &[],
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Refused(refusal) => refusal.fmt(f),
            CallError::Failed(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for CallError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(status: u16, body: &str) -> CallError {
        CallError::from(ApiError::Status {
            status,
            body: body.into(),
        })
    }

    #[test]
    fn detail_errors_read_as_detail() {
        let error = refusal(401, r#"{"detail": "Invalid username or password."}"#);
        assert_eq!(error.status(), Some(401));
        assert_eq!(error.to_string(), "Invalid username or password.");
        assert!(error.field("username").is_empty());
    }

    #[test]
    fn a_request_for_the_password_again_is_recognised() {
        let asked = refusal(
            403,
            r#"{"detail": "Please confirm your password to continue.", "code": "reauthentication_required"}"#,
        );
        assert!(asked.needs_reauthentication());
        assert!(!refusal(403, r#"{"detail": "Forbidden."}"#).needs_reauthentication());
        assert!(!refusal(409, r#"{"code": "reauthentication_required"}"#).needs_reauthentication());
    }

    #[test]
    fn field_errors_read_by_field() {
        let error = refusal(400, r#"{"username": ["Too short.", "Bad characters."]}"#);
        assert_eq!(error.field("username"), ["Too short.", "Bad characters."]);
        assert_eq!(error.to_string(), "the server answered 400");
    }

    #[test]
    fn members_that_are_neither_are_passed_over() {
        let error = refusal(
            400,
            r#"{"title": ["Too long."], "count": 3, "detail": ["Odd."]}"#,
        );
        assert_eq!(error.field("title"), ["Too long."]);
        assert!(error.field("count").is_empty());
        assert_eq!(error.field("detail"), ["Odd."]);
        assert_eq!(error.to_string(), "the server answered 400");
    }

    #[test]
    fn bodies_that_are_not_json_still_give_a_status() {
        assert_eq!(refusal(502, "<html>").status(), Some(502));
    }

    #[test]
    fn calls_without_an_answer_say_what_failed() {
        let error = CallError::from(ApiError::Network("offline".into()));
        assert_eq!(error.status(), None);
        assert!(error.field("username").is_empty());
        assert_eq!(
            error.to_string(),
            "the server could not be reached: offline"
        );
    }
}
