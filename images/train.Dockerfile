# The training image: Debian's Python, torch from PyPI, the job; the entrypoint runs the installed
# package (`python -m gregory_train`), so a Job's args are `train_models --team …`.
# Build from the repository root (see images/images.mk):
#   docker build -f images/train.Dockerfile -t gregory-train:0.1.0 .
# No CUDA base image: torch's PyPI wheel for linux x86_64 is the CUDA build and brings the CUDA
# runtime, cuDNN and NCCL as nvidia-* wheels; the node's driver is all it needs from the host.
# CPU variant (kind, smoke test): TORCH_SPEC="torch==2.13.0+cpu" with the CPU wheel staged in
# var/image-build/wheels/ (or TORCH_INDEX_URL set to a CPU index).
ARG BASE_IMAGE=debian:bookworm-slim

# --- the interpreter both stages share (the venv's python symlinks into /usr/bin) -------------
FROM ${BASE_IMAGE} AS python
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv libgomp1 ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# --- build: a venv with torch and the job; nothing of pip or the sources reaches the runtime --
FROM python AS build
ARG TORCH_SPEC="torch==2.13.0"
# Empty: the default index (PyPI: the CUDA build on linux x86_64); or a PyTorch wheel index.
ARG TORCH_INDEX_URL=""
ARG PIP_VERSION=25.3
# Staged by the Makefile: wheels/ (e.g. a CPU torch wheel) and pip.conf (maybe a CA bundle).
COPY var/image-build/ /build/
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_CONFIG_FILE=/build/pip.conf \
    PIP_FIND_LINKS=/build/wheels
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install --quiet "pip==${PIP_VERSION}"
ENV PATH=/opt/venv/bin:$PATH
COPY images/constraints.txt /tmp/constraints.txt
RUN pip install --quiet --constraint /tmp/constraints.txt ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} ${TORCH_SPEC}
COPY pyproject.toml README.md /src/
COPY job /src/job
COPY launcher /src/launcher
RUN pip install --quiet --constraint /tmp/constraints.txt "/src[train,ml]" \
 && python -c "import torch, lightgbm, transformers, gregory.flags" \
 && python -m gregory_train help train_models > /dev/null

# --- runtime ---------------------------------------------------------------------------------
FROM python AS runtime
ARG UID=10001
RUN groupadd --gid "$UID" gregory \
 && useradd --uid "$UID" --gid "$UID" --home-dir /tmp --no-create-home --shell /usr/sbin/nologin gregory \
 && mkdir -p /app /models /cache \
 && chown "$UID:$UID" /models /cache
COPY --from=build /opt/venv /opt/venv
# Read-only root filesystem in the cluster: HOME and scratch are /tmp (an emptyDir there), the
# Hugging Face cache is the cache volume so nightly runs reuse downloaded BERT and BART weights.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    GREGORY_HOME=/app \
    GREGORY_MODELS_DIR=/models \
    HF_HOME=/cache/huggingface \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    LD_LIBRARY_PATH=/usr/local/nvidia/lib64
# Set by the CUDA base images, so set here: the NVIDIA toolkit injects the driver's compute
# libraries, and GKE mounts its Google-managed driver at /usr/local/nvidia. Not
# NVIDIA_VISIBLE_DEVICES=all: the device plugin names the pod's own GPUs.
WORKDIR /app
USER ${UID}:${UID}
ENTRYPOINT ["python", "-m", "gregory_train"]
CMD ["help", "train_models"]
