#!/usr/bin/env bash
# The container platform for machines that cannot reach Docker Hub or GHCR:
# a Docker engine, a Debian base image with Python built by debootstrap, a
# registry on 127.0.0.1, the job image act runs the workflows in, and the
# local Sigstore authority (OIDC, Fulcio, Rekor: a test authority, trusted
# nowhere else; its keys persist in the state directory). Used by .ci/run,
# the end-to-end tests and the local pipeline. Idempotent: whatever already
# answers is reused, never restarted.
#
#   scripts/local-platform.sh up      install what is missing, start, print env
#   scripts/local-platform.sh env     print the environment for an engine that runs
#   scripts/local-platform.sh down    stop what this script started (by PID)
set -euo pipefail

STATE_DIR=${PLATFORM_STATE_DIR:-/var/tmp/sample-pipeline}
CACHE_DIR=${PLATFORM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sample-pipeline}
REGISTRY_ADDR=${LOCAL_REGISTRY:-127.0.0.1:5000}
BASE_IMAGE=${LOCAL_BASE_IMAGE:-local/debian-python:bookworm}
# The job image for `hatch run workflows` (act): scripts/runner.Dockerfile.
RUNNER_IMAGE=${LOCAL_RUNNER_IMAGE:-local/act-runner:ubuntu-24.04}
SIGSTORE_PORT=${LOCAL_SIGSTORE_PORT:-5010}
SIGSTORE_URL="http://127.0.0.1:$SIGSTORE_PORT"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Python, pip for the build stage, venv, and the CA bundle of this machine.
BASE_PACKAGES=python3,python3-venv,python3-pip,ca-certificates

log() { printf '[platform] %s\n' "$*" >&2; }
die() { printf '[platform] error: %s\n' "$*" >&2; exit 1; }

need_root() { [ "$(id -u)" -eq 0 ] || die "$1 needs root; run as root or start it yourself"; }

install_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  [ ${#missing[@]} -eq 0 ] && return 0
  need_root "installing ${missing[*]}"
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

engine_answers() { timeout 5 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

start_engine() {
  if engine_answers; then log "docker engine already answers"; return 0; fi
  need_root "starting dockerd"
  mkdir -p "$STATE_DIR"
  log "starting dockerd (log: $STATE_DIR/dockerd.log)"
  # No bridge and no iptables: this machine's network namespace allows neither;
  # containers run with --network none or host.
  nohup dockerd --bridge=none --iptables=false --ip6tables=false \
    --pidfile "$STATE_DIR/dockerd.pid" >"$STATE_DIR/dockerd.log" 2>&1 &
  echo $! >"$STATE_DIR/dockerd.started"
  for _ in $(seq 1 60); do
    engine_answers && { log "docker engine is up"; return 0; }
    sleep 0.5
  done
  tail -n 20 "$STATE_DIR/dockerd.log" >&2 || true
  die "dockerd did not answer within 30 s"
}

build_base() {
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    log "base image $BASE_IMAGE present"; return 0
  fi
  local tarball="$CACHE_DIR/debian-python-$SUITE.tar"
  if [ ! -s "$tarball" ]; then
    need_root "debootstrap"
    mkdir -p "$CACHE_DIR"
    local root
    root=$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")
    log "debootstrap $SUITE into $root (a few minutes, once)"
    debootstrap --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$root" "$MIRROR" \
      >"$CACHE_DIR/debootstrap.log" 2>&1 || { tail -n 20 "$CACHE_DIR/debootstrap.log" >&2; rm -rf "$root"; die "debootstrap failed"; }
    # Trust this machine's CA bundle so a build stage with --network host
    # reaches PyPI through whatever TLS setup the host has.
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
    # Shrink: package caches and docs are not part of a runtime base.
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
      "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*
    tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$root"
  fi
  log "importing $tarball as $BASE_IMAGE"
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    "$tarball" "$BASE_IMAGE" >/dev/null
}

build_runner() {
  # Rebuilt when its Dockerfile or hatch's lock changes (the hash is a label), reused otherwise.
  local want have context lock
  lock="$ROOT/.github/hatch-requirements.txt"
  want=$(cat "$(dirname "$0")/runner.Dockerfile" "$lock" | sha256sum | cut -c1-16)
  have=$(docker image inspect --format '{{index .Config.Labels "runner.dockerfile"}}' "$RUNNER_IMAGE" 2>/dev/null || true)
  if [ "$want" = "$have" ]; then log "runner image $RUNNER_IMAGE present"; return 0; fi
  context=$(mktemp -d)
  cp "$(dirname "$0")/runner.Dockerfile" "$context/Dockerfile"
  cp "$(readlink -f "$(command -v docker)")" "$context/docker"
  cp "$lock" "$context/hatch-requirements.txt"
  log "building runner image $RUNNER_IMAGE"
  docker build --quiet --network host --build-arg "BASE_IMAGE=$BASE_IMAGE" \
    --label "runner.dockerfile=$want" -t "$RUNNER_IMAGE" "$context" >/dev/null \
    || { rm -rf "$context"; die "building the runner image failed"; }
  rm -rf "$context"
}

registry_answers() { curl -fsS --max-time 2 "http://$REGISTRY_ADDR/v2/" >/dev/null 2>&1; }

start_registry() {
  if registry_answers; then log "registry already answers on $REGISTRY_ADDR"; return 0; fi
  mkdir -p "$STATE_DIR/registry"
  cat >"$STATE_DIR/registry.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE_DIR/registry
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
YAML
  log "starting docker-registry on $REGISTRY_ADDR"
  nohup docker-registry serve "$STATE_DIR/registry.yml" >"$STATE_DIR/registry.log" 2>&1 &
  echo $! >"$STATE_DIR/registry.started"
  for _ in $(seq 1 40); do
    registry_answers && return 0
    sleep 0.25
  done
  tail -n 20 "$STATE_DIR/registry.log" >&2 || true
  die "registry did not answer on $REGISTRY_ADDR"
}

authority_answers() { curl -fsS --max-time 2 "$SIGSTORE_URL/trusted_root.json" >/dev/null 2>&1; }

start_authority() {
  if authority_answers; then log "local Sigstore authority already answers on $SIGSTORE_URL"; return 0; fi
  command -v hatch >/dev/null \
    || die "the local Sigstore authority runs in hatch's environment: python3 -m pip install --require-hashes -r .github/hatch-requirements.txt"
  local env_dir
  (cd "$ROOT" && hatch env create default) >&2 || die "creating hatch's default environment failed"
  env_dir=$(cd "$ROOT" && hatch env find default)
  mkdir -p "$STATE_DIR/sigstore"
  log "starting the local Sigstore authority (a test authority, trusted nowhere else) on $SIGSTORE_URL"
  # exec: the recorded PID is the server's, and no descriptor of this script
  # (a pipe the caller reads to its end) stays open in the background.
  (
    cd "$ROOT" || exit 1
    PYTHONPATH="$ROOT/src" exec nohup "$env_dir/bin/python" -m pipeline.authority \
      --state "$STATE_DIR/sigstore" --port "$SIGSTORE_PORT" </dev/null >"$STATE_DIR/sigstore.log" 2>&1
  ) &
  echo $! >"$STATE_DIR/sigstore.started"
  for _ in $(seq 1 80); do
    authority_answers && return 0
    sleep 0.25
  done
  tail -n 20 "$STATE_DIR/sigstore.log" >&2 || true
  die "the local Sigstore authority did not answer on $SIGSTORE_URL"
}

print_env() {
  printf 'LOCAL_REGISTRY=%s\nLOCAL_BASE_IMAGE=%s\nLOCAL_RUNNER_IMAGE=%s\nLOCAL_SIGSTORE=%s\n' \
    "$REGISTRY_ADDR" "$BASE_IMAGE" "$RUNNER_IMAGE" "$SIGSTORE_URL"
}

stop_started() {
  local name pidfile pid
  for name in sigstore registry dockerd; do
    pidfile="$STATE_DIR/$name.started"
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then log "stopping $name (pid $pid)"; kill "$pid"; fi
    rm -f "$pidfile"
  done
}

case "${1:-}" in
  up) install_packages; start_engine; build_base; build_runner; start_registry; start_authority; print_env ;;
  env) print_env ;;
  down) stop_started ;;
  *) echo "usage: $0 up|env|down" >&2; exit 2 ;;
esac
