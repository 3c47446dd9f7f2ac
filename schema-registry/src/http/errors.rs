//! Every error answer of the registry goes through [`ApiError`]: one table
//! ([`ApiError::status_and_code`]) maps each kind to its HTTP status and
//! Confluent `error_code`, and one body, `{"error_code": N, "message": "..."}`,
//! carries it.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::body::reply;
use crate::registry::RegistryError;

/// An error answer.
#[derive(Debug)]
pub enum ApiError {
    /// What the registry refused (40401 to 50002, see [`RegistryError`]).
    Registry(RegistryError),
    /// No route serves the path (404).
    NoRoute,
    /// The path is served, not with this method (405).
    MethodNotAllowed,
    /// A body in a content type the registry does not read (415).
    UnsupportedMediaType,
    /// A body that is not JSON, or a parameter the registry cannot serve (400).
    BadRequest(String),
    /// A JSON body of the wrong shape (422).
    UnprocessableBody(String),
    /// The caller may not do this (403, 40301).
    Denied(String),
}

/// A handler's answer.
pub(super) type ApiResult = Result<Response, ApiError>;

impl ApiError {
    /// `(HTTP status, Confluent error_code)`: the one table.
    pub fn status_and_code(&self) -> (StatusCode, u32) {
        match self {
            ApiError::Registry(e) => {
                let (status, code) = e.status_and_code();
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                (status, code)
            }
            ApiError::NoRoute => (StatusCode::NOT_FOUND, 404),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, 405),
            ApiError::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, 415),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, 400),
            ApiError::UnprocessableBody(_) => (StatusCode::UNPROCESSABLE_ENTITY, 422),
            ApiError::Denied(_) => (StatusCode::FORBIDDEN, 40301),
        }
    }

    /// The body's `message`: Confluent's wording where clients match on it.
    pub fn message(&self) -> String {
        match self {
            ApiError::Registry(e) => e.to_string(),
            ApiError::NoRoute => "HTTP 404 Not Found".into(),
            ApiError::MethodNotAllowed => "HTTP 405 Method Not Allowed".into(),
            ApiError::UnsupportedMediaType => "HTTP 415 Unsupported Media Type".into(),
            ApiError::BadRequest(message)
            | ApiError::UnprocessableBody(message)
            | ApiError::Denied(message) => message.clone(),
        }
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        ApiError::Registry(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let mut response = reply(json!({"error_code": code, "message": self.message()}));
        *response.status_mut() = status;
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_status_and_code() {
        let cases = [
            (ApiError::NoRoute, 404, 404),
            (ApiError::MethodNotAllowed, 405, 405),
            (ApiError::UnsupportedMediaType, 415, 415),
            (ApiError::BadRequest("x".into()), 400, 400),
            (ApiError::UnprocessableBody("x".into()), 422, 422),
            (ApiError::Denied("x".into()), 403, 40301),
            (
                RegistryError::SubjectNotFound("s".into()).into(),
                404,
                40401,
            ),
            (RegistryError::Timeout("t".into()).into(), 500, 50002),
        ];
        for (error, status, code) in cases {
            assert_eq!(
                error.status_and_code(),
                (StatusCode::from_u16(status).unwrap(), code)
            );
        }
    }
}
