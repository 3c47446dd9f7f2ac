//! Sockets: the Kafka listener and its connections.

mod connection;
mod frame_pool;
mod listener;

pub(crate) use listener::serve_kafka;
