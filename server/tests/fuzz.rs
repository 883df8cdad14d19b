//! Requests with arbitrary headers, methods and paths never get a server error: whatever a
//! client sends, it is answered with a 2xx, 3xx or 4xx. In-process against the whole app, and
//! over the wire against the real binary.

mod common;

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
        Just("/api/fn/reset_counter".to_string()),
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

/// A request head as a client might write it: any method, path and header bytes but CR and LF.
fn raw_request() -> impl Strategy<Value = Vec<u8>> {
    let header_name = prop_oneof![
        Just("X-Session".to_string()),
        Just("Content-Length".to_string()),
        Just("Transfer-Encoding".to_string()),
        Just("Content-Type".to_string()),
        Just("X-Forwarded-For".to_string()),
        "[A-Za-z-]{1,20}",
    ];
    let header = (header_name, proptest::collection::vec(any::<u8>(), 0..80));
    (
        "(GET|POST|PUT|DELETE|[A-Z]{1,8})",
        "/(api/(counter|auth/login|notes|sessions/x|fn/reset_counter)|healthz|[a-z%0-9]{0,20})",
        proptest::collection::vec(header, 0..6),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(method, path, headers, body)| {
            let mut request = format!("{method} {path} HTTP/1.1\r\nHost: x\r\n").into_bytes();
            for (name, value) in headers {
                request.extend_from_slice(name.as_bytes());
                request.extend_from_slice(b": ");
                request.extend(
                    value
                        .into_iter()
                        .filter(|byte| !matches!(byte, b'\r' | b'\n')),
                );
                request.extend_from_slice(b"\r\n");
            }
            request.extend_from_slice(b"Connection: close\r\n\r\n");
            request.extend_from_slice(&body);
            request
        })
}

/// The same over the wire, against the real binary, with raw request heads, so that hyper's
/// parsing is fuzzed too: whatever comes back, if anything, is never a server error.
#[test]
fn no_raw_request_to_the_binary_gets_a_server_error() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    use proptest::test_runner::{Config, TestCaseError, TestRunner};

    let dir = tempfile::tempdir().unwrap();
    let server = common::ServerProcess::start(
        dir.path(),
        &[
            "--store",
            "memory",
            "--new-sessions-per-minute",
            "0",
            // A case that promises a body it never sends is answered within a second.
            "--body-timeout",
            "1s",
            "--header-timeout",
            "2s",
        ],
    );
    let address = server.base.trim_start_matches("http://").to_string();
    let mut runner = TestRunner::new(Config::with_cases(64));
    runner
        .run(&raw_request(), |request| {
            let mut stream = TcpStream::connect(&address).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            stream.write_all(&request).unwrap();
            let mut answer = Vec::new();
            // A connection closed on a request hyper would not parse is an answer too.
            let _ = stream.read_to_end(&mut answer);
            let head = String::from_utf8_lossy(&answer[..answer.len().min(12)]).to_string();
            if head.starts_with("HTTP/1.1 5") {
                return Err(TestCaseError::fail(format!(
                    "{head} for {:?}",
                    String::from_utf8_lossy(&request)
                )));
            }
            Ok(())
        })
        .unwrap();
    server.stop();
}
