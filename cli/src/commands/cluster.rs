//! `strata cluster info`: DescribeCluster (Metadata on brokers without
//! it) and the feature versions of ApiVersions.

use kafka_protocol::messages::{DescribeClusterRequest, MetadataRequest};
use serde_json::json;

use crate::args::ClusterAction;
use crate::client::Client;
use crate::error::{CliError, Result};
use crate::output::{Report, Table};

pub(crate) async fn run(client: &mut Client, action: ClusterAction) -> Result<Report> {
    let ClusterAction::Info = action;
    let (cluster_id, controller, brokers) =
        match client.any().version_of::<DescribeClusterRequest>() {
            Ok(_) => {
                let r = client
                    .any()
                    .call(|_| DescribeClusterRequest::default())
                    .await?;
                CliError::check(r.error_code, r.error_message.as_deref(), || {
                    "describe cluster".into()
                })?;
                let brokers: Vec<_> = r
                    .brokers
                    .iter()
                    .map(|b| {
                        (
                            b.broker_id.0,
                            b.host.to_string(),
                            b.port,
                            b.rack.as_ref().map(|r| r.to_string()),
                            b.is_fenced,
                        )
                    })
                    .collect();
                (r.cluster_id.to_string(), r.controller_id.0, brokers)
            }
            Err(_) => {
                let r = client
                    .any()
                    .call(|_| MetadataRequest::default().with_topics(Some(vec![])))
                    .await?;
                let brokers: Vec<_> = r
                    .brokers
                    .iter()
                    .map(|b| {
                        (
                            b.node_id.0,
                            b.host.to_string(),
                            b.port,
                            b.rack.as_ref().map(|r| r.to_string()),
                            false,
                        )
                    })
                    .collect();
                (
                    r.cluster_id.map(|c| c.to_string()).unwrap_or_default(),
                    r.controller_id.0,
                    brokers,
                )
            }
        };
    let versions = &client.any().api_versions;
    let features: Vec<_> = versions
        .finalized_features
        .iter()
        .map(|f| (f.name.to_string(), f.min_version_level, f.max_version_level))
        .collect();
    let supported: Vec<_> = versions
        .supported_features
        .iter()
        .map(|f| (f.name.to_string(), f.min_version, f.max_version))
        .collect();
    let mut broker_table = Table::new(vec!["ID", "HOST", "PORT", "RACK", "FENCED"])
        .titled(format!("Cluster {cluster_id}, controller {controller}"));
    for (id, host, port, rack, fenced) in &brokers {
        broker_table.row(vec![
            id.to_string(),
            host.clone(),
            port.to_string(),
            rack.clone().unwrap_or_else(|| "-".into()),
            fenced.to_string(),
        ]);
    }
    let mut feature_table =
        Table::new(vec!["FEATURE", "FINALIZED", "SUPPORTED"]).titled("Features:");
    for (name, min, max) in &supported {
        let finalized = features
            .iter()
            .find(|(n, ..)| n == name)
            .map_or("-".to_string(), |(_, _, level)| level.to_string());
        feature_table.row(vec![name.clone(), finalized, format!("{min}-{max}")]);
    }
    let json = json!({
        "cluster_id": cluster_id,
        "controller_id": controller,
        "brokers": brokers.iter().map(|(id, host, port, rack, fenced)| json!({"id": id, "host": host, "port": port, "rack": rack, "fenced": fenced})).collect::<Vec<_>>(),
        "features": {
            "epoch": versions.finalized_features_epoch,
            "finalized": features.iter().map(|(n, min, max)| (n.clone(), json!({"min": min, "max": max}))).collect::<serde_json::Map<_, _>>(),
            "supported": supported.iter().map(|(n, min, max)| (n.clone(), json!({"min": min, "max": max}))).collect::<serde_json::Map<_, _>>(),
        },
    });
    Ok(Report {
        json,
        tables: vec![broker_table, feature_table],
        lines: Vec::new(),
    })
}
