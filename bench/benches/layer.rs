//! The cost of a session layer per request, in process: each contender's router called with
//! `tower::ServiceExt::oneshot`, with no network, kernel or load generator in the way, so that a
//! change to the layer shows even on a noisy machine where the load table cannot resolve it.
//!
//! `cargo bench -p bench --bench layer`

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode};
use bench::contenders::{bare, empty_layer, ours, session_carrier, App};
use bench::rivals::{axum_session, tower_sessions};
use cookieless::{MemoryStore, SessionLayer};
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use http_body_util::BodyExt;
use tokio::runtime::Runtime;
use tower::ServiceExt;

/// Sessions made in each contender before measuring, used round-robin.
const SESSIONS: usize = 1000;

fn request(
    method: Method,
    path: &str,
    carrier: Option<&(HeaderName, HeaderValue)>,
) -> Request<Body> {
    let mut request = Request::builder().method(method).uri(path);
    if let Some((name, value)) = carrier {
        request = request.header(name, value);
    }
    request.body(Body::empty()).unwrap()
}

/// Sends `request` and reads the whole answer, as a server would before writing it out.
async fn answer(app: &impl App, request: Request<Body>) -> StatusCode {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let _ = response.into_body().collect().await.unwrap();
    status
}

async fn sessions(app: &impl App) -> Vec<(HeaderName, HeaderValue)> {
    let mut carriers = Vec::with_capacity(SESSIONS);
    for _ in 0..SESSIONS {
        let begin = request(Method::POST, "/counter/increment", None);
        let response = app.clone().oneshot(begin).await.unwrap();
        carriers.push(session_carrier(response.headers()).expect("a session was begun"));
    }
    carriers
}

/// Measures `app` on one endpoint, with requests spread over sessions it made beforehand.
fn measure(
    group: &mut BenchmarkGroup<'_, WallTime>,
    runtime: &Runtime,
    (name, app): (&str, impl App),
    (method, path): (&Method, &str),
) {
    let carriers = runtime.block_on(sessions(&app));
    let mut next = 0;
    group.bench_function(name, |b| {
        b.to_async(runtime).iter_batched(
            || {
                next = (next + 1) % carriers.len();
                request(method.clone(), path, Some(&carriers[next]))
            },
            |request| async {
                assert_eq!(answer(&app, request).await, StatusCode::OK);
            },
            criterion::BatchSize::SmallInput,
        )
    });
}

fn layer_overhead(c: &mut Criterion) {
    let runtime = Runtime::new().unwrap();
    for (operation, method, path) in [
        ("read", Method::GET, "/counter"),
        ("write", Method::POST, "/counter/increment"),
    ] {
        let mut group = c.benchmark_group(operation);
        group.measurement_time(Duration::from_secs(3));
        group.warm_up_time(Duration::from_secs(1));
        let target = (&method, path);
        measure(&mut group, &runtime, ("bare", bare()), target);
        measure(&mut group, &runtime, ("empty-layer", empty_layer()), target);
        let memory = ours(SessionLayer::new(MemoryStore::new()));
        measure(&mut group, &runtime, ("memory", memory), target);
        measure(
            &mut group,
            &runtime,
            ("tower-sessions", tower_sessions()),
            target,
        );
        let axum_session = runtime.block_on(axum_session()).unwrap();
        measure(&mut group, &runtime, ("axum-session", axum_session), target);
        group.finish();
    }
}

criterion_group!(benches, layer_overhead);
criterion_main!(benches);
