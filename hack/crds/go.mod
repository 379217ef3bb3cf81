// Third-party CRD sources for hack/install-crds.sh. Nothing here is compiled: the script runs
// `go mod download` in this module and copies the CRD YAML out of the module cache.
// Bump a version here to install newer CRDs.
module smbp.io/hack/crds

go 1.26.0

require (
	github.com/cert-manager/cert-manager v1.21.2
	github.com/openshift/api v0.0.0-20260813212709-d4bb0b443cb8
	github.com/prometheus-operator/prometheus-operator v0.85.0
	sigs.k8s.io/gateway-api v1.6.3
)
