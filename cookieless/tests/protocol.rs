//! Every rule of `docs/protocol.md`, checked once per store both in-process with
//! `tower::ServiceExt::oneshot` and over real HTTP on loopback.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Extension;
use common::{request, Fixture, Gate, Runs, Transport};
use cookieless::store::{SessionStore, Token};
use cookieless::Expiry;
use serde_json::json;

for_each_store_and_transport!(
    an_empty_session_is_not_stored_and_gets_no_token,
    the_first_write_issues_a_token_that_carries_the_session,
    every_response_on_a_live_session_repeats_its_token,
    unknown_tokens_are_never_adopted,
    malformed_headers_are_never_looked_up,
    several_tokens_are_refused,
    oversized_headers_are_refused_with_431,
    rotation_moves_the_data_and_retires_the_old_token,
    without_a_grace_window_rotation_kills_the_old_token_at_once,
    a_logout_leaves_no_retired_token,
    every_token_comes_with_the_moment_its_session_dies,
    sensitive_actions_need_a_recent_proof_of_who_the_user_is,
    with_the_cookie_transport_the_token_travels_in_a_cookie_too,
    destroy_kills_the_token_and_tells_the_client_to_forget_it,
    destroy_then_insert_starts_a_new_session,
    emptying_a_session_removes_it,
    server_errors_save_nothing,
    writes_past_the_size_cap_get_413_and_change_nothing,
    the_size_cap_is_configurable,
    idle_sessions_expire,
    sessions_expire_at_the_absolute_timeout_however_busy,
    expired_sessions_are_swept_in_the_background,
    tokens_anywhere_but_the_header_are_ignored,
    the_store_is_keyed_by_the_token_hash,
    concurrent_requests_on_one_session_are_serialised,
    another_process_writing_the_same_session_is_merged_key_by_key,
    a_session_ended_by_another_process_stays_ended,
    a_session_rotated_by_another_process_is_not_brought_back,
    a_principal_s_sessions_are_listed_and_ended,
    a_session_with_only_a_principal_is_kept,
    anonymous_sessions_idle_out_sooner_than_logged_in_ones,
    a_login_beyond_the_cap_ends_the_least_recently_used_session,
);

async fn an_empty_session_is_not_stored_and_gets_no_token(fixture: Fixture, transport: Transport) {
    let app = transport.serve(common::app(fixture.layer())).await;
    let reply = app.send("GET", "/counter", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, json!({"value": 0}));
    assert_eq!(reply.session(), None);
    assert!(!reply.headers.contains_key(header::CACHE_CONTROL));
    assert_eq!(app.send("GET", "/untouched", None).await.session(), None);
    assert_eq!(fixture.store.delete_expired(u64::MAX).await.unwrap(), 0);
}

async fn the_first_write_issues_a_token_that_carries_the_session(
    fixture: Fixture,
    transport: Transport,
) {
    let app = transport.serve(common::app(fixture.layer())).await;
    let first = app.send("POST", "/counter", None).await;
    assert_eq!(first.body, json!({"value": 1}));
    let token = first.token();
    let second = app.send("POST", "/counter", Some(&token)).await;
    assert_eq!(second.body, json!({"value": 2}));
    assert_eq!(second.token(), token);
    let other = app.send("POST", "/counter", None).await;
    assert_eq!(other.body, json!({"value": 1}));
    assert_ne!(other.token(), token);
}

async fn every_response_on_a_live_session_repeats_its_token(
    fixture: Fixture,
    transport: Transport,
) {
    let app = transport.serve(common::app(fixture.layer())).await;
    let token = app.send("POST", "/counter", None).await.token();
    for path in ["/counter", "/untouched"] {
        let reply = app.send("GET", path, Some(&token)).await;
        assert_eq!(reply.session(), Some(token.as_str()), "on {path}");
    }
    let not_found = app.send("GET", "/nowhere", Some(&token)).await;
    assert_eq!(not_found.status, StatusCode::NOT_FOUND);
    assert_eq!(not_found.session(), Some(token.as_str()));
}

async fn unknown_tokens_are_never_adopted(fixture: Fixture, transport: Transport) {
    let app = transport.serve(common::app(fixture.layer())).await;
    let forged = Token::generate();
    let read = app.send("GET", "/counter", Some(forged.as_str())).await;
    assert_eq!(read.body, json!({"value": 0}));
    assert_eq!(
        read.session(),
        Some(""),
        "the client must forget a token we do not know"
    );

    let write = app.send("POST", "/counter", Some(forged.as_str())).await;
    let issued = write.token();
    assert_ne!(issued, forged.as_str());
    assert!(fixture.store.load(&forged.key()).await.unwrap().is_none());
    let untouched = app.send("GET", "/untouched", Some(forged.as_str())).await;
    assert_eq!(untouched.session(), Some(""));
}

async fn malformed_headers_are_never_looked_up(fixture: Fixture, transport: Transport) {
    let app = transport.serve(common::app(fixture.layer())).await;
    let malformed: Vec<Vec<u8>> = vec![
        b"short".to_vec(),
        b"has spaces in the middle of it here".to_vec(),
        b"slashes/and+plus/are/not/url/safe==".to_vec(),
        b"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4\xf3\xf2\xf1\xf0\xef\xee\xed\xec\xeb\xea"
            .to_vec(),
        "a".repeat(65).into_bytes(),
        "b".repeat(1000).into_bytes(),
    ];
    for value in malformed {
        let mut write = request("POST", "/counter", None);
        write
            .headers_mut()
            .insert("x-session", value.as_slice().try_into().unwrap());
        let reply = app.call(write).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(
            reply.body,
            json!({"value": 1}),
            "a malformed token gave a session"
        );
        reply.token();

        let mut read = request("GET", "/counter", None);
        read.headers_mut()
            .insert("x-session", value.as_slice().try_into().unwrap());
        assert_eq!(app.call(read).await.session(), Some(""));
    }
    assert_eq!(
        fixture.store.loads(),
        0,
        "a malformed token reached the store"
    );
}

async fn several_tokens_are_refused(fixture: Fixture, transport: Transport) {
    let app = transport.serve(common::app(fixture.layer())).await;
    let token = app.send("POST", "/counter", None).await.token();
    let other = app.call_allowing_cookies(request("POST", "/counter", None));
    let other = other.await.token();

    let mut twice = request("POST", "/counter", Some(&token));
    twice
        .headers_mut()
        .append("x-session", other.parse().unwrap());
    let reply = app.call(twice).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body["detail"].is_string());
    assert_eq!(reply.session(), None);

    let listed = format!("{token}, {other}");
    let reply = app.send("POST", "/counter", Some(&listed)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body["detail"].is_string());

    let value = app.send("GET", "/counter", Some(&token)).await.body;
    assert_eq!(
        value,
        json!({"value": 1}),
        "a refused request changed a session"
    );
}

async fn oversized_headers_are_refused_with_431(fixture: Fixture, transport: Transport) {
    let app = transport.serve(common::app(fixture.layer())).await;
    let huge = "a".repeat(4096);
    let reply = app.send("POST", "/counter", Some(&huge)).await;
    assert_eq!(reply.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert!(reply.body["detail"].is_string());
    assert_eq!(fixture.store.loads(), 0);
}

async fn rotation_moves_the_data_and_retires_the_old_token(fixture: Fixture, transport: Transport) {
    let runs = Runs::default();
    let app = transport
        .serve(common::app(fixture.layer()).layer(Extension(runs.clone())))
        .await;
    let old = app.send("POST", "/counter", None).await.token();
    let rotated = app.send("POST", "/rotate", Some(&old)).await;
    assert_eq!(rotated.status, StatusCode::NO_CONTENT);
    let new = rotated.token();
    assert_ne!(new, old);
    assert_eq!(
        app.send("GET", "/counter", Some(&new)).await.body,
        json!({"value": 1})
    );

    // Within the grace window the old token is recognised as retired: a request sent with it
    // (a write in flight during a login) is refused before its handler runs, and changes nothing.
    for (method, path) in [
        ("POST", "/counter"),
        ("GET", "/counter"),
        ("POST", "/rotate"),
    ] {
        let retired = app.send(method, path, Some(&old)).await;
        assert_eq!(retired.status, StatusCode::CONFLICT, "{method} {path}");
        assert_eq!(retired.body["code"], "session_rotated");
        assert!(retired.body["detail"].is_string());
        assert_eq!(retired.session(), None, "a 409 says nothing of the token");
        assert!(!retired.headers.contains_key("x-session-expires"));
    }
    // A write's handler does not run at all, so the client can send it again safely.
    let refused = app.send("POST", "/counted-write", Some(&old)).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(runs.count(), 0, "the handler of a refused write ran");
    // A request that never uses its session is answered as usual, without a word on its token.
    let untouched = app.send("GET", "/untouched", Some(&old)).await;
    assert_eq!(untouched.status, StatusCode::OK);
    assert_eq!(untouched.session(), None);
    // The retry with the new token is applied once.
    assert_eq!(
        app.send("POST", "/counter", Some(&new)).await.body,
        json!({"value": 2})
    );
    // What the old token's key holds says only that it was rotated: no values, no owner, and
    // nothing that leads to the new token.
    let old_key = Token::parse(old.as_bytes()).unwrap().key();
    let tombstone = fixture.store.load(&old_key).await.unwrap().unwrap();
    assert!(tombstone.rotated);
    assert!(tombstone.data.is_empty() && tombstone.principal.is_none());
    assert!(!String::from_utf8_lossy(&tombstone.encode()).contains(&new));

    // After the window the old token is simply unknown.
    fixture.clock.advance(Duration::from_secs(30));
    let stale = app.send("GET", "/counter", Some(&old)).await;
    assert_eq!(stale.body, json!({"value": 0}));
    assert_eq!(stale.session(), Some(""));
    assert!(fixture.store.load(&old_key).await.unwrap().is_none());
    assert_eq!(
        app.send("GET", "/counter", Some(&new)).await.body,
        json!({"value": 2})
    );
}

async fn without_a_grace_window_rotation_kills_the_old_token_at_once(
    fixture: Fixture,
    transport: Transport,
) {
    let expiry = Expiry {
        rotation_grace: Duration::ZERO,
        ..Expiry::default()
    };
    let app = transport
        .serve(common::app(fixture.layer().with_expiry(expiry)))
        .await;
    let old = app.send("POST", "/counter", None).await.token();
    let new = app.send("POST", "/rotate", Some(&old)).await.token();
    let stale = app.send("GET", "/counter", Some(&old)).await;
    assert_eq!(stale.body, json!({"value": 0}));
    assert_eq!(stale.session(), Some(""));
    let old_key = Token::parse(old.as_bytes()).unwrap().key();
    assert!(fixture.store.load(&old_key).await.unwrap().is_none());
    assert_eq!(
        app.send("GET", "/counter", Some(&new)).await.body,
        json!({"value": 1})
    );
}

async fn a_logout_leaves_no_retired_token(fixture: Fixture, transport: Transport) {
    let app = transport.serve(common::app(fixture.layer())).await;
    let token = app.send("POST", "/counter", None).await.token();
    let logged_in = app.send("POST", "/log-in/ada", Some(&token)).await.token();
    app.send("POST", "/destroy", Some(&logged_in)).await;
    let after = app.send("GET", "/counter", Some(&logged_in)).await;
    assert_eq!(after.status, StatusCode::OK);
    assert_eq!(after.session(), Some(""), "a logout is not a rotation");
}

/// Seconds since the epoch of an RFC 3339 UTC timestamp as `X-Session-Expires` writes it.
fn epoch_seconds(stamp: &str) -> u64 {
    let (date, time) = stamp
        .strip_suffix('Z')
        .and_then(|stamp| stamp.split_once('T'))
        .unwrap_or_else(|| panic!("not RFC 3339 in UTC: {stamp}"));
    let numbers = |text: &str, separator| -> Vec<i64> {
        text.split(separator)
            .map(|part| part.parse().unwrap())
            .collect()
    };
    let (ymd, hms) = (numbers(date, '-'), numbers(time, ':'));
    // Days from civil, after Howard Hinnant.
    let (year, month, day) = (ymd[0] - i64::from(ymd[1] <= 2), ymd[1], ymd[2]);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    (days * 86_400 + hms[0] * 3_600 + hms[1] * 60 + hms[2]) as u64
}

async fn with_the_cookie_transport_the_token_travels_in_a_cookie_too(
    fixture: Fixture,
    transport: Transport,
) {
    let layer = fixture.layer();
    let app = transport
        .serve(common::app(
            layer.with_transport(cookieless::Transport::header_or_cookie()),
        ))
        .await;
    let with = |method: &str, path: &str, cookie: &str, extra: &[(&str, &str)]| {
        let mut request = request(method, path, None);
        let headers = request.headers_mut();
        let cookie = format!("theme=dark; __Host-session={cookie}");
        headers.insert(header::COOKIE, cookie.parse().unwrap());
        for (name, value) in extra {
            let name = header::HeaderName::from_bytes(name.as_bytes()).unwrap();
            headers.insert(name, value.parse().unwrap());
        }
        request
    };
    let cookie_of = |reply: &common::Reply| {
        let set = reply.headers.get(header::SET_COOKIE);
        set.map(|value| value.to_str().unwrap().to_string())
    };
    let started = app
        .call_allowing_cookies(request("POST", "/counter", None))
        .await;
    let token = started.token();
    assert_eq!(
        cookie_of(&started).as_deref(),
        Some(format!("__Host-session={token}; Path=/; HttpOnly; Secure; SameSite=Lax").as_str())
    );

    // The cookie alone carries the session on a read.
    let read = app
        .call_allowing_cookies(with("GET", "/counter", &token, &[]))
        .await;
    assert_eq!(read.body, json!({"value": 1}));

    // A write with the cookie alone must come from the app's own pages.
    for refused in [
        with("POST", "/counter", &token, &[]),
        with(
            "POST",
            "/counter",
            &token,
            &[("origin", "http://evil.example")],
        ),
        with(
            "POST",
            "/counter",
            &token,
            &[("sec-fetch-site", "cross-site")],
        ),
    ] {
        let reply = app.call_allowing_cookies(refused).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        assert_eq!(reply.body["code"], "cross_site_request");
        assert_eq!(reply.session(), None);
    }
    let own = with(
        "POST",
        "/counter",
        &token,
        &[("sec-fetch-site", "same-origin")],
    );
    assert_eq!(
        app.call_allowing_cookies(own).await.body,
        json!({"value": 2})
    );

    // A request with both uses the header, and the cookie follows it.
    let other = app.call_allowing_cookies(request("POST", "/counter", None));
    let other = other.await.token();
    let mut both = with("GET", "/counter", &token, &[]);
    both.headers_mut()
        .insert("x-session", other.parse().unwrap());
    let reply = app.call_allowing_cookies(both).await;
    assert_eq!(reply.body, json!({"value": 1}));
    let cookie =
        |token: &str| format!("__Host-session={token}; Path=/; HttpOnly; Secure; SameSite=Lax");
    assert_eq!(cookie_of(&reply), Some(cookie(&other)));

    // A login carried by the cookie moves the cookie to the new token.
    let login = with(
        "POST",
        "/log-in/ada",
        &other,
        &[("sec-fetch-site", "same-origin")],
    );
    let login = app.call_allowing_cookies(login).await;
    let member = login.token();
    assert_ne!(member, other);
    assert_eq!(cookie_of(&login), Some(cookie(&member)));

    // A cookie whose session is unknown is cleared, as the header would be.
    let cleared = "__Host-session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax";
    let unknown = Token::generate();
    let unknown = app
        .call_allowing_cookies(with("GET", "/counter", unknown.as_str(), &[]))
        .await;
    assert_eq!(unknown.session(), Some(""));
    assert_eq!(cookie_of(&unknown).as_deref(), Some(cleared));

    // Ending the session clears the cookie as it clears the header.
    let ended = with(
        "POST",
        "/destroy",
        &token,
        &[("sec-fetch-site", "same-origin")],
    );
    let ended = app.call_allowing_cookies(ended).await;
    assert_eq!(ended.session(), Some(""));
    assert_eq!(cookie_of(&ended).as_deref(), Some(cleared));
}

async fn sensitive_actions_need_a_recent_proof_of_who_the_user_is(
    fixture: Fixture,
    transport: Transport,
) {
    let app = transport.serve(common::app(fixture.layer())).await;
    let refused = |reply: &common::Reply| {
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        assert_eq!(reply.body["code"], "reauthentication_required");
        assert!(reply.body["detail"].is_string());
    };
    let visitor = app.send("POST", "/counter", None).await.token();
    refused(&app.send("POST", "/sensitive", Some(&visitor)).await);
    // A proof is of someone: nobody is logged in to renew one for.
    app.send("POST", "/confirm", Some(&visitor)).await;
    refused(&app.send("POST", "/sensitive", Some(&visitor)).await);

    // A login is a proof, for ten minutes.
    let member = app
        .send("POST", "/log-in/ada", Some(&visitor))
        .await
        .token();
    let fresh = app.send("POST", "/sensitive", Some(&member)).await;
    assert_eq!(fresh.status, StatusCode::NO_CONTENT);
    fixture.clock.advance(Duration::from_secs(599));
    let sensitive = app.send("POST", "/sensitive", Some(&member)).await;
    assert_eq!(sensitive.status, StatusCode::NO_CONTENT);
    fixture.clock.advance(Duration::from_secs(2));
    let stale = app.send("POST", "/sensitive", Some(&member)).await;
    refused(&stale);
    assert_eq!(stale.session(), Some(member.as_str()), "the session stays");

    // The password entered again is a new proof, and a rotation keeps it.
    let confirmed = app.send("POST", "/confirm", Some(&member)).await;
    assert_eq!(confirmed.status, StatusCode::NO_CONTENT);
    let rotated = app.send("POST", "/rotate", Some(&member)).await.token();
    let sensitive = app.send("POST", "/sensitive", Some(&rotated)).await;
    assert_eq!(sensitive.status, StatusCode::NO_CONTENT);

    // A logout forgets it: the values inserted afterwards start a session without one.
    let replaced = app
        .send("POST", "/destroy-then-insert", Some(&rotated))
        .await
        .token();
    refused(&app.send("POST", "/sensitive", Some(&replaced)).await);
}

async fn every_token_comes_with_the_moment_its_session_dies(
    fixture: Fixture,
    transport: Transport,
) {
    let expiry = Expiry {
        idle: Duration::from_secs(3_600),
        anonymous_idle: Duration::from_secs(600),
        absolute: Duration::from_secs(5_400),
        ..Expiry::default()
    };
    let app = transport
        .serve(common::app(fixture.layer().with_expiry(expiry)))
        .await;
    let expires = |reply: &common::Reply| {
        let header = reply.headers.get("x-session-expires");
        epoch_seconds(
            header
                .expect("a token without its deadline")
                .to_str()
                .unwrap(),
        )
    };
    // The layer's clock runs on from the reading below while requests are on their way: a
    // deadline, in whole seconds, may fall one second later than the reading says.
    let deadline_is = |got: u64, expected: u64| {
        assert!(
            (expected..=expected + 1).contains(&got),
            "a deadline at {got}, not {expected}"
        );
    };
    let start = fixture.clock.now() / 1_000;
    let first = app.send("POST", "/counter", None).await;
    let token = first.token();
    // Anonymous: the idle deadline of a visitor.
    deadline_is(expires(&first), start + 600);
    let read = app.send("GET", "/counter", Some(&token)).await;
    deadline_is(expires(&read), start + 600);
    let untouched = app.send("GET", "/untouched", Some(&token)).await;
    deadline_is(expires(&untouched), start + 600);
    // A use soon after the last one leaves the deadline; an explicit touch moves it at once.
    fixture.clock.advance(Duration::from_secs(10));
    let soon = app.send("GET", "/counter", Some(&token)).await;
    deadline_is(expires(&soon), start + 600);
    let touched = app.send("POST", "/touch", Some(&token)).await;
    assert_eq!(touched.token(), token);
    deadline_is(expires(&touched), start + 610);
    let start = start + 10;

    // Used again later, the idle deadline moves; a login moves it onto the longer timeout.
    fixture.clock.advance(Duration::from_secs(300));
    let written = app.send("POST", "/counter", Some(&token)).await;
    deadline_is(expires(&written), start + 900);
    let logged_in = app.send("POST", "/log-in/ada", Some(&token)).await;
    let member = logged_in.token();
    deadline_is(expires(&logged_in), start + 300 + 3_600);
    // The absolute deadline counts from the rotation, and wins once it is the nearer one.
    fixture.clock.advance(Duration::from_secs(3_000));
    let late = app.send("POST", "/counter", Some(&member)).await;
    deadline_is(expires(&late), start + 300 + 5_400);
    // A handler can tell it apart from the idle deadline: only a new login goes past it.
    let ends_by = app.send("GET", "/ends-by", Some(&member)).await;
    deadline_is(
        ends_by.body["ends_by"].as_u64().unwrap(),
        start + 300 + 5_400,
    );
    let relogin = app.send("POST", "/log-in/ada", Some(&member)).await.token();
    let ends_by = app.send("GET", "/ends-by", Some(&relogin)).await;
    deadline_is(
        ends_by.body["ends_by"].as_u64().unwrap(),
        start + 3_300 + 5_400,
    );
    let member = relogin;

    // No live token, no deadline.
    let ended = app.send("POST", "/destroy", Some(&member)).await;
    assert_eq!(ended.session(), Some(""));
    assert!(!ended.headers.contains_key("x-session-expires"));
    let nothing = app.send("GET", "/counter", None).await;
    assert!(!nothing.headers.contains_key("x-session-expires"));
}

async fn destroy_kills_the_token_and_tells_the_client_to_forget_it(
    fixture: Fixture,
    transport: Transport,
) {
    let app = transport.serve(common::app(fixture.layer())).await;
    let token = app.send("POST", "/counter", None).await.token();
    let reply = app.send("POST", "/destroy", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(reply.session(), Some(""));
    let after = app.send("POST", "/counter", Some(&token)).await;
    assert_eq!(
        after.body,
        json!({"value": 1}),
        "a destroyed session came back"
    );
    assert_ne!(after.token(), token);
}

async fn destroy_then_insert_starts_a_new_session(fixture: Fixture, transport: Transport) {
    let app = transport.serve(common::app(fixture.layer())).await;
    let token = app.send("POST", "/counter", None).await.token();
    let reply = app.send("POST", "/destroy-then-insert", Some(&token)).await;
    let fresh = reply.token();
    assert_ne!(fresh, token);
    assert_eq!(
        app.send("GET", "/counter", Some(&fresh)).await.body,
        json!({"value": 100})
    );
    assert_eq!(
        app.send("GET", "/counter", Some(&token)).await.session(),
        Some("")
    );
}

async fn emptying_a_session_removes_it(fixture: Fixture, transport: Transport) {
    let app = transport.serve(common::app(fixture.layer())).await;
    let token = app.send("POST", "/counter", None).await.token();
    assert_eq!(
        app.send("POST", "/clear", Some(&token)).await.session(),
        Some("")
    );
    let key = Token::parse(token.as_bytes()).unwrap().key();
    assert!(fixture.store.load(&key).await.unwrap().is_none());
}

async fn server_errors_save_nothing(fixture: Fixture, transport: Transport) {
    let app = transport.serve(common::app(fixture.layer())).await;
    let failed = app.send("POST", "/fail", None).await;
    assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(failed.session(), None);

    let token = app.send("POST", "/counter", None).await.token();
    let failed = app.send("POST", "/fail", Some(&token)).await;
    assert_eq!(
        failed.session(),
        None,
        "a 5xx must leave the client's token alone"
    );
    assert_eq!(
        app.send("GET", "/counter", Some(&token)).await.body,
        json!({"value": 1})
    );
}

async fn writes_past_the_size_cap_get_413_and_change_nothing(
    fixture: Fixture,
    transport: Transport,
) {
    let app = transport.serve(common::app(fixture.layer())).await;
    let token = app.send("POST", "/counter", None).await.token();
    let reply = app.send("POST", "/blob/70000", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(reply.body["detail"].as_str().unwrap().contains("65536"));
    assert_eq!(reply.session(), Some(token.as_str()));
    let key = Token::parse(token.as_bytes()).unwrap().key();
    let stored = fixture.store.load(&key).await.unwrap().unwrap();
    assert_eq!(stored.data.keys().collect::<Vec<_>>(), ["counter"]);

    assert_eq!(
        app.send("POST", "/blob/60000", Some(&token)).await.status,
        StatusCode::NO_CONTENT
    );
    let fresh = app.send("POST", "/blob/70000", None).await;
    assert_eq!(fresh.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        fresh.session(),
        None,
        "a refused new session must not be created"
    );
}

async fn the_size_cap_is_configurable(fixture: Fixture, transport: Transport) {
    let app = transport
        .serve(common::app(fixture.layer().with_max_size(100)))
        .await;
    assert_eq!(
        app.send("POST", "/blob/50", None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.send("POST", "/blob/100", None).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
}

/// Timeouts in seconds, long beside the real time a loaded machine takes between two requests,
/// since the layer's clock runs on in real time as well as by `advance`.
fn short(idle_s: u64, absolute_s: u64) -> Expiry {
    Expiry {
        idle: Duration::from_secs(idle_s),
        anonymous_idle: Duration::from_secs(idle_s),
        absolute: Duration::from_secs(absolute_s),
        ..Expiry::default()
    }
}

async fn idle_sessions_expire(fixture: Fixture, transport: Transport) {
    let app = transport
        .serve(common::app(fixture.layer().with_expiry(short(40, 6_000))))
        .await;
    let token = app.send("POST", "/counter", None).await.token();
    // Reads within the idle timeout keep it alive well past one idle period.
    for _ in 0..4 {
        fixture.clock.advance(Duration::from_secs(30));
        assert_eq!(
            app.send("GET", "/counter", Some(&token)).await.body,
            json!({"value": 1})
        );
    }
    fixture.clock.advance(Duration::from_secs(40));
    let expired = app.send("GET", "/counter", Some(&token)).await;
    assert_eq!(expired.body, json!({"value": 0}));
    assert_eq!(expired.session(), Some(""));
    let key = Token::parse(token.as_bytes()).unwrap().key();
    assert!(
        fixture.store.load(&key).await.unwrap().is_none(),
        "an expired session was kept"
    );
}

async fn sessions_expire_at_the_absolute_timeout_however_busy(
    fixture: Fixture,
    transport: Transport,
) {
    let app = transport
        .serve(common::app(fixture.layer().with_expiry(short(40, 90))))
        .await;
    let token = app.send("POST", "/counter", None).await.token();
    for _ in 0..8 {
        fixture.clock.advance(Duration::from_secs(10));
        let reply = app.send("POST", "/counter", Some(&token)).await;
        assert_eq!(reply.session(), Some(token.as_str()));
    }
    // Last used 10 s ago, well within the idle timeout, but created 90 s ago.
    fixture.clock.advance(Duration::from_secs(10));
    assert_eq!(
        app.send("GET", "/counter", Some(&token)).await.session(),
        Some("")
    );
}

async fn expired_sessions_are_swept_in_the_background(fixture: Fixture, transport: Transport) {
    // Redis expires keys by its own clock rather than by the sweep, so the idle timeout is long
    // enough that, in real time too, the live session outlives the dead one by a wide margin.
    let layer = fixture.layer().with_expiry(Expiry {
        idle: Duration::from_secs(2),
        anonymous_idle: Duration::from_secs(2),
        absolute: Duration::from_secs(60),
        ..Expiry::default()
    });
    let app = transport.serve(common::app(layer.clone())).await;
    let token = app.send("POST", "/counter", None).await.token();
    let live = app.send("POST", "/counter", None).await.token();
    fixture.clock.advance(Duration::from_millis(1_500));
    app.send("POST", "/counter", Some(&live)).await;
    fixture.clock.advance(Duration::from_millis(1_500));

    let key = |t: &str| Token::parse(t.as_bytes()).unwrap().key();
    let sweeper = layer.spawn_sweeper(Duration::from_millis(20));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while fixture.store.load(&key(&token)).await.unwrap().is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "the sweeper left an expired session in the store"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sweeper.abort();
    assert!(fixture.store.load(&key(&live)).await.unwrap().is_some());
}

async fn tokens_anywhere_but_the_header_are_ignored(fixture: Fixture, transport: Transport) {
    let app = transport.serve(common::app(fixture.layer())).await;
    let token = app.send("POST", "/counter", None).await.token();
    let attempts = [
        Request::get("/counter")
            .header(
                header::COOKIE,
                format!("x-session={token}; session={token}"),
            )
            .body(Body::empty()),
        Request::get(format!(
            "/counter?x-session={token}&session={token}&token={token}"
        ))
        .body(Body::empty()),
        Request::get("/counter")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"x-session": token, "session": token}).to_string(),
            )),
    ];
    for attempt in attempts {
        let reply = app.call(attempt.unwrap()).await;
        assert_eq!(reply.body, json!({"value": 0}));
        assert_eq!(reply.session(), None);
    }
}

async fn the_store_is_keyed_by_the_token_hash(fixture: Fixture, transport: Transport) {
    let app = transport.serve(common::app(fixture.layer())).await;
    let token = app.send("POST", "/counter", None).await.token();
    let parsed = Token::parse(token.as_bytes()).unwrap();
    assert!(fixture.store.load(&parsed.key()).await.unwrap().is_some());
    if let Some(dir) = &fixture.dir {
        // Nothing on disk spells the token: a copy of the database hands out no session.
        for entry in walk(dir.path()) {
            let bytes = std::fs::read(&entry).unwrap();
            assert!(
                !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
                "{} holds the token",
                entry.display()
            );
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

async fn concurrent_requests_on_one_session_are_serialised(fixture: Fixture, transport: Transport) {
    let app = transport.serve(common::app(fixture.layer())).await;
    let token = app.send("POST", "/counter", None).await.token();
    let requests: Vec<_> = (0..32)
        .map(|_| {
            let app = app.clone();
            let token = token.clone();
            tokio::spawn(async move { app.send("POST", "/slow-increment", Some(&token)).await })
        })
        .collect();
    let mut values = Vec::new();
    for request in requests {
        let reply = request.await.unwrap();
        assert_eq!(reply.session(), Some(token.as_str()));
        values.push(reply.body["value"].as_u64().unwrap());
    }
    values.sort();
    assert_eq!(
        values,
        (2..=33).collect::<Vec<_>>(),
        "every increment saw the previous one"
    );
    assert_eq!(
        app.send("GET", "/counter", Some(&token)).await.body,
        json!({"value": 33})
    );
}

/// A request of one process paused between loading a session and writing `a` into it, for
/// another process to act on the same session in between. Two layers over one store stand for
/// two server processes: they share no locks, and take no leases (which would make the second
/// wait for the first: `tests/leases.rs`), so that what is checked is the conditional write that
/// stays as the safety net.
struct PausedWrite {
    second: common::Target,
    token: String,
    gate: Gate,
    slow: tokio::task::JoinHandle<common::Reply>,
}

async fn pause_a_write(fixture: &Fixture, transport: Transport) -> PausedWrite {
    let gate = Gate::default();
    let first = transport
        .serve(common::app(fixture.layer().without_leases()).layer(Extension(gate.clone())))
        .await;
    let second = transport
        .serve(common::app(fixture.layer().without_leases()))
        .await;
    let token = first.send("POST", "/counter", None).await.token();
    let slow = {
        let token = token.clone();
        tokio::spawn(async move { first.send("POST", "/set-later/a", Some(&token)).await })
    };
    gate.loaded().await;
    PausedWrite {
        second,
        token,
        gate,
        slow,
    }
}

async fn another_process_writing_the_same_session_is_merged_key_by_key(
    fixture: Fixture,
    transport: Transport,
) {
    let PausedWrite {
        second,
        token,
        gate,
        slow,
    } = pause_a_write(&fixture, transport).await;
    assert_eq!(
        second.send("POST", "/set/b", Some(&token)).await.session(),
        Some(token.as_str())
    );
    gate.open();
    assert_eq!(slow.await.unwrap().session(), Some(token.as_str()));
    assert_eq!(
        second.send("GET", "/keys", Some(&token)).await.body,
        json!(["a", "b", "counter"])
    );
}

async fn a_session_ended_by_another_process_stays_ended(fixture: Fixture, transport: Transport) {
    let PausedWrite {
        second,
        token,
        gate,
        slow,
    } = pause_a_write(&fixture, transport).await;
    assert_eq!(
        second
            .send("POST", "/destroy", Some(&token))
            .await
            .session(),
        Some("")
    );
    gate.open();
    assert_eq!(slow.await.unwrap().session(), Some(""));
    assert_eq!(
        second.send("GET", "/keys", Some(&token)).await.session(),
        Some("")
    );
}

async fn a_session_rotated_by_another_process_is_not_brought_back(
    fixture: Fixture,
    transport: Transport,
) {
    let PausedWrite {
        second,
        token,
        gate,
        slow,
    } = pause_a_write(&fixture, transport).await;
    let new = second.send("POST", "/rotate", Some(&token)).await.token();
    gate.open();
    // The write's session no longer lives under its token, and its new token is not the old
    // one's to know: the write's changes are dropped, the client keeps what it holds (the
    // rotation's own answer brings the new token), and the tombstone stays one.
    let dropped = slow.await.unwrap();
    assert_eq!(dropped.status, StatusCode::NO_CONTENT);
    assert_eq!(dropped.session(), None);
    let old_key = Token::parse(token.as_bytes()).unwrap().key();
    assert!(fixture.store.load(&old_key).await.unwrap().unwrap().rotated);
    let retired = second.send("GET", "/keys", Some(&token)).await;
    assert_eq!(retired.status, StatusCode::CONFLICT);
    assert_eq!(
        second.send("GET", "/keys", Some(&new)).await.body,
        json!(["counter"])
    );
    // After the grace window the old token is unknown, not an anonymous session of its own.
    fixture.clock.advance(Duration::from_secs(30));
    assert_eq!(
        second.send("GET", "/keys", Some(&token)).await.session(),
        Some("")
    );
}

async fn log_in(app: &common::Target, name: &str, user_agent: &str) -> String {
    let mut request = request("POST", &format!("/log-in/{name}"), None);
    request
        .headers_mut()
        .insert(header::USER_AGENT, user_agent.parse().unwrap());
    app.call(request).await.token()
}

async fn a_principal_s_sessions_are_listed_and_ended(fixture: Fixture, transport: Transport) {
    let app = transport.serve(common::app(fixture.layer())).await;
    let laptop = log_in(&app, "ada", "Laptop browser").await;
    let phone = log_in(&app, "ada", "Phone browser").await;
    let tablet = log_in(&app, "ada", "Tablet browser").await;
    log_in(&app, "grace", "Other user").await;

    let listed = app.send("GET", "/sessions", Some(&laptop)).await.body;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert_eq!(listed[0]["current"], true);
    assert_eq!(listed[0]["user_agent"], "Laptop browser");
    assert!(listed[1..].iter().all(|info| info["current"] == false));
    let phone_id = listed
        .iter()
        .find(|info| info["user_agent"] == "Phone browser")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    for info in listed {
        let id = info["id"].as_str().unwrap();
        assert_ne!(id, laptop);
        // A public id is no token.
        assert_eq!(
            app.send("GET", "/counter", Some(id)).await.session(),
            Some("")
        );
    }

    assert_eq!(
        app.send("DELETE", &format!("/sessions/{phone_id}"), Some(&laptop))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.send("GET", "/counter", Some(&phone)).await.session(),
        Some("")
    );
    assert_eq!(
        app.send("DELETE", &format!("/sessions/{phone_id}"), Some(&laptop))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let after_phone = app.send("GET", "/sessions", Some(&laptop)).await.body;
    assert_eq!(after_phone.as_array().unwrap().len(), 2);

    assert_eq!(
        app.send("POST", "/sessions/end-others", Some(&laptop))
            .await
            .body,
        json!(1)
    );
    assert_eq!(
        app.send("GET", "/counter", Some(&tablet)).await.session(),
        Some("")
    );
    let left = app.send("GET", "/sessions", Some(&laptop)).await;
    assert_eq!(left.session(), Some(laptop.as_str()));
    assert_eq!(left.body.as_array().unwrap().len(), 1);
}

async fn a_session_with_only_a_principal_is_kept(fixture: Fixture, transport: Transport) {
    let app = transport.serve(common::app(fixture.layer())).await;
    let token = log_in(&app, "ada", "Browser").await;
    let reply = app.send("GET", "/untouched", Some(&token)).await;
    assert_eq!(reply.session(), Some(token.as_str()));
    // Logging in again rotates: the old token leaves the list with its session.
    let again = log_in_with(&app, &token, "ada").await;
    let listed = app.send("GET", "/sessions", Some(&again)).await.body;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let retired = app.send("GET", "/counter", Some(&token)).await;
    assert_eq!(retired.status, StatusCode::CONFLICT);
    assert_eq!(retired.session(), None);
}

async fn log_in_with(app: &common::Target, token: &str, name: &str) -> String {
    app.send("POST", &format!("/log-in/{name}"), Some(token))
        .await
        .token()
}

async fn anonymous_sessions_idle_out_sooner_than_logged_in_ones(
    fixture: Fixture,
    transport: Transport,
) {
    let expiry = Expiry {
        idle: Duration::from_secs(60),
        anonymous_idle: Duration::from_millis(400),
        absolute: Duration::from_secs(600),
        ..Expiry::default()
    };
    let app = transport
        .serve(common::app(fixture.layer().with_expiry(expiry)))
        .await;
    let visitor = app.send("POST", "/counter", None).await.token();
    let user = log_in(&app, "ada", "Browser").await;
    fixture.clock.advance(Duration::from_millis(500));
    assert_eq!(
        app.send("GET", "/counter", Some(&visitor)).await.session(),
        Some("")
    );
    assert_eq!(
        app.send("GET", "/counter", Some(&user)).await.session(),
        Some(user.as_str())
    );
    // Logging in moves a visitor's session onto the longer timeout.
    let visitor = app.send("POST", "/counter", None).await.token();
    let logged_in = log_in_with(&app, &visitor, "grace").await;
    fixture.clock.advance(Duration::from_millis(500));
    assert_eq!(
        app.send("GET", "/counter", Some(&logged_in)).await.body,
        json!({"value": 1})
    );
}

async fn a_login_beyond_the_cap_ends_the_least_recently_used_session(
    fixture: Fixture,
    transport: Transport,
) {
    let layer = fixture.layer().with_max_sessions_per_principal(2);
    let app = transport.serve(common::app(layer)).await;
    let oldest = log_in(&app, "ada", "Oldest").await;
    fixture.clock.advance(Duration::from_secs(1));
    let recent = log_in(&app, "ada", "Recent").await;
    fixture.clock.advance(Duration::from_secs(1));
    // Used since, so the first login is now the more recently used of the two.
    app.send("POST", "/counter", Some(&oldest)).await;
    fixture.clock.advance(Duration::from_secs(1));
    let newest = log_in(&app, "ada", "Newest").await;
    let other = log_in(&app, "grace", "Another user").await;

    assert_eq!(
        app.send("GET", "/counter", Some(&recent)).await.session(),
        Some(""),
        "the least recently used session outlived the cap"
    );
    for live in [&oldest, &newest, &other] {
        assert_eq!(
            app.send("GET", "/untouched", Some(live)).await.session(),
            Some(live.as_str())
        );
    }
    let listed = app.send("GET", "/sessions", Some(&newest)).await.body;
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
}
