//! The handler argument for the client's address, read as the session layer reads it.

use std::convert::Infallible;
use std::net::IpAddr;

use axum::extract::FromRequestParts;
use http::request::Parts;

use crate::state::AppState;

/// The address of the client, if the request says it: `None` when the server is not served with
/// connection info (as in-process tests are), or when, behind a proxy, the proxy's entry in the
/// forwarding header is not an address.
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(ClientIp(
            state.client_address.of(&parts.headers, &parts.extensions),
        ))
    }
}
