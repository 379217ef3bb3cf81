//! Optional cluster add-ons, found through API discovery and cached briefly.

use std::time::{Duration, Instant};

use kube::Client;
use tokio::sync::Mutex;

use super::error::{Context, Result};
use crate::decide::observed::Integrations;
use crate::facts::Integration;
use crate::thirdparty;

impl Integrations {
    /// Each add-on with whether the cluster serves it, for the availability metric.
    pub fn availability(&self) -> [(Integration, bool); 7] {
        Integration::ALL.map(|i| (i, self.has(i)))
    }
}

const TTL: Duration = Duration::from_secs(30);

/// Discovery results, refreshed at most every 30 seconds: by [`Self::keep_fresh`] in the
/// background, so that a reconcile finds them fresh and makes no discovery request.
#[derive(Default)]
pub struct IntegrationCache(Mutex<Option<(Instant, Integrations)>>);

impl IntegrationCache {
    /// Refresh the results a little before they expire, until the process ends. A failed
    /// discovery is retried at the next turn (and by the next reconcile that needs it).
    pub async fn keep_fresh(&self, client: &Client) {
        loop {
            tokio::time::sleep(TTL - Duration::from_secs(5)).await;
            let mut slot = self.0.lock().await;
            if let Err(e) = discover(client, &mut slot).await {
                tracing::debug!(error = %e, "discovery");
            }
        }
    }

    /// Current integrations.
    pub async fn get(&self, client: &Client) -> Result<Integrations> {
        let mut slot = self.0.lock().await;
        if let Some((at, found)) = *slot
            && at.elapsed() < TTL
        {
            return Ok(found);
        }
        discover(client, &mut slot).await
    }
}

/// Ask the API server which add-on groups it serves, and keep the answer in `slot`.
async fn discover(
    client: &Client,
    slot: &mut Option<(Instant, Integrations)>,
) -> Result<Integrations> {
    let groups = client
        .list_api_groups()
        .await
        .ctx(|| "discovering API groups".into())?;
    let serves = |group: &str, version: &str| {
        groups
            .groups
            .iter()
            .any(|g| g.name == group && g.versions.iter().any(|v| v.version == version))
    };
    let gateway_api = serves(thirdparty::GATEWAY_API_GROUP, "v1");
    // TLSRoutes joined `gateway.networking.k8s.io/v1` later than HTTPRoutes: ask for the
    // group version's resources, only where the Gateway API is served at all.
    let tls_route = if gateway_api {
        let ar = thirdparty::tls_route();
        client
            .list_api_group_resources(&ar.api_version)
            .await
            .ctx(|| format!("discovering {}", ar.api_version))?
            .resources
            .iter()
            .any(|r| r.name == ar.plural)
    } else {
        false
    };
    let found = Integrations {
        strimzi: serves(thirdparty::STRIMZI_GROUP, "v1"),
        cert_manager: serves(thirdparty::CERT_MANAGER_GROUP, "v1"),
        openshift: groups
            .groups
            .iter()
            .any(|g| g.name == thirdparty::OPENSHIFT_SECURITY_GROUP),
        gateway_api,
        openshift_route: serves(thirdparty::OPENSHIFT_ROUTE_GROUP, "v1"),
        prometheus_operator: serves(thirdparty::PROMETHEUS_OPERATOR_GROUP, "v1"),
        tls_route,
    };
    *slot = Some((Instant::now(), found));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn availability_names_every_add_on_once_with_its_own_flag() {
        let none = Integrations::default().availability();
        assert_eq!(none.map(|(i, _)| i), Integration::ALL);
        assert!(none.iter().all(|(_, on)| !on));
        let only = |i: Integration| {
            let mut f = Integrations::default();
            match i {
                Integration::Strimzi => f.strimzi = true,
                Integration::CertManager => f.cert_manager = true,
                Integration::OpenShift => f.openshift = true,
                Integration::GatewayApi => f.gateway_api = true,
                Integration::OpenShiftRoute => f.openshift_route = true,
                Integration::PrometheusOperator => f.prometheus_operator = true,
                Integration::GatewayApiTlsRoute => f.tls_route = true,
            }
            f
        };
        for i in Integration::ALL {
            let on: Vec<Integration> = only(i)
                .availability()
                .into_iter()
                .filter(|(_, a)| *a)
                .map(|(x, _)| x)
                .collect();
            assert_eq!(on, [i]);
        }
    }
}
