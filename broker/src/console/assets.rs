//! The console's page and assets, compiled into the binary: the console
//! works with no network beyond the broker, and the page cannot drift from
//! the API of the binary serving it.
//!
//! Served without login (they hold no data) from the first moment of
//! start-up, like `/health`: the page's calls to `/console/api/*` are what
//! the login and the ACLs guard.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

const INDEX: &str = include_str!("assets/index.html");

/// Every asset the page loads, by name.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("assets/app.css"),
    ),
    ("app.js", JS, include_str!("assets/app.js")),
    ("topics.js", JS, include_str!("assets/topics.js")),
    ("messages.js", JS, include_str!("assets/messages.js")),
    ("groups.js", JS, include_str!("assets/groups.js")),
    ("schemas.js", JS, include_str!("assets/schemas.js")),
    ("security.js", JS, include_str!("assets/security.js")),
];
const JS: &str = "text/javascript; charset=utf-8";

/// `/` and `/console/` (the page) and `/console/assets/{file}`.
pub(crate) fn router() -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console/") }))
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .route("/console/", get(index))
        .route("/console/assets/{file}", get(asset))
}

async fn index() -> Response {
    file(INDEX, "text/html; charset=utf-8")
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => file(body, content_type),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}

fn file(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // The page changes with the binary; a browser asks again after
            // an upgrade instead of running an old script against a new API.
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    async fn get(path: &str) -> Response {
        router()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_page_and_its_assets_are_in_the_binary() {
        let page = get("/console/").await;
        assert_eq!(page.status(), StatusCode::OK);
        for (name, _, body) in ASSETS {
            assert!(
                INDEX.contains(&format!("/console/assets/{name}")),
                "{name} is loaded"
            );
            assert!(
                !body.contains("http://") && !body.contains("https://"),
                "{name}: no CDN"
            );
        }
        assert!(
            !INDEX.contains("http://") && !INDEX.contains("https://"),
            "no CDN"
        );
        let script = get("/console/assets/app.js").await;
        assert_eq!(
            script.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            get("/console/assets/nope.js").await.status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(get("/").await.status(), StatusCode::SEE_OTHER);
    }
}
