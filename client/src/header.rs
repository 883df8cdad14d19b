//! The `X-Session` header, and what a response's value of it does to the token the client holds
//! (`docs/protocol.md`).

/// The header the token travels in, on requests and responses alike.
pub const X_SESSION: &str = "X-Session";

/// The token the client should hold after a response, or `None` when the response changes nothing.
///
/// `sent` is the token the request carried, `held` the one held now, `header` the response's
/// `X-Session` value (`None` when absent). A response to a request sent with another token than
/// the one now held is stale: a login that rotated the token answered first, and acting on the
/// stale response would overwrite or clear the newer token.
pub fn next_token(
    held: Option<&str>,
    sent: Option<&str>,
    header: Option<&str>,
) -> Option<Option<String>> {
    let header = header?;
    if held != sent {
        return None;
    }
    let next = (!header.is_empty()).then(|| header.to_string());
    (next.as_deref() != held).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_token_replaces_the_held_one() {
        assert_eq!(
            next_token(None, None, Some("abc")),
            Some(Some("abc".into()))
        );
        assert_eq!(
            next_token(Some("abc"), Some("abc"), Some("def")),
            Some(Some("def".into()))
        );
    }

    #[test]
    fn an_empty_header_clears_and_no_header_keeps() {
        assert_eq!(next_token(Some("abc"), Some("abc"), Some("")), Some(None));
        assert_eq!(next_token(Some("abc"), Some("abc"), None), None);
        assert_eq!(next_token(None, None, Some("")), None);
    }

    #[test]
    fn the_same_token_is_no_change() {
        assert_eq!(next_token(Some("abc"), Some("abc"), Some("abc")), None);
    }

    #[test]
    fn stale_responses_are_ignored() {
        // Sent with the pre-login token; the login's answer already installed "new".
        assert_eq!(next_token(Some("new"), Some("old"), Some("")), None);
        assert_eq!(next_token(Some("new"), Some("old"), Some("other")), None);
        assert_eq!(next_token(Some("new"), None, Some("anon")), None);
    }
}
