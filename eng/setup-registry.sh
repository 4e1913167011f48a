#!/usr/bin/env bash
# A private image registry for the tests of registry logins: Debian's docker-registry (the distribution registry 2.8)
# and apache2-utils (htpasswd). The tests start their own registry on a loopback port with its own storage and
# htpasswd file, and stop it; nothing is started here. Does nothing when both are installed.
set -euo pipefail
if command -v docker-registry >/dev/null && command -v htpasswd >/dev/null; then
  echo "setup: docker-registry and htpasswd are installed"
  exit 0
fi
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
echo "setup: installing docker-registry and apache2-utils"
if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq docker-registry apache2-utils >/dev/null; then
  as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq docker-registry apache2-utils >/dev/null
fi
# The package enables a registry service on port 5000; the tests start their own, so the system one is stopped.
if command -v systemctl >/dev/null && systemctl is-active --quiet docker-registry 2>/dev/null; then
  as_root systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi
echo "setup: docker-registry $(docker-registry --version 2>/dev/null | awk '{print $3}') and htpasswd installed"
