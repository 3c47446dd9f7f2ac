//! The v3 JSON body extractor: `application/json` only (415 otherwise, as
//! Jersey's `@Consumes`), unparsable JSON or a field of the wrong type is a
//! 400 (rest-utils' `JsonParseExceptionMapper`/`JsonMappingExceptionMapper`),
//! and an empty or `null` body reaches the handler as `None`, which answers
//! kafka-rest's 422 "Request body is empty" for its resource.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

use super::errors::bad_body;
use crate::error::RestError;

/// A JSON request body, `None` when the request carried none.
pub(crate) struct Body<T>(pub(crate) Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = RestError;

    async fn from_request(req: Request, state: &S) -> Result<Self, RestError> {
        if let Some(value) = req.headers().get(header::CONTENT_TYPE) {
            let media = value
                .to_str()
                .unwrap_or("")
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if media != "application/json" {
                return Err(RestError::unsupported_media_type());
            }
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| RestError::new(u32::from(e.status().as_u16()), e.body_text()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body(None));
        }
        serde_json::from_slice::<Option<T>>(&bytes)
            .map(Body)
            .map_err(|e| bad_body(e.to_string()))
    }
}
