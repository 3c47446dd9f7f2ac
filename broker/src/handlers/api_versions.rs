//! ApiVersions (key 18): the route table, as served, and from v3 the
//! features (KIP-584) whose protocol flows are served, finalized at the
//! levels Kafka 4.1 finalizes on a new cluster: `transaction.version` 2
//! (KIP-890: clients that know it stop sending AddPartitionsToTxn and
//! AddOffsetsToTxn, and EndTxn v5 bumps the epoch) and `group.version` 1
//! (KIP-848's consumer groups). Older clients ignore them.

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::api_versions_response::{
    ApiVersion, FinalizedFeatureKey, SupportedFeatureKey,
};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;
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

/// (name, supported min, supported max = finalized level).
const FEATURES: &[(&str, i16, i16)] = &[("group.version", 0, 1), ("transaction.version", 0, 2)];

/// The epoch of the finalized features: they never change on this node.
/// (-1, the default, would tell clients there are none.)
const FINALIZED_FEATURES_EPOCH: i64 = 1;

pub(super) async fn handle(
    _ctx: &RequestContext,
    _request: ApiVersionsRequest,
) -> ApiVersionsResponse {
    let supported = FEATURES
        .iter()
        .map(|&(name, min, max)| {
            SupportedFeatureKey::default()
                .with_name(StrBytes::from_static_str(name))
                .with_min_version(min)
                .with_max_version(max)
        })
        .collect();
    let finalized = FEATURES
        .iter()
        .map(|&(name, _, level)| {
            FinalizedFeatureKey::default()
                .with_name(StrBytes::from_static_str(name))
                .with_min_version_level(level)
                .with_max_version_level(level)
        })
        .collect();
    ApiVersionsResponse::default()
        .with_api_keys(api_keys())
        .with_supported_features(supported)
        .with_finalized_features_epoch(FINALIZED_FEATURES_EPOCH)
        .with_finalized_features(finalized)
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
