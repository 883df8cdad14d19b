//! A JSON object body extractor whose every refusal is a 4xx with a `{"detail"}` body.

use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{FromRequest, Request};
use http::StatusCode;
use serde::de::DeserializeOwned;

use crate::body_deadline::BodyTimedOut;
use crate::error::ApiError;

/// The request body, which must be a JSON object that reads as `T`.
///
/// Objects only: serde would otherwise read a struct from an array of its fields' values.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(value) = axum::Json::<serde_json::Value>::from_request(request, state)
            .await
            .map_err(refusal)?;
        if !value.is_object() {
            return Err(ApiError::detail(
                StatusCode::BAD_REQUEST,
                "Invalid JSON: expected an object.",
            ));
        }
        T::deserialize(value).map(JsonBody).map_err(|error| {
            ApiError::detail(StatusCode::BAD_REQUEST, format!("Invalid JSON: {error}."))
        })
    }
}

fn refusal(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::detail(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Send the body as JSON, with Content-Type: application/json.",
        ),
        JsonRejection::JsonSyntaxError(error) => ApiError::detail(
            StatusCode::BAD_REQUEST,
            format!("Malformed JSON: {}", error.body_text()),
        ),
        JsonRejection::BytesRejection(error) => body_refusal(&error),
        other => ApiError::detail(StatusCode::BAD_REQUEST, other.body_text()),
    }
}

/// Why a request body could not be read, as the API answers it.
pub fn body_refusal(error: &BytesRejection) -> ApiError {
    if BodyTimedOut::caused(error) {
        ApiError::detail(
            StatusCode::REQUEST_TIMEOUT,
            "The request body took too long to arrive.",
        )
    } else if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::detail(error.status(), "The request body is too large.")
    } else {
        ApiError::detail(error.status(), "The request body could not be read.")
    }
}
