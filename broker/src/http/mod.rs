//! The HTTP faces owned by the broker: admin (`/health*`, `/metrics`), the
//! login layer every face sits behind ([`auth`]) and the (HTTP or HTTPS)
//! serving loop ([`serve`]). The Schema Registry's router lives in
//! `strata-schema-registry` (see `schemas.rs`) and the REST Proxy's in
//! `strata-rest-proxy` (see `rest_backend.rs`).

mod admin;
pub(crate) mod auth;
pub(crate) mod health;
mod serve;

pub(crate) use admin::{router as admin_router, AdminFace};
pub(crate) use auth::HttpAuth;
pub(crate) use health::Readiness;
pub(crate) use serve::{serve_http, HttpTls};
