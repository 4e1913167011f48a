#!/usr/bin/env bash
# Builds local/busybox:1, the image the example compose file runs, without any registry:
# a static busybox binary (Debian: apt-get install busybox-static) copied into a FROM-scratch image.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tag="${1:-local/busybox:1}"

busybox="$(command -v busybox || true)"
if [ -z "$busybox" ] || ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked'; then
  busybox=/bin/busybox
fi
if [ ! -x "$busybox" ]; then
  echo "error: a static busybox is needed to build $tag; install it (Debian/Ubuntu: apt-get install busybox-static)" >&2
  exit 1
fi

context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
cp "$here/image/Dockerfile" "$here/image/index.html" "$context/"
cp "$busybox" "$context/busybox"
docker build -q -t "$tag" "$context" >/dev/null
echo "built $tag"
