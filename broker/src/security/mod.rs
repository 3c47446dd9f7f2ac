//! The broker's security state: ACL bindings and SCRAM credentials, kept in
//! `__strata_metadata` and applied to the governance crate's in-memory
//! [`AclAuthorizer`] and [`CredentialStore`].
//!
//! Every change is appended (fsynced) before it is applied, under the
//! cluster's change lock, so the in-memory state follows log order; at start
//! the replayed state is loaded before any listener accepts a connection.
//! A restore from the tier downloads the metadata log whole, so ACLs and
//! credentials come back with topics as of the log's last upload.

pub(crate) mod acl_log;
mod bootstrap;
pub(crate) mod wire;

use std::sync::Arc;

use anyhow::{bail, Context};
use strata_governance::acl::{AclAuthorizer, AclBinding, AclSettings};
use strata_governance::credentials::{CredentialStore, ScramCredential, ScramMechanism};
use strata_governance::{AllowAll, Authorizer, Principal};

use crate::cluster::{Cluster, MetadataEvent};
use crate::properties::{BrokerProperties, BROKER_ONLY};
use crate::quotas::ClientQuotas;
use acl_log::StoredAcl;

/// `authorizer.class.name` values that turn ACLs on.
const AUTHORIZER_CLASSES: &[&str] = &[
    "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "kafka.security.authorizer.AclAuthorizer",
    "strata",
];

/// The ACL and credential state the broker shares.
pub(crate) struct Security {
    /// `Some` when `authorizer.class.name` is set.
    pub(crate) acls: Option<Arc<AclAuthorizer>>,
    pub(crate) credentials: Arc<CredentialStore>,
    /// The ACL authorizer, or allow-all.
    pub(crate) authorizer: Arc<dyn Authorizer>,
    /// Client quotas, replayed from the same log.
    pub(crate) quotas: Arc<ClientQuotas>,
}

fn property<'a>(props: &'a BrokerProperties, name: &str) -> &'a str {
    props.explicit().get(name).map_or_else(
        || {
            BROKER_ONLY
                .iter()
                .find(|(n, _, _)| *n == name)
                .map_or("", |(_, default, _)| default)
        },
        |v| v.as_str(),
    )
}

/// The ACL settings `authorizer.class.name`, `super.users` and
/// `allow.everyone.if.no.acl.found` describe; `None` without an authorizer.
pub(crate) fn acl_settings(props: &BrokerProperties) -> anyhow::Result<Option<AclSettings>> {
    let class = property(props, "authorizer.class.name").trim();
    if class.is_empty() {
        return Ok(None);
    }
    if !AUTHORIZER_CLASSES.contains(&class) {
        bail!(
            "authorizer.class.name={class:?} is not supported (use {})",
            AUTHORIZER_CLASSES.join(", ")
        );
    }
    let mut super_users = Vec::new();
    for user in property(props, "super.users").split(';') {
        let user = user.trim();
        if user.is_empty() {
            continue;
        }
        let principal = Principal::parse(user)
            .with_context(|| format!("super.users: {user:?} is not Type:name"))?;
        super_users.push(principal.to_string());
    }
    let allow = property(props, "allow.everyone.if.no.acl.found").trim();
    let allow_everyone_if_no_acl_found = allow
        .parse()
        .with_context(|| format!("allow.everyone.if.no.acl.found={allow:?}"))?;
    Ok(Some(AclSettings {
        super_users,
        allow_everyone_if_no_acl_found,
    }))
}

impl Security {
    /// Builds the state from the metadata log's replay, then creates the
    /// first admin's credentials if `admin` names a user without any.
    pub(crate) async fn open(
        cluster: &Cluster,
        admin: Option<&(String, String)>,
    ) -> anyhow::Result<Self> {
        let image = cluster.take_replayed_security();
        let quotas = Arc::new(ClientQuotas::open(&cluster.properties, image.quotas)?);
        let credentials = Arc::new(CredentialStore::default());
        for ((user, mechanism), credential) in image.credentials {
            credentials.upsert(&user, mechanism, credential);
        }
        let acls = match acl_settings(&cluster.properties)? {
            Some(mut settings) => {
                if let Some((user, _)) = admin {
                    let admin = Principal::user(user.clone()).to_string();
                    if !settings.super_users.contains(&admin) {
                        settings.super_users.push(admin);
                    }
                }
                let authorizer = AclAuthorizer::new(settings);
                let bindings = image
                    .acls
                    .values()
                    .map(StoredAcl::binding)
                    .collect::<anyhow::Result<Vec<_>>>()
                    .context("replaying ACLs from the metadata log")?;
                authorizer.add(&bindings);
                tracing::info!(acls = bindings.len(), "ACL authorizer enabled");
                Some(Arc::new(authorizer))
            }
            None => {
                if !image.acls.is_empty() {
                    tracing::warn!(
                        acls = image.acls.len(),
                        "the metadata log holds ACLs but authorizer.class.name is not set: they are not enforced"
                    );
                }
                None
            }
        };
        let authorizer: Arc<dyn Authorizer> = match &acls {
            Some(acls) => acls.clone(),
            None => Arc::new(AllowAll),
        };
        let security = Security {
            acls,
            credentials,
            authorizer,
            quotas,
        };
        if let Some((user, password)) = admin {
            bootstrap::bootstrap_admin(cluster, &security.credentials, user, password).await?;
        }
        Ok(security)
    }
}

/// Records new bindings and adds them to the authorizer.
pub(crate) async fn create_acls(
    cluster: &Cluster,
    acls: &AclAuthorizer,
    bindings: &[AclBinding],
) -> anyhow::Result<()> {
    if bindings.is_empty() {
        return Ok(());
    }
    let event = MetadataEvent::AclsCreated {
        acls: bindings.iter().map(StoredAcl::from).collect(),
    };
    cluster.record(&[event], || acls.add(bindings)).await
}

/// Records removed bindings and removes them from the authorizer.
pub(crate) async fn delete_acls(
    cluster: &Cluster,
    acls: &AclAuthorizer,
    bindings: &[AclBinding],
) -> anyhow::Result<()> {
    if bindings.is_empty() {
        return Ok(());
    }
    let event = MetadataEvent::AclsDeleted {
        acls: bindings.iter().map(StoredAcl::from).collect(),
    };
    cluster.record(&[event], || acls.remove(bindings)).await
}

/// One change to the SCRAM credentials.
#[derive(Debug, Clone)]
pub(crate) enum CredentialChange {
    Upsert {
        user: String,
        mechanism: ScramMechanism,
        credential: ScramCredential,
    },
    Delete {
        user: String,
        mechanism: ScramMechanism,
    },
}

impl CredentialChange {
    fn event(&self) -> MetadataEvent {
        match self {
            CredentialChange::Upsert {
                user,
                mechanism,
                credential,
            } => MetadataEvent::ScramCredentialUpserted {
                user: user.clone(),
                mechanism: *mechanism,
                salt: credential.salt.clone(),
                iterations: credential.iterations,
                stored_key: credential.stored_key.clone(),
                server_key: credential.server_key.clone(),
            },
            CredentialChange::Delete { user, mechanism } => MetadataEvent::ScramCredentialDeleted {
                user: user.clone(),
                mechanism: *mechanism,
            },
        }
    }
}

/// Records credential changes as one batch and applies them to the store.
pub(crate) async fn change_credentials(
    cluster: &Cluster,
    store: &CredentialStore,
    changes: Vec<CredentialChange>,
) -> anyhow::Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let events: Vec<_> = changes.iter().map(CredentialChange::event).collect();
    cluster
        .record(&events, || {
            for change in changes {
                match change {
                    CredentialChange::Upsert {
                        user,
                        mechanism,
                        credential,
                    } => store.upsert(&user, mechanism, credential),
                    CredentialChange::Delete { user, mechanism } => {
                        store.delete(&user, mechanism);
                    }
                }
            }
        })
        .await
}
