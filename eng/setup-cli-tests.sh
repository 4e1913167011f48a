#!/usr/bin/env bash
# What the CLI's tests need besides Docker: zsh (its completion script is run by the real shell) and util-linux's
# `script` (a pseudo-terminal for the colour tests; in Debian's essential bsdutils). Installs what is missing (as root).
set -euo pipefail
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

need=()
command -v zsh >/dev/null 2>&1 || need+=(zsh)
command -v script >/dev/null 2>&1 || need+=(bsdutils)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${need[@]}" >/dev/null
fi
