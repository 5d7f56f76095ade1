#!/usr/bin/env bash
# A private Docker engine and a local base image for hosts that have neither a running engine
# nor a reachable image registry (CI here). Needs root and Debian's docker.io and debootstrap.
#
#   images/engine.sh start   start dockerd on $GREGORY_DOCKER_SOCK (idempotent), wait until it answers
#   images/engine.sh stop    stop that dockerd (only the one this script started, by its pid file)
#   images/engine.sh base    debootstrap Debian $SUITE and `docker import` it as $BASE_TAG
#
# Then: DOCKER_HOST=unix://$GREGORY_DOCKER_SOCK make image-smoke BASE_IMAGE=$BASE_TAG
set -euo pipefail

ROOT=${GREGORY_DOCKER_ROOT:-/var/tmp/gregory-docker}
SOCK=${GREGORY_DOCKER_SOCK:-$ROOT/docker.sock}
PIDFILE=$ROOT/dockerd.pid
SUITE=${SUITE:-bookworm}
BASE_TAG=${BASE_TAG:-gregory-base/debian:$SUITE}
MIRROR=${DEBIAN_MIRROR:-}  # empty: debootstrap's default mirror
# Only the Debian engine binaries: another `docker` earlier on PATH may talk to something else.
DOCKERD=${DOCKERD:-/usr/sbin/dockerd}
DOCKER=${DOCKER:-/usr/bin/docker}

start() {
  mkdir -p "$ROOT/data" "$ROOT/exec"
  if [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    echo "dockerd already running (pid $(cat "$PIDFILE")) on $SOCK"
    return 0
  fi
  # No iptables and no bridge: builds use --network host, containers run with --network none.
  "$DOCKERD" --host "unix://$SOCK" --data-root "$ROOT/data" --exec-root "$ROOT/exec" \
    --pidfile "$PIDFILE" --iptables=false --ip6tables=false --bridge=none \
    >"$ROOT/dockerd.log" 2>&1 &
  for _ in $(seq 60); do
    if "$DOCKER" -H "unix://$SOCK" version >/dev/null 2>&1; then
      echo "dockerd up on $SOCK"
      return 0
    fi
    sleep 1
  done
  echo "dockerd did not start; see $ROOT/dockerd.log" >&2
  tail -20 "$ROOT/dockerd.log" >&2
  return 1
}

stop() {
  if [[ -f $PIDFILE ]]; then
    local pid
    pid=$(cat "$PIDFILE")
    kill "$pid" 2>/dev/null || true
    # dockerd stops its containers and containerd first; wait so a restart finds the root free.
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    rm -f "$PIDFILE"
  fi
}

base() {
  if "$DOCKER" -H "unix://$SOCK" image inspect "$BASE_TAG" >/dev/null 2>&1; then
    echo "$BASE_TAG present"
    return 0
  fi
  local rootfs=$ROOT/rootfs-$SUITE
  rm -rf "$rootfs"
  # minbase + apt: the Dockerfile installs python3 itself, as it does on the CUDA base.
  debootstrap --variant=minbase "$SUITE" "$rootfs" ${MIRROR:+"$MIRROR"} >"$ROOT/debootstrap.log"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | "$DOCKER" -H "unix://$SOCK" import \
    --change 'CMD ["/bin/bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    - "$BASE_TAG"
  rm -rf "$rootfs"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  base) base ;;
  *) echo "usage: $0 start|stop|base" >&2; exit 2 ;;
esac
