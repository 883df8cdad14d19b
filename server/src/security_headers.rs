//! The headers that keep the SPA's page to itself: a Content-Security-Policy on its documents,
//! and neither MIME sniffing nor a `Referer` on any response.
//!
//! Any script running in the page can read the session token, so the policy that decides which
//! scripts run is the defence that matters most: only the page's own files, the inline bootstrap
//! Trunk writes (by its hash), and WebAssembly compiled from them.

use axum::Router;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use http::header::{
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use http::{HeaderValue, Response};
use sha2::{Digest, Sha256};
use tower_http::set_header::SetResponseHeaderLayer;

/// The Content-Security-Policy of the SPA's documents, and the framing policy of every other
/// response.
#[derive(Clone, Debug)]
pub struct ContentSecurityPolicy {
    document: HeaderValue,
    /// `frame-ancestors` alone: a response that is not a page runs nothing, but may still be
    /// shown in a frame.
    framing: HeaderValue,
}

impl ContentSecurityPolicy {
    /// The policy for the page `index_html`, framed only by `frame_ancestors` (by nobody when
    /// empty).
    pub fn for_page(index_html: &str, frame_ancestors: &[HeaderValue]) -> Self {
        let scripts: String = inline_scripts(index_html)
            .map(|script| format!(" 'sha256-{}'", BASE64.encode(Sha256::digest(script))))
            .collect();
        let api = api_origin(index_html)
            .map(|origin| format!(" {origin}"))
            .unwrap_or_default();
        let framing = framing(frame_ancestors);
        let document = format!(
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{scripts}; \
             style-src 'self'; img-src 'self' data:; connect-src 'self'{api}; \
             object-src 'none'; base-uri 'none'; form-action 'self'; {framing}"
        );
        let header = |text: &str| {
            HeaderValue::from_str(text).expect("origins and hashes are valid header text")
        };
        ContentSecurityPolicy {
            document: header(&document),
            framing: header(&framing),
        }
    }

    #[cfg(test)]
    fn header(&self) -> &HeaderValue {
        &self.document
    }

    /// A layer that sets the page's policy on every HTML response, and the framing policy on
    /// every other.
    pub fn layer<B>(
        &self,
    ) -> SetResponseHeaderLayer<impl Fn(&Response<B>) -> Option<HeaderValue> + Clone> {
        let policy = self.clone();
        SetResponseHeaderLayer::overriding(
            CONTENT_SECURITY_POLICY,
            move |response: &Response<B>| {
                let html = response
                    .headers()
                    .get(CONTENT_TYPE)
                    .and_then(|value| value.to_str().ok())
                    .is_some_and(|value| value.starts_with("text/html"));
                Some(if html {
                    policy.document.clone()
                } else {
                    policy.framing.clone()
                })
            },
        )
    }
}

/// `frame-ancestors` for the named origins, or for none.
fn framing(frame_ancestors: &[HeaderValue]) -> String {
    let origins: Vec<&str> = frame_ancestors
        .iter()
        .filter_map(|origin| origin.to_str().ok())
        .collect();
    if origins.is_empty() {
        "frame-ancestors 'none'".to_string()
    } else {
        format!("frame-ancestors {}", origins.join(" "))
    }
}

/// `router` with `nosniff` and `no-referrer` on every response, the API's included.
pub fn on_every_response(router: Router) -> Router {
    router
        .layer(SetResponseHeaderLayer::overriding(
            X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
}

/// The text of each `<script>` element without a `src`.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    let mut rest = html;
    std::iter::from_fn(move || loop {
        let start = rest.find("<script")?;
        let tag_end = start + rest[start..].find('>')?;
        let body_end = tag_end + 1 + rest[tag_end + 1..].find("</script>")?;
        let (tag, body) = (&rest[start..tag_end], &rest[tag_end + 1..body_end]);
        rest = &rest[body_end..];
        if !tag.contains(" src=") && !body.is_empty() {
            return Some(body);
        }
    })
}

/// The origin in `<meta name="cookieless-api" content="...">`, where the SPA sends its API calls
/// when the API is served elsewhere.
fn api_origin(html: &str) -> Option<&str> {
    let meta = html.find("name=\"cookieless-api\"")?;
    let tag_start = html[..meta].rfind('<')?;
    let tag = &html[tag_start..tag_start + html[tag_start..].find('>')?];
    let content = tag.find("content=\"")? + "content=\"".len();
    let origin = &tag[content..content + tag[content..].find('"')?];
    let safe = origin
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '.' | '-' | '[' | ']'));
    safe.then_some(origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<html><head>
<meta name="cookieless-api" content="https://api.example.com">
<script type="module">import init from '/frontend.js'; await init();</script>
<script src="/other.js"></script>
<link rel="modulepreload" href="/frontend.js"></head><body></body></html>"#;

    #[test]
    fn inline_scripts_are_allowed_by_hash_and_nothing_else_inline() {
        let policy = ContentSecurityPolicy::for_page(PAGE, &[]);
        let text = policy.header().to_str().unwrap();
        let hash = BASE64.encode(Sha256::digest(
            "import init from '/frontend.js'; await init();",
        ));
        assert!(text.contains(&format!(
            "script-src 'self' 'wasm-unsafe-eval' 'sha256-{hash}';"
        )));
        assert_eq!(text.matches("sha256-").count(), 1);
        assert!(!text.contains("unsafe-inline"));
        assert!(text.contains("connect-src 'self' https://api.example.com;"));
        assert!(text.contains("object-src 'none'"));
        assert!(text.contains("base-uri 'none'"));
        assert!(text.ends_with("frame-ancestors 'none'"));
    }

    #[test]
    fn named_sites_may_frame_the_page() {
        let ancestors = [
            HeaderValue::from_static("https://partner.example"),
            HeaderValue::from_static("https://other.example:8443"),
        ];
        let policy = ContentSecurityPolicy::for_page("<html></html>", &ancestors);
        let text = policy.header().to_str().unwrap();
        assert!(
            text.ends_with("frame-ancestors https://partner.example https://other.example:8443")
        );
        assert!(text.contains("connect-src 'self';"));
    }
}
