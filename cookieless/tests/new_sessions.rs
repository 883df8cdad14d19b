//! The budget of new sessions per client address: a flood of tokenless writes is refused before
//! it reaches the handler or the store, and nothing else is.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use common::{request, Fixture, Reply, Target, Transport};
use cookieless::store::Token;
use cookieless::{ClientAddress, NewSessionLimit, SessionLayer};

/// A limit of `burst` sessions at once, refilled at one a second.
fn limit(burst: u32) -> NewSessionLimit {
    NewSessionLimit::per_minute(60).unwrap().with_burst(burst)
}

fn app(layer: SessionLayer) -> Target {
    Target::Oneshot(common::app(layer))
}

/// `POST /counter` from `peer`, with `token` if any, and with `forwarded` as X-Forwarded-For.
async fn increment(
    app: &Target,
    peer: &str,
    token: Option<&str>,
    forwarded: Option<&str>,
) -> Reply {
    let mut request = request("POST", "/counter", token);
    let peer: SocketAddr = format!("{peer}:40000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    if let Some(forwarded) = forwarded {
        request
            .headers_mut()
            .insert("x-forwarded-for", forwarded.parse().unwrap());
    }
    app.call(request).await
}

fn assert_refused(reply: &Reply) {
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.body
    );
    assert!(reply.body["detail"]
        .as_str()
        .unwrap()
        .contains("Too many new sessions"));
    let retry: u64 = reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After: {retry}");
    assert_eq!(reply.session(), None, "a refused request was given a token");
}

#[tokio::test]
async fn tokenless_writes_beyond_the_budget_are_refused_before_anything_is_stored() {
    let fixture = Fixture::memory().await;
    let app = app(fixture.layer().with_new_session_limit(limit(3)));
    for _ in 0..3 {
        increment(&app, "192.0.2.1", None, None).await.token();
    }
    let (loads, saves) = (fixture.store.loads(), fixture.store.saves());
    let refused = increment(&app, "192.0.2.1", None, None).await;
    assert_refused(&refused);
    assert_eq!(fixture.store.saves(), saves, "a refused request was stored");
    assert_eq!(
        fixture.store.loads(),
        loads,
        "a refused request reached the store"
    );

    // Another address has a budget of its own; the same one gets another session a second later.
    increment(&app, "192.0.2.2", None, None).await.token();
    fixture.clock.advance(Duration::from_secs(1));
    increment(&app, "192.0.2.1", None, None).await.token();
    assert_refused(&increment(&app, "192.0.2.1", None, None).await);
}

#[tokio::test]
async fn a_dead_token_does_not_dodge_the_budget() {
    let fixture = Fixture::memory().await;
    let app = app(fixture.layer().with_new_session_limit(limit(2)));
    for _ in 0..2 {
        increment(&app, "192.0.2.1", None, None).await.token();
    }
    let saves = fixture.store.saves();
    let made_up = Token::generate();
    let reply = increment(&app, "192.0.2.1", Some(made_up.as_str()), None).await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.body
    );
    assert_eq!(fixture.store.saves(), saves, "a refused session was stored");
}

#[tokio::test]
async fn reads_and_live_sessions_spend_no_budget() {
    let fixture = Fixture::memory().await;
    let app = app(fixture.layer().with_new_session_limit(limit(1)));
    let token = increment(&app, "192.0.2.1", None, None).await.token();
    for _ in 0..5 {
        let mut read = request("GET", "/counter", None);
        read.extensions_mut()
            .insert(ConnectInfo("192.0.2.1:1".parse::<SocketAddr>().unwrap()));
        assert_eq!(app.call(read).await.status, StatusCode::OK);
        let reply = increment(&app, "192.0.2.1", Some(&token), None).await;
        assert_eq!(reply.session(), Some(token.as_str()));
    }
    assert_refused(&increment(&app, "192.0.2.1", None, None).await);
}

#[tokio::test]
async fn a_proxy_s_header_is_believed_only_when_configured() {
    let fixture = Fixture::memory().await;
    let behind_proxy = ClientAddress::forwarded_for("x-forwarded-for".parse().unwrap(), 1);
    let proxied = app(fixture
        .layer()
        .with_new_session_limit(limit(1).with_client_address(behind_proxy)));
    // Every request comes from the proxy; the header tells the clients apart.
    increment(&proxied, "10.0.0.1", None, Some("203.0.113.1"))
        .await
        .token();
    increment(&proxied, "10.0.0.1", None, Some("203.0.113.2"))
        .await
        .token();
    // A client cannot pick its address by writing one in front of what the proxy appends.
    assert_refused(
        &increment(
            &proxied,
            "10.0.0.1",
            None,
            Some("198.51.100.9, 203.0.113.1"),
        )
        .await,
    );

    let direct = app(fixture.layer().with_new_session_limit(limit(1)));
    increment(&direct, "192.0.2.1", None, Some("203.0.113.1"))
        .await
        .token();
    assert_refused(&increment(&direct, "192.0.2.1", None, Some("203.0.113.2")).await);
}

#[tokio::test]
async fn ipv6_clients_count_by_their_64() {
    let fixture = Fixture::memory().await;
    let app = app(fixture.layer().with_new_session_limit(limit(1)));
    increment(&app, "[2001:db8:0:1::1]", None, None)
        .await
        .token();
    assert_refused(&increment(&app, "[2001:db8:0:1::ffff]", None, None).await);
    increment(&app, "[2001:db8:0:2::1]", None, None)
        .await
        .token();
}

#[tokio::test]
async fn over_http_the_budget_counts_the_peer() {
    let fixture = Fixture::memory().await;
    let app = Transport::Http
        .serve(common::app(
            fixture.layer().with_new_session_limit(limit(2)),
        ))
        .await;
    for _ in 0..2 {
        app.send("POST", "/counter", None).await.token();
    }
    assert_refused(&app.send("POST", "/counter", None).await);
}

#[tokio::test]
async fn a_write_with_a_made_up_token_is_refused_before_its_handler_runs() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use axum::routing::post;
    use axum::Router;
    use cookieless::{Session, SessionError};

    let fixture = Fixture::memory().await;
    let handled = Arc::new(AtomicUsize::new(0));
    let counter = handled.clone();
    // What a registration does: work of its own, then a value in the session.
    let handler = move |session: Session| {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            session.insert("user", "ada").await?;
            Ok::<_, SessionError>("done")
        }
    };
    let routes = Router::new()
        .route("/counter", post(handler))
        .layer(fixture.layer().with_new_session_limit(limit(2)));
    let app = Target::Oneshot(routes);
    for _ in 0..2 {
        increment(&app, "192.0.2.1", None, None).await.token();
    }
    let third = increment(&app, "192.0.2.1", None, None).await;
    assert_refused(&third);
    assert_eq!(handled.load(Ordering::SeqCst), 2);

    let made_up = Token::generate();
    let reply = increment(&app, "192.0.2.1", Some(made_up.as_str()), None).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.session(), Some(""), "the dead token was not cleared");
    assert_eq!(
        handled.load(Ordering::SeqCst),
        2,
        "the handler ran past a spent budget"
    );
}
