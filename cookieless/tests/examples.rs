//! The examples' apps, driven as a user would drive them, so that the code newcomers copy works.

#[allow(dead_code)]
#[path = "../examples/counter.rs"]
mod counter;

use axum::body::Body;
use axum::http::Request;
use axum::Router;
use cookieless::SessionService;
use tower::ServiceExt;

/// Sends `POST /count` with `token`, returning the count and the token the answer hands out.
async fn count(app: &SessionService<Router>, token: Option<&str>) -> (String, String) {
    let mut request = Request::post("/count");
    if let Some(token) = token {
        request = request.header("x-session", token);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let token = response.headers()["x-session"]
        .to_str()
        .unwrap()
        .to_string();
    let body = axum::body::to_bytes(response.into_body(), 1024)
        .await
        .unwrap();
    (String::from_utf8(body.to_vec()).unwrap(), token)
}

#[tokio::test]
async fn the_counter_example_counts_per_visitor() {
    let app = counter::app();
    let (first, token) = count(&app, None).await;
    assert_eq!(first, "1");
    assert_eq!(count(&app, Some(&token)).await.0, "2");
    assert_eq!(
        count(&app, None).await.0,
        "1",
        "a new visitor starts at one"
    );
}
