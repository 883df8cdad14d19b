//! Reading the request's `X-Session` header: where a token is taken from (with
//! `Transport::HeaderOrCookie`, the cookie too, when the header is absent or empty).

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderName, StatusCode};

use crate::error::json_error;
use crate::token::Token;

/// The one header that carries the session token, both ways.
pub static X_SESSION: HeaderName = HeaderName::from_static("x-session");

/// Longer values are refused with 431 rather than treated as a bad token.
pub(crate) const MAX_HEADER_LEN: usize = 1024;

/// What the request's `X-Session` header said.
#[derive(Clone, Debug)]
pub(crate) enum Presented {
    Nothing,
    /// A header that could not be a token of ours: it is never looked up.
    Malformed,
    Token(Token),
}

/// A request the layer answers itself, without running the handler.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    SeveralTokens,
    HeaderTooLarge,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::SeveralTokens => json_error(
                StatusCode::BAD_REQUEST,
                "Send at most one X-Session header, holding one token.",
            ),
            Refusal::HeaderTooLarge => json_error(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "The X-Session header is too large.",
            ),
        }
    }
}

/// Reads the request's `X-Session` header. The query string and the body are never consulted;
/// the cookie is read elsewhere (`Transport::read_cookie`), and only when this finds nothing.
pub(crate) fn read_request(headers: &HeaderMap) -> Result<Presented, Refusal> {
    let mut values = headers.get_all(&X_SESSION).iter();
    let Some(value) = values.next() else {
        return Ok(Presented::Nothing);
    };
    if values.next().is_some() {
        return Err(Refusal::SeveralTokens);
    }
    let bytes = value.as_bytes();
    if bytes.len() > MAX_HEADER_LEN {
        return Err(Refusal::HeaderTooLarge);
    }
    if let Some(token) = Token::from_header(value) {
        return Ok(Presented::Token(token));
    }
    // Neither a comma nor whitespace can be part of a token, so these are only looked for in
    // headers that are not one.
    if bytes.contains(&b',') {
        return Err(Refusal::SeveralTokens);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Presented::Nothing);
    }
    Ok(Presented::Malformed)
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(&X_SESSION, HeaderValue::from_bytes(value).unwrap());
        }
        headers
    }

    #[test]
    fn reading_the_header() {
        assert!(matches!(
            read_request(&headers(&[])),
            Ok(Presented::Nothing)
        ));
        assert!(matches!(
            read_request(&headers(&[b""])),
            Ok(Presented::Nothing)
        ));
        let token = Token::generate();
        assert!(matches!(
            read_request(&headers(&[token.as_str().as_bytes()])),
            Ok(Presented::Token(t)) if t == token
        ));
        assert!(matches!(
            read_request(&headers(&[b"not a token"])),
            Ok(Presented::Malformed)
        ));
        assert!(matches!(
            read_request(&headers(&[b"caf\xe9caf\xe9caf\xe9caf\xe9caf\xe9caf\xe9"])),
            Ok(Presented::Malformed)
        ));
        assert!(matches!(
            read_request(&headers(&["a".repeat(200).as_bytes()])),
            Ok(Presented::Malformed)
        ));
        assert_eq!(
            read_request(&headers(&["a".repeat(MAX_HEADER_LEN + 1).as_bytes()])).err(),
            Some(Refusal::HeaderTooLarge)
        );
        let two = format!("{}, {}", token.as_str(), Token::generate().as_str());
        assert_eq!(
            read_request(&headers(&[two.as_bytes()])).err(),
            Some(Refusal::SeveralTokens)
        );
        assert_eq!(
            read_request(&headers(&[
                token.as_str().as_bytes(),
                token.as_str().as_bytes()
            ]))
            .err(),
            Some(Refusal::SeveralTokens)
        );
    }
}
