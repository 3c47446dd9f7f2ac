//! The HTTP faces owned by the broker: admin (`/health`, `/metrics`) and the
//! REST Proxy port, which answers 501 until its issue lands. The Schema
//! Registry's router lives in `strata-schema-registry` (see `schemas.rs`).

mod admin;
mod not_yet;

pub(crate) use admin::router as admin_router;
pub(crate) use not_yet::router as not_yet_router;
