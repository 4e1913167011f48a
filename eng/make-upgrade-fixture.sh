#!/usr/bin/env bash
# Makes the upgrade fixture of the current schema (the newest migration): a database with rows in every table, made
# through the REST API and the wire protocol by this build, with its key ring and a manifest, in
# tests/InstaDeploy.ControlPlane.Tests/Backups/UpgradeFixtures/<migration>/. Run it once whenever a migration is
# added, and commit the folder: every later build is then tested on it (UpgradeTests). A fixture is never remade, since
# its point is to be what the build of its time wrote.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
schema="$(find InstaDeploy.ControlPlane/Data/Migrations -name '2*.cs' ! -name '*.Designer.cs' -printf '%f\n' | sort | tail -1)"
schema="${schema%.cs}"
out="tests/InstaDeploy.ControlPlane.Tests/Backups/UpgradeFixtures/$schema"
if [ -e "$out" ]; then
  echo "make-upgrade-fixture: $out exists; the fixture of $schema was made by the build of its time and stays as it is" >&2
  exit 1
fi
echo "make-upgrade-fixture: making $out"
INSTADEPLOY_UPGRADE_FIXTURE_OUT="$root/$out" dotnet test tests/InstaDeploy.ControlPlane.Tests -c Release --nologo \
  --filter "FullyQualifiedName~UpgradeTests.AFixtureMadeByThisBuildPassesTheUpgradeChecks"
git add -f "$out"
echo "make-upgrade-fixture: $out made, checked and staged; commit it"
