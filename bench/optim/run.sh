#!/usr/bin/env bash
# Times one optimizer step over a SegFormer-B0-shaped parameter list (3.7 M parameters) from C# (torch.optim in
# BoostFormer.Torch) and from python3-torch 1.13 in one run, same thread count, and prints median ms per step and the
# ratio C#/PyTorch against PyTorch's default single-tensor implementation (foreach=False in 1.13). PyTorch's foreach
# variant is printed for reference.
#
#   bench/optim/run.sh [repeats] [rounds]     (defaults 30 and 2; each side's best round is reported)
#   BOOSTFORMER_THREADS=N  intra-op threads for both sides (default: all cores)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repeats="${1:-30}"
rounds="${2:-2}"
export BOOSTFORMER_THREADS="${BOOSTFORMER_THREADS:-$(nproc)}"
PY=/usr/bin/python3
source "$here/../common/alternate.sh"
bench_alternate "$here/OptimBench.csproj" OptimBench.dll "$here/bench_optim.py" "$rounds" "$repeats"
"$PY" - "$cs_out" "$py_out" "$BOOSTFORMER_THREADS" "$repeats" "$rounds" "$here/../common" <<'PYEOF'
import sys

sys.path.insert(0, sys.argv[6])
from bestof import best


cs, py = best(sys.argv[1]), best(sys.argv[2])
print(f"threads={sys.argv[3]} repeats={sys.argv[4]} rounds={sys.argv[5]}; SegFormer-B0-shaped parameters; ms = median per step (best round)")
print(f"{'step':34} {'C#':>10} {'PyTorch':>10} {'C#/PyTorch':>11} {'PyTorch foreach':>16}")
for k, label in (("adamw_step", "AdamW (2 groups)"), ("sgd_momentum_step", "SGD momentum 0.9, wd 1e-4")):
    print(f"{label:34} {cs[k]:8.3f}ms {py[k]:8.3f}ms {cs[k] / py[k]:11.2f} {py[k + '_foreach']:14.3f}ms")
PYEOF
