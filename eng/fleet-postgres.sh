#!/usr/bin/env bash
# The local fleet's PostgreSQL (InstaDeploy.AppHost with --InstaDeploy:ControlPlaneReplicas=N > 1), run by the AppHost
# as an executable resource: Debian's server binaries (apt-get install postgresql; eng/setup-postgres.sh installs
# them), a cluster in DIR made on first use, listening on 127.0.0.1:PORT only. It runs in the foreground as this
# resource's own process (exec), so stopping the resource stops the server. As root it runs as the postgres user,
# since the server refuses root. Usage: fleet-postgres.sh DIR PORT
set -euo pipefail
dir="$1"
port="$2"
bin=""
for candidate in /usr/lib/postgresql/*/bin; do [ -x "$candidate/initdb" ] && bin="$candidate"; done
[ -n "$bin" ] || { echo "fleet-postgres: PostgreSQL's server binaries are not installed (apt-get install postgresql, or bash eng/setup-postgres.sh)" >&2; exit 1; }

mkdir -p "$dir"
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres "$dir"
  chmod o+x "$(dirname "$dir")"   # the fleet's data folder: the postgres user must reach its own folder in it
  as_owner=(setpriv --reuid=postgres --regid=postgres --init-groups --)
fi
if [ ! -f "$dir/PG_VERSION" ]; then
  "${as_owner[@]}" "$bin/initdb" -D "$dir" -A trust -U postgres -E UTF8 >/dev/null
fi
exec "${as_owner[@]}" "$bin/postgres" -D "$dir" -p "$port" -k '' -c listen_addresses=127.0.0.1 -c max_connections=300
