//! The broker's background tasks, each a loop until the stop signal:
//! JWKS refresh, compaction, producer expiry and retention; and the wait
//! for SIGTERM or Ctrl-C that starts the shutdown.

use std::sync::Arc;
use std::time::Duration;

use strata_governance::oauth::JwtValidator;
use tokio::sync::watch;

use crate::broker::Broker;
use crate::clock;

/// Fetches the JWKS again every `sasl.oauthbearer.jwks.endpoint.refresh.ms`;
/// a failed fetch keeps the keys in use.
pub(super) async fn refresh_jwks(jwt: Arc<JwtValidator>, mut stopped: watch::Receiver<bool>) {
    let every = jwt.settings().jwks_refresh;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
        if let Err(e) = jwt.refresh().await {
            tracing::warn!(error = %e, "refreshing the JWKS failed; keeping the keys in use");
        }
    }
}

pub(super) async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Compacts the logs of compacted topics every `log.cleaner.backoff.ms`, one
/// log at a time on a blocking thread (a cleaning pass rewrites segments and
/// must not hold up the async workers).
pub(super) async fn compact_logs(broker: Arc<Broker>, mut stopped: watch::Receiver<bool>) {
    let every = Duration::from_millis(broker.cluster.properties.log_cleaner_backoff_ms.max(1));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
        for topic in broker.cluster.topics() {
            if !topic.effective_config().log.compact {
                continue;
            }
            for log in topic.logs() {
                let now = clock::now_ms();
                match tokio::task::spawn_blocking(move || log.compact(now)).await {
                    Ok(Ok(outcome)) if outcome.cleaned_segments > 0 => {
                        tracing::info!(topic = %topic.name, ?outcome, "compacted");
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(topic = %topic.name, error = %e, "compaction failed")
                    }
                    Err(e) => tracing::error!(error = %e, "compaction task panicked"),
                }
            }
        }
    }
}

/// Forgets idle idempotent producers (`producer.id.expiration.ms`) every
/// `producer.id.expiration.check.interval.ms`, as Kafka's
/// `PRODUCER_EXPIRE_CHECK_INTERVAL` task does.
pub(super) async fn expire_producers(broker: Arc<Broker>, mut stopped: watch::Receiver<bool>) {
    let properties = &broker.cluster.properties;
    let every = Duration::from_millis(properties.producer_id_expiration_check_interval_ms.max(1));
    let expiration = properties.producer_id_expiration_ms;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
        let cutoff = clock::now_ms().saturating_sub(expiration);
        let logs = broker.cluster.all_logs();
        let expired: usize = logs.iter().map(|log| log.expire_producers(cutoff)).sum();
        if expired > 0 {
            tracing::debug!(expired, "idle producers forgotten");
        }
    }
}

/// Applies retention and time-based rolling every `log.retention.check.interval.ms`.
pub(super) async fn enforce_retention(broker: Arc<Broker>, mut stopped: watch::Receiver<bool>) {
    let every = Duration::from_millis(
        broker
            .cluster
            .properties
            .log_retention_check_interval_ms
            .max(1),
    );
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
        let logs = broker.cluster.all_logs();
        let now = clock::now_ms();
        let outcome = tokio::task::spawn_blocking(move || {
            for log in logs {
                if let Err(e) = log.enforce_retention(now) {
                    tracing::warn!(error = %e, "retention pass failed");
                }
            }
        })
        .await;
        if let Err(e) = outcome {
            tracing::error!(error = %e, "retention task panicked");
        }
    }
}
