//! The controller mutation quota of one CreateTopics, CreatePartitions or
//! DeleteTopics request (`controller_mutation_rate`, partitions per second).
//!
//! Versions that know THROTTLING_QUOTA_EXCEEDED get Kafka's strict quota:
//! once the client's token bucket is in debt, the request's remaining
//! topics fail with that error. Older versions get the permissive quota:
//! every mutation goes through and only `throttle_time_ms` tells the client
//! to slow down.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::ApiKey;

use super::{ClientQuotas, QuotaKind, SensorKey};
use crate::handlers::RequestContext;

/// Kafka's message for THROTTLING_QUOTA_EXCEEDED.
pub(crate) const EXCEEDED_MESSAGE: &str = "The throttling quota has been exceeded.";

/// One request's view of its client's mutation quota.
pub(crate) struct MutationQuota<'a> {
    target: Option<(&'a ClientQuotas, f64, SensorKey)>,
    strict: bool,
    throttle_ms: u64,
}

impl<'a> MutationQuota<'a> {
    /// The quota of the request in `ctx` to the API `api_key`.
    pub(crate) fn for_request(ctx: &'a RequestContext, api_key: ApiKey) -> Self {
        let quotas = &*ctx.broker.quotas;
        let strict_from = match api_key {
            ApiKey::CreateTopics => 6,
            ApiKey::DeleteTopics => 5,
            ApiKey::CreatePartitions => 3,
            _ => i16::MAX,
        };
        let target = quotas
            .enabled(QuotaKind::ControllerMutation)
            .then(|| {
                quotas.resolve(
                    QuotaKind::ControllerMutation,
                    &ctx.identity.principal.name,
                    &ctx.client_id,
                )
            })
            .flatten()
            .map(|(quota, key)| (quotas, quota, key));
        MutationQuota {
            target,
            strict: ctx.version >= strict_from,
            throttle_ms: 0,
        }
    }

    /// Records `partitions` mutations; `Err(THROTTLING_QUOTA_EXCEEDED)` when
    /// the strict quota is already exhausted (the mutation must not happen).
    pub(crate) fn record(&mut self, partitions: i32) -> Result<(), ResponseError> {
        let Some((quotas, quota, key)) = &self.target else {
            return Ok(());
        };
        let now = quotas.now_ms();
        let window = quotas.window;
        let strict = self.strict;
        let outcome = quotas.with_sensor(key.clone(), now, |sensor| {
            let super::Sensor::Bucket(bucket) = sensor else {
                return (0, true);
            };
            if strict {
                let owed = bucket.throttle_ms(window, *quota, now);
                if owed > 0 {
                    return (owed, false);
                }
            }
            bucket.record(window, *quota, f64::from(partitions.max(0)), now);
            (bucket.throttle_ms(window, *quota, now), true)
        });
        let (throttle, allowed) = outcome;
        // Kafka's strict quota reports a throttle only when it refuses; the
        // permissive one whenever the bucket is in debt.
        if !allowed || !strict {
            self.throttle_ms = throttle;
        }
        if allowed {
            Ok(())
        } else {
            Err(ResponseError::ThrottlingQuotaExceeded)
        }
    }

    /// The response's `throttle_time_ms`.
    pub(crate) fn throttle_time_ms(&self) -> i32 {
        self.throttle_ms.min(i32::MAX as u64) as i32
    }
}
