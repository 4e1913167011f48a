#!/usr/bin/env bash
# Roll a compose project out to a fleet from any CI system with the instadeploy CLI: one canary first, then the other
# targets a quarter at a time once a person has approved it. Fails the pipeline when the rollout does not succeed.
#
#   INSTADEPLOY_URL, INSTADEPLOY_API_KEY   the control plane and a key with the deploy scope (from the CI's secret store)
#   rollout.sh start COMPOSE_FILE PROJECT [SELECTOR]
#       Rolls out to the agents SELECTOR picks (default role=web): --canary 1, --max-parallel 25%, and on a failure
#       every target deployed gets its previous revision back. Returns once the canary runs and the rollout waits for
#       promotion. Prints the rollout's id on standard output (and, on GitHub Actions, sets the step output rollout_id).
#   rollout.sh promote ROLLOUT_ID
#       After the manual gate: deploys the other targets and follows the rollout to its end.
#
# The rollout is created once; it is then followed, and followed again (never created again) if the connection to the
# control plane is lost (exit code 5). Exit codes are instadeploy's: 0 the step succeeded, 1 the rollout failed (it
# was rolled back), was cancelled, or cannot be promoted, 2 bad input, 3 bad key, 4 unknown rollout, 5 control plane
# unreachable. A rollout left waiting at the gate blocks the project's next one: `instadeploy rollouts cancel ID`.
set -euo pipefail

usage="usage: rollout.sh start COMPOSE_FILE PROJECT [SELECTOR] | rollout.sh promote ROLLOUT_ID"

follow() {
  local status=5
  for attempt in 1 2 3 4 5; do
    set +e
    instadeploy rollouts show --watch "$@"
    status=$?
    set -e
    [ "$status" -ne 5 ] && break
    echo "instadeploy: lost the control plane (attempt $attempt); following the rollout again in 5 s" >&2
    sleep 5
  done
  return "$status"
}

case "${1:-}" in
  start)
    compose="${2:?$usage}"
    project="${3:?$usage}"
    selector="${4:-role=web}"
    # --quiet: only the rollout's id on standard output.
    id="$(instadeploy deploy -f "$compose" -p "$project" --selector "$selector" \
      --canary 1 --max-parallel 25% --on-failure rollback --quiet)"
    echo "instadeploy: rolling $project out to $selector as $id" >&2
    if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "rollout_id=$id" >> "$GITHUB_OUTPUT"; fi
    echo "$id"
    # Its table goes to standard error too, so standard output carries the id alone.
    follow --until-promotion "$id" >&2
    ;;
  promote)
    id="${2:?$usage}"
    instadeploy rollouts promote "$id" --quiet > /dev/null
    follow "$id"
    ;;
  *)
    echo "$usage" >&2
    exit 2
    ;;
esac
