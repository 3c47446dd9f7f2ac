//! The built-in web console, served on the admin port (`/`), so an
//! operator needs nothing but the `strata` binary and a browser.
//!
//! A one-page app (vanilla HTML, CSS and JavaScript, no build step, every
//! asset compiled into the binary by [`assets`]) over JSON. The console adds
//! no second way into the broker's state: what it shows or changes goes
//! through the same faces every other client uses, under the logged-in
//! caller's principal, so Kafka's ACLs decide what a console user sees and
//! does:
//! - `/console/rest/*` is the REST Proxy's router (v3 topics, configs,
//!   records, consumer groups, lags, ACLs), whose Kafka requests run through
//!   the broker's handlers in process;
//! - `/console/registry/*` is the Schema Registry's router (subjects,
//!   versions, compatibility), with its subject ACLs;
//! - `/console/api/*` is what those faces lack, one module per resource:
//!   [`overview`] (listeners, traffic, disk and tier), [`topics`] (sizes,
//!   local and tiered), [`messages`] (a partition's records decoded for
//!   display), [`groups`] (resetting an empty group's offsets), [`security`]
//!   (SCRAM users) — each sending Kafka requests through the same in-process
//!   backend as the REST Proxy.
//!
//! The login is the admin face's (`HttpAuth`, Basic or Bearer); the page
//! and its assets hold no data and are served without it, and the page
//! asks for a user and password itself ([`without_browser_prompt`]).

mod assets;
mod groups;
mod messages;
mod overview;
mod security;
mod topics;

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use kafka_protocol::error::ResponseError;
use serde_json::{json, Value};
use strata_rest_proxy::backend::{send, KafkaRequest};
use strata_rest_proxy::{Caller, RestError, RestProxy};
use strata_schema_registry::http::SchemaRegistry;

use crate::broker::Broker;
use crate::rest_backend::InProcessKafka;

pub(crate) use assets::router as assets_router;

/// What the console's own handlers share.
pub(crate) struct Console {
    broker: Arc<Broker>,
    kafka: Arc<InProcessKafka>,
    /// The REST Proxy's router, which [`messages`] reads partitions through.
    rest: Router,
    data_dir: PathBuf,
}

impl Console {
    /// Sends `request` as `caller`, through the broker's handlers.
    async fn send<R: KafkaRequest>(
        &self,
        caller: &Caller,
        request: R,
    ) -> Result<R::Response, RestError> {
        send(self.kafka.as_ref(), caller, request).await
    }
}

type Shared = Arc<Console>;

/// The console's routes that need the broker (behind the admin login).
pub(crate) fn router(
    broker: Arc<Broker>,
    rest_proxy: Arc<RestProxy>,
    registry: Arc<SchemaRegistry>,
    data_dir: PathBuf,
) -> Router {
    let rest = strata_rest_proxy::router(rest_proxy);
    let registry = strata_schema_registry::http::audited_router(
        registry,
        broker.authorizer.clone(),
        broker.audit.clone(),
    );
    let state = Arc::new(Console {
        kafka: InProcessKafka::new(&broker),
        broker,
        rest: rest.clone(),
        data_dir,
    });
    Router::new()
        .route("/console/api/whoami", get(whoami))
        .route("/console/api/overview", get(overview::get))
        .route("/console/api/topics", get(topics::list))
        .route(
            "/console/api/topics/{topic}/partitions/{partition}/messages",
            get(messages::browse),
        )
        .route("/console/api/groups/{group}/reset", post(groups::reset))
        .route(
            "/console/api/users",
            get(security::list).post(security::upsert),
        )
        .route("/console/api/users/{user}", delete(security::remove))
        .with_state(state)
        .nest_service("/console/rest", rest)
        .nest_service("/console/registry", registry)
}

/// Who the console is logged in as, and what it may offer.
async fn whoami(State(console): State<Shared>, caller: Caller) -> Json<Value> {
    Json(json!({
        "principal": caller.principal.to_string(),
        "cluster_id": console.broker.cluster.cluster_id,
        "authorizer": console.broker.acls.is_some(),
    }))
}

/// The header the console's page sends with each of its calls.
const CONSOLE_HEADER: &str = "x-strata-console";

/// Drops the `WWW-Authenticate` challenge from the 401 answers to the
/// console page's own calls: the browser would otherwise open its native
/// login dialog over the page, which asks for the login in its own form.
/// Other clients (curl, Prometheus) keep the challenge. Goes outside the
/// login layer.
pub(crate) fn without_browser_prompt(router: Router) -> Router {
    router.layer(axum::middleware::from_fn(strip_challenge))
}

async fn strip_challenge(request: Request, next: Next) -> Response {
    let from_console = request.headers().contains_key(CONSOLE_HEADER);
    let mut response = next.run(request).await;
    if from_console {
        response.headers_mut().remove(header::WWW_AUTHENTICATE);
    }
    response
}

/// A Kafka error code of a response as the console's (Confluent-shaped)
/// error: authorization failures are 403, the rest 400 with Kafka's message.
fn kafka_error(code: i16, message: Option<&str>) -> Result<(), RestError> {
    if code == 0 {
        return Ok(());
    }
    let error = ResponseError::try_from_code(code);
    let text = match (message.filter(|m| !m.is_empty()), error) {
        (Some(m), _) => m.to_owned(),
        (None, Some(e)) => e.to_string(),
        (None, None) => format!("Kafka error code {code}"),
    };
    Err(match error {
        Some(
            ResponseError::TopicAuthorizationFailed
            | ResponseError::GroupAuthorizationFailed
            | ResponseError::ClusterAuthorizationFailed,
        ) => RestError::authorization(text),
        Some(ResponseError::UnknownTopicOrPartition) => RestError::not_found(text),
        _ => RestError::new(400, text),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_errors_map_to_http() {
        assert!(kafka_error(0, None).is_ok());
        let denied = kafka_error(29, None).unwrap_err();
        assert_eq!(denied.error_code, 40301);
        let missing = kafka_error(3, Some("no such topic")).unwrap_err();
        assert_eq!(
            (missing.status.as_u16(), missing.message.as_str()),
            (404, "no such topic")
        );
        assert_eq!(kafka_error(-1, None).unwrap_err().status.as_u16(), 400);
    }
}
