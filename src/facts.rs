//! Facts shared by the controllers, the RBAC generator and the packaged manifests, each
//! stated once. A leaf module: it imports nothing from the rest of the crate, and every
//! layer (builders, controllers, telemetry, packaging) reads from it.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::core::ApiResource;

use crate::thirdparty;

/// Field manager of every server-side apply, and the value of the
/// `app.kubernetes.io/managed-by` label on every object the operator creates.
pub const MANAGER: &str = "smbp-operator";

/// Name of the operator's Deployment.
pub const OPERATOR_DEPLOYMENT: &str = "smbp-operator-controller-manager";
/// Name of the operator's ServiceAccount.
pub const OPERATOR_SERVICE_ACCOUNT: &str = "smbp-operator-controller-manager";
/// Name of the Service in front of the operator's metrics port.
pub const METRICS_SERVICE: &str = "smbp-operator-metrics";
/// The operator's metrics port (HTTPS with authentication and authorization).
pub const METRICS_PORT: i32 = 8443;
/// The operator's health probe port (plain HTTP).
pub const HEALTH_PORT: i32 = 8081;
/// Path of the operator's metrics (also the non-resource URL its readers are granted).
pub const METRICS_PATH: &str = "/metrics";

/// Path of the validating admission webhook, for BigPeers, BigPeerApps and BigPeerApiKeys alike
/// (the path of the first kind it served, kept so that registrations stay valid).
pub const WEBHOOK_PATH: &str = "/validate-smbp-io-v1alpha1-bigpeer";
/// The webhook's port (HTTPS), the container port OLM and the webhook Service point at.
pub const WEBHOOK_PORT: i32 = 9443;
/// Port of the Service in front of the webhook (OLM's and the kustomize install's), forwarded to
/// [`WEBHOOK_PORT`].
pub const WEBHOOK_SERVICE_PORT: i32 = 443;
/// Where the webhook's serving certificate is read from (`tls.crt`, `tls.key`): where OLM
/// mounts the certificates it makes for a CSV's webhook.
pub const WEBHOOK_CERT_DIR: &str = "/tmp/k8s-webhook-server/serving-certs";
/// Name of the webhook in a ValidatingWebhookConfiguration (a qualified name, as required); the
/// one webhook reviews all three kinds.
pub const WEBHOOK_NAME: &str = "vbigpeer.smbp.io";
/// Name of the ValidatingWebhookConfiguration a local run registers (`--webhook-register-local`).
pub const WEBHOOK_LOCAL_CONFIGURATION: &str = "smbp-operator-local";
/// The kustomize install's webhook Service (in front of the webhook port).
pub const WEBHOOK_SERVICE: &str = "smbp-operator-webhook-service";
/// The kustomize install's ValidatingWebhookConfiguration (its `caBundle` set by the operator).
pub const WEBHOOK_CONFIGURATION: &str = "smbp-operator-validating-webhook-configuration";
/// The Secret where the operator keeps its own webhook certificate (kustomize install).
pub const WEBHOOK_CERT_SECRET: &str = "smbp-operator-webhook-cert";
/// Seconds the API server waits for the webhook before applying its failure policy.
pub const WEBHOOK_TIMEOUT_SECONDS: i32 = 10;

/// The management API's port (HTTPS with authentication and authorization).
pub const API_PORT: i32 = 9444;
/// Name of the Service in front of the management API (the self-signed certificate's name).
pub const API_SERVICE: &str = "smbp-operator-api";

/// Optional add-ons: found through API discovery, used when present, and exported as the
/// availability metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Integration {
    /// Strimzi (`kafka.strimzi.io`).
    Strimzi,
    /// cert-manager (`cert-manager.io`).
    CertManager,
    /// OpenShift (`security.openshift.io`).
    OpenShift,
    /// Gateway API (`gateway.networking.k8s.io`).
    GatewayApi,
    /// OpenShift Routes (`route.openshift.io`).
    OpenShiftRoute,
    /// Prometheus Operator (`monitoring.coreos.com`).
    PrometheusOperator,
    /// Gateway API TLSRoutes (`tlsroutes` in `gateway.networking.k8s.io/v1`, the standard
    /// channel since Gateway API 1.5), for replication endpoints.
    GatewayApiTlsRoute,
}

impl Integration {
    /// All integrations.
    pub const ALL: [Integration; 7] = [
        Integration::Strimzi,
        Integration::CertManager,
        Integration::OpenShift,
        Integration::GatewayApi,
        Integration::OpenShiftRoute,
        Integration::PrometheusOperator,
        Integration::GatewayApiTlsRoute,
    ];

    /// Value of the `integration` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Integration::Strimzi => "strimzi",
            Integration::CertManager => "cert-manager",
            Integration::OpenShift => "openshift",
            Integration::GatewayApi => "gateway-api",
            Integration::OpenShiftRoute => "openshift-route",
            Integration::PrometheusOperator => "prometheus-operator",
            Integration::GatewayApiTlsRoute => "gateway-api-tlsroute",
        }
    }
}

/// A kind of object the operator creates and owns.
#[derive(Clone, Copy, Debug)]
pub struct OwnedKind {
    /// The kind's API resource.
    pub resource: fn() -> ApiResource,
    /// Whether an object of this kind the spec no longer asks for is deleted.
    pub prune: bool,
    /// The add-on that serves the kind (`None`: built into Kubernetes).
    pub needs: Option<Integration>,
}

impl OwnedKind {
    const fn core(resource: fn() -> ApiResource) -> Self {
        Self {
            resource,
            prune: true,
            needs: None,
        }
    }
    const fn addon(resource: fn() -> ApiResource, needs: Integration) -> Self {
        Self {
            resource,
            prune: true,
            needs: Some(needs),
        }
    }
}

/// Every kind the operator owns: what it lists and prunes, what its controller watches
/// (the kinds built into Kubernetes) and what its RBAC grants it to manage.
///
/// The store StatefulSet is never pruned: it is kept even when the spec no longer asks for
/// it, so that no store pod or volume is lost by mistake. A KafkaTopic is pruned only when
/// the spec moves away from Strimzi; topic retention on delete is the finalizer's job. The one
/// Secret a BigPeer owns is `<bp>-access` (apps and API key hashes for the servers); the API
/// keys' Secrets are owned by their keys, not by a BigPeer.
pub const OWNED: &[OwnedKind] = &[
    OwnedKind {
        resource: || ApiResource::erase::<StatefulSet>(&()),
        prune: false,
        needs: None,
    },
    OwnedKind::core(|| ApiResource::erase::<ServiceAccount>(&())),
    OwnedKind::core(|| ApiResource::erase::<ConfigMap>(&())),
    OwnedKind::core(|| ApiResource::erase::<Secret>(&())),
    OwnedKind::core(|| ApiResource::erase::<Service>(&())),
    OwnedKind::core(|| ApiResource::erase::<Deployment>(&())),
    OwnedKind::core(|| ApiResource::erase::<PodDisruptionBudget>(&())),
    OwnedKind::core(|| ApiResource::erase::<Ingress>(&())),
    OwnedKind::core(|| ApiResource::erase::<NetworkPolicy>(&())),
    OwnedKind::addon(thirdparty::certificate, Integration::CertManager),
    OwnedKind::addon(thirdparty::issuer, Integration::CertManager),
    OwnedKind::addon(thirdparty::http_route, Integration::GatewayApi),
    OwnedKind::addon(thirdparty::service_monitor, Integration::PrometheusOperator),
    OwnedKind::addon(thirdparty::pod_monitor, Integration::PrometheusOperator),
    OwnedKind::addon(thirdparty::openshift_route, Integration::OpenShiftRoute),
    OwnedKind::addon(thirdparty::kafka_topic, Integration::Strimzi),
    OwnedKind::addon(thirdparty::kafka_user, Integration::Strimzi),
    OwnedKind::addon(thirdparty::tls_route, Integration::GatewayApiTlsRoute),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_kinds_are_listed_once_and_only_the_store_is_kept() {
        let kinds: Vec<String> = OWNED.iter().map(|k| (k.resource)().kind).collect();
        let mut unique = kinds.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), kinds.len(), "{kinds:?}");
        let kept: Vec<&str> = OWNED
            .iter()
            .zip(&kinds)
            .filter(|(k, _)| !k.prune)
            .map(|(_, n)| n.as_str())
            .collect();
        assert_eq!(kept, ["StatefulSet"]);
    }
}
