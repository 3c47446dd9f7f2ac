//! The Kafka TCP listener: a connection cap, accept backoff, and a graceful
//! stop that lets every connection answer what it already read.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use super::connection::Connection;
use super::listeners::ListenerContext;
use crate::broker::Broker;

/// The broker-wide `max.connections` cap every listener shares.
pub(crate) fn connection_limit(broker: &Broker) -> Arc<Semaphore> {
    let max = broker
        .cluster
        .properties
        .max_connections
        .min(Semaphore::MAX_PERMITS);
    Arc::new(Semaphore::new(max))
}

/// Accepts connections of one listener until `shutdown` turns true, then waits for them to drain.
pub(crate) async fn serve_kafka(
    listener: TcpListener,
    context: Arc<ListenerContext>,
    broker: Arc<Broker>,
    limit: Arc<Semaphore>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    let mut backoff = Duration::from_millis(5);
    loop {
        let permit = tokio::select! {
            permit = limit.clone().acquire_owned() => permit.expect("semaphore never closed"),
            _ = shutdown.changed() => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff = Duration::from_millis(5);
                let connection = Connection::new(
                    stream,
                    peer,
                    broker.clone(),
                    context.clone(),
                    shutdown.clone(),
                );
                connections.spawn(async move {
                    connection.run().await;
                    drop(permit);
                });
            }
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, backoff_ms = backoff.as_millis() as u64, "accept failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}
