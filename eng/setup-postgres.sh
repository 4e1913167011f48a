#!/usr/bin/env bash
# A PostgreSQL server for the tests that run the control plane on PostgreSQL (INSTADEPLOY_POSTGRES): a throwaway
# cluster in artifacts/postgres, owned by the `postgres` user (initdb and postgres refuse to run as root), listening on
# 127.0.0.1 only, on the first free port from 55432. Installs Debian's postgresql package when its binaries are
# missing. Does nothing when the cluster is already running. Prints the admin connection string, and writes it to
# artifacts/postgres/connection-string for eng/test.sh (the tests create and drop one database per test server).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/artifacts/postgres"
data="$dir/data"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
bin=""
for candidate in /usr/lib/postgresql/*/bin; do [ -x "$candidate/initdb" ] && bin="$candidate"; done
if [ -z "$bin" ]; then
  echo "setup: installing PostgreSQL (Debian's postgresql package)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  # The package starts a system-wide cluster on 5432; the tests use their own, so stop that one again.
  as_root service postgresql stop >/dev/null 2>&1 || true
  for candidate in /usr/lib/postgresql/*/bin; do [ -x "$candidate/initdb" ] && bin="$candidate"; done
fi
[ -n "$bin" ] || { echo "setup: PostgreSQL's initdb not found after installing postgresql" >&2; exit 1; }

# As the postgres user when this runs as root; as the caller otherwise (a developer's own account can own a cluster).
pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

mkdir -p "$dir"
if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; fi
if [ ! -f "$data/PG_VERSION" ]; then
  pg "$bin/initdb" -D "$data" -A trust -U postgres --no-sync -E UTF8 >/dev/null
fi

port_file="$dir/port"
if pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
  port="$(cat "$port_file")"
else
  port=55432
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  pg sh -c "echo $port > '$port_file'"
  # fsync off: a throwaway test cluster, rebuilt by initdb if a crash ever tore it.
  pg "$bin/pg_ctl" -D "$data" -l "$dir/log" -w -t 60 \
    -o "-p $port -k '' -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" \
    start >/dev/null
fi
connection="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
pg sh -c "echo '$connection' > '$dir/connection-string'"
echo "setup: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port ($data)"
