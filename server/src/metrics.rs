//! `GET /metrics`: the session library's counts (sessions created, rotated and ended, loads and
//! saves by outcome, lease waits, store call latency) in Prometheus's text format.

use std::sync::OnceLock;
use std::time::Duration;

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// How often histograms are folded, whether or not anyone scrapes: unfolded, their samples pile
/// up in memory.
const UPKEEP: Duration = Duration::from_secs(5);

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
        let recorder = PrometheusBuilder::new().build_recorder();
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
