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
if [ $# -gt 0 ]; then
  # Arguments (a --filter, say) go to one dotnet test over the whole solution.
  dotnet test InstaDeploy.sln -c Release --nologo "$@" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
else
  # Built once, then two lanes side by side, one per core: the end-to-end suite (the longest by far), and every other
  # test project one after another. dotnet test over the solution would leave the second lane's projects queued
  # behind the end-to-end suite on one build node, and the run would take the sum instead of the longest.
  dotnet build InstaDeploy.sln -c Release --nologo 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  if [ "$status" -eq 0 ]; then
    lane() {
      local rc=0 project
      for project in "$@"; do dotnet test "$project" -c Release --no-build --nologo || rc=1; done
      return $rc
    }
    # The control-plane suite first (it has always run beside the end-to-end one), the browser tests last; then any
    # test project added since.
    others=()
    for name in ControlPlane Agent AppHost Cli Console; do others+=("tests/InstaDeploy.$name.Tests/InstaDeploy.$name.Tests.csproj"); done
    for project in tests/*.Tests/*.Tests.csproj; do
      case " ${others[*]} " in *" $project "*) ;; *) [[ "$project" == *EndToEnd* ]] || others+=("$project") ;; esac
    done
    # (pipefail holds in the subshells: a lane's failure is its pipeline's.)
    ( lane tests/InstaDeploy.EndToEnd.Tests/InstaDeploy.EndToEnd.Tests.csproj 2>&1 | tee "$log.e2e" ) &
    first=$!
    # Then the rollout tests again on PostgreSQL, where writers run side by side and a rollout's events are numbered
    # under its row lock (SQLite's one writer never shows a race there); each test server on a database of its own.
    postgres_lane() {
      INSTADEPLOY_TEST_POSTGRES="$(cat artifacts/postgres/connection-string)" dotnet test tests/InstaDeploy.ControlPlane.Tests/InstaDeploy.ControlPlane.Tests.csproj \
        -c Release --no-build --nologo --filter "FullyQualifiedName~InstaDeploy.ControlPlane.Tests.Rollouts"
    }
    ( { rc=0; lane "${others[@]}" || rc=1; postgres_lane || rc=1; exit $rc; } 2>&1 | tee "$log.rest" ) &
    second=$!
    wait "$first" || status=1
    wait "$second" || status=1
    cat "$log.e2e" "$log.rest" >> "$log"
    rm -f "$log.e2e" "$log.rest"
  fi
fi
set -e

# One closing line over all test assemblies, from dotnet test's per-assembly summaries.
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
rm -f "$log"
echo
echo "tests: $passed passed, $failed failed"
exit "$status"
