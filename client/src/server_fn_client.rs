//! A Leptos server-function client that carries the session exactly as [`crate::api`] does, so
//! that REST calls and server functions share one token.

use std::future::Future;

use server_fn::client::browser::BrowserClient;
use server_fn::client::Client;
use server_fn::error::FromServerFnError;
use server_fn::request::browser::BrowserRequest;
use server_fn::response::browser::BrowserResponse;
use server_fn::response::ClientRes;

use crate::api::X_SESSION;
use crate::tokens;

/// Use it as `#[server(client = cookieless_client::SessionClient)]`.
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

    fn send(request: Self::Request) -> impl Future<Output = Result<Self::Response, E>> + Send {
        let sent = tokens::current();
        if let Some(token) = &sent {
            request.headers().set(X_SESSION, token);
        }
        let response =
            <BrowserClient as Client<E, InputStreamError, OutputStreamError>>::send(request);
        async move {
            let response = response.await?;
            let headers = response.generate_headers();
            let header = headers.get(X_SESSION).and_then(|value| value.to_str().ok());
            tokens::apply_response(sent.as_deref(), header);
            if <BrowserResponse as ClientRes<E>>::status(&response) == 401 {
                tokens::report_unauthorized();
            }
            Ok(response)
        }
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
