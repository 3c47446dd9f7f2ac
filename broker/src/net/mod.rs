//! Sockets: the Kafka listeners and their connections, with TLS and SASL.

mod connection;
mod frame_pool;
mod listener;
pub(crate) mod listeners;
mod sasl;

pub(crate) use listener::{connection_limit, serve_kafka};
