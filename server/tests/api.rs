//! The demo's JSON API over real HTTP, on each store.

mod common;

use clap::Parser;
use common::Client;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use server::{App, Config};

/// A server in this process on a free port, on the given store (`--store`), with what must
/// outlive it.
struct Running {
    base: String,
    _dir: tempfile::TempDir,
}

async fn start(store: &str) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::parse_from([
        "server",
        "--store",
        store,
        "--redis-prefix",
        &common::unique_prefix(),
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    let app = App::build(&config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(app.serve(listener));
    Running { base, _dir: dir }
}

macro_rules! on_each_store {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let running = super::start("memory").await;
                super::$case(super::Client::new(&running.base)).await
            })*
        }
        mod sled {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let running = super::start("sled").await;
                super::$case(super::Client::new(&running.base)).await
            })*
        }
        mod redis {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(url) = super::common::redis_url() else { return };
                let running = super::start(&url).await;
                super::$case(super::Client::new(&running.base)).await
            })*
        }
    };
}

on_each_store!(
    registration_logs_in_rotates_and_keeps_anonymous_data,
    registration_validates_fields,
    registration_refuses_a_taken_username,
    login_refuses_bad_credentials_then_accepts_good_ones,
    logout_kills_the_token,
    staying_signed_in_moves_the_deadline,
    me_needs_a_login,
    the_counter_works_before_login,
    messages_show_once,
    bad_bodies_get_4xx_with_json,
    unknown_routes_and_methods_get_json_errors,
    health_answers,
    a_user_lists_and_ends_their_sessions,
    sessions_name_their_browser_and_system,
    a_new_password_ends_the_other_sessions,
    notes_need_a_login,
    notes_are_created_read_updated_and_deleted,
    notes_are_validated,
    every_response_carries_the_security_headers,
    bodies_past_the_api_s_limit_get_413,
    logins_refuse_overlong_passwords_before_hashing,
    failed_logins_are_throttled_per_account,
    notes_are_private_to_their_owner,
    notes_are_paged_newest_first,
);

const PASSWORD: &str = "correct horse battery";

async fn register(client: &mut Client, username: &str) -> common::Reply {
    client
        .post(
            "/api/auth/register",
            json!({"username": username, "password": PASSWORD}),
        )
        .await
}

async fn registration_logs_in_rotates_and_keeps_anonymous_data(mut client: Client) {
    assert_eq!(
        client.post_empty("/api/counter/increment").await.body,
        json!({"value": 1})
    );
    let anonymous = client.token.clone().unwrap();

    let reply = register(&mut client, "ada").await;
    assert_eq!(reply.status, StatusCode::CREATED);
    common::assert_user(&reply.body, "ada");
    let logged_in = client.token.clone().unwrap();
    assert_ne!(logged_in, anonymous, "registration must rotate the token");

    common::assert_user(&client.get("/api/auth/me").await.body, "ada");
    assert_eq!(client.get("/api/counter").await.body, json!({"value": 1}));

    // Within the grace window the retired token is refused before any handler runs, and
    // leads nowhere: the client is told to retry with the token it now holds.
    let mut stale = client.clone();
    stale.token = Some(anonymous.clone());
    let reply = stale.post_empty("/api/counter/increment").await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.body["code"], "session_rotated");
    assert_eq!(reply.session(), None, "a retired token gets no X-Session");
    assert_eq!(stale.token, Some(anonymous));
    assert_eq!(client.get("/api/counter").await.body, json!({"value": 1}));
}

async fn registration_validates_fields(mut client: Client) {
    let reply = client
        .post(
            "/api/auth/register",
            json!({"username": "Ad!", "password": "short"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body["username"][0].is_string());
    assert_eq!(
        reply.body["password"],
        json!(["Use at least 8 characters."])
    );

    let reply = client.post("/api/auth/register", json!({})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["username"], json!(["This field is required."]));
    assert_eq!(reply.body["password"], json!(["This field is required."]));
    assert_eq!(
        client.token, None,
        "a refused registration must not start a session"
    );
}

async fn registration_refuses_a_taken_username(mut client: Client) {
    assert_eq!(
        register(&mut client, "grace").await.status,
        StatusCode::CREATED
    );
    let mut other = Client::new(&client.base);
    let reply = register(&mut other, "grace").await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert!(reply.body["username"][0]
        .as_str()
        .unwrap()
        .contains("already exists"));
    assert_eq!(
        other.get("/api/auth/me").await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn login_refuses_bad_credentials_then_accepts_good_ones(mut client: Client) {
    register(&mut client, "linus").await;
    client.post_empty("/api/auth/logout").await;

    let mut visitor = Client::new(&client.base);
    visitor.post_empty("/api/counter/increment").await;
    visitor.post_empty("/api/counter/increment").await;
    let anonymous = visitor.token.clone().unwrap();
    for (username, password) in [("linus", "wrong password"), ("nobody", PASSWORD)] {
        let reply = visitor
            .post(
                "/api/auth/login",
                json!({"username": username, "password": password}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            reply.body,
            json!({"detail": "Invalid username or password."})
        );
    }
    assert_eq!(visitor.token.as_deref(), Some(anonymous.as_str()));

    let reply = visitor
        .post(
            "/api/auth/login",
            json!({"username": "linus", "password": PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    common::assert_user(&reply.body, "linus");
    assert_ne!(visitor.token.as_deref(), Some(anonymous.as_str()));
    assert_eq!(visitor.get("/api/counter").await.body, json!({"value": 2}));
    common::assert_user(&visitor.get("/api/auth/me").await.body, "linus");
}

async fn logout_kills_the_token(mut client: Client) {
    register(&mut client, "margaret").await;
    let token = client.token.clone().unwrap();
    let reply = client.post_empty("/api/auth/logout").await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(reply.session(), Some(""));
    assert_eq!(client.token, None);

    let mut replay = Client::new(&client.base);
    replay.token = Some(token);
    assert_eq!(
        replay.get("/api/auth/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(replay.get("/api/counter").await.body, json!({"value": 0}));
}

/// The moment in `X-Session-Expires`, as given: RFC 3339 in UTC, which sorts as it counts.
fn deadline(reply: &common::Reply) -> String {
    let value = reply.headers.get("x-session-expires");
    let value = value.expect("a token without its deadline").to_str();
    let value = value.unwrap().to_string();
    assert!(value.ends_with('Z') && value.len() == 20, "{value}");
    value
}

async fn staying_signed_in_moves_the_deadline(mut client: Client) {
    let reply = client.post_empty("/api/session/touch").await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(reply.session(), None, "no session, nothing to touch");
    let registered = register(&mut client, "grete").await;
    let first = deadline(&registered);
    let token = client.token.clone();
    // How far it moves is the library's to test, on a clock it can move.
    let touched = client.post_empty("/api/session/touch").await;
    assert_eq!(touched.status, StatusCode::NO_CONTENT);
    assert_eq!(client.token, token, "a touch keeps the token");
    assert!(deadline(&touched) >= first);
}

async fn me_needs_a_login(mut client: Client) {
    let reply = client.get("/api/auth/me").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.body["detail"].is_string());
}

async fn the_counter_works_before_login(mut client: Client) {
    assert_eq!(client.get("/api/counter").await.body, json!({"value": 0}));
    assert_eq!(
        client.token, None,
        "reading an empty counter must not start a session"
    );
    for expected in 1..=3 {
        let reply = client.post_empty("/api/counter/increment").await;
        assert_eq!(reply.body, json!({"value": expected}));
    }
    assert_eq!(client.get("/api/counter").await.body, json!({"value": 3}));
}

async fn messages_show_once(mut client: Client) {
    assert_eq!(client.get("/api/messages").await.body, json!([]));
    register(&mut client, "barbara").await;
    let messages = client.get("/api/messages").await.body;
    assert_eq!(messages[0]["level"], "success");
    assert!(messages[0]["text"].as_str().unwrap().contains("barbara"));
    assert_eq!(messages.as_array().unwrap().len(), 1);
    assert_eq!(client.get("/api/messages").await.body, json!([]));
    assert_eq!(client.get("/api/auth/me").await.status, StatusCode::OK);

    client.post_empty("/api/auth/logout").await;
    client
        .post(
            "/api/auth/login",
            json!({"username": "barbara", "password": PASSWORD}),
        )
        .await;
    let messages = client.get("/api/messages").await.body;
    assert_eq!(
        messages,
        json!([{"level": "success", "text": "Welcome back, barbara."}])
    );
}

async fn bad_bodies_get_4xx_with_json(client: Client) {
    let cases: Vec<(&str, Option<&str>, StatusCode)> = vec![
        (
            "{\"username\": ",
            Some("application/json"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "not json at all",
            Some("application/json"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "{\"username\": 7, \"password\": []}",
            Some("application/json"),
            StatusCode::BAD_REQUEST,
        ),
        ("[]", Some("application/json"), StatusCode::BAD_REQUEST),
        (
            "{\"username\": \"x\"}",
            None,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "{\"username\": \"x\"}",
            Some("text/plain"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ];
    for path in ["/api/auth/register", "/api/auth/login"] {
        for (body, content_type, status) in &cases {
            let reply = client
                .raw(|http, base| {
                    let request = http.post(format!("{base}{path}")).body(body.to_string());
                    match content_type {
                        Some(content_type) => request.header(CONTENT_TYPE, *content_type),
                        None => request,
                    }
                })
                .await;
            assert_eq!(reply.status, *status, "{path} with {body:?}");
            assert!(
                reply.body["detail"].is_string(),
                "{path} with {body:?}: {}",
                reply.body
            );
        }
    }
}

async fn unknown_routes_and_methods_get_json_errors(mut client: Client) {
    for path in ["/api/nothing", "/api", "/nothing/here"] {
        let reply = client.get(path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.body, json!({"detail": "Not found."}));
    }
    let reply = client.send(Method::DELETE, "/api/counter", None).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(reply.body["detail"].is_string());
    // So are bodies a server function cannot read.
    for (content_type, body) in [
        ("application/x-www-form-urlencoded", b"\xff\xfe".to_vec()),
        ("application/json", b"[[[".to_vec()),
    ] {
        let reply = client
            .raw(|http, base| {
                http.post(format!("{base}/api/fn/reset_counter"))
                    .header(CONTENT_TYPE, content_type)
                    .body(body.clone())
            })
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{content_type}");
        assert!(reply.body["detail"].is_string(), "{}", reply.body);
    }
    // Paths and queries that do not read are JSON errors too.
    register(&mut client, "odd_params").await;
    let reply = client.get("/api/notes/%FF").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.body, json!({"detail": "Not found."}));
    let reply = client.get("/api/notes?page=1&page=2").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body["detail"]
        .as_str()
        .unwrap()
        .starts_with("Invalid query"));
    let reply = client.send(Method::DELETE, "/api/sessions/%FF", None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.body, json!({"detail": "Not found."}));
}

async fn health_answers(mut client: Client) {
    let reply = client.get("/healthz").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, json!({"status": "ok"}));
    let reply = client.get("/readyz").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, json!({"status": "ready"}));
}

async fn every_response_carries_the_security_headers(mut client: Client) {
    for path in ["/healthz", "/api/counter", "/api/nowhere", "/api/auth/me"] {
        let reply = client.get(path).await;
        assert_eq!(reply.headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(reply.headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(
            reply.headers["content-security-policy"], "frame-ancestors 'none'",
            "{path}"
        );
    }
}

async fn bodies_past_the_api_s_limit_get_413(mut client: Client) {
    register(&mut client, "big_body").await;
    let huge = "x".repeat(100 * 1024);
    let reply = client
        .post("/api/notes", json!({"title": "big", "body": huge}))
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(reply.body["detail"].is_string(), "{}", reply.body);
    // The account routes read a few kilobytes at most.
    let reply = client
        .post(
            "/api/auth/login",
            json!({"username": "big_body", "password": "p".repeat(20 * 1024)}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(reply.body["detail"].is_string(), "{}", reply.body);
    // The largest note the rules allow still fits.
    let widest = "\u{10348}".repeat(10_000);
    let reply = client
        .post("/api/notes", json!({"title": "wide", "body": widest}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
}

async fn logins_refuse_overlong_passwords_before_hashing(mut client: Client) {
    let reply = client
        .post(
            "/api/auth/login",
            json!({"username": "nobody", "password": "p".repeat(5_000)}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body["password"],
        json!(["Use at most 1024 characters."])
    );
}

async fn failed_logins_are_throttled_per_account(client: Client) {
    let base = client.base.clone();
    let mut owner = Client::new(&base);
    register(&mut owner, "guessed").await;
    let mut guesser = Client::new(&base);
    for _ in 0..5 {
        let reply = guesser
            .post(
                "/api/auth/login",
                json!({"username": "guessed", "password": "wrong guess"}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    // Even the right password waits its turn, from the guesser's address.
    let reply = guesser
        .post(
            "/api/auth/login",
            json!({"username": "guessed", "password": PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(reply.headers.contains_key("retry-after"));
    assert!(reply.body["detail"].as_str().unwrap().contains("Try again"));
    // Unknown names are counted alike, so the throttle tells nothing of who exists.
    for _ in 0..5 {
        let reply = guesser
            .post(
                "/api/auth/login",
                json!({"username": "nobody_at_all", "password": "wrong guess"}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let reply = guesser
        .post(
            "/api/auth/login",
            json!({"username": "nobody_at_all", "password": "wrong guess"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    // The owner, already logged in, is not disturbed.
    assert_eq!(owner.get("/api/auth/me").await.status, StatusCode::OK);
}

async fn log_in_as(base: &str, device: &str, username: &str) -> Client {
    let mut client = common::client_as(base, device);
    let reply = client
        .post(
            "/api/auth/login",
            json!({"username": username, "password": PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    client
}

async fn sessions_name_their_browser_and_system(client: Client) {
    const CHROME_ON_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 \
        (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
    let mut laptop = common::client_as(&client.base, CHROME_ON_LINUX);
    assert_eq!(
        register(&mut laptop, "grace").await.status,
        StatusCode::CREATED
    );
    let _gadget = log_in_as(&client.base, "Gadget", "grace").await;

    let listed = laptop.get("/api/sessions").await.body;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    let this = listed.iter().find(|info| info["current"] == true).unwrap();
    assert_eq!(this["device_name"], "Chrome 156 on Linux");
    assert_eq!(this["user_agent"], CHROME_ON_LINUX);
    let gadget = listed.iter().find(|info| info["current"] == false).unwrap();
    assert_eq!(gadget["device_name"], Value::Null);
    assert_eq!(gadget["user_agent"], "Gadget");
}

async fn a_user_lists_and_ends_their_sessions(client: Client) {
    let base = client.base.clone();
    let mut anonymous = Client::new(&base);
    assert_eq!(
        anonymous.get("/api/sessions").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        anonymous
            .send(Method::DELETE, "/api/sessions/whatever", None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    let mut laptop = common::client_as(&base, "Laptop");
    register(&mut laptop, "edsger").await;
    let mut phone = log_in_as(&base, "Phone", "edsger").await;
    let mut tablet = log_in_as(&base, "Tablet", "edsger").await;
    let mut other_user = common::client_as(&base, "Other");
    register(&mut other_user, "tony").await;

    let listed = laptop.get("/api/sessions").await.body;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert_eq!(listed[0]["current"], true);
    assert_eq!(listed[0]["user_agent"], "Laptop");
    for info in listed {
        assert!(info["created"].as_str().unwrap().ends_with('Z'));
        assert!(info["last_seen"].as_str().unwrap().ends_with('Z'));
    }
    let phone_id = listed
        .iter()
        .find(|info| info["user_agent"] == "Phone")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let path = format!("/api/sessions/{phone_id}");
    assert_eq!(
        laptop.send(Method::DELETE, &path, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        phone.get("/api/auth/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(phone.token, None);
    let again = laptop.send(Method::DELETE, &path, None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert!(again.body["detail"].is_string());
    let tony_id = other_user.get("/api/sessions").await.body[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let foreign = laptop
        .send(Method::DELETE, &format!("/api/sessions/{tony_id}"), None)
        .await;
    assert_eq!(
        foreign.status,
        StatusCode::NOT_FOUND,
        "another user's session must be out of reach"
    );
    assert_eq!(other_user.get("/api/auth/me").await.status, StatusCode::OK);

    let reply = laptop.post_empty("/api/sessions/revoke-others").await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(
        tablet.get("/api/auth/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    common::assert_user(&laptop.get("/api/auth/me").await.body, "edsger");
    assert_eq!(
        laptop
            .get("/api/sessions")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn a_new_password_ends_the_other_sessions(client: Client) {
    let base = client.base.clone();
    let mut laptop = common::client_as(&base, "Laptop");
    register(&mut laptop, "frances").await;
    let mut phone = log_in_as(&base, "Phone", "frances").await;

    let wrong = laptop
        .post(
            "/api/auth/password",
            json!({"current_password": "nope nope", "new_password": "a much better one"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        wrong.body["current_password"],
        json!(["The current password is wrong."])
    );
    let short = laptop
        .post(
            "/api/auth/password",
            json!({"current_password": PASSWORD, "new_password": "short"}),
        )
        .await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        short.body["new_password"],
        json!(["Use at least 8 characters."])
    );
    assert_eq!(phone.get("/api/auth/me").await.status, StatusCode::OK);

    let before = laptop.token.clone().unwrap();
    let changed = laptop
        .post(
            "/api/auth/password",
            json!({"current_password": PASSWORD, "new_password": "a much better one"}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT);
    // The caller's own token is rotated: whoever copied it before the change is out too (told,
    // within the grace window, that it was retired; never led to the new session).
    let after = changed.session().unwrap().to_string();
    assert_ne!(after, before);
    let mut copied = Client::new(&base);
    copied.token = Some(before);
    let reply = copied.get("/api/auth/me").await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.body["code"], "session_rotated");
    assert_eq!(
        phone.get("/api/auth/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    common::assert_user(&laptop.get("/api/auth/me").await.body, "frances");

    let mut fresh = Client::new(&base);
    let old = fresh
        .post(
            "/api/auth/login",
            json!({"username": "frances", "password": PASSWORD}),
        )
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let new = fresh
        .post(
            "/api/auth/login",
            json!({"username": "frances", "password": "a much better one"}),
        )
        .await;
    assert_eq!(new.status, StatusCode::OK);
    let mut anonymous = Client::new(&base);
    let reply = anonymous
        .post(
            "/api/auth/password",
            json!({"current_password": "x", "new_password": "yyyyyyyyy"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

async fn notes_need_a_login(mut client: Client) {
    for (method, path) in [
        (Method::GET, "/api/notes"),
        (Method::GET, "/api/notes/1"),
        (Method::DELETE, "/api/notes/1"),
    ] {
        let reply = client.send(method, path, None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let reply = client
        .post("/api/notes", json!({"title": "t", "body": "b"}))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

async fn notes_are_created_read_updated_and_deleted(mut client: Client) {
    register(&mut client, "niklaus").await;
    let created = client
        .post("/api/notes", json!({"title": "Groceries", "body": "Milk"}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.body["title"], "Groceries");
    assert_eq!(created.body["body"], "Milk");
    assert!(created.body["created"].as_str().unwrap().ends_with('Z'));
    let path = format!("/api/notes/{}", created.body["id"]);

    assert_eq!(client.get(&path).await.body, created.body);
    let updated = client
        .send(
            Method::PUT,
            &path,
            Some(json!({"title": "Groceries", "body": "Milk, eggs"})),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK);
    assert_eq!(updated.body["body"], "Milk, eggs");
    assert_eq!(client.get(&path).await.body["body"], "Milk, eggs");

    // The notes belong to the user, not to the session: a new login sees them.
    client.post_empty("/api/auth/logout").await;
    client
        .post(
            "/api/auth/login",
            json!({"username": "niklaus", "password": PASSWORD}),
        )
        .await;
    assert_eq!(client.get("/api/notes").await.body["count"], 1);

    assert_eq!(
        client.send(Method::DELETE, &path, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(client.get(&path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        client.send(Method::DELETE, &path, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        client.get("/api/notes/not-a-number").await.status,
        StatusCode::NOT_FOUND
    );
}

async fn notes_are_validated(mut client: Client) {
    register(&mut client, "barbara_l").await;
    let reply = client
        .post("/api/notes", json!({"title": "  ", "body": "x"}))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["title"], json!(["This field may not be blank."]));
    let reply = client
        .post(
            "/api/notes",
            json!({"title": "t".repeat(201), "body": "b".repeat(10_001)}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body["title"][0].is_string());
    assert!(reply.body["body"][0].is_string());
    let reply = client.post("/api/notes", json!({"title": 5})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body["detail"].is_string());
    assert_eq!(client.get("/api/notes").await.body["count"], 0);
}

async fn notes_are_private_to_their_owner(mut client: Client) {
    register(&mut client, "alice").await;
    let note = client
        .post("/api/notes", json!({"title": "Secret", "body": "mine"}))
        .await
        .body;
    let path = format!("/api/notes/{}", note["id"]);
    let mut eve = Client::new(&client.base);
    register(&mut eve, "eve").await;
    assert_eq!(eve.get(&path).await.status, StatusCode::NOT_FOUND);
    let reply = eve
        .send(
            Method::PUT,
            &path,
            Some(json!({"title": "Mine now", "body": ""})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(
        eve.send(Method::DELETE, &path, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(eve.get("/api/notes").await.body["count"], 0);
    assert_eq!(client.get(&path).await.body["title"], "Secret");
}

async fn notes_are_paged_newest_first(mut client: Client) {
    register(&mut client, "grace_h").await;
    for number in 1..=23 {
        let reply = client
            .post(
                "/api/notes",
                json!({"title": format!("Note {number}"), "body": ""}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED);
    }
    let first = client.get("/api/notes").await.body;
    assert_eq!(first["count"], 23);
    assert_eq!(first["previous"], Value::Null);
    assert!(first["next"]
        .as_str()
        .unwrap()
        .ends_with("/api/notes?page=2"));
    assert!(first["next"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));
    let titles: Vec<_> = first["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|note| note["title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        titles,
        (14..=23)
            .rev()
            .map(|n| format!("Note {n}"))
            .collect::<Vec<_>>()
    );

    let last = client.get("/api/notes?page=3").await.body;
    assert_eq!(last["results"].as_array().unwrap().len(), 3);
    assert_eq!(last["results"][2]["title"], "Note 1");
    assert_eq!(last["next"], Value::Null);
    assert!(last["previous"]
        .as_str()
        .unwrap()
        .ends_with("/api/notes?page=2"));
    for page in [
        "4",
        "0",
        "abc",
        "-1",
        "18446744073709551615",
        "1844674407370955162",
        "99999999999999999999999",
    ] {
        let reply = client.get(&format!("/api/notes?page={page}")).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "page {page}");
        assert_eq!(reply.body, json!({"detail": "Invalid page."}));
    }
}

/// Deleting a note, or logging a device out, needs the password proved within `--reauth-after`
/// (10 minutes): a login or the password entered again; the change of password carries its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensitive_actions_ask_for_the_password_again_after_ten_minutes() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::parse_from([
        "server",
        "--store",
        "memory",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    let clock = cookieless::Clock::default();
    let app = App::build_with_clock(&config, clock.clone()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(app.serve(listener));
    let mut client = Client::new(&base);
    register(&mut client, "barbara").await;
    let note = |client: &mut Client| {
        let mut client = client.clone();
        async move {
            let created = client
                .post("/api/notes", json!({"title": "t", "body": ""}))
                .await;
            format!("/api/notes/{}", created.body["id"])
        }
    };
    let fresh = note(&mut client).await;
    let reply = client.send(Method::DELETE, &fresh, None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);

    clock.advance(std::time::Duration::from_secs(601));
    let stale = note(&mut client).await;
    let refused = client.send(Method::DELETE, &stale, None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.body["code"], "reauthentication_required");
    assert_eq!(
        client.get(&stale).await.status,
        StatusCode::OK,
        "not deleted"
    );
    let others = client.post_empty("/api/sessions/revoke-others").await;
    assert_eq!(others.status, StatusCode::FORBIDDEN);
    let _phone = log_in_as(&base, "Phone", "barbara").await;
    let listed = client.get("/api/sessions").await.body;
    let phone = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|info| info["current"] == false)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let phone = format!("/api/sessions/{phone}");
    let one = client.send(Method::DELETE, &phone, None).await;
    assert_eq!(one.status, StatusCode::FORBIDDEN);
    assert_eq!(one.body["code"], "reauthentication_required");

    let wrong = client
        .post("/api/auth/confirm", json!({"password": "not it"}))
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong.body["password"], json!(["The password is wrong."]));
    assert_eq!(client.get("/api/auth/me").await.status, StatusCode::OK);
    let right = client
        .post("/api/auth/confirm", json!({"password": PASSWORD}))
        .await;
    assert_eq!(right.status, StatusCode::NO_CONTENT);
    let reply = client.send(Method::DELETE, &stale, None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let one = client.send(Method::DELETE, &phone, None).await;
    assert_eq!(one.status, StatusCode::NO_CONTENT);
    let others = client.post_empty("/api/sessions/revoke-others").await;
    assert_eq!(others.status, StatusCode::NO_CONTENT);

    // Guessing the password through the confirmation is throttled as a login is: after five
    // wrong answers even the right one waits.
    let mut guesser = Client::new(&base);
    register(&mut guesser, "guessed_again").await;
    for _ in 0..5 {
        let wrong = guesser
            .post("/api/auth/confirm", json!({"password": "wrong guess"}))
            .await;
        assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    }
    let throttled = guesser
        .post("/api/auth/confirm", json!({"password": PASSWORD}))
        .await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.headers.contains_key("retry-after"));

    // Without a login there is nothing to confirm.
    let mut visitor = Client::new(&base);
    let reply = visitor
        .post("/api/auth/confirm", json!({"password": PASSWORD}))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

async fn start_with(args: &[&str]) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap().to_string();
    let mut argv = vec!["server", "--store", "memory", "--data-dir", &data_dir];
    argv.extend_from_slice(args);
    let app = App::build(&Config::parse_from(argv)).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(app.serve(listener));
    Running { base, _dir: dir }
}

/// The notes as one Markdown file: with the header by default; with `--transport
/// header-or-cookie`, with the cookie alone too, as a plain link sends it, and still no unsafe
/// request from another site on that cookie.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_export_as_markdown_with_the_header_or_the_cookie() {
    for transport in ["header-only", "header-or-cookie"] {
        let running = start_with(&["--transport", transport]).await;
        // By hand: the test client refuses any answer that sets a cookie.
        let http = reqwest::Client::new();
        let api = |path: &str| format!("{}{path}", running.base);
        let transport_reply = http
            .get(api("/api/session/transport"))
            .send()
            .await
            .unwrap();
        let transport_reply: Value = transport_reply.json().await.unwrap();
        assert_eq!(transport_reply, json!({"transport": transport}));
        let registered = http
            .post(api("/api/auth/register"))
            .json(&json!({"username": "hedy", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(registered.status(), StatusCode::CREATED);
        let cookie = registered.headers().get(reqwest::header::SET_COOKIE);
        assert_eq!(
            cookie.is_some(),
            transport == "header-or-cookie",
            "{transport}"
        );
        let token = registered.headers()["x-session"]
            .to_str()
            .unwrap()
            .to_string();
        for title in [
            "Frequency hopping",
            "Torpedo guidance",
            "<script>alert(1)</script>",
        ] {
            let created = http
                .post(api("/api/notes"))
                .header("x-session", &token)
                .json(&json!({"title": title, "body": "Spread it."}))
                .send()
                .await
                .unwrap();
            assert_eq!(created.status(), StatusCode::CREATED);
        }
        let export = format!("{}/api/notes/export", running.base);
        let by_header = http
            .get(&export)
            .header("x-session", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(by_header.status(), StatusCode::OK);
        assert_eq!(
            by_header.headers()[CONTENT_TYPE],
            "text/markdown; charset=utf-8"
        );
        assert_eq!(
            by_header.headers()["content-disposition"],
            "attachment; filename=\"notes.md\""
        );
        let markdown = by_header.text().await.unwrap();
        assert!(markdown.starts_with("# Notes of hedy\n"), "{markdown}");
        assert!(
            markdown.contains("## Frequency hopping") && markdown.contains("## Torpedo guidance")
        );

        let cookie = format!("__Host-session={token}");
        let by_cookie = http.get(&export).header("cookie", &cookie).send().await;
        let expected = match transport {
            "header-only" => StatusCode::UNAUTHORIZED,
            _ => StatusCode::OK,
        };
        assert_eq!(by_cookie.unwrap().status(), expected, "{transport}");

        // The page the server renders for printing: the same notes, none of them markup.
        let printable = format!("{}/api/notes/printable", running.base);
        let page = http.get(&printable).header("cookie", &cookie).send().await;
        let page = page.unwrap();
        assert_eq!(page.status(), expected, "{transport}");
        if expected == StatusCode::OK {
            assert_eq!(page.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
            let html = page.text().await.unwrap();
            assert!(html.contains("<h1>Notes of hedy</h1>"), "{html}");
            assert!(html.contains("<h2>Torpedo guidance</h2>"), "{html}");
            assert!(
                html.contains("<h2>&lt;script&gt;alert(1)&lt;/script&gt;</h2>"),
                "{html}"
            );
            assert!(!html.contains("<script>"), "{html}");
        }
        let forged = http
            .post(format!("{}/api/counter/increment", running.base))
            .header("cookie", &cookie)
            .header("sec-fetch-site", "same-site")
            .send()
            .await
            .unwrap();
        if transport == "header-or-cookie" {
            assert_eq!(forged.status(), StatusCode::FORBIDDEN);
            let body: Value = forged.json().await.unwrap();
            assert_eq!(body["code"], "cross_site_request");
        } else {
            // The cookie means nothing: a new visitor's first write.
            assert_eq!(forged.status(), StatusCode::OK);
            assert!(forged.headers().get(reqwest::header::SET_COOKIE).is_none());
        }
    }
}

/// The SPA's build files go out in the compressed copy the build made, cached for good when
/// their names carry their hash; the page is checked on every visit; large JSON answers are
/// compressed, small ones not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_load_is_compressed_and_the_build_cached() {
    let site = tempfile::tempdir().unwrap();
    let file = |name: &str, bytes: &[u8]| std::fs::write(site.path().join(name), bytes).unwrap();
    file("index.html", b"<!doctype html><title>demo</title>");
    file("frontend-0123456789abcdef.js", b"console.log('demo')");
    file("frontend-0123456789abcdef.js.br", b"brotli bytes");
    file("frontend-0123456789abcdef.js.gz", b"gzip bytes");
    let running = start_with(&["--static-dir", site.path().to_str().unwrap()]).await;
    let http = reqwest::Client::new();
    let get = |path: &str, encodings: &str| {
        http.get(format!("{}{path}", running.base))
            .header("accept-encoding", encodings)
            .send()
    };

    let script = get("/frontend-0123456789abcdef.js", "gzip, br")
        .await
        .unwrap();
    assert_eq!(script.headers()["content-encoding"], "br");
    assert_eq!(
        script.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(script.bytes().await.unwrap().as_ref(), b"brotli bytes");
    let script = get("/frontend-0123456789abcdef.js", "gzip").await.unwrap();
    assert_eq!(script.headers()["content-encoding"], "gzip");
    let plain = get("/frontend-0123456789abcdef.js", "identity")
        .await
        .unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(
        plain.bytes().await.unwrap().as_ref(),
        b"console.log('demo')"
    );

    for page in ["/", "/notes"] {
        let page = get(page, "br").await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.headers()["cache-control"], "no-cache");
        assert!(page.headers().get("content-encoding").is_none());
    }
    let missing = get("/frontend-fedcba9876543210.js", "br").await.unwrap();
    assert_eq!(
        missing.headers()["cache-control"],
        "no-cache",
        "the page, not the file"
    );

    // JSON: a list of long notes is compressed, a counter is not.
    let mut client = Client::new(&running.base);
    register(&mut client, "grace").await;
    for title in ["one", "two", "three"] {
        client
            .post(
                "/api/notes",
                json!({"title": title, "body": "x".repeat(1_000)}),
            )
            .await;
    }
    let token = client.token.clone().unwrap();
    let api = |path: &str| {
        http.get(format!("{}{path}", running.base))
            .header("x-session", &token)
            .header("accept-encoding", "gzip")
            .send()
    };
    let notes = api("/api/notes").await.unwrap();
    assert_eq!(notes.headers()["content-encoding"], "gzip");
    assert!(notes.headers().contains_key("x-session"));
    assert!(notes.bytes().await.unwrap().len() < 1_000);
    let counter = api("/api/counter").await.unwrap();
    assert!(counter.headers().get("content-encoding").is_none());
}
