#!/usr/bin/env bash
# Debian's Chromium for the console's browser tests (tests/InstaDeploy.Console.Tests), driven by Playwright for .NET
# with this executable: no `playwright install`, no browser download. Does nothing when /usr/bin/chromium is there.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "setup: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) is installed"
  exit 0
fi
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
echo "setup: installing chromium (Debian's package, about a minute)"
as_root apt-get update -qq
# The package as verified on these machines (its recommends bring the fonts headless pages render with); env, not a
# prefix, so sudo keeps DEBIAN_FRONTEND.
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
echo "setup: $(/usr/bin/chromium --version 2>/dev/null) installed"
