//! Read what exists: workloads, pods, key and Kafka prerequisites. Thin; no decisions.

use std::collections::BTreeMap;

use kube::api::{Api, DynamicObject};
use kube::{Client, ResourceExt};
use serde_json::Value;

use crate::api::reason::Reason;
use crate::api::{BigPeer, Component};
use crate::build::{labels, names, pod};
use crate::controller::cache::Reader;
use crate::controller::error::{Context, Error, Result};
use crate::decide::observed::{Integrations, Observed, Part, condition_in};
use crate::thirdparty;

/// Observe a BigPeer's world.
pub async fn observe(
    reader: &Reader<'_>,
    bp: &BigPeer,
    integrations: Integrations,
) -> Result<Observed> {
    let client = reader.client;
    let ns = bp
        .namespace()
        .ok_or(Error::MissingField("metadata.namespace"))?;
    let name = bp.name_any();
    let statefulset = reader
        .statefulset(
            &ns,
            &names::component(&name, Component::Store),
            "the store StatefulSet",
        )
        .await?;
    let mut deployments = BTreeMap::new();
    for c in [Component::Subscription, Component::Api] {
        let what = format!("the {} Deployment", c.as_str());
        if let Some(d) = reader
            .deployment(&ns, &names::component(&name, c), &what)
            .await?
        {
            deployments.insert(c, d);
        }
    }
    let pods = reader.pods(&ns, &labels::pods_selector(&name)).await?;

    let missing = missing_secrets(reader, bp, &ns).await?;
    let keys = keys_part(client, bp, &ns, integrations, &missing).await?;
    let (transaction_log, kafka_bootstrap) =
        transaction_log_part(client, bp, &ns, integrations, &missing).await?;
    let exposure = super::exposure::observe(reader, bp, integrations).await?;
    Ok(Observed {
        integrations,
        statefulset,
        deployments,
        pods,
        keys,
        transaction_log,
        kafka_bootstrap,
        exposure,
    })
}

/// Names of the Secrets the pods mount that do not exist. Only metadata is read: the
/// operator never reads secret values.
async fn missing_secrets(reader: &Reader<'_>, bp: &BigPeer, ns: &str) -> Result<Vec<String>> {
    let mut missing = vec![];
    for (_, secret, _) in pod::mounted_secrets(bp) {
        let what = format!("Secret {secret}");
        if !reader.secret_exists(ns, &secret, &what).await? {
            missing.push(secret);
        }
    }
    Ok(missing)
}

/// A Strimzi or cert-manager resource's `Ready` condition: (status, message), `None` before it reports.
pub fn ready_condition(obj: &DynamicObject) -> Option<(bool, String)> {
    condition_in(obj.data.get("status")?.get("conditions")?, "Ready")
}

async fn keys_part(
    client: &Client,
    bp: &BigPeer,
    ns: &str,
    integrations: Integrations,
    missing: &[String],
) -> Result<Part> {
    let key_secrets: Vec<String> = pod::key_secrets(bp).into_iter().map(|(_, s)| s).collect();
    if bp.spec.auth.keys.cert_manager.is_some() {
        if !integrations.cert_manager {
            return Ok(Part::not(
                Reason::CertManagerNotInstalled,
                "auth.keys.certManager needs cert-manager (cert-manager.io/v1), which this cluster does not serve: install cert-manager or use auth.keys.secrets",
            ));
        }
        let api: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), ns, &thirdparty::certificate());
        for secret in &key_secrets {
            match api
                .get_opt(secret)
                .await
                .ctx(|| format!("reading Certificate {secret}"))?
            {
                None => {
                    return Ok(Part::not(
                        Reason::CertificatePending,
                        format!("Certificate {secret} is being created"),
                    ));
                }
                Some(c) => match ready_condition(&c) {
                    Some((true, _)) => {}
                    Some((false, m)) => {
                        return Ok(Part::not(
                            Reason::CertificateNotReady,
                            format!("Certificate {secret} is not ready: {m}"),
                        ));
                    }
                    None => {
                        return Ok(Part::not(
                            Reason::CertificatePending,
                            format!("Certificate {secret} has not been issued yet"),
                        ));
                    }
                },
            }
        }
    }
    let absent: Vec<&String> = key_secrets.iter().filter(|s| missing.contains(s)).collect();
    if !absent.is_empty() {
        return Ok(Part::not(
            Reason::KeySecretMissing,
            format!("key Secrets not found: {}", join(&absent)),
        ));
    }
    Ok(Part::ok("CA, in-band and JWT keys are present"))
}

async fn transaction_log_part(
    client: &Client,
    bp: &BigPeer,
    ns: &str,
    integrations: Integrations,
    missing: &[String],
) -> Result<(Part, Vec<String>)> {
    let tl = &bp.spec.transaction_log;
    let key_secrets: Vec<String> = pod::key_secrets(bp).into_iter().map(|(_, s)| s).collect();
    let kafka_missing: Vec<&String> = missing
        .iter()
        .filter(|s| !key_secrets.contains(s))
        .collect();
    if let Some(ext) = &tl.external {
        if !kafka_missing.is_empty() {
            return Ok((
                Part::not(
                    Reason::KafkaSecretMissing,
                    format!("Secrets not found: {}", join(&kafka_missing)),
                ),
                ext.bootstrap_servers.clone(),
            ));
        }
        return Ok((
            Part::ok("external Kafka configured"),
            ext.bootstrap_servers.clone(),
        ));
    }
    let Some(strimzi) = &tl.strimzi else {
        return Ok((
            Part::not(
                Reason::NoTransactionLog,
                "set transactionLog.strimzi or transactionLog.external",
            ),
            vec![],
        ));
    };
    if !integrations.strimzi {
        return Ok((
            Part::not(
                Reason::StrimziNotInstalled,
                "transactionLog.strimzi needs Strimzi (kafka.strimzi.io/v1), which this cluster does not serve: install Strimzi or use transactionLog.external",
            ),
            vec![],
        ));
    }
    let kafka_api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), ns, &thirdparty::kafka());
    let kafka_name = &strimzi.kafka_ref.name;
    let Some(kafka) = kafka_api
        .get_opt(kafka_name)
        .await
        .ctx(|| format!("reading Kafka {kafka_name}"))?
    else {
        return Ok((
            Part::not(
                Reason::KafkaNotFound,
                format!("Kafka {kafka_name} not found in namespace {ns}"),
            ),
            vec![],
        ));
    };
    let bootstrap: Vec<String> = kafka
        .data
        .pointer("/status/listeners")
        .and_then(Value::as_array)
        .and_then(|ls| {
            ls.iter()
                .find(|l| l.get("name").and_then(Value::as_str) == Some(strimzi.listener.as_str()))
        })
        .and_then(|l| l.get("bootstrapServers").and_then(Value::as_str))
        .map(|s| s.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    if bootstrap.is_empty() {
        return Ok((
            Part::not(
                Reason::KafkaListenerNotFound,
                format!(
                    "Kafka {kafka_name} reports no listener named '{}' in its status",
                    strimzi.listener
                ),
            ),
            vec![],
        ));
    }
    let name = bp.name_any();
    for (ar, obj) in [
        (thirdparty::kafka_topic(), names::kafka_topic_object(&name)),
        (thirdparty::kafka_user(), names::kafka_user(&name)),
    ] {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
        match api
            .get_opt(&obj)
            .await
            .ctx(|| format!("reading {} {obj}", ar.kind))?
            .as_ref()
            .and_then(ready_condition)
        {
            Some((true, _)) => {}
            Some((false, m)) => {
                return Ok((
                    Part::not(
                        Reason::KafkaResourceNotReady,
                        format!("{} {obj} is not ready: {m}", ar.kind),
                    ),
                    bootstrap,
                ));
            }
            None => {
                return Ok((
                    Part::not(
                        Reason::KafkaResourcePending,
                        format!("waiting for Strimzi to reconcile {} {obj}", ar.kind),
                    ),
                    bootstrap,
                ));
            }
        }
    }
    if !kafka_missing.is_empty() {
        return Ok((
            Part::not(
                Reason::KafkaSecretMissing,
                format!("Secrets not found: {}", join(&kafka_missing)),
            ),
            bootstrap,
        ));
    }
    Ok((
        Part::ok(format!("topic and user ready on Kafka {kafka_name}")),
        bootstrap,
    ))
}

fn join(items: &[&String]) -> String {
    items
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
