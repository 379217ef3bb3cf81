//! Leader election with a Lease (kube-lease-manager): only the holder reconciles.

use kube::Client;
use kube_lease_manager::{LeaseManagerBuilder, LeaseParams};
use tokio::sync::watch;

/// Start competing for the Lease; the receiver says whether this process holds it.
pub async fn elect(
    client: Client,
    namespace: &str,
    lease: &str,
    identity: String,
) -> anyhow::Result<watch::Receiver<bool>> {
    let manager = LeaseManagerBuilder::new(client, lease)
        .with_namespace(namespace)
        .with_parameters(LeaseParams::new(identity, 15, 5))
        .build()
        .await?;
    let (rx, _task) = manager.watch().await;
    Ok(rx)
}
