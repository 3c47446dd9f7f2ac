//! Confluent REST Proxy API v3 (`/v3/clusters/{cluster_id}/...`): one
//! module per resource, each answering in kafka-rest's JSON shapes
//! ([`links`]) and error bodies ([`errors`]).

mod acls;
mod body;
mod brokers;
mod clusters;
mod configs;
mod consumer_groups;
mod errors;
mod groups;
mod kafka;
mod lags;
mod links;
mod partitions;
mod reassignments;
mod topics;

mod read;
mod records;

#[cfg(test)]
mod test_support;

use axum::Router;

use crate::Shared;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .merge(records::routes())
        .merge(read::routes())
        .merge(clusters::routes())
        .merge(brokers::routes())
        .merge(topics::routes())
        .merge(partitions::routes())
        .merge(reassignments::routes())
        .merge(configs::routes())
        .merge(consumer_groups::routes())
        .merge(lags::routes())
        .merge(acls::routes())
}

#[cfg(test)]
mod tests {
    /// axum refuses conflicting routes when they are added: build them all.
    #[test]
    fn routes_do_not_conflict() {
        let _ = super::routes();
    }
}
