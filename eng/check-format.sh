#!/usr/bin/env bash
# The code-health check CI runs first: the layout and style rules of .editorconfig, checked without changing anything.
# (The analyzers run in every build at the recommended level with warnings as errors; see Directory.Build.props.)
# To fix what it reports: dotnet format InstaDeploy.sln
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! dotnet format InstaDeploy.sln --verify-no-changes --verbosity quiet; then
  echo "format check: the files above do not follow .editorconfig; run 'dotnet format InstaDeploy.sln' and commit the result." >&2
  exit 1
fi
echo "format check: every file follows .editorconfig"
