# The slim launcher image: gregory-launch without torch or the ML stack, for the nightly CronJob
# that fans out one training Job per team/subject from inside the cluster.
#   docker build -f images/launcher.Dockerfile -t gregory-launcher:0.1.0 .
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS python
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*

FROM python AS build
ARG PIP_VERSION=25.3
COPY var/image-build/ /build/
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_CONFIG_FILE=/build/pip.conf
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install --quiet "pip==${PIP_VERSION}"
ENV PATH=/opt/venv/bin:$PATH
COPY images/constraints.txt /tmp/constraints.txt
COPY pyproject.toml README.md /src/
COPY job /src/job
COPY launcher /src/launcher
# The entry points must start without the ML stack (tools/import_contract.py holds it in lint).
RUN pip install --quiet --constraint /tmp/constraints.txt "/src[launcher]" \
 && gregory-launch --help >/dev/null \
 && gregory-launch submit --help >/dev/null \
 && gregory-launch status --help >/dev/null \
 && ! python -c "import numpy" 2>/dev/null \
 && ! python -c "import torch" 2>/dev/null

FROM python AS runtime
ARG UID=10001
RUN groupadd --gid "$UID" gregory \
 && useradd --uid "$UID" --gid "$UID" --home-dir /tmp --no-create-home --shell /usr/sbin/nologin gregory
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
USER ${UID}:${UID}
ENTRYPOINT ["gregory-launch"]
CMD ["--help"]
