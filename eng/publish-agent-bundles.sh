#!/usr/bin/env bash
# Publishes the agent self-contained (with its built-in plugins) for every architecture and packs each publish into a
# signed bundle the control plane takes at POST /agent-releases:
#   bash eng/publish-agent-bundles.sh --version 1.4.0 --private-key ~/.instadeploy/release.key [--out artifacts/bundles] [--runtime linux-x64]...
# Make the key pair once, on the machine that signs (the private key never goes to the control plane or an agent):
#   bash eng/publish-agent-bundles.sh --keygen ~/.instadeploy/release.key ~/.instadeploy/release.pub
# Writes OUT/instadeploy-agent-VERSION-ARCH.tar.gz and .sig for linux-amd64 and linux-arm64 (the seed's platform names).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

version="" key="" out="$root/artifacts/bundles" runtimes=()
tool() { dotnet "$root/artifacts/bundle-tool/instadeploy-bundle-tool.dll" "$@"; }
build_tool() { dotnet build "$root/eng/bundle-tool" -c Release --nologo -v quiet -o "$root/artifacts/bundle-tool" >/dev/null; }

while [ $# -gt 0 ]; do
  case "$1" in
    --keygen) [ $# -ge 3 ] || { echo "--keygen PRIVATE_FILE PUBLIC_FILE" >&2; exit 2; }
              build_tool; tool keygen --private-key "$2" --public-key "$3"; exit $? ;;
    --version) version="$2"; shift 2 ;;
    --private-key) key="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --runtime) runtimes+=("$2"); shift 2 ;;
    *) echo "unknown argument $1 (see the top of $0)" >&2; exit 2 ;;
  esac
done
[ -n "$version" ] || { echo "--version is required (e.g. 1.4.0)" >&2; exit 2; }
[ -f "$key" ] || { echo "--private-key FILE is required (make one with --keygen)" >&2; exit 2; }
[ ${#runtimes[@]} -gt 0 ] || runtimes=(linux-x64 linux-arm64)

build_tool
mkdir -p "$out"
for runtime in "${runtimes[@]}"; do
  case "$runtime" in
    linux-x64) arch=linux-amd64 ;;
    linux-arm64) arch=linux-arm64 ;;
    *) echo "runtime $runtime: only linux-x64 and linux-arm64 are built" >&2; exit 2 ;;
  esac
  publish="$root/artifacts/agent-publish/$version/$runtime"
  rm -rf "$publish"
  # The assembly's informational version is the release's, so the agent reports the version it was released as.
  dotnet publish "$root/InstaDeploy.Agent" -c Release -r "$runtime" --self-contained -p:InvariantGlobalization=true \
    -p:Version="$version" --nologo -v quiet -o "$publish"
  [ -d "$publish/plugins" ] || { echo "$publish has no plugins/ (the built-in plugins were not laid out)" >&2; exit 1; }
  bundle="$out/instadeploy-agent-$version-$arch.tar.gz"
  rm -f "$bundle" "$bundle.sig"
  tool pack --from "$publish" --out "$bundle" --kind agent --version "$version" --architecture "$arch"
  tool sign --private-key "$key" "$bundle"
done
