//! The [`Caller`] of an HTTP request: the `Identity` the broker's login
//! layer put into the request (so the Kafka requests the proxy sends run
//! under the HTTP caller's principal and Kafka's ACLs apply to them), or,
//! without a login layer, `User:ANONYMOUS` from the connection's address.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use strata_governance::Identity;

use crate::backend::Caller;

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(identity) = parts.extensions.get::<Identity>() {
            let mut caller = Caller::anonymous(format!("/{}", identity.host));
            caller.principal = identity.principal.clone();
            return Ok(caller);
        }
        let host = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| format!("/{}", addr.ip()))
            .unwrap_or_else(|| "/127.0.0.1".into());
        Ok(Caller::anonymous(host))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::Request;
    use strata_governance::Principal;

    use super::*;

    #[tokio::test]
    async fn the_login_identity_is_the_caller() {
        let mut request = Request::new(());
        request
            .extensions_mut()
            .insert(Identity::new(Principal::user("alice"), "10.0.0.7"));
        let (mut parts, _) = request.into_parts();
        let caller = Caller::from_request_parts(&mut parts, &()).await.unwrap();
        assert_eq!(caller.principal, Principal::user("alice"));
        assert_eq!(caller.client_host, "/10.0.0.7");
    }

    #[tokio::test]
    async fn without_login_the_caller_is_anonymous() {
        let (mut parts, _) = Request::new(()).into_parts();
        let caller = Caller::from_request_parts(&mut parts, &()).await.unwrap();
        assert_eq!(caller.principal, Principal::anonymous());
        assert_eq!(caller.client_host, "/127.0.0.1");
    }
}
