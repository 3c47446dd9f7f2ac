//! At most one denial record per (principal, operation, resource) per
//! window: a client retrying a refused produce in a loop, or a scanner
//! trying every topic, must not drown the audit trail (nor fill the sink's
//! queue so that other events are dropped). The first denial of a key in a
//! window is recorded; later ones only counted, and the count is reported as
//! `suppressed` on the key's next record. Everything else passes through.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::{AuditEvent, AuditSink, EventKind};
use crate::acl::ResourceType;
use crate::Operation;

/// Ten seconds: a burst costs one record per key, and a new burst after a
/// pause is still seen within seconds.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(10);

/// Keys remembered at most; past it, expired keys are forgotten, and if
/// all are live, denials of new keys are recorded without limiting (the
/// sink's own bound still applies).
const MAX_KEYS: usize = 10_000;

type Key = (String, Operation, ResourceType, String);

struct Window {
    started: Instant,
    suppressed: u64,
}

/// Rate-limits denial events on their way to `inner`.
pub struct DenialLimiter<S> {
    inner: S,
    window: Duration,
    keys: Mutex<HashMap<Key, Window>>,
}

impl<S: AuditSink> DenialLimiter<S> {
    pub fn new(inner: S, window: Duration) -> Self {
        DenialLimiter {
            inner,
            window,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// [`AuditSink::record`] at a given instant (tests).
    pub fn record_at(&self, mut event: AuditEvent, now: Instant) {
        let key = match (&event.kind, &event.authorization) {
            (EventKind::Authorization, Some(info)) if !info.granted => (
                event.key(),
                info.operation,
                info.resource_type,
                info.resource_name.clone(),
            ),
            _ => return self.inner.record(event),
        };
        {
            let mut keys = self.keys.lock();
            if keys.len() >= MAX_KEYS && !keys.contains_key(&key) {
                let window = self.window;
                keys.retain(|_, w| now.duration_since(w.started) < window);
            }
            let room = keys.len() < MAX_KEYS;
            match keys.get_mut(&key) {
                Some(w) if now.duration_since(w.started) < self.window => {
                    w.suppressed += 1;
                    return;
                }
                Some(w) => {
                    event.suppressed = w.suppressed;
                    *w = Window {
                        started: now,
                        suppressed: 0,
                    };
                }
                None if room => {
                    keys.insert(
                        key,
                        Window {
                            started: now,
                            suppressed: 0,
                        },
                    );
                }
                None => {}
            }
        }
        self.inner.record(event);
    }
}

impl<S: AuditSink> AuditSink for DenialLimiter<S> {
    fn record(&self, event: AuditEvent) {
        self.record_at(event, Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::audit::Face;
    use crate::{Identity, Principal, Resource};

    #[derive(Default, Clone)]
    struct Collect(Arc<Mutex<Vec<AuditEvent>>>);

    impl AuditSink for Collect {
        fn record(&self, event: AuditEvent) {
            self.0.lock().push(event);
        }
    }

    fn denial(user: &str, topic: &str) -> AuditEvent {
        AuditEvent::denied(
            Face::Kafka,
            "Produce",
            &Identity::new(Principal::user(user), "10.0.0.1"),
            Operation::Write,
            &Resource::Topic(topic),
        )
    }

    #[test]
    fn a_burst_of_one_denial_is_one_record_and_a_count() {
        let sink = Collect::default();
        let limiter = DenialLimiter::new(sink.clone(), DEFAULT_WINDOW);
        let t0 = Instant::now();
        for i in 0..100 {
            limiter.record_at(denial("bob", "orders"), t0 + Duration::from_millis(i * 50));
        }
        assert_eq!(sink.0.lock().len(), 1, "5 s of denials: one record");
        limiter.record_at(denial("bob", "orders"), t0 + Duration::from_secs(11));
        let events = sink.0.lock();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].suppressed, 0);
        assert_eq!(
            events[1].suppressed, 99,
            "the next record counts the left-out ones"
        );
    }

    #[test]
    fn keys_are_limited_separately_and_other_events_pass() {
        let sink = Collect::default();
        let limiter = DenialLimiter::new(sink.clone(), DEFAULT_WINDOW);
        let t0 = Instant::now();
        limiter.record_at(denial("bob", "orders"), t0);
        limiter.record_at(denial("bob", "payments"), t0);
        limiter.record_at(denial("carol", "orders"), t0);
        limiter.record_at(denial("bob", "orders"), t0);
        let alice = Identity::new(Principal::user("alice"), "10.0.0.1");
        for _ in 0..3 {
            limiter.record_at(
                AuditEvent::changed(
                    Face::Kafka,
                    "CreateTopics",
                    &alice,
                    Operation::Create,
                    &Resource::Topic("t"),
                ),
                t0,
            );
            limiter.record_at(
                AuditEvent::login_failed(Face::Kafka, "SASL_PLAINTEXT/PLAIN", None, "x", "bad"),
                t0,
            );
        }
        let events = sink.0.lock();
        let denials = events
            .iter()
            .filter(|e| e.kind == EventKind::Authorization)
            .count();
        assert_eq!(denials, 3);
        assert_eq!(events.len(), 3 + 6);
    }
}
