//! Where the token is kept between page loads, chosen by a policy and found by probing.
//!
//! A browser that blocks cookies also blocks Web Storage: `sessionStorage` throws `SecurityError`
//! (and `navigator.cookieEnabled` still says `true`). Every access here is therefore fallible and
//! probed, never assumed; nothing panics when storage is denied. This is also why gloo-storage is
//! not used: its `SessionStorage` panics when the browser refuses storage.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

/// Key of the token in `sessionStorage`.
const STORAGE_KEY: &str = "x-session";
/// Property of the token in `history.state`.
const STATE_KEY: &str = "xSession";
/// Beside the token: when it was last changed, by `Date.now()`, which orders tokens that tabs
/// bring back from before a reload (see `tokens`).
const STORAGE_AT_KEY: &str = "x-session-at";
const STATE_AT_KEY: &str = "xSessionAt";

/// How the application wants the token kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StoragePolicy {
    /// `sessionStorage` when it works, else `history.state`, else memory.
    #[default]
    Auto,
    /// Per tab, survives reloads; unavailable where cookies are blocked.
    SessionStorage,
    /// In the current history entry's state: per tab, survives reloads, not readable by other
    /// sites, and available where Web Storage is blocked.
    HistoryState,
    /// Only in the page's memory: gone on reload.
    Memory,
}

impl StoragePolicy {
    /// Reads a policy's name as written in a URL or configuration: `auto`, `session-storage`,
    /// `history-state`, `memory`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "auto" => Some(StoragePolicy::Auto),
            "session-storage" => Some(StoragePolicy::SessionStorage),
            "history-state" => Some(StoragePolicy::HistoryState),
            "memory" => Some(StoragePolicy::Memory),
            _ => None,
        }
    }
}

/// Where the token is actually kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// In `sessionStorage`, under the key `x-session`.
    SessionStorage,
    /// In the current history entry's state, as its `xSession` property.
    HistoryState,
    /// Nowhere but the page's memory.
    Memory,
}

impl Place {
    /// How a person would say where the token is.
    pub fn label(self) -> &'static str {
        match self {
            Place::SessionStorage => "sessionStorage",
            Place::HistoryState => "history.state",
            Place::Memory => "memory only",
        }
    }

    /// The place a policy gets in a browser where the given mechanisms work. A policy whose
    /// mechanism is unavailable falls back to memory rather than failing.
    pub fn for_policy(policy: StoragePolicy, storage_works: bool, history_works: bool) -> Self {
        match policy {
            StoragePolicy::Auto if storage_works => Place::SessionStorage,
            StoragePolicy::Auto if history_works => Place::HistoryState,
            StoragePolicy::SessionStorage if storage_works => Place::SessionStorage,
            StoragePolicy::HistoryState if history_works => Place::HistoryState,
            _ => Place::Memory,
        }
    }

    /// Finds out where `policy` can keep the token in this browser.
    pub fn probe(policy: StoragePolicy) -> Self {
        Self::for_policy(policy, session_storage().is_some(), history().is_some())
    }

    /// The token kept here by an earlier page load, if any.
    pub fn read(self) -> Option<String> {
        match self {
            Place::SessionStorage => session_storage()?.get_item(STORAGE_KEY).ok()?,
            Place::HistoryState => {
                let state = history()?.state().ok()?;
                js_sys::Reflect::get(&state, &JsValue::from_str(STATE_KEY))
                    .ok()?
                    .as_string()
            }
            Place::Memory => None,
        }
    }

    /// Keeps `token` here (or forgets it). Failures are ignored: the token stays in memory,
    /// which is the source of truth while the page lives.
    pub fn write(self, token: Option<&str>) {
        self.write_changed(token, js_sys::Date::now());
    }

    /// When the token kept here was last changed, by `Date.now()`; 0 if unknown.
    pub(crate) fn changed_at(self) -> f64 {
        let at = match self {
            Place::SessionStorage => session_storage()
                .and_then(|storage| storage.get_item(STORAGE_AT_KEY).ok()?)
                .and_then(|at| at.parse().ok()),
            Place::HistoryState => history()
                .and_then(|history| history.state().ok())
                .and_then(|state| {
                    js_sys::Reflect::get(&state, &JsValue::from_str(STATE_AT_KEY)).ok()
                })
                .and_then(|at| at.as_f64()),
            Place::Memory => None,
        };
        at.unwrap_or(0.0)
    }

    /// [`Place::write`], recording when the token changed.
    pub(crate) fn write_changed(self, token: Option<&str>, changed_at: f64) {
        match self {
            Place::SessionStorage => {
                if let Some(storage) = session_storage() {
                    let _ = match token {
                        Some(token) => storage.set_item(STORAGE_KEY, token).and_then(|()| {
                            storage.set_item(STORAGE_AT_KEY, &changed_at.to_string())
                        }),
                        None => storage
                            .remove_item(STORAGE_KEY)
                            .and_then(|()| storage.remove_item(STORAGE_AT_KEY)),
                    };
                }
            }
            Place::HistoryState => stamp_history(token, changed_at),
            Place::Memory => {}
        }
    }
}

/// `sessionStorage`, if this browser lets the page use it.
fn session_storage() -> Option<web_sys::Storage> {
    let storage = web_sys::window()?.session_storage().ok()??;
    // Reading the handle can succeed where writing throws (quota, private modes): try a write.
    let probe = "x-session-probe";
    storage.set_item(probe, "1").ok()?;
    storage.remove_item(probe).ok()?;
    Some(storage)
}

fn history() -> Option<web_sys::History> {
    let history = web_sys::window()?.history().ok()?;
    history.state().ok()?;
    Some(history)
}

/// Writes the token, and when it changed, into the current history entry's state, keeping
/// whatever else the state holds (a router's own data, for example).
fn stamp_history(token: Option<&str>, changed_at: f64) {
    let Some(history) = history() else { return };
    let Ok(current) = history.state() else { return };
    let state = js_sys::Object::new();
    if let Some(current) = current.dyn_ref::<js_sys::Object>() {
        js_sys::Object::assign(&state, current);
    }
    let (value, at) = match token {
        Some(token) => (JsValue::from_str(token), JsValue::from_f64(changed_at)),
        None => (JsValue::UNDEFINED, JsValue::UNDEFINED),
    };
    let written = js_sys::Reflect::set(&state, &JsValue::from_str(STATE_KEY), &value)
        .and_then(|_| js_sys::Reflect::set(&state, &JsValue::from_str(STATE_AT_KEY), &at));
    if written.is_ok() {
        let _ = history.replace_state(&state, "");
    }
}

/// Makes the token follow the user from history entry to history entry.
///
/// A router's `pushState` starts a new entry with a state of its own, and going back or forward
/// lands on an entry stamped with whatever token was current then. So `pushState` and
/// `replaceState` are wrapped to carry the current entry's token into the state they write (unless
/// that state names a token itself, as [`stamp_history`] does), and every `popstate` stamps the
/// held token into the entry the user landed on. Installed once per page.
pub(crate) fn carry_token_across_history(current_token: fn() -> (Option<String>, f64)) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Some(history) = history() else { return };
    let installed = JsValue::from_str("__xSessionCarried");
    if js_sys::Reflect::has(&history, &installed).unwrap_or(true) {
        return;
    }
    let _ = js_sys::Reflect::set(&history, &installed, &JsValue::TRUE);
    for method in ["pushState", "replaceState"] {
        wrap_history_method(&history, method);
    }
    let on_popstate = Closure::<dyn Fn()>::new(move || {
        let (token, changed_at) = current_token();
        stamp_history(token.as_deref(), changed_at);
    });
    let _ =
        window.add_event_listener_with_callback("popstate", on_popstate.as_ref().unchecked_ref());
    // Lives as long as the page.
    on_popstate.forget();
}

fn wrap_history_method(history: &web_sys::History, method: &str) {
    let Ok(original) = js_sys::Reflect::get(history, &JsValue::from_str(method))
        .and_then(|original| original.dyn_into::<js_sys::Function>())
    else {
        return;
    };
    let target = history.clone();
    let wrapper = Closure::<dyn Fn(JsValue, JsValue, JsValue) -> Result<JsValue, JsValue>>::new(
        move |state: JsValue, title: JsValue, url: JsValue| {
            let key = JsValue::from_str(STATE_KEY);
            let names_token = state
                .dyn_ref::<js_sys::Object>()
                .is_some_and(|state| js_sys::Object::has_own(state, &key));
            let state = if names_token {
                state
            } else {
                let current = target.state().ok();
                let carried = current
                    .as_ref()
                    .and_then(|current| js_sys::Reflect::get(current, &key).ok())
                    .filter(|token| token.is_string());
                match carried {
                    Some(token) => {
                        let at_key = JsValue::from_str(STATE_AT_KEY);
                        let at = current
                            .and_then(|current| js_sys::Reflect::get(&current, &at_key).ok())
                            .unwrap_or(JsValue::UNDEFINED);
                        let merged = js_sys::Object::new();
                        if let Some(state) = state.dyn_ref::<js_sys::Object>() {
                            js_sys::Object::assign(&merged, state);
                        }
                        let _ = js_sys::Reflect::set(&merged, &key, &token);
                        let _ = js_sys::Reflect::set(&merged, &at_key, &at);
                        merged.into()
                    }
                    None => state,
                }
            };
            original.call3(&target, &state, &title, &url)
        },
    );
    let _ = js_sys::Reflect::set(history, &JsValue::from_str(method), wrapper.as_ref());
    wrapper.forget();
}

/// Whether this browser keeps cookies, found by writing one and reading it back.
/// `navigator.cookieEnabled` is no guide: it says `true` where cookies are blocked. The probe
/// cookie is removed at once.
pub fn cookies_work() -> bool {
    let Some(document) = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.dyn_into::<web_sys::HtmlDocument>().ok())
    else {
        return false;
    };
    let probe = "cookieless-probe=1";
    if document
        .set_cookie(&format!("{probe}; SameSite=Strict; path=/"))
        .is_err()
    {
        return false;
    }
    let works = document
        .cookie()
        .is_ok_and(|cookies| cookies.contains(probe));
    let _ = document.set_cookie("cookieless-probe=; Max-Age=0; SameSite=Strict; path=/");
    works
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_prefers_session_storage_then_history_then_memory() {
        assert_eq!(
            Place::for_policy(StoragePolicy::Auto, true, true),
            Place::SessionStorage
        );
        assert_eq!(
            Place::for_policy(StoragePolicy::Auto, false, true),
            Place::HistoryState
        );
        assert_eq!(
            Place::for_policy(StoragePolicy::Auto, false, false),
            Place::Memory
        );
    }

    #[test]
    fn an_unavailable_mechanism_falls_back_to_memory() {
        assert_eq!(
            Place::for_policy(StoragePolicy::SessionStorage, false, true),
            Place::Memory
        );
        assert_eq!(
            Place::for_policy(StoragePolicy::HistoryState, true, false),
            Place::Memory
        );
        assert_eq!(
            Place::for_policy(StoragePolicy::Memory, true, true),
            Place::Memory
        );
    }

    #[test]
    fn policies_read_from_their_names() {
        assert_eq!(
            StoragePolicy::from_name("history-state"),
            Some(StoragePolicy::HistoryState)
        );
        assert_eq!(
            StoragePolicy::from_name("memory"),
            Some(StoragePolicy::Memory)
        );
        assert_eq!(StoragePolicy::from_name("localStorage"), None);
    }
}
