#!/usr/bin/env bash
# Makes sure a Docker engine, Docker Compose and the example image are here, as the end-to-end tests and the
# local fleet need them. Installs (Debian/Ubuntu, as root) and starts what is missing; does nothing when all is there.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

static_busybox() { [ -x /bin/busybox ] && { LC_ALL=C ldd /bin/busybox 2>&1 || true; } | grep -q 'not a dynamic executable'; }

need=()
docker info >/dev/null 2>&1 || command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
static_busybox || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  echo "setup: starting dockerd (log: /tmp/instadeploy-dockerd.log)"
  as_root bash -c 'nohup dockerd > /tmp/instadeploy-dockerd.log 2>&1 &'
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { echo "setup: dockerd did not come up; see /tmp/instadeploy-dockerd.log" >&2; tail -20 /tmp/instadeploy-dockerd.log >&2; exit 1; }
fi
echo "setup: Docker engine $(docker version --format '{{.Server.Version}}'), compose: $( (docker compose version --short 2>/dev/null && echo ' (v2)') || docker-compose version --short)"

docker image inspect local/busybox:1 >/dev/null 2>&1 || bash "$root/examples/build-example-image.sh"
