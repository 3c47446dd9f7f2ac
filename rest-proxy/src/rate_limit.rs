//! Request rate limiting, as kafka-rest's `rate.limit.*` settings: every
//! request takes `rate.limit.default.cost` permits from one limiter handing
//! out `rate.limit.permits.per.sec`; a request that cannot have its permits
//! within `rate.limit.timeout.ms` is refused with HTTP 429 and Confluent's
//! body (`{"error_code":42901,"message":"Request rate limit exceeded: ..."}`).
//!
//! The limiter is Guava's `RateLimiter.create(permits)` (SmoothBursty, the
//! default `rate.limit.backend`), which kafka-rest uses: up to one second
//! of unused permits is kept, and a request may take permits ahead (the
//! next one then waits for them). v3 produce (`/records`, `records:batch`)
//! is left out as kafka-rest's `@DoNotRateLimit` leaves it out: it streams
//! and has its own `api.v3.produce.rate.limit.*` limits.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;

use crate::RestError;

/// `rate.limit.*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// `rate.limit.permits.per.sec`.
    pub permits_per_sec: u32,
    /// `rate.limit.default.cost`: 0 lets every request through.
    pub default_cost: u32,
    /// `rate.limit.timeout.ms`: how long a request may wait for its permits.
    pub timeout: Duration,
}

/// Guava's SmoothBursty limiter.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    config: RateLimitConfig,
    /// Seconds between two permits.
    interval: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    stored: f64,
    next_free: Instant,
}

impl RateLimiter {
    pub(crate) fn new(config: RateLimitConfig) -> Self {
        RateLimiter {
            config,
            interval: 1.0 / f64::from(config.permits_per_sec.max(1)),
            state: Mutex::new(Bucket {
                stored: 0.0,
                next_free: Instant::now(),
            }),
        }
    }

    /// Reserves `cost` permits: `Some(wait)` before the request may go on,
    /// `None` when they are not available within the timeout.
    fn reserve(&self, cost: u32, now: Instant) -> Option<Duration> {
        let mut s = self.state.lock();
        if s.next_free > now + self.config.timeout {
            return None;
        }
        if now > s.next_free {
            let fresh = now.duration_since(s.next_free).as_secs_f64() / self.interval;
            s.stored = (s.stored + fresh).min(f64::from(self.config.permits_per_sec));
            s.next_free = now;
        }
        let ready_at = s.next_free;
        let from_stored = f64::from(cost).min(s.stored);
        let owed = f64::from(cost) - from_stored;
        s.stored -= from_stored;
        s.next_free += Duration::from_secs_f64(owed * self.interval);
        Some(ready_at.saturating_duration_since(now))
    }
}

/// Whether kafka-rest exempts the request (v3 produce).
fn exempt(request: &Request) -> bool {
    let path = request.uri().path();
    path.starts_with("/v3/") && (path.ends_with("/records") || path.ends_with("/records:batch"))
}

/// The middleware: wait for permits, or answer 429 / 42901.
pub(crate) async fn limit(
    State(limiter): State<Arc<RateLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    let cost = limiter.config.default_cost;
    if cost == 0 || exempt(&request) {
        return next.run(request).await;
    }
    match limiter.reserve(cost, Instant::now()) {
        Some(wait) => {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            next.run(request).await
        }
        None => RestError::new(
            42901,
            "Request rate limit exceeded: The rate limit of requests per second has been exceeded.",
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(permits: u32, timeout_ms: u64) -> RateLimiter {
        RateLimiter::new(RateLimitConfig {
            permits_per_sec: permits,
            default_cost: 1,
            timeout: Duration::from_millis(timeout_ms),
        })
    }

    #[test]
    fn a_burst_beyond_the_rate_is_refused_then_served_again() {
        let l = limiter(2, 0);
        let t0 = Instant::now();
        assert_eq!(l.reserve(1, t0), Some(Duration::ZERO));
        assert_eq!(l.reserve(1, t0), None);
        // Half a second later the next permit is there.
        assert_eq!(
            l.reserve(1, t0 + Duration::from_millis(500)),
            Some(Duration::ZERO)
        );
        assert_eq!(l.reserve(1, t0 + Duration::from_millis(600)), None);
        // An idle second stores up to a second's permits.
        let later = t0 + Duration::from_secs(3);
        assert!(l.reserve(1, later).is_some());
        assert!(l.reserve(1, later).is_some());
        assert!(l.reserve(1, later).is_some());
        assert_eq!(l.reserve(1, later), None);
    }

    #[test]
    fn a_timeout_lets_requests_wait_for_their_permits() {
        let l = limiter(10, 250);
        let t0 = Instant::now();
        let ms = |d: Option<Duration>| d.map(|d| (d.as_secs_f64() * 1000.0).round() as u64);
        assert_eq!(ms(l.reserve(1, t0)), Some(0));
        assert_eq!(ms(l.reserve(1, t0)), Some(100));
        assert_eq!(ms(l.reserve(1, t0)), Some(200));
        // The next permit is 300 ms away, past the 250 ms timeout.
        assert_eq!(l.reserve(1, t0), None);
    }
}
