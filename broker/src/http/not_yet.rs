//! A face whose API is not built yet: every request gets HTTP 501 with a
//! Confluent-style error body, never a claim of success.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Json, Router};
use serde_json::json;

pub(crate) fn router(face: &'static str) -> Router {
    Router::new().fallback(move || async move {
        (
            StatusCode::NOT_IMPLEMENTED,
            Json(json!({"error_code": 501, "message": format!("the {face} is not implemented in this Strata version")})),
        )
            .into_response()
    })
}
