//! What every route under `/consumers/{group}/instances/{instance}` starts
//! from, as axum extractors, so the handlers in [`super::http`] hold only
//! their own step: the caller, the instance the path names, the answer's
//! negotiated media type ([`InstanceCall`]) and the parsed v2 body
//! ([`V2Body`]).
//!
//! The order of the checks is Confluent's: an unacceptable `Accept` (406)
//! first, then the body (415, 400, 422), and only then the instance (404,
//! 40301), because kafka-rest's JAX-RS layer negotiates and reads the body
//! before its resource method looks the instance up. Axum runs the parts
//! extractors before the body one and the handler calls
//! [`InstanceCall::instance`] itself, which keeps that order.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::instance::Instance;
use crate::backend::Caller;
use crate::error::RestError;
use crate::media::{accepted, content_type, MediaType, V2_JSON};
use crate::Shared;

/// A request to one consumer instance: who asks, which instance, and the
/// media type its answer is sent in.
pub(super) struct InstanceCall {
    pub(super) proxy: Shared,
    pub(super) caller: Caller,
    pub(super) group: String,
    pub(super) name: String,
    /// The negotiated `Content-Type` of a JSON answer.
    pub(super) media: &'static str,
}

impl FromRequestParts<Shared> for InstanceCall {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, proxy: &Shared) -> Result<Self, Response> {
        let Ok(caller) = Caller::from_request_parts(parts, proxy).await;
        let Path((group, name)) = Path::<(String, String)>::from_request_parts(parts, proxy)
            .await
            .map_err(IntoResponse::into_response)?;
        let media = negotiate(&parts.headers).map_err(IntoResponse::into_response)?;
        Ok(InstanceCall {
            proxy: proxy.clone(),
            caller,
            group,
            name,
            media,
        })
    }
}

impl InstanceCall {
    /// The instance the path names, if this caller created it. Its Kafka
    /// requests carry its creator's principal, so another caller using it
    /// would read and commit with the creator's rights: that is refused
    /// with 40301 (kafka-rest, which has no per-caller principal, does not
    /// check). Using an instance keeps it alive.
    pub(super) fn instance(&self) -> Result<Arc<Instance>, RestError> {
        let instance = self
            .proxy
            .consumers
            .get(&self.group, &self.name)
            .ok_or_else(RestError::consumer_instance_not_found)?;
        if instance.caller.principal != self.caller.principal {
            return Err(RestError::authorization(format!(
                "Consumer instance {} of group {} belongs to another principal",
                self.name, self.group
            )));
        }
        instance.touch();
        Ok(instance)
    }

    /// A JSON answer in the negotiated media type.
    pub(super) fn answer(&self, value: serde_json::Value) -> Response {
        answer(self.media, value)
    }
}

/// A JSON answer with the given `Content-Type`.
pub(super) fn answer(media: &'static str, value: serde_json::Value) -> Response {
    ([(header::CONTENT_TYPE, media)], axum::Json(value)).into_response()
}

/// The answer's media type for endpoints answering plain v2 JSON: any v2
/// media type (embedded or not), `application/json` or a wildcard; 406
/// otherwise.
pub(super) fn negotiate(headers: &HeaderMap) -> Result<&'static str, RestError> {
    for range in accepted(headers) {
        match range {
            MediaType::Kafka { version, .. } if version == "v2" => return Ok(V2_JSON),
            MediaType::KafkaAnyVersion | MediaType::Any => return Ok(V2_JSON),
            MediaType::Json => return Ok("application/json"),
            _ => {}
        }
    }
    Err(RestError::not_acceptable())
}

/// A request body in a v2 media type (or JSON; none is fine only for an
/// empty body), parsed; `None` for an empty body.
pub(super) struct V2Body<T>(pub(super) Option<T>);

impl<T> V2Body<T> {
    /// The body, or 422 when the route needs one and it was empty.
    pub(super) fn required(self) -> Result<T, RestError> {
        self.0
            .ok_or_else(|| RestError::unprocessable("request body is required"))
    }
}

impl<T: DeserializeOwned> FromRequest<Shared> for V2Body<T> {
    type Rejection = Response;

    async fn from_request(request: Request, proxy: &Shared) -> Result<Self, Response> {
        let headers = request.headers().clone();
        let body = Bytes::from_request(request, proxy)
            .await
            .map_err(IntoResponse::into_response)?;
        parse_body(&headers, &body)
            .map(V2Body)
            .map_err(IntoResponse::into_response)
    }
}

/// Checks the `Content-Type` of a body and parses it; `None` for an empty
/// body.
pub(super) fn parse_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Option<T>, RestError> {
    let empty = body.iter().all(u8::is_ascii_whitespace);
    match content_type(headers) {
        None if empty => return Ok(None),
        Some(MediaType::Kafka { version, .. }) if version == "v2" => {}
        Some(MediaType::KafkaAnyVersion | MediaType::Json) => {}
        _ => return Err(RestError::unsupported_media_type()),
    }
    if empty {
        return Ok(None);
    }
    serde_json::from_slice(body).map(Some).map_err(|e| {
        if e.is_data() {
            RestError::unprocessable(e.to_string())
        } else {
            RestError::bad_request(e.to_string())
        }
    })
}
