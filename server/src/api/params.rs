//! Path and query extractors whose refusals are JSON, like every other answer of the API: axum's
//! own answer a bad path or query in plain text.

use axum::extract::{FromRequestParts, Path, Query};
use http::request::Parts;
use http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The `{id}` of a route. One that is not text (`%FF`) names nothing: `404`.
pub struct PathId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| PathId(id))
            .map_err(|_| ApiError::not_found())
    }
}

/// The query string, read as `T`; one that does not read is `400`.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(params)| QueryParams(params))
            .map_err(|rejection| {
                ApiError::detail(
                    StatusCode::BAD_REQUEST,
                    format!("Invalid query: {}", rejection.body_text()),
                )
            })
    }
}
