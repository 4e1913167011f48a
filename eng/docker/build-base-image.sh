#!/usr/bin/env bash
# Builds the base image the container images are built on in CI, where no registry serves debian:12-slim: a minimal
# Debian 12 made with debootstrap from the machine's own Debian mirror, then `docker import`ed. Does nothing when the
# image already exists, so CI pays for it once per machine (~1 min).
#
#   bash eng/docker/build-base-image.sh                  # local/debian-base:12
#   bash eng/docker/build-base-image.sh my/base:12       # another name
set -euo pipefail
image="${1:-local/debian-base:12}"
suite=bookworm   # Debian 12, the release debian:12-slim (the Dockerfiles' default BASE) is

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "base image: $image is there"
  exit 0
fi

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v debootstrap >/dev/null 2>&1; then
  echo "base image: installing debootstrap"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq debootstrap >/dev/null
fi

# The mirror this machine's apt uses (deb822 or one-line format), so no other network is needed.
mirror="$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
[ -n "$mirror" ] || mirror="$(awk '$1 == "deb" && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)"
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian

work="$(mktemp -d)"
trap 'as_root rm -rf "$work"' EXIT
echo "base image: debootstrap --variant=minbase $suite from $mirror"
start=$SECONDS
as_root debootstrap --variant=minbase "$suite" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -20 "$work/debootstrap.log" >&2
  exit 1
}
# Like the official slim images: no package lists or downloaded packages in the image (a Dockerfile runs apt-get update).
as_root rm -rf "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/cache/apt/"*.bin "$work/rootfs/var/cache/apt/archives/"*.deb
as_root tar -C "$work/rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["bash"]' \
  --message "debootstrap --variant=minbase $suite $mirror" - "$image" >/dev/null
echo "base image: $image built in $((SECONDS - start)) s ($(docker image inspect -f '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
