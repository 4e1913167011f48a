#!/usr/bin/env bash
# Walks the seed README's flow against a running control plane: list agents, deploy the example, follow the job,
# check its containers, stop it. Usage: INSTADEPLOY_API_KEY=idk_... examples/test-deployment.sh [agent_id]
# (CONTROL_PLANE_URL overrides the URL; the key needs the deploy scope.)
set -euo pipefail
: "${INSTADEPLOY_API_KEY:?set INSTADEPLOY_API_KEY to an API key with the deploy scope (see README: API keys)}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
api="${CONTROL_PLANE_URL:-http://localhost:8000}"
agent="${1:-}"
agent_field=""
[ -n "$agent" ] && agent_field=",\"agent_id\":\"$agent\""

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
curl() { command curl -H "Authorization: Bearer $INSTADEPLOY_API_KEY" "$@"; }

wait_job() {
  local job="$1" status
  for _ in $(seq 1 120); do
    status="$(curl -fsS "$api/jobs/$job" | json '["status"]')"
    case "$status" in COMPLETED|FAILED|TIMED_OUT) break ;; esac
    sleep 1
  done
  curl -fsS "$api/jobs/$job" | python3 -m json.tool
  [ "$status" = COMPLETED ] || { echo "job $job ended $status" >&2; exit 1; }
}

echo "== agents"
curl -fsS "$api/agents" | python3 -m json.tool

echo "== deploy examples/docker-compose-test.yml as test-app"
job="$(curl -fsS -X POST "$api/deploy" -H 'Content-Type: application/json' \
  -d "{\"project_name\":\"test-app\",\"compose_file_base64\":\"$(base64 -w0 "$here/docker-compose-test.yml")\"$agent_field}" | json '["job_id"]')"
wait_job "$job"

echo "== the app answers on http://127.0.0.1:18080"
curl -fsS http://127.0.0.1:18080/ | head -3

echo "== status"
job="$(curl -fsS -X POST "$api/status" -H 'Content-Type: application/json' -d "{\"project_name\":\"test-app\"$agent_field}" | json '["job_id"]')"
wait_job "$job"

echo "== stop"
job="$(curl -fsS -X POST "$api/stop" -H 'Content-Type: application/json' -d "{\"project_name\":\"test-app\"$agent_field}" | json '["job_id"]')"
wait_job "$job"
echo "done"
