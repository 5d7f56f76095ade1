# kind targets, included from the Makefile after images/images.mk: `include k8s/kind.mk`.
# Needs Docker and kind on PATH (kind is a single Go binary; see docs/kubernetes.md).
KIND ?= kind
KIND_CLUSTER ?= gregory
# Pin the node image for reproducible clusters, e.g. kindest/node:v1.35.0; empty = kind's default.
KIND_NODE_IMAGE ?=
KUBECTL ?= tools/bin/kubectl
KIND_CONTEXT := kind-$(KIND_CLUSTER)
KIND_DIR := $(CURDIR)/var/kind
KIND_MODELS_DIR := $(KIND_DIR)/models
# The overlay's DATABASE_URL is /models/kind.sqlite3 in the pods; this is the same file.
KIND_DATABASE_URL := sqlite:///$(KIND_MODELS_DIR)/kind.sqlite3

.PHONY: kind-up kind-test kind-down

$(KUBECTL):
	$(PY) tools/fetch_kubectl.py --dest $@

# Pods run as uid 10001 and a hostPath volume gets no fsGroup: the models directory is opened up.
kind-up: setup $(KUBECTL) image-cpu image-launcher
	mkdir -p $(KIND_MODELS_DIR)
	chmod 0777 $(KIND_MODELS_DIR)
	sed "s|@MODELS_DIR@|$(KIND_MODELS_DIR)|" k8s/kind/cluster.yaml > $(KIND_DIR)/cluster.yaml
	$(KIND) get clusters 2>/dev/null | grep -qx $(KIND_CLUSTER) || \
	  $(KIND) create cluster --name $(KIND_CLUSTER) --config $(KIND_DIR)/cluster.yaml \
	    $(if $(KIND_NODE_IMAGE),--image $(KIND_NODE_IMAGE)) --wait 180s
	$(KIND) load docker-image --name $(KIND_CLUSTER) $(TRAIN_CPU_IMAGE) $(LAUNCHER_IMAGE)
	$(KUBECTL) --context $(KIND_CONTEXT) apply -k k8s/overlays/kind
	DATABASE_URL=$(KIND_DATABASE_URL) $(MANAGE) migrate --verbosity 0
	DATABASE_URL=$(KIND_DATABASE_URL) $(MANAGE) demo_data --out $(KIND_DIR)/demo_articles.csv
	DATABASE_URL=$(KIND_DATABASE_URL) $(MANAGE) import_articles --create --team demo \
	  --subject ms-research $(KIND_DIR)/demo_articles.csv
	chmod 0666 $(KIND_MODELS_DIR)/kind.sqlite3
	@echo "kind cluster $(KIND_CLUSTER) ready: kubectl --context $(KIND_CONTEXT) -n gregory get all"

# A real training Job for the demo team, submitted through the launcher, waited for, checked.
kind-test: kind-up
	GREGORY_KIND_CONTEXT=$(KIND_CONTEXT) GREGORY_KIND_MODELS_DIR=$(KIND_MODELS_DIR) \
	  GREGORY_KUBECTL=$(abspath $(KUBECTL)) $(PY) -m pytest -m kind tests/k8s/test_kind.py -v

kind-down:
	$(KIND) delete cluster --name $(KIND_CLUSTER)
