#!/usr/bin/env bash
# The randomised fault test's long run, by hand (CI runs one short sequence as part of the test suite):
#
#   bash eng/chaos.sh                     # 6 sequences of 40 steps from a random seed
#   INSTADEPLOY_CHAOS_SEQUENCES=10 INSTADEPLOY_CHAOS_STEPS=60 bash eng/chaos.sh
#   INSTADEPLOY_CHAOS_SEED=1234 INSTADEPLOY_CHAOS_STEPS=12 bash eng/chaos.sh   # replay the seed a failure printed
#
# A seed replays its sequence of operations (the timing within it is the machine's). Each sequence's figures (steps,
# jobs, faults injected, mismatches) are appended to artifacts/chaos/report.txt and printed at the end; a failing
# sequence leaves its trace and every process's output in /tmp/instadeploy-chaos-<seed>.log.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash eng/setup-docker.sh
bash eng/setup-faketime.sh

export INSTADEPLOY_CHAOS_SEQUENCES="${INSTADEPLOY_CHAOS_SEQUENCES:-$([ -n "${INSTADEPLOY_CHAOS_SEED:-}" ] && echo 1 || echo 6)}"
export INSTADEPLOY_CHAOS_STEPS="${INSTADEPLOY_CHAOS_STEPS:-40}"
mkdir -p artifacts/chaos
report="$root/artifacts/chaos/report.txt"
export INSTADEPLOY_CHAOS_REPORT="$report"
echo "chaos: $INSTADEPLOY_CHAOS_SEQUENCES sequence(s) of $INSTADEPLOY_CHAOS_STEPS steps, seed ${INSTADEPLOY_CHAOS_SEED:-random}; figures in $report"
echo "---- $(date -u +%FT%TZ) $(git rev-parse --short HEAD)" >> "$report"

set +e
dotnet test tests/InstaDeploy.EndToEnd.Tests -c Release --nologo \
  --filter "FullyQualifiedName~RandomisedFaultTests" \
  --logger "console;verbosity=normal"
status=$?
set -e
echo
echo "chaos: figures of this run:"
awk '/^---- /{block=""} {block=block $0 "\n"} END {printf "%s", block}' "$report"
exit "$status"
