//! Kafka's quota measurements, as `org.apache.kafka.common.metrics` computes
//! them, so a client sees the throttle times a Kafka broker would give it.
//!
//! [`SampledRate`] is `Rate` over a `SampledStat`: `quota.window.num`
//! samples of `quota.window.size.seconds` each; the rate is their sum over
//! the elapsed window, which counts as at least `samples - 1` full windows
//! (so a client's first burst is spread over ten seconds by default, as in
//! Kafka). [`TokenBucket`] is the controller mutation quota's measure: a
//! bucket of `samples * window * quota` tokens refilled at `quota` per
//! second, in debt after a large request.

/// `quota.window.num` and `quota.window.size.seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WindowConfig {
    pub(crate) samples: u32,
    pub(crate) window_ms: u64,
}

impl Default for WindowConfig {
    fn default() -> Self {
        WindowConfig {
            samples: 11,
            window_ms: 1000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    value: f64,
    last_window_ms: u64,
}

/// A rate per second over sampled windows (Kafka's `Rate` of a `SampledStat`).
#[derive(Debug)]
pub(crate) struct SampledRate {
    samples: Vec<Sample>,
    current: usize,
    /// When a value was last recorded: idle sensors are dropped.
    pub(crate) last_record_ms: u64,
}

impl SampledRate {
    pub(crate) fn new(now_ms: u64) -> Self {
        SampledRate {
            samples: vec![Sample {
                value: 0.0,
                last_window_ms: now_ms,
            }],
            current: 0,
            last_record_ms: now_ms,
        }
    }

    /// Adds `value` at `now_ms` (negative to take back a recorded value).
    pub(crate) fn record(&mut self, config: WindowConfig, value: f64, now_ms: u64) {
        self.last_record_ms = now_ms;
        let current = self.samples[self.current];
        if now_ms.saturating_sub(current.last_window_ms) >= config.window_ms {
            self.current = (self.current + 1) % config.samples.max(1) as usize;
            let fresh = Sample {
                value: 0.0,
                last_window_ms: now_ms,
            };
            if self.current >= self.samples.len() {
                self.samples.push(fresh);
            } else {
                self.samples[self.current] = fresh;
            }
        }
        self.samples[self.current].value += value;
    }

    /// Forgets samples older than every window.
    fn purge(&mut self, config: WindowConfig, now_ms: u64) {
        let expire = u64::from(config.samples) * config.window_ms;
        for s in &mut self.samples {
            if now_ms.saturating_sub(s.last_window_ms) >= expire {
                *s = Sample {
                    value: 0.0,
                    last_window_ms: now_ms,
                };
            }
        }
    }

    /// The window the rate is taken over, in milliseconds (Kafka's
    /// `Rate.windowSize`): the time since the oldest sample began, at least
    /// `samples - 1` full windows, at least 1 ms.
    pub(crate) fn window_ms(&mut self, config: WindowConfig, now_ms: u64) -> u64 {
        self.purge(config, now_ms);
        let oldest = self
            .samples
            .iter()
            .map(|s| s.last_window_ms)
            .min()
            .unwrap_or(now_ms);
        let mut elapsed = now_ms.saturating_sub(oldest);
        let full = elapsed / config.window_ms.max(1);
        let min_full = u64::from(config.samples.saturating_sub(1));
        if full < min_full {
            elapsed += (min_full - full) * config.window_ms;
        }
        elapsed.max(1)
    }

    /// The rate per second at `now_ms`.
    pub(crate) fn measure(&mut self, config: WindowConfig, now_ms: u64) -> f64 {
        let window = self.window_ms(config, now_ms);
        let total: f64 = self.samples.iter().map(|s| s.value).sum();
        total / (window as f64 / 1000.0)
    }

    /// Records `value` and returns the throttle time Kafka's
    /// `QuotaUtils.throttleTime` gives when the rate is over `quota`: how
    /// long until the rate is back at the quota if nothing more is recorded.
    pub(crate) fn record_and_throttle(
        &mut self,
        config: WindowConfig,
        quota: f64,
        value: f64,
        now_ms: u64,
    ) -> u64 {
        self.record(config, value, now_ms);
        let rate = self.measure(config, now_ms);
        if rate <= quota {
            return 0;
        }
        let window = self.window_ms(config, now_ms) as f64;
        ((rate - quota) / quota * window).round() as u64
    }
}

/// Kafka's `TokenBucket`: the controller mutation quota's measure.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    tokens: f64,
    last_update_ms: Option<u64>,
    pub(crate) last_record_ms: u64,
}

impl TokenBucket {
    pub(crate) fn new(now_ms: u64) -> Self {
        TokenBucket {
            tokens: 0.0,
            last_update_ms: None,
            last_record_ms: now_ms,
        }
    }

    fn refill(&mut self, config: WindowConfig, quota: f64, now_ms: u64) {
        let burst = f64::from(config.samples) * (config.window_ms as f64 / 1000.0) * quota;
        self.tokens = match self.last_update_ms {
            // A new bucket starts full, as Kafka's (its last update is time 0).
            None => burst,
            Some(last) => {
                (self.tokens + quota * (now_ms.saturating_sub(last) as f64 / 1000.0)).min(burst)
            }
        };
        self.last_update_ms = Some(now_ms);
    }

    /// The throttle time if the bucket is in debt: the time it takes to
    /// refill to zero (`ControllerMutationQuotaManager.throttleTimeMs`).
    pub(crate) fn throttle_ms(&mut self, config: WindowConfig, quota: f64, now_ms: u64) -> u64 {
        self.refill(config, quota, now_ms);
        if self.tokens >= 0.0 {
            0
        } else {
            (-self.tokens / quota * 1000.0).round() as u64
        }
    }

    /// Takes `permits` tokens (going into debt if there are fewer).
    pub(crate) fn record(&mut self, config: WindowConfig, quota: f64, permits: f64, now_ms: u64) {
        self.refill(config, quota, now_ms);
        self.last_record_ms = now_ms;
        self.tokens -= permits;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: WindowConfig = WindowConfig {
        samples: 11,
        window_ms: 1000,
    };

    #[test]
    fn a_first_burst_is_spread_over_ten_windows() {
        let mut rate = SampledRate::new(0);
        // 100 units/s allowed: 1000 units in ten seconds is exactly the quota.
        assert_eq!(rate.record_and_throttle(CONFIG, 100.0, 1000.0, 0), 0);
        // 500 more: 1500 over 10 s is 150/s, 50% over: 5 s of throttle.
        assert_eq!(rate.record_and_throttle(CONFIG, 100.0, 500.0, 0), 5000);
    }

    #[test]
    fn old_samples_expire() {
        let mut rate = SampledRate::new(0);
        rate.record(CONFIG, 5000.0, 0);
        assert!(rate.measure(CONFIG, 0) > 100.0);
        assert_eq!(rate.measure(CONFIG, 11_000), 0.0);
        assert_eq!(rate.record_and_throttle(CONFIG, 100.0, 10.0, 12_000), 0);
    }

    #[test]
    fn a_taken_back_value_no_longer_counts() {
        let mut rate = SampledRate::new(0);
        let throttle = rate.record_and_throttle(CONFIG, 100.0, 2000.0, 0);
        assert_eq!(throttle, 10_000);
        rate.record(CONFIG, -2000.0, 0);
        assert_eq!(rate.measure(CONFIG, 0), 0.0);
    }

    #[test]
    fn token_bucket_allows_a_burst_then_throttles_until_refilled() {
        let mut bucket = TokenBucket::new(0);
        // Quota 2/s: a burst of 22 tokens.
        assert_eq!(bucket.throttle_ms(CONFIG, 2.0, 0), 0);
        bucket.record(CONFIG, 2.0, 20.0, 0);
        assert_eq!(bucket.throttle_ms(CONFIG, 2.0, 0), 0);
        bucket.record(CONFIG, 2.0, 10.0, 0);
        // 8 tokens in debt at 2/s: 4 s.
        assert_eq!(bucket.throttle_ms(CONFIG, 2.0, 0), 4000);
        assert_eq!(bucket.throttle_ms(CONFIG, 2.0, 3000), 1000);
        assert_eq!(bucket.throttle_ms(CONFIG, 2.0, 4000), 0);
    }
}
