//! ApiVersions (key 18): the route table, as served.

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse, ResponseKind};
use strata_wire::response::encode_response;

use super::{RequestContext, ROUTES};

fn api_keys() -> Vec<ApiVersion> {
    ROUTES
        .iter()
        .map(|r| {
            ApiVersion::default()
                .with_api_key(r.api_key as i16)
                .with_min_version(r.min_version)
                .with_max_version(r.max_version)
        })
        .collect()
}

pub(super) async fn handle(
    _ctx: &RequestContext,
    _request: ApiVersionsRequest,
) -> ApiVersionsResponse {
    ApiVersionsResponse::default().with_api_keys(api_keys())
}

/// The answer to an ApiVersions request at a version we do not serve: a v0
/// body with UNSUPPORTED_VERSION and our ranges, so the client can retry at a
/// version both sides know (KIP-511). The connection stays open.
pub(crate) fn unsupported_version_response(correlation_id: i32) -> Bytes {
    let body = ApiVersionsResponse::default()
        .with_error_code(ResponseError::UnsupportedVersion.code())
        .with_api_keys(api_keys());
    encode_response(
        ApiKey::ApiVersions,
        0,
        correlation_id,
        &ResponseKind::ApiVersions(body),
    )
    .expect("ApiVersions v0 always encodes")
}
