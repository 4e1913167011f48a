#!/usr/bin/env bash
# The main job: makes sure Docker and the example image are here, then starts the local fleet
# (control plane on http://localhost:8000, three agents, the Aspire dashboard on http://localhost:15080).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/eng/setup-docker.sh"
echo "fleet: the admin API key is the AppHost's 'admin-api-key' parameter (generated on the first run):"
echo "  dotnet user-secrets list --project InstaDeploy.AppHost | grep admin-api-key"
exec dotnet run --project "$root/InstaDeploy.AppHost" --launch-profile http "$@"
