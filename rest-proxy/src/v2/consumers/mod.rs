//! v2 consumer instances, each a real member of its consumer group.
//!
//! An instance created with `POST /consumers/{group}` joins `group` with the
//! classic protocol as soon as it subscribes, so it shares partitions with
//! librdkafka, kafka-python or Java members of the same group and computes
//! the assignment itself when elected leader. Layout: [`config`] (the create
//! body), [`instance`] (state and locking), [`membership`] (join, sync,
//! heartbeat, rebalance), [`assignors`] (range, roundrobin and their wire
//! format), [`read`] (positions and records), [`kafka`] (offset requests),
//! [`http`] (routes and shapes), [`time`] (seek timestamps).

mod answer;
mod assignors;
mod config;
mod extract;
mod http;
mod instance;
mod kafka;
mod membership;
mod read;
mod time;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;

use self::instance::Instance;
use crate::error::RestError;
use crate::{RestProxy, Shared};

/// Every live consumer instance, by group and name.
#[derive(Default)]
pub(crate) struct Instances {
    live: parking_lot::Mutex<HashMap<(String, String), Arc<Instance>>>,
}

impl Instances {
    /// Registers a new instance; 40902 when its name is taken in its group.
    fn insert(&self, instance: Arc<Instance>) -> Result<(), RestError> {
        let key = (instance.group.clone(), instance.config.name.clone());
        let mut live = self.live.lock();
        if live.contains_key(&key) {
            return Err(RestError::consumer_already_exists());
        }
        live.insert(key, instance);
        Ok(())
    }

    fn get(&self, group: &str, name: &str) -> Option<Arc<Instance>> {
        self.live
            .lock()
            .get(&(group.to_string(), name.to_string()))
            .cloned()
    }

    fn remove(&self, group: &str, name: &str) -> Option<Arc<Instance>> {
        self.live
            .lock()
            .remove(&(group.to_string(), name.to_string()))
    }

    /// Removes and returns the instances idle since before `cutoff`.
    fn take_idle(&self, cutoff: Instant) -> Vec<Arc<Instance>> {
        let mut live = self.live.lock();
        let idle: Vec<(String, String)> = live
            .iter()
            .filter(|(_, i)| i.idle_since() < cutoff)
            .map(|(k, _)| k.clone())
            .collect();
        idle.iter().filter_map(|k| live.remove(k)).collect()
    }

    fn take_all(&self) -> Vec<Arc<Instance>> {
        self.live.lock().drain().map(|(_, i)| i).collect()
    }
}

pub(crate) fn routes() -> Router<Shared> {
    http::routes()
}

/// Removes instances idle longer than `consumer.instance.timeout.ms` (they
/// commit, when auto-commit is on, and leave their group); at shutdown,
/// closes every instance the same way.
pub(crate) async fn run_expiry(
    proxy: Arc<RestProxy>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let timeout = proxy.config.consumer_instance_timeout;
    let tick = (timeout / 4).clamp(Duration::from_millis(100), Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = stopped.wait_for(|s| *s) => break,
            _ = tokio::time::sleep(tick) => {}
        }
        let Some(cutoff) = Instant::now().checked_sub(timeout) else {
            continue;
        };
        for instance in proxy.consumers.take_idle(cutoff) {
            tracing::info!(group = %instance.group, instance = %instance.config.name, "consumer instance expired");
            instance.close(&proxy).await;
        }
    }
    for instance in proxy.consumers.take_all() {
        instance.close(&proxy).await;
    }
}
