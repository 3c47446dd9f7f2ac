//! Sockets: the Kafka listener and its connections.

mod connection;
mod listener;

pub(crate) use listener::serve_kafka;
