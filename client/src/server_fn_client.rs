//! A Leptos server-function client that carries the session exactly as [`crate::api`] does, so
//! that REST calls and server functions share one token.

use std::future::Future;

use server_fn::client::browser::BrowserClient;
use server_fn::client::Client;
use server_fn::error::FromServerFnError;
use server_fn::request::browser::BrowserRequest;
use server_fn::response::browser::BrowserResponse;
use server_fn::response::ClientRes;

use crate::header::X_SESSION;
use crate::request::SessionRequest;

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

impl<E, InputStreamError, OutputStreamError> Client<E, InputStreamError, OutputStreamError>
    for SessionClient
where
    E: FromServerFnError,
    InputStreamError: FromServerFnError,
    OutputStreamError: FromServerFnError,
{
    type Request = BrowserRequest;
    type Response = BrowserResponse;

    async fn send(request: Self::Request) -> Result<Self::Response, E> {
        // The token is set only once the request may leave (see `SessionRequest`).
        let session = SessionRequest::begin(&request.method()).await;
        if let Some(token) = session.token() {
            request.headers().set(X_SESSION, token);
        }
        let response =
            <BrowserClient as Client<E, InputStreamError, OutputStreamError>>::send(request)
                .await?;
        let headers = response.generate_headers();
        session.finish_with_status(
            <BrowserResponse as ClientRes<E>>::status(&response),
            headers.get(X_SESSION).and_then(|value| value.to_str().ok()),
        );
        Ok(response)
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
