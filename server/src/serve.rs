//! Serving connections with the limits a server in front of real traffic needs.
//!
//! `axum::serve` gives hyper no timer, so hyper's header-read timeout is off there: a client that
//! opens connections and never finishes its headers holds them forever. Here each connection is
//! served by hyper's HTTP/1 builder with a timer, so that one that has not sent a request's
//! headers within the timeout is closed (an idle kept-alive connection waiting for its next
//! request included), and at most `max_connections` are served at once, `max_per_peer` of them
//! for one peer address, so that one client cannot hold every slot.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use cookieless::ClientAddress;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// What a connection may take.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// A connection that has not sent a request's headers within this long is closed.
    pub header_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Connections one peer address (an IPv6 one by its /64) may hold; more are closed as soon
    /// as they are accepted.
    pub max_per_peer: Option<usize>,
}

/// How long requests in flight may take to finish once shutdown begins.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Serves `router` on `listener` until `shutdown` completes, then lets the requests in flight
/// finish (for up to [`SHUTDOWN_GRACE`]).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let per_peer = PeerConnections::new(limits.max_per_peer);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = accept(&listener, &slots) => accepted,
            () = &mut shutdown => break,
        };
        let (slot, stream, peer) = accepted;
        let Some(peer_slot) = per_peer.take(ClientAddress::counted_as(peer.ip())) else {
            // At debug: a client refused this way can make such lines as fast as it connects.
            tracing::debug!(event = "connection_refused", client = %peer.ip(), "a client holds too many connections");
            continue;
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let answer = router.clone().oneshot(request);
            async move { Ok::<_, Infallible>(answer.await.unwrap_or_else(|never| match never {})) }
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                // A client that left, or one dropped for its header timeout.
                tracing::debug!(%error, %peer, "connection ended");
            }
            drop((slot, peer_slot));
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("requests still in flight after {SHUTDOWN_GRACE:?}; stopping anyway");
        }
    }
}

/// The next connection, once a slot is free for it.
async fn accept(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> (
    tokio::sync::OwnedSemaphorePermit,
    tokio::net::TcpStream,
    SocketAddr,
) {
    let slot = slots
        .clone()
        .acquire_owned()
        .await
        .expect("the connection slots are never closed");
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => return (slot, stream, peer),
            Err(error) => {
                // Out of file descriptors, or a connection reset before it was accepted: wait a
                // little rather than spin, and go on.
                tracing::warn!(%error, "could not accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// How many connections each peer holds, when their number is capped.
#[derive(Clone)]
struct PeerConnections {
    max: Option<usize>,
    held: Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>,
}

/// One peer's hold on a connection, given back when dropped.
struct PeerSlot {
    peer: std::net::IpAddr,
    connections: Option<PeerConnections>,
}

impl PeerConnections {
    fn new(max: Option<usize>) -> Self {
        PeerConnections {
            max,
            held: Arc::default(),
        }
    }

    /// A slot for `peer`, unless it holds its share already.
    fn take(&self, peer: std::net::IpAddr) -> Option<PeerSlot> {
        let Some(max) = self.max else {
            return Some(PeerSlot {
                peer,
                connections: None,
            });
        };
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = held.entry(peer).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(PeerSlot {
            peer,
            connections: Some(self.clone()),
        })
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let Some(connections) = &self.connections else {
            return;
        };
        let mut held = connections
            .held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = held.get_mut(&self.peer) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.peer);
            }
        }
    }
}
