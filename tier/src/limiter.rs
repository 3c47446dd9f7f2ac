//! A byte-rate limit shared by every upload
//! (`remote.log.manager.copy.max.bytes.per.second`), so tiering never takes
//! the whole uplink from producers and consumers.

use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

pub(crate) struct RateLimiter {
    bytes_per_second: Option<u64>,
    /// When the bytes granted so far will have been "spent" at the rate.
    next_free: Mutex<Instant>,
}

impl RateLimiter {
    /// `None`: unlimited.
    pub(crate) fn new(bytes_per_second: Option<u64>) -> RateLimiter {
        RateLimiter {
            bytes_per_second: bytes_per_second.filter(|&r| r > 0),
            next_free: Mutex::new(Instant::now()),
        }
    }

    /// Waits until sending `bytes` keeps the average within the rate.
    pub(crate) async fn acquire(&self, bytes: u64) {
        let Some(rate) = self.bytes_per_second else {
            return;
        };
        let start = {
            let mut next = self.next_free.lock();
            let start = (*next).max(Instant::now());
            *next = start + Duration::from_secs_f64(bytes as f64 / rate as f64);
            start
        };
        tokio::time::sleep_until(start).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spaces_grants_at_the_rate() {
        let limiter = RateLimiter::new(Some(1000));
        let t0 = Instant::now();
        limiter.acquire(500).await; // first grant is immediate
        limiter.acquire(500).await; // waits for the first 500 bytes: 0.5 s
        limiter.acquire(10).await; // and the next 500: 1 s in all
        assert_eq!(t0.elapsed(), Duration::from_secs(1));
        let unlimited = RateLimiter::new(None);
        unlimited.acquire(u64::MAX).await;
    }
}
