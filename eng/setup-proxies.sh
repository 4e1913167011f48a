#!/usr/bin/env bash
# nginx and Caddy (and HAProxy, below) for the tests that run the reverse-proxy examples of docs/DEPLOYMENT.md (examples/nginx,
# examples/caddy) in front of a real control plane: Debian's packages, unpacked into artifacts/tools/ rather than
# installed (installing nginx starts a system-wide nginx on port 80). Does nothing when both are there.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/artifacts/tools"

need=()
[ -x "$tools/nginx/usr/sbin/nginx" ] || need+=(nginx)
[ -x "$tools/caddy/usr/bin/caddy" ] || need+=(caddy)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
chmod 777 "$work"   # apt-get download runs as _apt where it can
if [ ${#need[@]} -eq 0 ]; then
  echo "setup: nginx $("$tools/nginx/usr/sbin/nginx" -v 2>&1 | sed 's/.*nginx\///') and caddy $("$tools/caddy/usr/bin/caddy" version | cut -d' ' -f1) are in artifacts/tools"
else
  echo "setup: downloading ${need[*]} (Debian packages, unpacked into artifacts/tools)"
  if ! (cd "$work" && apt-get download -qq "${need[@]}" 2>/dev/null); then
    as_root apt-get update -qq
    (cd "$work" && apt-get download -qq "${need[@]}" 2>/dev/null)
  fi
  for package in "${need[@]}"; do
    rm -rf "${tools:?}/$package"
    mkdir -p "$tools/$package"
    dpkg-deb -x "$work/${package}_"*.deb "$tools/$package"
  done

  # nginx links against libraries every Debian has (OpenSSL, PCRE2, zlib); say so plainly if one is missing.
  missing="$(ldd "$tools/nginx/usr/sbin/nginx" | awk '/not found/ { print $1 }')"
  if [ -n "$missing" ]; then
    echo "setup: nginx needs $missing; install it (apt-get install libpcre2-8-0 libssl3 zlib1g)" >&2
    exit 1
  fi
  echo "setup: nginx $("$tools/nginx/usr/sbin/nginx" -v 2>&1 | sed 's/.*nginx\///') and caddy $("$tools/caddy/usr/bin/caddy" version | cut -d' ' -f1) unpacked into artifacts/tools"
fi

# HAProxy for the tests of several control-plane instances behind a balancer (docs/SCALING.md's configuration):
# Debian's package with the two libraries it links that a minimal Debian lacks (Lua, OpenTracing), unpacked into
# artifacts/tools/haproxy; run it with LD_LIBRARY_PATH=artifacts/tools/haproxy/usr/lib/x86_64-linux-gnu.
haproxy_dir="$tools/haproxy"
haproxy_libs="$haproxy_dir/usr/lib/x86_64-linux-gnu"
if [ -x "$haproxy_dir/usr/sbin/haproxy" ] && LD_LIBRARY_PATH="$haproxy_libs" "$haproxy_dir/usr/sbin/haproxy" -v >/dev/null 2>&1; then
  echo "setup: haproxy $(LD_LIBRARY_PATH="$haproxy_libs" "$haproxy_dir/usr/sbin/haproxy" -v | head -1 | cut -d' ' -f3) is in artifacts/tools"
  exit 0
fi
packages=(haproxy liblua5.3-0 libopentracing-c-wrapper0 libopentracing1)
echo "setup: downloading ${packages[*]} (Debian packages, unpacked into artifacts/tools/haproxy)"
rm -f "$work"/*.deb
if ! (cd "$work" && apt-get download -qq "${packages[@]}" 2>/dev/null); then
  as_root apt-get update -qq
  (cd "$work" && apt-get download -qq "${packages[@]}" 2>/dev/null)
fi
rm -rf "${haproxy_dir:?}"
mkdir -p "$haproxy_dir"
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$haproxy_dir"; done
missing="$(LD_LIBRARY_PATH="$haproxy_libs" ldd "$haproxy_dir/usr/sbin/haproxy" | awk '/not found/ { print $1 }')"
if [ -n "$missing" ]; then
  echo "setup: haproxy needs $missing; install it (apt-get install haproxy)" >&2
  exit 1
fi
echo "setup: haproxy $(LD_LIBRARY_PATH="$haproxy_libs" "$haproxy_dir/usr/sbin/haproxy" -v | head -1 | cut -d' ' -f3) unpacked into artifacts/tools"
