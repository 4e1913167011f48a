#!/usr/bin/env bash
# Builds local/busybox:1, the image the example compose file runs, without any registry:
# a static busybox binary (Debian: apt-get install busybox-static) copied into a FROM-scratch image.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tag="${1:-local/busybox:1}"

busybox="$(command -v busybox || true)"
if [ -z "$busybox" ] || ! { LC_ALL=C ldd "$busybox" 2>&1 || true; } | grep -q 'not a dynamic executable'; then
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
# The legacy builder's deprecation notice is noise here; show the build's output only when it fails.
if ! docker build -q -t "$tag" "$context" > "$context/build.log" 2>&1; then
  cat "$context/build.log" >&2
  exit 1
fi
echo "built $tag"
