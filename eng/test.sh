#!/usr/bin/env bash
# The test command: sets up what the tests need (Docker engine, compose, example image; the base image the container
# images are built on; nginx and Caddy for the reverse-proxy examples; Debian's Chromium for the console's browser
# tests; libfaketime for the agent clock steps of the randomised fault test; a private registry; a PostgreSQL server),
# then runs every test. INSTADEPLOY_TEST_POSTGRES="$(cat artifacts/postgres/connection-string)" runs the control-plane
# suite on PostgreSQL instead of SQLite (each test server on a database of its own). Each setup step does nothing when
# what it makes is already there.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash eng/setup-docker.sh
bash eng/setup-cli-tests.sh
bash eng/docker/build-base-image.sh
bash eng/setup-proxies.sh
bash eng/setup-chromium.sh
bash eng/setup-faketime.sh
bash eng/setup-registry.sh
bash eng/setup-postgres.sh   # for the tests of several control-plane instances on one PostgreSQL (tests/.../Cluster)

log="$(mktemp)"
set +e
dotnet test InstaDeploy.sln -c Release --nologo "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One closing line over all test assemblies, from dotnet test's per-assembly summaries.
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
rm -f "$log"
echo
echo "tests: $passed passed, $failed failed"
exit "$status"
