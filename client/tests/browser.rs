//! The token holder in a real browser (cookies allowed): where it keeps the token, and how it
//! follows the protocol's response rules. Run by `scripts/test` with wasm-bindgen-test-runner in
//! headless Chromium; the cookie-blocked browser is covered by the Playwright suite.
#![cfg(target_arch = "wasm32")]

use cookieless_client::{apply_response, current, install, Place, StoragePolicy};
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
