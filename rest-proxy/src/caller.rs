//! The [`Caller`] of an HTTP request, extracted from its connection.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::backend::Caller;

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let host = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| format!("/{}", addr.ip()))
            .unwrap_or_else(|| "/127.0.0.1".into());
        Ok(Caller::anonymous(host))
    }
}
