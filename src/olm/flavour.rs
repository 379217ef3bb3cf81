//! Bundle flavours: the same release packaged for two kinds of catalog.
//!
//! OLM v0 fails a whole InstallPlan when a bundle holds an object whose API the cluster does
//! not serve, so the Prometheus Operator's ServiceMonitor and PrometheusRule can only ship in a
//! bundle for clusters that always serve `monitoring.coreos.com/v1`: OpenShift's. The
//! community bundle installs anywhere; the OpenShift bundle adds the monitoring objects and
//! asks the OpenShift console for cluster monitoring. Same CSV name and version, same CRDs.

/// Which catalogs a bundle is built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Flavour {
    /// OperatorHub.io and upstream catalogs: no object of an optional API, installs on any
    /// cluster.
    Community,
    /// Red Hat certification and OpenShift catalogs: adds the operator's ServiceMonitor and
    /// PrometheusRule, and the cluster-monitoring CSV annotation.
    #[value(name = "openshift")]
    OpenShift,
}

/// CSV annotation that makes the OpenShift console offer "Enable Operator recommended
/// cluster monitoring on this Namespace" (it labels a new `openshift-*` namespace
/// `openshift.io/cluster-monitoring=true` and lets the platform Prometheus discover targets
/// there).
pub const CLUSTER_MONITORING_ANNOTATION: &str = "operatorframework.io/cluster-monitoring";

impl Flavour {
    /// Every flavour, community first.
    pub const ALL: [Flavour; 2] = [Flavour::Community, Flavour::OpenShift];

    /// Bundle directory at the repository root.
    pub fn bundle_dir(self) -> &'static str {
        match self {
            Flavour::Community => "bundle",
            Flavour::OpenShift => "bundle-openshift",
        }
    }

    /// The bundle image's Dockerfile, beside the bundle directory.
    pub fn dockerfile(self) -> &'static str {
        match self {
            Flavour::Community => "bundle.Dockerfile",
            Flavour::OpenShift => "bundle-openshift.Dockerfile",
        }
    }

    /// Whether the bundle ships objects of `monitoring.coreos.com/v1`.
    pub fn ships_prometheus_operator_objects(self) -> bool {
        self == Flavour::OpenShift
    }

    /// CSV annotations only this flavour carries.
    pub fn csv_annotations(self) -> Vec<(&'static str, &'static str)> {
        match self {
            Flavour::Community => vec![],
            Flavour::OpenShift => vec![(CLUSTER_MONITORING_ANNOTATION, "true")],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flavours_have_distinct_paths() {
        let [a, b] = Flavour::ALL;
        assert_ne!(a.bundle_dir(), b.bundle_dir());
        assert_ne!(a.dockerfile(), b.dockerfile());
        for f in Flavour::ALL {
            assert_eq!(f.dockerfile(), format!("{}.Dockerfile", f.bundle_dir()));
        }
    }

    #[test]
    fn only_openshift_needs_the_prometheus_operator() {
        assert!(!Flavour::Community.ships_prometheus_operator_objects());
        assert!(Flavour::Community.csv_annotations().is_empty());
        assert!(Flavour::OpenShift.ships_prometheus_operator_objects());
        assert_eq!(
            Flavour::OpenShift.csv_annotations(),
            [(CLUSTER_MONITORING_ANNOTATION, "true")]
        );
    }

    #[test]
    fn command_line_names() {
        use clap::ValueEnum;
        let names: Vec<String> = Flavour::value_variants()
            .iter()
            .map(|f| f.to_possible_value().unwrap().get_name().to_string())
            .collect();
        assert_eq!(names, ["community", "openshift"]);
    }
}
