//! A browser app on a configured origin may send and read `X-Session`; no other origin may.

mod common;

use axum::body::Body;
use axum::http::{header, Request};
use common::{Fixture, Target, Transport};
use cookieless::cors_layer;

const ALLOWED: &str = "http://app.example:8080";

async fn app(transport: Transport) -> Target {
    let fixture = Fixture::memory().await;
    let router = common::app(fixture.layer()).layer(cors_layer([ALLOWED.parse().unwrap()]));
    transport.serve(router).await
}

fn preflight(origin: &str) -> Request<Body> {
    Request::options("/counter")
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "x-session,content-type",
        )
        .body(Body::empty())
        .unwrap()
}

fn post_from(origin: &str) -> Request<Body> {
    Request::post("/counter")
        .header(header::ORIGIN, origin)
        .body(Body::empty())
        .unwrap()
}

async fn a_configured_origin_may_send_and_read_the_header(transport: Transport) {
    let app = app(transport).await;
    let reply = app.call(preflight(ALLOWED)).await;
    assert!(reply.status.is_success());
    assert_eq!(reply.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], ALLOWED);
    let allowed = reply.headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("x-session"), "{allowed}");
    assert!(reply
        .headers
        .get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
        .is_none());

    let reply = app.call(post_from(ALLOWED)).await;
    reply.token();
    assert_eq!(reply.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], ALLOWED);
    let exposed = reply.headers[header::ACCESS_CONTROL_EXPOSE_HEADERS]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    // The deadline, and the server's clock to read it by.
    let exposed: Vec<_> = exposed.split(',').map(str::trim).collect();
    for name in ["x-session", "x-session-expires", "date"] {
        assert!(exposed.contains(&name), "{name} in {exposed:?}");
    }
}

/// Without `Access-Control-Allow-Origin` naming it, a browser shows the caller nothing of the
/// response, whatever else the response says.
async fn other_origins_are_neither_allowed_nor_echoed(transport: Transport) {
    let app = app(transport).await;
    for origin in ["http://evil.example", "http://app.example:8081", "null"] {
        for request in [preflight(origin), post_from(origin)] {
            let reply = app.call(request).await;
            assert!(
                reply
                    .headers
                    .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                    .is_none(),
                "{origin} was allowed"
            );
        }
    }
}

mod oneshot {
    use super::*;

    #[tokio::test]
    async fn a_configured_origin_may_send_and_read_the_header() {
        super::a_configured_origin_may_send_and_read_the_header(Transport::Oneshot).await
    }

    #[tokio::test]
    async fn other_origins_are_neither_allowed_nor_echoed() {
        super::other_origins_are_neither_allowed_nor_echoed(Transport::Oneshot).await
    }
}

mod http {
    use super::*;

    #[tokio::test]
    async fn a_configured_origin_may_send_and_read_the_header() {
        super::a_configured_origin_may_send_and_read_the_header(Transport::Http).await
    }

    #[tokio::test]
    async fn other_origins_are_neither_allowed_nor_echoed() {
        super::other_origins_are_neither_allowed_nor_echoed(Transport::Http).await
    }
}
