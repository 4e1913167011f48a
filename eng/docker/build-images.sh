#!/usr/bin/env bash
# Builds the container images of the control plane and the agent: publishes each self-contained for this machine's
# architecture into artifacts/docker/<name>/app/, then builds eng/docker/<name>.Dockerfile with that folder as context.
#
#   bash eng/docker/build-images.sh                                  # FROM debian:12-slim; tags instadeploy/<name>:dev
#   bash eng/docker/build-images.sh --base local/debian-base:12 --tag 1.0.0
#
# The image ids are written to artifacts/docker/<name>.iid (tests run the images they built by id, not by a tag that
# another build may have moved).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
base=debian:12-slim
tag=dev
while [ $# -gt 0 ]; do
  case "$1" in
    --base) base="$2"; shift ;;
    --tag) tag="$2"; shift ;;
    *) echo "usage: bash eng/docker/build-images.sh [--base IMAGE] [--tag TAG]" >&2; exit 2 ;;
  esac
  shift
done

case "$(uname -m)" in
  x86_64) rid=linux-x64 ;;
  aarch64 | arm64) rid=linux-arm64 ;;
  *) echo "build-images: no .NET runtime identifier known for $(uname -m)" >&2; exit 1 ;;
esac

out="$root/artifacts/docker"
for name in control-plane agent; do
  project="$root/InstaDeploy.$( [ "$name" = agent ] && echo Agent || echo ControlPlane )"
  context="$out/$name"
  rm -rf "$context"
  mkdir -p "$context"
  echo "build-images: publishing $(basename "$project") ($rid, self-contained)"
  # Culture-invariant: the images carry no ICU (the agent is invariant already; the control plane formats nothing by culture).
  dotnet publish "$project" -c Release -r "$rid" --self-contained -p:InvariantGlobalization=true \
    -o "$context/app" --nologo -v quiet
  echo "build-images: docker build instadeploy/$name:$tag FROM $base"
  previous="$(cat "$out/$name.iid" 2>/dev/null || true)"
  DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$base" -f "$root/eng/docker/$name.Dockerfile" \
    -t "instadeploy/$name:$tag" --iidfile "$out/$name.iid" "$context" >/dev/null
  # The image this script built last time, if no tag names it any more: ours to remove, so rebuilds do not pile up.
  if [ -n "$previous" ] && [ "$previous" != "$(cat "$out/$name.iid")" ]; then docker rmi "$previous" >/dev/null 2>&1 || true; fi
  echo "build-images: instadeploy/$name:$tag is $(cat "$out/$name.iid") ($(docker image inspect -f '{{.Size}}' "$(cat "$out/$name.iid")" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
done
