#!/usr/bin/env bash
# Deploy a compose project from any CI system with the instadeploy CLI, and fail the pipeline when the deploy fails.
#
#   INSTADEPLOY_URL, INSTADEPLOY_API_KEY   the control plane and a key with the deploy scope (from the CI's secret store)
#   deploy.sh COMPOSE_FILE PROJECT [ENV_FILE [SECRET_NAME...]]
#
# The deploy is sent once; its output is then followed, and followed again (never deployed again) if the connection
# to the control plane is lost (exit code 5). Exit codes are instadeploy's: 0 deployed, 1 the deploy failed (the agent
# rolled back to the last good revision), 2 bad input, 3 bad key, 4 unknown project or agent, 5 control plane unreachable.
set -euo pipefail

compose="${1:?usage: deploy.sh COMPOSE_FILE PROJECT [ENV_FILE [SECRET_NAME...]]}"
project="${2:?usage: deploy.sh COMPOSE_FILE PROJECT [ENV_FILE [SECRET_NAME...]]}"
extra=()
if [ $# -ge 3 ]; then
  extra+=(--env-file "$3")
  for secret in "${@:4}"; do extra+=(--secret "$secret"); done
fi

# --quiet: only the job's id on standard output.
job="$(instadeploy deploy -f "$compose" -p "$project" --rollback-on-failure "${extra[@]}" --quiet)"
echo "instadeploy: deploying $project as job $job"

status=5
for attempt in 1 2 3 4 5; do
  set +e
  instadeploy jobs logs --follow "$job"
  status=$?
  set -e
  [ "$status" -ne 5 ] && break
  echo "instadeploy: lost the control plane (attempt $attempt); following job $job again in 5 s" >&2
  sleep 5
done

if [ "$status" -eq 0 ]; then
  instadeploy status "$project"
else
  echo "instadeploy: the deploy of $project failed (exit $status); its history:" >&2
  instadeploy revisions ls "$project" >&2 || true
fi
exit "$status"
