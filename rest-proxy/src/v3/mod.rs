//! Confluent REST Proxy API v3 (`/v3/clusters/{cluster_id}/...`).

mod read;
mod records;

use axum::Router;

use crate::Shared;

pub(crate) fn routes() -> Router<Shared> {
    Router::new().merge(records::routes()).merge(read::routes())
}
