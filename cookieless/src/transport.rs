//! How the token travels between client and server: the `X-Session` header always, and with
//! [`Transport::HeaderOrCookie`] a cookie as well, for browsers that follow links by themselves.

use std::borrow::Cow;

use axum::response::{IntoResponse, Response};
use http::header::{COOKIE, HOST, ORIGIN, SET_COOKIE};
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::error::json_error_with_code;
use crate::request_header::{Presented, X_SESSION};
use crate::token::Token;

/// How the session token travels. The default, [`Transport::HeaderOnly`], never reads or sets a
/// cookie, and is CSRF-free by construction: a browser never attaches the header by itself.
///
/// [`Transport::HeaderOrCookie`] also keeps the token in a cookie, as Django's session middleware
/// does beside the header in the setup this library comes from: pages the server renders and
/// links the browser follows by itself (a download) then carry the session too. The cookie is
/// `HttpOnly`, `Secure`, `SameSite=Lax`, `Path=/`, has no expiry of its own (it ends with the
/// browser session; the server's deadlines still apply), and is cleared whenever the header tells
/// the client to forget its token. A request with both uses the header. Since a browser does
/// attach a cookie by itself, a request whose token came from the cookie must show that it comes
/// from the app's own pages on every unsafe method (`Sec-Fetch-Site: same-origin`, or an `Origin`
/// naming the host it was sent to); otherwise it is answered
/// `403 {"detail", "code": "cross_site_request"}` before its handler runs.
///
/// ```
/// use cookieless::{MemoryStore, SessionLayer, Transport};
///
/// let layer = SessionLayer::new(MemoryStore::default()).with_transport(Transport::header_or_cookie());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transport {
    /// The `X-Session` header only: no cookie, ever.
    #[default]
    HeaderOnly,
    /// The header, or else the cookie named `cookie_name`.
    HeaderOrCookie {
        /// The cookie's name; `__Host-` prefixed by default, which binds it to the host, `Path=/`
        /// and `Secure`.
        cookie_name: Cow<'static, str>,
    },
}

/// The `code` of the answer to an unsafe request whose cookie token came from another site.
pub const CROSS_SITE_REQUEST: &str = "cross_site_request";

impl Transport {
    /// The cookie's name unless one is given.
    pub const DEFAULT_COOKIE_NAME: &'static str = "__Host-session";

    /// The header, or else the cookie [`Transport::DEFAULT_COOKIE_NAME`].
    ///
    /// ```
    /// use cookieless::Transport;
    ///
    /// assert_eq!(Transport::header_or_cookie().cookie_name(), Some("__Host-session"));
    /// assert_eq!(Transport::HeaderOnly.cookie_name(), None);
    /// ```
    pub fn header_or_cookie() -> Self {
        Self::header_or_cookie_named(Self::DEFAULT_COOKIE_NAME)
    }

    /// The header, or else the cookie `name` (keep it `__Host-` prefixed where the app is served
    /// over HTTPS, or from `localhost`).
    ///
    /// ```
    /// use cookieless::Transport;
    ///
    /// let transport = Transport::header_or_cookie_named("__Host-shop");
    /// assert_eq!(transport.cookie_name(), Some("__Host-shop"));
    /// ```
    ///
    /// # Panics
    ///
    /// When `name` is not a cookie name (RFC 6265: visible ASCII without separators such as
    /// `;`, `=`, `,` or spaces), which would let it add attributes to the cookie.
    pub fn header_or_cookie_named(name: impl Into<Cow<'static, str>>) -> Self {
        let cookie_name = name.into();
        assert!(
            is_cookie_name(&cookie_name),
            "{cookie_name:?} is not a cookie name"
        );
        Transport::HeaderOrCookie { cookie_name }
    }

    /// The cookie the token may travel in, if any.
    pub fn cookie_name(&self) -> Option<&str> {
        match self {
            Transport::HeaderOnly => None,
            Transport::HeaderOrCookie { cookie_name } => Some(cookie_name),
        }
    }

    /// The token in the request's cookie, when the transport has one and the request sent no
    /// header: `None` when there is no such cookie. Two cookies of the name are no token.
    pub(crate) fn read_cookie(&self, headers: &HeaderMap) -> Option<Presented> {
        let name = self.cookie_name()?.as_bytes();
        // Bytes, not text: a cookie of another app on the domain may hold anything, and must not
        // hide this one.
        let mut found = headers
            .get_all(COOKIE)
            .iter()
            .flat_map(|cookies| cookies.as_bytes().split(|byte| *byte == b';'))
            .map(<[u8]>::trim_ascii)
            .filter_map(|pair| {
                let equals = pair.iter().position(|byte| *byte == b'=')?;
                Some((&pair[..equals], &pair[equals + 1..]))
            })
            .filter(|(key, _)| *key == name)
            .map(|(_, value)| value);
        let value = found.next()?;
        if found.next().is_some() {
            return Some(Presented::Malformed);
        }
        Some(match Token::parse(value) {
            Some(token) => Presented::Token(token),
            None if value.is_empty() => Presented::Nothing,
            None => Presented::Malformed,
        })
    }

    /// Mirrors the answer's `X-Session` into the cookie: set to the token, or cleared.
    pub(crate) fn set_cookie(&self, response: &mut Response) {
        let Some(name) = self.cookie_name() else {
            return;
        };
        let Some(token) = response.headers().get(&X_SESSION) else {
            return;
        };
        let cookie = match token.to_str() {
            Ok("") => format!("{name}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax"),
            Ok(token) => format!("{name}={token}; Path=/; HttpOnly; Secure; SameSite=Lax"),
            Err(_) => return,
        };
        if let Ok(cookie) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(SET_COOKIE, cookie);
        }
    }
}

/// A token of RFC 6265's cookie-name grammar.
fn is_cookie_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&byte))
}

/// Whether a request shows that it comes from the app's own pages: `Sec-Fetch-Site:
/// same-origin`, or, from a browser that does not send that, an `Origin` whose host and port are
/// the ones the request was sent to.
pub(crate) fn from_own_pages(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes() == b"same-origin";
    }
    let (Some(origin), Some(host)) = (headers.get(ORIGIN), headers.get(HOST)) else {
        return false;
    };
    let (Ok(origin), Ok(host)) = (origin.to_str(), host.to_str()) else {
        return false;
    };
    origin
        .split_once("://")
        .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
}

/// The answer to an unsafe request that carried the session in its cookie from another site.
pub(crate) fn cross_site_refusal() -> Response {
    json_error_with_code(
        StatusCode::FORBIDDEN,
        "This request came from another site and carried the session cookie; it was refused.",
        CROSS_SITE_REQUEST,
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn the_cookie_is_read_only_by_a_transport_that_has_one() {
        let token = Token::generate();
        let cookie = format!("theme=dark; __Host-session={}", token.as_str());
        let request = headers(&[("cookie", &cookie)]);
        assert!(Transport::HeaderOnly.read_cookie(&request).is_none());
        let Some(Presented::Token(read)) = Transport::header_or_cookie().read_cookie(&request)
        else {
            panic!("no token read from the cookie");
        };
        assert_eq!(read.as_str(), token.as_str());
        let twice = headers(&[("cookie", &cookie), ("cookie", &cookie)]);
        assert!(matches!(
            Transport::header_or_cookie().read_cookie(&twice),
            Some(Presented::Malformed)
        ));
        let mut foreign = HeaderMap::new();
        let bytes = format!("other=\u{e9}t\u{e9}; __Host-session={}", token.as_str());
        foreign.insert("cookie", HeaderValue::from_bytes(bytes.as_bytes()).unwrap());
        assert!(matches!(
            Transport::header_or_cookie().read_cookie(&foreign),
            Some(Presented::Token(_))
        ));
        let junk = headers(&[("cookie", "__Host-session=<script>")]);
        assert!(matches!(
            Transport::header_or_cookie().read_cookie(&junk),
            Some(Presented::Malformed)
        ));
    }

    #[test]
    fn cookie_names_are_checked() {
        assert!(is_cookie_name("__Host-session"));
        for bad in ["", "a b", "a;b", "a=b", "sess\u{e9}"] {
            assert!(!is_cookie_name(bad), "{bad:?}");
        }
        let refused =
            std::panic::catch_unwind(|| Transport::header_or_cookie_named("x; Domain=evil"));
        assert!(refused.is_err());
    }

    #[test]
    fn own_pages_are_told_by_fetch_metadata_or_origin() {
        assert!(from_own_pages(&headers(&[(
            "sec-fetch-site",
            "same-origin"
        )])));
        assert!(!from_own_pages(&headers(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://app.example"),
            ("host", "app.example"),
        ])));
        assert!(from_own_pages(&headers(&[
            ("origin", "http://app.example:8080"),
            ("host", "app.example:8080"),
        ])));
        assert!(!from_own_pages(&headers(&[
            ("origin", "http://evil.example"),
            ("host", "app.example"),
        ])));
        assert!(!from_own_pages(&headers(&[
            ("origin", "null"),
            ("host", "app.example")
        ])));
        assert!(!from_own_pages(&headers(&[("host", "app.example")])));
    }
}
