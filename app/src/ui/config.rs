//! What the page tells the app about where things are.

use cookieless_client::{api, StoragePolicy, TabScope};
use wasm_bindgen::JsCast;

pub struct Config {
    /// The API's origin when it is not the page's own, from `<meta name="cookieless-api">`.
    pub api_base: String,
    /// Where to keep the token, from the `storage` query parameter (`auto`, `session-storage`,
    /// `history-state`, `memory`); `auto` by default. The parameter chooses a policy, never a
    /// token: tokens never travel in URLs.
    pub policy: StoragePolicy,
    /// Whether the site's tabs share the session, from the `tabs` query parameter (`shared`,
    /// `per-tab`); `shared` by default.
    pub scope: TabScope,
}

impl Config {
    pub fn from_page() -> Self {
        let window = web_sys::window();
        let api_base = window
            .as_ref()
            .and_then(|window| window.document())
            .and_then(|document| {
                document
                    .query_selector("meta[name='cookieless-api']")
                    .ok()
                    .flatten()
            })
            .and_then(|meta| meta.dyn_into::<web_sys::Element>().ok())
            .and_then(|meta| meta.get_attribute("content"))
            .unwrap_or_default();
        let search = window
            .and_then(|window| window.location().search().ok())
            .unwrap_or_default();
        let policy = query_value(&search, "storage")
            .and_then(|name| StoragePolicy::from_name(&name))
            .unwrap_or_default();
        let scope = query_value(&search, "tabs")
            .and_then(|name| TabScope::from_name(&name))
            .unwrap_or_default();
        Config {
            api_base,
            policy,
            scope,
        }
    }

    /// Points REST calls and server functions at the API, and installs the token holder.
    pub fn apply(&self) {
        api::set_base_url(&self.api_base);
        if !self.api_base.is_empty() {
            let base: &'static str = Box::leak(self.api_base.clone().into_boxed_str());
            let _ = leptos::server_fn::client::try_set_server_url(base);
        }
        cookieless_client::install_with_scope(self.policy, self.scope);
    }
}

fn query_value(search: &str, name: &str) -> Option<String> {
    search
        .trim_start_matches('?')
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}
