//! CORS for a browser app served from another origin than the API.

use std::time::Duration;

use http::header::{ACCEPT, CONTENT_TYPE, DATE};
use http::{HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::finish::X_SESSION_EXPIRES;
use crate::request_header::X_SESSION;

/// Lets exactly the listed origins send `X-Session` and read it (and `X-Session-Expires`, and
/// the `Date` to read the deadline by) back from responses.
///
/// A browser hides response headers from cross-origin scripts unless they are exposed, and refuses
/// to send a custom request header unless the preflight allows it, so both are needed. Origins are
/// matched exactly; there is no wildcard and no echo of an unlisted origin. An empty list allows no
/// cross-origin caller at all.
///
/// Put it outside the session layer, so that preflight requests are answered before any session
/// work:
///
/// ```
/// use axum::{routing::get, Router};
/// use cookieless::{cors_layer, MemoryStore, SessionLayer};
/// use tower::ServiceBuilder;
///
/// # fn main() -> Result<(), http::header::InvalidHeaderValue> {
/// let app = ServiceBuilder::new()
///     .layer(cors_layer(["https://app.example.com".parse()?]))
///     .layer(SessionLayer::new(MemoryStore::new()))
///     .service(Router::<()>::new().route("/api/me", get(|| async { "me" })));
/// # Ok(()) }
/// ```
pub fn cors_layer(origins: impl IntoIterator<Item = HeaderValue>) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([X_SESSION.clone(), CONTENT_TYPE, ACCEPT])
        .expose_headers([X_SESSION.clone(), X_SESSION_EXPIRES.clone(), DATE])
        // Without it, browsers send a preflight before every call with the header.
        .max_age(Duration::from_secs(600))
}
