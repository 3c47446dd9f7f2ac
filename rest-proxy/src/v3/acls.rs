//! v3 ACLs (`/acls`, `/acls:batch`) on a broker without an authorizer.
//! Strata's broker has none yet, so each call answers what kafka-rest
//! answers there: Kafka replies SECURITY_DISABLED ("No Authorizer is
//! configured on the broker" to DescribeAcls, "No Authorizer is
//! configured." to CreateAcls and DeleteAcls) and rest-utils maps
//! `SecurityDisabledException` to 400 with error code 40002. Nothing is
//! stored or reported as done. When the security work adds an authorizer
//! these become DescribeAcls/CreateAcls/DeleteAcls through the backend.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;

use super::body::Body;
use super::clusters;
use super::errors::invalid_payload;
use crate::error::RestError;
use crate::Shared;

const DESCRIBE_DISABLED: &str = "No Authorizer is configured on the broker";
const ALTER_DISABLED: &str = "No Authorizer is configured.";

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/v3/clusters/{cluster_id}/acls",
            get(search).post(create).delete(delete),
        )
        .route("/v3/clusters/{cluster_id}/acls:batch", post(create))
}

fn security_disabled(message: &str) -> RestError {
    RestError::new(40002, message)
}

async fn search(State(proxy): State<Shared>, Path(c): Path<String>) -> Result<Response, RestError> {
    clusters::check(&proxy, &c)?;
    Err(security_disabled(DESCRIBE_DISABLED))
}

async fn create(
    State(proxy): State<Shared>,
    Path(c): Path<String>,
    Body(body): Body<Value>,
) -> Result<Response, RestError> {
    body.ok_or_else(|| invalid_payload("Null input provided. Data is required."))?;
    clusters::check(&proxy, &c)?;
    Err(security_disabled(ALTER_DISABLED))
}

async fn delete(State(proxy): State<Shared>, Path(c): Path<String>) -> Result<Response, RestError> {
    clusters::check(&proxy, &c)?;
    Err(security_disabled(ALTER_DISABLED))
}
