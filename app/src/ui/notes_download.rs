//! The user's notes as one Markdown file. Where the session also travels in a cookie (and the
//! browser keeps cookies), a plain link fetches it, as the browser sends the cookie by itself;
//! otherwise the page fetches it with the `X-Session` header and saves what it got. Only where
//! links carry the session is the page the server renders for printing offered too.

use std::time::Duration;

use cookieless_client::{api as client_api, cookies_work, SessionRequest, X_SESSION};
use gloo_net::http::{Method, Request};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::{JsCast, JsValue};

use super::notices::use_notices;
use super::rest as api;
use crate::api::{paths, Level, SessionTransport};

const FILE_NAME: &str = "notes.md";

#[component]
pub fn NotesDownload() -> impl IntoView {
    let notices = use_notices();
    // Whether a plain link carries the session: the server sets a cookie, and this browser keeps it.
    let by_link = RwSignal::new(None::<bool>);
    spawn_local(async move {
        let transport = api::get::<SessionTransport>(paths::SESSION_TRANSPORT).await;
        let links = transport.is_ok_and(|transport| transport.links_carry_the_session());
        by_link.set(Some(links && cookies_work()));
    });
    let url = format!("{}{}", client_api::base_url(), paths::NOTES_EXPORT);
    let printable = format!("{}{}", client_api::base_url(), paths::NOTES_PRINTABLE);
    let fetch_url = url.clone();
    let fetch = move |_| {
        let url = fetch_url.clone();
        spawn_local(async move {
            if let Err(error) = download_with_header(&url).await {
                notices.push(
                    Level::Error,
                    format!("The notes could not be downloaded: {error}"),
                );
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="download-heading">
            <h2 id="download-heading">"Download"</h2>
            <p>"All your notes in one Markdown file."</p>
            {move || match by_link.get() {
                None => None,
                Some(true) => Some(view! {
                    <a class="button" href=url.clone() download=FILE_NAME>"Download your notes"</a>
                    " "
                    <a href=printable.clone() target="_blank">"A page to print"</a>
                }.into_any()),
                Some(false) => Some(view! {
                    <button type="button" on:click=fetch.clone()>"Download your notes"</button>
                }.into_any()),
            }}
        </section>
    }
}

/// Fetches the export with the session's header, and hands it to the browser as a download.
async fn download_with_header(url: &str) -> Result<(), String> {
    let session = SessionRequest::begin(&Method::GET).await;
    let mut request = Request::get(url);
    if let Some(token) = session.token() {
        request = request.header(X_SESSION, token);
    }
    let response = request.send().await.map_err(|error| error.to_string())?;
    let status = response.status();
    let _ = session.finish_response(status, |name| response.headers().get(name));
    if !response.ok() {
        return Err(format!("the server answered {status}"));
    }
    let markdown = response.text().await.map_err(|error| error.to_string())?;
    save(&markdown).map_err(|error| format!("{error:?}"))
}

/// Saves `markdown` as the file [`FILE_NAME`], through a link to it that is clicked at once.
fn save(markdown: &str) -> Result<(), JsValue> {
    let parts = js_sys::Array::of1(&JsValue::from_str(markdown));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/markdown");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let document = web_sys::window()
        .and_then(|window| window.document())
        .ok_or_else(|| JsValue::from_str("no document"))?;
    let link: web_sys::HtmlAnchorElement = document.create_element("a")?.dyn_into()?;
    link.set_href(&url);
    link.set_download(FILE_NAME);
    link.click();
    // Revoked once the browser has started the download, not before.
    set_timeout(
        move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        },
        Duration::from_secs(10),
    );
    Ok(())
}
