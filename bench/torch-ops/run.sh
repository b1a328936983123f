#!/usr/bin/env bash
# Times the same libtorch ops from C# (BoostFormer.Torch) and from python3-torch in one run, with the same thread count,
# and prints median ms and the ratio C#/PyTorch (target <= 1.1). Usage: bench/torch-ops/run.sh [repeats]
#   BOOSTFORMER_THREADS=N  threads for both sides (default: all cores)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repeats="${1:-30}"
export BOOSTFORMER_THREADS="${BOOSTFORMER_THREADS:-$(nproc)}"
PY=/usr/bin/python3
dotnet build "$here/TorchOpsBench.csproj" -c Release -nologo -v q >/dev/null
cs_out="$(dotnet "$here/bin/Release/net10.0/TorchOpsBench.dll" "$repeats")"
py_out="$("$PY" "$here/bench_torch.py" "$repeats")"
"$PY" - "$cs_out" "$py_out" "$BOOSTFORMER_THREADS" <<'PYEOF'
import sys
cs = dict(l.split() for l in sys.argv[1].strip().splitlines())
py = dict(l.split() for l in sys.argv[2].strip().splitlines())
labels = {
    "matmul_1024": "matmul 1024x1024 @ 1024x1024",
    "conv3x3_64ch_128": "conv2d 3x3 64->64ch 128x128 (N=1)",
    "dwconv3x3_64ch_128": "depthwise conv2d 3x3 64ch 128x128",
    "layer_norm_16384x64": "layer_norm 16384x64",
    "bilinear_256ch_32to128": "bilinear upsample 256ch 32->128",
    "add_1elem_us": "add, 1-element tensors (per-op overhead)",
}
print(f"threads: {sys.argv[3]}   (median of repeated runs, inference mode on both sides)")
print(f"{'op':44} {'C# ':>11} {'PyTorch':>11} {'C#/PyTorch':>11}")
for k, label in labels.items():
    unit = "us" if k.endswith("_us") else "ms"
    c, p = float(cs[k]), float(py[k])
    print(f"{label:44} {c:9.3f}{unit} {p:9.3f}{unit} {c / p:11.2f}")
PYEOF
