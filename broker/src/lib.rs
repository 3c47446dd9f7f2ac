//! The Strata broker: Kafka listener, handlers, cluster metadata and the HTTP
//! faces, composed into the `strata` binary.

mod audit;
mod broker;
mod clock;
mod cluster;
pub mod config;
mod console;
mod group_config;
mod groups;
mod handlers;
mod http;
mod internal_log;
mod internal_topic;
mod meta_properties;
mod metrics;
mod net;
mod producer_ids;
pub mod properties;
mod quotas;
mod rest_backend;
mod restore_report;
mod schema_validation;
mod schemas;
mod security;
mod server;
mod tls;
mod topic_config;
mod transactions;
mod txn_markers;

pub use server::{run, Server};
