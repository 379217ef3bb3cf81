//! Read back the exposure objects of the mode in force (thin); `decide::exposure` judges them.

use kube::api::{Api, DynamicObject};
use kube::{Client, ResourceExt};
use serde_json::Value;

use crate::api::{BigPeer, ExposureMode};
use crate::build::exposure::{PATHS, tls_secret};
use crate::build::names;
use crate::controller::cache::Reader;
use crate::controller::error::{Context, Result};
use crate::decide::observed::{ExposureObserved, Integrations};
use crate::thirdparty;

/// Read the exposure objects of the mode in force. Only Secret metadata is read.
pub async fn observe(
    reader: &Reader<'_>,
    bp: &BigPeer,
    integrations: Integrations,
) -> Result<ExposureObserved> {
    let client = reader.client;
    let ns = bp.namespace().unwrap_or_default();
    let name = bp.name_any();
    let network = &bp.spec.network;
    let expose = network.expose.as_ref();
    let mut out = ExposureObserved::default();
    match network.mode() {
        ExposureMode::None => {}
        ExposureMode::LoadBalancer | ExposureMode::NodePort => {
            out.service = reader
                .service(&ns, &names::public_service(&name), "the public Service")
                .await?;
        }
        ExposureMode::Ingress => {
            out.ingress = reader
                .ingress(&ns, &names::public_route(&name), "the Ingress")
                .await?;
            let tls = expose
                .and_then(|e| e.ingress.as_ref())
                .and_then(|i| i.tls.as_ref());
            if let Some(tls) = tls {
                if tls.cert_manager.is_some() && integrations.cert_manager {
                    out.certificate = dynamic(client, &ns, thirdparty::certificate())
                        .get_opt(&names::public_tls(&name))
                        .await
                        .ctx(|| "reading the public Certificate".into())?;
                } else if tls.secret_name.is_some() {
                    out.tls_secret_exists = reader
                        .secret_exists(&ns, &tls_secret(bp, tls), "the TLS Secret's metadata")
                        .await?;
                }
            }
        }
        ExposureMode::GatewayApi if integrations.gateway_api => {
            out.http_route = dynamic(client, &ns, thirdparty::http_route())
                .get_opt(&names::public_route(&name))
                .await
                .ctx(|| "reading the HTTPRoute".into())?;
            for p in expose
                .and_then(|e| e.gateway_api.as_ref())
                .map(|g| g.parent_refs.as_slice())
                .unwrap_or_default()
            {
                let gw_ns = p.namespace.clone().unwrap_or_else(|| ns.clone());
                let gateway = dynamic(client, &gw_ns, thirdparty::gateway())
                    .get_opt(&p.name)
                    .await
                    .ctx(|| format!("reading Gateway {gw_ns}/{}", p.name))?;
                out.gateway_protocols.extend(
                    gateway
                        .map(|g| listener_protocols(&g.data, p.section_name.as_deref(), p.port))
                        .unwrap_or_default(),
                );
            }
        }
        ExposureMode::Route if integrations.openshift_route => {
            for p in PATHS {
                if let Some(r) = dynamic(client, &ns, thirdparty::openshift_route())
                    .get_opt(&names::openshift_route(&name, p.name))
                    .await
                    .ctx(|| "reading the Routes".into())?
                {
                    out.routes.push(r);
                }
            }
        }
        ExposureMode::GatewayApi | ExposureMode::Route => {}
    }
    Ok(out)
}

fn dynamic(client: &Client, ns: &str, ar: kube::core::ApiResource) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &ar)
}

/// Protocols of a Gateway's listeners that a parentRef selects.
fn listener_protocols(gateway: &Value, section: Option<&str>, port: Option<i32>) -> Vec<String> {
    gateway
        .pointer("/spec/listeners")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|l| section.is_none_or(|s| l["name"].as_str() == Some(s)))
        .filter(|l| port.is_none_or(|p| l["port"].as_i64() == Some(i64::from(p))))
        .filter_map(|l| l["protocol"].as_str().map(String::from))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn listener_protocols_respect_section_and_port() {
        let gw = json!({"spec": {"listeners": [
            {"name": "http", "port": 80, "protocol": "HTTP"},
            {"name": "https", "port": 443, "protocol": "HTTPS"}]}});
        assert_eq!(listener_protocols(&gw, Some("https"), None), vec!["HTTPS"]);
        assert_eq!(listener_protocols(&gw, None, Some(80)), vec!["HTTP"]);
        assert_eq!(listener_protocols(&gw, None, None).len(), 2);
    }
}
