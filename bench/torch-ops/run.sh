#!/usr/bin/env bash
# Times the same libtorch ops from C# (BoostFormer.Torch) and from python3-torch in one run, with the same thread count,
# and prints median ms per op and the ratio C#/PyTorch (target <= 1.1: same kernels, so only binding overhead differs).
#
#   bench/torch-ops/run.sh [repeats] [rounds]
#     repeats  timed calls per op per round (default 30); the per-round figure is their median
#     rounds   C# and Python alternate this many times (default 2); each side's best round is reported, which damps
#              interference from other load on a shared machine
#   BOOSTFORMER_THREADS=N  intra-op threads for both sides (default: all cores)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repeats="${1:-30}"
rounds="${2:-2}"
export BOOSTFORMER_THREADS="${BOOSTFORMER_THREADS:-$(nproc)}"
PY=/usr/bin/python3
source "$here/../common/alternate.sh"
bench_alternate "$here/TorchOpsBench.csproj" TorchOpsBench.dll "$here/bench_torch.py" "$rounds" "$repeats"
"$PY" - "$cs_out" "$py_out" "$BOOSTFORMER_THREADS" "$repeats" "$rounds" "$here/../common" <<'PYEOF'
import sys

sys.path.insert(0, sys.argv[6])
from bestof import best


cs, py = best(sys.argv[1]), best(sys.argv[2])
labels = {
    "matmul_1024": "matmul 1024x1024 @ 1024x1024",
    "conv3x3_64ch_128": "conv2d 3x3 64->64ch 128x128 (N=1)",
    "dwconv3x3_64ch_128": "depthwise conv2d 3x3 64ch 128x128",
    "layer_norm_16384x64": "layer_norm 16384x64 (weight, bias)",
    "bilinear_256ch_32to128": "bilinear upsample 256ch 32->128",
    "add_1elem_us": "add, 1-element tensors (per-op overhead)",
}
print(f"threads={sys.argv[3]} repeats={sys.argv[4]} rounds={sys.argv[5]}; inference mode on both sides; "
      "ms = median per call (best round); per-op overhead = minimum per call")
print(f"{'op':44} {'C#':>12} {'PyTorch':>12} {'C#/PyTorch':>11}")
for k, label in labels.items():
    unit = "us" if k.endswith("_us") else "ms"
    c, p = cs[k], py[k]
    print(f"{label:44} {c:10.3f}{unit} {p:10.3f}{unit} {c / p:11.2f}")
PYEOF
