//! The rules a new account must meet, checked by the server and offered to the client so that it
//! can say what is wrong before it asks.

use crate::api::{Credentials, FieldErrors, NoteInput};

pub const USERNAME_MIN: usize = 3;
pub const USERNAME_MAX: usize = 32;
pub const PASSWORD_MIN: usize = 8;
/// Hashing cost grows with the input; nobody types a password longer than this.
pub const PASSWORD_MAX: usize = 1024;

pub fn username_errors(username: &str) -> Vec<String> {
    let length = username.chars().count();
    let mut errors = Vec::new();
    if username.is_empty() {
        errors.push("This field is required.".to_string());
        return errors;
    }
    if !(USERNAME_MIN..=USERNAME_MAX).contains(&length) {
        errors.push(format!("Use {USERNAME_MIN} to {USERNAME_MAX} characters."));
    }
    if !username
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        errors.push("Use only lowercase letters a-z, digits and underscores.".to_string());
    }
    errors
}

pub fn password_errors(password: &str) -> Vec<String> {
    let length = password.chars().count();
    if password.is_empty() {
        vec!["This field is required.".to_string()]
    } else if length < PASSWORD_MIN {
        vec![format!("Use at least {PASSWORD_MIN} characters.")]
    } else if length > PASSWORD_MAX {
        vec![format!("Use at most {PASSWORD_MAX} characters.")]
    } else {
        Vec::new()
    }
}

pub const NOTE_TITLE_MAX: usize = 200;
pub const NOTE_BODY_MAX: usize = 10_000;

/// Every rule a note breaks, by field; empty when it may be saved.
pub fn note_errors(note: &NoteInput) -> FieldErrors {
    let mut errors = FieldErrors::new();
    let title = note.title.trim().chars().count();
    if title == 0 {
        errors.insert("title".into(), vec!["This field may not be blank.".into()]);
    } else if title > NOTE_TITLE_MAX {
        errors.insert(
            "title".into(),
            vec![format!("Use at most {NOTE_TITLE_MAX} characters.")],
        );
    }
    if note.body.chars().count() > NOTE_BODY_MAX {
        errors.insert(
            "body".into(),
            vec![format!("Use at most {NOTE_BODY_MAX} characters.")],
        );
    }
    errors
}

/// Every rule a registration breaks, by field; empty when it may go ahead.
pub fn registration_errors(credentials: &Credentials) -> FieldErrors {
    [
        ("username", username_errors(&credentials.username)),
        ("password", password_errors(&credentials.password)),
    ]
    .into_iter()
    .filter(|(_, errors)| !errors.is_empty())
    .map(|(field, errors)| (field.to_string(), errors))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(username: &str, password: &str) -> Credentials {
        Credentials {
            username: username.into(),
            password: password.into(),
        }
    }

    #[test]
    fn notes_need_a_title_and_fit_the_limits() {
        let note = |title: &str, body: &str| NoteInput {
            title: title.into(),
            body: body.into(),
        };
        assert!(note_errors(&note("Groceries", "")).is_empty());
        assert!(note_errors(&note(&"t".repeat(200), &"b".repeat(10_000))).is_empty());
        assert!(note_errors(&note("  ", "")).contains_key("title"));
        assert!(note_errors(&note(&"t".repeat(201), "")).contains_key("title"));
        assert!(note_errors(&note("ok", &"b".repeat(10_001))).contains_key("body"));
    }

    #[test]
    fn good_registrations_pass() {
        assert!(registration_errors(&credentials("ada_99", "correct horse")).is_empty());
        assert!(registration_errors(&credentials("abc", "12345678")).is_empty());
        assert!(registration_errors(&credentials(&"a".repeat(32), "12345678")).is_empty());
    }

    #[test]
    fn each_broken_rule_is_named_by_field() {
        let errors = registration_errors(&credentials("Ad", "short"));
        assert_eq!(errors["username"].len(), 2);
        assert_eq!(errors["password"], ["Use at least 8 characters."]);
        let errors = registration_errors(&credentials("", ""));
        assert_eq!(errors["username"], ["This field is required."]);
        assert_eq!(errors["password"], ["This field is required."]);
        assert!(
            registration_errors(&credentials(&"a".repeat(33), "12345678")).contains_key("username")
        );
        assert!(
            registration_errors(&credentials("ad\u{e9}le", "12345678")).contains_key("username")
        );
        assert!(
            registration_errors(&credentials("adele", &"p".repeat(1025))).contains_key("password")
        );
    }
}
