//! The demo's REST calls: [`cookieless_client::api`], with a refusal read in the API's own words
//! ([`CallError`]).

use cookieless_client::api;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::call_error::CallError;

pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, CallError> {
    Ok(api::get(path).await?)
}

pub async fn post<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, CallError> {
    Ok(api::post(path, body).await?)
}

pub async fn post_empty<T: DeserializeOwned>(path: &str) -> Result<T, CallError> {
    Ok(api::post_empty(path).await?)
}

pub async fn put<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, CallError> {
    Ok(api::put(path, body).await?)
}

pub async fn delete<T: DeserializeOwned>(path: &str) -> Result<T, CallError> {
    Ok(api::delete(path).await?)
}
