//! Requests with arbitrary headers, methods and paths never get a server error: whatever a
//! client sends, it is answered with a 2xx, 3xx or 4xx.

use axum::body::Body;
use clap::Parser;
use http::{HeaderName, HeaderValue, Method, Request};
use proptest::prelude::*;
use server::{App, Config};
use tower::ServiceExt;

fn app() -> (tokio::runtime::Runtime, axum::Router) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = Config::parse_from(["server", "--store", "memory"]);
    let app = runtime.block_on(App::build(&config)).unwrap();
    (runtime, app.router)
}

/// Bytes that a header value may hold (visible ASCII, space, tab and obs-text).
fn header_value() -> impl Strategy<Value = HeaderValue> {
    prop_oneof![
        proptest::collection::vec(
            prop_oneof![Just(b'\t'), 0x20u8..0x7f, 0x80u8..=0xff],
            0..120
        ),
        // Near-tokens: the right length and alphabet, mostly.
        "[A-Za-z0-9_=-]{40,50}".prop_map(String::into_bytes),
        "[A-Za-z0-9_-]{2000,3000}".prop_map(String::into_bytes),
    ]
    .prop_map(|bytes| HeaderValue::from_bytes(&bytes).unwrap())
}

fn header_name() -> impl Strategy<Value = HeaderName> {
    prop_oneof![
        Just(HeaderName::from_static("x-session")),
        Just(http::header::CONTENT_TYPE),
        Just(http::header::CONTENT_LENGTH),
        Just(http::header::USER_AGENT),
        Just(http::header::ORIGIN),
        Just(http::header::ACCEPT_ENCODING),
        Just(http::header::COOKIE),
        Just(HeaderName::from_static("x-forwarded-for")),
        "[a-z][a-z0-9-]{0,30}".prop_map(|name| HeaderName::from_bytes(name.as_bytes()).unwrap()),
    ]
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::GET),
        Just(Method::POST),
        Just(Method::PUT),
        Just(Method::DELETE),
        Just(Method::PATCH),
        Just(Method::OPTIONS),
        Just(Method::HEAD),
        "[A-Z]{1,10}".prop_map(|name| Method::from_bytes(name.as_bytes()).unwrap()),
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/api/counter".to_string()),
        Just("/api/counter/increment".to_string()),
        Just("/api/auth/login".to_string()),
        Just("/api/auth/me".to_string()),
        Just("/api/notes?page=18446744073709551616".to_string()),
        Just("/api/sessions/x".to_string()),
        Just("/healthz".to_string()),
        "/api/notes/[0-9a-z%]{0,30}".prop_map(String::from),
        "/api/notes\\?page=[0-9-]{0,25}".prop_map(String::from),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn no_request_gets_a_server_error(
        method in method(),
        path in path(),
        headers in proptest::collection::vec((header_name(), header_value()), 0..6),
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        thread_local! {
            static APP: (tokio::runtime::Runtime, axum::Router) = app();
        }
        APP.with(|(runtime, router)| {
            let mut request = Request::builder().method(method).uri(&path);
            for (name, value) in &headers {
                request = request.header(name, value);
            }
            let request = request.body(Body::from(body.clone())).unwrap();
            let response = runtime.block_on(router.clone().oneshot(request)).unwrap();
            prop_assert!(
                !response.status().is_server_error(),
                "{} for {path} with {headers:?}",
                response.status()
            );
            Ok(())
        })?;
    }
}
