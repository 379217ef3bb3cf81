# smbp-operator — developer entry points. `make help` lists them.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
CLUSTER_DIR ?= $(CURDIR)/.cache/cluster
export SMBP_CLUSTER_DIR := $(CLUSTER_DIR)
BIN := target/debug/smbp-operator

.PHONY: help build test unit e2e lint fmt manifests check-generated run cluster-up cluster-down bench clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

build: ## Build the operator
	$(CARGO) build --locked

unit: ## Unit and property tests (no cluster)
	$(CARGO) test --locked --lib --bins

e2e: build cluster-up ## End-to-end tests against the local control plane (starts it if needed)
	SMBP_OPERATOR_BIN=$(CURDIR)/$(BIN) KUBECONFIG=$(CLUSTER_DIR)/kubeconfig \
	  $(CARGO) test --locked --test e2e -- --ignored --test-threads=1

test: check-generated unit e2e ## Everything CI runs: generated files fresh, unit, end-to-end

lint: ## rustfmt and clippy, warnings are errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

fmt: ## Format the code
	$(CARGO) fmt --all

manifests: build ## Regenerate the CRD and RBAC YAML under config/
	mkdir -p config/crd/bases config/rbac
	$(BIN) crd > config/crd/bases/smbp.io_bigpeers.yaml
	$(BIN) rbac > config/rbac/role.yaml

check-generated: manifests ## Fail when generated files differ from what is committed
	@git diff --exit-code -- config/crd config/rbac || { echo "generated files are stale: run 'make manifests' and commit"; exit 1; }

cluster-up: ## Start the local control plane (builds it on first use)
	hack/cluster-up.sh

cluster-down: ## Stop the local control plane
	hack/cluster-down.sh

run: build cluster-up ## Run the operator on the local control plane with a sample BigPeer
	hack/run-local.sh

bench: ## Benchmarks of the build layer and reconcile (prints numbers)
	$(CARGO) bench --locked --bench build

clean: cluster-down
	$(CARGO) clean
