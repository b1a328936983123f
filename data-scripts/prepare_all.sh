#!/usr/bin/env bash
# Prepare every dataset the workbook uses. Offline, point --from at local copies with FROM_<NAME> variables:
#   FROM_CAMVID=../shared/data/camvid FROM_TINY=../shared/data/tiny-imagenet-200 data-scripts/prepare_all.sh
# Cityscapes needs a login: set FROM_CITYSCAPES to the folder holding its two *_trainvaltest.zip files, else it is skipped.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
run() { # name, from-variable value
  local name="$1" from="${2:-}"
  if [ -n "$from" ]; then "$here/prepare.sh" "$name" --from "$from"; else "$here/prepare.sh" "$name"; fi
}
run camvid "${FROM_CAMVID:-}"
run tiny-imagenet "${FROM_TINY:-}"
run ade20k "${FROM_ADE20K:-}"
run kitti "${FROM_KITTI:-}"
if [ -n "${FROM_CITYSCAPES:-}" ]; then run cityscapes "$FROM_CITYSCAPES"; else echo "cityscapes: skipped (set FROM_CITYSCAPES; download needs a login)"; fi
