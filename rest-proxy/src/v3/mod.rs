//! Confluent REST Proxy API v3 (`/v3/clusters/{cluster_id}/...`).

use axum::Router;

use crate::Shared;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
}
