//! Confluent REST Proxy API v2: topics, brokers, produce in five embedded
//! formats, and consumer instances.

mod brokers;
pub(crate) mod consumers;
mod produce;
mod topics;

use axum::Router;

use crate::Shared;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .merge(topics::routes())
        .merge(brokers::routes())
        .merge(produce::routes())
        .merge(consumers::routes())
}
