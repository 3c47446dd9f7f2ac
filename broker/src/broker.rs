//! The state every connection and handler shares.

use std::sync::Arc;

use strata_governance::acl::AclAuthorizer;
use strata_governance::audit::AuditSink;
use strata_governance::credentials::CredentialStore;
use strata_governance::Authorizer;

use crate::cluster::Cluster;
use crate::groups::GroupCoordinator;
use crate::metrics::Metrics;
use crate::producer_ids::ProducerIds;
use crate::quotas::ClientQuotas;
use crate::schema_validation::SchemaValidator;
use crate::transactions::TransactionCoordinator;

/// Shared broker state.
pub(crate) struct Broker {
    pub(crate) cluster: Cluster,
    pub(crate) groups: GroupCoordinator,
    pub(crate) transactions: TransactionCoordinator,
    /// The first listener's advertised endpoint (the REST Proxy's and
    /// in-process requests' listener).
    pub(crate) advertised_host: String,
    pub(crate) advertised_port: u16,
    /// Every listener's advertised endpoint, in `listeners` order.
    pub(crate) endpoints: Vec<Endpoint>,
    pub(crate) metrics: Metrics,
    /// Consulted by handlers before they act: `acls`, or allow-all.
    pub(crate) authorizer: Arc<dyn Authorizer>,
    /// The ACLs (`Some` when `authorizer.class.name` is set), which
    /// CreateAcls/DescribeAcls/DeleteAcls manage.
    pub(crate) acls: Option<Arc<AclAuthorizer>>,
    /// Where every face records failed logins, denials and changes: the
    /// audit topic, or nowhere.
    pub(crate) audit: Arc<dyn AuditSink>,
    /// SCRAM credentials: SASL, HTTP Basic and the SCRAM credential APIs.
    pub(crate) credentials: Arc<CredentialStore>,
    /// Broker-side schema validation, reading the Schema Registry this process serves.
    pub(crate) schema_validator: SchemaValidator,
    /// Hands out producer ids (InitProducerId).
    pub(crate) producer_ids: ProducerIds,
    /// Client quotas (DescribeClientQuotas, AlterClientQuotas), enforced
    /// on every request.
    pub(crate) quotas: Arc<ClientQuotas>,
}

/// Where clients reach one listener.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub(crate) listener: Arc<str>,
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl Broker {
    /// The advertised endpoint of `listener`; the first listener's for a
    /// name it does not know (in-process requests).
    pub(crate) fn advertised(&self, listener: &str) -> (&str, u16) {
        match self.endpoints.iter().find(|e| &*e.listener == listener) {
            Some(e) => (&e.host, e.port),
            None => (&self.advertised_host, self.advertised_port),
        }
    }

    /// The name of the first listener.
    pub(crate) fn first_listener(&self) -> Arc<str> {
        self.endpoints
            .first()
            .map_or_else(|| "PLAINTEXT".into(), |e| e.listener.clone())
    }
}
