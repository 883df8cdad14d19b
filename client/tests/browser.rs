//! The token holder in a real browser (cookies allowed): where it keeps the token, and how it
//! follows the protocol's response rules, and when requests may leave. Run by `scripts/test` with wasm-bindgen-test-runner in
//! headless Chromium; the cookie-blocked browser is covered by the Playwright suite.
#![cfg(target_arch = "wasm32")]

use cookieless_client::{
    apply_response, current, install, Place, SessionRequest, StoragePolicy, START_WAIT,
};
use futures_util::FutureExt;
use gloo_net::http::Method;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn session_storage_token() -> Option<String> {
    let storage = web_sys::window()?.session_storage().ok()??;
    storage.get_item("x-session").ok()?
}

fn history_state_token() -> Option<String> {
    let state = web_sys::window()?.history().ok()?.state().ok()?;
    js_sys::Reflect::get(&state, &JsValue::from_str("xSession"))
        .ok()?
        .as_string()
}

#[wasm_bindgen_test]
fn auto_chooses_session_storage_where_it_works() {
    assert_eq!(install(StoragePolicy::Auto), Place::SessionStorage);
    assert_eq!(install(StoragePolicy::HistoryState), Place::HistoryState);
    assert_eq!(install(StoragePolicy::Memory), Place::Memory);
}

#[wasm_bindgen_test]
fn responses_set_and_clear_the_token_in_session_storage() {
    install(StoragePolicy::SessionStorage);
    apply_response(current().as_deref(), Some(""));
    apply_response(None, Some("first-token-aaaaaaaaaaaa"));
    assert_eq!(current().as_deref(), Some("first-token-aaaaaaaaaaaa"));
    assert_eq!(
        session_storage_token().as_deref(),
        Some("first-token-aaaaaaaaaaaa")
    );

    // A reload: a new holder picks the token up from where it was kept.
    install(StoragePolicy::SessionStorage);
    assert_eq!(current().as_deref(), Some("first-token-aaaaaaaaaaaa"));

    // A stale response (sent with another token) changes nothing; a current one clears.
    apply_response(Some("older-token-aaaaaaaaaaaa"), Some(""));
    assert_eq!(current().as_deref(), Some("first-token-aaaaaaaaaaaa"));
    apply_response(Some("first-token-aaaaaaaaaaaa"), Some(""));
    assert_eq!(current(), None);
    assert_eq!(session_storage_token(), None);
}

#[wasm_bindgen_test]
fn history_state_carries_the_token_into_new_entries() {
    install(StoragePolicy::HistoryState);
    apply_response(current().as_deref(), Some(""));
    apply_response(None, Some("history-token-aaaaaaaaaa"));
    assert_eq!(
        history_state_token().as_deref(),
        Some("history-token-aaaaaaaaaa")
    );

    // A router pushes a new entry with a state of its own; the token goes along.
    let history = web_sys::window().unwrap().history().unwrap();
    let router_state = js_sys::Object::new();
    js_sys::Reflect::set(&router_state, &"route".into(), &"next".into()).unwrap();
    history
        .push_state_with_url(&router_state, "", Some("?next"))
        .unwrap();
    assert_eq!(
        history_state_token().as_deref(),
        Some("history-token-aaaaaaaaaa")
    );
    let state = history.state().unwrap();
    assert_eq!(
        js_sys::Reflect::get(&state, &"route".into())
            .unwrap()
            .as_string()
            .as_deref(),
        Some("next"),
        "the router's own state must survive"
    );
    history.replace_state(&JsValue::NULL, "").unwrap();
    assert_eq!(
        history_state_token().as_deref(),
        Some("history-token-aaaaaaaaaa")
    );

    install(StoragePolicy::HistoryState);
    assert_eq!(current().as_deref(), Some("history-token-aaaaaaaaaa"));
    apply_response(current().as_deref(), Some(""));
    assert_eq!(history_state_token(), None);
}

#[wasm_bindgen_test]
fn memory_keeps_the_token_nowhere_else() {
    install(StoragePolicy::SessionStorage);
    apply_response(current().as_deref(), Some(""));
    install(StoragePolicy::Memory);
    apply_response(None, Some("memory-token-aaaaaaaaaaa"));
    assert_eq!(current().as_deref(), Some("memory-token-aaaaaaaaaaa"));
    assert_eq!(session_storage_token(), None);
    install(StoragePolicy::Memory);
    assert_eq!(current(), None, "a memory token must not survive a reload");
}

fn start_without_token() {
    install(StoragePolicy::Memory);
    apply_response(current().as_deref(), Some(""));
    assert_eq!(current(), None);
}

#[wasm_bindgen_test]
async fn without_a_token_one_write_at_a_time_starts_the_session() {
    start_without_token();
    let first = SessionRequest::begin(&Method::POST).await;
    assert_eq!(first.token(), None);

    let mut second = Box::pin(SessionRequest::begin(&Method::POST));
    let mut read = Box::pin(SessionRequest::begin(&Method::GET));
    assert!(
        (&mut second).now_or_never().is_none(),
        "a second write must wait"
    );
    assert!(
        (&mut read).now_or_never().is_none(),
        "a read must wait for the session to start"
    );

    first.finish(Some("started-token-aaaaaaaaaa"));
    let second = second.await;
    assert_eq!(second.token(), Some("started-token-aaaaaaaaaa"));
    assert_eq!(read.await.token(), Some("started-token-aaaaaaaaaa"));
    second.finish(Some("started-token-aaaaaaaaaa"));
}

#[wasm_bindgen_test]
async fn reads_and_requests_with_a_token_hold_nothing_back() {
    start_without_token();
    let read = SessionRequest::begin(&Method::GET).await;
    let write = SessionRequest::begin(&Method::POST)
        .now_or_never()
        .expect("a read does not start a session, so a write need not wait for it");
    read.finish(None);

    write.finish(Some("held-token-aaaaaaaaaaaaa"));
    let first = SessionRequest::begin(&Method::POST).await;
    let second = SessionRequest::begin(&Method::DELETE)
        .now_or_never()
        .expect("with a token held, requests go at once");
    assert_eq!(first.token(), Some("held-token-aaaaaaaaaaaaa"));
    assert_eq!(second.token(), Some("held-token-aaaaaaaaaaaaa"));
}

#[wasm_bindgen_test]
async fn a_write_that_fails_lets_the_next_one_start_the_session() {
    start_without_token();
    let failed = SessionRequest::begin(&Method::POST).await;
    let mut next = Box::pin(SessionRequest::begin(&Method::POST));
    assert!((&mut next).now_or_never().is_none());
    drop(failed);
    let next = next.await;
    assert_eq!(
        next.token(),
        None,
        "no session was started, so the next write starts it"
    );
    next.finish(Some("second-try-token-aaaaaaa"));
    assert_eq!(current().as_deref(), Some("second-try-token-aaaaaaa"));
}

#[wasm_bindgen_test]
async fn a_write_that_never_ends_holds_the_others_back_only_so_long() {
    start_without_token();
    let stalled = SessionRequest::begin(&Method::POST).await;
    let began = js_sys::Date::now();
    let next = SessionRequest::begin(&Method::POST).await;
    let waited = js_sys::Date::now() - began;
    assert_eq!(next.token(), None, "no session was started");
    assert!(
        waited >= START_WAIT.as_millis() as f64 - 50.0,
        "went after {waited} ms, before the stalled write had had its time"
    );
    drop(next);
    drop(stalled);
}
