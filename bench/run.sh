#!/usr/bin/env bash
# The benchmarks in one command: builds Release, publishes the control plane and the agent as a user ships them,
# raises the open-files limit, runs the scenarios against real processes and prints a table. Results (markdown
# and JSON) and every process's log go to bench/.out/.
#
#   bash bench/run.sh            # small scale, a few minutes (the CI smoke pass; it asserts no timing)
#   bash bench/run.sh --full     # the issue's scale: 1,000 agents for latency, up to 10,000 idle agents, storm
#   bash bench/run.sh --small --only dispatch,throughput      # a subset: dispatch throughput output fleet storm agent deploy rollout console history
#   bash bench/run.sh --full --only history --history-sizes 10000,1000000,10000000   # the history scenario's stores (jobs)
#   bash bench/run.sh --full --only history --history-sizes none --history-backlog 1000000   # retention under load only
#   bash bench/run.sh --full --sync normal    # the control plane with INSTADEPLOY_DB_SYNCHRONOUS=NORMAL (default FULL)
#   bash bench/run.sh --full --baseline 68a2910   # also measure that commit's control plane, side by side in one run
#   bash bench/run.sh --cluster --cluster-idle 30000   # opt-in: 1 SQLite / 1 PostgreSQL / 3 PostgreSQL instances side by
#                                 # side, then N idle agents over 3 and a kill -9 (needs eng/setup-postgres.sh; not in CI)
#   bash bench/run.sh --cluster-idle-only --cluster-idle 30000   # only the idle agents and the kill -9
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/bench/.out"
scale=small
extra=()
baseline=""
cluster_idle=""
while [ $# -gt 0 ]; do
  case "$1" in
    --small) scale=small ;;
    --full) scale=full ;;
    --only) extra+=(--only "$2"); shift ;;
    --sync) extra+=(--sync "$2"); shift ;;
    --history-sizes) extra+=(--history-sizes "$2"); shift ;;
    --history-backlog) extra+=(--history-backlog "$2"); shift ;;
    --history-load-seconds) extra+=(--history-load-seconds "$2"); shift ;;
    --baseline) baseline="$2"; shift ;;
    --cluster) extra+=(--only cluster) ;;
    --cluster-idle-only) extra+=(--only cluster-idle) ;;
    --cluster-idle) cluster_idle="$2"; shift ;;
    *) echo "usage: bash bench/run.sh [--small|--full] [--only scenario,...] [--sync full|normal] [--history-sizes N,N,...|none] [--history-backlog N] [--history-load-seconds N] [--baseline GIT-REF] [--cluster|--cluster-idle-only [--cluster-idle N]]" >&2; exit 2 ;;
  esac
  shift
done

# 10,000 agents are 10,000 sockets in the simulator and 10,000 in the control plane (each a process of its own).
want=$([ "$scale" = full ] && echo 16384 || echo 4096)
# The cluster scenario's idle agents are a socket each in the simulator (spread over processes of at most 12,000 agents
# each, so no process needs more than the machine's per-process open-files limit) and a third each in the instances (half
# each after one is killed): the per-process need is the larger of the two, plus the scenario's own files.
if printf '%s\n' "${extra[@]}" | grep -qxE 'cluster|cluster-idle'; then
  cluster_idle="${cluster_idle:-10000}"
  per_instance=$(( (cluster_idle + 1) / 2 ))
  need=$(( per_instance > 12000 ? per_instance : 12000 ))
  if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt $((need + 2048)) ]; then
    echo "bench: the open-files hard limit is $(ulimit -Hn), too low for $cluster_idle agents over 3 instances (each survivor holds $per_instance after a kill)" >&2
    exit 1
  fi
  extra+=(--cluster-idle "$cluster_idle")
  want=$((need + 2048))
fi
ulimit -n "$want" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt "$want" ]; then
  echo "bench: the open-files limit is $(ulimit -n), below $want; raise the hard limit (e.g. /etc/security/limits.conf)" >&2
  [ "$scale" = full ] && exit 1
fi

# Docker is needed only for the deploy-overhead scenario (not for the cluster one); without it that one is skipped and says so.
if [ -z "$cluster_idle" ] && { ! docker info >/dev/null 2>&1 || ! docker image inspect local/busybox:1 >/dev/null 2>&1; }; then
  bash "$root/eng/setup-docker.sh" || echo "bench: no Docker engine; the deploy-overhead scenario will be skipped" >&2
fi

rm -rf "$out/control-plane" "$out/agent-bin" "$out/bench" "$out"/data-* "$out/agent"
# The cluster scenario starts a PostgreSQL of its own from Debian's binaries (setup-postgres.sh installs them).
if printf '%s\n' "${extra[@]}" | grep -qx cluster && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  bash "$root/eng/setup-postgres.sh" >/dev/null
fi
mkdir -p "$out"
echo "bench: building Release"
dotnet publish "$root/InstaDeploy.ControlPlane" -c Release -o "$out/control-plane" --nologo -v quiet
dotnet publish "$root/InstaDeploy.Agent" -c Release -o "$out/agent-bin" --nologo -v quiet
dotnet build "$root/bench/InstaDeploy.Bench" -c Release -o "$out/bench" --nologo -v quiet
if [ -n "$baseline" ]; then
  # An earlier commit's control plane, built from a detached worktree, to compare with in the same run.
  rm -rf "$out/baseline-src" "$out/baseline-control-plane"
  git -C "$root" worktree prune
  git -C "$root" worktree add --detach -f "$out/baseline-src" "$baseline" >/dev/null
  dotnet publish "$out/baseline-src/InstaDeploy.ControlPlane" -c Release -o "$out/baseline-control-plane" --nologo -v quiet
  git -C "$root" worktree remove --force "$out/baseline-src"
  extra+=(--baseline-control-plane "$out/baseline-control-plane/InstaDeploy.ControlPlane.dll")
  echo "bench: baseline control plane from $baseline ($(git -C "$root" rev-parse --short "$baseline"))"
fi

exec dotnet "$out/bench/InstaDeploy.Bench.dll" --scale "$scale" --out "$out" \
  --control-plane "$out/control-plane/InstaDeploy.ControlPlane.dll" \
  --agent "$out/agent-bin/InstaDeploy.Agent.dll" \
  --compose "$root/bench/compose/web.yml" "${extra[@]}"
