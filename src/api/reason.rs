//! Reasons: the single list of CamelCase reasons the operator states, in conditions
//! (`status.conditions[].reason`), in Events, and as the error category of a failed
//! reconcile (the `reason` label of the errors metric). Users and alerts match on them, so
//! they are part of the API. `docs/events.md` is generated from [`Reason::event`].

macro_rules! reasons {
    ($( $(#[doc = $doc:literal])* $name:ident, )*) => {
        /// A reason the operator states. Its text is the variant's name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Reason {
            $( $(#[doc = $doc])* $name, )*
        }

        impl Reason {
            /// Every reason, in the order they are documented.
            pub const ALL: &'static [Reason] = &[$(Reason::$name),*];

            /// The CamelCase text, as it appears in conditions, Events and metrics.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Reason::$name => stringify!($name),)*
                }
            }
        }
    };
}

reasons! {
    // Keys and transaction log (`KeysReady`, `TransactionLogReady`)
    /// The prerequisite is in place.
    Ready,
    /// The spec asks for cert-manager, which the cluster does not serve.
    CertManagerNotInstalled,
    /// A cert-manager Certificate is being created or issued.
    CertificatePending,
    /// A cert-manager Certificate exists but is not ready.
    CertificateNotReady,
    /// A key Secret the pods mount does not exist.
    KeySecretMissing,
    /// A Kafka Secret the pods mount does not exist.
    KafkaSecretMissing,
    /// Neither `transactionLog.strimzi` nor `transactionLog.external` is set.
    NoTransactionLog,
    /// The spec asks for Strimzi, which the cluster does not serve.
    StrimziNotInstalled,
    /// The referenced Strimzi Kafka does not exist.
    KafkaNotFound,
    /// The Kafka reports no listener of the configured name.
    KafkaListenerNotFound,
    /// The KafkaTopic or KafkaUser is not ready.
    KafkaResourceNotReady,
    /// Strimzi has not reconciled the KafkaTopic or KafkaUser yet.
    KafkaResourcePending,
    // Components (`StoreReady`, `SubscriptionReady`, `ApiReady`)
    /// Every replica is ready and up to date.
    AllReplicasReady,
    /// Replicas are moving to the current revision.
    RollingUpdate,
    /// Some replicas are not ready.
    ReplicasNotReady,
    /// The store scales down one pod at a time.
    ScalingDown,
    // Summary (`Ready`, `Progressing`, `Degraded`, `ReconciliationPaused`)
    /// Every part is ready on the desired spec.
    AllPartsReady,
    /// A part is not ready; the message names it.
    NotReady,
    /// Workload controllers have not yet taken up the applied spec.
    RolloutPending,
    /// A cluster configuration transition is in progress.
    TopologyTransition,
    /// Nothing needs attention.
    AsExpected,
    /// Workloads wait for keys and transaction log.
    WaitingForPrerequisites,
    /// The operator brings the cluster to the desired spec.
    Reconciling,
    /// The storage system resizes the store volumes.
    VolumesResizing,
    /// The cluster matches the spec.
    Complete,
    /// Reconciliation is not paused.
    NotPaused,
    /// Reconciliation is paused by the `smbp.io/paused` annotation.
    PausedByAnnotation,
    // Monitoring (`MonitoringReady`)
    /// The ServiceMonitor or PodMonitor is in place.
    MonitorApplied,
    /// `spec.monitoring` needs the Prometheus Operator, which the cluster does not serve.
    PrometheusOperatorNotInstalled,
    // Exposure (`Exposed`)
    /// Reachable inside the cluster only.
    ClusterIPOnly,
    /// The load balancer Service has no address yet.
    WaitingForLoadBalancer,
    /// The load balancer Service has an address.
    LoadBalancerReady,
    /// The node-port Service has no node ports yet.
    WaitingForNodePorts,
    /// The node-port Service has its node ports.
    NodePortsAssigned,
    /// The TLS Secret of the public endpoint does not exist.
    TLSSecretMissing,
    /// The Ingress has an address.
    IngressReady,
    /// The Ingress has no address yet.
    WaitingForIngressController,
    /// `network.expose.gatewayAPI` needs the Gateway API, which the cluster does not serve.
    GatewayAPINotInstalled,
    /// The Gateway has not yet accepted the HTTPRoute.
    WaitingForGateway,
    /// The Gateway refused the HTTPRoute.
    RouteNotAccepted,
    /// The Gateway accepted the HTTPRoute.
    RouteAccepted,
    /// OpenShift Routes are asked for, but the cluster does not serve them.
    RouteAPINotInstalled,
    /// The router has not yet admitted the Routes.
    WaitingForRouter,
    /// The router refused a Route.
    RouteNotAdmitted,
    /// The router admitted every Route.
    RoutesAdmitted,
    // Apps (`Ready` of a BigPeerApp)
    /// The app is served: its BigPeer exists and the servers get its app ID and providers.
    AppServed,
    /// The operator has not written the app's generated `spec.appId` yet.
    AppIdPending,
    // API keys (`Ready` and `Expired` of a BigPeerApiKey)
    /// The key is in its Secret and the servers get its hash.
    KeyActive,
    /// The key's app is not Ready (its BigPeer is missing, its app ID is pending or taken).
    AppNotReady,
    /// The key is not past `spec.expiresAt`.
    NotExpired,
    /// The key is past `spec.expiresAt`: the servers no longer accept it.
    Expired,
    // Events (also reasons of `Degraded` and the component conditions where marked)
    /// Event: An object of the BigPeer (Service, workload, ConfigMap, Certificate, NetworkPolicy, Ingress, ...) was created.
    Created,
    /// Event: An owned object the spec no longer asks for was deleted, for example the Ingress after switching `network.expose` to `gatewayAPI`, or a PodDisruptionBudget that was turned off.
    Pruned,
    /// Event: A component's replica count changes to follow the spec.
    Scaling,
    /// Event: A store pod is deleted so that the StatefulSet recreates it on the current revision (new version or configuration), one pod at a time.
    RollingPod,
    /// Event: The store rollout stopped because a replaced pod did not become ready within `spec.rollout.progressDeadlineSeconds`; no further pod is touched.
    RolloutBlocked,
    /// Event: A Big Peer pod stayed unready past the progress deadline (crash loop, image pull failure, unschedulable).
    PodStuck,
    /// Event: A store scale-down is held back because a store pod is not ready: removing another pod then could take two copies of a partition away at once.
    ScaleDownBlocked,
    /// Event: The spec needs an API that is not installed: Strimzi, cert-manager, the Gateway API, OpenShift Routes or the Prometheus Operator.
    IntegrationMissing,
    /// Event: A staged cluster configuration transition (partitions or replication factor) started.
    TopologyTransitionStarted,
    /// Event: The store runs on the new topology.
    TopologyTransitionCompleted,
    /// Event: Reconciliation is paused by the `smbp.io/paused: "true"` annotation; nothing is changed until it is removed.
    ReconciliationPaused,
    /// Event: The BigPeer was deleted and its store volumes were kept (`store.storage.retention.whenDeleted: Retain`).
    VolumesRetained,
    /// Event: The BigPeer was deleted and its store volumes were deleted (`whenDeleted: Delete`).
    VolumesDeleted,
    /// Event: `store.storage.size` grew: the store's volume claims were raised to it.
    VolumeExpansion,
    /// Event: A store volume claim could not be grown; the message has the API server's answer (typically a StorageClass without `allowVolumeExpansion`).
    VolumeExpansionFailed,
    /// Event: A reconcile failed (API error, conflict, permission).
    ReconcileFailed,
    // Events about apps and API keys (also reasons of their `Ready` condition where marked)
    /// Event: The operator generated the app's ID and wrote it to `spec.appId`.
    AppIdGenerated,
    /// Event and app condition: The BigPeer named in `spec.bigPeerRef` does not exist.
    BigPeerNotFound,
    /// Event and app condition: The Secret (or its key) an anonymous provider takes its shared token from does not exist.
    SharedTokenSecretNotFound,
    /// Event and app condition: An older app of the same BigPeer has the same `spec.appId`.
    AppIdConflict,
    /// Event and key condition: The app named in `spec.appRef` does not exist.
    AppNotFound,
    /// Event and key condition: A Secret named `<key>-api-key` exists that the key does not own.
    SecretNameInUse,
    /// Event: The operator made the key and its Secret.
    ApiKeyCreated,
    /// Event: The key was rotated (on schedule or by the `smbp.io/rotate` annotation).
    ApiKeyRotated,
    /// Event: The key passed `spec.expiresAt`.
    ApiKeyExpired,
    // Error categories (the prefix of a `ReconcileFailed` Event, and the `reason` label of the errors metric)
    /// The API server refused a request for lack of permission (HTTP 403).
    Forbidden,
    /// A request conflicted with a concurrent change (HTTP 409).
    Conflict,
    /// The API server refused an object as invalid (HTTP 422).
    Invalid,
    /// The API server answered with another error.
    ApiError,
    /// The API server could not be reached.
    ApiUnreachable,
    /// The finalizer could not be added or removed.
    FinalizerFailed,
    /// The object lacks a field the API server always sets.
    InvalidObject,
    // Admission refusals (the `refusal` label of the webhook's refusals metric)
    /// Admission: Kubernetes refuses an object the operator would build from the spec (a
    /// server-side dry run); the message names the BigPeer field it comes from.
    ObjectRefused,
    /// Admission: another BigPeer of the cluster already uses the host name.
    HostnameInUse,
    /// Admission: another BigPeer already uses the transaction-log topic on the same Kafka cluster.
    TopicInUse,
    /// Admission: another app of the same BigPeer already has the BigPeerApp's app ID.
    AppIdInUse,
    /// Admission: a BigPeerApiKey's `spec.expiresAt` is not in the future when the key is
    /// created or the time changed.
    ExpiresAtInPast,
    /// Admission: a BigPeerReplication's `spec.connections` holds its own endpoint.
    ReplicationConnectsToItself,
    /// Admission: a Kafka BigPeerDataBridge lacks `kafka.external` while its BigPeer's
    /// transaction log is an external Kafka.
    KafkaExternalRequired,
    /// Admission: a Kafka BigPeerDataBridge sets `kafka.external` while its BigPeer's
    /// transaction log is managed by Strimzi.
    KafkaExternalNotAllowed,
    // Replications (`Ready` and `Degraded` of a BigPeerReplication; also Events where marked)
    /// The replication is in the servers' configuration and its endpoint is in place.
    Replicating,
    /// Event and replication condition: a `spec.trustedCas` Secret or ConfigMap (or its key)
    /// does not exist.
    TrustedCaNotFound,
    /// Event and replication condition: a `spec.trustedCas` source holds no valid certificate,
    /// or holds something else (a private key) that was dropped.
    TrustedCaInvalid,
    /// The replication endpoint's exposure has no external address yet.
    ExposurePending,
    /// Event and replication condition: an in-cluster connection's Service does not exist or
    /// has no ready endpoint.
    ConnectionNotReady,
    /// Event: the objects of a replication's endpoint were created.
    ReplicationEndpointCreated,
    /// Event: this BigPeer's CA certificate, or the certificates a replication trusts, changed.
    CaChanged,
    // Data bridges (`Ready` and `Degraded` of a BigPeerDataBridge; Events where marked)
    /// Kafka bridge: the topic and the consumers' user are ready; status says how to connect.
    Streaming,
    /// MongoDB bridge: the connector is ready and its progress signal is newer than `stallAfter`.
    Syncing,
    /// Event and data bridge condition: the Kafka reports no listener of the name consumers use.
    ConsumerListenerNotFound,
    /// Event and data bridge condition: a Secret `kafka.external` names does not exist.
    KafkaSecretNotFound,
    /// Event and data bridge condition: the BigPeer's Kafka is external and the bridge has no
    /// `kafka.external`.
    ExternalTopicRequired,
    /// Event and data bridge condition: the Secret (or its key) with the MongoDB connection
    /// string does not exist.
    ConnectionSecretNotFound,
    /// Event and data bridge condition: the connection string is not a MongoDB connection string.
    ConnectionStringInvalid,
    /// Event and data bridge condition: the MongoDB connector's pod is not ready.
    ConnectorNotReady,
    /// Event and data bridge condition: the operator cannot read the connector's health signal.
    ConnectorUnreachable,
    /// Event and data bridge condition: the connector's progress signal stopped advancing.
    ConnectorStalled,
    /// Event: the connector makes progress again after it was Degraded.
    ConnectorRecovered,
    /// Event: a restart was requested (`kubectl smbp restart`, the `smbp.io/restart`
    /// annotations): the component's pods roll onto a template carrying the request.
    RestartRequested,
}

impl Reason {
    /// Why the admission webhook refuses a field (the `refusal` label of its refusals metric).
    pub const ADMISSION_REFUSALS: [Reason; 8] = [
        Reason::ObjectRefused,
        Reason::HostnameInUse,
        Reason::TopicInUse,
        Reason::AppIdInUse,
        Reason::ExpiresAtInPast,
        Reason::ReplicationConnectsToItself,
        Reason::KafkaExternalRequired,
        Reason::KafkaExternalNotAllowed,
    ];
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an Event reason means, and what to do about it (a line of `docs/events.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventDoc {
    /// A Warning Event (or a Normal one).
    pub warning: bool,
    /// When the operator emits it.
    pub meaning: &'static str,
    /// What a user or support engineer should do.
    pub action: &'static str,
}

impl Reason {
    /// For a reason the operator records as an Event: its type, meaning and what to do.
    /// `None` for reasons that only appear in conditions or as error categories.
    pub const fn event(self) -> Option<EventDoc> {
        let (warning, meaning, action) = match self {
            Reason::Created => (
                false,
                "Objects of the BigPeer (Services, workloads, ConfigMaps, Certificates, NetworkPolicies, an Ingress, ...) were created: one Event per reconcile names them all, the first as its related object.",
                "Nothing: informational.",
            ),
            Reason::Pruned => (
                false,
                "An owned object the spec no longer asks for was deleted, for example the Ingress after switching `network.expose` to `gatewayAPI`, or a PodDisruptionBudget that was turned off. The store StatefulSet and volumes are never pruned.",
                "Nothing, if the spec change was intended.",
            ),
            Reason::Scaling => (
                false,
                "A component's replica count changes to follow the spec.",
                "Nothing: watch `kubectl get bigpeer` until the counts match.",
            ),
            Reason::RollingPod => (
                false,
                "A store pod is deleted so that the StatefulSet recreates it on the current revision (new version or configuration), one pod at a time.",
                "Nothing: the rollout continues when the new pod is ready.",
            ),
            Reason::RolloutBlocked => (
                true,
                "The store rollout stopped because a replaced pod did not become ready within `spec.rollout.progressDeadlineSeconds`; no further pod is touched.",
                "Read the message for the pod and cause (image pull, crash loop, unschedulable), fix the spec (for example the image), and the rollout resumes. See docs/runbooks/SmbpBigPeerRolloutStuck.md.",
            ),
            Reason::PodStuck => (
                true,
                "A Big Peer pod stayed unready past the progress deadline (crash loop, image pull failure, unschedulable).",
                "`kubectl describe pod <pod>` and its logs; fix the cause (image, resources, node capacity, scheduling constraints).",
            ),
            Reason::ScaleDownBlocked => (
                true,
                "A store scale-down is held back because a store pod is not ready: removing another pod then could take two copies of a partition away at once. (A scale-down that waits for a topology transition, or for the previous pod's removal, is not held back: it shows as `ScalingDown` in StoreReady and Progressing.)",
                "Find out why the pod named in the message is not ready (`kubectl describe pod`); once it is, the scale-down proceeds by itself, one pod at a time.",
            ),
            Reason::IntegrationMissing => (
                true,
                "The spec needs an API that is not installed: Strimzi, cert-manager, the Gateway API, OpenShift Routes or the Prometheus Operator. The message names it; the BigPeer is Degraded and the part concerned waits.",
                "Install the add-on (it is noticed within 30 seconds) or change the spec to not need it.",
            ),
            Reason::TopologyTransitionStarted => (
                false,
                "A staged cluster configuration transition (partitions or replication factor) started.",
                "Nothing: follow `status.topology.transition`.",
            ),
            Reason::TopologyTransitionCompleted => (
                false,
                "The store runs on the new topology.",
                "Nothing: informational.",
            ),
            Reason::ReconciliationPaused => (
                false,
                "Reconciliation is paused by the `smbp.io/paused: \"true\"` annotation; nothing is changed until it is removed.",
                "Remove the annotation (or set it to \"false\") to resume.",
            ),
            Reason::VolumesRetained => (
                false,
                "The BigPeer was deleted and its store volumes were kept (`store.storage.retention.whenDeleted: Retain`).",
                "Delete the PersistentVolumeClaims yourself when the data is no longer needed, or reuse them with a BigPeer of the same name.",
            ),
            Reason::VolumesDeleted => (
                false,
                "The BigPeer was deleted and its store volumes were deleted (`whenDeleted: Delete`).",
                "Nothing: the data is gone as requested.",
            ),
            Reason::VolumeExpansion => (
                false,
                "`store.storage.size` grew: the store's volume claims were raised to it. The StatefulSet's claim template keeps its original size (Kubernetes does not let it change); the storage system resizes each volume.",
                "Nothing, unless a claim stays below its request: then check the claim's events and the CSI driver's resizer.",
            ),
            Reason::VolumeExpansionFailed => (
                true,
                "A store volume claim could not be grown; the message has the API server's answer (typically a StorageClass without `allowVolumeExpansion`). Nothing else is held back.",
                "Allow expansion on the StorageClass (if its driver supports it), or set `store.storage.size` back to the claims' size. See docs/runbooks/SmbpStoreVolumeFillingUp.md for other ways to free space.",
            ),
            Reason::ReconcileFailed => (
                true,
                "A reconcile failed (API error, conflict, permission). The message says what failed; the operator retries with exponential backoff (5 s up to 5 minutes).",
                "If it repeats: check the operator's RBAC (`Forbidden`), admission webhooks or quotas (`Invalid`), and the operator logs (search for the BigPeer and the trace id). See docs/runbooks/SmbpOperatorReconcileErrors.md.",
            ),
            Reason::AppIdGenerated => (
                false,
                "BigPeerApp: `spec.appId` was left out, so the operator generated a random (version 4) UUID and wrote it there; it cannot change afterwards.",
                "Nothing: small peers use the app ID in `status.appId`.",
            ),
            Reason::BigPeerNotFound => (
                true,
                "BigPeerApp: the BigPeer named in `spec.bigPeerRef` does not exist in the app's namespace (not yet, or it was deleted). The app and its keys are kept and reach the servers once a BigPeer of that name exists.",
                "Create the BigPeer, or delete the app if it is no longer needed.",
            ),
            Reason::SharedTokenSecretNotFound => (
                true,
                "BigPeerApp: an anonymous provider's `sharedTokenSecretRef` names a Secret, or a key in it, that does not exist; the servers get the app without that provider until it does.",
                "Create the Secret with that key in the app's namespace (`kubectl create secret generic <name> --from-literal=<key>=<token>`).",
            ),
            Reason::AppIdConflict => (
                true,
                "BigPeerApp: an older app of the same BigPeer has the same `spec.appId`; the servers keep serving the older app, and this one is left out.",
                "Delete this app and create it again without `spec.appId` (the operator generates a new one), or delete the older app.",
            ),
            Reason::AppNotFound => (
                true,
                "BigPeerApiKey: the app named in `spec.appRef` does not exist in the key's namespace (not yet, or it was deleted); the key is not given to any server.",
                "Create the app, or delete the key if it is no longer needed.",
            ),
            Reason::SecretNameInUse => (
                true,
                "BigPeerApiKey: a Secret named `<key>-api-key` exists but is not the key's own (no owner reference to it), so the operator leaves it alone and makes no key.",
                "Rename or delete that Secret, or give the key another name.",
            ),
            Reason::ApiKeyCreated => (
                false,
                "BigPeerApiKey: the operator generated the key and put it in its Secret (`status.secretName`, key `apiKey`); the servers get only its salted hash. The note names the key's fingerprint.",
                "Mount the Secret into the application that calls Big Peer (as a volume, so that rotations reach it).",
            ),
            Reason::ApiKeyRotated => (
                false,
                "BigPeerApiKey: a new key replaced the current one in its Secret (on `spec.rotation.every`, or because the `smbp.io/rotate` annotation changed); the previous key keeps working until the end of the grace period (`status.previous.validUntil`). The note names both fingerprints.",
                "Nothing, if applications read the key from a mounted Secret volume (the kubelet updates it within about a minute); restart those that read it once at start before the grace period ends.",
            ),
            Reason::ApiKeyExpired => (
                true,
                "BigPeerApiKey: `spec.expiresAt` has passed: the servers no longer get the key, and calls with it fail.",
                "Move `spec.expiresAt` later to extend the key (the same key works again), or create a new key and delete this one. See docs/runbooks/SmbpApiKeyExpiringSoon.md.",
            ),
            Reason::TrustedCaNotFound => (
                true,
                "BigPeerReplication: a Secret or ConfigMap (or its key) named in `spec.trustedCas` does not exist in the replication's namespace; the servers trust the other sources only, and connections signed by that CA fail.",
                "Copy the other side's CA ConfigMap (its `status.caConfigMapName`, key `ca.crt`) into this namespace under the name `spec.trustedCas` gives (see docs/user/replication.md), or fix the reference. See docs/runbooks/SmbpReplicationDegraded.md.",
            ),
            Reason::TrustedCaInvalid => (
                true,
                "BigPeerReplication: a `spec.trustedCas` source holds no valid PEM certificate, or holds PEM blocks other than certificates (a private key pasted by mistake): only `CERTIFICATE` blocks reach the servers, the rest is dropped. The message names the source and what was dropped, never its content.",
                "Put only the other side's CA certificate (`-----BEGIN CERTIFICATE-----`) under that key; remove any private key from it, and rotate that key if it was shared.",
            ),
            Reason::ConnectionNotReady => (
                true,
                "BigPeerReplication: a connection to an in-cluster Service (`<svc>.<ns>.svc:<port>`) cannot succeed: the Service does not exist or has no ready endpoint. The message names each one.",
                "Check the other side: its BigPeerReplication (`status.endpoint.inCluster`), its BigPeer's subscription pods (`kubectl get pods -n <ns>`), and the address in `spec.connections`.",
            ),
            Reason::ReplicationEndpointCreated => (
                false,
                "BigPeerReplication: the endpoint Service, the CA ConfigMap (and the NetworkPolicy and exposure objects, where they apply) were created; one Event names them all.",
                "Give the other side `status.endpoint` for its `connections`, and copy `status.caConfigMapName` to it for its `trustedCas`.",
            ),
            Reason::CaChanged => (
                false,
                "BigPeerReplication: this BigPeer's CA certificate changed (`status.caFingerprint`; the ConfigMap `status.caConfigMapName` has the new one), or the certificates the replication trusts changed (`status.trustedCaFingerprints`). The note has both fingerprints.",
                "When this side's CA changed, copy the new CA ConfigMap to every other side before the old in-band certificate expires; their servers trust it once it is in their `<bigpeer>-access`, without a restart.",
            ),
            Reason::ConsumerListenerNotFound => (
                true,
                "BigPeerDataBridge (Kafka): the Kafka's `status.listeners` has no listener of the name the bridge's consumers use (`kafka.consumers.listener`, or the transaction log's listener). The operator never edits a Kafka it does not own; the message says what to add.",
                "Add the listener to the Kafka's `spec.kafka.listeners` (for consumers outside the cluster: type loadbalancer, nodeport, route or ingress, `tls: true`, `authentication.type: tls`), or fix `kafka.consumers.listener`.",
            ),
            Reason::KafkaSecretNotFound => (
                true,
                "BigPeerDataBridge (Kafka, external Kafka): a Secret `kafka.external` names (the consumer's credentials or the cluster CA) does not exist in the bridge's namespace.",
                "Create the Secret (the message names it), or fix the reference.",
            ),
            Reason::ExternalTopicRequired => (
                true,
                "BigPeerDataBridge (Kafka): the BigPeer's transaction log is an external Kafka, which the operator cannot create topics or users on, and the bridge has no `kafka.external`.",
                "Create the topic and the consumer's credentials on your Kafka and name them in `kafka.external`.",
            ),
            Reason::ConnectionSecretNotFound => (
                true,
                "BigPeerDataBridge (MongoDB): the Secret, or the key in it, that `mongodb.connectionStringSecretRef` names does not exist; the connector cannot start.",
                "`kubectl create secret generic <name> --from-literal=connectionString='mongodb+srv://...'` in the bridge's namespace.",
            ),
            Reason::ConnectionStringInvalid => (
                true,
                "BigPeerDataBridge (MongoDB): the connection string in the Secret is not a `mongodb://` or `mongodb+srv://` connection string (the message says why, never quoting it).",
                "Fix the value in the Secret; the operator notices the change.",
            ),
            Reason::ConnectorNotReady => (
                true,
                "BigPeerDataBridge (MongoDB): the connector's pod does not exist or is not ready (for longer than `stallAfter` after it started).",
                "`kubectl describe pod -l smbp.io/data-bridge=<bridge>` and its logs: image pull, crash loop, MongoDB or Big Peer unreachable. See docs/runbooks/SmbpDataBridgeDegraded.md.",
            ),
            Reason::ConnectorUnreachable => (
                true,
                "BigPeerDataBridge (MongoDB): the operator could not read the connector's metrics (its progress signal) from the pod.",
                "Check that the connector serves its metrics port and that NetworkPolicies let the operator's namespace reach it. See docs/runbooks/SmbpDataBridgeDegraded.md.",
            ),
            Reason::ConnectorStalled => (
                true,
                "BigPeerDataBridge (MongoDB): the connector's progress signal (`mongodb_connector_last_progress_timestamp_seconds`) has not advanced for longer than `stallAfter`, even if its pod reports ready; the message says since when.",
                "Read the connector's logs; check MongoDB (change streams need a replica set, the user needs `changeStream` and `find`), the network path to it, and the Big Peer's api pods. Restarting the pod resumes from its last resume token. See docs/runbooks/SmbpMongoConnectorStalled.md.",
            ),
            Reason::ConnectorRecovered => (
                false,
                "BigPeerDataBridge (MongoDB): the connector makes progress again after it was Degraded.",
                "Nothing: informational.",
            ),
            Reason::RestartRequested => (
                false,
                "A restart was requested (`kubectl smbp restart`, or the `smbp.io/restart` / `smbp.io/restart-<component>` annotation of the BigPeer changed to a new RFC 3339 time): the component's pod template now carries it in `smbp.io/restarted-at`, so its pods roll like on a version change (the store one pod at a time, each only while every other store pod is ready). The same value again restarts nothing.",
                "Nothing: follow the rollout with `kubectl smbp status <name>`. Leave the annotation in place: removing it rolls the pods once more.",
            ),
            _ => return None,
        };
        Some(EventDoc {
            warning,
            meaning,
            action,
        })
    }

    /// The Warning Event raised when the `Degraded` condition turns to this reason: the
    /// reason itself where it is an Event reason, `IntegrationMissing` for a missing add-on,
    /// `ReconcileFailed` otherwise.
    pub const fn degraded_event(self) -> Reason {
        match self {
            Reason::RolloutBlocked
            | Reason::VolumeExpansionFailed
            | Reason::PodStuck
            | Reason::ScaleDownBlocked => self,
            Reason::CertManagerNotInstalled
            | Reason::StrimziNotInstalled
            | Reason::PrometheusOperatorNotInstalled
            | Reason::GatewayAPINotInstalled
            | Reason::RouteAPINotInstalled => Reason::IntegrationMissing,
            _ => Reason::ReconcileFailed,
        }
    }

    /// An add-on the spec needs is not installed.
    pub const fn is_missing_addon(self) -> bool {
        matches!(self.degraded_event(), Reason::IntegrationMissing)
    }

    /// Parse the text of a reason.
    pub fn parse(s: &str) -> Option<Reason> {
        Reason::ALL.iter().copied().find(|r| r.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_is_camel_case_and_parses_back() {
        for r in Reason::ALL {
            let s = r.as_str();
            assert!(
                s.chars().next().is_some_and(|c| c.is_ascii_uppercase()),
                "{s}"
            );
            assert!(s.chars().all(|c| c.is_ascii_alphanumeric()), "{s}");
            assert_eq!(Reason::parse(s), Some(*r));
        }
    }

    #[test]
    fn degraded_reasons_raise_catalogued_warnings() {
        for r in Reason::ALL {
            let e = r.degraded_event();
            assert!(e.event().is_some_and(|d| d.warning), "{r} -> {e}");
            assert_eq!(
                r.is_missing_addon(),
                r.as_str().ends_with("NotInstalled"),
                "{r}"
            );
        }
    }

    #[test]
    fn the_event_catalogue_has_every_event_the_operator_records() {
        let events: Vec<&str> = Reason::ALL
            .iter()
            .filter(|r| r.event().is_some())
            .map(|r| r.as_str())
            .collect();
        assert_eq!(events.len(), 40, "{events:?}");
    }
}
