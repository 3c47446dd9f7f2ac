//! The HTTP face owned by the broker: admin (`/health`, `/metrics`). The
//! Schema Registry's router lives in `strata-schema-registry` (see
//! `schemas.rs`) and the REST Proxy's in `strata-rest-proxy` (see
//! `rest_backend.rs`).

mod admin;

pub(crate) use admin::router as admin_router;
