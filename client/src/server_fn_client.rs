//! A Leptos server-function client that carries the session exactly as [`crate::api`] does, so
//! that REST calls and server functions share one token.

use std::future::Future;

use server_fn::client::browser::BrowserClient;
use server_fn::client::Client;
use server_fn::error::FromServerFnError;
use server_fn::request::browser::BrowserRequest;
use server_fn::request::ClientReq;
use server_fn::response::browser::BrowserResponse;
use server_fn::response::ClientRes;

use crate::header::X_SESSION;
use crate::request::{Answer, SessionRequest};

/// The client of a Leptos server function that carries the session: name it in the function's
/// `#[server]` attribute.
///
/// ```no_run
/// use leptos::prelude::*;
///
/// #[server(endpoint = "reset_counter", client = cookieless_client::SessionClient)]
/// pub async fn reset_counter() -> Result<u64, ServerFnError> {
///     Ok(0)
/// }
/// ```
///
/// Give the function an explicit `endpoint`: the default one hashes the crate's path, which can
/// differ between the browser build and the server build.
#[cfg_attr(docsrs, doc(cfg(feature = "leptos")))]
pub struct SessionClient;

async fn send_once<E, InputStreamError, OutputStreamError>(
    request: BrowserRequest,
) -> Result<(BrowserResponse, Answer), E>
where
    E: FromServerFnError,
    InputStreamError: FromServerFnError,
    OutputStreamError: FromServerFnError,
{
    // The token is set only once the request may leave (see `SessionRequest`).
    let session = SessionRequest::begin(&request.method()).await;
    if let Some(token) = session.token() {
        request.headers().set(X_SESSION, token);
    }
    let response =
        <BrowserClient as Client<E, InputStreamError, OutputStreamError>>::send(request).await?;
    let headers = response.generate_headers();
    let answer = session.finish_response(
        <BrowserResponse as ClientRes<E>>::status(&response),
        |name| {
            let value = headers.get(name)?.to_str().ok()?;
            Some(value.to_string())
        },
    );
    Ok((response, answer))
}

/// A copy of `request`, body included, taken before it is sent; `None` where the browser
/// cannot copy it (a body it streams).
fn spare_copy(request: &mut BrowserRequest) -> Option<web_sys::Request> {
    let placeholder = web_sys::Request::new_with_str(&request.url()).ok()?;
    let original = web_sys::Request::from(std::mem::replace(&mut **request, placeholder.into()));
    let spare = web_sys::Request::clone(&original).ok();
    **request = original.into();
    spare
}

impl<E, InputStreamError, OutputStreamError> Client<E, InputStreamError, OutputStreamError>
    for SessionClient
where
    E: FromServerFnError,
    InputStreamError: FromServerFnError,
    OutputStreamError: FromServerFnError,
{
    type Request = BrowserRequest;
    type Response = BrowserResponse;

    async fn send(mut request: Self::Request) -> Result<Self::Response, E> {
        // A copy to send again if a rotation retired the token the first attempt carried.
        let spare = spare_copy(&mut request);
        let (response, answer) =
            send_once::<E, InputStreamError, OutputStreamError>(request).await?;
        let Some(spare) = spare else {
            return Ok(response);
        };
        if answer.retry_token().await.is_none() {
            return Ok(response);
        }
        let Ok(mut retry) =
            <BrowserRequest as ClientReq<E>>::try_new_req_query("", "", "", "", http::Method::GET)
        else {
            return Ok(response);
        };
        // A request of the crate's own making, holding the copy: its constructors are the only
        // way to one.
        *retry = spare.into();
        Ok(send_once::<E, InputStreamError, OutputStreamError>(retry)
            .await?
            .0)
    }

    #[allow(clippy::manual_async_fn)]
    fn open_websocket(
        path: &str,
    ) -> impl Future<
        Output = Result<
            (
                impl futures_core::Stream<Item = Result<bytes::Bytes, bytes::Bytes>> + Send + 'static,
                impl futures_sink::Sink<bytes::Bytes> + Send + 'static,
            ),
            E,
        >,
    > + Send {
        <BrowserClient as Client<E, InputStreamError, OutputStreamError>>::open_websocket(path)
    }

    fn spawn(future: impl Future<Output = ()> + Send + 'static) {
        <BrowserClient as Client<E, InputStreamError, OutputStreamError>>::spawn(future)
    }
}
