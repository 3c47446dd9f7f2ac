//! The state every connection and handler shares.

use std::sync::Arc;

use strata_governance::acl::AclAuthorizer;
use strata_governance::credentials::CredentialStore;
use strata_governance::Authorizer;

use crate::cluster::Cluster;
use crate::groups::GroupCoordinator;
use crate::metrics::Metrics;
use crate::producer_ids::ProducerIds;
use crate::schema_validation::SchemaValidator;
use crate::transactions::TransactionCoordinator;

/// Shared broker state.
pub(crate) struct Broker {
    pub(crate) cluster: Cluster,
    pub(crate) groups: GroupCoordinator,
    pub(crate) transactions: TransactionCoordinator,
    pub(crate) advertised_host: String,
    pub(crate) advertised_port: u16,
    pub(crate) metrics: Metrics,
    /// Consulted by handlers before they act: `acls`, or allow-all.
    pub(crate) authorizer: Arc<dyn Authorizer>,
    /// The ACLs (`Some` when `authorizer.class.name` is set), which
    /// CreateAcls/DescribeAcls/DeleteAcls manage.
    pub(crate) acls: Option<Arc<AclAuthorizer>>,
    /// SCRAM credentials: SASL, HTTP Basic and the SCRAM credential APIs.
    pub(crate) credentials: Arc<CredentialStore>,
    /// Broker-side schema validation, reading the Schema Registry this process serves.
    pub(crate) schema_validator: SchemaValidator,
    /// Hands out producer ids (InitProducerId).
    pub(crate) producer_ids: ProducerIds,
}
