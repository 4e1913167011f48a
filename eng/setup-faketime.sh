#!/usr/bin/env bash
# libfaketime (Debian's faketime package) for the randomised fault test, which steps the agent's wall clock the way NTP
# or a resumed VM would (tests/InstaDeploy.Testing/AgentClock.cs). A test tool only: nothing in the product reads it.
# Does nothing when the library is there.
set -euo pipefail
lib=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
if [ -f "$lib" ]; then
  echo "setup: libfaketime is installed ($lib)"
  exit 0
fi
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
echo "setup: installing faketime (libfaketime, for the agent clock steps of the randomised fault test)"
if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null
fi
[ -f "$lib" ] || { echo "setup: faketime installed, but $lib is missing" >&2; exit 1; }
