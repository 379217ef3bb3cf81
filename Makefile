# smbp-operator — developer entry points. `make help` lists them.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
CLUSTER_DIR ?= $(CURDIR)/.cache/cluster
export SMBP_CLUSTER_DIR := $(CLUSTER_DIR)
# Kubernetes version of the local control plane: K8S=1.31 (or 1.34) runs an older one (hack/cluster-up.sh);
# default the newest. SMOKE_K8S: the older versions `make smoke-versions` (part of `make test`) covers.
K8S ?=
ifneq ($(K8S),)
export SMBP_K8S_VERSION := $(K8S)
endif
SMOKE_K8S ?= 1.31 1.34
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
BIN ?= $(TARGET_DIR)/debug/smbp-operator
# Every long step runs as a stage: a start line, a heartbeat each minute, its time at the end.
STAGE := hack/stage.sh
# Release inputs of the generated bundle (see docs/contributing/packaging.md).
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
BUNDLE_CREATED_AT ?= 2026-11-23T05:00:00Z
REPLACES ?= smbp-operator.v0.1.0
OPERATOR_IMAGE ?= quay.io/smbp/smbp-operator:v$(VERSION)
BUNDLE_IMAGE ?= quay.io/smbp/smbp-operator-bundle:v$(VERSION)
# Development bundles use image tags; the release workflow sets REQUIRE_DIGESTS=true.
REQUIRE_DIGESTS ?= false
# Two bundles are generated: bundle/ (community: installs anywhere) and bundle-openshift/ (adds the
# ServiceMonitor and PrometheusRule; for Red Hat certification). catalog/ lists the community
# bundle; the release workflow sets CATALOG_FLAVOUR=openshift (with BUNDLE_IMAGE = the OpenShift
# bundle image) to build the index image certification installs from. See docs/contributing/packaging.md.
CATALOG_FLAVOUR ?= community
GENERATED := config/crd config/rbac config/manager config/webhook config/default config/manifests config/scorecard config/samples/kustomization.yaml \
	config/prometheus bundle bundle.Dockerfile bundle-openshift bundle-openshift.Dockerfile catalog catalog.Dockerfile scorecard \
	docs/metrics.md docs/events.md docs/access-contract.md docs/compatibility.md charts

.PHONY: help prereqs build tools prebuild controlplane addons olm-tools test test-cold unit e2e install-e2e olm-e2e helm-e2e smoke-versions olm-down lint fmt manifests bundle \
	validate-bundle _validate-bundle check-generated _check-generated check-monitoring _check-monitoring run cluster-up \
	cluster-down bench bench-scale clean

help: ## Show the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

prereqs: ## Check that every tool `make run` and `make test` need is installed (hack/prereqs.sh --install installs them)
	@hack/prereqs.sh

build: ## Build the operator
	$(STAGE) "Rust build" $(CARGO) build --locked

controlplane: ## Build the test control plane (etcd, kube-apiserver, ..., kwok) unless it is cached
	$(STAGE) "control plane" env SMBP_BUILD_ADDONS=0 hack/build-controlplane.sh >/dev/null

addons: ## Build the add-ons (cert-manager, Strimzi CRDs + stand-in) unless they are cached
	$(STAGE) "add-ons" hack/build-addons.sh all >/dev/null

olm-tools: ## Build OLM, opm, the validators, scorecard and actionlint unless they are cached
	$(STAGE) "OLM tools" hack/olm/build-tools.sh >/dev/null

tools: controlplane addons olm-tools ## Every Go-built tool the tests use (cached under ~/.cache/smbp-operator)

prebuild: ## Start building, in the background at nice 19, what later stages of `make test` need (previous release, release tools and binary, older control planes; hack/prebuild.sh); they stop with make
	SMOKE_K8S="$(SMOKE_K8S)" hack/prebuild.sh start --owner $$PPID

unit: ## Unit and property tests (no cluster)
	$(STAGE) unit $(CARGO) test --locked --lib --bins --test build --test cel --test assets --test mock_api

e2e: build controlplane addons cluster-up ## End-to-end tests against the local control plane (starts it if needed)
	$(STAGE) e2e env SMBP_OPERATOR_BIN=$(BIN) KUBECONFIG=$(CLUSTER_DIR)/kubeconfig \
	  $(CARGO) test --locked --test e2e -- --ignored --test-threads=1

test: prereqs prebuild build tools lint check-generated check-monitoring validate-bundle unit e2e install-e2e olm-e2e helm-e2e release-local smoke-versions ## Everything CI runs: builds, lint, generated files, rules, bundle validation, unit, e2e, install e2e, OLM e2e, Helm e2e, the release pipeline (release-local), smoke on older Kubernetes

test-cold: ## .ci/run from a fresh clone of HEAD with empty Go, cargo-target and tool caches; prints each stage's time
	hack/test-cold.sh

install-e2e: build controlplane cluster-up ## `kubectl apply -k config/default` with its webhook and the operator's own certificate, then delete -k (root: puts the pod IP on lo)
	$(STAGE) "install e2e" env SMBP_OPERATOR_BIN=$(BIN) KUBECONFIG=$(CLUSTER_DIR)/kubeconfig \
	  $(CARGO) test --locked --test install -- --ignored --test-threads=1

olm-e2e: build olm-tools cluster-up ## OLM install/upgrade/install-modes/OpenShift/uninstall tests with real OLM (starts it if needed)
	hack/prebuild.sh wait previous-release
	$(STAGE) "OLM e2e" env SMBP_OPERATOR_BIN=$(BIN) KUBECONFIG=$(CLUSTER_DIR)/kubeconfig \
	  sh -c 'hack/olm-up.sh && $(CARGO) test --locked --test olm -- --ignored --test-threads=1 --skip install_from_mirrored_catalog'

helm-e2e: build olm-tools cluster-up ## The Helm chart with the real helm: lint --strict, template vs config/default, schema, install/upgrade/uninstall (root: puts the pod IP on lo)
	$(STAGE) "Helm e2e" env SMBP_OPERATOR_BIN=$(BIN) KUBECONFIG=$(CLUSTER_DIR)/kubeconfig \
	  SMBP_HELM_BIN="$$(OLM_TOOLS=helm hack/olm/build-tools.sh | tail -n 1)/helm" \
	  $(CARGO) test --locked --test helm -- --ignored --test-threads=1

smoke-versions: build ## Smoke subset (CRD rules, create, scale, rollout, delete; kustomize install; OLM install) on each Kubernetes in SMOKE_K8S, one cluster at a time (stops the default cluster first: same ports)
	hack/prebuild.sh wait $(addprefix controlplane-,$(SMOKE_K8S))
	env SMBP_OPERATOR_BIN=$(BIN) CARGO=$(CARGO) hack/smoke-versions.sh $(SMOKE_K8S)

olm-down: ## Stop OLM on the local control plane and delete its CRDs
	hack/olm-down.sh

lint: ## rustfmt, clippy and shellcheck, warnings are errors
	$(STAGE) lint sh -c '$(CARGO) fmt --all -- --check && $(CARGO) clippy --locked --all-targets -- -D warnings \
	  && shellcheck -x -S warning hack/*.sh hack/olm/*.sh hack/release/*.sh .ci/run'

fmt: ## Format the code
	$(CARGO) fmt --all

manifests: build ## Regenerate config/, bundle/, bundle-openshift/, catalog/, scorecard/ and docs/ references: metrics, Events, access contract (all generated by the binary)
	$(BIN) bundle-gen --version $(VERSION) --created-at $(BUNDLE_CREATED_AT) $(if $(REPLACES),--replaces $(REPLACES)) \
	  --operator-image $(OPERATOR_IMAGE) --bundle-image $(BUNDLE_IMAGE) --catalog-flavour $(CATALOG_FLAVOUR)

bundle: manifests ## Regenerate the OLM bundles and File-Based Catalog (same as manifests)

validate-bundle: ## Validate bundle/, bundle-openshift/ and catalog/ with operator-framework's validators, scorecard and opm
	$(STAGE) "bundle validation" $(MAKE) --no-print-directory _validate-bundle

_validate-bundle:
	rc=0; \
	BUNDLE_K8S_VERSION=1.34 BUNDLE_DOCKERFILE=bundle.Dockerfile BUNDLE_REQUIRE_DIGESTS=$(REQUIRE_DIGESTS) \
	  hack/olm/validate-bundle.sh bundle catalog || rc=1; \
	BUNDLE_K8S_VERSION=1.34 BUNDLE_DOCKERFILE=bundle-openshift.Dockerfile BUNDLE_REQUIRE_DIGESTS=$(REQUIRE_DIGESTS) \
	  hack/olm/validate-bundle.sh bundle-openshift || rc=1; \
	exit $$rc
	"$$(OLM_TOOLS=actionlint hack/olm/build-tools.sh | tail -n 1)/actionlint" .github/workflows/*.yml

check-monitoring: ## promtool: check the alerting rules, run their unit tests, check the dashboards' PromQL
	$(STAGE) "monitoring rules" $(MAKE) --no-print-directory _check-monitoring

_check-monitoring:
	promtool check rules monitoring/rules/*.yaml
	promtool test rules monitoring/rules/tests/*.yaml
	hack/check-dashboards.sh

check-generated: ## Fail when generated files differ from what is committed
	$(STAGE) "generated files" $(MAKE) --no-print-directory _check-generated

_check-generated: manifests
	@git diff --exit-code -- $(GENERATED) || { echo "generated files are stale: run 'make manifests' and commit"; exit 1; }
	@test -z "$$(git status --porcelain --untracked-files=all -- $(GENERATED) releases)" || { git status --short -- $(GENERATED) releases; echo "generated files not committed"; exit 1; }

cluster-up: ## Start the local control plane (builds it on first use)
	$(STAGE) "cluster up" hack/cluster-up.sh

cluster-down: ## Stop the local control plane
	hack/cluster-down.sh

run: prereqs build controlplane addons cluster-up ## Run the operator on the local control plane with a sample BigPeer
	hack/run-local.sh

bench: ## Benchmarks of the build layer, reconcile and admission webhook (prints numbers; the webhook's review also against the local control plane when it runs)
	$(CARGO) bench --locked --bench build
	env KUBECONFIG=$(CLUSTER_DIR)/kubeconfig $(CARGO) bench --locked --bench webhook

# Scale benchmark (issue #16): N BigPeers on the local control plane, the operator against a
# client applying the same objects directly; REST_WINDOW seconds at rest, operator running then
# stopped (300 covers the operator's periodic resync). Built in the dev profile, like the e2e
# tests; BIN=<path> measures another operator binary (a release build, say).
# BENCH_SCALE_ARGS passes more options, e.g. "--skip-direct --sample 100" at N=1000.
N ?= 100
REST_WINDOW ?= 60
BENCH_SCALE_ARGS ?=
bench-scale: build controlplane cluster-up ## Scale benchmark: N BigPeers (N=100), operator vs direct client, requests, RSS, latency, CPU (prints numbers)
	$(STAGE) "scale benchmark N=$(N)" env SMBP_OPERATOR_BIN=$(BIN) KUBECONFIG=$(CLUSTER_DIR)/kubeconfig \
	  $(CARGO) bench --locked --profile dev --bench scale -- --n $(N) --rest-window $(REST_WINDOW) $(BENCH_SCALE_ARGS)

clean: cluster-down
	$(CARGO) clean

# Release images without a container runtime (hack/release/images.sh; not part of `make test`).
# RELEASE_IMAGES_ARGS: e.g. --base <UBI micro by digest> --must-gather-base <UBI minimal by digest>,
# --bin <an auditable binary>, --bundle/--bundle-openshift/--catalog <dirs>, --out <dir>.
RELEASE_IMAGES_ARGS ?=
RELEASE_LOCAL_ARGS ?=
.PHONY: release-images
release-images: ## Build the release images (operator, must-gather, bundles, catalog, Big Peer stand-ins) into a loopback registry (port SMBP_REGISTRY_PORT, default 5001), run the certification container checks, build twice and compare digests
	$(STAGE) "release images" hack/release/images.sh --twice $(RELEASE_IMAGES_ARGS)

.PHONY: release-local
release-local: olm-tools cluster-up ## The release pipeline end to end on loopback registries: images, digest-pinned bundles and catalog, SBOMs, signatures and attestations with tamper cases, the air-gapped mirror verified with the public registry stopped, an OLM install from the mirrored catalog, reproducibility, the release workflow's --publish mode on loopback stand-ins for its registries (hack/release/local.sh)
	hack/prebuild.sh wait release-tools release-binary
	$(STAGE) "release local" env KUBECONFIG=$(CLUSTER_DIR)/kubeconfig \
	  hack/release/local.sh $(RELEASE_LOCAL_ARGS)
