//! v2 consumer instances: each a real member of its consumer group.

use std::sync::Arc;

use axum::Router;

use crate::{RestProxy, Shared};

/// Every live consumer instance.
#[derive(Default)]
pub(crate) struct Instances {}

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
}

/// Removes instances idle longer than `consumer.instance.timeout.ms`.
pub(crate) async fn run_expiry(
    _proxy: Arc<RestProxy>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let _ = stopped.wait_for(|s| *s).await;
}
