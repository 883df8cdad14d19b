//! A small pool of Redis connections that reconnect by themselves, to one server or to a cluster.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};

use crate::session_store::StoreError;

/// The URL scheme of a Redis Cluster: `redis+cluster://HOST:PORT,HOST:PORT,...`.
const CLUSTER_SCHEME: &str = "redis+cluster://";

/// Connections handed out in turn. Each carries many requests at once (redis pipelines them)
/// and reconnects by itself after an outage, so a handful serve a busy server; several spread
/// the work of encoding and decoding over the runtime's threads.
///
/// On a Redis Cluster each connection reaches every master, sends each command to the master of
/// its key's slot, follows `MOVED` and `ASK` redirections, and learns the new topology when a
/// replica takes over from a failed master.
#[derive(Clone)]
pub struct RedisPool {
    connections: Arc<[RedisConnection]>,
    next: Arc<AtomicUsize>,
    /// One client per node named in the URL, for the connections that cannot be shared
    /// (subscriptions).
    nodes: Arc<[redis::Client]>,
}

/// A connection from a [`RedisPool`]: to one server, or to a cluster. Use it as any other
/// `redis::aio::ConnectionLike`.
#[derive(Clone)]
pub enum RedisConnection {
    /// A connection to one server.
    Server(ConnectionManager),
    /// A connection to every master of a cluster.
    Cluster(ClusterConnection),
}

impl RedisPool {
    /// The connections a store opens by itself ([`RedisStore::connect`](crate::RedisStore::connect)).
    pub const DEFAULT_SIZE: usize = 4;

    /// Opens `size` connections to one server, or one connection shared `size` ways to a cluster,
    /// failing if Redis does not answer within `timeout`. `url` names one server
    /// (`redis://host:port/db`) or a cluster (`redis+cluster://host:port,host:port,...`: any
    /// reachable nodes of it; the others are discovered).
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use cookieless::store::RedisPool;
    ///
    /// # async fn run() -> Result<(), cookieless::store::StoreError> {
    /// let timeout = Duration::from_secs(2);
    /// let one = RedisPool::connect("redis://127.0.0.1:6379/0", 4, timeout).await?;
    /// let cluster =
    ///     RedisPool::connect("redis+cluster://10.0.0.1:7000,10.0.0.2:7000", 4, timeout).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] for a malformed URL or a refused connection, and
    /// [`StoreError::Timeout`] when Redis does not answer in time.
    pub async fn connect(url: &str, size: usize, timeout: Duration) -> Result<Self, StoreError> {
        let size = size.max(1);
        let mut connections = Vec::with_capacity(size);
        let nodes = match cluster_nodes(url) {
            Some(nodes) => {
                // A node that died stays listed until the cluster forgets it, and the client
                // tries it on every refresh of the topology: failing fast there leaves the
                // call that triggered the refresh time to be served.
                let client = ClusterClient::builder(nodes.iter().map(String::as_str))
                    .connection_timeout(timeout / 8)
                    .response_timeout(timeout)
                    .build()
                    .map_err(StoreError::backend)?;
                // One connection, shared: each keeps its own map of the slots, and learns of a
                // failover only from its own failed calls, so separate ones would each fail
                // their share of requests after one already knew.
                let connection = bounded(timeout, client.get_async_connection()).await?;
                connections.resize(size, RedisConnection::Cluster(connection));
                nodes
            }
            None => {
                let client = redis::Client::open(url).map_err(StoreError::backend)?;
                for _ in 0..size {
                    let connection =
                        bounded(timeout, ConnectionManager::new(client.clone())).await?;
                    connections.push(RedisConnection::Server(connection));
                }
                vec![url.to_string()]
            }
        };
        let nodes = nodes
            .iter()
            .map(|node| redis::Client::open(node.as_str()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::backend)?;
        Ok(RedisPool {
            connections: connections.into(),
            next: Arc::default(),
            nodes: nodes.into(),
        })
    }

    /// The next connection in turn.
    pub fn get(&self) -> RedisConnection {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.connections.len();
        self.connections[index].clone()
    }

    /// The nodes named when connecting, to open a subscription on: on a cluster, a message
    /// published on any node reaches subscribers on every node.
    pub(crate) fn nodes(&self) -> &[redis::Client] {
        &self.nodes
    }
}

/// The node URLs of a `redis+cluster://` URL, each as a `redis://` URL; `None` for any other URL.
fn cluster_nodes(url: &str) -> Option<Vec<String>> {
    let rest = url.strip_prefix(CLUSTER_SCHEME)?;
    // Credentials, if any, come once before the first node and hold for all.
    let (credentials, hosts) = match rest.rsplit_once('@') {
        Some((credentials, hosts)) => (format!("{credentials}@"), hosts),
        None => (String::new(), rest),
    };
    Some(
        hosts
            .trim_end_matches('/')
            .split(',')
            .filter(|host| !host.is_empty())
            .map(|host| format!("redis://{credentials}{host}"))
            .collect(),
    )
}

async fn bounded<T>(
    timeout: Duration,
    call: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(timeout, call)
        .await
        .map_err(|_| StoreError::Timeout(timeout))?
        .map_err(StoreError::backend)
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            RedisConnection::Server(connection) => connection.req_packed_command(cmd),
            RedisConnection::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            RedisConnection::Server(connection) => {
                connection.req_packed_commands(pipeline, offset, count)
            }
            RedisConnection::Cluster(connection) => {
                connection.req_packed_commands(pipeline, offset, count)
            }
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConnection::Server(connection) => connection.get_db(),
            RedisConnection::Cluster(connection) => connection.get_db(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::cluster_nodes;

    #[test]
    fn cluster_urls_name_each_node() {
        assert_eq!(cluster_nodes("redis://127.0.0.1:6379/0"), None);
        assert_eq!(
            cluster_nodes("redis+cluster://a:7000,b:7001/").unwrap(),
            ["redis://a:7000", "redis://b:7001"]
        );
        assert_eq!(
            cluster_nodes("redis+cluster://user:pw@a:7000,b:7001").unwrap(),
            ["redis://user:pw@a:7000", "redis://user:pw@b:7001"]
        );
    }
}
