//! `GET /metrics`: the session library's counts (sessions created, rotated and ended, loads and
//! saves by outcome, lease waits, store call latency) in Prometheus's text format.

use std::sync::OnceLock;
use std::time::Duration;

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// How often histograms are folded, whether or not anyone scrapes: unfolded, their samples pile
/// up in memory.
const UPKEEP: Duration = Duration::from_secs(5);

/// Buckets of the store call latency histogram, in seconds: from a memory store's microseconds to
/// a Redis call that times out (2 s).
const LATENCY_BUCKETS: [f64; 12] = [
    0.000_01, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.05, 0.25, 1.0, 2.5,
];

/// The routes that answer `/metrics`.
pub fn router() -> Router {
    Router::new().route("/metrics", get(render))
}

async fn render() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        recorder().render(),
    )
}

/// The process's one recorder, installed on first use.
fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new();
        // A true histogram (buckets), not a summary, so that instances can be aggregated.
        let builder = match builder.set_buckets_for_metric(
            Matcher::Full("cookieless_store_call_seconds".into()),
            &LATENCY_BUCKETS,
        ) {
            Ok(builder) => builder,
            Err(error) => {
                tracing::warn!(%error, "store latency kept as a summary");
                PrometheusBuilder::new()
            }
        };
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed: /metrics shows nothing");
        }
        let upkeep = handle.clone();
        std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || loop {
                std::thread::sleep(UPKEEP);
                upkeep.run_upkeep();
            })
            .map_err(|error| tracing::warn!(%error, "no upkeep of the metrics' histograms"))
            .ok();
        handle
    })
}

/// Installs the recorder before the first request counts anything.
pub fn install() {
    recorder();
}
