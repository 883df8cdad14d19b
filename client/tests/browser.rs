//! The token holder in a real browser (cookies allowed): where it keeps the token, and how it
//! follows the protocol's response rules, and when requests may leave. Run by `scripts/test` with wasm-bindgen-test-runner in
//! headless Chromium; the cookie-blocked browser is covered by the Playwright suite.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use cookieless_client::{
    apply_response, current, expires, install, install_with_scope, ready, set_user, subscribe,
    user, Answer, Place, SessionEvent, SessionRequest, StoragePolicy, TabScope, CHANNEL,
    START_WAIT,
};
use futures_util::FutureExt;
use gloo_net::http::Method;
use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
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

/// An answer's headers: the token, the deadline, and the server's clock when it answered.
fn answer(
    token: &'static str,
    expires: &'static str,
    date: &'static str,
) -> impl Fn(&str) -> Option<String> {
    move |name| match name {
        "X-Session" => Some(token.into()),
        "X-Session-Expires" => Some(expires.into()),
        "Date" => Some(date.into()),
        _ => None,
    }
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

/// One tab alone: the rules of this page, without another tab to ask.
fn start_without_token() {
    install_with_scope(StoragePolicy::Memory, TabScope::PerTab);
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

/// Another tab of the site, played by a channel of this page: it answers every question with
/// `answer`, and keeps what the page's tab says.
struct OtherTab {
    channel: web_sys::BroadcastChannel,
    heard: Rc<RefCell<Vec<serde_json::Value>>>,
    _listening: Closure<dyn Fn(web_sys::MessageEvent)>,
}

impl OtherTab {
    fn open(answer: serde_json::Value) -> Self {
        let channel = web_sys::BroadcastChannel::new(CHANNEL).unwrap();
        let heard = Rc::new(RefCell::new(Vec::new()));
        let (replies, kept) = (channel.clone(), heard.clone());
        let listening =
            Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
                let text = event.data().as_string().unwrap_or_default();
                let message: serde_json::Value = serde_json::from_str(&text).unwrap();
                if message.get("ask").is_some() {
                    let answer = answer.to_string();
                    replies.post_message(&JsValue::from_str(&answer)).unwrap();
                }
                kept.borrow_mut().push(message);
            });
        channel.set_onmessage(Some(listening.as_ref().unchecked_ref()));
        OtherTab {
            channel,
            heard,
            _listening: listening,
        }
    }

    /// What the page's tab said, of one kind (`state`, `deadline`, ...).
    fn heard(&self, kind: &str) -> Vec<serde_json::Value> {
        let heard = self.heard.borrow();
        heard
            .iter()
            .filter_map(|message| message.get(kind))
            .cloned()
            .collect()
    }

    fn say(&self, message: serde_json::Value) {
        let message = JsValue::from_str(&message.to_string());
        self.channel.post_message(&message).unwrap();
    }
}

impl Drop for OtherTab {
    fn drop(&mut self) {
        self.channel.close();
    }
}

#[wasm_bindgen_test]
async fn a_tab_that_opens_takes_the_token_the_open_tabs_hold_and_tells_them_its_changes() {
    let other = OtherTab::open(serde_json::json!({
        "state": {"from": 1, "state": {"token": "shared-token-aaaaaaaaaaa", "expires": null, "stamp": {"count": 5, "tab": 1}}},
    }));
    let (place, scope) = install_with_scope(StoragePolicy::Memory, TabScope::Shared);
    assert_eq!((place, scope), (Place::Memory, TabScope::Shared));
    ready().await;
    assert_eq!(current().as_deref(), Some("shared-token-aaaaaaaaaaa"));
    assert_eq!(other.heard("ask").len(), 1);

    // A new deadline for the same token goes out as a deadline, never as a change of token, and
    // a deadline that belongs to another change of token is not taken.
    let read = SessionRequest::begin(&Method::GET).await;
    read.finish_response(
        200,
        answer(
            "shared-token-aaaaaaaaaaa",
            "2030-01-01T00:10:00Z",
            "Tue, 01 Jan 2030 00:00:00 GMT",
        ),
    );
    let deadline = expires().expect("a deadline");
    TimeoutFuture::new(50).await;
    let told = other.heard("deadline");
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["stamp"]["count"], 5);
    assert!(other.heard("state").is_empty());
    other.say(serde_json::json!({
        "deadline": {"from": 1, "stamp": {"count": 4, "tab": 1}, "expires": 1.0},
    }));
    TimeoutFuture::new(50).await;
    assert_eq!(expires(), Some(deadline));

    let request = SessionRequest::begin(&Method::POST)
        .now_or_never()
        .expect("with the other tabs' token held, requests go at once");
    assert_eq!(request.token(), Some("shared-token-aaaaaaaaaaa"));

    // A logout here reaches the other tab, stamped later than what it held.
    request.finish(Some(""));
    TimeoutFuture::new(50).await;
    let states = other.heard("state");
    let last = states.last().expect("the change was told");
    assert_eq!(last["state"]["token"], serde_json::Value::Null);
    assert!(last["state"]["stamp"]["count"].as_u64().unwrap() > 5);
    // An older state from another tab changes nothing.
    let stale = serde_json::json!({
        "state": {"from": 1, "state": {"token": "stale-token-aaaaaaaaaaaa", "expires": null, "stamp": {"count": 2, "tab": 1}}},
    });
    other.say(stale);
    TimeoutFuture::new(50).await;
    assert_eq!(current(), None);
    drop(other);
    start_without_token();
}

#[wasm_bindgen_test]
async fn a_request_refused_for_a_retired_token_is_sent_again_with_the_new_one() {
    start_without_token();
    apply_response(None, Some("before-login-aaaaaaaaaaa"));
    let write = SessionRequest::begin(&Method::POST).await;
    let login = SessionRequest::begin(&Method::POST).await;
    // The write reached the server after the login had rotated the token.
    let answer = write.finish_response(409, |_| None);
    assert_eq!(
        answer,
        Answer::Rotated {
            sent: Some("before-login-aaaaaaaaaaa".into())
        }
    );
    let retry = answer.retry_token();
    let login_answer = async {
        TimeoutFuture::new(20).await;
        login.finish_response(200, |name| {
            (name == "X-Session").then(|| "after-login-aaaaaaaaaaaa".to_string())
        })
    };
    let (token, login_answer) = futures_util::join!(retry, login_answer);
    assert_eq!(token.as_deref(), Some("after-login-aaaaaaaaaaaa"));
    assert_eq!(login_answer, Answer::Final);
    // The application's own 409 carries the token, and stands.
    let conflict = SessionRequest::begin(&Method::POST).await;
    let answer = conflict.finish_response(409, |name| {
        (name == "X-Session").then(|| "after-login-aaaaaaaaaaaa".to_string())
    });
    assert_eq!(answer, Answer::Final);
}

#[wasm_bindgen_test]
async fn the_token_is_forgotten_when_its_deadline_passes() {
    start_without_token();
    let request = SessionRequest::begin(&Method::POST).await;
    // The server's clock says the session has ten minutes left, whatever the browser's says.
    request.finish_response(
        200,
        answer(
            "deadline-token-aaaaaaaaa",
            "2030-01-01T00:10:00Z",
            "Tue, 01 Jan 2030 00:00:00 GMT",
        ),
    );
    let left = expires().unwrap() - js_sys::Date::now();
    assert!((599_000.0..=600_000.0).contains(&left), "{left} ms left");

    // Its deadline already past by the server's clock.
    let stay_signed_in = SessionRequest::begin(&Method::POST).await;
    let request = SessionRequest::begin(&Method::GET).await;
    request.finish_response(
        200,
        answer(
            "deadline-token-aaaaaaaaa",
            "2030-01-01T00:00:00Z",
            "Tue, 01 Jan 2030 00:00:01 GMT",
        ),
    );
    TimeoutFuture::new(20).await;
    assert_eq!(
        current(),
        None,
        "a dead token is forgotten without a request"
    );
    assert_eq!(expires(), None);

    // A request that left before the deadline and kept the session alive brings it back.
    stay_signed_in.finish_response(
        200,
        answer(
            "deadline-token-aaaaaaaaa",
            "2030-01-01T00:10:00Z",
            "Tue, 01 Jan 2030 00:00:00 GMT",
        ),
    );
    assert_eq!(current().as_deref(), Some("deadline-token-aaaaaaaaa"));
    assert!(expires().is_some());
}

#[wasm_bindgen_test]
async fn an_answer_to_a_token_another_tab_replaced_is_ignored() {
    let other = OtherTab::open(serde_json::json!({
        "state": {"from": 1, "state": {"token": "before-aaaaaaaaaaaaaaaa", "expires": null, "stamp": {"count": 3, "tab": 1}}},
    }));
    install_with_scope(StoragePolicy::Memory, TabScope::Shared);
    ready().await;
    assert_eq!(current().as_deref(), Some("before-aaaaaaaaaaaaaaaa"));
    let request = SessionRequest::begin(&Method::POST).await;
    // Meanwhile the other tab logged in: the token every tab holds is now its new one.
    other.say(serde_json::json!({
        "state": {"from": 1, "state": {"token": "logged-in-aaaaaaaaaaaaa", "expires": null, "stamp": {"count": 4, "tab": 1}}},
    }));
    TimeoutFuture::new(50).await;
    assert_eq!(current().as_deref(), Some("logged-in-aaaaaaaaaaaaa"));
    // The late answer to the old token, whatever it says, changes nothing.
    request.finish(Some("stale-answer-aaaaaaaaaa"));
    assert_eq!(current().as_deref(), Some("logged-in-aaaaaaaaaaaaa"));
    let request = SessionRequest::begin(&Method::POST).await;
    assert_eq!(request.token(), Some("logged-in-aaaaaaaaaaaaa"));
    drop(request);
    drop(other);
    start_without_token();
}

#[wasm_bindgen_test]
async fn who_is_logged_in_is_shared_with_the_token_and_dropped_with_it() {
    let other = OtherTab::open(serde_json::json!({
        "state": {"from": 1, "state": {"token": "member-aaaaaaaaaaaaaaaa", "expires": null, "stamp": {"count": 7, "tab": 1}, "user": "ada", "user_known": true}},
    }));
    install_with_scope(StoragePolicy::Memory, TabScope::Shared);
    ready().await;
    // A tab that opens learns who is logged in with the token, without asking the server.
    assert_eq!(user(), Some(Some("ada".to_string())));

    // Another tab's word counts for the token it holds, not for an earlier one.
    other.say(serde_json::json!({
        "user": {"from": 1, "stamp": {"count": 6, "tab": 1}, "user": "mallory"},
    }));
    TimeoutFuture::new(50).await;
    assert_eq!(user(), Some(Some("ada".to_string())));

    // What this tab learns goes to the others, stamped with the change of token it is about.
    set_user(Some("ada lovelace"));
    TimeoutFuture::new(50).await;
    let told = other.heard("user");
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["user"], "ada lovelace");
    assert_eq!(told[0]["stamp"]["count"], 7);

    // A new token comes with nobody known until somebody says; no token is nobody.
    let request = SessionRequest::begin(&Method::POST).await;
    request.finish(Some("rotated-aaaaaaaaaaaaaaa"));
    assert_eq!(user(), None);
    let request = SessionRequest::begin(&Method::POST).await;
    request.finish(Some(""));
    assert_eq!(user(), Some(None));
    drop(other);
    start_without_token();
}

#[wasm_bindgen_test]
async fn an_overtaken_answer_never_brings_an_earlier_deadline_back() {
    start_without_token();
    apply_response(None, Some("deadline-token-bbbbbbbbb"));
    let read = SessionRequest::begin(&Method::GET).await;
    let stay_signed_in = SessionRequest::begin(&Method::POST).await;
    // "Stay signed in", sent after the read, is answered first with the later deadline.
    stay_signed_in.finish_response(
        200,
        answer(
            "deadline-token-bbbbbbbbb",
            "2030-01-01T00:30:00Z",
            "Tue, 01 Jan 2030 00:00:00 GMT",
        ),
    );
    let later = expires().unwrap();
    read.finish_response(
        200,
        answer(
            "deadline-token-bbbbbbbbb",
            "2030-01-01T00:10:00Z",
            "Tue, 01 Jan 2030 00:00:00 GMT",
        ),
    );
    assert_eq!(expires(), Some(later));
    // A request sent after both may bring it forward (the server shortened it).
    let next = SessionRequest::begin(&Method::GET).await;
    next.finish_response(
        200,
        answer(
            "deadline-token-bbbbbbbbb",
            "2030-01-01T00:10:00Z",
            "Tue, 01 Jan 2030 00:00:00 GMT",
        ),
    );
    assert!(expires().unwrap() < later - 1_000_000.0);
}

#[wasm_bindgen_test]
async fn a_token_kept_across_a_reload_gives_way_to_any_change_the_open_tabs_know() {
    // This tab held a token before its reload; since then, another tab started a session.
    install_with_scope(StoragePolicy::HistoryState, TabScope::PerTab);
    apply_response(current().as_deref(), Some(""));
    apply_response(None, Some("from-before-reload-aaaaa"));
    let other = OtherTab::open(serde_json::json!({
        "state": {"from": 1, "state": {"token": "started-since-aaaaaaaaa", "expires": null, "stamp": {"count": 1, "tab": 1}}},
    }));
    install_with_scope(StoragePolicy::HistoryState, TabScope::Shared);
    ready().await;
    assert_eq!(current().as_deref(), Some("started-since-aaaaaaaaa"));
    // It asked with its old token stamped as no change at all, so no open tab took it.
    let asked = other.heard("ask");
    assert_eq!(asked[0]["state"]["token"], "from-before-reload-aaaaa");
    assert_eq!(asked[0]["state"]["stamp"]["count"], 0);
    drop(other);
    apply_response(current().as_deref(), Some(""));
    start_without_token();
}

#[wasm_bindgen_test]
async fn of_two_tokens_kept_across_reloads_the_later_changed_one_wins() {
    install_with_scope(StoragePolicy::HistoryState, TabScope::PerTab);
    apply_response(current().as_deref(), Some(""));
    apply_response(None, Some("kept-by-this-tab-aaaaaaa"));
    // A tab reopened with a token from long ago: this tab's stays, and that tab takes it.
    let older = OtherTab::open(serde_json::json!({
        "state": {"from": 1, "state": {"token": "kept-long-ago-aaaaaaaaaa", "expires": null, "stamp": {"count": 0, "tab": 1}, "changed_at": 1.0}},
    }));
    install_with_scope(StoragePolicy::HistoryState, TabScope::Shared);
    ready().await;
    assert_eq!(current().as_deref(), Some("kept-by-this-tab-aaaaaaa"));
    // Every answer of that tab arrives before it goes, so that none is taken for another's.
    TimeoutFuture::new(50).await;
    drop(older);
    // A tab whose token changed after this one's: its token is the one to hold.
    let later = js_sys::Date::now() + 60_000.0;
    let newer = OtherTab::open(serde_json::json!({
        "state": {"from": 2, "state": {"token": "kept-since-aaaaaaaaaaaaa", "expires": null, "stamp": {"count": 0, "tab": 2}, "changed_at": later}},
    }));
    install_with_scope(StoragePolicy::HistoryState, TabScope::Shared);
    ready().await;
    assert_eq!(current().as_deref(), Some("kept-since-aaaaaaaaaaaaa"));
    drop(newer);
    apply_response(current().as_deref(), Some(""));
    start_without_token();
}

#[wasm_bindgen_test]
async fn a_401_speaks_for_the_token_held_only_if_it_was_sent_with_it() {
    start_without_token();
    let refusals = Rc::new(RefCell::new(0));
    let counted = refusals.clone();
    subscribe(move |event| {
        if *event == SessionEvent::Unauthorized {
            *counted.borrow_mut() += 1;
        }
    });
    apply_response(None, Some("refused-token-aaaaaaaaaa"));
    // The server no longer knows the token: it says so, and clears it.
    let request = SessionRequest::begin(&Method::GET).await;
    request.finish_with_status(401, Some(""));
    assert_eq!(*refusals.borrow(), 1);
    assert_eq!(current(), None);

    // A refusal of a token replaced (a login) while the request was on its way.
    apply_response(None, Some("before-login-bbbbbbbbbbb"));
    let slow = SessionRequest::begin(&Method::GET).await;
    apply_response(current().as_deref(), Some("after-login-bbbbbbbbbbbb"));
    slow.finish_with_status(401, Some(""));
    assert_eq!(*refusals.borrow(), 1, "a stale refusal ended the new login");
    assert_eq!(current().as_deref(), Some("after-login-bbbbbbbbbbbb"));
    start_without_token();
}
