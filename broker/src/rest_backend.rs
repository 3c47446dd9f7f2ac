//! The REST Proxy's [`KafkaBackend`]: its Kafka requests run through this
//! broker's own handlers in process, under the HTTP caller's principal, so
//! a REST produce or group join is checked, authorized and logged exactly
//! as the same request from a Kafka client would be.

use std::sync::{Arc, Weak};

use kafka_protocol::messages::{RequestKind, ResponseKind};
use strata_governance::audit::Face;
use strata_governance::Identity;
use strata_rest_proxy::{BackendError, BoxFuture, Caller, KafkaBackend};

use crate::broker::Broker;
use crate::handlers::{self, RequestContext};

/// Runs REST Proxy requests on the broker. Holds the broker weakly: the
/// proxy is part of the broker, not an owner keeping it alive at shutdown.
pub(crate) struct InProcessKafka {
    broker: Weak<Broker>,
}

impl InProcessKafka {
    pub(crate) fn new(broker: &Arc<Broker>) -> Arc<Self> {
        Arc::new(InProcessKafka {
            broker: Arc::downgrade(broker),
        })
    }
}

impl KafkaBackend for InProcessKafka {
    fn call<'a>(
        &'a self,
        caller: &'a Caller,
        version: i16,
        request: RequestKind,
    ) -> BoxFuture<'a, Result<ResponseKind, BackendError>> {
        Box::pin(async move {
            let api = "in-process request";
            let broker = self.broker.upgrade().ok_or_else(|| BackendError {
                api,
                reason: "the broker is shutting down".into(),
            })?;
            let listener = broker.first_listener();
            let ctx = RequestContext {
                broker,
                api: handlers::api_of(&request),
                face: Face::RestProxy,
                version,
                identity: Arc::new(Identity::new(
                    caller.principal.clone(),
                    caller.client_host.trim_start_matches('/'),
                )),
                client_id: caller.client_id.clone(),
                client_host: caller.client_host.clone(),
                listener,
                append_turn: parking_lot::Mutex::new(None),
            };
            handlers::dispatch(&ctx, request)
                .await
                .map_err(|e| BackendError {
                    api,
                    reason: e.to_string(),
                })
        })
    }
}
