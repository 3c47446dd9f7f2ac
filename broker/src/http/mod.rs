//! The HTTP faces: admin (`/health`, `/metrics`), and the Schema Registry and
//! REST Proxy ports, which answer 501 until their issues land.

mod admin;
mod not_yet;

pub(crate) use admin::router as admin_router;
pub(crate) use not_yet::router as not_yet_router;
